//! The HTTP side of the GitHub emulator: fault selection, rate-limit headers, the request log, and
//! turning one HTTP request into a call of the API module.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::json;

use super::super::emu_common::{Conn, Request, Resp, Rng, echo_token, read_body};
use super::Fault;
use super::api::{self, Host, HttpReq};
use super::model::State;

pub(super) struct Rule {
    fault: Fault,
    remaining: usize,
    method: Option<String>,
    path_contains: Option<String>,
}

pub(super) struct Inner {
    pub(super) state: State,
    pub(super) requests: Vec<Request>,
    rules: Vec<Rule>,
    random: Option<(f64, Rng)>,
    pub(super) echo_token: bool,
    pub(super) latency: Duration,
}

impl Inner {
    pub(super) fn new() -> Inner {
        Inner {
            state: State::new(String::new()),
            requests: Vec::new(),
            rules: Vec::new(),
            random: None,
            echo_token: false,
            latency: Duration::ZERO,
        }
    }

    pub(super) fn set_random(&mut self, rate: f64, seed: u64) {
        self.random = Some((rate, Rng(seed)));
    }

    pub(super) fn push_rule(
        &mut self,
        fault: Fault,
        count: usize,
        method: Option<&str>,
        path_contains: Option<&str>,
    ) {
        if count > 0 {
            self.rules.push(Rule {
                fault,
                remaining: count,
                method: method.map(|m| m.to_ascii_uppercase()),
                path_contains: path_contains.map(str::to_string),
            });
        }
    }

    pub(super) fn clear_faults(&mut self) {
        self.rules.clear();
        self.random = None;
    }

    fn pick_fault(&mut self, method: &str, path: &str) -> Option<Fault> {
        let is_write = !matches!(method, "GET" | "HEAD");
        if let Some(rule) = self.rules.iter_mut().find(|r| {
            r.remaining > 0
                && r.method.as_deref().is_none_or(|m| m == method)
                && r.path_contains.as_deref().is_none_or(|p| path.contains(p))
        }) {
            rule.remaining -= 1;
            let f = rule.fault;
            self.rules.retain(|r| r.remaining > 0);
            return Some(f);
        }
        let (rate, rng) = self.random.as_mut()?;
        let hit = rng.next_f64() < *rate;
        let pick = rng.next_u64();
        if !hit {
            return None;
        }
        let common = [
            Fault::Status(500),
            Fault::Status(502),
            Fault::Status(503),
            Fault::RateLimit {
                retry_after_secs: 0,
            },
            Fault::SecondaryRateLimit {
                status: 403,
                retry_after_secs: Some(0),
            },
            Fault::Drop,
        ];
        let mut kinds = common.to_vec();
        if is_write {
            kinds.push(Fault::AppliedThen502);
        }
        Some(kinds[(pick % kinds.len() as u64) as usize])
    }
}

pub(super) struct Shared {
    pub(super) inner: Mutex<Inner>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

const SECONDARY_DOC: &str = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

fn secondary_rate_limited(state: &State, status: u16, retry_after: Option<u64>) -> Resp {
    let body = json!({
        "message": format!(
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {}.",
            state.request_id()
        ),
        "documentation_url": SECONDARY_DOC,
        "status": status.to_string(),
    });
    let r = Resp::json(status, &body);
    match retry_after {
        Some(s) => r.header("retry-after", s.to_string()),
        None => r,
    }
}

fn fault_status(status: u16) -> Resp {
    match status {
        500 => Resp::json(500, &json!({ "message": "Server Error" })),
        502 => Resp::raw(
            502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1>\nThe server encountered a temporary error and could not complete your request.\n</body></html>\n",
        ),
        503 => Resp::json(
            503,
            &json!({ "message": "Service Unavailable", "documentation_url": "https://docs.github.com/rest" }),
        ),
        s => Resp::message(s, &format!("{s}")),
    }
}

/// `x-ratelimit-*` and the other headers GitHub puts on every API answer.
fn decorate(state: &mut State, resp: &mut Resp, exhausted: Option<u64>) {
    let limit = 5000u64;
    let (used, remaining, reset) = match exhausted {
        Some(secs) => (limit, 0, chrono::Utc::now().timestamp() + secs as i64),
        None => {
            state.rate_used = (state.rate_used + 1).min(limit - 1);
            (state.rate_used, limit - state.rate_used, state.rate_reset)
        }
    };
    let mut h = vec![
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-used", used.to_string()),
        ("x-ratelimit-resource", "core".to_string()),
        ("x-github-request-id", state.request_id()),
        ("x-github-media-type", "github.v3; format=json".to_string()),
    ];
    if !resp
        .headers
        .iter()
        .any(|(k, _)| k == "x-github-api-version-selected")
    {
        h.push(("x-github-api-version-selected", "2022-11-28".to_string()));
    }
    for (k, v) in h {
        resp.headers.push((k.to_string(), v));
    }
}

pub(super) async fn handle(
    shared: Arc<Shared>,
    conn: Conn,
    req: axum::extract::Request,
) -> axum::response::Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (fault, latency) = {
        let mut g = shared.lock();
        (g.pick_fault(&method, &path), g.latency)
    };
    let body = read_body(req.into_body()).await;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let mut g = shared.lock();
    g.state.request_seq += 1;
    let seq = g.state.request_seq;
    let host = g.state.host_of(&path);
    let is_upload = method == "POST" && host == Host::Uploads;
    let record = |g: &mut Inner, status: u16, body: &[u8]| {
        g.requests.push(Request {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            status,
            headers: headers.clone(),
            body: if is_upload {
                String::new()
            } else {
                String::from_utf8_lossy(body).into_owned()
            },
        });
    };
    let body = match body {
        Ok(b) => b,
        Err(partial) => {
            record(&mut g, 0, &partial);
            return conn.drop_response();
        }
    };
    let http = HttpReq {
        method: if method == "HEAD" {
            "GET".into()
        } else {
            method.clone()
        },
        path: path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body,
    };

    let mut exhausted = None;
    let pre = match fault {
        Some(Fault::Status(s)) => Some(fault_status(s)),
        Some(Fault::RateLimit { retry_after_secs }) => Some(secondary_rate_limited(
            &g.state,
            429,
            Some(retry_after_secs),
        )),
        Some(Fault::SecondaryRateLimit {
            status,
            retry_after_secs,
        }) => Some(secondary_rate_limited(&g.state, status, retry_after_secs)),
        Some(Fault::PrimaryRateLimit { reset_in_secs }) => {
            exhausted = Some(reset_in_secs);
            Some(Resp::json(
                403,
                &json!({
                    "message": "API rate limit exceeded for user ID 1.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-rate-limit",
                    "status": "403",
                }),
            ))
        }
        Some(Fault::Drop) => {
            record(&mut g, 0, &http.body);
            return conn.drop_response();
        }
        Some(Fault::StarterThen502) => {
            if is_upload {
                api::upload_starter(&mut g.state, &http);
            }
            Some(fault_status(502))
        }
        _ => None,
    };

    let mut resp = match pre {
        Some(r) => r,
        None => {
            let (mut resp, token) = api::dispatch(&mut g.state, &http);
            if g.echo_token
                && let Some(t) = token
            {
                echo_token(&mut resp, &t);
            }
            match fault {
                Some(Fault::AppliedThen502) => fault_status(502),
                Some(Fault::AppliedThenDrop) => {
                    record(&mut g, 0, &http.body);
                    return conn.drop_response();
                }
                _ => resp,
            }
        }
    };
    if host != Host::Web {
        decorate(&mut g.state, &mut resp, exhausted);
    }
    record(&mut g, resp.status, &http.body);
    resp.into_response(seq)
}
