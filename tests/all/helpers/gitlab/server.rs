//! The HTTP side of the emulator: its thread and runtime, connections a handler can drop without
//! a response, fault selection, and turning one HTTP request into a call of the API module.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::api::{self, Ctx, Upload};
use super::http::{self, Resp, body_params, form_pairs, rack_params};
use super::model::State;
use super::{Fault, Request};

pub(super) struct Rule {
    pub(super) fault: Fault,
    pub(super) remaining: usize,
    pub(super) method: Option<String>,
    pub(super) path_contains: Option<String>,
}

/// splitmix64: small, seeded, deterministic.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
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

/// Starts the server thread: axum on its own multi-threaded runtime until `shutdown` fires.
pub(super) fn spawn(
    shared: Arc<Shared>,
    std_listener: std::net::TcpListener,
    rx: tokio::sync::oneshot::Receiver<()>,
) -> JoinHandle<()> {
    let port = std_listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let s = shared;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("gitlab-emulator-{port}"))
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let app = Router::new().fallback(
                    move |ConnectInfo(conn): ConnectInfo<ConnHandle>,
                          req: axum::extract::Request| {
                        let s = s.clone();
                        async move { handle(s, conn, req).await }
                    },
                );
                let server = axum::serve(
                    KillListener(listener),
                    app.into_make_service_with_connect_info::<ConnHandle>(),
                );
                let _ = ready_tx.send(());
                tokio::select! {
                    _ = std::future::IntoFuture::into_future(server) => {}
                    _ = rx => {}
                }
            });
            rt.shutdown_timeout(Duration::from_millis(200));
        })
        .expect("spawn emulator thread");
    let _ = ready_rx.recv_timeout(Duration::from_secs(10));
    thread
}

// ---------------------------------------------------------------------------------------------
// Connections that a handler can drop without a response

/// Per-connection handle given to handlers through `ConnectInfo`.
#[derive(Clone, Debug)]
struct ConnHandle(Arc<AtomicBool>);

impl ConnHandle {
    fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct KillListener(tokio::net::TcpListener);

impl Listener for KillListener {
    type Io = KillIo;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let flag = Arc::new(AtomicBool::new(false));
                    return (
                        KillIo {
                            inner: stream,
                            killed: flag.clone(),
                        },
                        ConnHandle(flag),
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnHandle(Arc::new(AtomicBool::new(false))))
    }
}

impl Connected<IncomingStream<'_, KillListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream whose writes fail once the connection was killed, so hyper closes it without
/// sending the response.
struct KillIo {
    inner: tokio::net::TcpStream,
    killed: Arc<AtomicBool>,
}

fn killed_err() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "emulator dropped the connection",
    )
}

impl AsyncRead for KillIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling

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
    let kinds: &[Fault] = if is_write {
        &[
            Fault::Status(500),
            Fault::Status(502),
            Fault::Status(503),
            Fault::RateLimit {
                retry_after_secs: 0,
            },
            Fault::Drop,
            Fault::AppliedThen502,
        ]
    } else {
        &[
            Fault::Status(500),
            Fault::Status(502),
            Fault::Status(503),
            Fault::RateLimit {
                retry_after_secs: 0,
            },
            Fault::Drop,
        ]
    };
    Some(kinds[(pick % kinds.len() as u64) as usize])
}

fn fault_response(status: u16) -> Resp {
    match status {
        500 => Resp::message(500, "500 Internal Server Error"),
        502 => Resp::raw(
            502,
            "text/html",
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        ),
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

fn into_response(r: Resp, request_id: u64) -> axum::response::Response {
    let mut b = axum::response::Response::builder()
        .status(r.status)
        .header("X-Request-Id", format!("01EMU{request_id:020}"))
        .header("Cache-Control", "no-cache");
    if !r.content_type.is_empty() {
        b = b.header("Content-Type", r.content_type);
    }
    for (k, v) in &r.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(r.body)).expect("response")
}

async fn handle(
    shared: Arc<Shared>,
    conn: ConnHandle,
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
    let is_upload = method == "PUT" && path.contains("/packages/generic/");

    let (fault, latency) = {
        let mut g = shared.lock();
        (pick_fault(&mut g, &method, &path), g.latency)
    };

    // Read the body as a stream (uploads are hashed while they arrive).
    let mut content = Vec::new();
    let mut hasher = Sha256::new();
    let mut stream = req.into_body().into_data_stream();
    let mut body_error = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => {
                if is_upload {
                    hasher.update(&c);
                }
                content.extend_from_slice(&c);
            }
            Err(_) => {
                body_error = true;
                break;
            }
        }
    }
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
    let dropped = |conn: &ConnHandle| {
        conn.kill();
        into_response(Resp::raw(500, "text/plain", ""), request_id)
    };

    if body_error {
        record(0, &content);
        return dropped(&conn);
    }
    match fault {
        Some(Fault::Status(s)) => {
            record(s, &content);
            return into_response(fault_response(s), request_id);
        }
        Some(Fault::RateLimit { retry_after_secs }) => {
            record(429, &content);
            return into_response(rate_limited(retry_after_secs), request_id);
        }
        Some(Fault::Drop) => {
            record(0, &content);
            return dropped(&conn);
        }
        _ => {}
    }

    let query_pairs = form_pairs(&query);
    let mut resp = {
        let mut g = shared.lock();
        let cred = api::credential(&g.model, &headers, &query_pairs);
        let mut params = rack_params(&query_pairs);
        let parsed = if is_upload {
            Ok(Default::default())
        } else {
            body_params(&content_type, &content)
        };
        let mut resp = match parsed {
            Err(e) => e,
            Ok(body) => {
                params.extend(body);
                let ctx = Ctx {
                    method: if method == "HEAD" {
                        "GET".into()
                    } else {
                        method.clone()
                    },
                    raw_path: path.clone(),
                    query_pairs,
                    params,
                    cred: cred.clone(),
                    upload: is_upload.then(|| Upload {
                        content: std::mem::take(&mut content),
                        sha256: hex::encode(hasher.finalize()),
                    }),
                };
                api::dispatch(&mut g.model, &ctx)
            }
        };
        if g.echo_token
            && let Some(t) = cred.token()
        {
            http::echo_token(&mut resp, t);
        }
        resp
    };

    match fault {
        Some(Fault::AppliedThen502) => {
            resp = fault_response(502);
        }
        Some(Fault::AppliedThenDrop) => {
            record(0, &content);
            return dropped(&conn);
        }
        _ => {}
    }
    record(resp.status, &content);
    into_response(resp, request_id)
}
