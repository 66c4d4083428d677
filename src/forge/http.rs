//! The HTTP layer every backend shares: one client (rustls, timeouts, user agent, CA
//! bundle, proxies from the environment), auth headers marked sensitive, reads retried with
//! backoff and jitter within a time budget, and errors that keep the status and the
//! server's message but never the token.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;

use crate::settings::{CaSource, Settings, Token};

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
    /// No answer: connection refused, reset, timed out.
    #[error("{method} {path}: {message}")]
    Transport {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// What happened, token redacted.
        message: String,
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
}

impl HttpError {
    /// The status, when the server answered.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::Transport { .. } | Self::Certificate { .. } => None,
        }
    }

    /// Whether trying again later may succeed (connection errors, 429, 5xx; also 423,
    /// which Tencent Git uses for rate limits).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Certificate { .. } => false,
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
            Self::Transport { .. } | Self::Certificate { .. } => None,
        }
    }
}

/// The shared client.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    auth: Option<(HeaderName, HeaderValue)>,
    secret: Option<String>,
    /// Total time retries may take.
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
    /// Builds the client for `settings`, sending `token` as `auth` says.
    ///
    /// # Errors
    /// An unreadable CA bundle (exit 2) or a TLS set-up failure.
    pub fn new(
        settings: &Settings,
        token: Option<&Token>,
        auth: AuthStyle,
    ) -> anyhow::Result<Self> {
        // One process-wide crypto provider; a second install is a harmless no-op error.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("relsync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            .read_timeout(Duration::from_secs(60));
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
        Ok(Self {
            client,
            auth,
            secret: token
                .map(|t| t.secret.expose_secret().to_owned())
                .filter(|s| !s.is_empty()),
            budget: Duration::from_secs(120),
        })
    }

    /// A request with auth set.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let mut rb = self.client.request(method, url);
        if let Some((name, value)) = &self.auth {
            rb = rb.header(name.clone(), value.clone());
        }
        rb
    }

    /// Sends once; an error status becomes an [`HttpError`].
    ///
    /// # Errors
    /// Transport failure or error status.
    pub async fn send(&self, rb: RequestBuilder) -> Result<Response, HttpError> {
        let (client, req) = rb.build_split();
        let req = req.map_err(|e| HttpError::Transport {
            method: Method::GET,
            path: String::new(),
            message: self.redact(&e.to_string()),
        })?;
        let (method, path) = (req.method().clone(), req.url().path().to_owned());
        tracing::debug!("{method} {path}");
        let resp = client.execute(req).await.map_err(|e| {
            let message = self.redact(&transport_message(&e));
            let (method, path) = (method.clone(), path.clone());
            // rustls: "invalid peer certificate: UnknownIssuer" and the like.
            if message.contains("invalid peer certificate") {
                HttpError::Certificate {
                    method,
                    path,
                    message,
                }
            } else {
                HttpError::Transport {
                    method,
                    path,
                    message,
                }
            }
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = retry_after(resp.headers());
        let body = resp.text().await.unwrap_or_default();
        Err(HttpError::Status {
            method,
            path,
            status,
            message: self.redact(&server_message(&body)),
            retry_after,
        })
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

    /// Sends a read, retrying transient failures with backoff and jitter within the budget.
    ///
    /// # Errors
    /// The last failure.
    pub async fn read(&self, make: impl Fn() -> RequestBuilder) -> Result<Response, HttpError> {
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            match self.send(make()).await {
                Ok(r) => return Ok(r),
                Err(e) if e.is_transient() => {
                    let wait = backoff(attempt, e.retry_after());
                    if start.elapsed() + wait > self.budget {
                        return Err(e);
                    }
                    tracing::warn!("{e}; retrying in {:.1}s", wait.as_secs_f64());
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
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

/// `(api root, web root)` for a server given as either (`https://h` or `https://h/api/v4`).
#[must_use]
pub fn api_roots(server: &str, api_path: &str) -> (String, String) {
    let server = server.trim_end_matches('/');
    match server.strip_suffix(api_path) {
        Some(web) => (server.to_owned(), web.to_owned()),
        None => (format!("{server}{api_path}"), server.to_owned()),
    }
}

/// A request error as the user reads it: what could not be done, why (status and the
/// server's message), and, when there is one, what to do about it.
#[must_use]
pub fn with_hint(e: HttpError, what: &str, hint: Option<String>) -> anyhow::Error {
    let err = anyhow::Error::new(e).context(format!("cannot {what}"));
    match hint {
        Some(h) => err.context(h),
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
                                (Some("custom"), Some(msg)) | (None, Some(msg)) => msg.to_owned(),
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
