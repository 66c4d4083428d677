//! The `release.yml` document as written: serde + schemars types, every key optional.
//!
//! Unknown keys are errors (`deny_unknown_fields`). Each field's doc line becomes its
//! description in the JSON Schema that `relsync schema` prints.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole `release.yml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "relsync release.yml")]
pub struct RawManifest {
    /// Which forge and project; all optional, detected from CI.
    pub forge: Option<RawForge>,
    /// The release itself.
    pub release: Option<RawRelease>,
    /// How the changelog is collected from git history.
    pub changelog: Option<RawChangelog>,
    /// Asset links, uploaded files and checksums.
    pub assets: Option<RawAssets>,
    /// What templates may read.
    pub template: Option<RawTemplate>,
}

/// A forge kind.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// GitLab REST v4 (gitlab.com, self-managed, JiHu GitLab).
    Gitlab,
    /// Tencent Git (工蜂) REST v3.
    Tgit,
    /// GitHub REST (api.github.com or GitHub Enterprise Server).
    Github,
    /// Gitea or Forgejo REST v1.
    Gitea,
}

impl ForgeKind {
    /// The name used in flags and the manifest.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gitlab => "gitlab",
            Self::Tgit => "tgit",
            Self::Github => "github",
            Self::Gitea => "gitea",
        }
    }
}

/// `forge:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawForge {
    /// `gitlab`, `tgit`, `github` or `gitea`.
    pub kind: Option<ForgeKind>,
    /// The forge's web root (API root for GitHub).
    pub server: Option<String>,
    /// The project: numeric id or full path (`group/app`).
    pub project: Option<StringOrInt>,
    /// The NAME of the environment variable holding the token, never the token itself.
    pub token_env: Option<String>,
    /// A CA bundle (PEM) to trust, relative to the repository.
    pub ca_file: Option<String>,
    /// How many writes `apply` sends at once (1 to 64; default 8).
    pub concurrency: Option<u16>,
}

/// A string, or an integer taken as its decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StringOrInt {
    /// A number, such as a project id.
    Int(u64),
    /// A string.
    String(String),
}

impl StringOrInt {
    /// The value as a string.
    #[must_use]
    pub fn into_string(self) -> String {
        match self {
            Self::Int(i) => i.to_string(),
            Self::String(s) => s,
        }
    }
}

/// `release:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRelease {
    /// The release tag (template); default: the CI tag or `--tag`.
    pub tag: Option<String>,
    /// The release title (template); default: the tag.
    pub name: Option<String>,
    /// The commit the tag is created at when it does not exist (template); default: the CI commit.
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// The message of the tag relsync creates (template); default: a lightweight tag.
    pub tag_message: Option<String>,
    /// GitLab milestones (templates).
    pub milestones: Option<Vec<String>>,
    /// GitLab: the release date (RFC 3339); in the future = upcoming, in the past = historical.
    pub released_at: Option<String>,
    /// Tencent Git labels (at most 10).
    pub labels: Option<Vec<String>>,
    /// GitHub, Gitea: keep the release a draft.
    pub draft: Option<bool>,
    /// `auto` (the tag has a semver pre-release part), `true` or `false`.
    pub prerelease: Option<Prerelease>,
    /// The release description.
    pub notes: Option<RawNotes>,
}

/// `prerelease:` — `auto` or a boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Prerelease {
    /// Explicit.
    Bool(bool),
    /// `auto`.
    Auto(AutoLiteral),
}

/// The literal `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AutoLiteral {
    /// `auto`.
    Auto,
}

/// `release.notes:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotes {
    /// A minijinja template file, relative to the repository; default: the built-in template.
    pub template: Option<String>,
    /// `managed` (only the marked block), `replace` (the whole description) or `keep`.
    pub mode: Option<NotesMode>,
}

/// Who owns the release description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotesMode {
    /// relsync owns only the text between its markers.
    #[default]
    Managed,
    /// relsync owns the whole description.
    Replace,
    /// relsync never changes an existing description.
    Keep,
}

/// `changelog:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChangelog {
    /// Glob of the tags that are releases; default `v*`.
    pub tag_pattern: Option<String>,
    /// Glob(s) of tags never chosen as the previous release.
    pub ignore_tags: Option<OneOrMany>,
    /// Explicit previous release tag.
    pub since: Option<String>,
    /// Parse conventional commits; default true.
    pub conventional: Option<bool>,
    /// Ordered groups of the notes.
    pub groups: Option<Vec<RawGroup>>,
    /// Regexes on the subject; a match leaves the commit out.
    pub exclude: Option<Vec<String>>,
    /// Keep merge commits; default false.
    pub include_merges: Option<bool>,
    /// Monorepos: only commits touching these globs.
    pub paths: Option<Vec<String>>,
    /// `error` (default) or `warn` when a shallow clone cuts the range.
    pub on_shallow: Option<OnShallowRaw>,
    /// Keep breaking changes that `exclude` matches; default true.
    pub protect_breaking: Option<bool>,
    /// Leave out release commits (`chore(release): …`, `v1.2.3`); default true.
    pub skip_release_commits: Option<bool>,
    /// `commits` (default): one entry per commit; `merge_requests`: one per merge request
    /// or pull request, titled by it.
    pub entries: Option<EntriesRaw>,
    /// Who is listed as a contributor.
    pub contributors: Option<RawContributors>,
}

/// `changelog.entries:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntriesRaw {
    /// One entry per commit.
    Commits,
    /// One entry per merge request (pull request), titled by it.
    MergeRequests,
}

/// `changelog.contributors:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawContributors {
    /// Leave out bots (`[bot]`, Renovate, Dependabot); default true.
    pub exclude_bots: Option<bool>,
    /// Globs on names or emails (any case) of people left out.
    pub exclude: Option<Vec<String>>,
}

/// One string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Many.
    Many(Vec<String>),
}

impl OneOrMany {
    /// As a list.
    #[must_use]
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

/// One changelog group.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// The heading.
    pub title: String,
    /// Conventional types it takes.
    #[serde(default)]
    pub types: Vec<String>,
    /// Takes breaking changes.
    #[serde(default)]
    pub breaking: bool,
    /// Takes what no other group takes.
    #[serde(default)]
    pub default: bool,
    /// Conventional scopes it takes (checked before types).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// A regex on the subject it takes (checked before types).
    pub subject: Option<String>,
    /// Leave its commits out of the notes.
    #[serde(default)]
    pub hidden: bool,
    /// Fold it (`<details>`) in the default template.
    #[serde(default)]
    pub collapsed: bool,
    /// Replace the scope of its commits (`""` removes it).
    pub scope: Option<String>,
}

/// `assets:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAssets {
    /// URL links.
    pub links: Option<Vec<RawLink>>,
    /// Files to upload, by glob.
    pub files: Option<Vec<RawFile>>,
    /// GitLab generic package the files go to.
    pub package: Option<RawPackage>,
    /// Name of the checksums file generated over all files, or `false`.
    pub checksums: Option<Checksums>,
    /// `managed` (default), `all` or `none`.
    pub prune: Option<Prune>,
    /// Upload files reached through symbolic links (their targets must be inside the
    /// repository); default false: a symlink is refused.
    pub follow_symlinks: Option<bool>,
}

/// `checksums:` — a file name, or `false`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Checksums {
    /// `false` turns it off (`true` means the default name).
    Bool(bool),
    /// The file name.
    Name(String),
}

/// Which assets relsync deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Prune {
    /// Only assets relsync created earlier and the manifest no longer lists.
    #[default]
    Managed,
    /// Every asset the manifest does not list.
    All,
    /// Nothing.
    None,
}

/// A link type, as GitLab defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LinkType {
    /// Other.
    #[default]
    Other,
    /// A runbook.
    Runbook,
    /// An image.
    Image,
    /// A package.
    Package,
}

impl LinkType {
    /// GitLab's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Other => "other",
            Self::Runbook => "runbook",
            Self::Image => "image",
            Self::Package => "package",
        }
    }
}

/// One URL link.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    /// The link's name (template).
    pub name: String,
    /// The URL (template): http, https or ftp.
    pub url: String,
    /// `other`, `runbook`, `image` or `package`.
    #[serde(rename = "type")]
    pub link_type: Option<LinkType>,
    /// GitLab: a permanent path under the release's downloads.
    pub direct_asset_path: Option<String>,
}

/// One file entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// Glob, relative to the repository.
    pub path: String,
    /// The asset name (template; `file.name` is the file's name).
    pub name: Option<String>,
    /// `other`, `runbook`, `image` or `package`.
    #[serde(rename = "type")]
    pub link_type: Option<LinkType>,
    /// GitLab: a permanent path under the release's downloads (template).
    pub direct_asset_path: Option<String>,
}

/// `assets.package:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPackage {
    /// Package name (template); default the project name.
    pub name: Option<String>,
    /// Package version (template); default the version.
    pub version: Option<String>,
}

/// `template:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTemplate {
    /// Extra environment variables templates may read as `env.NAME`.
    pub env: Option<Vec<String>>,
}

/// `on_shallow:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnShallowRaw {
    /// Exit 2, naming the fix.
    Error,
    /// Go on with a warning.
    Warn,
}
