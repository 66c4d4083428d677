//! The emulator's state and GitLab's model rules: release, link, tag and package validation, and
//! the JSON entities in the shapes GitLab sends (see `docs/reference/gitlab-schemas`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::emu_common::{Seq, added_project, git_tag_name_ok, impl_id_path, project_index};
use super::http::{enc, rails_enc};

pub(super) type Time = DateTime<Utc>;

/// GitLab's timestamp format: `2019-01-03T01:56:19.539Z`.
pub(super) fn ts(t: &Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Grape `DateTime` coercion: RFC 3339, a naive date-time (UTC) or a date.
pub(super) fn parse_time(s: &str) -> Option<Time> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(super) const LINK_TYPES: [&str; 4] = ["other", "runbook", "image", "package"];
/// `app/models/release.rb`: `validates :description, length: { maximum:
/// Gitlab::Database::MAX_TEXT_SIZE_LIMIT }`, which `lib/gitlab/database.rb` sets to 1,000,000.
pub(super) const DESCRIPTION_MAX: usize = 1_000_000;
pub(super) const FILEPATH_MAX: usize = 128;

#[derive(Debug, Default)]
pub(super) struct Ids {
    pub release: Seq,
    pub link: Seq,
    pub milestone: Seq,
    pub package: Seq,
    pub package_file: Seq,
    pub evidence: Seq,
}

#[derive(Debug)]
pub struct State {
    pub(super) base_url: String,
    pub(super) projects: Vec<Project>,
    pub(super) private_tokens: Vec<String>,
    pub(super) job_tokens: Vec<String>,
    pub(super) max_file_size: u64,
    /// The longest release description, in characters (default [`DESCRIPTION_MAX`]).
    pub(super) description_max: usize,
    /// Whether links take `direct_asset_path` (GitLab 15.9 and later; seed 002 says `filepath`
    /// was deprecated in its favour, seed 000 lists only `filepath`). Off: an older server
    /// (old JiHu self-managed) that reads only `filepath` and drops the newer key silently, as
    /// Grape does with undeclared parameters.
    pub(super) direct_asset_path_param: bool,
    pub(super) ids: Ids,
    /// The GitLab version the server reports and whose rules it follows (default 17.5, a
    /// modern server). Below 16.0 a job token cannot list package files nor delete them:
    /// `lib/api/package_files.rb` gained `job_token_allowed: true` in MR !116059
    /// (<https://gitlab.com/gitlab-org/gitlab/-/merge_requests/116059>); listing packages came
    /// earlier, with MR !91437 (<https://gitlab.com/gitlab-org/gitlab/-/merge_requests/91437>).
    pub(super) version: (u32, u32),
    /// The role of the user behind every token (a `CI_JOB_TOKEN` acts with the role of the
    /// user who started the pipeline). Default Maintainer; deleting a package file needs it:
    /// `authorize_destroy_package!` in `lib/api/package_files.rb`, enabled by
    /// `rule { can?(:maintainer_access) }` in `app/policies/project_policy.rb`.
    pub(super) role: Role,
    /// The group's "Allow duplicates" setting for generic packages (Settings > Packages and
    /// registries). Default allowed, as GitLab's: `Namespace::PackageSetting.duplicates_allowed?`
    /// in `app/services/packages/generic/create_package_file_service.rb`.
    pub(super) generic_duplicates_allowed: bool,
}

/// A project member's role, in GitLab's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Reporter,
    Developer,
    Maintainer,
}

#[derive(Debug)]
pub(super) struct Project {
    pub id: u64,
    pub path: String,
    pub default_branch: String,
    pub branches: Vec<(String, String)>,
    pub tags: Vec<Tag>,
    pub releases: Vec<Release>,
    pub milestones: Vec<Milestone>,
    pub packages: Vec<Package>,
}

#[derive(Debug, Clone)]
pub(super) struct Tag {
    pub name: String,
    pub sha: String,
    /// Annotated tags have a message and a tag object id as `target`.
    pub message: Option<String>,
    pub target: String,
    pub created_at: Time,
}

#[derive(Debug, Clone)]
pub(super) struct Release {
    pub id: u64,
    pub tag: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Time,
    pub released_at: Time,
    pub milestone_ids: Vec<u64>,
    pub links: Vec<Link>,
    pub evidence: Option<(u64, String, Time)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Link {
    pub id: u64,
    pub name: String,
    pub url: String,
    pub filepath: Option<String>,
    pub link_type: String,
    pub created_at: Time,
}

#[derive(Debug, Clone)]
pub(super) struct Milestone {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    pub created_at: Time,
}

#[derive(Debug, Clone)]
pub(super) struct Package {
    pub id: u64,
    pub name: String,
    pub version: String,
    pub created_at: Time,
    pub files: Vec<PackageFile>,
}

#[derive(Debug, Clone)]
pub(super) struct PackageFile {
    pub id: u64,
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    pub content: Vec<u8>,
    pub created_at: Time,
}

impl_id_path!(Project);

impl State {
    pub(super) fn new(base_url: String) -> State {
        State {
            base_url,
            projects: Vec::new(),
            private_tokens: Vec::new(),
            job_tokens: Vec::new(),
            max_file_size: 5 * 1024 * 1024 * 1024,
            description_max: DESCRIPTION_MAX,
            direct_asset_path_param: true,
            ids: Ids::default(),
            version: (17, 5),
            role: Role::Maintainer,
            generic_duplicates_allowed: true,
        }
    }

    /// A project by numeric id or (case-insensitive) full path.
    pub(super) fn project_index(&self, id_or_path: &str) -> Option<usize> {
        project_index(&self.projects, id_or_path)
    }

    pub(super) fn project(&self, id: u64) -> &Project {
        &self.projects[added_project(&self.projects, id)]
    }

    pub(super) fn project_mut(&mut self, id: u64) -> &mut Project {
        let i = added_project(&self.projects, id);
        &mut self.projects[i]
    }

    pub(super) fn web_url(&self, p: &Project) -> String {
        format!("{}/{}", self.base_url, p.path)
    }

    // -----------------------------------------------------------------------------------------
    // JSON entities

    pub(super) fn user_json(&self) -> Value {
        json!({
            "id": 1,
            "username": "root",
            "name": "Administrator",
            "state": "active",
            "locked": false,
            "avatar_url": "https://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=80&d=identicon",
            "web_url": format!("{}/root", self.base_url),
        })
    }

    pub(super) fn project_json(&self, p: &Project) -> Value {
        let name = p.path.rsplit('/').next().unwrap_or(&p.path);
        let ns = p.path.rsplit_once('/').map_or("", |(n, _)| n);
        json!({
            "id": p.id,
            "description": null,
            "name": name,
            "name_with_namespace": p.path.replace('/', " / "),
            "path": name,
            "path_with_namespace": p.path,
            "created_at": "2020-01-01T00:00:00.000Z",
            "default_branch": p.default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": format!("git@127.0.0.1:{}.git", p.path),
            "http_url_to_repo": format!("{}.git", self.web_url(p)),
            "web_url": self.web_url(p),
            "visibility": "private",
            "namespace": { "id": 1, "name": ns, "path": ns.rsplit('/').next().unwrap_or(ns), "kind": "group", "full_path": ns },
            "releases_access_level": "enabled",
            "packages_enabled": true,
        })
    }

    pub(super) fn commit_json(&self, p: &Project, sha: &str) -> Value {
        let when = "2024-01-01T00:00:00.000+00:00";
        json!({
            "id": sha,
            "short_id": &sha[..sha.len().min(8)],
            "created_at": when,
            "parent_ids": [],
            "title": "Commit",
            "message": "Commit\n",
            "author_name": "Administrator",
            "author_email": "admin@example.com",
            "authored_date": when,
            "committer_name": "Administrator",
            "committer_email": "admin@example.com",
            "committed_date": when,
            "trailers": {},
            "extended_trailers": {},
            "web_url": format!("{}/-/commit/{sha}", self.web_url(p)),
        })
    }

    pub(super) fn tag_json(&self, p: &Project, t: &Tag) -> Value {
        let release = p
            .releases
            .iter()
            .find(|r| r.tag == t.name)
            .map(|r| json!({ "tag_name": r.tag, "description": r.description }));
        json!({
            "name": t.name,
            "message": t.message.clone().unwrap_or_default(),
            "target": t.target,
            "commit": self.commit_json(p, &t.sha),
            "release": release,
            "protected": false,
            "created_at": t.message.as_ref().map(|_| ts(&t.created_at)),
        })
    }

    pub(super) fn milestone_json(&self, p: &Project, m: &Milestone) -> Value {
        json!({
            "id": m.id,
            "iid": m.iid,
            "project_id": p.id,
            "title": m.title,
            "description": null,
            "state": "active",
            "created_at": ts(&m.created_at),
            "updated_at": ts(&m.created_at),
            "due_date": null,
            "start_date": null,
            "expired": false,
            "web_url": format!("{}/-/milestones/{}", self.web_url(p), m.iid),
            "issue_stats": { "total": 0, "closed": 0 },
        })
    }

    pub(super) fn link_json(&self, p: &Project, tag: &str, l: &Link) -> Value {
        let direct = match &l.filepath {
            Some(fp) => format!(
                "{}/-/releases/{}/downloads{}",
                self.web_url(p),
                rails_enc(tag),
                fp
            ),
            None => l.url.clone(),
        };
        json!({
            "id": l.id,
            "name": l.name,
            "url": l.url,
            "direct_asset_url": direct,
            "link_type": l.link_type,
        })
    }

    /// Links in `release.links.sorted` order: `created_at DESC`.
    pub(super) fn sorted_links(r: &Release) -> Vec<&Link> {
        let mut v: Vec<&Link> = r.links.iter().collect();
        v.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        v
    }

    pub(super) fn release_json(&self, p: &Project, r: &Release, html: bool) -> Value {
        let web = self.web_url(p);
        let tag_enc = rails_enc(&r.tag);
        let tag_q = enc(&r.tag);
        let project_name = p.path.rsplit('/').next().unwrap_or(&p.path);
        let archive_name = format!("{}-{}", project_name, r.tag.replace('/', "-"));
        let sources: Vec<Value> = ["zip", "tar.gz", "tar.bz2", "tar"]
            .iter()
            .map(|f| {
                json!({ "format": f, "url": format!("{web}/-/archive/{}/{archive_name}.{f}", r.tag) })
            })
            .collect();
        let links: Vec<Value> = Self::sorted_links(r)
            .into_iter()
            .map(|l| self.link_json(p, &r.tag, l))
            .collect();
        let milestones: Vec<Value> = r
            .milestone_ids
            .iter()
            .filter_map(|id| p.milestones.iter().find(|m| m.id == *id))
            .map(|m| self.milestone_json(p, m))
            .collect();
        let sha = p
            .tags
            .iter()
            .find(|t| t.name == r.tag)
            .map(|t| t.sha.clone());
        let commit = sha
            .as_deref()
            .map_or(Value::Null, |s| self.commit_json(p, s));
        let evidences: Vec<Value> = r
            .evidence
            .iter()
            .map(|(id, sha, at)| {
                json!({
                    "sha": sha,
                    "filepath": format!("{web}/-/releases/{tag_enc}/evidences/{id}.json"),
                    "collected_at": ts(at),
                })
            })
            .collect();
        let q = |extra: &str| format!("release_tag={tag_q}&scope=all&{extra}");
        let mut v = json!({
            "name": r.name,
            "tag_name": r.tag,
            "description": r.description,
            "created_at": ts(&r.created_at),
            "released_at": ts(&r.released_at),
            "upcoming_release": r.released_at > Utc::now(),
            "author": self.user_json(),
            "commit": commit,
            "milestones": milestones,
            "commit_path": format!("/{}/-/commit/{}", p.path, sha.unwrap_or_default()),
            "tag_path": format!("/{}/-/tags/{tag_enc}", p.path),
            "assets": {
                "count": sources.len() + links.len(),
                "sources": sources,
                "links": links,
            },
            "evidences": evidences,
            "_links": {
                "closed_issues_url": format!("{web}/-/issues?{}", q("state=closed")),
                "closed_merge_requests_url": format!("{web}/-/merge_requests?{}", q("state=closed")),
                "edit_url": format!("{web}/-/releases/{tag_enc}/edit"),
                "merged_merge_requests_url": format!("{web}/-/merge_requests?{}", q("state=merged")),
                "opened_issues_url": format!("{web}/-/issues?{}", q("state=opened")),
                "opened_merge_requests_url": format!("{web}/-/merge_requests?{}", q("state=opened")),
                "self": format!("{web}/-/releases/{tag_enc}"),
            },
        });
        if html {
            let d = r.description.clone().unwrap_or_default();
            let escaped = d
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            v["description_html"] = json!(format!("<p dir=\"auto\">{escaped}</p>"));
        }
        v
    }

    /// Releases in the API's default order (`released_at DESC`).
    pub(super) fn sorted_releases<'a>(
        p: &'a Project,
        order_by: &str,
        asc: bool,
    ) -> Vec<&'a Release> {
        let mut v: Vec<&Release> = p.releases.iter().collect();
        v.sort_by(|a, b| {
            let (ka, kb) = if order_by == "created_at" {
                (a.created_at, b.created_at)
            } else {
                (a.released_at, b.released_at)
            };
            ka.cmp(&kb).then(a.id.cmp(&b.id))
        });
        if !asc {
            v.reverse();
        }
        v
    }

    pub(super) fn package_json(&self, p: &Project, k: &Package) -> Value {
        json!({
            "id": k.id,
            "name": k.name,
            "version": k.version,
            "package_type": "generic",
            "status": "default",
            "_links": {
                "web_path": format!("/{}/-/packages/{}", p.path, k.id),
                "delete_api_path": format!("{}/api/v4/projects/{}/packages/{}", self.base_url, p.id, k.id),
            },
            "created_at": ts(&k.created_at),
            "last_downloaded_at": null,
            "tags": [],
        })
    }

    pub(super) fn package_file_json(&self, k: &Package, f: &PackageFile) -> Value {
        json!({
            "id": f.id,
            "package_id": k.id,
            "created_at": ts(&f.created_at),
            "file_name": f.file_name,
            "size": f.size,
            "file_md5": null,
            "file_sha1": null,
            "file_sha256": f.sha256,
            "pipelines": [],
        })
    }

    /// The package-file record as `select=package_file` on the generic upload answers it.
    pub(super) fn uploaded_file_json(&self, p: &Project, k: &Package, f: &PackageFile) -> Value {
        json!({
            "id": f.id,
            "package_id": k.id,
            "created_at": ts(&f.created_at),
            "updated_at": ts(&f.created_at),
            "size": f.size,
            "file_store": 1,
            "file_md5": null,
            "file_sha1": null,
            "file_name": f.file_name,
            "file": { "url": format!("/{}/{}", &f.sha256[..2], f.file_name) },
            "file_sha256": f.sha256,
            "verification_retry_at": null,
            "verified_at": null,
            "verification_failure": null,
            "verification_retry_count": null,
            "verification_checksum": null,
            "verification_state": 0,
            "verification_started_at": null,
            "status": "default",
            "file_final_path": null,
            "project_id": p.id,
            "new_file_path": null,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Validation rules

/// `Releases::Link::FILEPATH_REGEX = %r{\A\/[^\/](?!.*\/\/.*)[\-\.\w\/]+[\da-zA-Z]+\z}`
/// (Ruby `\w` is ASCII here).
pub(super) fn filepath_format_ok(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.len() >= 4
        && c[0] == '/'
        && c[1] != '/'
        && !s.contains("//")
        && c[2..]
            .iter()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '.' | '_' | '/'))
        && c.last().is_some_and(char::is_ascii_alphanumeric)
}

/// `addressable_url: { schemes: %w[http https ftp] }`; `None` when valid.
fn url_error(url: &str) -> Option<&'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must be a valid URL");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some("is blocked: Only allowed schemes are http, https, ftp");
    };
    if !["http", "https", "ftp"].contains(&scheme.to_ascii_lowercase().as_str()) {
        return Some("is blocked: Only allowed schemes are http, https, ftp");
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Some("is blocked: URI is invalid");
    }
    None
}

/// `Releases::Link` validations, as `[(attribute, message)]` in the model's declaration order.
/// `others` are the release's other links (for the `uniqueness: { scope: :release }` rules).
pub(super) fn link_errors(l: &Link, others: &[&Link]) -> Vec<(&'static str, String)> {
    let mut e = Vec::new();
    if l.url.trim().is_empty() {
        e.push(("url", "can't be blank".to_string()));
    } else if let Some(m) = url_error(&l.url) {
        e.push(("url", m.to_string()));
    }
    if others.iter().any(|o| o.url == l.url) {
        e.push(("url", "has already been taken".into()));
    }
    if l.name.trim().is_empty() {
        e.push(("name", "can't be blank".to_string()));
    }
    if others.iter().any(|o| o.name == l.name) {
        e.push(("name", "has already been taken".into()));
    }
    if let Some(fp) = &l.filepath {
        if others.iter().any(|o| o.filepath.as_deref() == Some(fp)) {
            e.push(("filepath", "has already been taken".into()));
        }
        if !filepath_format_ok(fp) {
            e.push(("filepath", "is in an invalid format".into()));
        }
        if fp.chars().count() > FILEPATH_MAX {
            e.push((
                "filepath",
                format!("is too long (maximum is {FILEPATH_MAX} characters)"),
            ));
        }
    }
    e
}

pub(super) fn full_message(attr: &str, msg: &str) -> String {
    let mut a = attr.to_string();
    a[..1].make_ascii_uppercase();
    format!("{a} {msg}")
}

/// `Gitlab::GitRefValidator.validate` plus git's check-ref-format rules.
pub(super) fn tag_name_ok(name: &str) -> bool {
    !name.starts_with("refs/heads/") && !name.starts_with("refs/remotes/") && git_tag_name_ok(name)
}

/// `Gitlab::Regex.generic_package_name_regex` / file name: `\A[A-Za-z0-9\.\_\-\+]+\z`.
pub(super) fn package_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

/// `Gitlab::Regex.generic_package_version_regex`: `\A(?!.*\.\.)[\w+.-]+\z`.
pub(super) fn package_version_ok(s: &str) -> bool {
    !s.is_empty()
        && !s.contains("..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '.' | '-'))
}

/// A hex string that looks like a commit id.
pub(super) fn looks_like_sha(s: &str) -> bool {
    (7..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit())
}
