//! Turns the raw manifest into validated settings with defaults applied.
//!
//! Everything that can be checked without git or the forge is checked here, so that
//! `relsync check` and every other command fail before any request with an error that
//! names the key path, the file and the line.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use regex::Regex;

use super::raw::{self, Checksums, ForgeKind, LinkType, NotesMode, Prerelease, Prune, RawManifest};
use super::yaml::LineIndex;
use crate::changelog::{self, ChangelogSettings, GroupSpec, OnShallow};
use crate::error::InputError;
use crate::matchers::{self, FileGlob};

/// The validated manifest. Template strings are kept as source (they render once the
/// changelog is known) but their syntax has been checked.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it was read from; `None` for the built-in defaults.
    pub source: Option<PathBuf>,
    /// `forge:`.
    pub forge: ForgeSection,
    /// `release:`.
    pub release: ReleaseSection,
    /// `changelog:`.
    pub changelog: ChangelogSettings,
    /// `assets:`.
    pub assets: AssetsSection,
    /// `template.env`: variables templates may read.
    pub template_env: Vec<String>,
    lines: LineIndex,
}

/// `forge:` — each value may still be overridden by flags and the environment.
#[derive(Debug, Clone, Default)]
pub struct ForgeSection {
    /// The forge kind.
    pub kind: Option<ForgeKind>,
    /// The server.
    pub server: Option<String>,
    /// The project id or path.
    pub project: Option<String>,
    /// The name of the variable holding the token.
    pub token_env: Option<String>,
    /// A CA bundle, resolved against the repository.
    pub ca_file: Option<PathBuf>,
    /// How many writes `apply` sends at once.
    pub concurrency: Option<u16>,
}

/// `release:` with defaults applied.
#[derive(Debug, Clone)]
pub struct ReleaseSection {
    /// Tag template; `None`: from `--tag` or CI.
    pub tag: Option<String>,
    /// Title template.
    pub name: String,
    /// Ref template for creating the tag; `None`: the release commit.
    pub git_ref: Option<String>,
    /// Tag message template; `None`: lightweight tag.
    pub tag_message: Option<String>,
    /// Milestone templates.
    pub milestones: Vec<String>,
    /// Fixed release date.
    pub released_at: Option<DateTime<Utc>>,
    /// Tencent Git labels.
    pub labels: Vec<String>,
    /// Keep as draft.
    pub draft: bool,
    /// `None` = auto.
    pub prerelease: Option<bool>,
    /// User template, resolved against the repository; `None`: built-in.
    pub notes_template: Option<PathBuf>,
    /// Who owns the description.
    pub notes_mode: NotesMode,
    /// Attach the full notes when they are cut to fit the forge's limit.
    pub notes_attach_full: bool,
}

/// `assets:` with defaults applied.
#[derive(Debug, Clone)]
pub struct AssetsSection {
    /// URL links.
    pub links: Vec<LinkSpec>,
    /// File globs.
    pub files: Vec<FileSpec>,
    /// GitLab generic package.
    pub package: PackageSpec,
    /// Checksums file name; `None` = off.
    pub checksums: Option<String>,
    /// Pruning policy.
    pub prune: Prune,
    /// Scope template (matrix builds); `None`: unset.
    pub scope: Option<String>,
    /// Follow symlinks whose targets are inside the repository.
    pub follow_symlinks: bool,
}

/// One declared link (templates unrendered).
#[derive(Debug, Clone)]
pub struct LinkSpec {
    /// Key path, for errors: `assets.links[0]`.
    pub key: String,
    /// Name template.
    pub name: String,
    /// URL template.
    pub url: String,
    /// Link type.
    pub link_type: LinkType,
    /// Direct asset path template.
    pub direct_asset_path: Option<String>,
}

/// One declared file glob (templates unrendered).
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// Key path, for errors: `assets.files[0]`.
    pub key: String,
    /// Glob relative to the repository, as written.
    pub path: String,
    /// The glob compiled once, at resolve time.
    pub glob: FileGlob,
    /// Name template (`{{ file.name }}` by default).
    pub name: String,
    /// Link type.
    pub link_type: LinkType,
    /// Direct asset path template.
    pub direct_asset_path: Option<String>,
}

/// GitLab generic package coordinates (templates).
#[derive(Debug, Clone)]
pub struct PackageSpec {
    /// Name template.
    pub name: String,
    /// Version template.
    pub version: String,
}

/// The default checksums file name.
pub const DEFAULT_CHECKSUMS: &str = "SHA256SUMS";

impl Manifest {
    /// Validates `raw`, read from `source` (with its line index), for a repository at `repo`.
    ///
    /// # Errors
    /// The first invalid value, naming its key path and line.
    pub fn resolve(
        raw: RawManifest,
        source: Option<PathBuf>,
        lines: LineIndex,
        repo: &Path,
    ) -> Result<Self, InputError> {
        let mut m = Self {
            source,
            forge: ForgeSection::default(),
            release: ReleaseSection {
                tag: None,
                name: "{{ tag }}".into(),
                git_ref: None,
                tag_message: None,
                milestones: Vec::new(),
                released_at: None,
                labels: Vec::new(),
                draft: false,
                prerelease: None,
                notes_template: None,
                notes_mode: NotesMode::Managed,
                notes_attach_full: true,
            },
            changelog: default_changelog(),
            assets: AssetsSection {
                links: Vec::new(),
                files: Vec::new(),
                package: PackageSpec {
                    name: "{{ project.name }}".into(),
                    version: "{{ version }}".into(),
                },
                checksums: None,
                prune: Prune::Managed,
                scope: None,
                follow_symlinks: false,
            },
            template_env: Vec::new(),
            lines,
        };
        if let Some(f) = raw.forge {
            m.resolve_forge(f, repo)?;
        }
        if let Some(r) = raw.release {
            m.resolve_release(r, repo)?;
        }
        if let Some(c) = raw.changelog {
            m.resolve_changelog(c)?;
        }
        if let Some(a) = raw.assets {
            m.resolve_assets(a)?;
        }
        if let Some(t) = raw.template {
            for (i, name) in t.env.unwrap_or_default().into_iter().enumerate() {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(m.error(
                        &format!("template.env[{i}]"),
                        format!("`{name}` is not an environment variable name"),
                        "use names made of letters, digits and `_`, such as `CI_PIPELINE_URL`",
                    ));
                }
                if is_secret_name(&name) {
                    return Err(m.error(
                        &format!("template.env[{i}]"),
                        format!("`{name}` looks like a secret; templates may not read tokens"),
                        "remove it from `template.env`",
                    ));
                }
                if let Some(why) = credential_var(&name, m.forge.token_env.as_deref()) {
                    return Err(m.error(
                        &format!("template.env[{i}]"),
                        format!("`{name}` {why}; templates may not read credentials"),
                        "remove it from `template.env`; publish a value without the secret instead",
                    ));
                }
                m.template_env.push(name);
            }
        }
        Ok(m)
    }

    /// Adds file globs given on the command line (`--asset`, the action's `files` input) to
    /// `assets.files`, after the manifest's own, validated as the manifest's are.
    ///
    /// # Errors
    /// An invalid glob or one that leaves the repository (exit 2).
    pub fn add_asset_globs(&mut self, globs: &[String]) -> anyhow::Result<()> {
        for glob in globs {
            let compiled = check_file_glob(glob).map_err(|(what, fix)| {
                crate::error::input_with(format!("`--asset {glob}`: {what}"), fix)
            })?;
            self.assets.files.push(FileSpec {
                key: format!("--asset {glob}"),
                path: glob.clone(),
                glob: compiled,
                name: "{{ file.name }}".into(),
                link_type: LinkType::Package,
                direct_asset_path: None,
            });
        }
        Ok(())
    }

    /// An input error located at `key` in the manifest: `release.yml:12: `assets.files[1].path`: …`.
    pub fn error(
        &self,
        key: &str,
        message: impl std::fmt::Display,
        remedy: impl Into<String>,
    ) -> InputError {
        InputError::new(format!("{}: `{key}`: {message}", self.locate(key))).with_remedy(remedy)
    }

    /// `file:line` of `key`, or the file alone, or `built-in defaults`.
    #[must_use]
    pub fn locate(&self, key: &str) -> String {
        match (&self.source, self.lines.line_of(key)) {
            (Some(f), Some(line)) => format!("{}:{line}", f.display()),
            (Some(f), None) => f.display().to_string(),
            (None, _) => "built-in defaults".to_owned(),
        }
    }

    fn check_template(&self, key: &str, source: &str) -> Result<(), InputError> {
        crate::render::check_syntax(source).map_err(|e| {
            self.error(
                key,
                format!("template syntax error: {e}"),
                "see the minijinja syntax: `{{ version }}`, `{% if … %}`",
            )
        })
    }

    fn resolve_forge(&mut self, f: raw::RawForge, repo: &Path) -> Result<(), InputError> {
        if let Some(env) = &f.token_env
            && (env.is_empty() || !env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            {
                return Err(self.error(
                    "forge.token_env",
                    "must be the NAME of an environment variable, not a token",
                    "write e.g. `token_env: GITLAB_TOKEN` and set that variable in the CI settings",
                ));
            }
        }
        if let Some(server) = &f.server {
            check_url(server).map_err(|m| {
                self.error(
                    "forge.server",
                    m,
                    "write the forge's web root, e.g. `https://gitlab.example.com`",
                )
            })?;
        }
        let ca_file = f.ca_file.map(|p| repo.join(p));
        if let Some(ca) = &ca_file
            && !ca.is_file()
        {
            {
                return Err(self.error(
                    "forge.ca_file",
                    format!("no such file: {}", ca.display()),
                    "give a PEM bundle path relative to the repository",
                ));
            }
        }
        if let Some(n) = f.concurrency
            && !(1..=64).contains(&n)
        {
            return Err(self.error(
                "forge.concurrency",
                format!("{n} is out of range"),
                "write a number from 1 (one write at a time) to 64",
            ));
        }
        self.forge = ForgeSection {
            concurrency: f.concurrency,
            kind: f.kind,
            server: f.server,
            project: f.project.map(raw::StringOrInt::into_string),
            token_env: f.token_env,
            ca_file,
        };
        Ok(())
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one check per `release` key, in the schema's order"
    )]
    fn resolve_release(&mut self, r: raw::RawRelease, repo: &Path) -> Result<(), InputError> {
        for (key, value) in [
            ("release.tag", &r.tag),
            ("release.name", &r.name),
            ("release.ref", &r.git_ref),
            ("release.tag_message", &r.tag_message),
        ] {
            if let Some(v) = value {
                self.check_template(key, v)?;
            }
        }
        let milestones = r.milestones.unwrap_or_default();
        for (i, ms) in milestones.iter().enumerate() {
            self.check_template(&format!("release.milestones[{i}]"), ms)?;
        }
        let released_at = match &r.released_at {
            None => None,
            Some(s) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|e| {
                        self.error(
                            "release.released_at",
                            format!("`{s}` is not an RFC 3339 date-time: {e}"),
                            "write e.g. `2026-12-01T00:00:00Z`",
                        )
                    })?
                    .with_timezone(&Utc),
            ),
        };
        let labels = r.labels.unwrap_or_default();
        if labels.len() > 10 {
            return Err(self.error(
                "release.labels",
                format!(
                    "{} labels given; Tencent Git takes at most 10",
                    labels.len()
                ),
                "keep at most 10 labels",
            ));
        }
        for (i, l) in labels.iter().enumerate() {
            if l.trim().is_empty() || l.contains(',') {
                return Err(self.error(
                    &format!("release.labels[{i}]"),
                    "a label must be non-empty and contain no comma",
                    "remove the empty label",
                ));
            }
        }
        let notes = r.notes.unwrap_or_default();
        let notes_template = match notes.template {
            None => None,
            Some(t) => {
                let p = repo.join(&t);
                if !p.is_file() {
                    return Err(self.error(
                        "release.notes.template",
                        format!("template file not found: {}", p.display()),
                        "give a path relative to the repository, or remove the key to use the built-in template",
                    ));
                }
                Some(p)
            }
        };
        self.release = ReleaseSection {
            tag: r.tag,
            name: r.name.unwrap_or_else(|| self.release.name.clone()),
            git_ref: r.git_ref,
            tag_message: r.tag_message,
            milestones,
            released_at,
            labels,
            draft: r.draft.unwrap_or(false),
            prerelease: match r.prerelease {
                None | Some(Prerelease::Auto(_)) => None,
                Some(Prerelease::Bool(b)) => Some(b),
            },
            notes_template,
            notes_mode: notes.mode.unwrap_or_default(),
            notes_attach_full: notes.attach_full.unwrap_or(true),
        };
        Ok(())
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one check per `changelog` key, in the schema's order"
    )]
    fn resolve_changelog(&mut self, c: raw::RawChangelog) -> Result<(), InputError> {
        let cl = &mut self.changelog.clone();
        if let Some(p) = c.tag_pattern {
            check_glob(&p, matchers::tag_glob).map_err(|e| {
                self.error(
                    "changelog.tag_pattern",
                    e,
                    "write a glob such as `v*` or `v{1,2}.*` (close every `[` and `{`, or escape it with `\\`)",
                )
            })?;
            cl.tag_pattern = p;
        }
        let ignore = c
            .ignore_tags
            .map(raw::OneOrMany::into_vec)
            .unwrap_or_default();
        for (i, g) in ignore.iter().enumerate() {
            check_glob(g, matchers::tag_glob).map_err(|e| {
                self.error(
                    &format!("changelog.ignore_tags[{i}]"),
                    e,
                    "write a glob such as `*-rc*` or `*-{alpha,beta}*` (close every `[` and `{`, or escape it with `\\`)",
                )
            })?;
        }
        cl.ignore_tags = ignore;
        cl.since = c.since.filter(|s| !s.is_empty());
        cl.conventional = c.conventional.unwrap_or(true);
        if let Some(groups) = c.groups {
            if groups.is_empty() {
                return Err(self.error(
                    "changelog.groups",
                    "no groups given",
                    "list at least one group, e.g. `{ title: Changes, default: true }`",
                ));
            }
            let defaults = groups.iter().filter(|g| g.default).count();
            if defaults > 1 {
                return Err(self.error(
                    "changelog.groups",
                    "more than one group has `default: true`",
                    "mark exactly one group as the default",
                ));
            }
            for (i, g) in groups.iter().enumerate() {
                if let Some(re) = &g.subject {
                    Regex::new(re).map_err(|e| {
                        self.error(
                            &format!("changelog.groups[{i}].subject"),
                            format!("invalid regex: {e}"),
                            "escape special characters with `\\\\`",
                        )
                    })?;
                }
            }
            let mut specs: Vec<GroupSpec> = groups
                .into_iter()
                .map(|g| GroupSpec {
                    title: g.title,
                    types: g.types,
                    breaking: g.breaking,
                    default: g.default,
                    scopes: g.scopes,
                    subject: g.subject,
                    hidden: g.hidden,
                    collapsed: g.collapsed,
                    scope: g.scope,
                })
                .collect();
            if defaults == 0 {
                // Commits that no group takes must still appear somewhere.
                specs.push(GroupSpec {
                    title: "Other".into(),
                    default: true,
                    ..GroupSpec::default()
                });
            }
            cl.groups = specs;
        }
        let mut exclude = Vec::new();
        for (i, re) in c.exclude.unwrap_or_default().iter().enumerate() {
            exclude.push(Regex::new(re).map_err(|e| {
                self.error(
                    &format!("changelog.exclude[{i}]"),
                    format!("invalid regex: {e}"),
                    "escape special characters with `\\\\`",
                )
            })?);
        }
        cl.exclude = exclude;
        cl.include_merges = c.include_merges.unwrap_or(false);
        let paths = c.paths.unwrap_or_default();
        for (i, p) in paths.iter().enumerate() {
            // As the changelog reads it: `!` negates, `./` and a trailing `/` are dropped.
            let bare = p.strip_prefix('!').unwrap_or(p);
            let bare = bare.trim_start_matches("./").trim_end_matches('/');
            check_glob(bare, matchers::path_glob).map_err(|e| {
                self.error(
                    &format!("changelog.paths[{i}]"),
                    e,
                    "write a glob relative to the repository, e.g. `services/api/**` or `services/{api,web}/**` (close every `[` and `{`, or escape it with `\\`)",
                )
            })?;
        }
        cl.paths = paths;
        cl.on_shallow = match c.on_shallow {
            Some(raw::OnShallowRaw::Warn) => OnShallow::Warn,
            _ => OnShallow::Error,
        };
        cl.protect_breaking = c.protect_breaking.unwrap_or(true);
        cl.skip_release_commits = c.skip_release_commits.unwrap_or(true);
        cl.entries = match c.entries {
            Some(raw::EntriesRaw::MergeRequests) => changelog::Entries::MergeRequests,
            _ => changelog::Entries::Commits,
        };
        let people = c.contributors.unwrap_or_default();
        let exclude = people.exclude.unwrap_or_default();
        for (i, g) in exclude.iter().enumerate() {
            check_glob(g, matchers::people_glob).map_err(|e| {
                self.error(
                    &format!("changelog.contributors.exclude[{i}]"),
                    e,
                    "write a name or email glob such as `*@bots.example.com`",
                )
            })?;
        }
        cl.contributors = changelog::ContributorSettings {
            exclude_bots: people.exclude_bots.unwrap_or(true),
            exclude,
        };
        // Checked key by key above, so this compiles; each matcher is compiled here, once.
        cl.compile()
            .map_err(|e| self.error("changelog", e.to_string(), "fix the glob it names"))?;
        self.changelog = cl.clone();
        Ok(())
    }

    fn resolve_assets(&mut self, a: raw::RawAssets) -> Result<(), InputError> {
        for (i, l) in a.links.unwrap_or_default().into_iter().enumerate() {
            let key = format!("assets.links[{i}]");
            self.check_template(&format!("{key}.name"), &l.name)?;
            self.check_template(&format!("{key}.url"), &l.url)?;
            if let Some(d) = &l.direct_asset_path {
                self.check_template(&format!("{key}.direct_asset_path"), d)?;
            }
            self.assets.links.push(LinkSpec {
                key,
                name: l.name,
                url: l.url,
                link_type: l.link_type.unwrap_or_default(),
                direct_asset_path: l.direct_asset_path,
            });
        }
        for (i, f) in a.files.unwrap_or_default().into_iter().enumerate() {
            let key = format!("assets.files[{i}]");
            let glob = check_file_glob(&f.path)
                .map_err(|(what, fix)| self.error(&format!("{key}.path"), what, fix))?;
            let name = f.name.unwrap_or_else(|| "{{ file.name }}".into());
            self.check_template(&format!("{key}.name"), &name)?;
            if let Some(d) = &f.direct_asset_path {
                self.check_template(&format!("{key}.direct_asset_path"), d)?;
            }
            self.assets.files.push(FileSpec {
                key,
                path: f.path,
                glob,
                name,
                link_type: f.link_type.unwrap_or(LinkType::Package),
                direct_asset_path: f.direct_asset_path,
            });
        }
        if let Some(p) = a.package {
            if let Some(n) = p.name {
                self.check_template("assets.package.name", &n)?;
                self.assets.package.name = n;
            }
            if let Some(v) = p.version {
                self.check_template("assets.package.version", &v)?;
                self.assets.package.version = v;
            }
        }
        self.assets.checksums = match a.checksums {
            None | Some(Checksums::Bool(false)) => None,
            Some(Checksums::Bool(true)) => Some(DEFAULT_CHECKSUMS.to_owned()),
            Some(Checksums::Name(n)) => {
                crate::assets::check_asset_name(&n).map_err(|e| {
                    self.error(
                        "assets.checksums",
                        e,
                        "write a plain file name such as `SHA256SUMS`, or `false`",
                    )
                })?;
                Some(n)
            }
        };
        self.assets.prune = a.prune.unwrap_or_default();
        if let Some(scope) = a.scope {
            self.check_template("assets.scope", &scope)?;
            self.assets.scope = Some(scope);
        }
        self.assets.follow_symlinks = a.follow_symlinks.unwrap_or(false);
        Ok(())
    }
}

/// The changelog defaults: `v*` tags, conventional commits, the default groups.
fn default_changelog() -> ChangelogSettings {
    ChangelogSettings::default()
}

/// Compiles `g` with the dialect's `build` for its key (see [`crate::matchers`]).
fn check_glob(
    g: &str,
    build: fn(&str) -> Result<globset::Glob, globset::Error>,
) -> Result<(), String> {
    if g.is_empty() {
        return Err("empty glob".into());
    }
    build(g)
        .map(|_| ())
        .map_err(|e| format!("invalid glob `{g}`: {}", glob_error(&e)))
}

/// globset's message without its `error parsing glob '…': ` prefix (the key and the value
/// are named already).
fn glob_error(e: &globset::Error) -> String {
    e.kind().to_string()
}

/// Whether `s` is an absolute http(s) URL with a host.
pub(crate) fn check_url(s: &str) -> Result<(), String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("`{s}` is not an http(s) URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{s}` has no host"));
    }
    Ok(())
}

/// Variables that hold a credential (or embed one, like GitLab's `CI_REPOSITORY_URL`, which
/// carries the job token): the token variables of every forge and `RELSYNC_TOKEN`.
pub const CREDENTIAL_VARS: &[&str] = &[
    crate::env_vars::RELSYNC_TOKEN,
    crate::env_vars::GITLAB_TOKEN,
    crate::env_vars::CI_JOB_TOKEN,
    crate::env_vars::TGIT_TOKEN,
    crate::env_vars::GITHUB_TOKEN,
    crate::env_vars::GITEA_TOKEN,
    "CI_REPOSITORY_URL",
];

/// Why `name` may not be read by templates, when it names a credential: one of
/// [`CREDENTIAL_VARS`] or the variable `forge.token_env` names.
#[must_use]
pub fn credential_var(name: &str, token_env: Option<&str>) -> Option<&'static str> {
    if token_env == Some(name) {
        return Some("is the variable `forge.token_env` names: it holds the token");
    }
    if name == "CI_REPOSITORY_URL" {
        return Some("embeds the CI job token");
    }
    CREDENTIAL_VARS
        .contains(&name)
        .then_some("holds a forge token")
}

/// Names that hold secrets are never readable from templates.
fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["TOKEN", "PASSWORD", "SECRET", "PRIVATE_KEY"]
        .iter()
        .any(|w| upper.contains(w))
}

/// Checks and compiles a file glob of `assets.files`: valid syntax, relative, never above the
/// repository. The problem and its remedy otherwise.
fn check_file_glob(path: &str) -> Result<FileGlob, (String, &'static str)> {
    if path.is_empty() {
        return Err((
            "empty glob".into(),
            "write a glob relative to the repository, e.g. `dist/*.tar.gz`",
        ));
    }
    let glob = FileGlob::new(path).map_err(|e| {
        (
            format!("invalid glob `{path}`: {}", glob_error(&e)),
            "write a glob relative to the repository, e.g. `dist/*.tar.gz` or `dist/*.{zip,tar.gz}` (close every `[` and `{`, or escape it with `\\`)",
        )
    })?;
    if Path::new(path).is_absolute() || path.split('/').any(|s| s == "..") {
        return Err((
            "must stay inside the repository".into(),
            "write a path relative to the repository, without `..`",
        ));
    }
    Ok(glob)
}
