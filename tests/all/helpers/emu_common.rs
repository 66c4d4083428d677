//! Plumbing shared by the forge emulators that do not predate it (the GitLab emulator keeps its
//! own copy): the server thread with its own runtime on `127.0.0.1:0`, connections a handler can
//! drop without answering, the request log entry, a seeded generator for fault injection, and
//! small response and URL helpers.
//!
//! An emulator supplies one async handler `(Conn, Request) -> Response`; routing, auth, faults
//! and state stay in the emulator.

#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use futures_util::StreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

// ---------------------------------------------------------------------------------------------
// The request log

/// One request an emulator answered.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The raw path, still percent-encoded, e.g. `/api/v3/projects/group%2Fapp/releases/v1`.
    pub path: String,
    /// The raw query string without `?` (empty when there is none).
    pub query: String,
    /// The status sent; 0 when the connection was dropped without a response.
    pub status: u16,
    /// Request headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (lossy UTF-8); empty for file uploads.
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
    }
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/// splitmix64: small, seeded, deterministic.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

/// A response as an emulator builds it before it becomes an axum response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(status: u16, v: &Value) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            content_type: "application/json".into(),
            body: serde_json::to_vec(v).expect("serialise JSON"),
        }
    }
    /// `{"message": "..."}`.
    pub fn message(status: u16, msg: &str) -> Resp {
        Resp::json(status, &json!({ "message": msg }))
    }
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            content_type: content_type.to_string(),
            body: body.into(),
        }
    }
    /// A status with an empty body and no content type.
    pub fn empty(status: u16) -> Resp {
        Resp::raw(status, "", Vec::new())
    }
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Resp {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn into_response(self, request_id: u64) -> axum::response::Response {
        let mut b = axum::response::Response::builder()
            .status(self.status)
            .header("X-Request-Id", format!("emu-{request_id:016}"))
            .header("Cache-Control", "no-cache");
        if !self.content_type.is_empty() {
            b = b.header("Content-Type", self.content_type.as_str());
        }
        for (k, v) in &self.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Body::from(self.body)).expect("response")
    }
}

/// An nginx-style HTML error page (what a proxy in front of the forge answers with).
pub fn nginx_page(status: u16, reason: &str) -> Resp {
    Resp::raw(
        status,
        "text/html",
        format!(
            "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}

/// Puts the token the client sent into a 4xx JSON error body (`message` or `error`), where a
/// careless client would print it.
pub fn echo_token(resp: &mut Resp, token: &str) {
    if !(400..500).contains(&resp.status) {
        return;
    }
    let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(&resp.body) else {
        return;
    };
    let note = format!("(token sent: {token})");
    for key in ["message", "error"] {
        match obj.get_mut(key) {
            Some(Value::String(s)) => *s = format!("{s} {note}"),
            Some(Value::Array(a)) => a.push(Value::String(note.clone())),
            Some(Value::Object(o)) => {
                o.insert("token".into(), json!([token]));
            }
            _ => {}
        }
    }
    resp.body = serde_json::to_vec(&Value::Object(obj)).expect("serialise JSON");
}

// ---------------------------------------------------------------------------------------------
// URLs and forms

/// Everything except the RFC 3986 unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (`/` becomes `%2F`).
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Percent-decodes one raw path segment; `None` for invalid UTF-8.
pub fn dec(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Decodes `application/x-www-form-urlencoded` into `(key, value)` pairs.
pub fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |x: &str| {
                let x = x.replace('+', " ");
                percent_decode_str(&x).decode_utf8_lossy().into_owned()
            };
            (d(k), d(v))
        })
        .collect()
}

/// Splits a raw path (after the API prefix) into decoded segments; `None` when a segment is
/// empty or not UTF-8. A `%2F` stays inside its segment.
pub fn segments(rest: &str) -> Option<Vec<String>> {
    let segs: Option<Vec<String>> = rest.split('/').map(dec).collect();
    segs.filter(|s| s.iter().all(|x| !x.is_empty()))
}

// ---------------------------------------------------------------------------------------------
// The server thread

/// Stops the server (and joins its thread) on drop.
pub struct ServerHandle {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds `127.0.0.1:0` and serves every request with `handler` on a thread with its own
/// two-worker tokio runtime. Returns the base URL (`http://127.0.0.1:PORT`) and the handle.
pub fn spawn_server<H, F>(name: &str, handler: H) -> (String, ServerHandle)
where
    H: Fn(Conn, axum::extract::Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = axum::response::Response> + Send + 'static,
{
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let port = std_listener.local_addr().expect("local addr").port();
    let url = format!("http://127.0.0.1:{port}");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("{name}-{port}"))
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let app = Router::new().fallback(
                    move |ConnectInfo(conn): ConnectInfo<Conn>, req: axum::extract::Request| {
                        let h = handler.clone();
                        async move { h(conn, req).await }
                    },
                );
                let server = axum::serve(
                    KillListener(listener),
                    app.into_make_service_with_connect_info::<Conn>(),
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
    (
        url,
        ServerHandle {
            shutdown: Some(tx),
            thread: Some(thread),
        },
    )
}

/// Reads the whole request body; `Err` with what arrived when the client broke off.
pub async fn read_body(body: Body) -> Result<Vec<u8>, Vec<u8>> {
    let mut content = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => content.extend_from_slice(&c),
            Err(_) => return Err(content),
        }
    }
    Ok(content)
}

// ---------------------------------------------------------------------------------------------
// Connections that a handler can drop without a response

/// The connection a request arrived on, given to handlers through `ConnectInfo`.
#[derive(Clone, Debug)]
pub struct Conn(Arc<AtomicBool>);

impl Conn {
    /// Makes every later read and write on the connection fail, so hyper closes it without
    /// sending the response the handler returns.
    pub fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Kills the connection and returns a placeholder response that is never sent.
    pub fn drop_response(&self) -> axum::response::Response {
        self.kill();
        Resp::empty(500).into_response(0)
    }
}

struct KillListener(tokio::net::TcpListener);

impl Listener for KillListener {
    type Io = KillIo;
    type Addr = Conn;

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
                        Conn(flag),
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Conn(Arc::new(AtomicBool::new(false))))
    }
}

impl Connected<IncomingStream<'_, KillListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream whose reads and writes fail once the connection was killed.
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
