//! The HTTP side of the GitHub emulator: fault responses, rate-limit headers, and turning one HTTP
//! request into a call of the API module. The server thread, droppable connections, the request
//! log and fault selection come from `emu_common`.

use std::sync::Arc;

use serde_json::json;

use super::super::emu_common::{self, Conn, HttpReq, Resp, echo_token, receive};
use super::Fault;
use super::api::{self, Host};
use super::model::{State, sha256_hex};

pub(super) type Shared = emu_common::Shared<State, Fault>;

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
    let (used, remaining, reset) = if let Some(secs) = exhausted {
        (limit, 0, chrono::Utc::now().timestamp() + secs as i64)
    } else {
        state.rate_used = (state.rate_used + 1).min(limit - 1);
        (state.rate_used, limit - state.rate_used, state.rate_reset)
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
    let (mut head, fault, body) = receive(&shared, req).await;

    let (seq, host) = {
        let mut g = shared.lock();
        g.state.request_seq += 1;
        (g.state.request_seq, g.state.host_of(&head.path))
    };
    head.upload = head.method == "POST" && host == Host::Uploads;
    let body = match body {
        Ok(b) => b,
        Err(partial) => {
            shared.lock().record(&head, 0, &partial);
            return conn.drop_response();
        }
    };
    let mut http = HttpReq::new(&head, body);
    // GitHub's upload host streams each asset to storage on its own; no lock on the
    // repository is held while the bytes are digested. The emulator hashes an upload before
    // it locks its state, so concurrent uploads are hashed in parallel, not one after another.
    if head.upload {
        http.sha256 = Some(sha256_hex(&http.body));
    }
    let mut g = shared.lock();

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
            g.record(&head, 0, &http.body);
            return conn.drop_response();
        }
        Some(Fault::StarterThen502) => {
            if head.upload {
                api::upload_starter(&mut g.state, &http);
            }
            Some(fault_status(502))
        }
        _ => None,
    };

    let mut resp = if let Some(r) = pre {
        r
    } else {
        let (mut resp, token) = api::dispatch(&mut g.state, &http);
        if g.echo_token
            && let Some(t) = token
        {
            echo_token(&mut resp, &t);
        }
        match fault {
            Some(Fault::AppliedThen502) => fault_status(502),
            Some(Fault::AppliedThenDrop) => {
                g.record(&head, 0, &http.body);
                return conn.drop_response();
            }
            _ => resp,
        }
    };
    if host != Host::Web {
        decorate(&mut g.state, &mut resp, exhausted);
    }
    g.record(&head, resp.status, &http.body);
    resp.into_response(seq)
}
