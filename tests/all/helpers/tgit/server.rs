//! The HTTP side of the Tencent Git emulator: fault responses, body parsing (JSON, form or
//! multipart) and turning one HTTP request into a call of the API module. The server thread,
//! droppable connections, the request log and fault selection come from `emu_common`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::super::emu_common::{self, Conn, Resp, form_pairs, nginx_page, receive};
use super::api::{self, Ctx};
use super::model::State;
use super::{Fault, multipart};

pub(super) type Shared = emu_common::Shared<State, Fault>;

// ---------------------------------------------------------------------------------------------
// Faults

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
    if body.iter().all(u8::is_ascii_whitespace) {
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
    let request_id = shared.next_request_id();
    let (mut head, fault, body) = receive(&shared, req).await;
    head.upload = head.method == "POST" && head.path.ends_with("/attachments");
    let record = |status: u16, content: &[u8]| shared.lock().record(&head, status, content);

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

    let query_pairs = form_pairs(&head.query);
    let mut resp = {
        let mut g = shared.lock();
        let token = api::credential(&head.headers, &query_pairs);
        let mut resp = match params(&query_pairs, &head.content_type, &content) {
            Err(e) => e,
            Ok((params, parts)) => {
                let ctx = Ctx {
                    method: head.api_method(),
                    raw_path: head.path.clone(),
                    params,
                    token: token.clone(),
                    parts,
                };
                api::dispatch(&mut g.state, &ctx)
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
