//! A stateful Gitea / Forgejo `/api/v1` emulator (releases, release attachments, tags) for the
//! integration tests.
//!
//! It follows the Gitea and Forgejo router code (`routers/api/v1/repo/release*.go`), as that code
//! and <https://gitea.com/api/swagger> define it:
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

use serde_json::Value;

use self::model::State;
use super::emu_common::{Emulator, RandomFault};

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

impl RandomFault for Fault {
    /// 500, 502 or 503 before anything is applied, 429 with `Retry-After: 0` or a dropped
    /// connection.
    const CHOICES: &'static [Fault] = &[
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::RateLimit {
            retry_after_secs: 0,
        },
        Fault::Drop,
    ];
    const APPLIED_THEN_502: Fault = Fault::AppliedThen502;
}

/// The emulator. See the module documentation; request accounting and fault injection
/// ([`Emulator::requests`], [`Emulator::fail_next`], ...) are common to all emulators, and
/// [`Emulator::url`] is the web root (`GITHUB_SERVER_URL` in Gitea Actions).
pub type GiteaEmulator = Emulator<State, Fault>;

impl GiteaEmulator {
    /// Starts the server on `127.0.0.1:0` (as Gitea; see [`GiteaEmulator::set_forgejo`]).
    pub fn start() -> Self {
        Emulator::spawn("gitea-emulator", State::new, server::handle)
    }

    /// `url()` + `/api/v1` (`GITHUB_API_URL` in Gitea Actions).
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.url())
    }

    /// Behave as Forgejo: `/api/v1/version` says so, `/api/forgejo/v1/version` exists, attachments
    /// carry `type`, `POST .../assets` takes `external_url`, and its error texts are Forgejo's.
    pub fn set_forgejo(&self, on: bool) {
        self.lock().state.forgejo = on;
    }

    /// The longest release note in bytes (default 65,535, MySQL's `TEXT`); `None` for a
    /// database without a limit (PostgreSQL, SQLite). Longer notes get a 500.
    pub fn set_note_max_bytes(&self, max: Option<usize>) {
        self.lock().state.note_max_bytes = max;
    }

    /// The version the server reports (`/api/v1/version`, and `/api/forgejo/v1/version` on
    /// Forgejo); default a current Gitea (`1.24.6`) or Forgejo (`11.0.1+gitea-1.22.0`). It
    /// decides, as on the real servers:
    /// - Forgejo external (link) attachments: from Forgejo 7.0 (`1.21.11-1` or `6.0.0` have
    ///   none, and `POST .../assets` without a file fails there as on Gitea);
    /// - `tag_message` on release create: read from Gitea 1.23 (go-gitea/gitea PR #31840;
    ///   Forgejo by its `+gitea-` version), ignored before (a lightweight tag).
    pub fn set_version(&self, version: &str) {
        self.lock().state.version = Some(version.to_string());
    }

    /// Adds a private repository (`owner/repo`) with a default branch `main` at a fixed commit.
    pub fn add_repo(&self, owner_repo: &str) {
        self.lock().state.add_repo(owner_repo);
    }

    /// Adds a lightweight tag (replacing one of the same name).
    pub fn add_tag(&self, owner_repo: &str, name: &str, sha: &str) {
        let mut g = self.lock();
        g.state.add_tag(owner_repo, name, sha, None);
    }

    /// Adds a branch (so that `target_commitish: <branch>` resolves).
    pub fn add_branch(&self, owner_repo: &str, name: &str, sha: &str) {
        let mut g = self.lock();
        let r = g.state.repo_mut(owner_repo);
        r.branches.retain(|(b, _)| b != name);
        r.branches.push((name.to_string(), sha.to_string()));
    }

    /// Accepts this token (`Authorization: token <t>`, `Bearer <t>`, or `?token=` /
    /// `?access_token=`) with write access.
    pub fn add_token(&self, token: &str) {
        self.lock().state.tokens.push(token.to_string());
    }

    /// Adds `count` published releases of an older history (tags `v0.0.<n>`, a day old), as a
    /// mature repository has: they fill the first pages of `GET /releases`.
    pub fn add_old_releases(&self, owner_repo: &str, count: usize) {
        let mut g = self.lock();
        let start = chrono::Utc::now() - chrono::Duration::days(1);
        for n in 0..count {
            let tag = format!("v0.0.{n}");
            g.state.add_tag(owner_repo, &tag, model::MAIN_SHA, None);
            let id = g.state.release_ids.next();
            g.state.repo_mut(owner_repo).releases.push(model::Release {
                id,
                tag: tag.clone(),
                target: "main".into(),
                title: tag,
                note: String::new(),
                draft: false,
                prerelease: false,
                created_at: start + chrono::Duration::seconds(n as i64),
                attachments: Vec::new(),
            });
        }
    }

    // -----------------------------------------------------------------------------------------
    // State inspection

    /// The release for this tag (drafts included) as `GET /releases/tags/{tag}` answers it.
    pub fn release_by_tag(&self, owner_repo: &str, tag: &str) -> Option<Value> {
        let g = self.lock();
        let r = g.state.repo(owner_repo);
        r.releases
            .iter()
            .find(|rel| rel.tag == tag)
            .map(|rel| g.state.release_json(r, rel))
    }

    /// All releases, drafts included, in the list order (newest first).
    pub fn releases(&self, owner_repo: &str) -> Vec<Value> {
        let g = self.lock();
        let r = g.state.repo(owner_repo);
        g.state
            .sorted_releases(r)
            .into_iter()
            .map(|rel| g.state.release_json(r, rel))
            .collect()
    }

    /// The attachments of the release for this tag, in upload order; empty without a release.
    pub fn attachments(&self, owner_repo: &str, tag: &str) -> Vec<AttachmentInfo> {
        let g = self.lock();
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
        let g = self.lock();
        g.state
            .repo(owner_repo)
            .tags
            .iter()
            .map(|t| t.name.clone())
            .collect()
    }

    /// The message of an annotated tag; `None` for a lightweight or missing tag.
    pub fn tag_message(&self, owner_repo: &str, tag: &str) -> Option<String> {
        let g = self.lock();
        g.state
            .repo(owner_repo)
            .tags
            .iter()
            .find(|t| t.name == tag)
            .and_then(|t| t.message.clone())
    }

    /// The commit a tag points at.
    pub fn tag_sha(&self, owner_repo: &str, tag: &str) -> Option<String> {
        let g = self.lock();
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
        let mut g = self.lock();
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
        self.lock()
            .state
            .attach_by_hand(owner_repo, tag, name, content)
    }
}
