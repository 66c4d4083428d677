//! Where things live on a forge's web interface: pure URL builders, no HTTP.
//!
//! Web URLs carry raw names and encode only what a URL needs: a tag `v1.2.3+build` or a file
//! `app.tar.gz` stays readable, so `curl -LO` saves `app.tar.gz`, not `app%2Etar%2Egz`. A `/`
//! inside one name is encoded (`release%2F1.0`) so the name stays one segment, as GitHub's
//! own `browser_download_url` writes it. API paths use the stricter `crate::forge_path`
//! encoding instead.
//!
//! Per forge (the routes of their web interfaces):
//!
//! | | GitLab | GitHub | Gitea / Forgejo | Tencent Git |
//! |---|---|---|---|---|
//! | release | `-/releases/<tag>` | `releases/tag/<tag>` | `releases/tag/<tag>` | `releases/<tag>` |
//! | download | (package URL, see the backend) | `releases/download/<tag>/<name>` | `releases/download/<tag>/<name>` | (attachment URL, see the backend) |
//! | compare | `-/compare/<a>...<b>` | `compare/<a>...<b>` | `compare/<a>...<b>` | `compare/<a>...<b>` |
//! | commit | `-/commit/<sha>` | `commit/<sha>` | `commit/<sha>` | `commit/<sha>` |
//! | merge request | `-/merge_requests/<n>` | `pull/<n>` | `pulls/<n>` | `merge_requests/<n>` |
//! | issue | `-/issues/<n>` | `issues/<n>` | `issues/<n>` | `issues/<n>` |

use percent_encoding::{AsciiSet, CONTROLS};

use serde::Serialize;

use crate::manifest::raw::ForgeKind;

/// What a web URL path segment encodes: controls, space, what ends or escapes a path
/// (`#`, `?`, `%`, `/`), and what RFC 3986 does not allow unencoded (`"`, `<`, `>`, `\`,
/// `^`, `` ` ``, `{`, `|`, `}`). Dots, `+`, `-`, `_`, `~`, `@`, `:` and the like stay as
/// they are; non-ASCII is encoded as UTF-8.
pub const WEB_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Encodes `s` as one segment of a web URL (see [`WEB_SEGMENT`]).
#[must_use]
pub fn web_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, WEB_SEGMENT).to_string()
}

/// The web root for an API or web URL (`https://h/api/v4` → `https://h`,
/// `https://api.github.com` → `https://github.com`).
#[must_use]
pub fn web_root(server: &str) -> &str {
    let s = server.trim_end_matches('/');
    for suffix in ["/api/v4", "/api/v3", "/api/v1"] {
        if let Some(root) = s.strip_suffix(suffix) {
            return root;
        }
    }
    if s == "https://api.github.com" {
        return "https://github.com";
    }
    s
}

/// A project's web layout on its forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    kind: ForgeKind,
    /// `https://host` (no trailing `/`).
    web: String,
    /// `https://host/group/app` (no trailing `/`).
    project: String,
}

impl Layout {
    /// The layout of the project at `path` (`group/app`) on the forge whose API or web
    /// root is `server`. An unknown kind is taken as GitLab.
    #[must_use]
    pub fn new(kind: Option<ForgeKind>, server: &str, path: &str) -> Self {
        let web = web_root(server).to_string();
        let project = format!("{web}/{}", path.trim_matches('/'));
        Self {
            kind: kind.unwrap_or(ForgeKind::Gitlab),
            web,
            project,
        }
    }

    /// The layout of a project whose web URL is known (`CI_PROJECT_URL`); `path` is its
    /// path on the forge (`group/app`), used to find the web root.
    #[must_use]
    pub fn at(kind: Option<ForgeKind>, project_url: &str, path: Option<&str>) -> Self {
        let project = project_url.trim_end_matches('/').to_string();
        let web = path
            .and_then(|p| project.strip_suffix(&format!("/{}", p.trim_matches('/'))))
            .map_or_else(
                || {
                    // `https://host/group/app`: the scheme, the host, no path.
                    let after_scheme = project.find("://").map_or(0, |i| i + 3);
                    let end = project[after_scheme..]
                        .find('/')
                        .map_or(project.len(), |i| after_scheme + i);
                    project[..end].to_string()
                },
                str::to_string,
            );
        Self {
            kind: kind.unwrap_or(ForgeKind::Gitlab),
            web,
            project,
        }
    }

    /// The forge.
    #[must_use]
    pub fn kind(&self) -> ForgeKind {
        self.kind
    }

    /// What the forge can hold, before its server's version is known.
    #[must_use]
    pub fn capabilities(&self) -> super::Capabilities {
        super::Capabilities::of(self.kind)
    }

    /// The largest description the forge stores.
    #[must_use]
    pub const fn description_limit(&self) -> DescriptionLimit {
        DescriptionLimit::of(self.kind)
    }

    /// The project's web URL.
    #[must_use]
    pub fn project_url(&self) -> &str {
        &self.project
    }

    /// The project's path on the forge (`group/app`): its URL below the web root.
    #[must_use]
    pub fn path(&self) -> &str {
        self.project
            .strip_prefix(&self.web)
            .unwrap_or("")
            .trim_start_matches('/')
    }

    /// GitLab's routes under a project start with `/-/`.
    fn dash(&self) -> &'static str {
        if self.kind == ForgeKind::Gitlab {
            "/-"
        } else {
            ""
        }
    }

    /// The release page of `tag`.
    #[must_use]
    pub fn release(&self, tag: &str) -> String {
        let tag = web_segment(tag);
        match self.kind {
            ForgeKind::Gitlab => format!("{}/-/releases/{tag}", self.project),
            ForgeKind::Github | ForgeKind::Gitea => {
                format!("{}/releases/tag/{tag}", self.project)
            }
            ForgeKind::Tgit => format!("{}/releases/{tag}", self.project),
        }
    }

    /// Where the release file `name` of `tag` is downloaded, on forges that serve release
    /// files by tag and name (GitHub, Gitea); `None` elsewhere (GitLab links package files,
    /// Tencent Git serves attachments through its API).
    #[must_use]
    pub fn file_download(&self, tag: &str, name: &str) -> Option<String> {
        match self.kind {
            ForgeKind::Github | ForgeKind::Gitea => Some(format!(
                "{}/releases/download/{}/{}",
                self.project,
                web_segment(tag),
                web_segment(name)
            )),
            ForgeKind::Gitlab | ForgeKind::Tgit => None,
        }
    }

    /// The comparison of `from` with `to` (tags or shas).
    #[must_use]
    pub fn compare(&self, from: &str, to: &str) -> String {
        format!(
            "{}{}/compare/{}...{}",
            self.project,
            self.dash(),
            web_segment(from),
            web_segment(to)
        )
    }

    /// The page of commit `sha`.
    #[must_use]
    pub fn commit(&self, sha: &str) -> String {
        format!(
            "{}{}/commit/{}",
            self.project,
            self.dash(),
            web_segment(sha)
        )
    }

    /// Merge request (pull request) `number` of this project, or of `project`
    /// (`group/other`) on the same forge.
    #[must_use]
    pub fn merge_request(&self, project: Option<&str>, number: u64) -> String {
        let base = self.base(project);
        match self.kind {
            ForgeKind::Gitlab => format!("{base}/-/merge_requests/{number}"),
            ForgeKind::Github => format!("{base}/pull/{number}"),
            ForgeKind::Gitea => format!("{base}/pulls/{number}"),
            ForgeKind::Tgit => format!("{base}/merge_requests/{number}"),
        }
    }

    /// Issue `number` of this project, or of `project` on the same forge.
    #[must_use]
    pub fn issue(&self, project: Option<&str>, number: u64) -> String {
        format!("{}{}/issues/{number}", self.base(project), self.dash())
    }

    fn base(&self, project: Option<&str>) -> String {
        match project {
            Some(p) => format!(
                "{}/{}",
                self.web,
                p.trim_matches('/')
                    .split('/')
                    .map(web_segment)
                    .collect::<Vec<_>>()
                    .join("/")
            ),
            None => self.project.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Facts of each forge that hold without asking its server.

/// The variables a forge's token is read from, in this order, after `RELSYNC_TOKEN` and the
/// variable `forge.token_env` names. The first is the forge's own, the one remedies name;
/// GitLab's `CI_JOB_TOKEN` is the job's token (its own rules, see `forge::hints`), and Gitea
/// Actions passes its token as `GITHUB_TOKEN`.
#[must_use]
pub const fn token_variables(kind: ForgeKind) -> &'static [&'static str] {
    use crate::env_vars as ev;
    match kind {
        ForgeKind::Gitlab => &[ev::GITLAB_TOKEN, ev::CI_JOB_TOKEN],
        ForgeKind::Tgit => &[ev::TGIT_TOKEN],
        ForgeKind::Github => &[ev::GITHUB_TOKEN],
        ForgeKind::Gitea => &[ev::GITEA_TOKEN, ev::GITHUB_TOKEN],
    }
}

/// The forge's own token variable, named in remedies.
#[must_use]
pub const fn own_token_variable(kind: ForgeKind) -> &'static str {
    token_variables(kind)[0]
}

/// The REST API's path below a forge's web root: GitLab `/api/v4`, Tencent Git `/api/v3`,
/// GitHub Enterprise Server `/api/v3` (github.com's is `https://api.github.com`), Gitea and
/// Forgejo `/api/v1`.
#[must_use]
pub const fn api_path(kind: ForgeKind) -> &'static str {
    match kind {
        ForgeKind::Gitlab => "/api/v4",
        ForgeKind::Tgit | ForgeKind::Github => "/api/v3",
        ForgeKind::Gitea => "/api/v1",
    }
}

/// `(api root, web root)` of `kind`'s server given as either (`https://h` or `https://h/api/v4`
/// for GitLab).
#[must_use]
pub fn api_roots(kind: ForgeKind, server: &str) -> (String, String) {
    let server = server.trim_end_matches('/');
    match server.strip_suffix(api_path(kind)) {
        Some(web) => (server.to_owned(), web.to_owned()),
        None => (format!("{server}{}", api_path(kind)), server.to_owned()),
    }
}

/// Tencent Git's attachment size limit.
pub const TGIT_MAX_ATTACHMENT: u64 = 200 * 1024 * 1024;

/// The largest file each forge stores, as their documentation gives it, with what to call
/// that limit in a message. Gitea's is the server's setting (`attachment.MAX_SIZE`), unknown
/// to the client.
#[must_use]
pub const fn max_file_size(kind: ForgeKind) -> Option<(u64, &'static str)> {
    match kind {
        ForgeKind::Tgit => Some((TGIT_MAX_ATTACHMENT, "Tencent Git")),
        ForgeKind::Github => Some((2 * 1024 * 1024 * 1024, "GitHub")),
        ForgeKind::Gitlab => Some((
            5 * 1024 * 1024 * 1024,
            "GitLab's generic package registry (by default)",
        )),
        ForgeKind::Gitea => None,
    }
}

/// How a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Unicode scalar values (Ruby's `String#length`).
    Characters,
    /// UTF-8 bytes (a MySQL `TEXT` column).
    Bytes,
}

impl Unit {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Characters => "characters",
            Self::Bytes => "bytes",
        }
    }
}

/// The largest description a forge stores.
///
/// The limits, from the forges' own sources:
///
/// - GitHub: 125,000 characters. `422 Validation Failed`, `body is too long (maximum is 125000
///   characters)` (softprops/action-gh-release#374, ncipollo/release-action#493, cli/cli#7705).
/// - GitLab: 1,000,000 characters. `app/models/release.rb` validates `description` with
///   `length: { maximum: Gitlab::Database::MAX_TEXT_SIZE_LIMIT }`, which
///   `lib/gitlab/database.rb` sets to `1_000_000`.
/// - Gitea and Forgejo: 65,535 bytes. `models/repo/release.go` stores `Note` as `xorm:"TEXT"`,
///   which is MySQL's `TEXT` of at most 65,535 bytes; over it the server answers 500 `Error
///   1406: Data too long` (the same column type and failure as go-gitea/gitea#16656). PostgreSQL
///   and SQLite have no such limit, but the client cannot tell the database apart.
/// - Tencent Git (工蜂): not documented (seed 004 and the PyTgit client say nothing). It is
///   GitLab-derived (API v3), and GitLab of that era stored `releases.description` as `text`,
///   MySQL's `TEXT`: 65,535 bytes is assumed, the smallest value a server of that lineage has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DescriptionLimit {
    /// The forge, as users know it.
    pub forge: &'static str,
    /// The largest length.
    pub max: usize,
    /// What the length counts.
    pub unit: Unit,
}

impl DescriptionLimit {
    /// The limit of a forge kind (sources below).
    #[must_use]
    pub const fn of(kind: ForgeKind) -> Self {
        match kind {
            ForgeKind::Github => Self {
                forge: "GitHub",
                max: 125_000,
                unit: Unit::Characters,
            },
            ForgeKind::Gitlab => Self {
                forge: "GitLab",
                max: 1_000_000,
                unit: Unit::Characters,
            },
            ForgeKind::Gitea => Self {
                forge: "Gitea",
                max: 65_535,
                unit: Unit::Bytes,
            },
            ForgeKind::Tgit => Self {
                forge: "Tencent Git",
                max: 65_535,
                unit: Unit::Bytes,
            },
        }
    }

    /// The length of `text` as this forge counts it.
    #[must_use]
    pub fn measure(&self, text: &str) -> usize {
        match self.unit {
            Unit::Characters => text.chars().count(),
            Unit::Bytes => text.len(),
        }
    }

    /// `GitHub's limit of 125000 characters`.
    #[must_use]
    pub fn describe(&self) -> String {
        format!(
            "{}'s limit of {} {}",
            self.forge,
            self.max,
            self.unit.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_roots_take_a_web_root_or_an_api_root() {
        for (kind, api) in [
            (ForgeKind::Gitlab, "/api/v4"),
            (ForgeKind::Tgit, "/api/v3"),
            (ForgeKind::Gitea, "/api/v1"),
        ] {
            let both = (
                format!("https://h.example{api}"),
                "https://h.example".to_owned(),
            );
            assert_eq!(api_roots(kind, "https://h.example/"), both);
            assert_eq!(api_roots(kind, &format!("https://h.example{api}/")), both);
        }
        assert_eq!(web_root("https://api.github.com"), "https://github.com");
        assert_eq!(
            web_root("https://ghes.example/api/v3"),
            "https://ghes.example"
        );
    }

    #[test]
    fn each_forge_names_its_own_token_variable_first() {
        assert_eq!(own_token_variable(ForgeKind::Gitlab), "GITLAB_TOKEN");
        assert_eq!(own_token_variable(ForgeKind::Tgit), "TGIT_TOKEN");
        assert_eq!(own_token_variable(ForgeKind::Github), "GITHUB_TOKEN");
        assert_eq!(own_token_variable(ForgeKind::Gitea), "GITEA_TOKEN");
        assert!(token_variables(ForgeKind::Gitea).contains(&"GITHUB_TOKEN"));
        assert!(token_variables(ForgeKind::Gitlab).contains(&"CI_JOB_TOKEN"));
    }

    fn gitlab() -> Layout {
        Layout::new(
            Some(ForgeKind::Gitlab),
            "https://gitlab.example.com/api/v4/",
            "group/app",
        )
    }

    fn github() -> Layout {
        Layout::new(
            Some(ForgeKind::Github),
            "https://api.github.com",
            "octo/app",
        )
    }

    fn gitea() -> Layout {
        Layout::new(
            Some(ForgeKind::Gitea),
            "https://codeberg.org/api/v1",
            "octo/app",
        )
    }

    fn tgit() -> Layout {
        Layout::new(
            Some(ForgeKind::Tgit),
            "https://git.code.tencent.com/api/v3",
            "team/app",
        )
    }

    #[test]
    fn web_roots() {
        assert_eq!(
            web_root("https://gitlab.example.com/api/v4/"),
            "https://gitlab.example.com"
        );
        assert_eq!(web_root("https://api.github.com"), "https://github.com");
        assert_eq!(
            web_root("https://ghe.example.com/api/v3"),
            "https://ghe.example.com"
        );
        assert_eq!(
            web_root("https://gitea.example.com/"),
            "https://gitea.example.com"
        );
    }

    #[test]
    fn web_segments_keep_dots_and_plus_and_encode_slashes() {
        assert_eq!(web_segment("app.tar.gz"), "app.tar.gz");
        assert_eq!(web_segment("v1.2.3+build.5"), "v1.2.3+build.5");
        assert_eq!(web_segment("release/1.0"), "release%2F1.0");
        assert_eq!(web_segment("a b#c?d%e"), "a%20b%23c%3Fd%25e");
        assert_eq!(web_segment("v1.0-β"), "v1.0-%CE%B2");
        assert_eq!(web_segment("a_b~c-d@e:f"), "a_b~c-d@e:f");
    }

    #[test]
    fn compare_urls_use_raw_tag_names() {
        assert_eq!(
            gitlab().compare("v1.0.0", "v1.1.0+rc.1"),
            "https://gitlab.example.com/group/app/-/compare/v1.0.0...v1.1.0+rc.1"
        );
        assert_eq!(
            github().compare("release/1.0", "release/1.1"),
            "https://github.com/octo/app/compare/release%2F1.0...release%2F1.1"
        );
        assert_eq!(
            gitea().compare("v1.0", "v2.0"),
            "https://codeberg.org/octo/app/compare/v1.0...v2.0"
        );
        assert_eq!(
            tgit().compare("v1.0", "v2.0"),
            "https://git.code.tencent.com/team/app/compare/v1.0...v2.0"
        );
    }

    #[test]
    fn download_urls_use_raw_file_names() {
        assert_eq!(
            github().file_download("v1.2.3", "app.tar.gz").as_deref(),
            Some("https://github.com/octo/app/releases/download/v1.2.3/app.tar.gz")
        );
        assert_eq!(
            gitea()
                .file_download("release/1.0+b", "app-1.0+b.zip")
                .as_deref(),
            Some("https://codeberg.org/octo/app/releases/download/release%2F1.0+b/app-1.0+b.zip")
        );
        assert_eq!(gitlab().file_download("v1", "a.txt"), None);
        assert_eq!(tgit().file_download("v1", "a.txt"), None);
    }

    #[test]
    fn release_urls() {
        assert_eq!(
            gitlab().release("v1.0.0"),
            "https://gitlab.example.com/group/app/-/releases/v1.0.0"
        );
        assert_eq!(
            github().release("release/1.0"),
            "https://github.com/octo/app/releases/tag/release%2F1.0"
        );
        assert_eq!(
            gitea().release("v1.0"),
            "https://codeberg.org/octo/app/releases/tag/v1.0"
        );
        assert_eq!(
            tgit().release("v1.0"),
            "https://git.code.tencent.com/team/app/releases/v1.0"
        );
    }

    #[test]
    fn commit_merge_request_and_issue_urls() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            gitlab().commit(sha),
            format!("https://gitlab.example.com/group/app/-/commit/{sha}")
        );
        assert_eq!(
            github().commit(sha),
            format!("https://github.com/octo/app/commit/{sha}")
        );
        assert_eq!(
            gitlab().merge_request(None, 12),
            "https://gitlab.example.com/group/app/-/merge_requests/12"
        );
        assert_eq!(
            gitlab().merge_request(Some("group/other"), 3),
            "https://gitlab.example.com/group/other/-/merge_requests/3"
        );
        assert_eq!(
            github().merge_request(None, 7),
            "https://github.com/octo/app/pull/7"
        );
        assert_eq!(
            gitea().merge_request(None, 7),
            "https://codeberg.org/octo/app/pulls/7"
        );
        assert_eq!(
            tgit().merge_request(None, 7),
            "https://git.code.tencent.com/team/app/merge_requests/7"
        );
        assert_eq!(
            gitlab().issue(None, 5),
            "https://gitlab.example.com/group/app/-/issues/5"
        );
        assert_eq!(
            github().issue(Some("octo/lib"), 5),
            "https://github.com/octo/lib/issues/5"
        );
        assert_eq!(
            tgit().issue(None, 5),
            "https://git.code.tencent.com/team/app/issues/5"
        );
    }

    #[test]
    fn layout_from_a_known_project_url() {
        let l = Layout::at(
            Some(ForgeKind::Gitlab),
            "https://gitlab.example.com/sub/group/app/",
            Some("group/app"),
        );
        assert_eq!(l.project_url(), "https://gitlab.example.com/sub/group/app");
        assert_eq!(l.path(), "group/app");
        assert_eq!(gitlab().path(), "group/app");
        assert_eq!(
            l.issue(Some("group/lib"), 1),
            "https://gitlab.example.com/sub/group/lib/-/issues/1"
        );
        let l = Layout::at(None, "https://gitlab.example.com/group/app", None);
        assert_eq!(
            l.merge_request(Some("x/y"), 2),
            "https://gitlab.example.com/x/y/-/merge_requests/2"
        );
        assert_eq!(l.kind(), ForgeKind::Gitlab);
    }
}
