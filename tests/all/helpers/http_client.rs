//! The tiny blocking HTTP/1.1 client the emulators' own tests (`emulator_*.rs`) talk through: one
//! request per fresh `TcpStream`, written and read by hand, so that what is tested is the wire
//! behaviour and not a client library's interpretation of it.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// A response as it came off the wire (a chunked body is already decoded).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    /// Header names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON; panics (showing the body) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to a full `http://host:port/path?query` URL on a fresh connection, with
/// `Content-Length`; `Err` when the server closed the connection without answering.
pub fn send_url(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Resp> {
    exchange(url, method, headers, body, false)
}

/// [`send_url`], but the body goes with `Transfer-Encoding: chunked` (in chunks of 7 bytes)
/// instead of `Content-Length`.
pub fn send_url_chunked(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Resp> {
    exchange(url, method, headers, body, true)
}

/// The statuses of `count` GETs of `url`, one after the other; 0 for each one the server closed
/// without answering.
pub fn get_statuses(url: &str, headers: &[(&str, &str)], count: usize) -> Vec<u16> {
    (0..count)
        .map(|_| send_url(url, "GET", headers, b"").map_or(0, |r| r.status))
        .collect()
}

/// A JSON request: `headers`, then `Content-Type: application/json`; the body is `body`
/// serialised (empty for `None`). Panics when the server closed the connection without answering.
pub fn json_request(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let mut all = headers.to_vec();
    all.push(("Content-Type", "application/json"));
    send_url(url, method, &all, bytes.as_bytes()).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// A form request: `headers`, then `Content-Type: application/x-www-form-urlencoded`. Panics
/// when the server closed the connection without answering.
pub fn form_request(url: &str, method: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut all = headers.to_vec();
    all.push(("Content-Type", "application/x-www-form-urlencoded"));
    send_url(url, method, &all, body.as_bytes()).expect("request")
}

const BOUNDARY: &str = "emulator-test-boundary-7d3f";

/// A `multipart/form-data` body as reqwest writes it, from parts `(field, Some(file name) for
/// files, data)`; file names are quoted with `\"` and `\\` escapes. Returns the content type
/// (with the boundary) and the body.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disp = match filename {
            Some(f) => {
                let escaped = f.replace('\\', "\\\\").replace('"', "\\\"");
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{escaped}\"\r\nContent-Type: application/octet-stream\r\n"
                )
            }
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend_from_slice(disp.as_bytes());
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = find(b, b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[i + 2 + size + 2..];
    }
    out
}

fn exchange(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    chunked: bool,
) -> io::Result<Resp> {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if chunked {
        req.push_str("Transfer-Encoding: chunked\r\n");
    } else {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    if chunked {
        for c in body.chunks(7) {
            s.write_all(format!("{:x}\r\n", c.len()).as_bytes())?;
            s.write_all(c)?;
            s.write_all(b"\r\n")?;
        }
        s.write_all(b"0\r\n\r\n")?;
    } else {
        s.write_all(body)?;
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let Some(end) = find(&raw, b"\r\n\r\n") else {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no response"));
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let is_chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if is_chunked {
        body = dechunk(&body);
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}
