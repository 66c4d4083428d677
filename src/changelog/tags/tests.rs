//! The tag reader against libgit2's reference database, on repositories whose tag files the
//! tests write in git's formats.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::PathBuf;

use git2::{ObjectType, Oid, Repository, Signature, Time};
use proptest::prelude::*;

use super::TagRefs;
use crate::changelog::walk::TagIndex;

const FULLY_PEELED: &str = "# pack-refs with: peeled fully-peeled sorted \n";

/// A repository with a line of commits, a tree and a blob, written by libgit2 with a fixed
/// author and dates; tag objects come from [`Fixture::annotate`], tag references from the
/// tests, as files.
struct Fixture {
    dir: tempfile::TempDir,
    repo: Repository,
    commits: Vec<Oid>,
    tree: Oid,
    blob: Oid,
}

fn signature(time: i64) -> Signature<'static> {
    Signature::new("A U Thor", "author@example.com", &Time::new(time, 0)).unwrap()
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path().join("repo")).unwrap();
        let blob = repo.blob(b"content\n").unwrap();
        let tree = {
            let mut builder = repo.treebuilder(None).unwrap();
            builder.insert("file", blob, 0o100_644).unwrap();
            builder.write().unwrap()
        };
        let mut commits: Vec<Oid> = Vec::new();
        for i in 0..3_i64 {
            let sig = signature(1_600_000_000 + i * 60);
            let tree = repo.find_tree(tree).unwrap();
            let parents: Vec<git2::Commit<'_>> = commits
                .last()
                .map(|p| repo.find_commit(*p).unwrap())
                .into_iter()
                .collect();
            let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
            let update = if i == 2 { Some("HEAD") } else { None };
            commits.push(
                repo.commit(update, &sig, &sig, &format!("c{i}"), &tree, &parents)
                    .unwrap(),
            );
        }
        Self {
            dir,
            repo,
            commits,
            tree,
            blob,
        }
    }

    /// A tag object named `name` on `target`, without a reference.
    fn annotate(&self, name: &str, target: Oid) -> Oid {
        let object = self.repo.find_object(target, None).unwrap();
        self.repo
            .tag_annotation_create(name, &object, &signature(1_600_001_000), "release\n")
            .unwrap()
    }

    fn common(&self) -> PathBuf {
        self.repo.commondir().to_path_buf()
    }

    fn write_loose(&self, name: &str, content: &[u8]) {
        let path = self.common().join("refs/tags").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn write_packed(&self, content: &[u8]) {
        std::fs::write(self.common().join("packed-refs"), content).unwrap();
    }

    /// The repository opened afresh, so libgit2 reads the reference files again.
    fn open(&self) -> Repository {
        Repository::open(self.repo.path()).unwrap()
    }
}

/// What the reader lists: names in order, each with the commit it peels to.
fn listed(refs: &TagRefs<'_>) -> Vec<(String, Option<Oid>)> {
    let mut out = Vec::new();
    refs.visit(|name, found| {
        out.push((name.to_string(), refs.peeled(name, &found)));
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

/// What libgit2 lists for `refs/tags/*`: names in order, each peeled to a commit (`None`
/// when it peels to something else).
fn libgit2_listed(repo: &Repository) -> Vec<(String, Option<Oid>)> {
    repo.references_glob("refs/tags/*")
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            let name = r.name().unwrap().strip_prefix("refs/tags/").unwrap();
            (name.to_string(), r.peel_to_commit().ok().map(|c| c.id()))
        })
        .collect()
}

/// The lookup by name through libgit2: the commit, the tag object when annotated; `Err`
/// when libgit2 fails to read the reference or to peel it to a commit.
fn libgit2_lookup(repo: &Repository, name: &str) -> Result<Option<(Oid, Option<Oid>)>, ()> {
    let reference = match repo.find_reference(&format!("refs/tags/{name}")) {
        Ok(r) => r,
        Err(e)
            if e.code() == git2::ErrorCode::NotFound
                || e.code() == git2::ErrorCode::InvalidSpec =>
        {
            return Ok(None);
        }
        Err(_) => return Err(()),
    };
    let commit = reference.peel_to_commit().map_err(|_| ())?.id();
    let target = reference.resolve().map_err(|_| ())?.target().ok_or(())?;
    let annotated = (repo.find_object(target, None).map_err(|_| ())?.kind()
        == Some(ObjectType::Tag))
    .then_some(target);
    Ok(Some((commit, annotated)))
}

/// The reader lists what libgit2 lists, in the same order, peeled to the same commits.
/// Where libgit2 finds no commit (a tag of a tree or a blob), a `^` line's object or a
/// `fully-peeled` file's object is taken as is: the reader gives no id or an id that is not
/// a commit, which no commit walk meets.
fn assert_same_listing(repo: &Repository, refs: &TagRefs<'_>) {
    let ours = listed(refs);
    let theirs = libgit2_listed(repo);
    let names = |l: &[(String, Option<Oid>)]| l.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs), "names and their order");
    for ((name, ours), (_, theirs)) in ours.iter().zip(&theirs) {
        match theirs {
            Some(commit) => assert_eq!(ours, &Some(*commit), "tag `{name}`"),
            None => assert!(
                ours.is_none_or(|id| repo.find_commit(id).is_err()),
                "tag `{name}`: libgit2 finds no commit, the reader gives {ours:?}"
            ),
        }
    }
}

/// Every name (and a few absent or invalid ones) looks up as through libgit2.
fn assert_same_lookups<'a>(
    repo: &Repository,
    refs: &TagRefs<'_>,
    names: impl IntoIterator<Item = &'a str>,
) {
    let extra = ["absent", "v9/absent", "a..b", "", "x.lock", "/v1", "v1/"];
    for name in names.into_iter().chain(extra) {
        let theirs = libgit2_lookup(repo, name);
        match refs.lookup(name) {
            Ok(ours) => assert_eq!(Ok(ours), theirs, "lookup of `{name}`"),
            Err(e) => assert!(
                theirs.is_err(),
                "lookup of `{name}`: {e:#}, libgit2: {theirs:?}"
            ),
        }
    }
}

/// Where a generated tag points.
#[derive(Debug, Clone, Copy)]
enum Points {
    Commit(usize),
    Annotated(usize),
    /// A tag object whose target is a tag object of the commit.
    TagOfTag(usize),
    Tree,
    AnnotatedTree,
    Blob,
}

/// Where a generated tag is stored.
#[derive(Debug, Clone, Copy)]
enum Stored {
    Packed,
    Loose,
    /// Loose, and packed with a different lightweight target (the commit given).
    Both(usize),
}

#[derive(Debug, Clone, Copy)]
struct Spec {
    points: Points,
    stored: Stored,
    /// Whether `packed-refs` has the `^` line of a tag object (always with `fully-peeled`).
    peel_line: bool,
}

fn points() -> impl Strategy<Value = Points> {
    prop_oneof![
        3 => (0..3_usize).prop_map(Points::Commit),
        3 => (0..3_usize).prop_map(Points::Annotated),
        1 => (0..3_usize).prop_map(Points::TagOfTag),
        1 => Just(Points::Tree),
        1 => Just(Points::AnnotatedTree),
        1 => Just(Points::Blob),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let stored = prop_oneof![
        2 => Just(Stored::Packed),
        1 => Just(Stored::Loose),
        1 => (0..3_usize).prop_map(Stored::Both),
    ];
    (points(), stored, any::<bool>()).prop_map(|(points, stored, peel_line)| Spec {
        points,
        stored,
        peel_line,
    })
}

/// The layout of `packed-refs`.
#[derive(Debug, Clone, Copy)]
enum Header {
    None,
    Peeled,
    FullyPeeledSorted,
}

impl Fixture {
    /// The object a generated tag points at, and the object it peels to (`^` line).
    fn object(&self, name: &str, points: Points) -> (Oid, Oid) {
        match points {
            Points::Commit(i) => (self.commits[i], self.commits[i]),
            Points::Annotated(i) => (self.annotate(name, self.commits[i]), self.commits[i]),
            Points::TagOfTag(i) => {
                let inner = self.annotate(&format!("{name}-inner"), self.commits[i]);
                (self.annotate(name, inner), self.commits[i])
            }
            Points::Tree => (self.tree, self.tree),
            Points::AnnotatedTree => (self.annotate(name, self.tree), self.tree),
            Points::Blob => (self.blob, self.blob),
        }
    }

    /// Write the tags of `specs` as git does: loose files, and a `packed-refs` file (in
    /// name order, or reversed without the `sorted` trait) that also holds a branch.
    fn write_tags(&self, specs: &BTreeMap<String, Spec>, header: Header, sorted: bool) {
        let mut packed: Vec<(String, Oid, Option<Oid>)> =
            vec![("refs/heads/main".to_string(), self.commits[2], None)];
        for (name, spec) in specs {
            let (target, peeled) = self.object(name, spec.points);
            let is_tag = target != peeled;
            let peel_line = matches!(header, Header::FullyPeeledSorted) || spec.peel_line;
            let peel = (is_tag && peel_line).then_some(peeled);
            let full = format!("refs/tags/{name}");
            match spec.stored {
                Stored::Packed => packed.push((full, target, peel)),
                Stored::Loose => self.write_loose(name, format!("{target}\n").as_bytes()),
                Stored::Both(i) => {
                    let other = if self.commits[i] == target {
                        self.commits[(i + 1) % 3]
                    } else {
                        self.commits[i]
                    };
                    packed.push((full, other, None));
                    self.write_loose(name, format!("{target}\n").as_bytes());
                }
            }
        }
        packed.sort_by(|a, b| a.0.cmp(&b.0));
        let sorted = sorted || matches!(header, Header::FullyPeeledSorted);
        if !sorted {
            packed.reverse();
        }
        let mut text = match header {
            Header::None => String::new(),
            Header::Peeled => "# pack-refs with: peeled \n".to_string(),
            Header::FullyPeeledSorted => FULLY_PEELED.to_string(),
        };
        for (name, target, peel) in packed {
            text.push_str(&format!("{target} {name}\n"));
            if let Some(peel) = peel {
                text.push_str(&format!("^{peel}\n"));
            }
        }
        self.write_packed(text.as_bytes());
    }
}

/// Tag names with nesting and the characters that order around `/` (`-` and `.` before it,
/// digits after it).
fn names() -> impl Strategy<Value = BTreeMap<String, Spec>> {
    prop::collection::btree_map("(v|rel|x)(-|/|\\.)?[0-9]{1,2}(/[a-c][0-9])?", spec(), 1..12)
        .prop_map(|mut specs| {
            // A name cannot be both a file and a directory of loose references.
            let names: Vec<String> = specs.keys().cloned().collect();
            specs.retain(|name, _| {
                !names
                    .iter()
                    .any(|other| other.starts_with(&format!("{name}/")))
            });
            specs
        })
}

/// A `packed-refs` file: branches, then tags (some peeled), in name order unless `shuffle`,
/// with `junk` lines put in, a name repeated, carriage returns, a cut last line.
fn packed_refs_file(
    names: &[String],
    sorted_trait: bool,
    junk: &[(usize, String)],
    repeat: Option<usize>,
    crlf: bool,
    cut: bool,
) -> Vec<u8> {
    let hex = |i: usize, peel: bool| format!("{:039x}{}", i, if peel { "f" } else { "0" });
    let mut lines = vec![format!("{} refs/heads/main", hex(999, false))];
    for (i, name) in names.iter().enumerate() {
        lines.push(format!("{} refs/tags/{name}", hex(i, false)));
        if i % 3 == 1 {
            lines.push(format!("^{}", hex(i, true)));
        }
        if repeat == Some(i) {
            lines.push(format!("{} refs/tags/{name}", hex(i + 500, false)));
        }
    }
    for (at, text) in junk {
        let at = (*at).min(lines.len());
        lines.insert(at, text.clone());
    }
    let header = if sorted_trait {
        "# pack-refs with: peeled fully-peeled sorted "
    } else {
        "# pack-refs with: peeled fully-peeled "
    };
    let newline = if crlf { "\r\n" } else { "\n" };
    let mut text = format!("{header}\n");
    for line in lines {
        text.push_str(&line);
        text.push_str(newline);
    }
    if cut {
        text.pop();
    }
    text.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A lookup searched in place answers as the whole parse does, and decides whenever
    /// the file is git's: sorted, nothing repeated, no line it cannot read.
    #[test]
    fn a_search_in_place_agrees_with_the_whole_parse(
        names in proptest::collection::btree_set("[a-c]{1,3}(/[a-c]{1,2})?", 0..40),
        sorted_trait in any::<bool>(),
        junk in proptest::collection::vec((0usize..80, "[ -~^]{0,50}"), 0..3),
        repeat in proptest::option::of(0usize..40),
        crlf in any::<bool>(),
        cut in any::<bool>(),
        pick in any::<proptest::sample::Index>(),
        other in "[a-c]{1,3}(/[a-c]{1,2})?",
        existing in any::<bool>(),
    ) {
        let names: Vec<String> = names.into_iter().collect();
        let bytes = packed_refs_file(&names, sorted_trait, &junk, repeat, crlf, cut);
        let query = if existing && !names.is_empty() {
            names[pick.index(names.len())].clone()
        } else {
            other
        };
        let whole = super::Packed::parse(std::rc::Rc::new(bytes.clone())).find(query.as_bytes());
        let searched = super::find_sorted(&bytes, &format!("refs/tags/{query}"));
        match searched {
            super::Search::Found(target) => prop_assert_eq!(Some(target), whole),
            super::Search::Absent => prop_assert_eq!(None, whole),
            super::Search::Undecided => {
                prop_assert!(!(sorted_trait && junk.is_empty() && repeat.is_none()));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn reader_agrees_with_libgit2(
        specs in names(),
        header in prop_oneof![Just(Header::None), Just(Header::Peeled), Just(Header::FullyPeeledSorted)],
        sorted in any::<bool>(),
    ) {
        let fixture = Fixture::new();
        fixture.write_tags(&specs, header, sorted);
        let repo = fixture.open();
        // Looked up before anything is listed (searched in place), then after.
        assert_same_lookups(&repo, &TagRefs::new(&repo), specs.keys().map(String::as_str));
        // Whether some name matches, from the lines in place or from the listing: what a
        // visit of the listing finds.
        for prefix in ["", "v", "rel/", "x1", "v1", "zzz"] {
            let matches = |name: &str| name.starts_with(prefix);
            let mut listed = false;
            TagRefs::new(&repo)
                .visit(|name, _| {
                    listed |= matches(name);
                    ControlFlow::Continue(())
                })
                .unwrap();
            prop_assert_eq!(TagRefs::new(&repo).any_name(matches).unwrap(), listed, "{}", prefix);
            let parsed = TagRefs::new(&repo);
            parsed.visit(|_, _| ControlFlow::Continue(())).unwrap();
            prop_assert_eq!(parsed.any_name(matches).unwrap(), listed, "{}", prefix);
        }
        let refs = TagRefs::new(&repo);
        prop_assert!(refs.files.is_some());
        assert_same_listing(&repo, &refs);
        assert_same_lookups(&repo, &refs, specs.keys().map(String::as_str));

        // The index keeps the accepted names under their commits, as libgit2 peels them.
        let index = TagIndex::read(&refs, |name| !name.starts_with('x')).unwrap();
        let mut expected: HashMap<Oid, Vec<String>> = HashMap::new();
        for (name, commit) in libgit2_listed(&repo) {
            if let (Some(commit), false) = (commit, name.starts_with('x')) {
                expected.entry(commit).or_default().push(name);
            }
        }
        let mut got = index.by_commit();
        got.retain(|id, _| repo.find_commit(*id).is_ok());
        for names in got.values_mut().chain(expected.values_mut()) {
            names.sort();
        }
        prop_assert_eq!(got, expected);
    }
}

/// A fixture with an annotated `v1.0` (packed, peeled), a lightweight `v1.1` (packed) and a
/// lightweight `release/2.0` (loose), then `packed_tail`; returns `v1.0`'s tag object.
fn small(fixture: &Fixture, packed_tail: &str) -> Oid {
    let v10 = fixture.annotate("v1.0", fixture.commits[0]);
    fixture.write_packed(
        format!(
            "{FULLY_PEELED}{v10} refs/tags/v1.0\n^{}\n{} refs/tags/v1.1\n{packed_tail}",
            fixture.commits[0], fixture.commits[1]
        )
        .as_bytes(),
    );
    fixture.write_loose(
        "release/2.0",
        format!("{}\n", fixture.commits[2]).as_bytes(),
    );
    v10
}

#[test]
fn garbage_lines_are_skipped() {
    let fixture = Fixture::new();
    let c = fixture.commits.clone();
    fixture.write_packed(
        &format!(
            "{FULLY_PEELED}\
             garbage\n\
             \n\
             ^{c0}\n\
             {short} refs/tags/short\n\
             {c0}refs/tags/no-space\n\
             {c0} \n\
             {c0} refs/tags/\n\
             zz{rest} refs/tags/not-hex\n\
             # a comment\n\
             {c1} refs/tags/good\n\
             ^not-an-id\n\
             ^{c0}\n\
             \x00\x01\u{7f}\n\
             {c2} refs/tags/\u{e9}t\u{e9}\n\
             {c2} refs/tags/latin-",
            c0 = c[0],
            c1 = c[1],
            c2 = c[2],
            short = &c[0].to_string()[..39],
            rest = &c[0].to_string()[2..],
        )
        .bytes()
        // A name that is not UTF-8 (`latin-\xe9`).
        .chain(*b"\xe9\n")
        .collect::<Vec<u8>>(),
    );
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    assert_eq!(
        listed(&refs),
        vec![
            ("good".to_string(), Some(c[1])),
            ("\u{e9}t\u{e9}".to_string(), Some(c[2])),
        ]
    );
    assert_eq!(refs.lookup("good").unwrap(), Some((c[1], None)));
    assert_eq!(refs.lookup("short").unwrap(), None);
    assert_eq!(refs.lookup("not-hex").unwrap(), None);
    // libgit2 rejects the whole file; the reader keeps what it can read.
    assert!(repo.references_glob("refs/tags/*").is_err());
}

#[test]
fn a_truncated_file_keeps_its_complete_lines() {
    // Cut inside the last name (`v1.30` lost its end).
    let fixture = Fixture::new();
    let v10 = small(&fixture, &format!("{} refs/tags/v1.3", fixture.commits[2]));
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    let names: Vec<String> = listed(&refs).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["release/2.0", "v1.0", "v1.1"]);
    assert_eq!(refs.lookup("v1.3").unwrap(), None);
    assert_eq!(
        refs.lookup("v1.0").unwrap(),
        Some((fixture.commits[0], Some(v10)))
    );

    // Cut inside the `^` line of the last tag: its commit is read from the tag object,
    // not taken for the tag object itself.
    let fixture = Fixture::new();
    let v12 = fixture.annotate("v1.2", fixture.commits[2]);
    let cut = &fixture.commits[2].to_string()[..20];
    small(&fixture, &format!("{v12} refs/tags/v1.2\n^{cut}"));
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    assert_eq!(
        listed(&refs)[3],
        ("v1.2".to_string(), Some(fixture.commits[2]))
    );
    assert_eq!(
        refs.lookup("v1.2").unwrap(),
        Some((fixture.commits[2], Some(v12)))
    );

    // Cut inside the header: nothing is listed.
    let fixture = Fixture::new();
    fixture.write_packed(b"# pack-refs wi");
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    assert_eq!(listed(&refs), Vec::new());
    assert_eq!(refs.lookup("v1.0").unwrap(), None);
}

#[test]
fn crlf_line_ends_read_like_lf() {
    let fixture = Fixture::new();
    let v10 = fixture.annotate("v1.0", fixture.commits[0]);
    let text = format!(
        "{FULLY_PEELED}{v10} refs/tags/v1.0\n^{}\n{} refs/tags/v1.1\n",
        fixture.commits[0], fixture.commits[1]
    )
    .replace('\n', "\r\n");
    fixture.write_packed(text.as_bytes());
    fixture.write_loose("v2.0", format!("{}\r\n", fixture.commits[2]).as_bytes());
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    assert_same_listing(&repo, &refs);
    assert_eq!(
        listed(&refs),
        vec![
            ("v2.0".to_string(), Some(fixture.commits[2])),
            ("v1.0".to_string(), Some(fixture.commits[0])),
            ("v1.1".to_string(), Some(fixture.commits[1])),
        ]
    );
    // A lookup finds what the listing lists. (libgit2's lookup in a `sorted` file compares
    // the names with their `\r` and finds neither packed tag.)
    assert_eq!(
        refs.lookup("v1.0").unwrap(),
        Some((fixture.commits[0], Some(v10)))
    );
    assert_eq!(
        refs.lookup("v1.1").unwrap(),
        Some((fixture.commits[1], None))
    );
    assert_eq!(libgit2_lookup(&repo, "v1.1"), Ok(None));
    assert_same_lookups(&repo, &refs, ["v2.0"]);
}

#[test]
fn a_symbolic_loose_tag_resolves_through_its_target() {
    let fixture = Fixture::new();
    let v10 = small(&fixture, "");
    fixture.write_loose("latest", b"ref: refs/tags/v1.0\n");
    fixture.write_loose("dangling", b"ref: refs/tags/none\n");
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    assert_same_listing(&repo, &refs);
    assert_same_lookups(&repo, &refs, ["latest", "dangling", "v1.0"]);
    assert_eq!(
        refs.lookup("latest").unwrap(),
        Some((fixture.commits[0], Some(v10)))
    );
    let listed = listed(&refs);
    assert_eq!(listed[0], ("dangling".to_string(), None));
    assert_eq!(listed[1], ("latest".to_string(), Some(fixture.commits[0])));
}

#[test]
fn a_corrupt_loose_file_hides_nothing_and_fails_its_lookup() {
    let fixture = Fixture::new();
    small(&fixture, "");
    fixture.write_loose("v1.1", b"not an id\n");
    fixture.write_loose("v3.0", b"ref: \n");
    fixture.write_loose("v4.0.lock", format!("{}\n", fixture.commits[2]).as_bytes());
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    assert_same_listing(&repo, &refs);
    assert_same_lookups(&repo, &refs, ["v1.1", "v3.0", "v4.0"]);
    let names: Vec<String> = listed(&refs).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["release/2.0", "v1.0", "v1.1"]);
    let error = refs.lookup("v1.1").unwrap_err();
    assert!(
        format!("{error:#}").contains("reading tag `v1.1`: corrupted loose reference file"),
        "{error:#}"
    );
}

#[test]
fn a_tag_of_a_tree_is_a_lookup_error() {
    let fixture = Fixture::new();
    small(&fixture, "");
    fixture.write_loose("tree", format!("{}\n", fixture.tree).as_bytes());
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    let error = refs.lookup("tree").unwrap_err();
    assert_eq!(error.to_string(), "tag `tree` does not point at a commit");
    assert_same_lookups(&repo, &refs, ["tree"]);
}

#[test]
fn a_worktree_reads_the_common_directory() {
    let fixture = Fixture::new();
    let v10 = small(&fixture, "");
    let path = fixture.dir.path().join("wt");
    fixture.repo.worktree("wt", &path, None).unwrap();
    let repo = Repository::open(&path).unwrap();
    assert_ne!(repo.path(), repo.commondir());
    let refs = TagRefs::new(&repo);
    assert_eq!(refs.files.as_deref(), Some(fixture.common().as_path()));
    assert_same_listing(&repo, &refs);
    assert_same_lookups(&repo, &refs, ["v1.0", "v1.1", "release/2.0"]);
    assert_eq!(listed(&refs).len(), 3);
    assert_eq!(
        refs.lookup("v1.0").unwrap(),
        Some((fixture.commits[0], Some(v10)))
    );
}

#[test]
fn without_reference_files_libgit2_reads_the_tags() {
    let fixture = Fixture::new();
    small(&fixture, "");
    std::fs::create_dir(fixture.common().join("reftable")).unwrap();
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    assert!(refs.files.is_none());
    assert_same_listing(&repo, &refs);
    assert_same_lookups(&repo, &refs, ["v1.0", "v1.1", "release/2.0"]);
    assert_eq!(listed(&refs).len(), 3);
}

#[test]
fn names_sort_like_libgit2_across_directories() {
    let fixture = Fixture::new();
    let c = fixture.commits[0];
    for name in ["v1/a", "v1-a", "v1.a", "v10", "V2", "v1/b/c"] {
        fixture.write_loose(name, format!("{c}\n").as_bytes());
    }
    let repo = fixture.open();
    let refs = TagRefs::new(&repo);
    assert_same_listing(&repo, &refs);
    let names: Vec<String> = listed(&refs).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["V2", "v1-a", "v1.a", "v1/a", "v1/b/c", "v10"]);
}

#[test]
fn object_ids_parse_in_either_case_and_nothing_else() {
    let id = "0123456789abcdefABCDEF0123456789abcdef01";
    assert_eq!(
        super::parse_oid(id.as_bytes()),
        Some(Oid::from_str(&id.to_lowercase()).unwrap())
    );
    assert_eq!(
        super::parse_oid(format!("{id} trailing").as_bytes()),
        super::parse_oid(id.as_bytes())
    );
    assert_eq!(super::parse_oid(&id.as_bytes()[..39]), None);
    // The bytes next to the digit and letter ranges.
    for bad in ['/', ':', '@', 'G', '`', 'g', ' ', '\n', '\u{e9}'] {
        let mut text = id.to_string();
        text.replace_range(38..39, &bad.to_string());
        assert_eq!(super::parse_oid(text.as_bytes()), None, "{bad:?}");
    }
}
