//! A stateful Gitea / Forgejo `/api/v1` emulator (releases, release attachments, tags) for the
//! integration tests.
//!
//! It follows the Gitea and Forgejo router code as `/work/shared/research/forge-apis.md` §4
//! summarises it:
//! - one release per tag: a second create answers 409 `{"message":"Release is has no Tag"}`
//!   (Gitea's real text); a draft creates no git tag, publishing creates it at
//!   `target_commitish`; `GET /releases/tags/{tag}` also finds drafts (tokens here have write
//!   access, which newer versions require for that);
//! - `PATCH` ignores empty strings (a name or body cannot be cleared) and answers 200;
//! - attachments: multipart field `attachment` (or a raw body with `?name=`), names are NOT
//!   unique; editing one answers 201; Forgejo (see [`GiteaEmulator::set_forgejo`]) also takes an
//!   `external_url` form field and answers with `type: "external"` link attachments;
//! - pagination with `page` / `limit` (default 30, at most 50), `X-Total-Count` and `Link`;
//! - errors `{"message","url"}`; 401 "invalid username, password or token" for a bad token; a
//!   request without a token sees no (private) repository: 404.
//!
//! Like the GitLab emulator it runs axum on its own thread and runtime on `127.0.0.1:0`, routes on
//! the raw path, logs every request and injects seeded or scripted faults.

#![allow(dead_code)]

mod api;
mod model;
mod multipart;
mod server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use self::model::State;
use self::server::{Inner, Shared};
use super::emu_common::{ServerHandle, spawn_server};

pub use super::emu_common::Request;

/// A scripted failure for [`GiteaEmulator::fail_next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status before applying anything (500: Gitea's JSON body with an empty
    /// message, as production hides it; 502, 503: a proxy's HTML page; others: `{"message"}`).
    Status(u16),
    /// 429 from a reverse proxy, with `Retry-After` (Gitea has no rate limit of its own).
    RateLimit { retry_after_secs: u64 },
    /// Close the connection without any response; nothing is applied.
    Drop,
    /// Apply the request, then answer 502 (the client cannot know it succeeded).
    AppliedThen502,
    /// Apply the request, then close the connection without any response.
    AppliedThenDrop,
}

/// One stored release attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub id: u64,
    pub uuid: String,
    pub name: String,
    pub size: u64,
    /// Empty for external (link) attachments.
    pub content: Vec<u8>,
    /// Forgejo link attachments only.
    pub external_url: Option<String>,
}

/// The emulator. See the module documentation.
pub struct GiteaEmulator {
    shared: Arc<Shared>,
    root: String,
    _server: ServerHandle,
}

impl GiteaEmulator {
    /// Starts the server on `127.0.0.1:0` (as Gitea; see [`GiteaEmulator::set_forgejo`]).
    pub fn start() -> Self {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::new()),
        });
        let s = shared.clone();
        let (root, handle) = spawn_server("gitea-emulator", move |conn, req| {
            let s = s.clone();
            async move { server::handle(s, conn, req).await }
        });
        shared.lock().state = State::new(root.clone());
        GiteaEmulator {
            shared,
            root,
            _server: handle,
        }
    }

    /// The web root (`GITHUB_SERVER_URL` in Gitea Actions), e.g. `http://127.0.0.1:PORT`; the
    /// API is under `/api/v1`.
    pub fn url(&self) -> String {
        self.root.clone()
    }

    /// `url()` + `/api/v1` (`GITHUB_API_URL` in Gitea Actions).
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.root)
    }

    /// Behave as Forgejo: `/api/v1/version` says so, `/api/forgejo/v1/version` exists, attachments
    /// carry `type`, `POST .../assets` takes `external_url`, and its error texts are Forgejo's.
    pub fn set_forgejo(&self, on: bool) {
        self.shared.lock().state.forgejo = on;
    }

    /// Adds a private repository (`owner/repo`) with a default branch `main` at a fixed commit.
    pub fn add_repo(&self, owner_repo: &str) {
        self.shared.lock().state.add_repo(owner_repo);
    }

    /// Adds a lightweight tag (replacing one of the same name).
    pub fn add_tag(&self, owner_repo: &str, name: &str, sha: &str) {
        let mut g = self.shared.lock();
        g.state.add_tag(owner_repo, name, sha, None);
    }

    /// Adds a branch (so that `target_commitish: <branch>` resolves).
    pub fn add_branch(&self, owner_repo: &str, name: &str, sha: &str) {
        let mut g = self.shared.lock();
        let r = g.state.repo_mut(owner_repo);
        r.branches.retain(|(b, _)| b != name);
        r.branches.push((name.to_string(), sha.to_string()));
    }

    /// Accepts this token (`Authorization: token <t>`, `Bearer <t>`, or `?token=` /
    /// `?access_token=`) with write access.
    pub fn add_token(&self, token: &str) {
        self.shared.lock().state.tokens.push(token.to_string());
    }

    /// When on, 4xx error bodies include the token that was sent.
    pub fn echo_token_in_errors(&self, on: bool) {
        self.shared.lock().echo_token = on;
    }

    /// Delay before each request is handled (after its body was read), to widen race windows.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    // -----------------------------------------------------------------------------------------
    // State inspection

    /// The release for this tag (drafts included) as `GET /releases/tags/{tag}` answers it.
    pub fn release_by_tag(&self, owner_repo: &str, tag: &str) -> Option<Value> {
        let g = self.shared.lock();
        let r = g.state.repo(owner_repo);
        r.releases
            .iter()
            .find(|rel| rel.tag == tag)
            .map(|rel| g.state.release_json(r, rel))
    }

    /// All releases, drafts included, in the list order (newest first).
    pub fn releases(&self, owner_repo: &str) -> Vec<Value> {
        let g = self.shared.lock();
        let r = g.state.repo(owner_repo);
        g.state
            .sorted_releases(r)
            .into_iter()
            .map(|rel| g.state.release_json(r, rel))
            .collect()
    }

    /// The attachments of the release for this tag, in upload order; empty without a release.
    pub fn attachments(&self, owner_repo: &str, tag: &str) -> Vec<AttachmentInfo> {
        let g = self.shared.lock();
        g.state
            .repo(owner_repo)
            .releases
            .iter()
            .find(|rel| rel.tag == tag)
            .map(|rel| {
                rel.attachments
                    .iter()
                    .map(model::Attachment::info)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Tag names, in creation order.
    pub fn tags(&self, owner_repo: &str) -> Vec<String> {
        let g = self.shared.lock();
        g.state
            .repo(owner_repo)
            .tags
            .iter()
            .map(|t| t.name.clone())
            .collect()
    }

    /// The commit a tag points at.
    pub fn tag_sha(&self, owner_repo: &str, tag: &str) -> Option<String> {
        let g = self.shared.lock();
        g.state
            .repo(owner_repo)
            .tags
            .iter()
            .find(|t| t.name == tag)
            .map(|t| t.sha.clone())
    }

    // -----------------------------------------------------------------------------------------
    // Mutation as a human would do it in the UI

    /// Replaces the body of the release for this tag. Panics when there is no such release.
    pub fn set_release_body(&self, owner_repo: &str, tag: &str, body: &str) {
        let mut g = self.shared.lock();
        let rel = g
            .state
            .repo_mut(owner_repo)
            .releases
            .iter_mut()
            .find(|r| r.tag == tag)
            .unwrap_or_else(|| panic!("emulator: no release {tag}"));
        rel.note = body.to_string();
    }

    /// Attaches a file to the release for this tag; returns the attachment id. Panics when there
    /// is no such release.
    pub fn add_attachment_by_hand(
        &self,
        owner_repo: &str,
        tag: &str,
        name: &str,
        content: &[u8],
    ) -> u64 {
        self.shared
            .lock()
            .state
            .attach_by_hand(owner_repo, tag, name, content)
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
        self.shared.lock().set_random(rate, seed);
    }

    /// The next `count` requests get `fault` (scripted faults come before random ones).
    pub fn fail_next(&self, fault: Fault, count: usize) {
        self.shared.lock().push_rule(fault, count, None, None);
    }

    /// The next `count` requests with this method whose raw path contains `path_contains` get
    /// `fault`, e.g. `fail_next_on("POST", "/assets", Fault::AppliedThen502, 1)`.
    pub fn fail_next_on(&self, method: &str, path_contains: &str, fault: Fault, count: usize) {
        self.shared
            .lock()
            .push_rule(fault, count, Some(method), Some(path_contains));
    }

    /// Stops random and scripted faults.
    pub fn clear_faults(&self) {
        self.shared.lock().clear_faults();
    }
}
