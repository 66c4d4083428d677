//! The HTTP side of the GitLab emulator: fault responses, and turning one HTTP request into a
//! call of the API module. The server thread, droppable connections, the request log and fault
//! selection come from `emu_common`.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::super::emu_common::{self, Conn, nginx_page, receive};
use super::Fault;
use super::api::{self, Ctx, Upload};
use super::http::{Resp, body_params, echo_token, form_pairs, rack_params};
use super::model::State;

pub(super) type Shared = emu_common::Shared<State, Fault>;

// ---------------------------------------------------------------------------------------------
// Faults

/// 500 as GitLab's JSON, 502 as nginx's page, 503 as a load balancer's page, anything else as
/// `{"message": "<status>"}`.
fn fault_response(status: u16) -> Resp {
    match status {
        500 => Resp::message(500, "500 Internal Server Error"),
        502 => nginx_page(502, "Bad Gateway"),
        503 => Resp::raw(
            503,
            "text/html",
            "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
        ),
        s => Resp::message(s, &format!("{s}")),
    }
}

fn rate_limited(retry_after: u64) -> Resp {
    let reset = chrono::Utc::now() + chrono::Duration::seconds(retry_after as i64);
    Resp::raw(429, "text/plain", "Retry later\n")
        .header("Retry-After", retry_after.to_string())
        .header("RateLimit-Name", "throttle_authenticated_api")
        .header("RateLimit-Limit", "60")
        .header("RateLimit-Observed", "61")
        .header("RateLimit-Remaining", "0")
        .header("RateLimit-Reset", reset.timestamp().to_string())
        .header("RateLimit-ResetTime", reset.to_rfc2822())
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
    head.upload = head.method == "PUT" && head.path.contains("/packages/generic/");
    let record = |status: u16, content: &[u8]| shared.lock().record(&head, status, content);
    let respond = |r: Resp| r.into_response_as(&format!("01EMU{request_id:020}"));

    let mut content = match body {
        Ok(c) => c,
        Err(partial) => {
            record(0, &partial);
            return conn.drop_response();
        }
    };
    match fault {
        Some(Fault::Status(s)) => {
            record(s, &content);
            return respond(fault_response(s));
        }
        Some(Fault::RateLimit { retry_after_secs }) => {
            record(429, &content);
            return respond(rate_limited(retry_after_secs));
        }
        Some(Fault::Drop) => {
            record(0, &content);
            return conn.drop_response();
        }
        _ => {}
    }

    let query_pairs = form_pairs(&head.query);
    let mut resp = {
        let mut g = shared.lock();
        let cred = api::credential(&g.state, &head.headers, &query_pairs);
        let mut params = rack_params(&query_pairs);
        let parsed = if head.upload {
            Ok(Default::default())
        } else {
            body_params(&head.content_type, &content)
        };
        let mut resp = match parsed {
            Err(e) => e,
            Ok(body) => {
                params.extend(body);
                let upload = head.upload.then(|| Upload {
                    sha256: hex::encode(Sha256::digest(&content)),
                    content: std::mem::take(&mut content),
                });
                let ctx = Ctx {
                    method: head.api_method(),
                    raw_path: head.path.clone(),
                    query_pairs,
                    params,
                    cred: cred.clone(),
                    upload,
                };
                api::dispatch(&mut g.state, &ctx)
            }
        };
        if g.echo_token
            && let Some(t) = cred.token()
        {
            echo_token(&mut resp, t);
        }
        resp
    };

    match fault {
        Some(Fault::AppliedThen502) => {
            resp = fault_response(502);
        }
        Some(Fault::AppliedThenDrop) => {
            record(0, &content);
            return conn.drop_response();
        }
        _ => {}
    }
    record(resp.status, &content);
    respond(resp)
}
