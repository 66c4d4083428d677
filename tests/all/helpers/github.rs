//! A stateful GitHub REST emulator (releases, release assets, tags) for the integration tests.
//!
//! One server plays both `api.github.com` and `uploads.github.com`: the API answers at the root
//! (or under `/api/v3` after [`GithubEmulator::set_enterprise`], as GitHub Enterprise Server does),
//! uploads go to the host that each release's `upload_url` template advertises
//! (`{root}/uploads/...`, or `{root}/api/uploads/...` on Enterprise). Asset downloads redirect to
//! `{root}/_objects/{id}`, like GitHub's signed object URLs.
//!
//! It follows GitHub's real semantics, as <https://docs.github.com/en/rest/releases> and the REST
//! OpenAPI description (`docs/reference/github-releases-openapi.json`) describe them:
//! - get-by-tag never returns drafts; several drafts may share one tag, but only one published
//!   release may (422 `already_exists`); drafts create no tag, publishing creates it at
//!   `target_commitish`; a draft's `html_url` points at an `untagged-…` placeholder;
//! - `make_latest` is a string (`"true"`, `"false"`, `"legacy"`); a boolean is a 422 schema error;
//! - asset names are unique per release (422 `already_exists`), special characters are renamed
//!   (runs become one `.`), uploads need `Content-Length` (`Bad Content-Length: ` otherwise), assets
//!   carry `state` and `digest` (`sha256:…`);
//! - immutable releases (see [`GithubEmulator::set_immutable_releases`]) refuse asset changes and
//!   tag changes once published, and burn their tag when deleted;
//! - rate-limit headers on every API answer, secondary rate limits on demand.
//!
//! Like the GitLab emulator it runs axum on its own thread and runtime on `127.0.0.1:0`, routes on
//! the raw path, logs every request and injects seeded or scripted faults.

#![allow(dead_code)]

mod api;
mod model;
mod server;

use serde_json::Value;

use self::model::State;
use super::emu_common::{Emulator, RandomFault};

/// A scripted failure for [`GithubEmulator::fail_next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status before applying anything (500, 503: GitHub's JSON body; 502: an
    /// HTML gateway page; others: `{"message": "<status>"}`).
    Status(u16),
    /// 429 with `Retry-After` and GitHub's secondary-rate-limit body.
    RateLimit { retry_after_secs: u64 },
    /// A secondary rate limit: `status` (403 or 429) with GitHub's body, and `retry-after` when
    /// given. `x-ratelimit-remaining` stays above 0, as it does on GitHub.
    SecondaryRateLimit {
        status: u16,
        retry_after_secs: Option<u64>,
    },
    /// The primary rate limit is used up: 403 "API rate limit exceeded", `x-ratelimit-remaining:
    /// 0` and `x-ratelimit-reset` this many seconds ahead, no `retry-after`.
    PrimaryRateLimit { reset_in_secs: u64 },
    /// Close the connection without any response; nothing is applied.
    Drop,
    /// Apply the request, then answer 502 (the client cannot know it succeeded).
    AppliedThen502,
    /// Apply the request, then close the connection without any response.
    AppliedThenDrop,
    /// On an asset upload: leave an empty asset in state `starter` under the name, then answer
    /// 502, as GitHub documents for upstream failures. Elsewhere the same as `Status(502)`.
    StarterThen502,
}

/// One stored release asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetInfo {
    pub id: u64,
    /// The name as GitHub stored it (after renaming special characters).
    pub name: String,
    pub label: Option<String>,
    pub size: u64,
    /// `uploaded`, `open` or `starter`.
    pub state: String,
    /// `sha256:<hex>`; `None` for assets that never finished uploading.
    pub digest: Option<String>,
    pub content_type: String,
    pub content: Vec<u8>,
}

impl RandomFault for Fault {
    /// 500, 502 or 503 before anything is applied, a 429 or 403 secondary rate limit with
    /// `retry-after: 0`, or a dropped connection.
    const CHOICES: &'static [Fault] = &[
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::RateLimit {
            retry_after_secs: 0,
        },
        Fault::SecondaryRateLimit {
            status: 403,
            retry_after_secs: Some(0),
        },
        Fault::Drop,
    ];
    const APPLIED_THEN_502: Fault = Fault::AppliedThen502;
}

/// The emulator. See the module documentation; request accounting and fault injection
/// ([`Emulator::requests`], [`Emulator::fail_next`], ...) are common to all emulators, and
/// [`Emulator::url`] is the web root (`GITHUB_SERVER_URL`).
pub type GithubEmulator = Emulator<State, Fault>;

impl GithubEmulator {
    /// Starts the server on `127.0.0.1:0`.
    pub fn start() -> Self {
        Emulator::spawn("github-emulator", State::new, server::handle)
    }

    /// The API root, as `GITHUB_API_URL` gives it: `http://127.0.0.1:PORT` (like
    /// `https://api.github.com`), or `http://127.0.0.1:PORT/api/v3` in Enterprise mode.
    pub fn api_url(&self) -> String {
        self.lock().state.api_root()
    }

    /// The upload host's root that `upload_url` templates use: `{url}/uploads`, or
    /// `{url}/api/uploads` in Enterprise mode.
    pub fn uploads_url(&self) -> String {
        self.lock().state.uploads_root()
    }

    /// Enterprise Server layout: the API only under `/api/v3`, uploads under `/api/uploads`.
    pub fn set_enterprise(&self, on: bool) {
        self.lock().state.enterprise = on;
    }

    /// Adds a private repository (`owner/repo`) with a default branch `main` at a fixed commit.
    pub fn add_repo(&self, owner_repo: &str) {
        self.lock().state.add_repo(owner_repo);
    }

    /// Adds a lightweight tag (replacing one of the same name).
    pub fn add_tag(&self, owner_repo: &str, name: &str, sha: &str) {
        let mut g = self.lock();
        let r = g.state.repo_mut(owner_repo);
        r.tags.retain(|t| t.name != name);
        r.tags.push(model::Tag {
            name: name.to_string(),
            sha: sha.to_string(),
        });
    }

    /// Adds a branch (so that `target_commitish: <branch>` resolves).
    pub fn add_branch(&self, owner_repo: &str, name: &str, sha: &str) {
        let mut g = self.lock();
        let r = g.state.repo_mut(owner_repo);
        r.branches.retain(|(b, _)| b != name);
        r.branches.push((name.to_string(), sha.to_string()));
    }

    /// Accepts this token (`Authorization: Bearer <t>` or `token <t>`) with push access.
    pub fn add_token(&self, token: &str) {
        self.lock().state.tokens.push(token.to_string());
    }

    /// Accepts this token with read access only (a `GITHUB_TOKEN` without `contents: write`):
    /// drafts are invisible to it and every write gets 403 "Resource not accessible by
    /// integration".
    pub fn add_read_only_token(&self, token: &str) {
        self.lock().state.read_only_tokens.push(token.to_string());
    }

    /// The repository setting "immutable releases": releases published while it is on become
    /// `immutable: true`; they then refuse asset uploads, asset edits and deletes, and changes of
    /// `tag_name`, `target_commitish` or back to draft (422), and a deleted immutable release
    /// burns its tag for good ("tag_name was used by an immutable release"). Turning it off does
    /// not unfreeze releases published before.
    pub fn set_immutable_releases(&self, on: bool) {
        self.lock().state.immutable_setting = on;
    }

    /// The longest release `body` GitHub accepts, in characters (default 125,000; `None`: no
    /// limit). A longer one is refused with 422 "body is too long (maximum is N characters)".
    pub fn set_body_limit(&self, limit: Option<usize>) {
        self.lock().state.body_limit = limit;
    }

    /// The next `count` requests get a secondary rate limit: 403 with `retry-after` and GitHub's
    /// body (`Fault::SecondaryRateLimit` gives the 429 variant).
    pub fn set_secondary_rate_limit(&self, count: usize, retry_after_secs: u64) {
        self.fail_next(
            Fault::SecondaryRateLimit {
                status: 403,
                retry_after_secs: Some(retry_after_secs),
            },
            count,
        );
    }

    /// Adds `count` published releases of an older history (tags `v0.0.<n>`, a day old), as a
    /// mature repository has: they fill the first pages of `GET /releases`.
    pub fn add_old_releases(&self, owner_repo: &str, count: usize) {
        let mut g = self.lock();
        let start = chrono::Utc::now() - chrono::Duration::days(1);
        for n in 0..count {
            let id = g.state.release_ids.next();
            let at = start + chrono::Duration::seconds(n as i64);
            let tag = format!("v0.0.{n}");
            let r = g.state.repo_mut(owner_repo);
            r.tags.push(model::Tag {
                name: tag.clone(),
                sha: model::MAIN_SHA.to_string(),
            });
            r.releases.push(model::Release {
                id,
                tag: tag.clone(),
                target: "main".into(),
                name: Some(tag),
                body: Some(String::new()),
                draft: false,
                prerelease: false,
                immutable: false,
                created_at: at,
                published_at: Some(at),
                updated_at: at,
                untagged: format!("untagged-{id:020x}"),
                assets: Vec::new(),
            });
        }
    }

    // -----------------------------------------------------------------------------------------
    // State inspection

    /// All releases (drafts included) as `GET /releases` answers them to a token with push
    /// access: newest first.
    pub fn releases(&self, owner_repo: &str) -> Vec<Value> {
        let g = self.lock();
        let r = g.state.repo(owner_repo);
        g.state
            .sorted_releases(r, true)
            .into_iter()
            .map(|rel| g.state.release_json(r, rel))
            .collect()
    }

    /// The release for this tag, drafts included: the published one if there is one, else the
    /// newest draft.
    pub fn release_by_tag(&self, owner_repo: &str, tag: &str) -> Option<Value> {
        let g = self.lock();
        let r = g.state.repo(owner_repo);
        r.release_for_tag(tag)
            .map(|rel| g.state.release_json(r, rel))
    }

    /// Every release (drafts included) whose `tag_name` is `tag`, newest first: more than one
    /// means duplicate drafts.
    pub fn releases_for_tag(&self, owner_repo: &str, tag: &str) -> Vec<Value> {
        self.releases(owner_repo)
            .into_iter()
            .filter(|v| v["tag_name"] == tag)
            .collect()
    }

    /// The release `GET /releases/latest` answers with.
    pub fn latest_release(&self, owner_repo: &str) -> Option<Value> {
        let g = self.lock();
        let r = g.state.repo(owner_repo);
        r.latest().map(|rel| g.state.release_json(r, rel))
    }

    /// The assets of the release for this tag (as [`GithubEmulator::release_by_tag`] picks it),
    /// by id; empty without a release.
    pub fn assets(&self, owner_repo: &str, tag: &str) -> Vec<AssetInfo> {
        let g = self.lock();
        let r = g.state.repo(owner_repo);
        r.release_for_tag(tag)
            .map(|rel| rel.assets.iter().map(model::Asset::info).collect())
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
    // Mutation as a human (or a crashed run) would leave it

    /// Adds an empty asset in state `starter` (what a 502 during upload leaves behind) to the
    /// release for this tag; returns its id. Panics when there is no such release.
    pub fn add_half_uploaded_asset(&self, owner_repo: &str, tag: &str, name: &str) -> u64 {
        self.lock()
            .state
            .add_asset_by_hand(owner_repo, tag, name, None)
    }

    /// Adds an uploaded asset to the release for this tag, as a person using the web UI would;
    /// returns its id. Panics when there is no such release.
    pub fn add_asset_by_hand(
        &self,
        owner_repo: &str,
        tag: &str,
        name: &str,
        content: &[u8],
    ) -> u64 {
        self.lock()
            .state
            .add_asset_by_hand(owner_repo, tag, name, Some(content))
    }

    /// Replaces the body of the release for this tag. Panics when there is no such release.
    pub fn set_release_body(&self, owner_repo: &str, tag: &str, body: &str) {
        let mut g = self.lock();
        let rel = g
            .state
            .repo_mut(owner_repo)
            .release_for_tag_mut(tag)
            .unwrap_or_else(|| panic!("emulator: no release {tag}"));
        rel.body = Some(body.to_string());
    }
}
