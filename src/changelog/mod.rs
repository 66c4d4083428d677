//! The changelog: which commits a release contains, read from git history with git2.
//!
//! `collect` resolves the release tag and the previous release, walks the range once and
//! parses each commit (conventional commits, footers, trailers) into the template model.

mod ahead;
mod first_time;
mod model;
mod pack;
mod parse;
mod people;
mod prepare;
mod read;
mod refs;
mod selection;
mod tags;
mod walk;

pub use first_time::FirstTime;
pub use model::{
    Changelog, Commit, Contributor, Footer, Group, MergeRequest, Notice, Person, Ref, RefKind,
};
pub use parse::{Parsed, parse_message, parse_message_with};
pub use people::is_bot;
pub use refs::{link, parse_merge, parse_refs};

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Once};

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
    /// Breaking changes are kept even when `exclude` matches them.
    pub protect_breaking: bool,
    /// Leave out release commits (`chore(release): …`, `v1.2.3`, `Release 1.2.3`).
    pub skip_release_commits: bool,
    /// One entry per commit, or one per merge request.
    pub entries: Entries,
    /// Who is listed as a contributor.
    pub contributors: ContributorSettings,
    /// The globs above, compiled by [`ChangelogSettings::compile`]; `None`: compiled on use.
    pub compiled: Option<Arc<CompiledGlobs>>,
}

/// `changelog.contributors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributorSettings {
    /// Leave out bots: `[bot]` names and addresses, `renovate`, `dependabot`, GitHub's
    /// bot noreply addresses.
    pub exclude_bots: bool,
    /// Globs on names and emails (any case) of people left out.
    pub exclude: Vec<String>,
}

impl Default for ContributorSettings {
    fn default() -> Self {
        Self {
            exclude_bots: true,
            exclude: Vec::new(),
        }
    }
}

/// What one entry of the notes is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entries {
    /// Each commit.
    #[default]
    Commits,
    /// Each merge request (pull request) read from a merge commit, titled by it; commits
    /// merged without one stay single entries.
    MergeRequests,
}

/// One changelog group: which commits it takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSpec {
    /// Heading in the notes.
    pub title: String,
    /// Conventional types it takes (`feat`, `fix`).
    pub types: Vec<String>,
    /// Conventional scopes it takes (`deps`); checked before types.
    pub scopes: Vec<String>,
    /// A regex on the subject (or the description after the conventional header); checked
    /// before types.
    pub subject: Option<String>,
    /// Takes breaking changes (checked first).
    pub breaking: bool,
    /// Takes everything no other group takes.
    pub default: bool,
    /// Its commits are left out of the notes.
    pub hidden: bool,
    /// Rendered folded (`<details>`) by the default template.
    pub collapsed: bool,
    /// Replaces the scope of its commits; `Some("")` removes it.
    pub scope: Option<String>,
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
            protect_breaking: true,
            skip_release_commits: true,
            entries: Entries::Commits,
            contributors: ContributorSettings::default(),
            compiled: None,
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
            ..Self::default()
        }
    }
}

/// What the default Dependencies group takes besides the `deps`/`deps-dev` scopes: the
/// subjects Renovate and Dependabot write (`Bump x from 1 to 2`, `Update dependency x to
/// v2`, `Update rust crate x to 1.2`, `Update actions/checkout action to v4`, `Pin
/// dependencies`, `Lock file maintenance`).
pub const DEPENDENCY_SUBJECT: &str = r"(?i)^(?:bump \S+ from \S+ to \S+|bump the \S+ group|update (?:dependency|module|(?:\S+ )?(?:crate|package|action|docker tag|image|digest)) \S+ to \S+|update \S+ (?:action|crate|package|docker tag|digest) to \S+|update all(?: non-major)? dependencies|pin dependencies|lock file maintenance)";

/// The built-in groups: Breaking changes, Features, Bug fixes, Performance, Other, then
/// Dependencies (folded, without the `deps` scope).
#[must_use]
pub fn default_groups() -> Vec<GroupSpec> {
    vec![
        GroupSpec::new("Breaking changes", &[], true, false),
        GroupSpec::new("Features", &["feat"], false, false),
        GroupSpec::new("Bug fixes", &["fix"], false, false),
        GroupSpec::new("Performance", &["perf"], false, false),
        GroupSpec::new("Other", &[], false, true),
        dependencies_group(),
    ]
}

/// The built-in Dependencies group.
#[must_use]
pub fn dependencies_group() -> GroupSpec {
    GroupSpec {
        title: "Dependencies".to_string(),
        types: vec!["deps".to_string()],
        scopes: vec!["deps".to_string(), "deps-dev".to_string()],
        subject: Some(DEPENDENCY_SUBJECT.to_string()),
        collapsed: true,
        scope: Some(String::new()),
        ..GroupSpec::default()
    }
}

/// A release commit by its subject: `chore(release): …`, a `release` type, or a version
/// alone (`v1.2.3`, `Release 1.2.3`, `1.2.3`, `Version 2.0`).
fn is_release_commit(c: &Commit) -> bool {
    static VERSION: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"(?i)^(?:(?:release|version|bump version to)\s+)?v?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.+-]*)?$")
            .expect("valid version regex")
    });
    match c.r#type.as_deref() {
        Some("chore") if c.scope.as_deref() == Some("release") => true,
        // Every version has a digit: most subjects are decided without the regex.
        _ if !c.subject.bytes().any(|b| b.is_ascii_digit()) => false,
        _ => VERSION.is_match(c.subject.trim()) || VERSION.is_match(c.description.trim()),
    }
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
/// `ignore_tags`), walks the range once and parses, filters and groups its commits, and
/// finds which contributors are new.
///
/// # Errors
/// An [`crate::error::InputError`] (exit 2) for a missing repository, bad globs, an
/// unknown `since` or commit, or a shallow history that cuts the range with
/// `on_shallow: error`; other errors for git failures.
pub fn collect(repo: &Path, settings: &ChangelogSettings, target: &Target) -> Result<Changelog> {
    let mut changelog = collect_with(repo, settings, target, true)?;
    let new = changelog.first_time.get()?.to_vec();
    for (c, new) in changelog.contributors.iter_mut().zip(new) {
        c.first_time = new;
    }
    Ok(changelog)
}

/// [`collect`], but who is new is left to [`Changelog::first_time`], read on demand: each
/// contributor's `first_time` field stays `false`. Finding who is new reads the whole
/// history before the release; the notes read it only when a template asks.
///
/// # Errors
/// As [`collect`], but for the history before the previous release, read later.
pub fn collect_deferred(
    repo: &Path,
    settings: &ChangelogSettings,
    target: &Target,
) -> Result<Changelog> {
    collect_with(repo, settings, target, false)
}

/// [`collect_deferred`] for a caller that will read [`Changelog::first_time`] (its notes
/// template names it): the walk of the history before the release starts on a thread of
/// its own as soon as the previous release is known, while the range is read, and the
/// first read of `first_time` takes its results.
///
/// # Errors
/// As [`collect_deferred`].
pub fn collect_reading_first_time(
    repo: &Path,
    settings: &ChangelogSettings,
    target: &Target,
) -> Result<Changelog> {
    collect_with(repo, settings, target, true)
}

/// [`collect_deferred`]; `early`: start the walk for `first_time` before the range walk.
fn collect_with(
    repo: &Path,
    settings: &ChangelogSettings,
    target: &Target,
    early: bool,
) -> Result<Changelog> {
    static INIT: Once = Once::new();
    // Objects are read, never written: skip re-hashing every object we inflate.
    INIT.call_once(|| git2::opts::strict_hash_verification(false));

    let git = open(repo)?;
    let matchers = Matchers::new(settings)?;
    // Commits are read through one reader, so the previous-release search and the range
    // walk share the object cache.
    let reader = read::Reader::new(&git);
    // The tag references, read once for every question about tags.
    let tag_refs = tags::TagRefs::new(&git);
    let range = resolve_range(&git, &reader, &tag_refs, &matchers, settings, target)?;
    let early_walk = match range.hide {
        Some(before) if early => first_time::EarlyWalk::start(repo.to_path_buf(), before),
        _ => None,
    };
    let mailmap = people::mailmap(&git);
    let extra_types: Vec<String> = settings
        .groups
        .iter()
        .flat_map(|g| g.types.iter().cloned())
        .collect();
    let walked = walk_range(
        &reader,
        &range,
        settings,
        matchers.globs.paths.as_ref(),
        &extra_types,
        mailmap.as_ref(),
    )?;

    let mut warnings = selection::tag_pattern(
        &tag_refs,
        matchers.pattern,
        &matchers.globs.tags,
        &settings.tag_pattern,
    )?;
    if walked.path_checked > 0 && walked.path_kept == 0 {
        warnings.push(selection::paths_select_nothing(
            &settings.paths,
            walked.path_checked,
        ));
    }
    let selected = select_entries(
        &git,
        walked.entries,
        settings,
        &extra_types,
        mailmap.as_ref(),
    )?;
    let assigned = assign_groups(&selected, &settings.groups);
    let shown = selected
        .iter()
        .zip(&assigned)
        .filter(|(_, group)| shown(&settings.groups, **group))
        .map(|(commit, _)| commit);
    let people = people::gather(shown, &settings.contributors)?;
    // The walk for `first_time` stops once it has met them all: it is told before the
    // groups are built.
    if let Some(walk) = &early_walk {
        walk.look_for(&people);
    }
    let Grouped {
        commits,
        groups,
        breaking_changes,
    } = group_commits(selected, &settings.groups, assigned);
    let contributors = people.people.clone();
    let range_cut = walked.shallow_warning.is_some();
    let first_time = first_time_of(repo, range.hide, range_cut, early_walk, people, settings);

    Ok(Changelog {
        version: range.tag.as_deref().map_or_else(
            || "unreleased".to_string(),
            |t| version_of(t, matchers.pattern),
        ),
        tag: range.tag,
        tag_exists: range.tag_exists,
        previous_tag: range.previous_tag,
        commit: range.release.to_string(),
        date: range.date,
        commits,
        groups,
        breaking_changes,
        contributors,
        first_time,
        shallow_warning: walked.shallow_warning,
        warnings,
    })
}

/// Who of `people` is new, read on demand from the history before `before`; no one when a
/// shallow clone cut the range (`on_shallow: warn`), which says nothing of who came before.
fn first_time_of(
    repo: &Path,
    before: Option<Oid>,
    range_cut: bool,
    early_walk: Option<first_time::EarlyWalk>,
    people: people::People,
    settings: &ChangelogSettings,
) -> FirstTime {
    if range_cut {
        return FirstTime::known(vec![false; people.people.len()]);
    }
    FirstTime::deferred(repo.into(), before, early_walk, people, settings.on_shallow)
}

/// The repository at or above `repo`.
fn open(repo: &Path) -> Result<Repository> {
    Repository::open_ext(
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
    })
}

/// The compiled globs of the settings: invalid ones are input errors, found before any
/// history is read.
struct Matchers<'s> {
    /// `tag_pattern`, `*` when empty.
    pattern: &'s str,
    globs: Arc<CompiledGlobs>,
}

/// `tag_pattern`, `ignore_tags` and `paths`, compiled (see [`ChangelogSettings::compile`]).
#[derive(Debug)]
pub struct CompiledGlobs {
    tags: globset::GlobMatcher,
    ignore: GlobSet,
    paths: Option<walk::PathFilter>,
}

impl CompiledGlobs {
    fn of(settings: &ChangelogSettings) -> Result<Self> {
        let pattern = tag_pattern_or_any(settings);
        let tags = walk::tag_glob(pattern).map_err(|e| {
            input(format!(
                "changelog.tag_pattern: `{pattern}` is not a valid glob: {e}"
            ))
        })?;
        let ignore = ignore_set(&settings.ignore_tags)?;
        let paths = walk::PathFilter::new(&settings.paths)
            .map_err(|e| input(format!("changelog.paths: invalid glob: {e}")))?;
        Ok(Self {
            tags,
            ignore,
            paths,
        })
    }
}

fn tag_pattern_or_any(settings: &ChangelogSettings) -> &str {
    if settings.tag_pattern.is_empty() {
        "*"
    } else {
        settings.tag_pattern.as_str()
    }
}

impl ChangelogSettings {
    /// Compiles `tag_pattern`, `ignore_tags` and `paths` once (the manifest's resolution
    /// does, after checking each pattern), so that collecting does not compile them again.
    /// Call it again after changing one of them; without it they are compiled on use.
    ///
    /// # Errors
    /// A pattern that is not a valid glob (input error naming the key).
    pub fn compile(&mut self) -> Result<()> {
        self.compiled = Some(Arc::new(CompiledGlobs::of(self)?));
        Ok(())
    }
}

impl<'s> Matchers<'s> {
    fn new(settings: &'s ChangelogSettings) -> Result<Self> {
        let globs = match &settings.compiled {
            Some(c) => Arc::clone(c),
            None => Arc::new(CompiledGlobs::of(settings)?),
        };
        Ok(Self {
            pattern: tag_pattern_or_any(settings),
            globs,
        })
    }

    /// The literal prefix of the tag pattern, cut to get versions.
    fn prefix(&self) -> &'s str {
        walk::literal_prefix(self.pattern)
    }

    /// Every tag matching the pattern, peeled.
    fn tag_index(&self, refs: &tags::TagRefs<'_>) -> Result<walk::TagIndex> {
        walk::TagIndex::read(refs, |name| self.globs.tags.is_match(name))
    }
}

/// What the release covers: its tag and commit, and where the previous release ends it.
struct ReleaseRange<'r> {
    tag: Option<String>,
    tag_exists: bool,
    release: Oid,
    release_commit: git2::Commit<'r>,
    date: DateTime<Utc>,
    previous_tag: Option<String>,
    /// The previous release's commit: the range stops at its ancestors.
    hide: Option<Oid>,
    /// Commits whose parents a shallow clone did not fetch.
    shallow: HashSet<Oid>,
}

/// The release: tag, commit, date; then the previous release. The tag index (every tag
/// reference, peeled) is built only when a search needs it, and at most once: an explicit
/// release tag and `since` resolve by name alone.
fn resolve_range<'r>(
    git: &'r Repository,
    reader: &read::Reader<'r>,
    refs: &tags::TagRefs<'r>,
    matchers: &Matchers<'_>,
    settings: &ChangelogSettings,
    target: &Target,
) -> Result<ReleaseRange<'r>> {
    let shallow = walk::shallow_boundary(git);
    let mut tags: Option<walk::TagIndex> = None;
    let point = release_point(git, refs, matchers, target, !shallow.is_empty(), &mut tags)?;
    let release_commit = git
        .find_commit(point.commit)
        .with_context(|| format!("reading the release commit {}", point.commit))?;
    let date = point
        .tag_object
        .and_then(|oid| git.find_tag(oid).ok())
        .and_then(|t| t.tagger().map(|s| s.when().seconds()))
        .map_or_else(|| utc(release_commit.time().seconds()), utc);

    let (previous_tag, hide) = if let Some(since) = &settings.since {
        let commit = resolve_since(git, refs, since, !shallow.is_empty())?;
        (Some(since.clone()), Some(commit))
    } else {
        let index = match tags.take() {
            Some(index) => index,
            None => matchers.tag_index(refs)?,
        };
        let tag = point.tag.as_deref();
        let found = walk::nearest_tag(reader, &release_commit, &index, matchers.prefix(), |n| {
            Some(n) != tag && !matchers.globs.ignore.is_match(n)
        })?;
        match found {
            Some((name, commit)) => (Some(name), Some(commit)),
            None => (None, None),
        }
    };
    Ok(ReleaseRange {
        tag: point.tag,
        tag_exists: point.tag_exists,
        release: point.commit,
        release_commit,
        date,
        previous_tag,
        hide,
        shallow,
    })
}

/// The release tag and commit, and the annotated tag object for its date.
struct ReleasePoint {
    tag: Option<String>,
    tag_exists: bool,
    commit: Oid,
    tag_object: Option<Oid>,
}

/// The release from `target`: its tag when it exists, else the tag's future commit
/// (`target.commit` or `HEAD`); without a tag, the highest matching tag on the commit.
/// Fills `tags` when it had to read the tag index.
fn release_point(
    git: &Repository,
    refs: &tags::TagRefs<'_>,
    matchers: &Matchers<'_>,
    target: &Target,
    shallow: bool,
    tags: &mut Option<walk::TagIndex>,
) -> Result<ReleasePoint> {
    let explicit = match &target.commit {
        Some(spec) => Some(resolve_commit(git, spec, shallow)?),
        None => None,
    };
    if let Some(name) = &target.tag {
        if let Some((commit, object)) = refs.lookup(name)? {
            return Ok(ReleasePoint {
                tag: Some(name.clone()),
                tag_exists: true,
                commit,
                tag_object: object,
            });
        }
        let commit = match explicit {
            Some(c) => c,
            None => head(git)?,
        };
        return Ok(ReleasePoint {
            tag: Some(name.clone()),
            tag_exists: false,
            commit,
            tag_object: None,
        });
    }
    let commit = match explicit {
        Some(c) => c,
        None => head(git)?,
    };
    let index = tags.insert(matchers.tag_index(refs)?);
    Ok(match index.best_on(commit, matchers.prefix(), |_| true) {
        Some(name) => ReleasePoint {
            tag: Some(name.to_string()),
            tag_exists: true,
            commit,
            tag_object: refs.lookup(name)?.and_then(|(_, object)| object),
        },
        None => ReleasePoint {
            tag: None,
            tag_exists: false,
            commit,
            tag_object: None,
        },
    })
}

/// The range, walked once: one entry per commit, and what the path filter and a shallow
/// boundary did.
struct Walked {
    entries: Vec<Entry>,
    shallow_warning: Option<String>,
    path_checked: usize,
    path_kept: usize,
}

/// Walk the range newest first and read each commit into an [`Entry`]. A shallow boundary
/// inside the range is an error with `on_shallow: error`, else a warning.
fn walk_range<'r>(
    reader: &'r read::Reader<'r>,
    range: &'r ReleaseRange<'r>,
    settings: &ChangelogSettings,
    path_filter: Option<&walk::PathFilter>,
    extra_types: &[String],
    mailmap: Option<&git2::Mailmap>,
) -> Result<Walked> {
    let git = reader.repo();
    let mut cut: Option<Oid> = None;
    // A chain of single-parent commits (the common case) is read directly; anything else
    // (merges, a shallow boundary) goes through a revwalk.
    let chain = if range.shallow.is_empty() {
        walk::linear_range(reader, &range.release_commit, range.hide)
    } else {
        None
    };
    // A long chain's messages are parsed at once on every core (without `paths`, which
    // decides what is parsed commit by commit).
    let prepared = match &chain {
        Some(chain) if path_filter.is_none() => prepare::chain(chain, settings, extra_types),
        _ => Vec::new(),
    };
    let walked: Box<dyn Iterator<Item = Result<RangeCommit<'_>>>> = match chain {
        Some(chain) => Box::new(chain.into_iter().map(Ok)),
        None => Box::new(walk::range(git, range.release, range.hide)?.map(|oid| {
            let oid = oid.context("walking the history")?;
            git.find_commit(oid)
                .map(RangeCommit::Git)
                .with_context(|| format!("reading commit {oid}"))
        })),
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(walked.size_hint().0);
    let (mut path_checked, mut path_kept) = (0_usize, 0_usize);
    let mut prepared = prepared.into_iter();
    let mut walked = walked.peekable();
    while let Some(commit) = walked.next() {
        let commit = commit?;
        let oid = commit.id();
        if cut.is_none() && range.shallow.contains(&oid) {
            cut = Some(oid);
            if settings.on_shallow == OnShallow::Error {
                return Err(input_with(
                    format!(
                        "the git history is shallow and cuts the release range: {}",
                        shallow_detail(range.release, oid, range.previous_tag.as_deref())
                    ),
                    SHALLOW_REMEDY,
                ));
            }
        }
        // The path filter diffs trees: only for commits the other filters keep.
        let touches = || -> Result<bool> {
            let Some(filter) = path_filter else {
                return Ok(true);
            };
            path_checked += 1;
            let next = walked.peek().and_then(|next| next.as_ref().ok());
            let parent_tree = first_parent_tree(git, &commit, next)?;
            let touches = filter.touches(git, commit.tree_id(), parent_tree)?;
            path_kept += usize::from(touches);
            Ok(touches)
        };
        let entry = entry_of(
            &commit,
            touches,
            prepared.next().flatten(),
            settings,
            extra_types,
            mailmap,
        )?;
        entries.push(entry);
    }
    let shallow_warning = cut.map(|oid| {
        format!(
            "the git history is shallow and cuts the release range ({}); the changelog may be incomplete, and no contributor is marked new. To fix it, {SHALLOW_REMEDY}",
            shallow_detail(range.release, oid, range.previous_tag.as_deref())
        )
    });
    Ok(Walked {
        entries,
        shallow_warning,
        path_checked,
        path_kept,
    })
}

/// Whether the filters that read only the commit keep it: merges only with
/// `include_merges`, no autosquash commit.
pub(super) fn kept_before_parsing(
    commit: &RangeCommit<'_>,
    message: &str,
    settings: &ChangelogSettings,
) -> bool {
    (settings.include_merges || commit.parent_count() <= 1) && !parse::is_autosquash(message)
}

/// One walked commit as an entry: parsed when the filters keep it (`touches` runs the
/// path filter, last), else only what it reverts and its subject, for revert pairing.
/// `prepared` is its message parsed in advance, when it was.
fn entry_of(
    commit: &RangeCommit<'_>,
    touches: impl FnOnce() -> Result<bool>,
    prepared: prepare::Prepared,
    settings: &ChangelogSettings,
    extra_types: &[String],
    mailmap: Option<&git2::Mailmap>,
) -> Result<Entry> {
    let oid = commit.id();
    let merge = commit.parent_count() > 1;
    // Lossy UTF-8 borrows the message unless it is invalid.
    let message = String::from_utf8_lossy(commit.message_bytes());
    let mr = if merge {
        let parsed = parse_message(&message, false);
        refs::parse_merge(&parsed.subject, &parsed.body, &oid.to_string())
            .map(|mr| (mr, commit.parent_ids().collect::<Vec<_>>()))
    } else {
        None
    };
    let keep = kept_before_parsing(commit, &message, settings) && touches()?;
    Ok(if keep {
        let (parsed, refs) = prepared
            .unwrap_or_else(|| prepare::parse(&message, settings.conventional, extra_types));
        Entry {
            id: oid,
            reverts: parse::Reverts {
                shas: parsed.reverts.clone(),
                subject: parsed.reverted_subject.clone(),
            },
            subject: parsed.subject.clone(),
            commit: Some(build_commit(commit, parsed, refs, merge, mailmap)),
            mr,
        }
    } else {
        Entry {
            id: oid,
            reverts: parse::revert_of(&message, settings.conventional),
            subject: parse::subject_of(&message),
            commit: None,
            mr,
        }
    })
}

/// The commits the notes list, newest first: revert pairs dropped, merge requests
/// attached, `exclude` and release commits left out (breaking changes kept when
/// `protect_breaking`), and with `entries: merge_requests` one entry per merge request.
fn select_entries(
    git: &Repository,
    mut entries: Vec<Entry>,
    settings: &ChangelogSettings,
    extra_types: &[String],
    mailmap: Option<&git2::Mailmap>,
) -> Result<Vec<Commit>> {
    drop_revert_pairs(&mut entries);
    attach_merge_requests(git, &mut entries)?;
    for entry in &mut entries {
        let Some(c) = &entry.commit else { continue };
        let excluded = settings.exclude.iter().any(|re| re.is_match(&c.subject))
            || (settings.skip_release_commits && is_release_commit(c));
        if excluded && !(c.breaking && settings.protect_breaking) {
            entry.commit = None;
        }
    }
    if settings.entries == Entries::MergeRequests {
        merge_request_entries(git, &mut entries, settings, extra_types, mailmap)?;
    }
    Ok(entries.into_iter().filter_map(|e| e.commit).collect())
}

/// The selected commits grouped: the visible commits (hidden groups' left out), the
/// non-empty groups in the configured order, and the breaking changes.
struct Grouped {
    commits: Vec<Commit>,
    groups: Vec<Group>,
    breaking_changes: Vec<Commit>,
}

/// The group each commit lands in (an index into `specs`): breaking first, then scopes
/// and subjects, then types, then the default group.
fn assign_groups(commits: &[Commit], specs: &[GroupSpec]) -> Vec<Option<usize>> {
    let subjects: Vec<Option<Regex>> = specs
        .iter()
        .map(|g| g.subject.as_deref().and_then(|re| Regex::new(re).ok()))
        .collect();
    commits
        .iter()
        .map(|c| group_of(c, specs, &subjects))
        .collect()
}

/// Whether a commit in `group` (of `specs`) is in the notes: not in a hidden group.
fn shown(specs: &[GroupSpec], group: Option<usize>) -> bool {
    group.is_none_or(|g| !specs[g].hidden)
}

/// `commits` in the groups [`assign_groups`] gave them.
fn group_commits(
    mut commits: Vec<Commit>,
    specs: &[GroupSpec],
    assigned: Vec<Option<usize>>,
) -> Grouped {
    let mut grouped: Vec<Vec<Commit>> = (0..specs.len())
        .map(|i| Vec::with_capacity(assigned.iter().filter(|&&g| g == Some(i)).count()))
        .collect();
    let mut visible = Vec::with_capacity(commits.len());
    for (mut commit, group) in commits.drain(..).zip(assigned) {
        if !shown(specs, group) {
            continue;
        }
        if let Some(i) = group {
            let spec = &specs[i];
            commit.group.clone_from(&spec.title);
            if let Some(scope) = &spec.scope {
                commit.scope = Some(scope.clone()).filter(|s| !s.is_empty());
            }
            grouped[i].push(commit.clone());
        }
        visible.push(commit);
    }
    let groups = specs
        .iter()
        .zip(grouped)
        .filter(|(_, commits)| !commits.is_empty())
        .map(|(spec, commits)| Group {
            title: spec.title.clone(),
            collapsed: spec.collapsed,
            commits,
        })
        .collect();
    let breaking_changes = visible.iter().filter(|c| c.breaking).cloned().collect();
    Grouped {
        commits: visible,
        groups,
        breaking_changes,
    }
}

/// A walked commit: its id, what it reverts and its subject (for pairing), the parsed
/// commit when the filters keep it, and the merge request a merge commit records with the
/// merge's parents.
struct Entry {
    id: Oid,
    reverts: parse::Reverts,
    subject: String,
    commit: Option<Commit>,
    mr: Option<(MergeRequest, Vec<Oid>)>,
}

/// Sets `mr` on every commit a merge request brought in: the merge commit and the commits
/// of `M^1..M^2` in the range. Older merges first, so a commit merged into a branch by one
/// merge request, then into the main branch by another, keeps the first.
fn attach_merge_requests(git: &Repository, entries: &mut [Entry]) -> Result<()> {
    if entries.iter().all(|e| e.mr.is_none()) {
        return Ok(());
    }
    let index: HashMap<Oid, usize> = entries.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut owner: Vec<Option<usize>> = vec![None; entries.len()];
    for m in (0..entries.len()).rev() {
        let Some((_, parents)) = &entries[m].mr else {
            continue;
        };
        if owner[m].is_none() {
            owner[m] = Some(m);
        }
        let mut walk = git.revwalk().context("starting a revwalk")?;
        for p in &parents[1..] {
            walk.push(*p).context("walking a merged branch")?;
        }
        walk.hide(parents[0]).context("walking a merged branch")?;
        for oid in walk {
            let oid = oid.context("walking a merged branch")?;
            if let Some(&i) = index.get(&oid)
                && owner[i].is_none()
            {
                owner[i] = Some(m);
            }
        }
    }
    let mrs: Vec<Option<MergeRequest>> = entries
        .iter()
        .map(|e| e.mr.as_ref().map(|(mr, _)| mr.clone()))
        .collect();
    for (entry, owner) in entries.iter_mut().zip(owner) {
        if let (Some(c), Some(m)) = (&mut entry.commit, owner) {
            c.mr.clone_from(&mrs[m]);
        }
    }
    Ok(())
}

/// Replaces the commits of each merge request with one entry titled by it, at the merge
/// commit's place. Its type, scope and breaking flag come from the title (a conventional
/// title counts), a breaking commit inside makes it breaking, and its authors are the
/// commits' authors. A merge request none of whose commits is kept is left out.
fn merge_request_entries(
    git: &Repository,
    entries: &mut [Entry],
    settings: &ChangelogSettings,
    extra_types: &[String],
    mailmap: Option<&git2::Mailmap>,
) -> Result<()> {
    let mut members: HashMap<String, Vec<Commit>> = HashMap::new();
    for entry in entries.iter_mut() {
        let is_merge_of_its_own = entry
            .commit
            .as_ref()
            .zip(entry.mr.as_ref())
            .is_some_and(|(c, (mr, _))| c.id == mr.merge_commit);
        if is_merge_of_its_own {
            entry.commit = None;
            continue;
        }
        if let Some(c) = &entry.commit
            && let Some(mr) = &c.mr
        {
            let sha = mr.merge_commit.clone();
            members.entry(sha).or_default().extend(entry.commit.take());
        }
    }
    for entry in entries.iter_mut() {
        let Some((mr, _)) = &entry.mr else { continue };
        let Some(inside) = members.remove(&mr.merge_commit) else {
            continue;
        };
        let merge = git
            .find_commit(entry.id)
            .with_context(|| format!("reading the merge commit {}", entry.id))?;
        let message = String::from_utf8_lossy(merge.message_bytes());
        let body = parse_message(&message, false).body;
        let title = if mr.title.is_empty() {
            parse_message(&message, false).subject
        } else {
            mr.title.clone()
        };
        let (parsed, refs) = prepare::parse(
            &format!("{title}\n\n{body}"),
            settings.conventional,
            extra_types,
        );
        let mut c = build_commit(&read::RangeCommit::Git(merge), parsed, refs, true, mailmap);
        c.mr = Some(mr.clone());
        if !c.breaking
            && let Some(b) = inside.iter().find(|m| m.breaking)
        {
            c.breaking = true;
            c.breaking_description.clone_from(&b.breaking_description);
        }
        // The people who wrote the commits, oldest first, rather than who merged.
        let mut people: Vec<Person> = Vec::new();
        for m in inside.iter().rev() {
            for p in std::iter::once(&m.author).chain(&m.co_authors) {
                if !people.contains(p) {
                    people.push(p.clone());
                }
            }
            for r in &m.refs {
                if !c.refs.iter().any(|known| known.text == r.text) {
                    c.refs.push(r.clone());
                }
            }
        }
        if let Some((first, rest)) = people.split_first() {
            c.author = first.clone();
            c.co_authors = rest.to_vec();
        }
        entry.commit = Some(c);
    }
    Ok(())
}

/// Drop a revert and the commits it reverts when they are in the range: every sha it
/// lists, else the commit whose subject it quotes. The revert goes when all it reverts was
/// found. Newest first, so a revert of a revert cancels only the revert and the original
/// change stays.
fn drop_revert_pairs(entries: &mut [Entry]) {
    if entries
        .iter()
        .all(|e| e.reverts.shas.is_empty() && e.reverts.subject.is_none())
    {
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
        let reverts = &entries[i].reverts;
        let mut targets: Vec<Option<usize>> = reverts
            .shas
            .iter()
            .map(|sha| {
                index
                    .get(sha.as_str())
                    .copied()
                    .or_else(|| ids.iter().position(|id| id.starts_with(sha.as_str())))
            })
            .collect();
        if targets.is_empty()
            && let Some(quoted) = &reverts.subject
        {
            // Older commits come later; the nearest older one with that subject.
            targets.push(
                (i + 1..entries.len()).find(|&j| !dropped[j] && entries[j].subject == *quoted),
            );
        }
        let found: Vec<usize> = targets
            .iter()
            .flatten()
            .copied()
            .filter(|&j| j != i && !dropped[j])
            .collect();
        if found.is_empty() {
            continue;
        }
        for j in &found {
            dropped[*j] = true;
        }
        if found.len() == targets.len() {
            dropped[i] = true;
        }
    }
    for (entry, dropped) in entries.iter_mut().zip(dropped) {
        if dropped {
            entry.commit = None;
        }
    }
}

fn group_of(commit: &Commit, groups: &[GroupSpec], subjects: &[Option<Regex>]) -> Option<usize> {
    if commit.breaking
        && let Some(i) = groups.iter().position(|g| g.breaking)
    {
        return Some(i);
    }
    let by_scope = |g: &GroupSpec| {
        commit
            .scope
            .as_deref()
            .is_some_and(|s| g.scopes.iter().any(|t| t.eq_ignore_ascii_case(s)))
    };
    // The built-in dependency subjects all start with one of these letters.
    let maybe_dependency = [&commit.subject, &commit.description].iter().any(|t| {
        matches!(
            t.bytes().next().map(|b| b.to_ascii_lowercase()),
            Some(b'b' | b'u' | b'p' | b'l')
        )
    });
    let by_subject = |i: usize| {
        if !maybe_dependency && groups[i].subject.as_deref() == Some(DEPENDENCY_SUBJECT) {
            return false;
        }
        subjects[i]
            .as_ref()
            .is_some_and(|re| re.is_match(&commit.subject) || re.is_match(&commit.description))
    };
    if let Some(i) = (0..groups.len()).find(|&i| by_scope(&groups[i]) || by_subject(i)) {
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

fn build_commit(
    commit: &RangeCommit<'_>,
    parsed: Parsed,
    refs: Vec<Ref>,
    merge: bool,
    mailmap: Option<&git2::Mailmap>,
) -> Commit {
    let id = hex::encode(commit.id().as_bytes());
    let (author, date) = commit.author();
    let mut description = parsed.description;
    // A squash merge's `(#N)` is listed with the references, not repeated in the text.
    if let Some(r) = refs.iter().find(|r| r.squash)
        && let Some(cut) = description.strip_suffix(&format!("({})", r.text))
        && !cut.trim().is_empty()
    {
        description = cut.trim_end().to_string();
    }
    Commit {
        short_id: id[..7].to_string(),
        id,
        refs,
        subject: parsed.subject,
        description,
        body: parsed.body,
        r#type: parsed.r#type,
        scope: parsed.scope,
        breaking: parsed.breaking,
        breaking_description: parsed.breaking_description,
        footers: parsed.footers,
        author: people::resolve(mailmap, author),
        co_authors: parsed
            .co_authors
            .into_iter()
            .map(|p| people::resolve(mailmap, p))
            .collect(),
        date: utc(date),
        group: String::new(),
        merge,
        revert: parsed.revert,
        reverts: parsed.reverts,
        url: None,
        mr: None,
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
        let compiled = crate::matchers::tag_glob(glob).map_err(|e| {
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

fn resolve_since(
    git: &Repository,
    refs: &tags::TagRefs<'_>,
    since: &str,
    shallow: bool,
) -> Result<Oid> {
    if let Some((commit, _)) = refs.lookup(since)? {
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
