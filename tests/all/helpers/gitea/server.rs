//! The HTTP side of the Gitea emulator: fault responses, and turning one HTTP request into a call
//! of the API module. The server thread, droppable connections, the request log and fault
//! selection come from `emu_common`.

use std::sync::Arc;

use serde_json::json;

use super::super::emu_common::{self, Conn, HttpReq, Resp, echo_token, nginx_page, receive};
use super::Fault;
use super::api;
use super::model::State;

pub(super) type Shared = emu_common::Shared<State, Fault>;

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
    let (mut head, fault, body) = receive(&shared, req).await;

    let mut g = shared.lock();
    g.state.request_seq += 1;
    let seq = g.state.request_seq;
    // File uploads are not kept in the log (their content is in the state).
    head.upload = head.method == "POST" && head.path.ends_with("/assets");
    let body = match body {
        Ok(b) => b,
        Err(partial) => {
            g.record(&head, 0, &partial);
            return conn.drop_response();
        }
    };
    let http = HttpReq::new(&head, body);

    let pre = match fault {
        Some(Fault::Status(s)) => Some(fault_status(&g.state, s)),
        Some(Fault::RateLimit { retry_after_secs }) => Some(
            Resp::raw(429, "text/plain; charset=utf-8", "Too Many Requests\n")
                .header("Retry-After", retry_after_secs.to_string()),
        ),
        Some(Fault::Drop) => {
            g.record(&head, 0, &http.body);
            return conn.drop_response();
        }
        _ => None,
    };
    let resp = if let Some(r) = pre {
        r
    } else {
        let (mut resp, token) = api::dispatch(&mut g.state, &http);
        if g.echo_token
            && let Some(t) = token
        {
            echo_token(&mut resp, &t);
        }
        match fault {
            Some(Fault::AppliedThen502) => fault_status(&g.state, 502),
            Some(Fault::AppliedThenDrop) => {
                g.record(&head, 0, &http.body);
                return conn.drop_response();
            }
            _ => resp,
        }
    };
    g.record(&head, resp.status, &http.body);
    resp.into_response(seq)
}
