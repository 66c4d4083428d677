//! Plumbing shared by the forge emulators: the server thread with its own runtime on
//! `127.0.0.1:0`, connections a handler can drop without answering, the request log, scripted and
//! seeded random fault rules, the [`Emulator`] every emulator type is (with its request
//! accounting and fault API), offset pagination arithmetic, and small response and URL helpers.
//!
//! An emulator supplies its state, its `Fault` enum (a [`RandomFault`]) and one async handler
//! `(Arc<Shared>, Conn, Request) -> Response`; routing, auth, fault responses and the state's
//! rules stay in the emulator.

#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
        header(&self.headers, name)
    }
    pub fn is_write(&self) -> bool {
        is_write(&self.method)
    }
}

/// The first header of this name (case-insensitive).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Anything but GET and HEAD.
pub fn is_write(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD")
}

/// What an emulator reads of a request before its body.
#[derive(Clone, Debug)]
pub struct Head {
    pub method: String,
    /// The raw path, still percent-encoded.
    pub path: String,
    /// The raw query string without `?` (empty when there is none).
    pub query: String,
    /// Names in lower case, values lossy UTF-8.
    pub headers: Vec<(String, String)>,
    /// The `Content-Type` header; empty when it is missing or not visible ASCII.
    pub content_type: String,
    /// A file upload: its body stays out of the log (the emulator decides; false at first).
    pub upload: bool,
}

impl Head {
    fn of(req: &axum::extract::Request) -> Head {
        Head {
            method: req.method().as_str().to_string(),
            path: req.uri().path().to_string(),
            query: req.uri().query().unwrap_or("").to_string(),
            headers: req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            content_type: req
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string(),
            upload: false,
        }
    }

    /// The method the API answers: `HEAD` is answered as `GET`.
    pub fn api_method(&self) -> String {
        if self.method == "HEAD" {
            "GET".into()
        } else {
            self.method.clone()
        }
    }

    /// The log entry for this request, answered with `status` (0: dropped without a response);
    /// the body is left out for an upload.
    fn log_entry(&self, status: u16, body: &[u8]) -> Request {
        let body = if self.upload { &[][..] } else { body };
        Request {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            status,
            headers: self.headers.clone(),
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }
}

/// One request as an emulator's API module sees it: head and body, `HEAD` answered as `GET`.
pub struct HttpReq {
    /// `HEAD` is answered as `GET`.
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body's sha256 (hex) when the server hashed it before taking the emulator's lock
    /// (uploads), so that concurrent uploads are hashed in parallel as on a real server.
    pub sha256: Option<String>,
}

impl HttpReq {
    pub fn new(head: &Head, body: Vec<u8>) -> HttpReq {
        HttpReq {
            method: head.api_method(),
            path: head.path.clone(),
            query: head.query.clone(),
            headers: head.headers.clone(),
            body,
            sha256: None,
        }
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_pairs(&self.query)
    }
    /// The first query parameter of this name.
    pub fn q(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
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
// Ids

/// Ids handed out in order, each one more than the last.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seq(u64);

impl Seq {
    /// The first id is `start + 1`.
    pub const fn after(start: u64) -> Seq {
        Seq(start)
    }

    pub fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

// ---------------------------------------------------------------------------------------------
// Fault rules

/// An emulator's `Fault` enum, as far as random injection needs it.
pub trait RandomFault: Copy + Send + 'static {
    /// What a random fault is drawn from (in this order).
    const CHOICES: &'static [Self];
    /// What a random fault on a write may also be: applied, then answered with 502.
    const APPLIED_THEN_502: Self;
}

struct Rule<F> {
    fault: F,
    remaining: usize,
    /// Upper case.
    method: Option<String>,
    path_contains: Option<String>,
}

/// Scripted faults, in the order they were added, and seeded random ones.
pub struct FaultRules<F> {
    rules: Vec<Rule<F>>,
    random: Option<(f64, Rng)>,
}

impl<F: RandomFault> FaultRules<F> {
    pub fn new() -> Self {
        FaultRules {
            rules: Vec::new(),
            random: None,
        }
    }

    /// The next `count` requests (with this method, whose raw path contains `path_contains`,
    /// where given) get `fault`.
    pub fn push(
        &mut self,
        fault: F,
        count: usize,
        method: Option<&str>,
        path_contains: Option<&str>,
    ) {
        if count > 0 {
            self.rules.push(Rule {
                fault,
                remaining: count,
                method: method.map(str::to_ascii_uppercase),
                path_contains: path_contains.map(str::to_string),
            });
        }
    }

    /// Each later request fails with probability `rate`, drawn from a generator seeded with
    /// `seed`.
    pub fn set_random(&mut self, rate: f64, seed: u64) {
        self.random = Some((rate, Rng(seed)));
    }

    pub fn clear(&mut self) {
        self.rules.clear();
        self.random = None;
    }

    /// The fault for a request: the first scripted rule that matches (used up by one), else a
    /// random draw (two numbers per request, hit or not) from [`RandomFault::CHOICES`], plus
    /// [`RandomFault::APPLIED_THEN_502`] for writes.
    pub fn pick(&mut self, method: &str, path: &str) -> Option<F> {
        if let Some(rule) = self.rules.iter_mut().find(|r| {
            r.remaining > 0
                && r.method.as_deref().is_none_or(|m| m == method)
                && r.path_contains.as_deref().is_none_or(|p| path.contains(p))
        }) {
            rule.remaining -= 1;
            let f = rule.fault;
            self.rules.retain(|r| r.remaining > 0);
            return Some(f);
        }
        let (rate, rng) = self.random.as_mut()?;
        let hit = rng.next_f64() < *rate;
        let pick = rng.next_u64();
        if !hit {
            return None;
        }
        let mut kinds = F::CHOICES.to_vec();
        if is_write(method) {
            kinds.push(F::APPLIED_THEN_502);
        }
        Some(kinds[(pick % kinds.len() as u64) as usize])
    }
}

impl<F: RandomFault> Default for FaultRules<F> {
    fn default() -> Self {
        Self::new()
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

    /// The axum response, with `X-Request-Id: emu-<request_id>`.
    pub fn into_response(self, request_id: u64) -> axum::response::Response {
        self.into_response_as(&format!("emu-{request_id:016}"))
    }

    /// The axum response, with this `X-Request-Id`.
    pub fn into_response_as(self, x_request_id: &str) -> axum::response::Response {
        let mut b = axum::response::Response::builder()
            .status(self.status)
            .header("X-Request-Id", x_request_id)
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
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
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
        .map(std::borrow::Cow::into_owned)
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
// Looking up projects and repositories

/// A project as GitLab and Tencent Git address it: by numeric id, or by its full path
/// (`group/sub/app`, case-insensitive).
pub trait IdPath {
    fn id(&self) -> u64;
    fn path(&self) -> &str;
}

/// Implements [`IdPath`] for a project type with fields `id: u64` and `path: String`.
macro_rules! impl_id_path {
    ($project:ty) => {
        impl $crate::helpers::emu_common::IdPath for $project {
            fn id(&self) -> u64 {
                self.id
            }
            fn path(&self) -> &str {
                &self.path
            }
        }
    };
}
pub(crate) use impl_id_path;

/// The project with this id (digits) or full path.
pub fn project_index<P: IdPath>(projects: &[P], id_or_path: &str) -> Option<usize> {
    match id_or_path.parse::<u64>() {
        Ok(id) => projects.iter().position(|p| p.id() == id),
        Err(_) => projects
            .iter()
            .position(|p| p.path().eq_ignore_ascii_case(id_or_path)),
    }
}

/// The project a test named by id; panics when the test never added it.
pub fn added_project<P: IdPath>(projects: &[P], id: u64) -> usize {
    projects
        .iter()
        .position(|p| p.id() == id)
        .unwrap_or_else(|| panic!("emulator: no project {id}"))
}

/// A repository as GitHub and Gitea address it: `owner/name`, case-insensitive.
pub trait Repository {
    fn owner(&self) -> &str;
    fn name(&self) -> &str;
    /// One per branch: `(name, sha)`.
    fn branches(&self) -> &[(String, String)];
    /// One per tag: `(name, sha)`.
    fn tags(&self) -> impl Iterator<Item = (&str, &str)>;

    fn full_name(&self) -> String {
        format!("{}/{}", self.owner(), self.name())
    }

    /// `owner/name` in a URL path, each part percent-encoded.
    fn url_path(&self) -> String {
        format!("{}/{}", enc(self.owner()), enc(self.name()))
    }

    /// Resolves a target (`target_commitish`) to a commit: a branch, else a tag, else a 7 to 40
    /// hex digit sha (lower-cased).
    fn resolve(&self, target: &str) -> Option<String> {
        if let Some((_, sha)) = self.branches().iter().find(|(b, _)| b == target) {
            return Some(sha.clone());
        }
        if let Some((_, sha)) = self.tags().find(|(t, _)| *t == target) {
            return Some(sha.to_string());
        }
        let hex = target.len() >= 7
            && target.len() <= 40
            && target.bytes().all(|b| b.is_ascii_hexdigit());
        hex.then(|| target.to_ascii_lowercase())
    }
}

/// Implements [`Repository`] for a repository type with fields `owner: String`, `name: String`,
/// `branches: Vec<(String, String)>` and `tags: Vec<Tag>` (`Tag` with `name` and `sha`).
macro_rules! impl_repository {
    ($repo:ty) => {
        impl $crate::helpers::emu_common::Repository for $repo {
            fn owner(&self) -> &str {
                &self.owner
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn branches(&self) -> &[(String, String)] {
                &self.branches
            }
            fn tags(&self) -> impl Iterator<Item = (&str, &str)> {
                self.tags.iter().map(|t| (t.name.as_str(), t.sha.as_str()))
            }
        }
    };
}
pub(crate) use impl_repository;

/// The repository `owner`/`name`.
pub fn repo_index<R: Repository>(repos: &[R], owner: &str, name: &str) -> Option<usize> {
    repos
        .iter()
        .position(|r| r.owner().eq_ignore_ascii_case(owner) && r.name().eq_ignore_ascii_case(name))
}

/// The repository a test named as `owner/name`; panics when the test never added it.
pub fn added_repo<R: Repository>(repos: &[R], owner_repo: &str) -> usize {
    let (o, n) = owner_repo.split_once('/').unwrap_or((owner_repo, ""));
    repo_index(repos, o, n).unwrap_or_else(|| panic!("emulator: no repo {owner_repo}"))
}

/// Splits a test's `owner/name` for a new repository; panics when it is not of that form or the
/// repository exists.
pub fn new_repo_name<R: Repository>(repos: &[R], owner_repo: &str) -> (String, String) {
    let (owner, name) = owner_repo
        .split_once('/')
        .unwrap_or_else(|| panic!("emulator: repo must be owner/name, got {owner_repo}"));
    assert!(
        repo_index(repos, owner, name).is_none(),
        "emulator: repo {owner_repo} exists"
    );
    (owner.to_string(), name.to_string())
}

/// git's check-ref-format rules for a new tag name (as GitLab and Tencent Git apply them).
pub fn git_tag_name_ok(name: &str) -> bool {
    if name.is_empty() || name == "HEAD" || name == "@" || name.starts_with('-') {
        return false;
    }
    if name.starts_with('/') || name.ends_with('/') || name.ends_with('.') {
        return false;
    }
    if name.contains("..") || name.contains("//") || name.contains("@{") {
        return false;
    }
    if name.chars().any(|c| {
        c.is_ascii_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    }) {
        return false;
    }
    name.split('/')
        .all(|c| !c.starts_with('.') && !c.ends_with(".lock"))
}

// ---------------------------------------------------------------------------------------------
// Pagination

/// One page of a list, offset-paginated: the forges differ in their parameters and headers, not
/// in this arithmetic.
pub struct Page {
    /// The items on this page.
    pub items: Vec<Value>,
    /// 1-based.
    pub page: usize,
    /// All items, on all pages.
    pub total: usize,
    /// At least 1, also for an empty list.
    pub total_pages: usize,
}

impl Page {
    /// Page `page` (1-based) of `items` at `per_page` (at least 1) a page; past the end it is
    /// empty.
    pub fn of(items: Vec<Value>, page: usize, per_page: usize) -> Page {
        let total = items.len();
        let items = items
            .into_iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .collect();
        Page {
            items,
            page,
            total,
            total_pages: total.div_ceil(per_page).max(1),
        }
    }

    pub fn next(&self) -> Option<usize> {
        (self.page < self.total_pages).then_some(self.page + 1)
    }

    pub fn prev(&self) -> Option<usize> {
        (self.page > 1).then_some(self.page - 1)
    }

    /// 200 with the page's items as a JSON array.
    pub fn json(&self) -> Resp {
        Resp::json(200, &json!(self.items))
    }
}

/// A page number for an `X-Next-Page` style header: empty when there is none.
pub fn page_header(n: Option<usize>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// One entry of a `Link` header: `<{url}?{query}>; rel="{rel}"`, each query key and value
/// percent-encoded.
pub fn link(url: &str, query: &[(String, String)], rel: &str) -> String {
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    format!("<{url}?{}>; rel=\"{rel}\"", q.join("&"))
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

/// Binds `127.0.0.1:0`; returns the listener and the base URL (`http://127.0.0.1:PORT`).
fn bind() -> (std::net::TcpListener, String) {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let port = std_listener.local_addr().expect("local addr").port();
    (std_listener, format!("http://127.0.0.1:{port}"))
}

/// Serves every request on `std_listener` with `handler` on a thread (`{name}-{port}`) with its
/// own two-worker tokio runtime, until the handle is dropped.
fn serve<H, F>(
    name: &str,
    std_listener: std::net::TcpListener,
    connections: Arc<AtomicUsize>,
    handler: H,
) -> ServerHandle
where
    H: Fn(Conn, axum::extract::Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = axum::response::Response> + Send + 'static,
{
    let port = std_listener.local_addr().expect("local addr").port();
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
                    KillListener(listener, connections),
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
    ServerHandle {
        shutdown: Some(tx),
        thread: Some(thread),
    }
}

/// Reads the whole request body; `Err` with what arrived when the client broke off. `expected`
/// (the `Content-Length`, up to 64 MiB) is reserved up front, so a large upload is not copied
/// again each time the buffer grows.
pub async fn read_body(body: Body, expected: usize) -> Result<Vec<u8>, Vec<u8>> {
    let mut content = Vec::with_capacity(expected.min(64 << 20));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => content.extend_from_slice(&c),
            Err(_) => return Err(content),
        }
    }
    Ok(content)
}

/// Takes a request in as every emulator does: picks its fault (before anything is read), reads
/// the body (`Err` with what arrived when the client broke off), then waits the latency.
pub async fn receive<S, F: RandomFault>(
    shared: &Shared<S, F>,
    req: axum::extract::Request,
) -> (Head, Option<F>, Result<Vec<u8>, Vec<u8>>) {
    let head = Head::of(&req);
    let (fault, latency) = {
        let mut g = shared.lock();
        (g.faults.pick(&head.method, &head.path), g.latency)
    };
    let expected = header(&head.headers, "content-length")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let body = read_body(req.into_body(), expected).await;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    (head, fault, body)
}

// ---------------------------------------------------------------------------------------------
// The emulator

/// What an emulator keeps behind its one lock.
pub struct Inner<S, F> {
    /// The forge's own state.
    pub state: S,
    pub requests: Vec<Request>,
    pub faults: FaultRules<F>,
    /// Whether 4xx error bodies show the token that was sent.
    pub echo_token: bool,
    /// Delay before each request is handled (after its body was read).
    pub latency: Duration,
}

impl<S, F> Inner<S, F> {
    /// Logs a request answered with `status` (0: dropped without a response).
    pub fn record(&mut self, head: &Head, status: u16, body: &[u8]) {
        self.requests.push(head.log_entry(status, body));
    }
}

/// The state a server thread's handler shares with the test.
pub struct Shared<S, F> {
    inner: Mutex<Inner<S, F>>,
    request_ids: AtomicU64,
    /// TCP connections accepted so far.
    connections: Arc<AtomicUsize>,
}

impl<S, F> Shared<S, F> {
    pub fn lock(&self) -> MutexGuard<'_, Inner<S, F>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// 1, 2, 3, ... in the order requests arrive.
    pub fn next_request_id(&self) -> u64 {
        self.request_ids.fetch_add(1, Ordering::SeqCst)
    }
}

/// A running emulator: its server thread (stopped on drop) and its shared state. Each forge's
/// emulator type is one of these (`GitlabEmulator = Emulator<gitlab::State, gitlab::Fault>`) with
/// the forge's own methods in an `impl` of its own; the request accounting and the fault API
/// below are the same for all.
pub struct Emulator<S, F> {
    shared: Arc<Shared<S, F>>,
    url: String,
    /// Stops the server thread on drop.
    _server: ServerHandle,
}

impl<S: Send + 'static, F: RandomFault> Emulator<S, F> {
    /// Binds `127.0.0.1:0`, makes the state from the base URL and serves every request with
    /// `handler` on a thread named `{name}-{port}`.
    pub(in crate::helpers) fn spawn<H, Fut>(
        name: &str,
        state: impl FnOnce(String) -> S,
        handler: H,
    ) -> Self
    where
        H: Fn(Arc<Shared<S, F>>, Conn, axum::extract::Request) -> Fut
            + Clone
            + Send
            + Sync
            + 'static,
        Fut: Future<Output = axum::response::Response> + Send + 'static,
    {
        let (listener, url) = bind();
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                state: state(url.clone()),
                requests: Vec::new(),
                faults: FaultRules::new(),
                echo_token: false,
                latency: Duration::ZERO,
            }),
            request_ids: AtomicU64::new(1),
            connections: Arc::new(AtomicUsize::new(0)),
        });
        let s = shared.clone();
        let server = serve(
            name,
            listener,
            shared.connections.clone(),
            move |conn, req| handler(s.clone(), conn, req),
        );
        Emulator {
            shared,
            url,
            _server: server,
        }
    }
}

impl<S, F: RandomFault> Emulator<S, F> {
    /// The web root, e.g. `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub(in crate::helpers) fn lock(&self) -> MutexGuard<'_, Inner<S, F>> {
        self.shared.lock()
    }

    /// When on, 4xx error bodies include the token that was sent.
    pub fn echo_token_in_errors(&self, on: bool) {
        self.lock().echo_token = on;
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Delay before each request is handled (after its body was read), to widen race windows.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    // -----------------------------------------------------------------------------------------
    // Request accounting

    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// Requests other than GET and HEAD (faulted ones included).
    pub fn write_count(&self) -> usize {
        self.lock().requests.iter().filter(|r| r.is_write()).count()
    }

    pub fn reset_requests(&self) {
        self.lock().requests.clear();
    }

    // -----------------------------------------------------------------------------------------
    // Fault injection

    /// From now on each request fails with probability `rate`, drawn from a generator seeded with
    /// `seed` (the same sequence of requests gets the same faults). A failing request gets one of
    /// the forge's [`RandomFault::CHOICES`] or, for writes only, "applied but answers 502".
    pub fn inject_faults(&self, rate: f64, seed: u64) {
        self.lock().faults.set_random(rate, seed);
    }

    /// The next `count` requests get `fault` (scripted faults come before random ones).
    pub fn fail_next(&self, fault: F, count: usize) {
        self.lock().faults.push(fault, count, None, None);
    }

    /// The next `count` requests with this method whose raw path contains `path_contains` get
    /// `fault`, e.g. `fail_next_on("POST", "/releases", Fault::AppliedThen502, 1)`.
    pub fn fail_next_on(&self, method: &str, path_contains: &str, fault: F, count: usize) {
        self.lock()
            .faults
            .push(fault, count, Some(method), Some(path_contains));
    }

    /// Stops random and scripted faults.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }
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

/// The listener, counting the connections it accepts.
struct KillListener(tokio::net::TcpListener, Arc<AtomicUsize>);

impl Listener for KillListener {
    type Io = KillIo;
    type Addr = Conn;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    self.1.fetch_add(1, Ordering::SeqCst);
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

// ---------------------------------------------------------------------------------------------
// TLS: a private CA and a TLS front for any emulator

/// A private certificate authority made for one test, and a server certificate it signed for
/// `localhost` and `127.0.0.1` (ECDSA P-256, from rcgen with ring).
pub struct TestCa {
    /// The CA certificate (PEM): what a client has to be told to trust.
    pub ca_pem: String,
    /// The server certificate (PEM), signed by the CA.
    pub cert_pem: String,
    /// The server certificate's private key (PEM, PKCS#8).
    pub key_pem: String,
}

impl TestCa {
    /// A new CA named `name` (its subject's common name) and a server certificate it signed.
    pub fn new(name: &str) -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, name);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_pem = ca.self_signed(&ca_key).expect("self-sign the CA").pem();
        let issuer = Issuer::new(ca, ca_key);

        let mut leaf =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("server params");
        leaf.distinguished_name
            .push(DnType::CommonName, "relsync test server");
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("server key");
        let cert_pem = leaf
            .signed_by(&key, &issuer)
            .expect("sign the server certificate")
            .pem();
        TestCa {
            ca_pem,
            cert_pem,
            key_pem: key.serialize_pem(),
        }
    }
}

/// What a [`TlsFront`] saw of its connections.
#[derive(Default)]
struct TlsLog {
    handshakes: std::sync::atomic::AtomicUsize,
    /// Each failed handshake's error, e.g. `received fatal alert: UnknownCA`.
    failed: Mutex<Vec<String>>,
}

/// A TLS front for an emulator, as the nginx in front of a self-managed forge: it accepts TLS
/// on `127.0.0.1:0` with the certificate it was given (HTTP/1.1, no ALPN) and relays each
/// connection, decrypted, to the emulator's plain port, so the emulator answers, logs and
/// faults every request as usual. It counts handshakes (and keeps why failed ones failed), and
/// stops (its thread joined) on drop. The emulator's own URLs in its answers stay `http://`.
pub struct TlsFront {
    port: u16,
    log: Arc<TlsLog>,
    _server: ServerHandle,
}

impl TlsFront {
    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// `https://localhost:PORT` (the certificate names both).
    pub fn localhost_url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// `127.0.0.1:PORT`, as a `CONNECT` request names it.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Completed TLS handshakes (one per connection a client kept).
    pub fn handshakes(&self) -> usize {
        self.log.handshakes.load(Ordering::SeqCst)
    }

    /// Why each failed handshake failed, in order.
    pub fn failed_handshakes(&self) -> Vec<String> {
        self.log
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl<S, F: RandomFault> Emulator<S, F> {
    /// Starts a [`TlsFront`] for this emulator with this certificate chain and key (PEM; e.g.
    /// [`TestCa::cert_pem`] and [`TestCa::key_pem`]); the emulator stops serving TLS when the
    /// front is dropped.
    pub fn serve_tls(&self, cert_pem: &str, key_pem: &str) -> TlsFront {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};

        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("certificate PEM");
        assert!(!certs.is_empty(), "no certificate in the PEM");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("private key PEM");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate and key");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let backend = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .expect("emulator port");
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("local addr").port();
        let log = Arc::new(TlsLog::default());
        let server = serve_tls_front(port, std_listener, acceptor, backend, log.clone());
        TlsFront {
            port,
            log,
            _server: server,
        }
    }
}

/// The front's thread (`tls-front-{port}`, its own runtime): each accepted connection is
/// handshaken (10 s at most) and relayed to `127.0.0.1:{backend}` in a task of its own.
fn serve_tls_front(
    port: u16,
    std_listener: std::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    backend: u16,
    log: Arc<TlsLog>,
) -> ServerHandle {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("tls-front-{port}"))
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let _ = ready_tx.send(());
                let accept_loop = async {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            continue;
                        };
                        let _ = tcp.set_nodelay(true);
                        let (acceptor, log) = (acceptor.clone(), log.clone());
                        tokio::spawn(async move {
                            let handshake =
                                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                                    .await;
                            let mut tls = match handshake {
                                Ok(Ok(tls)) => tls,
                                Ok(Err(e)) => {
                                    log.failed
                                        .lock()
                                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                                        .push(e.to_string());
                                    return;
                                }
                                Err(_) => {
                                    log.failed
                                        .lock()
                                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                                        .push("handshake timed out".into());
                                    return;
                                }
                            };
                            log.handshakes.fetch_add(1, Ordering::SeqCst);
                            let Ok(mut plain) =
                                tokio::net::TcpStream::connect(("127.0.0.1", backend)).await
                            else {
                                return;
                            };
                            let _ = plain.set_nodelay(true);
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
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
        .expect("spawn TLS front thread");
    let _ = ready_rx.recv_timeout(Duration::from_secs(10));
    ServerHandle {
        shutdown: Some(tx),
        thread: Some(thread),
    }
}
