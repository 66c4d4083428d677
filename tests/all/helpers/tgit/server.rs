//! The HTTP side of the Tencent Git emulator: fault selection, body parsing (JSON, form or
//! multipart) and turning one HTTP request into a call of the API module. The server thread and
//! droppable connections come from `emu_common`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value};

use super::super::emu_common::{self, Conn, Request, Resp, Rng, form_pairs, nginx_page};
use super::api::{self, Ctx};
use super::model::State;
use super::{Fault, multipart};

pub(super) struct Rule {
    pub(super) fault: Fault,
    pub(super) remaining: usize,
    pub(super) method: Option<String>,
    pub(super) path_contains: Option<String>,
}

pub(super) struct Inner {
    pub(super) model: State,
    pub(super) requests: Vec<Request>,
    pub(super) rules: Vec<Rule>,
    pub(super) random: Option<(f64, Rng)>,
    pub(super) echo_token: bool,
    pub(super) latency: Duration,
}

pub(super) struct Shared {
    pub(super) inner: Mutex<Inner>,
    pub(super) request_ids: AtomicU64,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// ---------------------------------------------------------------------------------------------
// Faults

fn pick_fault(g: &mut Inner, method: &str, path: &str) -> Option<Fault> {
    let is_write = !matches!(method, "GET" | "HEAD");
    if let Some(rule) = g.rules.iter_mut().find(|r| {
        r.remaining > 0
            && r.method.as_deref().is_none_or(|m| m == method)
            && r.path_contains.as_deref().is_none_or(|p| path.contains(p))
    }) {
        rule.remaining -= 1;
        let f = rule.fault;
        g.rules.retain(|r| r.remaining > 0);
        return Some(f);
    }
    let (rate, rng) = g.random.as_mut()?;
    let hit = rng.next_f64() < *rate;
    let pick = rng.next_u64();
    if !hit {
        return None;
    }
    const READ: [Fault; 6] = [
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::RateLimit {
            retry_after_secs: 0,
        },
        Fault::Locked423,
        Fault::Drop,
    ];
    let write: Vec<Fault> = READ
        .iter()
        .copied()
        .chain([Fault::AppliedThen502])
        .collect();
    let kinds: &[Fault] = if is_write { &write } else { &READ };
    Some(kinds[(pick % kinds.len() as u64) as usize])
}

/// What a failing server or its proxy answers: 500 as the application's JSON, 502/503/504 as
/// nginx's HTML page, anything else as `{"message": "<status> <reason>"}`.
fn fault_response(status: u16) -> Resp {
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    match status {
        502..=504 => nginx_page(status, reason),
        s => Resp::message(s, &format!("{s} {reason}")),
    }
}

/// 429 with `Retry-After` (the body is assumed to be the usual JSON message).
fn rate_limited(retry_after: u64) -> Resp {
    Resp::message(429, "429 Too Many Requests").header("Retry-After", retry_after.to_string())
}

/// 423: 工蜂 answers it for a locked account or when the API rate is exceeded (research §2.2).
/// No `Retry-After` is documented, so none is sent.
fn locked() -> Resp {
    Resp::message(423, "423 Locked")
}

// ---------------------------------------------------------------------------------------------
// Bodies

/// Merged parameters, and the parts of a multipart body.
type Params = (Map<String, Value>, Option<Vec<multipart::Part>>);

/// Query plus body parameters (body wins): JSON when the content type says so, form otherwise;
/// multipart bodies give their parts, and their non-file fields as parameters.
fn params(query: &[(String, String)], content_type: &str, body: &[u8]) -> Result<Params, Resp> {
    let mut params: Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let ct = content_type.to_ascii_lowercase();
    if ct.starts_with("multipart/") {
        // A malformed multipart body has no `file` for the handler to find.
        let parts = multipart::parse(content_type, body).unwrap_or_default();
        for p in parts.iter().filter(|p| p.filename.is_none()) {
            params.insert(
                p.name.clone(),
                Value::String(String::from_utf8_lossy(&p.data).into_owned()),
            );
        }
        return Ok((params, Some(parts)));
    }
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok((params, None));
    }
    if ct.contains("json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => params.extend(m),
            Ok(_) => {}
            Err(_) => {
                return Err(Resp::message(
                    400,
                    "400 (Bad request) the request body is not valid JSON",
                ));
            }
        }
    } else if ct.is_empty() || ct.contains("x-www-form-urlencoded") {
        let s = String::from_utf8_lossy(body);
        for (k, v) in form_pairs(&s) {
            params.insert(k, Value::String(v));
        }
    }
    Ok((params, None))
}

// ---------------------------------------------------------------------------------------------
// Request handling

pub(super) async fn handle(
    shared: Arc<Shared>,
    conn: Conn,
    req: axum::extract::Request,
) -> axum::response::Response {
    let request_id = shared.request_ids.fetch_add(1, Ordering::SeqCst);
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
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let is_upload = method == "POST" && path.ends_with("/attachments");

    let (fault, latency) = {
        let mut g = shared.lock();
        (pick_fault(&mut g, &method, &path), g.latency)
    };
    let body = emu_common::read_body(req.into_body()).await;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let record = |status: u16, content: &[u8]| {
        let body = if is_upload {
            String::new()
        } else {
            String::from_utf8_lossy(content).into_owned()
        };
        shared.lock().requests.push(Request {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            status,
            headers: headers.clone(),
            body,
        });
    };

    let content = match body {
        Ok(c) => c,
        Err(partial) => {
            record(0, &partial);
            return conn.drop_response();
        }
    };
    let early = match fault {
        Some(Fault::Status(s)) => Some(fault_response(s)),
        Some(Fault::RateLimit { retry_after_secs }) => Some(rate_limited(retry_after_secs)),
        Some(Fault::Locked423) => Some(locked()),
        Some(Fault::Drop) => {
            record(0, &content);
            return conn.drop_response();
        }
        _ => None,
    };
    if let Some(r) = early {
        record(r.status, &content);
        return r.into_response(request_id);
    }

    let query_pairs = form_pairs(&query);
    let mut resp = {
        let mut g = shared.lock();
        let token = api::credential(&headers, &query_pairs);
        let mut resp = match params(&query_pairs, &content_type, &content) {
            Err(e) => e,
            Ok((params, parts)) => {
                let ctx = Ctx {
                    method: if method == "HEAD" {
                        "GET".into()
                    } else {
                        method.clone()
                    },
                    raw_path: path.clone(),
                    params,
                    token: token.clone(),
                    parts,
                };
                api::dispatch(&mut g.model, &ctx)
            }
        };
        if g.echo_token
            && let Some(t) = &token
        {
            emu_common::echo_token(&mut resp, t);
        }
        resp
    };

    match fault {
        Some(Fault::AppliedThen502) => resp = fault_response(502),
        Some(Fault::AppliedThenDrop) => {
            record(0, &content);
            return conn.drop_response();
        }
        _ => {}
    }
    record(resp.status, &content);
    resp.into_response(request_id)
}
