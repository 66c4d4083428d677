//! The Gitea emulator's state and the JSON entities in the shapes `/api/v1` sends
//! (`api.Release`, `api.Attachment`, `api.Tag` of Gitea's `modules/structs`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::emu_common::{
    Repository, Seq, added_repo, enc, impl_repository, new_repo_name, repo_index,
};
use super::AttachmentInfo;

pub(super) type Time = DateTime<Utc>;

/// Go's `time.Time` JSON form for UTC: `2024-01-02T03:04:05Z`.
pub(super) fn ts(t: &Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The commit `main` points at in a new repository.
pub(super) const MAIN_SHA: &str = "65f1bf27bc3bf70f64657658635e66094edbcb4d";

/// The default Gitea version: a current one.
pub(super) const GITEA_VERSION: &str = "1.24.6";
/// The default Forgejo version: a current one. Forgejo versions carry the Gitea version whose
/// API they are compatible with after `+gitea-`.
pub(super) const FORGEJO_VERSION: &str = "11.0.1+gitea-1.22.0";

/// `(major, minor)` of a version string such as `1.22.6`, `11.0.1+gitea-1.22.0` or
/// `1.21.11-1`; `(0, 0)` when it has none.
pub(super) fn major_minor(v: &str) -> (u64, u64) {
    let mut n = v
        .split(|c: char| !c.is_ascii_digit())
        .map(|x| x.parse::<u64>().unwrap_or(0));
    (n.next().unwrap_or(0), n.next().unwrap_or(0))
}

#[derive(Debug, Clone)]
pub(super) struct Tag {
    pub id: u64,
    pub name: String,
    pub sha: String,
    pub message: Option<String>,
    pub created_at: Time,
}

#[derive(Debug, Clone)]
pub(super) struct Attachment {
    pub id: u64,
    pub uuid: String,
    pub name: String,
    pub content: Vec<u8>,
    pub external_url: Option<String>,
    pub created_at: Time,
}

impl Attachment {
    pub fn info(&self) -> AttachmentInfo {
        AttachmentInfo {
            id: self.id,
            uuid: self.uuid.clone(),
            name: self.name.clone(),
            size: self.content.len() as u64,
            content: self.content.clone(),
            external_url: self.external_url.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Release {
    pub id: u64,
    pub tag: String,
    pub target: String,
    pub title: String,
    pub note: String,
    pub draft: bool,
    pub prerelease: bool,
    pub created_at: Time,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug)]
pub(super) struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    pub branches: Vec<(String, String)>,
    pub tags: Vec<Tag>,
    pub releases: Vec<Release>,
}

impl_repository!(Repo);

#[derive(Debug)]
pub struct State {
    pub(super) root: String,
    pub(super) forgejo: bool,
    /// The longest release note in bytes, `None` for no limit. `models/repo/release.go` stores
    /// `Note` as `xorm:"TEXT"`: on MySQL that is 65,535 bytes, and a longer note fails the insert
    /// (`Error 1406: Data too long`, go-gitea/gitea#16656) as a 500. PostgreSQL and SQLite
    /// have no such limit.
    pub(super) note_max_bytes: Option<usize>,
    /// The server version; `None`: the current default of Gitea or Forgejo.
    pub(super) version: Option<String>,
    pub(super) tokens: Vec<String>,
    pub(super) repos: Vec<Repo>,
    pub(super) request_seq: u64,
    repo_ids: Seq,
    pub(super) release_ids: Seq,
    pub(super) attachment_ids: Seq,
    tag_ids: Seq,
}

impl State {
    pub(super) fn new(root: String) -> State {
        State {
            root,
            forgejo: false,
            note_max_bytes: Some(65_535),
            version: None,
            tokens: Vec::new(),
            repos: Vec::new(),
            request_seq: 0,
            repo_ids: Seq::default(),
            release_ids: Seq::default(),
            attachment_ids: Seq::default(),
            tag_ids: Seq::default(),
        }
    }

    /// What `/api/v1/version` (and, on Forgejo, `/api/forgejo/v1/version`) answers.
    pub(super) fn version(&self) -> String {
        self.version.clone().unwrap_or_else(|| {
            if self.forgejo {
                FORGEJO_VERSION.into()
            } else {
                GITEA_VERSION.into()
            }
        })
    }

    /// Forgejo's external (link) release attachments, which arrived with Forgejo 7.0 (its
    /// `routers/api/v1/repo/release_attachment.go` reads `external_url`). Gitea has none; an
    /// older Forgejo takes the request down the file-upload path.
    pub(super) fn external_attachments(&self) -> bool {
        self.forgejo && major_minor(&self.version()).0 >= 7
    }

    /// Release create reads `tag_message` (an annotated tag) from Gitea 1.23 on: go-gitea/gitea
    /// PR #31840, "Support annotated tags when using create release API"; before, the API
    /// always made a lightweight tag. Forgejo is judged by the Gitea version after `+gitea-`.
    pub(super) fn create_reads_tag_message(&self) -> bool {
        let v = self.version();
        let gitea = if self.forgejo {
            v.split_once("+gitea-").map_or("0.0", |(_, g)| g).to_owned()
        } else {
            v
        };
        major_minor(&gitea) >= (1, 23)
    }

    pub(super) fn api_root(&self) -> String {
        format!("{}/api/v1", self.root)
    }

    /// `setting.API.SwaggerURL`, the `url` of every error body.
    pub(super) fn swagger_url(&self) -> String {
        format!("{}/api/swagger", self.root)
    }

    /// A v4-shaped UUID derived from the attachment id (deterministic).
    pub(super) fn uuid_for(id: u64) -> String {
        let h = hex::encode(Sha256::digest(format!("attachment-{id}")));
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    pub(super) fn add_repo(&mut self, owner_repo: &str) {
        let (owner, name) = new_repo_name(&self.repos, owner_repo);
        let id = self.repo_ids.next();
        self.repos.push(Repo {
            id,
            owner,
            name,
            default_branch: "main".into(),
            branches: vec![("main".into(), MAIN_SHA.into())],
            tags: Vec::new(),
            releases: Vec::new(),
        });
    }

    pub(super) fn add_tag(
        &mut self,
        owner_repo: &str,
        name: &str,
        sha: &str,
        message: Option<String>,
    ) {
        let id = self.tag_ids.next();
        let r = self.repo_mut(owner_repo);
        r.tags.retain(|t| t.name != name);
        r.tags.push(Tag {
            id,
            name: name.to_string(),
            sha: sha.to_string(),
            message,
            created_at: Utc::now(),
        });
    }

    /// Creates the git tag at `target` unless it exists; `Err(())` when the target resolves to
    /// nothing.
    pub(super) fn ensure_tag(
        &mut self,
        ri: usize,
        tag: &str,
        target: &str,
        message: Option<String>,
    ) -> Result<(), ()> {
        if self.repos[ri].tags.iter().any(|t| t.name == tag) {
            return Ok(());
        }
        let sha = self.repos[ri].resolve(target).ok_or(())?;
        let id = self.tag_ids.next();
        self.repos[ri].tags.push(Tag {
            id,
            name: tag.to_string(),
            sha,
            message,
            created_at: Utc::now(),
        });
        Ok(())
    }

    /// Owner and name are matched case-insensitively, as Gitea does.
    pub(super) fn repo_idx(&self, owner: &str, name: &str) -> Option<usize> {
        repo_index(&self.repos, owner, name)
    }

    pub(super) fn repo(&self, owner_repo: &str) -> &Repo {
        &self.repos[added_repo(&self.repos, owner_repo)]
    }

    pub(super) fn repo_mut(&mut self, owner_repo: &str) -> &mut Repo {
        let i = added_repo(&self.repos, owner_repo);
        &mut self.repos[i]
    }

    /// The list order: `created_unix DESC, id DESC`.
    pub(super) fn sorted_releases<'a>(&self, repo: &'a Repo) -> Vec<&'a Release> {
        let mut v: Vec<&Release> = repo.releases.iter().collect();
        v.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
        v
    }

    pub(super) fn attach_by_hand(
        &mut self,
        owner_repo: &str,
        tag: &str,
        name: &str,
        content: &[u8],
    ) -> u64 {
        let id = self.attachment_ids.next();
        let rel = self
            .repo_mut(owner_repo)
            .releases
            .iter_mut()
            .find(|r| r.tag == tag)
            .unwrap_or_else(|| panic!("emulator: no release {tag}"));
        rel.attachments.push(Attachment {
            id,
            uuid: State::uuid_for(id),
            name: name.to_string(),
            content: content.to_vec(),
            external_url: None,
            created_at: Utc::now(),
        });
        id
    }

    // -----------------------------------------------------------------------------------------
    // JSON

    pub(super) fn user_json(&self) -> Value {
        json!({
            "id": 1,
            "login": "relsync",
            "login_name": "",
            "source_id": 0,
            "full_name": "",
            "email": "relsync@noreply.localhost",
            "avatar_url": format!("{}/avatars/5f1c0a0d", self.root),
            "html_url": format!("{}/relsync", self.root),
            "language": "",
            "is_admin": false,
            "last_login": "0001-01-01T00:00:00Z",
            "created": "2024-01-01T00:00:00Z",
            "restricted": false,
            "active": true,
            "prohibit_login": false,
            "location": "",
            "website": "",
            "description": "",
            "visibility": "public",
            "followers_count": 0,
            "following_count": 0,
            "starred_repos_count": 0,
            "username": "relsync",
        })
    }

    pub(super) fn repo_api(&self, repo: &Repo) -> String {
        format!("{}/repos/{}", self.api_root(), repo.url_path())
    }

    pub(super) fn repo_web(&self, repo: &Repo) -> String {
        format!("{}/{}", self.root, repo.url_path())
    }

    pub(super) fn repo_json(&self, repo: &Repo) -> Value {
        json!({
            "id": repo.id,
            "owner": self.user_json(),
            "name": repo.name,
            "full_name": repo.full_name(),
            "private": true,
            "html_url": self.repo_web(repo),
            "url": self.repo_api(repo),
            "default_branch": repo.default_branch,
            "permissions": { "admin": false, "push": true, "pull": true },
        })
    }

    pub(super) fn attachment_json(&self, a: &Attachment) -> Value {
        let mut v = json!({
            "id": a.id,
            "name": a.name,
            "size": a.content.len(),
            "download_count": 0,
            "created_at": ts(&a.created_at),
            "uuid": a.uuid,
            "browser_download_url": a
                .external_url
                .clone()
                .unwrap_or_else(|| format!("{}/attachments/{}", self.root, a.uuid)),
        });
        if self.external_attachments() {
            v["type"] = json!(if a.external_url.is_some() {
                "external"
            } else {
                "attachment"
            });
        }
        v
    }

    pub(super) fn release_json(&self, repo: &Repo, rel: &Release) -> Value {
        let api = self.repo_api(repo);
        let web = self.repo_web(repo);
        let tag = enc(&rel.tag);
        json!({
            "id": rel.id,
            "tag_name": rel.tag,
            "target_commitish": rel.target,
            "name": rel.title,
            "body": rel.note,
            "url": format!("{api}/releases/{}", rel.id),
            "html_url": format!("{web}/releases/tag/{tag}"),
            "tarball_url": format!("{web}/archive/{tag}.tar.gz"),
            "zipball_url": format!("{web}/archive/{tag}.zip"),
            "upload_url": format!("{api}/releases/{}/assets", rel.id),
            "draft": rel.draft,
            "prerelease": rel.prerelease,
            "created_at": ts(&rel.created_at),
            "published_at": ts(&rel.created_at),
            "author": self.user_json(),
            "assets": rel.attachments.iter().map(|a| self.attachment_json(a)).collect::<Vec<_>>(),
            "hide_archive_links": false,
        })
    }

    pub(super) fn tag_json(&self, repo: &Repo, t: &Tag) -> Value {
        let api = self.repo_api(repo);
        let web = self.repo_web(repo);
        json!({
            "name": t.name,
            "message": t.message.clone().unwrap_or_default(),
            "id": t.sha,
            "commit": {
                "url": format!("{api}/git/commits/{}", t.sha),
                "sha": t.sha,
                "created": ts(&t.created_at),
            },
            "zipball_url": format!("{web}/archive/{}.zip", enc(&t.name)),
            "tarball_url": format!("{web}/archive/{}.tar.gz", enc(&t.name)),
        })
    }
}
