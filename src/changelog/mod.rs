//! The changelog: which commits a release contains, read from git history with git2.
//!
//! `collect` resolves the release tag and the previous release, walks the range once and
//! parses each commit (conventional commits, footers, trailers) into the template model.

mod model;
mod parse;
mod read;
mod walk;

pub use model::{Changelog, Commit, Footer, Group, Person};
pub use parse::{Parsed, parse_message};

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Once;

use anyhow::{Context as _, Result};
use chrono::{DateTime, TimeZone as _, Utc};
use git2::{Oid, Repository, RepositoryOpenFlags};
use globset::{GlobSet, GlobSetBuilder};
use regex::Regex;

use crate::error::{input, input_with};
use read::RangeCommit;

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
    // The tag index (every tag reference, peeled) is built only when a search needs it: an
    // explicit release tag and `since` resolve by name alone.
    let mut tags: Option<walk::TagIndex> = None;
    let tag_index = |git: &Repository| -> Result<walk::TagIndex> {
        walk::TagIndex::read(git, |name| tag_matcher.is_match(name))
    };

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
            let index = tags.insert(tag_index(&git)?);
            match index.best_on(commit, prefix, |_| true) {
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

    // Commits are read through one reader, so the previous-release search and the range
    // walk share the object cache.
    let reader = read::Reader::new(&git);

    // The previous release.
    let (previous_tag, hide) = match &settings.since {
        Some(since) => {
            let commit = resolve_since(&git, since, !shallow.is_empty())?;
            (Some(since.clone()), Some(commit))
        }
        None => {
            let index = match tags.take() {
                Some(index) => index,
                None => tag_index(&git)?,
            };
            let found = walk::nearest_tag(&reader, &release_commit, &index, prefix, |name| {
                Some(name) != tag.as_deref() && !ignore.is_match(name)
            })?;
            match found {
                Some((name, commit)) => (Some(name), Some(commit)),
                None => (None, None),
            }
        }
    };

    // One walk over the range.
    let mut cut: Option<Oid> = None;
    // A chain of single-parent commits (the common case) is read directly; anything else
    // (merges, a shallow boundary) goes through a revwalk.
    let chain = if shallow.is_empty() {
        walk::linear_range(&reader, &release_commit, hide)
    } else {
        None
    };
    let walked: Box<dyn Iterator<Item = Result<RangeCommit<'_>>>> = match chain {
        Some(chain) => Box::new(chain.into_iter().map(Ok)),
        None => Box::new(walk::range(&git, release, hide)?.map(|oid| {
            let oid = oid.context("walking the history")?;
            git.find_commit(oid)
                .map(RangeCommit::Git)
                .with_context(|| format!("reading commit {oid}"))
        })),
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(walked.size_hint().0);
    let mut walked = walked.peekable();
    while let Some(commit) = walked.next() {
        let commit = commit?;
        let oid = commit.id();
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
        let merge = commit.parent_count() > 1;
        let keep = (settings.include_merges || !merge)
            && match &path_filter {
                Some(filter) => {
                    let next = walked.peek().and_then(|next| next.as_ref().ok());
                    let parent_tree = first_parent_tree(&git, &commit, next)?;
                    filter.touches(&git, commit.tree_id(), parent_tree)?
                }
                None => true,
            };
        // Lossy UTF-8 borrows the message unless it is invalid. A commit the filters drop
        // still counts for revert pairing, so only its revert target is read.
        let message = String::from_utf8_lossy(commit.message_bytes());
        entries.push(if keep {
            let parsed = parse_message(&message, settings.conventional);
            Entry {
                id: oid,
                revert: parsed.revert.clone(),
                commit: Some(build_commit(&commit, parsed, merge)),
            }
        } else {
            Entry {
                id: oid,
                revert: parse::revert_of(&message, settings.conventional),
                commit: None,
            }
        });
    }
    let shallow_warning = cut.map(|oid| {
        format!(
            "the git history is shallow and cuts the release range ({}); the changelog may be incomplete. To fix it, {SHALLOW_REMEDY}",
            shallow_detail(release, oid, previous_tag.as_deref())
        )
    });

    drop_revert_pairs(&mut entries);
    let mut commits: Vec<Commit> = entries
        .into_iter()
        .filter_map(|e| e.commit)
        .filter(|c| !settings.exclude.iter().any(|re| re.is_match(&c.subject)))
        .collect();

    // Groups: breaking first, then types, then the default group.
    let assigned: Vec<Option<usize>> = commits
        .iter()
        .map(|c| group_of(c, &settings.groups))
        .collect();
    let mut grouped: Vec<Vec<Commit>> = (0..settings.groups.len())
        .map(|i| Vec::with_capacity(assigned.iter().filter(|&&g| g == Some(i)).count()))
        .collect();
    for (commit, group) in commits.iter_mut().zip(assigned) {
        if let Some(i) = group {
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
    id: Oid,
    revert: Option<String>,
    commit: Option<Commit>,
}

/// Drop a revert and the commit it reverts when both are in the range. Newest first, so a
/// revert of a revert cancels only the revert and the original change stays.
fn drop_revert_pairs(entries: &mut [Entry]) {
    if entries.iter().all(|e| e.revert.is_none()) {
        return;
    }
    let ids: Vec<String> = entries.iter().map(|e| e.id.to_string()).collect();
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
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
            .or_else(|| ids.iter().position(|id| id.starts_with(target)));
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
    let mut seen: HashSet<Cow<'_, str>> = HashSet::new();
    let mut people = Vec::new();
    for commit in commits {
        for person in std::iter::once(&commit.author).chain(&commit.co_authors) {
            let email = person.email.as_str();
            let key = if email.is_empty() {
                Cow::Owned(format!("name:{}", person.name.to_lowercase()))
            } else if email.is_ascii() && !email.bytes().any(|b| b.is_ascii_uppercase()) {
                // Already lowercase: no allocation for the common case.
                Cow::Borrowed(email)
            } else {
                Cow::Owned(email.to_lowercase())
            };
            if seen.insert(key) {
                people.push(person.clone());
            }
        }
    }
    people
}

/// The tree of `commit`'s first parent; `None` for a root (or shallow-boundary) commit.
/// In a chain the parent is usually the next commit of the walk, already read.
fn first_parent_tree(
    git: &Repository,
    commit: &RangeCommit<'_>,
    next: Option<&RangeCommit<'_>>,
) -> Result<Option<Oid>> {
    let parent = match commit.first_parent() {
        Some(parent) if commit.parent_count() > 0 => parent,
        _ => return Ok(None),
    };
    if let Some(next) = next
        && next.id() == parent
    {
        return Ok(Some(next.tree_id()));
    }
    let parent = git
        .find_commit(parent)
        .context("reading the first parent's tree")?;
    Ok(Some(parent.tree_id()))
}

fn build_commit(commit: &RangeCommit<'_>, parsed: Parsed, merge: bool) -> Commit {
    let id = hex::encode(commit.id().as_bytes());
    let (author, date) = commit.author();
    Commit {
        short_id: id[..7].to_string(),
        id,
        subject: parsed.subject,
        description: parsed.description,
        body: parsed.body,
        r#type: parsed.r#type,
        scope: parsed.scope,
        breaking: parsed.breaking,
        breaking_description: parsed.breaking_description,
        footers: parsed.footers,
        author,
        co_authors: parsed.co_authors,
        date: utc(date),
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
