//! A stateful GitLab REST v4 emulator for the integration tests.
//!
//! It keeps projects, tags, releases, release links, milestones and generic packages in memory and
//! answers the Releases, Release Links, Tags, Projects and Packages APIs with GitLab's status codes,
//! error body shapes, validation rules, pagination headers and job-token restrictions, as
//! GitLab's API docs (<https://docs.gitlab.com/api/releases/>, `/api/releases/links/`,
//! `/user/packages/generic_packages/`) and its source (`lib/api/releases.rb`,
//! `app/models/releases/link.rb`) define them. Because it is
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

use serde_json::Value;

pub use self::model::Role;
use self::model::State;
use super::emu_common::{Emulator, RandomFault};

/// A scripted failure for [`GitlabEmulator::fail_next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status before applying anything (500: GitLab's JSON body; 502, 503: a
    /// proxy's HTML page; others: `{"message": "<status>"}`).
    Status(u16),
    /// 429 with `Retry-After` and `RateLimit-*` headers (`Rack::Attack`'s plain-text body).
    RateLimit { retry_after_secs: u64 },
    /// Close the connection without any response; nothing is applied.
    Drop,
    /// Apply the request, then answer 502 (the client cannot know it succeeded).
    AppliedThen502,
    /// Apply the request, then close the connection without any response.
    AppliedThenDrop,
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
/// ([`Emulator::requests`], [`Emulator::fail_next`], ...) are common to all emulators.
pub type GitlabEmulator = Emulator<State, Fault>;

impl GitlabEmulator {
    /// Starts the server on `127.0.0.1:0`.
    pub fn start() -> Self {
        Emulator::spawn("gitlab-emulator", State::new, server::handle)
    }

    /// `url()` + `/api/v4`; `url()` is the web root, e.g. `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v4", self.url())
    }

    /// Adds a (private) project, reachable by id and by its URL-encoded full path. It has a
    /// default branch `main` at a fixed commit.
    pub fn add_project(&self, id: u64, path_with_namespace: &str) {
        let mut g = self.lock();
        assert!(
            g.state.project_index(&id.to_string()).is_none(),
            "emulator: project {id} exists"
        );
        g.state.projects.push(model::Project {
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
        let mut g = self.lock();
        let p = g.state.project_mut(project);
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
        let mut g = self.lock();
        let p = g.state.project_mut(project);
        p.branches.retain(|(b, _)| b != name);
        p.branches.push((name.to_string(), sha.to_string()));
    }

    /// Adds a project milestone (releases may only reference existing milestones); returns its id.
    pub fn add_milestone(&self, project: u64, title: &str) -> u64 {
        api::add_milestone(&mut self.lock().state, project, title)
    }

    /// Accepts this token as `PRIVATE-TOKEN`, `Authorization: Bearer` or `private_token`.
    pub fn add_private_token(&self, token: &str) {
        self.lock().state.private_tokens.push(token.to_string());
    }

    /// Accepts this token as `JOB-TOKEN` (or Bearer/Basic/`job_token`) on the routes GitLab allows
    /// job tokens on: releases, release links, packages and the tag list.
    pub fn add_job_token(&self, token: &str) {
        self.lock().state.job_tokens.push(token.to_string());
    }

    /// The GitLab version the server follows (default 17.5). Below 16.0 a job token may not
    /// list or delete package files (the token is ignored there: 404 on a private project).
    pub fn set_version(&self, major: u32, minor: u32) {
        self.lock().state.version = (major, minor);
    }

    /// The role of the user behind every token (default Maintainer). Below Maintainer,
    /// deleting a package file or a package gets 403.
    pub fn set_role(&self, role: Role) {
        self.lock().state.role = role;
    }

    /// The group's "Allow duplicates" setting for generic packages (default allowed). When
    /// forbidden, uploading a file name the package version already holds gets 400
    /// "Duplicate package is not allowed".
    pub fn set_generic_duplicates_allowed(&self, allowed: bool) {
        self.lock().state.generic_duplicates_allowed = allowed;
    }

    /// The generic package size limit (default 5 GiB); larger uploads get 400 "File is too large".
    pub fn set_max_file_size(&self, bytes: u64) {
        self.lock().state.max_file_size = bytes;
    }

    /// The longest release description in characters (default 1,000,000, GitLab's
    /// `MAX_TEXT_SIZE_LIMIT`); longer ones get GitLab's 400 "is too long".
    pub fn set_description_max(&self, chars: usize) {
        self.lock().state.description_max = chars;
    }

    /// Off: a server older than 15.9 that knows only `filepath` and silently drops a link's
    /// `direct_asset_path` (default on).
    pub fn set_direct_asset_path_param(&self, on: bool) {
        self.lock().state.direct_asset_path_param = on;
    }

    // -----------------------------------------------------------------------------------------
    // State inspection

    /// The release as `GET /projects/:id/releases/:tag` answers it.
    pub fn release(&self, project: u64, tag: &str) -> Option<Value> {
        let g = self.lock();
        let p = g.state.project(project);
        p.releases
            .iter()
            .find(|r| r.tag == tag)
            .map(|r| g.state.release_json(p, r, false))
    }

    /// All releases, in the list API's default order (`released_at` descending).
    pub fn releases(&self, project: u64) -> Vec<Value> {
        let g = self.lock();
        let p = g.state.project(project);
        State::sorted_releases(p, "released_at", false)
            .into_iter()
            .map(|r| g.state.release_json(p, r, false))
            .collect()
    }

    /// The release's links in the API's order (`created_at` descending); empty without a release.
    pub fn links(&self, project: u64, tag: &str) -> Vec<Value> {
        let g = self.lock();
        let p = g.state.project(project);
        p.releases
            .iter()
            .find(|r| r.tag == tag)
            .map(|r| {
                State::sorted_links(r)
                    .into_iter()
                    .map(|l| g.state.link_json(p, tag, l))
                    .collect()
            })
            .unwrap_or_default()
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

    /// The tag as `GET /projects/:id/repository/tags/:tag` answers it.
    pub fn tag(&self, project: u64, name: &str) -> Option<Value> {
        let g = self.lock();
        let p = g.state.project(project);
        p.tags
            .iter()
            .find(|t| t.name == name)
            .map(|t| g.state.tag_json(p, t))
    }

    /// Every stored generic package file, by package id then file id.
    pub fn package_files(&self, project: u64) -> Vec<PackageFileInfo> {
        let g = self.lock();
        let mut out: Vec<PackageFileInfo> = g
            .state
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
        let mut g = self.lock();
        let r = g
            .state
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
        api::add_link_by_hand(&mut self.lock().state, project, tag, name, url)
    }
}
