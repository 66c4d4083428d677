//! A stateful Tencent Git (工蜂) REST v3 emulator for the integration tests.
//!
//! It keeps projects, tags, releases and release attachments in memory and answers the Releases
//! API of seed 004 (`/api/v3/projects/:id/releases[/:tag_name[/attachments[/:name]]]`) with the
//! status codes, error bodies and pagination headers of research/forge-apis.md §2. Where both
//! are silent the emulator follows GitLab v3 conventions; `api.rs` marks each such assumption.
//! Because it is stateful, a test can run the client twice and prove that the second run changes
//! nothing.
//!
//! What sets 工蜂 apart, and what the emulator insists on:
//! - `GET /releases/:tag_name` (and PUT) answer for a plain tag too, with `"type": "none"`; only
//!   `"type": "release"` means a release exists. An unknown tag is a 404.
//! - `POST /releases` creates the tag at `start_point` when it is missing, promotes a plain tag,
//!   and answers 409 for an existing release; `labels` are limited to 10.
//! - Attachments are addressed by name, and the server rewrites the name
//!   ([`sanitize_attachment_name`]); they are listed only inside the release JSON.
//! - Rate limiting comes as 429 or as 423 ([`Fault::Locked423`]).
//!
//! It runs axum on its own thread with its own tokio runtime, bound to `127.0.0.1:0`, and stops
//! on drop. Routing is done on the raw request path, segment by segment, so `%2F` inside a
//! segment (project paths, tags with `/`) differs from a raw `/`, as the API page asks
//! (`tencent/code` → `tencent%2Fcode`). Literal dots are what the known client sends (`PyTgit`,
//! `quote(v, safe="")`); whether the real gateway also decodes `%2E` is not known, so the
//! emulator decodes it and the tests assert from the request log that none is sent.

#![allow(dead_code)]

mod api;
mod model;
mod multipart;
mod server;

use serde_json::Value;

pub use self::model::{DuplicateAttachments, sanitize_attachment_name};
use self::model::{MASTER_SHA, State};
use super::emu_common::{Emulator, RandomFault};

/// A scripted failure for [`TgitEmulator::fail_next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status before applying anything (502, 503, 504: nginx's HTML page;
    /// others: `{"message": "<status> <reason>"}`).
    Status(u16),
    /// 429 `{"message": "429 Too Many Requests"}` with `Retry-After`.
    RateLimit { retry_after_secs: u64 },
    /// 423 `{"message": "423 Locked"}` without `Retry-After`: 工蜂's "account locked or API rate
    /// exceeded" answer.
    Locked423,
    /// Close the connection without any response; nothing is applied.
    Drop,
    /// Apply the request, then answer 502 (the client cannot know it succeeded).
    AppliedThen502,
    /// Apply the request, then close the connection without any response.
    AppliedThenDrop,
}

/// One stored attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// Internal id (not part of the API's JSON).
    pub id: u64,
    /// The name as stored, after sanitising: the key in download and delete URLs.
    pub name: String,
    /// The `type` field of the JSON.
    pub content_type: String,
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub content: Vec<u8>,
}

impl RandomFault for Fault {
    /// 500, 502 or 503 before anything is applied, 429 with `Retry-After: 0`, 423 or a dropped
    /// connection.
    const CHOICES: &'static [Fault] = &[
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::RateLimit {
            retry_after_secs: 0,
        },
        Fault::Locked423,
        Fault::Drop,
    ];
    const APPLIED_THEN_502: Fault = Fault::AppliedThen502;
}

/// The emulator. See the module documentation; request accounting and fault injection
/// ([`Emulator::requests`], [`Emulator::fail_next`], ...) are common to all emulators.
pub type TgitEmulator = Emulator<State, Fault>;

impl TgitEmulator {
    /// Starts the server on `127.0.0.1:0`.
    pub fn start() -> Self {
        Emulator::spawn("tgit-emulator", State::new, server::handle)
    }

    /// `url()` + `/api/v3`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v3", self.url())
    }

    /// Adds a project, reachable by id and by its URL-encoded full path (`group%2Fapp`). It has
    /// a branch `master` at a fixed commit.
    pub fn add_project(&self, id: u64, path_with_namespace: &str) {
        let mut g = self.lock();
        assert!(
            g.state.project_index(&id.to_string()).is_none(),
            "emulator: project {id} exists"
        );
        g.state.projects.push(model::Project {
            id,
            path: path_with_namespace.to_string(),
            branches: vec![("master".into(), MASTER_SHA.into())],
            tags: Vec::new(),
        });
    }

    /// Adds a lightweight plain tag (replacing one of the same name, release included).
    pub fn add_tag(&self, project: u64, name: &str, sha: &str) {
        let mut g = self.lock();
        let t = g.state.new_tag(name, sha, None);
        let p = g.state.project_mut(project);
        p.tags.retain(|t| t.name != name);
        p.tags.push(t);
    }

    /// Adds a branch (so that `start_point: <branch>` resolves).
    pub fn add_branch(&self, project: u64, name: &str, sha: &str) {
        let mut g = self.lock();
        let p = g.state.project_mut(project);
        p.branches.retain(|(b, _)| b != name);
        p.branches.push((name.to_string(), sha.to_string()));
    }

    /// Accepts this token as `PRIVATE-TOKEN` header or `private_token` / `access_token` query.
    pub fn add_private_token(&self, token: &str) {
        self.lock().state.private_tokens.push(token.to_string());
    }

    /// The attachment size limit (default 200 MiB); larger files get 413.
    pub fn set_max_attachment_size(&self, bytes: u64) {
        self.lock().state.max_attachment_size = bytes;
    }

    /// What an upload under an existing name does (default [`DuplicateAttachments::Reject`]).
    pub fn set_duplicate_attachments(&self, policy: DuplicateAttachments) {
        self.lock().state.duplicates = policy;
    }

    /// When on, release JSON carries `"labels": [...]`. Off by default: seed 004's samples have
    /// no `labels` field, so a client cannot count on reading labels back.
    pub fn set_labels_in_json(&self, on: bool) {
        self.lock().state.labels_in_json = on;
    }

    /// Off: `PUT /releases/:tag` answers 200 but ignores `title`, which seed 004 does not list
    /// for PUT (a plain tag promoted by PUT then keeps its name as the title).
    pub fn set_title_on_put(&self, on: bool) {
        self.lock().state.title_on_put = on;
    }

    // -----------------------------------------------------------------------------------------
    // State inspection

    /// The release as `GET /projects/:id/releases/:tag` answers it; `None` when the tag does
    /// not exist or is a plain tag (`"type": "none"`, see [`TgitEmulator::tag_entry`]).
    pub fn release(&self, project: u64, tag: &str) -> Option<Value> {
        self.tag_entry(project, tag)
            .filter(|v| v["type"] == "release")
    }

    /// What `GET /projects/:id/releases/:tag` answers for a release or a plain tag.
    pub fn tag_entry(&self, project: u64, tag: &str) -> Option<Value> {
        let g = self.lock();
        let p = g.state.project(project);
        p.tags
            .iter()
            .find(|t| t.name == tag)
            .map(|t| g.state.release_json(p, t))
    }

    /// All releases (`type: release`), in the list API's default order (newest commit first).
    pub fn releases(&self, project: u64) -> Vec<Value> {
        let g = self.lock();
        let p = g.state.project(project);
        State::sorted_tags(p, "created_at", false)
            .into_iter()
            .filter(|t| t.is_release)
            .map(|t| g.state.release_json(p, t))
            .collect()
    }

    /// Tag names, in creation order.
    pub fn tags(&self, project: u64) -> Vec<String> {
        let g = self.lock();
        g.state
            .project(project)
            .tags
            .iter()
            .map(|t| t.name.clone())
            .collect()
    }

    /// The labels stored for the tag (whether or not the JSON shows them).
    pub fn labels(&self, project: u64, tag: &str) -> Vec<String> {
        let g = self.lock();
        g.state
            .project(project)
            .tags
            .iter()
            .find(|t| t.name == tag)
            .map(|t| t.labels.clone())
            .unwrap_or_default()
    }

    /// The tag's attachments in upload order; empty for an unknown tag.
    pub fn attachments(&self, project: u64, tag: &str) -> Vec<AttachmentInfo> {
        let g = self.lock();
        g.state
            .project(project)
            .tags
            .iter()
            .find(|t| t.name == tag)
            .map(|t| {
                t.attachments
                    .iter()
                    .map(|a| AttachmentInfo {
                        id: a.id,
                        name: a.name.clone(),
                        content_type: a.content_type.clone(),
                        size: a.size,
                        sha256: a.sha256.clone(),
                        content: a.content.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    // -----------------------------------------------------------------------------------------
    // Mutation as a human would do it in the web UI (not requests, not counted)

    /// Replaces the release's description. Panics when there is no such release.
    pub fn set_release_description(&self, project: u64, tag: &str, text: &str) {
        let mut g = self.lock();
        let t = g
            .state
            .project_mut(project)
            .tags
            .iter_mut()
            .find(|t| t.name == tag && t.is_release)
            .unwrap_or_else(|| panic!("emulator: no release {tag}"));
        t.description = Some(text.to_string());
    }

    /// Attaches a file to the tag (sanitising the name, replacing one of the same name, no size
    /// limit); returns the stored name. Panics when there is no such tag.
    pub fn add_attachment_by_hand(
        &self,
        project: u64,
        tag: &str,
        name: &str,
        content: &[u8],
    ) -> String {
        api::add_attachment_by_hand(&mut self.lock().state, project, tag, name, content)
    }
}
