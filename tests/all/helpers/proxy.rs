//! A tiny forwarding HTTP proxy on `127.0.0.1:0` that logs what it relays: absolute-form
//! requests (`GET http://host:port/path HTTP/1.1`, what a client sends for a plain `http://`
//! URL through `HTTP_PROXY`) are passed on in origin form with `Connection: close`, so each
//! connection carries one request and each logged request is one the client made; `CONNECT
//! host:port` (what a client sends for an `https://` URL through `HTTPS_PROXY`) opens a tunnel.
//!
//! It only ever connects to loopback hosts (`127.0.0.0/8`, `::1`, `localhost`): anything else
//! is answered with 403 and logged as refused. It runs on its own thread with its own tokio
//! runtime and stops on drop.

#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request the proxy was asked to relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relayed {
    /// `GET`, `POST`, ..., or `CONNECT`.
    pub method: String,
    /// The request target: an absolute URL, or `host:port` for `CONNECT`.
    pub target: String,
    /// Whether it was passed on (false: refused, or the upstream could not be reached).
    pub relayed: bool,
}

/// The running proxy.
pub struct Proxy {
    url: String,
    log: Arc<Mutex<Vec<Relayed>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Proxy {
    /// Starts the proxy on `127.0.0.1:0`.
    pub fn start() -> Proxy {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("local addr").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let thread_log = log.clone();
        let thread = std::thread::Builder::new()
            .name(format!("proxy-{port}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(std_listener).expect("listener");
                    let _ = ready_tx.send(());
                    let accept_loop = async {
                        loop {
                            let Ok((client, _)) = listener.accept().await else {
                                tokio::time::sleep(Duration::from_millis(5)).await;
                                continue;
                            };
                            let log = thread_log.clone();
                            tokio::spawn(async move {
                                // Bounded: no connection outlives two minutes.
                                let _ = tokio::time::timeout(
                                    Duration::from_secs(120),
                                    handle(client, log),
                                )
                                .await;
                            });
                        }
                    };
                    tokio::select! {
                        _ = accept_loop => {}
                        _ = rx => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .expect("spawn proxy thread");
        let _ = ready_rx.recv_timeout(Duration::from_secs(10));
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            log,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `HTTP_PROXY` and `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Everything the proxy was asked to relay, in order.
    pub fn log(&self) -> Vec<Relayed> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The absolute URLs of the plain HTTP requests it passed on.
    pub fn forwarded(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|r| r.relayed && r.method != "CONNECT")
            .map(|r| r.target)
            .collect()
    }

    /// The `host:port` of each tunnel it opened.
    pub fn tunnels(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|r| r.relayed && r.method == "CONNECT")
            .map(|r| r.target)
            .collect()
    }
}

/// Whether the proxy may connect to `host` (a loopback name or address).
fn loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Splits `host:port` (`[v6]:port` too); the port defaults to `default_port`.
fn host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((authority.to_string(), default_port)),
    }
}

async fn respond(client: &mut TcpStream, status: &str) {
    let _ = client
        .write_all(
            format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
}

/// Serves one client connection: one absolute-form request, or one tunnel.
async fn handle(mut client: TcpStream, log: Arc<Mutex<Vec<Relayed>>>) {
    let _ = client.set_nodelay(true);
    // The request head, up to the empty line, and whatever of the body came with it.
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            respond(&mut client, "431 Request Header Fields Too Large").await;
            return;
        }
        let mut chunk = [0u8; 4096];
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let rest = buf[head_end..].to_vec();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let (method, target, version) = (
        request_line.next().unwrap_or("").to_string(),
        request_line.next().unwrap_or("").to_string(),
        request_line.next().unwrap_or("HTTP/1.1").to_string(),
    );
    let record = |relayed: bool| {
        log.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Relayed {
                method: method.clone(),
                target: target.clone(),
                relayed,
            });
    };

    if method == "CONNECT" {
        let Some((host, port)) = host_port(&target, 443).filter(|(h, _)| loopback(h)) else {
            record(false);
            respond(&mut client, "403 Forbidden").await;
            return;
        };
        let Ok(mut upstream) = TcpStream::connect((host.as_str(), port)).await else {
            record(false);
            respond(&mut client, "502 Bad Gateway").await;
            return;
        };
        record(true);
        let _ = upstream.set_nodelay(true);
        if client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
        if !rest.is_empty() && upstream.write_all(&rest).await.is_err() {
            return;
        }
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return;
    }

    // Absolute form: `http://host[:port]/path?query`.
    let Some(after_scheme) = target.strip_prefix("http://") else {
        record(false);
        respond(&mut client, "400 Bad Request").await;
        return;
    };
    let (authority, path) = match after_scheme.find(['/', '?']) {
        Some(i) if after_scheme.as_bytes()[i] == b'/' => {
            (&after_scheme[..i], after_scheme[i..].to_string())
        }
        Some(i) => (&after_scheme[..i], format!("/{}", &after_scheme[i..])),
        None => (after_scheme, "/".to_string()),
    };
    let Some((host, port)) = host_port(authority, 80).filter(|(h, _)| loopback(h)) else {
        record(false);
        respond(&mut client, "403 Forbidden").await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect((host.as_str(), port)).await else {
        record(false);
        respond(&mut client, "502 Bad Gateway").await;
        return;
    };
    record(true);
    let _ = upstream.set_nodelay(true);
    let mut out = format!("{method} {path} {version}\r\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or("").trim();
        if [
            "connection",
            "proxy-connection",
            "keep-alive",
            "proxy-authorization",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(out.as_bytes()).await.is_err()
        || (!rest.is_empty() && upstream.write_all(&rest).await.is_err())
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_authorities_and_keeps_to_loopback() {
        assert_eq!(
            host_port("127.0.0.1:8080", 80),
            Some(("127.0.0.1".into(), 8080))
        );
        assert_eq!(host_port("localhost", 443), Some(("localhost".into(), 443)));
        assert_eq!(host_port("[::1]:9", 80), Some(("::1".into(), 9)));
        assert!(loopback("127.0.0.1") && loopback("localhost") && loopback("[::1]"));
        assert!(!loopback("example.com") && !loopback("10.0.0.1"));
    }
}
