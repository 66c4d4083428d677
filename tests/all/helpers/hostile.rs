//! A hostile forge: an HTTP server on `127.0.0.1:0` whose every answer is scripted by the test
//! (redirects anywhere, endless pages, bodies of any size, bodies trickled a byte at a time),
//! logging each request's headers and counting the TCP connections it accepted.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::serve::ListenerExt;
use bytes::Bytes;
use serde_json::Value;

/// The headers that carry a token, in lower case.
pub const TOKEN_HEADERS: [&str; 3] = ["private-token", "job-token", "authorization"];

/// A request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The raw path.
    pub path: String,
    /// The raw query, without `?`.
    pub query: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (lossy UTF-8).
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The token headers it carried (names).
    pub fn credentials(&self) -> Vec<&'static str> {
        TOKEN_HEADERS
            .iter()
            .copied()
            .filter(|h| self.header(h).is_some())
            .collect()
    }

    /// The value of query parameter `key`.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// What the body of a reply is.
#[derive(Clone, Debug)]
pub enum Payload {
    /// Bytes sent at once, with their length.
    Bytes(Vec<u8>),
    /// `n` bytes of `[`, streamed in 64 KiB chunks without a length.
    Stream(u64),
    /// `n` bytes, one every `every`, without a length.
    Trickle(usize, Duration),
}

/// A scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub payload: Payload,
}

impl Reply {
    pub fn json(status: u16, v: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            payload: Payload::Bytes(v.to_string().into_bytes()),
        }
    }

    /// A redirect to `location`, with a small HTML body as real servers send.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply {
            status,
            headers: vec![
                ("location".into(), location.into()),
                ("content-type".into(), "text/html".into()),
            ],
            payload: Payload::Bytes(b"<html><body>moved</body></html>".to_vec()),
        }
    }

    /// `n` bytes streamed as fast as the client reads them.
    pub fn stream(status: u16, n: u64) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            payload: Payload::Stream(n),
        }
    }

    /// `n` bytes, one every `every`.
    pub fn trickle(status: u16, n: usize, every: Duration) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            payload: Payload::Trickle(n, every),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn into_response(self) -> axum::response::Response {
        let body = match self.payload {
            Payload::Bytes(b) => Body::from(b),
            Payload::Stream(n) => {
                let chunk = Bytes::from(vec![b'['; 64 * 1024]);
                let stream = futures_util::stream::unfold(n, move |left| {
                    let chunk = chunk.clone();
                    async move {
                        (left > 0).then(|| {
                            let take = left.min(chunk.len() as u64);
                            (
                                Ok::<_, std::io::Error>(chunk.slice(..take as usize)),
                                left - take,
                            )
                        })
                    }
                });
                Body::from_stream(stream)
            }
            Payload::Trickle(n, every) => {
                let stream = futures_util::stream::unfold(n, move |left| async move {
                    if left == 0 {
                        return None;
                    }
                    tokio::time::sleep(every).await;
                    Some((Ok::<_, std::io::Error>(Bytes::from_static(b" ")), left - 1))
                });
                Body::from_stream(stream)
            }
        };
        let mut resp = axum::response::Response::new(body);
        *resp.status_mut() = axum::http::StatusCode::from_u16(self.status).expect("status");
        for (k, v) in self.headers {
            resp.headers_mut().append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                axum::http::HeaderValue::from_str(&v).expect("header value"),
            );
        }
        resp
    }
}

type Script = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// The running server; stops on drop.
pub struct Hostile {
    url: String,
    log: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Hostile {
    /// Serves every request with `script`.
    pub fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Hostile {
        let script: Script = Arc::new(script);
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let url = format!(
            "http://127.0.0.1:{}",
            std_listener.local_addr().expect("addr").port()
        );
        let log = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let (log2, conns2) = (log.clone(), connections.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener)
                    .expect("listener")
                    .tap_io(move |_| {
                        conns2.fetch_add(1, Ordering::SeqCst);
                    });
                let app = Router::new().fallback(move |req: axum::extract::Request| {
                    let (script, log) = (script.clone(), log2.clone());
                    async move {
                        let seen = Seen {
                            method: req.method().to_string(),
                            path: req.uri().path().to_owned(),
                            query: req.uri().query().unwrap_or("").to_owned(),
                            headers: req
                                .headers()
                                .iter()
                                .map(|(k, v)| {
                                    (
                                        k.as_str().to_ascii_lowercase(),
                                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                    )
                                })
                                .collect(),
                            body: String::new(),
                        };
                        let body = axum::body::to_bytes(req.into_body(), 512 * 1024 * 1024)
                            .await
                            .unwrap_or_default();
                        let seen = Seen {
                            body: String::from_utf8_lossy(&body).into_owned(),
                            ..seen
                        };
                        log.lock().unwrap().push(seen.clone());
                        script(&seen).into_response()
                    }
                });
                let _ = ready_tx.send(());
                tokio::select! {
                    _ = std::future::IntoFuture::into_future(axum::serve(listener, app)) => {}
                    _ = rx => {}
                }
            });
            rt.shutdown_timeout(Duration::from_millis(200));
        });
        let _ = ready_rx.recv_timeout(Duration::from_secs(10));
        Hostile {
            url,
            log,
            connections,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
