//! A stateful GitLab REST v4 emulator for the integration tests.
//!
//! It keeps projects, tags, releases, release links, milestones and generic packages in memory and
//! answers the Releases, Release Links, Tags, Projects and Packages APIs with GitLab's status codes,
//! error body shapes, validation rules, pagination headers and job-token restrictions, as
//! `/work/shared/research/gitlab-server-behaviour.md` and the API docs describe them. Because it is
//! stateful, a test can run the client twice and prove that the second run changes nothing.
//!
//! It runs axum on its own thread with its own tokio runtime, bound to `127.0.0.1:0`, and stops on
//! drop, so plain `#[test]` functions can use it. Routing is done on the raw request path, segment
//! by segment, so `%2F` inside a segment (project paths, tags with `/`) differs from a raw `/`.
//!
//! Faults: [`GitlabEmulator::inject_faults`] (seeded, random) and [`GitlabEmulator::fail_next`]
//! (scripted) make requests fail before they are applied (5xx, 429, dropped connection) or after
//! (`AppliedThen502`, `AppliedThenDrop`), to prove that the client converges.

#![allow(dead_code)]

mod api;
mod http;
mod model;

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
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use self::api::{Ctx, Upload};
use self::http::{Resp, body_params, form_pairs, rack_params};
use self::model::State;

/// A scripted failure for [`GitlabEmulator::fail_next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status before applying anything (500: GitLab's JSON body; 502, 503: a
    /// proxy's HTML page; others: `{"message": "<status>"}`).
    Status(u16),
    /// 429 with `Retry-After` and `RateLimit-*` headers (Rack::Attack's plain-text body).
    RateLimit { retry_after_secs: u64 },
    /// Close the connection without any response; nothing is applied.
    Drop,
    /// Apply the request, then answer 502 (the client cannot know it succeeded).
    AppliedThen502,
    /// Apply the request, then close the connection without any response.
    AppliedThenDrop,
}

/// One request the emulator answered.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The raw path, still percent-encoded, e.g. `/api/v4/projects/group%2Fapp/releases/v1`.
    pub path: String,
    /// The raw query string without `?` (empty when there is none).
    pub query: String,
    /// The status sent; 0 when the connection was dropped without a response.
    pub status: u16,
    /// Request headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (lossy UTF-8); empty for generic package uploads.
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

/// One stored generic package file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFileInfo {
    pub package_id: u64,
    pub package_name: String,
    pub version: String,
    pub id: u64,
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    pub content: Vec<u8>,
}

struct Rule {
    fault: Fault,
    remaining: usize,
    method: Option<String>,
    path_contains: Option<String>,
}

/// splitmix64: small, seeded, deterministic.
struct Rng(u64);

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

struct Inner {
    model: State,
    requests: Vec<Request>,
    rules: Vec<Rule>,
    random: Option<(f64, Rng)>,
    echo_token: bool,
    latency: Duration,
}

struct Shared {
    inner: Mutex<Inner>,
    request_ids: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The emulator. See the module documentation.
pub struct GitlabEmulator {
    shared: Arc<Shared>,
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl GitlabEmulator {
    /// Starts the server on `127.0.0.1:0`.
    pub fn start() -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("local addr").port();
        let url = format!("http://127.0.0.1:{port}");
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                model: State::new(url.clone()),
                requests: Vec::new(),
                rules: Vec::new(),
                random: None,
                echo_token: false,
                latency: Duration::ZERO,
            }),
            request_ids: AtomicU64::new(1),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let s = shared.clone();
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
                        move |ConnectInfo(conn): ConnectInfo<ConnHandle>, req: axum::extract::Request| {
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
        GitlabEmulator {
            shared,
            url,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The web root, e.g. `http://127.0.0.1:PORT`; the API is under `/api/v4`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// `url()` + `/api/v4`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v4", self.url)
    }

    /// Adds a (private) project, reachable by id and by its URL-encoded full path. It has a
    /// default branch `main` at a fixed commit.
    pub fn add_project(&self, id: u64, path_with_namespace: &str) {
        let mut g = self.shared.lock();
        assert!(
            g.model.project_index(&id.to_string()).is_none(),
            "emulator: project {id} exists"
        );
        g.model.projects.push(model::Project {
            id,
            path: path_with_namespace.to_string(),
            default_branch: "main".into(),
            branches: vec![("main".into(), "1111111111111111111111111111111111111111".into())],
            tags: Vec::new(),
            releases: Vec::new(),
            milestones: Vec::new(),
            packages: Vec::new(),
        });
    }

    /// Adds a lightweight tag (replacing one of the same name).
    pub fn add_tag(&self, project: u64, name: &str, sha: &str) {
        let mut g = self.shared.lock();
        let p = g.model.project_mut(project);
        p.tags.retain(|t| t.name != name);
        p.tags.push(model::Tag {
            name: name.to_string(),
            sha: sha.to_string(),
            message: None,
            target: sha.to_string(),
            created_at: chrono::Utc::now(),
        });
    }

    /// Adds a branch (so that `ref: <branch>` resolves).
    pub fn add_branch(&self, project: u64, name: &str, sha: &str) {
        let mut g = self.shared.lock();
        let p = g.model.project_mut(project);
        p.branches.retain(|(b, _)| b != name);
        p.branches.push((name.to_string(), sha.to_string()));
    }

    /// Adds a project milestone (releases may only reference existing milestones); returns its id.
    pub fn add_milestone(&self, project: u64, title: &str) -> u64 {
        api::add_milestone(&mut self.shared.lock().model, project, title)
    }

    /// Accepts this token as `PRIVATE-TOKEN`, `Authorization: Bearer` or `private_token`.
    pub fn add_private_token(&self, token: &str) {
        self.shared.lock().model.private_tokens.push(token.to_string());
    }

    /// Accepts this token as `JOB-TOKEN` (or Bearer/Basic/`job_token`) on the routes GitLab allows
    /// job tokens on: releases, release links, packages and the tag list.
    pub fn add_job_token(&self, token: &str) {
        self.shared.lock().model.job_tokens.push(token.to_string());
    }

    /// When on, 4xx error bodies include the token that was sent.
    pub fn echo_token_in_errors(&self, on: bool) {
        self.shared.lock().echo_token = on;
    }

    /// The generic package size limit (default 5 GiB); larger uploads get 400 "File is too large".
    pub fn set_max_file_size(&self, bytes: u64) {
        self.shared.lock().model.max_file_size = bytes;
    }

    /// Delay before each request is handled (after its body was read), to widen race windows.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    // -----------------------------------------------------------------------------------------
    // State inspection

    /// The release as `GET /projects/:id/releases/:tag` answers it.
    pub fn release(&self, project: u64, tag: &str) -> Option<Value> {
        let g = self.shared.lock();
        let p = g.model.project(project);
        p.releases
            .iter()
            .find(|r| r.tag == tag)
            .map(|r| g.model.release_json(p, r, false))
    }

    /// All releases, in the list API's default order (`released_at` descending).
    pub fn releases(&self, project: u64) -> Vec<Value> {
        let g = self.shared.lock();
        let p = g.model.project(project);
        State::sorted_releases(p, "released_at", false)
            .into_iter()
            .map(|r| g.model.release_json(p, r, false))
            .collect()
    }

    /// The release's links in the API's order (`created_at` descending); empty without a release.
    pub fn links(&self, project: u64, tag: &str) -> Vec<Value> {
        let g = self.shared.lock();
        let p = g.model.project(project);
        p.releases
            .iter()
            .find(|r| r.tag == tag)
            .map(|r| {
                State::sorted_links(r)
                    .into_iter()
                    .map(|l| g.model.link_json(p, tag, l))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Tag names, in creation order.
    pub fn tags(&self, project: u64) -> Vec<String> {
        let g = self.shared.lock();
        g.model.project(project).tags.iter().map(|t| t.name.clone()).collect()
    }

    /// The tag as `GET /projects/:id/repository/tags/:tag` answers it.
    pub fn tag(&self, project: u64, name: &str) -> Option<Value> {
        let g = self.shared.lock();
        let p = g.model.project(project);
        p.tags
            .iter()
            .find(|t| t.name == name)
            .map(|t| g.model.tag_json(p, t))
    }

    /// Every stored generic package file, by package id then file id.
    pub fn package_files(&self, project: u64) -> Vec<PackageFileInfo> {
        let g = self.shared.lock();
        let mut out: Vec<PackageFileInfo> = g
            .model
            .project(project)
            .packages
            .iter()
            .flat_map(|k| {
                k.files.iter().map(move |f| PackageFileInfo {
                    package_id: k.id,
                    package_name: k.name.clone(),
                    version: k.version.clone(),
                    id: f.id,
                    file_name: f.file_name.clone(),
                    size: f.size,
                    sha256: f.sha256.clone(),
                    content: f.content.clone(),
                })
            })
            .collect();
        out.sort_by_key(|f| (f.package_id, f.id));
        out
    }

    // -----------------------------------------------------------------------------------------
    // Mutation as a human would do it in the UI

    /// Replaces the release's description. Panics when there is no such release.
    pub fn set_release_description(&self, project: u64, tag: &str, text: &str) {
        let mut g = self.shared.lock();
        let r = g
            .model
            .project_mut(project)
            .releases
            .iter_mut()
            .find(|r| r.tag == tag)
            .unwrap_or_else(|| panic!("emulator: no release {tag}"));
        r.description = Some(text.to_string());
    }

    /// Adds a link (`link_type` other, no direct asset path) to the release; returns its id.
    /// Panics when there is no such release or GitLab would refuse the link.
    pub fn add_link_by_hand(&self, project: u64, tag: &str, name: &str, url: &str) -> u64 {
        api::add_link_by_hand(&mut self.shared.lock().model, project, tag, name, url)
    }

    // -----------------------------------------------------------------------------------------
    // Request accounting

    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Requests other than GET and HEAD (faulted ones included).
    pub fn write_count(&self) -> usize {
        self.shared.lock().requests.iter().filter(|r| r.is_write()).count()
    }

    pub fn reset_requests(&self) {
        self.shared.lock().requests.clear();
    }

    // -----------------------------------------------------------------------------------------
    // Fault injection

    /// From now on each request fails with probability `rate`, drawn from a generator seeded with
    /// `seed` (the same sequence of requests gets the same faults). A failing request gets one of:
    /// 500, 502 or 503 before it is applied, 429 with `Retry-After: 0`, a dropped connection, or,
    /// for writes only, "applied but answers 502".
    pub fn inject_faults(&self, rate: f64, seed: u64) {
        self.shared.lock().random = Some((rate, Rng(seed)));
    }

    /// The next `count` requests get `fault` (scripted faults come before random ones).
    pub fn fail_next(&self, fault: Fault, count: usize) {
        self.push_rule(fault, count, None, None);
    }

    /// The next `count` requests with this method whose raw path contains `path_contains` get
    /// `fault`, e.g. `fail_next_on("POST", "/releases", Fault::AppliedThen502, 1)`.
    pub fn fail_next_on(&self, method: &str, path_contains: &str, fault: Fault, count: usize) {
        self.push_rule(
            fault,
            count,
            Some(method.to_ascii_uppercase()),
            Some(path_contains.to_string()),
        );
    }

    fn push_rule(&self, fault: Fault, count: usize, method: Option<String>, path_contains: Option<String>) {
        if count > 0 {
            self.shared.lock().rules.push(Rule {
                fault,
                remaining: count,
                method,
                path_contains,
            });
        }
    }

    /// Stops random and scripted faults.
    pub fn clear_faults(&self) {
        let mut g = self.shared.lock();
        g.rules.clear();
        g.random = None;
    }
}

impl Drop for GitlabEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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
    io::Error::new(io::ErrorKind::ConnectionReset, "emulator dropped the connection")
}

impl AsyncRead for KillIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
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
            Fault::RateLimit { retry_after_secs: 0 },
            Fault::Drop,
            Fault::AppliedThen502,
        ]
    } else {
        &[
            Fault::Status(500),
            Fault::Status(502),
            Fault::Status(503),
            Fault::RateLimit { retry_after_secs: 0 },
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

async fn handle(shared: Arc<Shared>, conn: ConnHandle, req: axum::extract::Request) -> axum::response::Response {
    let request_id = shared.request_ids.fetch_add(1, Ordering::SeqCst);
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
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
                    method: if method == "HEAD" { "GET".into() } else { method.clone() },
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
        if g.echo_token {
            if let Some(t) = cred.token() {
                http::echo_token(&mut resp, t);
            }
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
