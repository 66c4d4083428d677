//! History access: the tag index, the previous-release search, the range walk and the
//! shallow-clone boundary.
//!
//! Costs: the tag references are read once, and only when a search needs them (an explicit
//! release tag and `since` resolve by name; names are filtered by the glob before any
//! object is read); the previous release is found by a date-ordered walk from the release
//! commit's parents that stops at the first tagged commit, and is not searched for when no
//! tag could be it; the range is read as a chain of single-parent commits when it is one
//! (each commit read once, see [`linear_range`]), else by one revwalk (push the release,
//! hide the previous). Tree diffs happen only when `paths` is set.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::ops::ControlFlow;

use anyhow::{Context as _, Result};
use git2::{DiffOptions, Oid, Repository, Sort};
use globset::{Glob, GlobMatcher, GlobSet, GlobSetBuilder};

use super::read::{RangeCommit, Reader};
use super::tags::TagRefs;

/// A compiled tag glob (`v*`, `release/*`): `*` also matches `/`.
pub(crate) fn tag_glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(crate::matchers::tag_glob(pattern)?.compile_matcher())
}

/// The part of a glob before its first metacharacter (`v*` -> `v`, `release/*` -> `release/`).
pub(crate) fn literal_prefix(pattern: &str) -> &str {
    let end = pattern
        .find(['*', '?', '[', '{', '\\'])
        .unwrap_or(pattern.len());
    &pattern[..end]
}

/// Tags matching the release pattern, by the commit they peel to.
///
/// Built for every tag of a repository (10,000 and more), so without an allocation per
/// tag: the names share one buffer, and the tags of a commit form a chain through
/// `entries`.
#[derive(Debug, Default)]
pub(crate) struct TagIndex {
    /// Each commit's last added entry.
    by_commit: HashMap<Oid, u32>,
    entries: Vec<IndexEntry>,
    names: String,
}

#[derive(Debug)]
struct IndexEntry {
    name: (u32, u32),
    /// The commit's previously added entry.
    next: Option<u32>,
}

impl TagIndex {
    /// List the tags once; keep the names `keep` accepts, peeled to commits. Tags that
    /// peel to something other than a commit (a tree, a blob) or to a missing object are
    /// skipped, or kept under that object's id when `packed-refs` records it (see
    /// [`TagRefs::peeled`]), which no walk over commits meets.
    pub(crate) fn read(tags: &TagRefs<'_>, keep: impl Fn(&str) -> bool) -> Result<Self> {
        let mut index = Self {
            by_commit: HashMap::with_capacity(tags.size_hint()),
            ..Self::default()
        };
        tags.visit(|name, found| {
            if keep(name)
                && let Some(commit) = tags.peeled(name, &found)
            {
                index.add(commit, name);
            }
            ControlFlow::Continue(())
        })?;
        Ok(index)
    }

    /// Record `name` as a tag on `commit`.
    pub(crate) fn add(&mut self, commit: Oid, name: &str) {
        let start = self.names.len() as u32;
        self.names.push_str(name);
        let at = self.entries.len() as u32;
        let next = self.by_commit.insert(commit, at);
        self.entries.push(IndexEntry {
            name: (start, self.names.len() as u32),
            next,
        });
    }

    /// The names of the tags on `commit`.
    pub(crate) fn names_on(&self, commit: Oid) -> impl Iterator<Item = &str> {
        let mut at = self.by_commit.get(&commit).copied();
        std::iter::from_fn(move || {
            let entry = &self.entries[at? as usize];
            at = entry.next;
            Some(self.name(entry))
        })
    }

    /// Every name of the index.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|entry| self.name(entry))
    }

    /// The index as a map of each commit to its tag names, in the order they were added.
    #[cfg(test)]
    pub(crate) fn by_commit(&self) -> HashMap<Oid, Vec<String>> {
        self.by_commit
            .keys()
            .map(|&commit| {
                let mut names: Vec<String> = self.names_on(commit).map(str::to_string).collect();
                names.reverse();
                (commit, names)
            })
            .collect()
    }

    fn name(&self, entry: &IndexEntry) -> &str {
        &self.names[entry.name.0 as usize..entry.name.1 as usize]
    }

    /// The highest (semver-aware) tag on `commit` that `accept` takes.
    pub(crate) fn best_on(
        &self,
        commit: Oid,
        prefix: &str,
        accept: impl Fn(&str) -> bool,
    ) -> Option<&str> {
        self.names_on(commit)
            .filter(|name| accept(name))
            .max_by(|a, b| version_cmp(strip(a, prefix), strip(b, prefix)))
    }
}

fn strip<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// Compare two versions (tag names with the pattern prefix removed) the semver way where
/// they look like versions: numeric parts by value (`1.10` > `1.9`), a release above its
/// pre-releases (`1.0.0` > `1.0.0-rc.2` > `1.0.0-rc.1`), build metadata ignored, then the
/// raw text as a last resort so the order is total.
pub(crate) fn version_cmp(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (&str, Option<&str>) {
        let v = v.split_once('+').map_or(v, |(core, _)| core);
        match v.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (v, None),
        }
    }
    let (core_a, pre_a) = split(a);
    let (core_b, pre_b) = split(b);
    natural_cmp(core_a, core_b)
        .then_with(|| match (pre_a, pre_b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => prerelease_cmp(x, y),
        })
        .then_with(|| a.cmp(b))
}

fn prerelease_cmp(a: &str, b: &str) -> Ordering {
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let nx = !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
                let ny = !y.is_empty() && y.bytes().all(|c| c.is_ascii_digit());
                let ord = match (nx, ny) {
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    _ => natural_cmp(x, y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// Compare strings chunk by chunk: digit runs by numeric value, other runs as text.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da && db {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na = trim_zeros(&a[si..i]);
            let nb = trim_zeros(&b[sj..j]);
            let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            let ord = a[i].cmp(&b[j]);
            if ord != Ordering::Equal {
                return ord;
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let first = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    &digits[first..]
}

/// The shallow boundary: commits whose parents were not fetched (`.git/shallow`).
pub(crate) fn shallow_boundary(repo: &Repository) -> HashSet<Oid> {
    if !repo.is_shallow() {
        return HashSet::new();
    }
    let mut set = HashSet::new();
    for dir in [repo.commondir(), repo.path()] {
        if let Ok(text) = std::fs::read_to_string(dir.join("shallow")) {
            set.extend(text.lines().filter_map(|l| Oid::from_str(l.trim()).ok()));
        }
    }
    set
}

/// The nearest tagged ancestor of `release` (excluding `release` itself), by a date-ordered
/// walk from its parents as `git describe` does. Among several tags on the found commit,
/// the highest version wins. Returns the tag and its commit.
pub(crate) fn nearest_tag(
    reader: &Reader<'_>,
    release: &git2::Commit<'_>,
    tags: &TagIndex,
    prefix: &str,
    accept: impl Fn(&str) -> bool,
) -> Result<Option<(String, Oid)>> {
    // No candidate at all (no tags, or `ignore_tags` takes them all): nothing to walk for.
    if !tags.names().any(&accept) {
        return Ok(None);
    }
    let mut frontier = Frontier::default();
    frontier.add_parents(reader, &RangeCommit::Git(release.clone()))?;
    while let Some(commit) = frontier.pop() {
        if let Some(name) = tags.best_on(commit.id(), prefix, &accept) {
            return Ok(Some((name.to_string(), commit.id())));
        }
        frontier.add_parents(reader, &commit)?;
    }
    Ok(None)
}

/// The date-ordered frontier of the previous-release search; each commit is read once.
#[derive(Default)]
struct Frontier<'r> {
    seen: HashSet<Oid>,
    /// (committer time, insertion order reversed so equal times pop first-in-first-out, id).
    queue: BinaryHeap<(i64, Reverse<u64>, Oid)>,
    pending: HashMap<Oid, RangeCommit<'r>>,
    order: u64,
}

impl<'r> Frontier<'r> {
    fn add_parents(&mut self, reader: &'r Reader<'_>, commit: &RangeCommit<'_>) -> Result<()> {
        for parent in commit.parent_ids() {
            if self.seen.insert(parent) {
                let parent = reader
                    .read(parent)
                    .with_context(|| format!("reading commit {parent}"))?;
                self.queue
                    .push((parent.time(), Reverse(self.order), parent.id()));
                self.order += 1;
                self.pending.insert(parent.id(), parent);
            }
        }
        Ok(())
    }

    fn pop(&mut self) -> Option<RangeCommit<'r>> {
        let (_, _, oid) = self.queue.pop()?;
        self.pending.remove(&oid)
    }
}

/// A path glob: `*` stays within a directory, `**` crosses directories.
fn path_glob(pattern: &str) -> Result<Glob, globset::Error> {
    crate::matchers::path_glob(pattern)
}

/// Limits the range to commits that touch some paths: a pathspec-limited tree diff against
/// the first parent, then a glob check on the changed paths.
#[derive(Debug)]
pub(crate) struct PathFilter {
    globs: GlobSet,
    /// `!`-negated globs: a path they match does not count.
    negated: GlobSet,
    /// Literal directories (or files) every pattern lives under; empty = diff everything.
    pathspecs: Vec<String>,
    /// Literal paths whose patterns take everything below them (`dir`, `dir/**`): a
    /// changed entry there is a match without a diff.
    covering: Vec<String>,
}

impl PathFilter {
    /// Build from `paths` globs; a plain directory (`services/api`) also takes what is
    /// below it.
    pub(crate) fn new(paths: &[String]) -> Result<Option<Self>, globset::Error> {
        if paths.is_empty() {
            return Ok(None);
        }
        let mut builder = GlobSetBuilder::new();
        let mut negated = GlobSetBuilder::new();
        let mut pathspecs: Vec<String> = Vec::new();
        let mut covering: Vec<String> = Vec::new();
        let (excluded, included): (Vec<&String>, Vec<&String>) =
            paths.iter().partition(|p| p.starts_with('!'));
        for raw in &excluded {
            let path = raw[1..].trim_start_matches("./").trim_end_matches('/');
            negated.add(path_glob(path)?);
            if !path.ends_with("**") {
                negated.add(path_glob(&format!("{path}/**"))?);
            }
        }
        if included.is_empty() {
            // Only negations: everything else counts.
            builder.add(path_glob("**")?);
            pathspecs.push(String::new());
        }
        for raw in included {
            let path = raw.trim_start_matches("./").trim_end_matches('/');
            builder.add(path_glob(path)?);
            if !path.ends_with("**") {
                builder.add(path_glob(&format!("{path}/**"))?);
            }
            // The directory part before the first metacharacter limits the tree diff.
            let literal = literal_prefix(path);
            if literal.len() == path.len() {
                covering.push(path.to_string());
            } else if let Some(dir) = path.strip_suffix("/**")
                && literal_prefix(dir).len() == dir.len()
                && !dir.is_empty()
            {
                covering.push(dir.to_string());
            }
            let dir = if literal.len() == path.len() {
                literal
            } else {
                literal.rfind('/').map_or("", |i| &literal[..i])
            };
            if dir.is_empty() {
                pathspecs.clear();
                pathspecs.push(String::new());
            } else if !pathspecs.iter().any(String::is_empty) {
                pathspecs.push(dir.to_string());
            }
        }
        pathspecs.retain(|p| !p.is_empty());
        if !excluded.is_empty() {
            // A changed entry under a covering path may be all negated paths.
            covering.clear();
        }
        Ok(Some(Self {
            negated: negated.build()?,
            globs: builder.build()?,
            pathspecs,
            covering,
        }))
    }

    /// Whether `commit` changes a matching path relative to its first parent (everything
    /// counts as added for a root or shallow-boundary commit).
    ///
    /// Takes the commit's tree and its first parent's tree (`None` for a root or
    /// shallow-boundary commit).
    pub(crate) fn touches(
        &self,
        repo: &Repository,
        tree: Oid,
        parent_tree: Option<Oid>,
    ) -> Result<bool> {
        let tree = repo
            .find_tree(tree)
            .map_err(|e| tree_error(repo, e, "reading a commit tree"))?;
        let parent_tree = match parent_tree {
            Some(id) => Some(
                repo.find_tree(id)
                    .map_err(|e| tree_error(repo, e, "reading the first parent's tree"))?,
            ),
            None => None,
        };
        // Fast paths on subtree ids, no diff: a changed entry under a covering path is a
        // match; when every pattern lives under a literal directory, unchanged entries
        // there mean nothing matching changed.
        let entry_id = |tree: Option<&git2::Tree<'_>>, path: &str| {
            tree.and_then(|t| t.get_path(std::path::Path::new(path)).ok())
                .map(|e| e.id())
        };
        let changed =
            |path: &str| entry_id(Some(&tree), path) != entry_id(parent_tree.as_ref(), path);
        if self.covering.iter().any(|path| changed(path)) {
            return Ok(true);
        }
        if !self.pathspecs.is_empty() && !self.pathspecs.iter().any(|dir| changed(dir)) {
            return Ok(false);
        }
        let mut opts = DiffOptions::new();
        opts.skip_binary_check(true);
        for spec in &self.pathspecs {
            opts.pathspec(spec.as_str());
        }
        let diff = repo
            .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), Some(&mut opts))
            .map_err(|e| tree_error(repo, e, "diffing a commit against its parent"))?;
        Ok(diff.deltas().any(|delta| {
            [delta.new_file().path(), delta.old_file().path()]
                .into_iter()
                .flatten()
                .any(|p| self.globs.is_match(p) && !self.negated.is_match(p))
        }))
    }
}

/// Why a tree could not be read (`doing`): in a partial clone that left trees out
/// (`--filter=tree:0`, as CI checkouts of large repositories do), an input error naming the
/// fix; else libgit2's error. libgit2 cannot fetch what a partial clone left out.
fn tree_error(repo: &Repository, e: git2::Error, doing: &str) -> anyhow::Error {
    if e.code() == git2::ErrorCode::NotFound && is_partial(repo) {
        return crate::error::input_with(
            format!(
                "changelog.paths compares each commit's files with its parent's, but this partial clone did not fetch the commits' trees ({doing}: {})",
                e.message()
            ),
            "clone with `--filter=blob:none` (every tree, no file contents) or without a filter: in actions/checkout, `filter: blob:none`; or remove `changelog.paths`",
        );
    }
    anyhow::Error::new(e).context(doing.to_owned())
}

/// Whether `repo` is a partial clone: a remote it may lazily fetch from (`promisor`), or
/// `extensions.partialclone` (older git).
fn is_partial(repo: &Repository) -> bool {
    let Ok(config) = repo.config() else {
        return false;
    };
    if config.get_string("extensions.partialclone").is_ok() {
        return true;
    }
    let Ok(mut entries) = config.entries(Some(r"remote\..*\.promisor")) else {
        return false;
    };
    let mut names = Vec::new();
    while let Some(Ok(entry)) = entries.next() {
        names.extend(entry.name().map(str::to_owned));
    }
    names
        .iter()
        .any(|name| config.get_bool(name).unwrap_or(false))
}

/// The range when it is a plain chain, read without a revwalk: from `release` down its
/// single parents to `hide` (excluded), or to the root commit when there is no `hide`.
/// Such a range has exactly one topological order, the chain's, so this is what
/// [`range`] yields, with each commit read once instead of twice (the revwalk parses
/// every commit for its parents, then the caller reads it again for its message).
///
/// `None` when the range is not such a chain: a merge commit on the way, a root reached
/// while `hide` was not met (`hide` on another line of history), or an unreadable parent.
/// The caller then falls back to [`range`]. Not for shallow repositories, whose boundary
/// commits the revwalk treats as roots.
pub(crate) fn linear_range<'r>(
    reader: &'r Reader<'_>,
    release: &git2::Commit<'r>,
    hide: Option<Oid>,
) -> Option<Vec<RangeCommit<'r>>> {
    let mut chain = Vec::new();
    let mut commit = RangeCommit::Git(release.clone());
    loop {
        if Some(commit.id()) == hide {
            return Some(chain);
        }
        match commit.parent_count() {
            0 if hide.is_none() => {
                chain.push(commit);
                return Some(chain);
            }
            1 => {
                let parent = commit.first_parent()?;
                chain.push(commit);
                commit = reader.read(parent).ok()?;
            }
            _ => return None,
        }
    }
}

/// The commits of `release` minus the ancestors of `hide`, newest first (topological, then
/// time), as a lazy iterator over ids.
pub(crate) fn range(
    repo: &Repository,
    release: Oid,
    hide: Option<Oid>,
) -> Result<git2::Revwalk<'_>> {
    let mut walk = repo.revwalk().context("starting a revwalk")?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    walk.push(release)
        .context("adding the release commit to the walk")?;
    if let Some(hide) = hide {
        walk.hide(hide)
            .context("hiding the previous release from the walk")?;
    }
    Ok(walk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_semver_aware() {
        let mut v = vec![
            "1.10.0",
            "1.9.0",
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.0-rc.10",
            "1.0.0-rc.2",
            "1.0.0-alpha",
            "0.9.9",
            "2.0.0+build.5",
        ];
        v.sort_by(|a, b| version_cmp(a, b));
        assert_eq!(
            v,
            vec![
                "0.9.9",
                "1.0.0-alpha",
                "1.0.0-rc.1",
                "1.0.0-rc.2",
                "1.0.0-rc.10",
                "1.0.0",
                "1.9.0",
                "1.10.0",
                "2.0.0+build.5"
            ]
        );
    }

    #[test]
    fn natural_order_for_non_semver() {
        assert_eq!(version_cmp("2024.10", "2024.9"), Ordering::Greater);
        assert_eq!(version_cmp("1.0", "1.0.1"), Ordering::Less);
        assert_ne!(version_cmp("01", "1"), Ordering::Equal); // total order: raw text decides
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("v*"), "v");
        assert_eq!(literal_prefix("release/*"), "release/");
        assert_eq!(literal_prefix("*"), "");
        assert_eq!(literal_prefix("api-v[0-9]*"), "api-v");
        assert_eq!(literal_prefix("exact"), "exact");
    }

    #[test]
    fn tag_glob_star_crosses_slashes() {
        assert!(tag_glob("v*").unwrap().is_match("v1.2.3"));
        assert!(tag_glob("release/*").unwrap().is_match("release/1.0"));
        assert!(tag_glob("*").unwrap().is_match("team/v1"));
        assert!(!tag_glob("v*").unwrap().is_match("release/1.0"));
        assert!(tag_glob("*-rc*").unwrap().is_match("v1.0.0-rc1"));
    }

    #[test]
    fn path_filter_pathspecs() {
        let f = PathFilter::new(&["services/api/**".into(), "libs/common".into()])
            .unwrap()
            .unwrap();
        assert_eq!(f.pathspecs, vec!["services/api", "libs/common"]);
        assert_eq!(f.covering, vec!["services/api", "libs/common"]);
        let partial = PathFilter::new(&["services/api/*.rs".into()])
            .unwrap()
            .unwrap();
        assert_eq!(partial.pathspecs, vec!["services/api"]);
        assert!(partial.covering.is_empty());
        assert!(f.globs.is_match("services/api/src/main.rs"));
        assert!(f.globs.is_match("libs/common/x"));
        assert!(!f.globs.is_match("services/web/x"));
        let any = PathFilter::new(&["*.md".into(), "docs/**".into()])
            .unwrap()
            .unwrap();
        assert!(any.pathspecs.is_empty());
        assert!(any.globs.is_match("README.md"));
        assert!(
            !any.globs.is_match("sub/README.md"),
            "`*` stays within a directory"
        );
        assert!(any.globs.is_match("docs/a/b.txt"));
        assert!(PathFilter::new(&[]).unwrap().is_none());
    }

    /// A repository with a history written by libgit2, commit times one minute apart.
    struct History {
        _dir: tempfile::TempDir,
        repo: Repository,
        time: i64,
    }

    impl History {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::init(dir.path()).unwrap();
            Self {
                _dir: dir,
                repo,
                time: 1_600_000_000,
            }
        }

        fn commit(&mut self, subject: &str, parents: &[Oid]) -> Oid {
            self.time += 60;
            let sig =
                git2::Signature::new("A U Thor", "a@example.com", &git2::Time::new(self.time, 0))
                    .unwrap();
            let mut builder = self.repo.treebuilder(None).unwrap();
            let blob = self.repo.blob(subject.as_bytes()).unwrap();
            builder.insert("file", blob, 0o100_644).unwrap();
            let tree = self.repo.find_tree(builder.write().unwrap()).unwrap();
            let parents: Vec<git2::Commit<'_>> = parents
                .iter()
                .map(|p| self.repo.find_commit(*p).unwrap())
                .collect();
            let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
            self.repo
                .commit(None, &sig, &sig, subject, &tree, &parents)
                .unwrap()
        }

        /// What the chain walk gives, or `None` when it defers to the revwalk.
        fn chain(&self, release: Oid, hide: Option<Oid>) -> Option<Vec<Oid>> {
            let reader = Reader::new(&self.repo);
            let release = self.repo.find_commit(release).unwrap();
            let chain = linear_range(&reader, &release, hide)?;
            assert!(
                chain
                    .iter()
                    .skip(1)
                    .all(|c| matches!(c, RangeCommit::Raw(_))),
                "commits written by libgit2 are read raw"
            );
            Some(chain.iter().map(RangeCommit::id).collect())
        }

        fn revwalk(&self, release: Oid, hide: Option<Oid>) -> Vec<Oid> {
            range(&self.repo, release, hide)
                .unwrap()
                .map(Result::unwrap)
                .collect()
        }
    }

    #[test]
    fn chain_walk_matches_the_revwalk_on_a_line() {
        let mut h = History::new();
        let mut line = Vec::new();
        for i in 0..6 {
            let parents: Vec<Oid> = line.last().copied().into_iter().collect();
            line.push(h.commit(&format!("c{i}"), &parents));
        }
        for &release in &line {
            for hide in std::iter::once(None).chain(line.iter().copied().map(Some)) {
                let walked = h.revwalk(release, hide);
                match h.chain(release, hide) {
                    Some(chain) => assert_eq!(chain, walked),
                    // Only a `hide` that is not an ancestor (a descendant) defers.
                    None => assert!(walked.is_empty() && hide != Some(release)),
                }
            }
        }
        assert_eq!(h.chain(line[5], Some(line[2])).unwrap().len(), 3);
        assert_eq!(h.chain(line[5], None).unwrap().len(), 6);
        assert_eq!(h.chain(line[3], Some(line[3])).unwrap(), Vec::<Oid>::new());
    }

    #[test]
    fn chain_walk_defers_on_merges_and_side_branches() {
        let mut h = History::new();
        let c0 = h.commit("c0", &[]);
        let c1 = h.commit("c1", &[c0]);
        let b1 = h.commit("b1", &[c1]);
        let c2 = h.commit("c2", &[c1]);
        let b2 = h.commit("b2", &[b1]);
        let m = h.commit("merge", &[c2, b2]);
        let c3 = h.commit("c3", &[m]);
        let all = [c0, c1, b1, c2, b2, m, c3];
        for release in all {
            for hide in std::iter::once(None).chain(all.iter().copied().map(Some)) {
                if let Some(chain) = h.chain(release, hide) {
                    assert_eq!(chain, h.revwalk(release, hide), "{release} ^{hide:?}");
                }
            }
        }
        // A merge in the range, or `hide` on another branch: the revwalk decides.
        assert_eq!(h.chain(c3, Some(c1)), None);
        assert_eq!(h.chain(b2, Some(c2)), None);
        assert_eq!(h.revwalk(b2, Some(c2)), vec![b2, b1]);
        // Above the merge, or on one branch down to its fork point: a chain.
        assert_eq!(h.chain(c3, Some(m)), Some(vec![c3]));
        assert_eq!(h.chain(b2, Some(c1)), Some(vec![b2, b1]));
    }

    #[test]
    fn nearest_tag_reads_through_the_raw_reader() {
        let mut h = History::new();
        let c0 = h.commit("c0", &[]);
        let c1 = h.commit("c1", &[c0]);
        let b1 = h.commit("b1", &[c0]);
        let m = h.commit("merge", &[c1, b1]);
        let top = h.commit("top", &[m]);
        let mut tags = TagIndex::default();
        tags.add(c0, "v1.0.0");
        tags.add(b1, "v1.1.0");
        tags.add(b1, "v1.1.0-rc1");
        let reader = Reader::new(&h.repo);
        let release = h.repo.find_commit(top).unwrap();
        let found = nearest_tag(&reader, &release, &tags, "v", |_| true).unwrap();
        assert_eq!(found, Some(("v1.1.0".to_string(), b1)));
        let found = nearest_tag(&reader, &release, &tags, "v", |n| n != "v1.1.0").unwrap();
        assert_eq!(found, Some(("v1.1.0-rc1".to_string(), b1)));
        let found = nearest_tag(&reader, &release, &tags, "v", |n| n == "v1.0.0").unwrap();
        assert_eq!(found, Some(("v1.0.0".to_string(), c0)));
        // No tag acceptable: no walk, no previous release.
        let found = nearest_tag(&reader, &release, &tags, "v", |_| false).unwrap();
        assert_eq!(found, None);
    }
}
