//! The changelog: which commits a release contains, read from git history with git2.
//!
//! `collect` resolves the release tag and the previous release, walks the range once and
//! parses each commit (conventional commits, footers, trailers) into the template model.

mod model;
mod parse;
mod walk;

pub use model::{Changelog, Commit, Footer, Group, Person};
pub use parse::{Parsed, parse_message};

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Once;

use anyhow::{Context as _, Result};
use chrono::{DateTime, TimeZone as _, Utc};
use git2::{Oid, Repository, RepositoryOpenFlags};
use globset::{GlobSet, GlobSetBuilder};
use regex::Regex;

use crate::error::{input, input_with};

/// Validated changelog settings (from `changelog:` in release.yml), nothing optional left
/// but what is optional by meaning.
#[derive(Debug, Clone)]
pub struct ChangelogSettings {
    /// Glob on tag names that marks releases (`v*`). Its literal prefix is cut to get the version.
    pub tag_pattern: String,
    /// Globs of tags never chosen as the previous release (`*-rc*`).
    pub ignore_tags: Vec<String>,
    /// Explicit previous release tag; overrides detection.
    pub since: Option<String>,
    /// Parse conventional commit subjects.
    pub conventional: bool,
    /// Ordered groups; order = order in the notes.
    pub groups: Vec<GroupSpec>,
    /// Regexes on the subject; a match drops the commit.
    pub exclude: Vec<Regex>,
    /// Keep merge commits in the changelog.
    pub include_merges: bool,
    /// Monorepo filter: only commits touching these globs (relative to the repo root).
    pub paths: Vec<String>,
    /// What to do when a shallow clone cuts the range.
    pub on_shallow: OnShallow,
}

/// One changelog group: which commits it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// Heading in the notes.
    pub title: String,
    /// Conventional types it takes (`feat`, `fix`).
    pub types: Vec<String>,
    /// Takes breaking changes (checked before `types`).
    pub breaking: bool,
    /// Takes everything no other group takes.
    pub default: bool,
}

/// What a shallow clone that cuts the range does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnShallow {
    /// Exit 2 naming the fix.
    Error,
    /// Go on, with a warning that the changelog may be incomplete.
    Warn,
}

/// Which release to collect.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The release tag, from `--tag` or the CI context. It may not exist in the repository
    /// yet (the forge creates it from `commit`).
    pub tag: Option<String>,
    /// The release commit (a revspec: sha, branch); `None` = `HEAD`.
    pub commit: Option<String>,
}

impl Default for ChangelogSettings {
    /// The documented defaults: `v*` tags, conventional commits, the default groups,
    /// merges dropped, shallow clones an error.
    fn default() -> Self {
        Self {
            tag_pattern: "v*".to_string(),
            ignore_tags: Vec::new(),
            since: None,
            conventional: true,
            groups: default_groups(),
            exclude: Vec::new(),
            include_merges: false,
            paths: Vec::new(),
            on_shallow: OnShallow::Error,
        }
    }
}

impl GroupSpec {
    fn new(title: &str, types: &[&str], breaking: bool, default: bool) -> Self {
        Self {
            title: title.to_string(),
            types: types.iter().map(|t| (*t).to_string()).collect(),
            breaking,
            default,
        }
    }
}

/// The built-in groups: Breaking changes, Features, Bug fixes, Performance, Other.
#[must_use]
pub fn default_groups() -> Vec<GroupSpec> {
    vec![
        GroupSpec::new("Breaking changes", &[], true, false),
        GroupSpec::new("Features", &["feat"], false, false),
        GroupSpec::new("Bug fixes", &["fix"], false, false),
        GroupSpec::new("Performance", &["perf"], false, false),
        GroupSpec::new("Other", &[], false, true),
    ]
}

/// The version a tag names: the tag without `tag_pattern`'s literal prefix (`v*`:
/// `v1.2.3` -> `1.2.3`; `release/*`: `release/1.0` -> `1.0`). A tag without the prefix
/// is its own version.
#[must_use]
pub fn version_of(tag: &str, tag_pattern: &str) -> String {
    let prefix = walk::literal_prefix(tag_pattern);
    match tag.strip_prefix(prefix) {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => tag.to_string(),
    }
}

const SHALLOW_REMEDY: &str = "fetch the whole history: set `GIT_DEPTH: 0` in .gitlab-ci.yml, or `fetch-depth: 0` in actions/checkout";

/// Collect the changelog of one release from the repository at (or above) `repo`.
///
/// Resolves the release tag and commit from `target` (or the tags on `HEAD`), finds the
/// previous release (`since`, else the nearest ancestor tag matching `tag_pattern` and not
/// `ignore_tags`), walks the range once and parses, filters and groups its commits.
///
/// # Errors
/// An [`crate::error::InputError`] (exit 2) for a missing repository, bad globs, an
/// unknown `since` or commit, or a shallow history that cuts the range with
/// `on_shallow: error`; other errors for git failures.
pub fn collect(repo: &Path, settings: &ChangelogSettings, target: &Target) -> Result<Changelog> {
    let __t0 = std::time::Instant::now();
    let __ph = std::env::var_os("RELSYNC_PHASES").is_some();
    let __p = |n: &str| {
        if __ph {
            eprintln!("{n}: {:?}", __t0.elapsed());
        }
    };
    static INIT: Once = Once::new();
    // Objects are read, never written: skip re-hashing every object we inflate.
    INIT.call_once(|| git2::opts::strict_hash_verification(false));

    let git = Repository::open_ext(
        repo,
        RepositoryOpenFlags::empty(),
        std::iter::empty::<&str>(),
    )
    .map_err(|e| {
        input_with(
            format!(
                "{} is not in a git repository: {}",
                repo.display(),
                e.message()
            ),
            "run relsync in the repository's working copy, or pass -C/--repo DIR",
        )
    })?;

    __p("open");
    let pattern = if settings.tag_pattern.is_empty() {
        "*"
    } else {
        settings.tag_pattern.as_str()
    };
    let tag_matcher = walk::tag_glob(pattern).map_err(|e| {
        input(format!(
            "changelog.tag_pattern: `{pattern}` is not a valid glob: {e}"
        ))
    })?;
    let ignore = ignore_set(&settings.ignore_tags)?;
    let path_filter = walk::PathFilter::new(&settings.paths)
        .map_err(|e| input(format!("changelog.paths: invalid glob: {e}")))?;
    let prefix = walk::literal_prefix(pattern);
    let shallow = walk::shallow_boundary(&git);
    let tags = walk::TagIndex::read(&git, |name| tag_matcher.is_match(name))?;

    __p("tags");
    // The release: tag, commit, and the annotated tag object for its date.
    let explicit = match &target.commit {
        Some(spec) => Some(resolve_commit(&git, spec, !shallow.is_empty())?),
        None => None,
    };
    let (tag, tag_exists, release, tag_object) = match &target.tag {
        Some(name) => match walk::lookup_tag(&git, name)? {
            Some((commit, object)) => (Some(name.clone()), true, commit, object),
            None => {
                let commit = match explicit {
                    Some(c) => c,
                    None => head(&git)?,
                };
                (Some(name.clone()), false, commit, None)
            }
        },
        None => {
            let commit = match explicit {
                Some(c) => c,
                None => head(&git)?,
            };
            match tags.best_on(commit, prefix, |_| true) {
                Some(name) => {
                    let object = walk::lookup_tag(&git, name)?.and_then(|(_, object)| object);
                    (Some(name.to_string()), true, commit, object)
                }
                None => (None, false, commit, None),
            }
        }
    };
    let release_commit = git
        .find_commit(release)
        .with_context(|| format!("reading the release commit {release}"))?;
    let date = tag_object
        .and_then(|oid| git.find_tag(oid).ok())
        .and_then(|t| t.tagger().map(|s| s.when().seconds()))
        .map_or_else(|| utc(release_commit.time().seconds()), utc);

    __p("release");
    // The previous release.
    let (previous_tag, hide) = match &settings.since {
        Some(since) => {
            let commit = resolve_since(&git, since, !shallow.is_empty())?;
            (Some(since.clone()), Some(commit))
        }
        None => {
            let found = walk::nearest_tag(&git, release, &tags, prefix, |name| {
                Some(name) != tag.as_deref() && !ignore.is_match(name)
            })?;
            match found {
                Some((name, commit)) => (Some(name), Some(commit)),
                None => (None, None),
            }
        }
    };

    __p("previous");
    // One walk over the range.
    let mut entries: Vec<Entry> = Vec::new();
    let mut cut: Option<Oid> = None;
    for oid in walk::range(&git, release, hide)? {
        let oid = oid.context("walking the history")?;
        if cut.is_none() && shallow.contains(&oid) {
            cut = Some(oid);
            if settings.on_shallow == OnShallow::Error {
                return Err(input_with(
                    format!(
                        "the git history is shallow and cuts the release range: {}",
                        shallow_detail(release, oid, previous_tag.as_deref())
                    ),
                    SHALLOW_REMEDY,
                ));
            }
        }
        let commit = git
            .find_commit(oid)
            .with_context(|| format!("reading commit {oid}"))?;
        let message = String::from_utf8_lossy(commit.message_bytes());
        let parsed = parse_message(&message, settings.conventional);
        let merge = commit.parent_count() > 1;
        let keep = (settings.include_merges || !merge)
            && match &path_filter {
                Some(filter) => filter.touches(&git, &commit)?,
                None => true,
            };
        entries.push(Entry {
            id: oid.to_string(),
            revert: parsed.revert.clone(),
            commit: keep.then(|| build_commit(&commit, parsed, merge)),
        });
    }
    let shallow_warning = cut.map(|oid| {
        format!(
            "the git history is shallow and cuts the release range ({}); the changelog may be incomplete. To fix it, {SHALLOW_REMEDY}",
            shallow_detail(release, oid, previous_tag.as_deref())
        )
    });

    __p("walk");
    drop_revert_pairs(&mut entries);
    let mut commits: Vec<Commit> = entries
        .into_iter()
        .filter_map(|e| e.commit)
        .filter(|c| !settings.exclude.iter().any(|re| re.is_match(&c.subject)))
        .collect();

    // Groups: breaking first, then types, then the default group.
    let mut grouped: Vec<Vec<Commit>> = vec![Vec::new(); settings.groups.len()];
    for commit in &mut commits {
        if let Some(i) = group_of(commit, &settings.groups) {
            commit.group.clone_from(&settings.groups[i].title);
            grouped[i].push(commit.clone());
        }
    }
    let groups = settings
        .groups
        .iter()
        .zip(grouped)
        .filter(|(_, commits)| !commits.is_empty())
        .map(|(spec, commits)| Group {
            title: spec.title.clone(),
            commits,
        })
        .collect();
    let breaking_changes = commits.iter().filter(|c| c.breaking).cloned().collect();
    let contributors = contributors(&commits);

    __p("groups");
    Ok(Changelog {
        version: tag
            .as_deref()
            .map_or_else(|| "unreleased".to_string(), |t| version_of(t, pattern)),
        tag,
        tag_exists,
        previous_tag,
        commit: release.to_string(),
        date,
        commits,
        groups,
        breaking_changes,
        contributors,
        shallow_warning,
    })
}

/// A walked commit: its id and revert target (for pairing), and the parsed commit when the
/// merge and path filters keep it.
struct Entry {
    id: String,
    revert: Option<String>,
    commit: Option<Commit>,
}

/// Drop a revert and the commit it reverts when both are in the range. Newest first, so a
/// revert of a revert cancels only the revert and the original change stays.
fn drop_revert_pairs(entries: &mut [Entry]) {
    if entries.iter().all(|e| e.revert.is_none()) {
        return;
    }
    let index: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();
    let mut dropped = vec![false; entries.len()];
    for i in 0..entries.len() {
        if dropped[i] {
            continue;
        }
        let Some(target) = entries[i].revert.as_deref() else {
            continue;
        };
        let found = index
            .get(target)
            .copied()
            .or_else(|| entries.iter().position(|e| e.id.starts_with(target)));
        if let Some(j) = found
            && j != i
            && !dropped[j]
        {
            dropped[i] = true;
            dropped[j] = true;
        }
    }
    for (entry, dropped) in entries.iter_mut().zip(dropped) {
        if dropped {
            entry.commit = None;
        }
    }
}

fn group_of(commit: &Commit, groups: &[GroupSpec]) -> Option<usize> {
    if commit.breaking
        && let Some(i) = groups.iter().position(|g| g.breaking)
    {
        return Some(i);
    }
    if let Some(kind) = &commit.r#type
        && let Some(i) = groups
            .iter()
            .position(|g| g.types.iter().any(|t| t.eq_ignore_ascii_case(kind)))
    {
        return Some(i);
    }
    groups.iter().position(|g| g.default)
}

fn contributors(commits: &[Commit]) -> Vec<Person> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut people = Vec::new();
    for commit in commits {
        for person in std::iter::once(&commit.author).chain(&commit.co_authors) {
            let key = if person.email.is_empty() {
                format!("name:{}", person.name.to_lowercase())
            } else {
                person.email.to_lowercase()
            };
            if seen.insert(key) {
                people.push(person.clone());
            }
        }
    }
    people
}

fn build_commit(commit: &git2::Commit<'_>, parsed: Parsed, merge: bool) -> Commit {
    let id = commit.id().to_string();
    let author = commit.author();
    Commit {
        short_id: id.chars().take(7).collect(),
        id,
        subject: parsed.subject,
        description: parsed.description,
        body: parsed.body,
        r#type: parsed.r#type,
        scope: parsed.scope,
        breaking: parsed.breaking,
        breaking_description: parsed.breaking_description,
        footers: parsed.footers,
        author: Person {
            name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        },
        co_authors: parsed.co_authors,
        date: utc(author.when().seconds()),
        group: String::new(),
        merge,
        revert: parsed.revert,
    }
}

fn utc(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn ignore_set(globs: &[String]) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let compiled = globset::GlobBuilder::new(glob)
            .literal_separator(false)
            .build()
            .map_err(|e| {
                input(format!(
                    "changelog.ignore_tags: `{glob}` is not a valid glob: {e}"
                ))
            })?;
        builder.add(compiled);
    }
    builder
        .build()
        .map_err(|e| input(format!("changelog.ignore_tags: {e}")))
}

fn head(git: &Repository) -> Result<Oid> {
    let head = git.head().map_err(|e| {
        if e.code() == git2::ErrorCode::UnbornBranch {
            input("the repository has no commits yet: there is nothing to release")
        } else {
            anyhow::Error::new(e).context("reading HEAD")
        }
    })?;
    Ok(head.peel_to_commit().context("HEAD is not a commit")?.id())
}

fn resolve_commit(git: &Repository, spec: &str, shallow: bool) -> Result<Oid> {
    match git.revparse_single(spec).and_then(|o| o.peel_to_commit()) {
        Ok(commit) => Ok(commit.id()),
        Err(_) if shallow => Err(input_with(
            format!(
                "the release commit `{spec}` is not in the repository, whose history is shallow"
            ),
            SHALLOW_REMEDY,
        )),
        Err(_) => Err(input_with(
            format!("the release commit `{spec}` is not in the repository"),
            "check the commit (RELSYNC_REF, CI_COMMIT_SHA, GITHUB_SHA), or fetch it",
        )),
    }
}

fn resolve_since(git: &Repository, since: &str, shallow: bool) -> Result<Oid> {
    if let Some((commit, _)) = walk::lookup_tag(git, since)? {
        return Ok(commit);
    }
    if let Ok(commit) = git.revparse_single(since).and_then(|o| o.peel_to_commit()) {
        return Ok(commit.id());
    }
    if shallow {
        Err(input_with(
            format!(
                "changelog.since: tag `{since}` is not in the repository; the git history is shallow, so the tag was probably not fetched"
            ),
            SHALLOW_REMEDY,
        ))
    } else {
        Err(input_with(
            format!("changelog.since: tag `{since}` does not exist in the repository"),
            "check the tag name, or fetch the tags (`git fetch --tags`)",
        ))
    }
}

fn shallow_detail(release: Oid, boundary: Oid, previous: Option<&str>) -> String {
    let short = |oid: Oid| oid.to_string()[..7].to_string();
    match previous {
        Some(tag) => format!(
            "the walk from {} reached commit {}, whose parents were not fetched, before the previous release `{tag}`",
            short(release),
            short(boundary)
        ),
        None => format!(
            "no previous release tag was found and the walk from {} reached commit {}, whose parents were not fetched, before the first commit",
            short(release),
            short(boundary)
        ),
    }
}
