//! The HTTP layer every backend shares: one client (rustls, timeouts, user agent, CA
//! bundle, proxies from the environment), auth headers marked sensitive, reads retried with
//! backoff and jitter within a time budget, and errors that keep the status and the
//! server's message but never the token.
//!
//! A server is not trusted to behave:
//! - **Credentials stay with the forge.** Each client knows its allowed origins (scheme, host
//!   and port): the API root's, and the forge's upload origin (`uploads.github.com` for
//!   github.com). A request to any other origin is refused before it is sent, so a pagination
//!   link or an `upload_url` pointing elsewhere is an error, not a request without credentials.
//!   A redirect is followed only within those origins; a redirect that leaves them is not
//!   followed and is reported, so no token header ever reaches another origin.
//! - **Bodies are bounded.** An answer is read as a stream and given up past [`MAX_BODY`]
//!   (error bodies past [`MAX_ERROR_BODY`]); every body is read to its end, or the connection
//!   is dropped on purpose, so connections are reused.
//! - **Time is bounded.** Each read, retries included, ends within the time budget
//!   (`RELSYNC_RETRY_BUDGET`, 120 s by default); so does each write, and an upload gets the
//!   budget plus the time to send its bytes at [`MIN_UPLOAD_RATE`]. An answer's body that
//!   stalls for [`IDLE_TIMEOUT`] fails at once. A server that cannot be reached is tried
//!   [`CONNECT_ATTEMPTS`] times in quick succession, not for the whole budget.
//! - **Connections are bounded.** At most `--concurrency` TCP connections are open to each
//!   origin ([`connections`]), whatever the timing of the client's pool.
//! - **Paging ends.** [`Pager`] stops a listing at [`MAX_PAGES`] pages or when a page comes
//!   round again.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use secrecy::ExposeSecret;

use crate::manifest::raw::ForgeKind;
use crate::settings::{CaSource, Settings, Token};

pub mod connections;

/// The largest answer relsync reads (releases, lists of 100 items are far smaller).
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// The most of an error answer relsync reads for its message.
pub const MAX_ERROR_BODY: usize = 64 * 1024;
/// The most pages one listing may take.
pub const MAX_PAGES: usize = 1000;
/// How often an unreachable server is tried before giving up.
pub const CONNECT_ATTEMPTS: u32 = 3;
/// How long an answer may stall before the request fails.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The slowest upload speed allowed for in an upload's deadline (bytes per second).
pub const MIN_UPLOAD_RATE: u64 = 256 * 1024;
/// The default time budget of a request, retries included.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(120);

/// A failed request, with what the caller needs to decide and to tell the user.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The server answered with an error status.
    #[error("{method} {path}: HTTP {status}: {message}")]
    Status {
        /// Method.
        method: Method,
        /// Path (no host, no query).
        path: String,
        /// Status.
        status: StatusCode,
        /// The server's message, token redacted.
        message: String,
        /// `Retry-After` or rate-limit reset.
        retry_after: Option<Duration>,
    },
    /// No answer: connection reset, stalled.
    #[error("{method} {path}: {message}")]
    Transport {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// What happened, token redacted.
        message: String,
    },
    /// The server could not be reached: refused, unknown host, TLS handshake failure.
    #[error("{method} {path}: cannot connect to {origin}: {message}\n  help: {}", connect_help(*.tls))]
    Connect {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// `scheme://host:port`.
        origin: String,
        /// What happened.
        message: String,
        /// The TLS handshake failed (retrying cannot help).
        tls: bool,
    },
    /// The server's TLS certificate is not trusted: trying again cannot help.
    #[error(
        "{method} {path}: {message}\n  help: the server's certificate is not trusted; give its CA bundle with `CI_SERVER_TLS_CA_FILE`, `ADDITIONAL_CA_CERT_BUNDLE`, `RELSYNC_CA_FILE` or `forge.ca_file`"
    )]
    Certificate {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// What rustls said.
        message: String,
    },
    /// No complete answer within the request's deadline.
    #[error(
        "{method} {path}: no complete answer within {}s\n  help: the server is too slow or stalls; `RELSYNC_RETRY_BUDGET` (seconds) sets how long a request may take", .after.as_secs()
    )]
    Timeout {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// The deadline.
        after: Duration,
    },
    /// A redirect to an origin that is not the forge's: not followed.
    #[error(
        "{method} {path}: the server redirected (HTTP {status}) to {location}, which is not the forge's origin ({allowed}); relsync sends no credentials there and did not follow it\n  help: if the forge really moved, give its new address with `--server`, `RELSYNC_SERVER` or `forge.server`"
    )]
    Redirect {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// 301, 302, 303, 307 or 308.
        status: StatusCode,
        /// Where it pointed (no query).
        location: String,
        /// The allowed origins.
        allowed: String,
    },
    /// A URL the server gave (a pagination link, an upload URL) points outside the forge.
    #[error(
        "{method} {url}: refused: {origin} is not the forge's origin ({allowed}); relsync sends requests, and credentials, only there, and the server gave this URL (a pagination link or an upload URL)"
    )]
    Origin {
        /// Method.
        method: Method,
        /// The URL, without its query.
        url: String,
        /// Its origin.
        origin: String,
        /// The allowed origins.
        allowed: String,
    },
    /// A request that cannot be built (a URL that is not absolute).
    #[error("{message}")]
    Request {
        /// What was wrong.
        message: String,
    },
    /// The answer is larger than relsync reads.
    #[error(
        "{method} {path}: the answer is larger than {} MiB; relsync stopped reading it\n  help: check that `--server` points at the forge's API", .limit / (1024 * 1024)
    )]
    TooLarge {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The answer is not what the API returns.
    #[error("{method} {path}: unexpected answer: {message}")]
    Body {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// What was wrong.
        message: String,
    },
}

/// Whether the request failed because its upload stream found the file changed since it was
/// planned ([`crate::assets::ChangedDuringUpload`], wrapped in an `io::Error` by the stream).
fn changed_during_upload(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<crate::assets::ChangedDuringUpload>()
            || err
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .is_some_and(
                    <dyn std::error::Error + std::marker::Send + std::marker::Sync + 'static>::is::<
                        crate::assets::ChangedDuringUpload,
                    >,
                )
        {
            return true;
        }
        cur = err.source();
    }
    false
}

fn connect_help(tls: bool) -> &'static str {
    if tls {
        "the TLS handshake failed: check the scheme of `--server`/`RELSYNC_SERVER` (`https://` or `http://`), and give a private CA with `CI_SERVER_TLS_CA_FILE`, `ADDITIONAL_CA_CERT_BUNDLE`, `RELSYNC_CA_FILE` or `forge.ca_file`"
    } else {
        "check the address in `--server`, `RELSYNC_SERVER` or `forge.server` (in CI: `CI_SERVER_URL`, `GITHUB_API_URL`), and any `HTTPS_PROXY`"
    }
}

impl HttpError {
    /// What kind of failure this is, in a few words, for the request log.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status { .. } => "an error status",
            Self::Transport { .. } => "a transport failure",
            Self::Connect { .. } => "a connection failure",
            Self::Certificate { .. } => "an untrusted certificate",
            Self::Timeout { .. } => "a timeout",
            Self::Redirect { .. } => "a redirect",
            Self::Origin { .. } => "a request to another origin",
            Self::Request { .. } => "an unbuildable request",
            Self::TooLarge { .. } => "an answer over the size cap",
            Self::Body { .. } => "a body that could not be sent",
        }
    }

    /// The status, when the server answered.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying again later may succeed (connection errors, 429, 5xx; also 423,
    /// which Tencent Git uses for rate limits).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::Timeout { .. } => true,
            Self::Connect { tls, .. } => !tls,
            Self::Certificate { .. }
            | Self::Redirect { .. }
            | Self::Origin { .. }
            | Self::TooLarge { .. }
            | Self::Request { .. }
            | Self::Body { .. } => false,
            // GitHub's secondary rate limits answer 403 with `retry-after` (or a message).
            Self::Status {
                status,
                retry_after,
                message,
                ..
            } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || status.as_u16() == 423
                    || (*status == StatusCode::FORBIDDEN
                        && (retry_after.is_some() || message.contains("rate limit")))
            }
        }
    }

    /// How long the server asked us to wait.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A successful answer, its body read in full (within [`MAX_BODY`]).
#[derive(Debug)]
pub struct Answer {
    method: Method,
    path: String,
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON of type `T`.
    ///
    /// # Errors
    /// The body is not that JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Body {
            method: self.method.clone(),
            path: self.path.clone(),
            message: format!("not the JSON the API returns ({e})"),
        })
    }

    /// A header's value, when it is text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// `scheme://host:port` of a URL, with the scheme's default port filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// The origin of `url`; `None` for URLs without a host.
    #[must_use]
    pub fn of(url: &Url) -> Option<Self> {
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        Some(Self(format!(
            "{}://{}:{port}",
            url.scheme(),
            host.to_ascii_lowercase()
        )))
    }

    /// The origin of a URL given as text.
    #[must_use]
    pub fn parse(url: &str) -> Option<Self> {
        Self::of(&Url::parse(url).ok()?)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shared client.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    auth: Option<(HeaderName, HeaderValue)>,
    secret: Option<String>,
    /// Where requests (and credentials) may go.
    allowed: Arc<Vec<Origin>>,
    /// Said once, before the first request, when there is no token.
    anonymous: Option<Arc<(AtomicBool, String)>>,
    /// The connections open to each origin, at most the concurrency bound.
    limit: connections::Limit,
    /// Total time a request may take, retries included.
    pub budget: Duration,
}

/// How a backend sends its token.
#[derive(Debug, Clone, Copy)]
pub enum AuthStyle {
    /// A header holding the raw token (`PRIVATE-TOKEN`, `JOB-TOKEN`).
    Header(&'static str),
    /// `Authorization: <scheme> <token>` (`Bearer`, `token`).
    Authorization(&'static str),
}

impl Http {
    /// Builds the client for `settings`, sending `token` as `auth` says, to `origins` only
    /// (the API root first, then any upload root).
    ///
    /// # Errors
    /// An unreadable CA bundle or an origin that is not an http(s) URL (exit 2), or a TLS
    /// set-up failure.
    #[allow(
        clippy::too_many_lines,
        reason = "the client's settings (TLS, proxies, timeouts, origins) are set in one place"
    )]
    pub fn new(
        settings: &Settings,
        token: Option<&Token>,
        auth: AuthStyle,
        origins: &[&str],
    ) -> anyhow::Result<Self> {
        // One process-wide crypto provider; a second install is a harmless no-op error.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut allowed = Vec::new();
        for o in origins {
            let origin = Url::parse(o)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .and_then(|u| Origin::of(&u))
                .ok_or_else(|| {
                    crate::error::input_with(
                        format!("`{o}` is not an http(s) URL"),
                        "give the server with its scheme, e.g. `--server https://gitlab.example.com`",
                    )
                })?;
            if !allowed.contains(&origin) {
                allowed.push(origin);
            }
        }
        let allowed = Arc::new(allowed);
        let policy_allowed = allowed.clone();
        // Redirects are followed only within the allowed origins; any other stops, and the
        // 3xx is reported by `send`.
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            let inside = Origin::of(attempt.url()).is_some_and(|o| policy_allowed.contains(&o));
            if inside && attempt.previous().len() < 10 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let budget = settings.retry_budget;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("relsync/", env!("CARGO_PKG_VERSION")))
            .redirect(policy)
            // No client-wide read timeout: reqwest's runs from the start of the request to
            // the answer's headers, which would cut long uploads short. Each request gets a
            // deadline instead, and body reads an idle timeout (`read_capped`).
            .connect_timeout(Duration::from_secs(10).min(budget));
        let limit = connections::Limit::new(settings.concurrency);
        builder = builder.connector_layer(limit.clone());
        if let Some(ca) = &settings.ca {
            let pem = match ca {
                CaSource::Inline(pem) => pem.clone().into_bytes(),
                CaSource::File(path) => std::fs::read(path).map_err(|e| {
                    crate::error::input_with(
                        format!("cannot read the CA bundle {}: {e}", path.display()),
                        "fix `forge.ca_file`, `CI_SERVER_TLS_CA_FILE`, `ADDITIONAL_CA_CERT_BUNDLE` or `SSL_CERT_FILE`",
                    )
                })?,
            };
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                crate::error::input_with(
                    format!("the CA bundle is not valid PEM: {e}"),
                    "give a PEM file of CA certificates",
                )
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build()?;
        let auth = match token {
            None => None,
            Some(t) => {
                let (name, value) = match auth {
                    AuthStyle::Header(h) => (
                        HeaderName::from_static(h),
                        t.secret.expose_secret().to_owned(),
                    ),
                    AuthStyle::Authorization(scheme) => (
                        reqwest::header::AUTHORIZATION,
                        format!("{scheme} {}", t.secret.expose_secret()),
                    ),
                };
                let mut value = HeaderValue::from_str(&value).map_err(|_| {
                    crate::error::input_with(
                        format!(
                            "the token in `{}` contains characters a header cannot carry",
                            t.var
                        ),
                        "check the variable's value",
                    )
                })?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        let anonymous = token.is_none().then(|| {
            Arc::new((
                AtomicBool::new(false),
                format!(
                    "no token is set: reading the forge anonymously, so a private project looks missing (HTTP 404); {}",
                    crate::settings::token_hint(settings.forge)
                ),
            ))
        });
        Ok(Self {
            client,
            auth,
            secret: token
                .map(|t| t.secret.expose_secret().to_owned())
                .filter(|s| !s.is_empty()),
            allowed,
            anonymous,
            limit,
            budget,
        })
    }

    /// The forge's upload origin for an API root: `https://uploads.github.com` for
    /// `https://api.github.com`; GitHub Enterprise Server uploads to its own origin.
    #[must_use]
    pub fn github_upload_root(api: &str) -> Option<&'static str> {
        (Origin::parse(api) == Origin::parse("https://api.github.com"))
            .then_some("https://uploads.github.com")
    }

    /// A request, with auth set when `url` is on an allowed origin.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let mut rb = self.client.request(method, url);
        if let Some((name, value)) = &self.auth
            && Url::parse(url)
                .ok()
                .and_then(|u| Origin::of(&u))
                .is_some_and(|o| self.allowed.contains(&o))
        {
            rb = rb.header(name.clone(), value.clone());
        }
        rb
    }

    /// How long an upload of `size` bytes may take: the budget plus the time to send it at
    /// [`MIN_UPLOAD_RATE`]. Set it with `RequestBuilder::timeout`.
    #[must_use]
    pub fn upload_timeout(&self, size: u64) -> Duration {
        self.budget + Duration::from_secs(size / MIN_UPLOAD_RATE)
    }

    /// Sends once and reads the answer; an error status becomes an [`HttpError`]. The request
    /// ends within its own timeout, or else the budget.
    ///
    /// # Errors
    /// Transport failure, error status, an answer too large or too slow.
    pub async fn send(&self, rb: RequestBuilder) -> Result<Answer, HttpError> {
        let (client, req) = rb.build_split();
        let req = req.map_err(|e| self.unbuildable(&e))?;
        let deadline = Instant::now() + req.timeout().copied().unwrap_or(self.budget);
        self.attempt(&client, req, deadline).await
    }

    /// Sends a delete; a 404 means another run deleted it already, which is success.
    ///
    /// # Errors
    /// Any other failure.
    pub async fn delete(&self, rb: RequestBuilder) -> Result<(), HttpError> {
        match self.send(rb).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends a read, retrying transient failures with backoff and jitter; everything,
    /// retries included, ends within the budget. An unreachable server is tried
    /// [`CONNECT_ATTEMPTS`] times.
    ///
    /// # Errors
    /// The last failure.
    pub async fn read(&self, make: impl Fn() -> RequestBuilder) -> Result<Answer, HttpError> {
        let start = Instant::now();
        let deadline = start + self.budget;
        let mut attempt = 0u32;
        let mut connect_failures = 0u32;
        loop {
            let (client, req) = make().build_split();
            let req = req.map_err(|e| self.unbuildable(&e))?;
            // `-vv`: every decision to retry or to give up, and why.
            match self.attempt(&client, req, deadline).await {
                Ok(r) => return Ok(r),
                Err(e) if e.is_transient() => {
                    if matches!(e, HttpError::Connect { .. }) {
                        connect_failures += 1;
                        if connect_failures >= CONNECT_ATTEMPTS {
                            tracing::trace!(
                                "not retried: {} connection attempts failed",
                                connect_failures
                            );
                            return Err(e);
                        }
                    }
                    let wait = backoff(attempt, e.retry_after());
                    let left = deadline.saturating_duration_since(Instant::now());
                    if wait >= left {
                        tracing::trace!(
                            "not retried: waiting {:.1}s would pass the retry budget ({:.1}s left)",
                            wait.as_secs_f64(),
                            left.as_secs_f64()
                        );
                        return Err(e);
                    }
                    tracing::trace!(
                        "retry {} after {:.1}s ({}; {:.1}s of the budget left)",
                        attempt + 1,
                        wait.as_secs_f64(),
                        if e.retry_after().is_some() {
                            "the server's Retry-After"
                        } else {
                            "backoff with jitter"
                        },
                        left.as_secs_f64()
                    );
                    let first = e.to_string();
                    let first = first.lines().next().unwrap_or_default();
                    tracing::warn!("{first}; retrying in {:.1}s", wait.as_secs_f64());
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => {
                    tracing::trace!("not retried: {} is not transient", e.kind());
                    return Err(e);
                }
            }
        }
    }

    /// One request, answer read, by `deadline`.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        mut req: reqwest::Request,
        deadline: Instant,
    ) -> Result<Answer, HttpError> {
        let method = req.method().clone();
        let path = req.url().path().to_owned();
        let origin = Origin::of(req.url());
        if !origin.as_ref().is_some_and(|o| self.allowed.contains(o)) {
            let mut url = req.url().clone();
            url.set_query(None);
            return Err(HttpError::Origin {
                method,
                url: self.redact(url.as_str()),
                origin: origin.map_or_else(|| "(no host)".to_owned(), |o| o.to_string()),
                allowed: self.allowed_list(),
            });
        }
        if let Some(a) = &self.anonymous
            && !a.0.swap(true, Ordering::Relaxed)
        {
            tracing::warn!("{}", a.1);
        }
        let after = deadline.saturating_duration_since(Instant::now());
        *req.timeout_mut() = Some(after);
        let timeout = || HttpError::Timeout {
            method: method.clone(),
            path: path.clone(),
            after: self.budget.max(after),
        };
        let started = Instant::now();
        let _in_flight = self.limit.request(origin.as_ref());
        let work = async {
            let resp = client
                .execute(req)
                .await
                .map_err(|e| self.transport_error(&e, &method, &path, origin.as_ref()))?;
            self.answer(resp, &method, &path, origin.as_ref()).await
        };
        let work = connections::IN_REQUEST.scope((), work);
        let result = match tokio::time::timeout_at(deadline.into(), work).await {
            Ok(Err(HttpError::Transport { .. })) if Instant::now() >= deadline => Err(timeout()),
            Ok(r) => r,
            Err(_) => Err(timeout()),
        };
        // A transport failure or a timeout leaves the request's connection closed.
        if matches!(
            result,
            Err(HttpError::Transport { .. } | HttpError::Timeout { .. })
        ) {
            self.limit.closed(origin.as_ref());
        }
        // `-v`: one line per request, once its answer is in.
        let ms = started.elapsed().as_millis();
        match &result {
            Ok(a) => tracing::debug!("{method} {path} -> {} ({ms} ms)", a.status.as_u16()),
            Err(e) => {
                if let Some(status) = e.status() {
                    tracing::debug!("{method} {path} -> {} ({ms} ms)", status.as_u16());
                } else {
                    tracing::debug!("{method} {path} -> no answer: {} ({ms} ms)", e.kind());
                }
            }
        }
        result
    }

    /// Reads the answer within the caps; a success is returned, anything else is an error.
    #[allow(
        clippy::too_many_lines,
        reason = "every status and body cap is decided where the answer is read"
    )]
    async fn answer(
        &self,
        mut resp: Response,
        method: &Method,
        path: &str,
        origin: Option<&Origin>,
    ) -> Result<Answer, HttpError> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let url = resp.url().clone();
        // The connection is closed after this answer (`Connection: close`), or when the body
        // is not read to its end; the connection bound counts it once.
        let closing = headers
            .get(reqwest::header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if closing {
            self.limit.closed(Origin::of(&url).as_ref());
        }
        let lost = || {
            if !closing {
                self.limit.closed(Origin::of(&url).as_ref());
            }
        };
        if status.is_success() {
            let body = match read_capped(&mut resp, MAX_BODY).await {
                Ok((body, true)) => body,
                Ok((_, false)) => {
                    lost();
                    return Err(HttpError::TooLarge {
                        method: method.clone(),
                        path: path.to_owned(),
                        limit: MAX_BODY,
                    });
                }
                Err(Stalled::Reqwest(e)) => {
                    return Err(self.transport_error(&e, method, path, origin));
                }
                Err(Stalled::Idle) => {
                    return Err(HttpError::Transport {
                        method: method.clone(),
                        path: path.to_owned(),
                        message: format!(
                            "the answer stalled: nothing arrived for {}s",
                            IDLE_TIMEOUT.as_secs()
                        ),
                    });
                }
            };
            return Ok(Answer {
                method: method.clone(),
                path: path.to_owned(),
                status,
                headers,
                body,
            });
        }
        // Partial or unreadable error bodies still give what they can; dropping the rest
        // closes the connection.
        let body = match read_capped(&mut resp, MAX_ERROR_BODY).await {
            Ok((b, true)) => b,
            Ok((b, false)) => {
                lost();
                b
            }
            Err(_) => {
                lost();
                Bytes::new()
            }
        };
        drop(resp);
        if status.is_redirection() {
            let raw = headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok());
            let target = raw.and_then(|l| url.join(l).ok()).map(|mut t| {
                t.set_query(None);
                t.set_fragment(None);
                t
            });
            let location = target
                .as_ref()
                .map_or_else(|| raw.unwrap_or("(no Location)").to_owned(), Url::to_string);
            let inside = target
                .as_ref()
                .and_then(Origin::of)
                .is_some_and(|o| self.allowed.contains(&o));
            if inside {
                // Within the forge: more than 10 redirects, or a 3xx that is not a redirect.
                return Err(HttpError::Body {
                    method: method.clone(),
                    path: path.to_owned(),
                    message: self.redact(&format!(
                        "HTTP {status} to {location}, not followed (a redirect loop, or more than 10 redirects)"
                    )),
                });
            }
            return Err(HttpError::Redirect {
                method: method.clone(),
                path: path.to_owned(),
                status,
                location: self.redact(&location),
                allowed: self.allowed_list(),
            });
        }
        Err(HttpError::Status {
            method: method.clone(),
            path: path.to_owned(),
            status,
            message: self.redact(&server_message(&String::from_utf8_lossy(&body))),
            retry_after: retry_after(&headers),
        })
    }

    fn transport_error(
        &self,
        e: &reqwest::Error,
        method: &Method,
        path: &str,
        origin: Option<&Origin>,
    ) -> HttpError {
        let message = self.redact(&transport_message(e));
        let (method, path) = (method.clone(), path.to_owned());
        // A file rewritten while it was uploaded: sending it again cannot help.
        if changed_during_upload(e) {
            return HttpError::Body {
                method,
                path,
                message,
            };
        }
        // rustls: "invalid peer certificate: UnknownIssuer" and the like.
        if message.contains("invalid peer certificate") {
            return HttpError::Certificate {
                method,
                path,
                message,
            };
        }
        if e.is_connect() {
            let lower = message.to_ascii_lowercase();
            let tls = ["tls", "ssl", "handshake", "corrupt message", "certificate"]
                .iter()
                .any(|w| lower.contains(w));
            // The innermost cause says it all ("Connection refused (os error 111)", "failed to
            // lookup address information: ..."); reqwest's wrappers repeat the URL.
            let mut cause: &dyn std::error::Error = e;
            while let Some(next) = cause.source() {
                cause = next;
            }
            return HttpError::Connect {
                method,
                path,
                origin: origin.map_or_else(String::new, ToString::to_string),
                message: self.redact(&cause.to_string()),
                tls,
            };
        }
        HttpError::Transport {
            method,
            path,
            message,
        }
    }

    /// A request that could not be built: its URL (from the server, or the settings) is
    /// not an absolute http(s) URL.
    fn unbuildable(&self, e: &reqwest::Error) -> HttpError {
        HttpError::Request {
            message: self.redact(&match e.url() {
                Some(u) => format!("cannot send a request to `{u}`: {}", transport_message(e)),
                None => format!("cannot build a request: {}", transport_message(e)),
            }),
        }
    }

    fn allowed_list(&self) -> String {
        self.allowed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Replaces the token wherever it appears.
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        match &self.secret {
            Some(s) => text.replace(s.as_str(), "[REDACTED]"),
            None => text.to_owned(),
        }
    }
}

/// Why a body could not be read.
enum Stalled {
    /// The connection failed.
    Reqwest(reqwest::Error),
    /// Nothing arrived for [`IDLE_TIMEOUT`].
    Idle,
}

/// Reads at most `cap` bytes of the body: `(body, true)` when it ended within the cap,
/// `(what was read, false)` when it did not (the rest is left unread). Each chunk must
/// arrive within [`IDLE_TIMEOUT`].
async fn read_capped(resp: &mut Response, cap: usize) -> Result<(Bytes, bool), Stalled> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Ok((Bytes::new(), false));
    }
    let mut buf = Vec::new();
    loop {
        let chunk = tokio::time::timeout(IDLE_TIMEOUT, resp.chunk())
            .await
            .map_err(|_| Stalled::Idle)?
            .map_err(Stalled::Reqwest)?;
        let Some(chunk) = chunk else {
            return Ok((buf.into(), true));
        };
        if buf.len() + chunk.len() > cap {
            let room = cap - buf.len();
            buf.extend_from_slice(&chunk[..room]);
            return Ok((buf.into(), false));
        }
        buf.extend_from_slice(&chunk);
    }
}

/// Counts the pages of one listing, and stops it at [`MAX_PAGES`] or when a page comes
/// round again (the same `X-Next-Page`, the same `Link: rel="next"`).
#[derive(Debug)]
pub struct Pager {
    what: String,
    seen: HashSet<String>,
}

impl Pager {
    /// A listing of `what` (for errors: "list the release's links").
    #[must_use]
    pub fn new(what: &str) -> Self {
        Self {
            what: what.to_owned(),
            seen: HashSet::new(),
        }
    }

    /// Records the page about to be read, named by `key` (its number or URL).
    ///
    /// # Errors
    /// The page was read already, or the listing reached [`MAX_PAGES`].
    pub fn visit(&mut self, key: &str) -> anyhow::Result<()> {
        if self.seen.len() >= MAX_PAGES {
            anyhow::bail!(
                "cannot {}: the server still had a next page after {MAX_PAGES} pages; relsync stopped",
                self.what
            );
        }
        if !self.seen.insert(key.to_owned()) {
            anyhow::bail!(
                "cannot {}: the server sent the page `{key}` as the next page again (a pagination loop); relsync stopped",
                self.what
            );
        }
        Ok(())
    }
}

/// Says which variables hold the token for `kind`, when a forge answered 401, 403 or 404 to a
/// request made without one.
#[must_use]
pub fn no_token_hint(
    token: Option<&Token>,
    status: Option<StatusCode>,
    kind: ForgeKind,
) -> Option<String> {
    let refused = status.is_some_and(|s| matches!(s.as_u16(), 401 | 403 | 404));
    (token.is_none() && refused).then(|| {
        format!(
            "no token is set, so the forge answered an anonymous request; {}",
            crate::settings::token_hint(Some(kind))
        )
    })
}

/// A request error as the user reads it: what could not be done, why (status and the
/// server's message), and, when there is one, what to do about it.
#[must_use]
pub fn with_hint(e: HttpError, what: &str, hint: Option<String>) -> anyhow::Error {
    let err = anyhow::Error::new(e).context(format!("cannot {what}"));
    match hint {
        Some(h) => crate::error::hint(err, h),
        None => err,
    }
}

/// Exponential backoff with jitter, or what the server asked for (capped at 60 s).
#[must_use]
pub fn backoff(attempt: u32, asked: Option<Duration>) -> Duration {
    if let Some(d) = asked {
        return d.min(Duration::from_secs(60));
    }
    let base = Duration::from_millis(200u64.saturating_mul(1 << attempt.min(6)));
    let jitter = rand::random_range(0..=base.as_millis() as u64 / 2);
    (base + Duration::from_millis(jitter)).min(Duration::from_secs(30))
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let num = |name: &str| h.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    if let Some(secs) = h
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(secs));
    }
    // RateLimit-Reset (GitLab) and x-ratelimit-reset (GitHub) are Unix times; they say
    // when to come back only once the budget is used up (GitHub sends them on every answer).
    let exhausted =
        num("ratelimit-remaining") == Some(0) || num("x-ratelimit-remaining") == Some(0);
    if !exhausted {
        return None;
    }
    let reset = num("ratelimit-reset").or_else(|| num("x-ratelimit-reset"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
}

/// The server's message from an error body: `{"message": string|array|object}`,
/// `{"error": string}`, or the body itself, shortened.
#[must_use]
pub fn server_message(body: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => {
            let m = v.get("message").or_else(|| v.get("error")).unwrap_or(&v);
            // GitHub: {"message":"Validation Failed","errors":[{"code":"already_exists",...}]}
            let codes: Vec<String> = v
                .get("errors")
                .and_then(|e| e.as_array())
                .map(|errs| {
                    errs.iter()
                        .map(|e| {
                            match (
                                e.get("code").and_then(|c| c.as_str()),
                                e.get("message").and_then(|c| c.as_str()),
                            ) {
                                (Some("custom") | None, Some(msg)) => msg.to_owned(),
                                (Some(code), _) => match e.get("field").and_then(|f| f.as_str()) {
                                    Some(field) => format!("{code} ({field})"),
                                    None => code.to_owned(),
                                },
                                (None, None) => flat(e),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let main = match m {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => {
                    items.iter().map(flat).collect::<Vec<_>>().join("; ")
                }
                serde_json::Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| format!("{k} {}", flat(v)))
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            if codes.is_empty() {
                main
            } else {
                format!("{main}: {}", codes.join("; "))
            }
        }
        Err(_) => body.trim().to_owned(),
    };
    let mut t: String = text.chars().take(500).collect();
    if t.is_empty() {
        t = "(empty body)".into();
    }
    t
}

fn flat(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(flat).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn transport_message(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_every_shape() {
        assert_eq!(
            server_message(r#"{"message":"404 Not Found"}"#),
            "404 Not Found"
        );
        assert_eq!(
            server_message(r#"{"message":["Name has already been taken","Url is blocked"]}"#),
            "Name has already been taken; Url is blocked"
        );
        assert_eq!(
            server_message(r#"{"message":{"url":["is blocked"]}}"#),
            "url is blocked"
        );
        assert_eq!(
            server_message(r#"{"error":"name is missing"}"#),
            "name is missing"
        );
        assert_eq!(
            server_message("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let o = |s: &str| Origin::parse(s).unwrap();
        assert_eq!(
            o("https://GitLab.example.com/api/v4"),
            o("https://gitlab.example.com:443/x")
        );
        assert_ne!(
            o("https://gitlab.example.com"),
            o("http://gitlab.example.com")
        );
        assert_ne!(o("http://127.0.0.1:8080"), o("http://127.0.0.1:8081"));
        assert_ne!(o("http://127.0.0.1:8080"), o("http://localhost:8080"));
        assert_eq!(o("http://h").to_string(), "http://h:80");
        assert!(Origin::parse("gitlab.example.com").is_none());
    }

    #[test]
    fn github_upload_origin() {
        assert_eq!(
            Http::github_upload_root("https://api.github.com/"),
            Some("https://uploads.github.com")
        );
        assert_eq!(
            Http::github_upload_root("https://ghe.example.com/api/v3"),
            None
        );
    }

    #[test]
    fn pager_stops_on_a_repeat_and_at_the_cap() {
        let mut p = Pager::new("list the links");
        p.visit("1").unwrap();
        p.visit("2").unwrap();
        let e = p.visit("2").unwrap_err().to_string();
        assert!(
            e.contains("cannot list the links") && e.contains("`2`"),
            "{e}"
        );
        let mut p = Pager::new("list the links");
        for n in 0..MAX_PAGES {
            p.visit(&n.to_string()).unwrap();
        }
        let e = p.visit("next").unwrap_err().to_string();
        assert!(e.contains("after 1000 pages"), "{e}");
    }

    #[test]
    fn only_some_failures_are_retried() {
        let (m, p) = (Method::GET, String::from("/x"));
        let connect = |tls| HttpError::Connect {
            method: m.clone(),
            path: p.clone(),
            origin: "http://h:80".into(),
            message: "refused".into(),
            tls,
        };
        assert!(connect(false).is_transient());
        assert!(!connect(true).is_transient());
        let too_large = HttpError::TooLarge {
            method: m.clone(),
            path: p.clone(),
            limit: MAX_BODY,
        };
        assert!(!too_large.is_transient());
        assert!(too_large.to_string().contains("larger than 8 MiB"));
        let redirect = HttpError::Redirect {
            method: m,
            path: p,
            status: StatusCode::FOUND,
            location: "http://other/x".into(),
            allowed: "http://h:80".into(),
        };
        assert!(!redirect.is_transient());
    }

    #[test]
    fn backoff_honours_server_and_caps() {
        assert_eq!(
            backoff(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            backoff(0, Some(Duration::from_secs(3600))),
            Duration::from_secs(60)
        );
        let b = backoff(2, None);
        assert!(
            b >= Duration::from_millis(800) && b <= Duration::from_millis(1200),
            "{b:?}"
        );
    }
}
