//! The HTTP side of the Gitea emulator: fault selection, the request log, and turning one HTTP
//! request into a call of the API module.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::json;

use super::super::emu_common::{Conn, Request, Resp, Rng, echo_token, nginx_page, read_body};
use super::Fault;
use super::api::{self, HttpReq};
use super::model::State;

struct Rule {
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
        let mut kinds = vec![
            Fault::Status(500),
            Fault::Status(502),
            Fault::Status(503),
            Fault::RateLimit {
                retry_after_secs: 0,
            },
            Fault::Drop,
        ];
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

fn fault_status(state: &State, status: u16) -> Resp {
    match status {
        // Production Gitea hides the message of internal errors from non-admins.
        500 => Resp::json(500, &json!({ "message": "", "url": state.swagger_url() })),
        502 => nginx_page(502, "Bad Gateway"),
        503 => nginx_page(503, "Service Temporarily Unavailable"),
        s => Resp::json(
            s,
            &json!({ "message": format!("{s}"), "url": state.swagger_url() }),
        ),
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
    // File uploads are not kept in the log (their content is in the state).
    let is_upload = method == "POST" && path.ends_with("/assets");
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

    let pre = match fault {
        Some(Fault::Status(s)) => Some(fault_status(&g.state, s)),
        Some(Fault::RateLimit { retry_after_secs }) => Some(
            Resp::raw(429, "text/plain; charset=utf-8", "Too Many Requests\n")
                .header("Retry-After", retry_after_secs.to_string()),
        ),
        Some(Fault::Drop) => {
            record(&mut g, 0, &http.body);
            return conn.drop_response();
        }
        _ => None,
    };
    let resp = match pre {
        Some(r) => r,
        None => {
            let (mut resp, token) = api::dispatch(&mut g.state, &http);
            if g.echo_token
                && let Some(t) = token
            {
                echo_token(&mut resp, &t);
            }
            match fault {
                Some(Fault::AppliedThen502) => fault_status(&g.state, 502),
                Some(Fault::AppliedThenDrop) => {
                    record(&mut g, 0, &http.body);
                    return conn.drop_response();
                }
                _ => resp,
            }
        }
    };
    record(&mut g, resp.status, &http.body);
    resp.into_response(seq)
}
