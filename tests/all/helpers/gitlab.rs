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
mod server;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use self::model::State;
use self::server::{Inner, Rng, Rule, Shared};

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
        let thread = server::spawn(shared.clone(), std_listener, rx);
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
            branches: vec![(
                "main".into(),
                "1111111111111111111111111111111111111111".into(),
            )],
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
        self.shared
            .lock()
            .model
            .private_tokens
            .push(token.to_string());
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
        g.model
            .project(project)
            .tags
            .iter()
            .map(|t| t.name.clone())
            .collect()
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
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.is_write())
            .count()
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

    fn push_rule(
        &self,
        fault: Fault,
        count: usize,
        method: Option<String>,
        path_contains: Option<String>,
    ) {
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
