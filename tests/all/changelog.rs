//! `relsync::changelog::collect` against real repositories built with `TestRepo`.

use git2::Oid;
use regex::Regex;
use relsync::changelog::{
    self, Changelog, ChangelogSettings, GroupSpec, OnShallow, Person, Target, collect,
};
use relsync::error::InputError;

use crate::helpers::repo::{EPOCH, STEP, TestRepo, git_cli};

fn settings() -> ChangelogSettings {
    ChangelogSettings::default()
}

fn run(repo: &TestRepo, settings: &ChangelogSettings) -> Changelog {
    collect(repo.path(), settings, &Target::default()).expect("collect")
}

fn ids(log: &Changelog) -> Vec<String> {
    log.commits.iter().map(|c| c.id.clone()).collect()
}

fn oids(list: &[Oid]) -> Vec<String> {
    list.iter().map(Oid::to_string).collect()
}

fn subjects(log: &Changelog) -> Vec<&str> {
    log.commits.iter().map(|c| c.subject.as_str()).collect()
}

fn group_titles(log: &Changelog) -> Vec<&str> {
    log.groups.iter().map(|g| g.title.as_str()).collect()
}

fn person(name: &str, email: &str) -> Person {
    Person {
        name: name.into(),
        email: email.into(),
    }
}

fn input_error(err: &anyhow::Error) -> &InputError {
    err.chain()
        .find_map(|e| e.downcast_ref::<InputError>())
        .unwrap_or_else(|| panic!("expected an InputError (exit 2), got: {err:#}"))
}

#[test]
fn first_release_takes_the_whole_history() {
    let repo = TestRepo::new();
    let a = repo.commit("feat: first");
    let b = repo.commit("fix: second");
    let c = repo.commit("docs: third");
    repo.tag("v1.0.0");

    let log = run(&repo, &settings());
    assert_eq!(log.tag.as_deref(), Some("v1.0.0"));
    assert!(log.tag_exists);
    assert_eq!(log.version, "1.0.0");
    assert_eq!(log.previous_tag, None);
    assert_eq!(log.commit, c.to_string());
    assert_eq!(ids(&log), oids(&[c, b, a]));
    assert_eq!(log.shallow_warning, None);
    let first = &log.commits[2];
    assert_eq!(first.short_id, a.to_string()[..7]);
    assert_eq!(first.description, "first");
    assert_eq!(first.author, person("Ada Lovelace", "ada@example.com"));
    assert_eq!(first.date.timestamp(), EPOCH);
    assert!(!first.merge);
}

#[test]
fn normal_range_stops_at_the_previous_tag() {
    let repo = TestRepo::new();
    repo.commit("feat: one");
    repo.commit("feat: two");
    repo.tag("v1.0.0");
    let c3 = repo.commit("fix: three");
    let c4 = repo.commit("feat: four");
    let c5 = repo.commit("chore: five");
    repo.tag("v1.1.0");

    let log = run(&repo, &settings());
    assert_eq!(log.tag.as_deref(), Some("v1.1.0"));
    assert_eq!(log.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(log.version, "1.1.0");
    assert_eq!(ids(&log), oids(&[c5, c4, c3]));
    // Lightweight tag: the release date is the release commit's committer time.
    assert_eq!(log.date.timestamp(), EPOCH + 4 * STEP);
}

#[test]
fn highest_version_wins_among_tags_on_one_commit() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.9.0");
    repo.tag("v1.10.0-rc.1");
    repo.tag("v1.10.0");
    repo.tag("v1.2.0");
    let c = repo.commit("fix: next");
    repo.tag("v1.11.0");
    repo.tag("v1.11.0-rc.2");

    let log = run(&repo, &settings());
    assert_eq!(log.tag.as_deref(), Some("v1.11.0"));
    assert_eq!(log.previous_tag.as_deref(), Some("v1.10.0"));
    assert_eq!(ids(&log), oids(&[c]));
}

#[test]
fn ignore_tags_skips_release_candidates_as_previous() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.0.0");
    let a = repo.commit("feat: a");
    repo.tag("v1.1.0-rc.1");
    let b = repo.commit("fix: b");
    repo.tag("v1.1.0");

    let mut s = settings();
    let without = run(&repo, &s);
    assert_eq!(without.previous_tag.as_deref(), Some("v1.1.0-rc.1"));
    assert_eq!(ids(&without), oids(&[b]));

    s.ignore_tags = vec!["*-rc*".into()];
    let with = run(&repo, &s);
    assert_eq!(with.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(ids(&with), oids(&[b, a]));
}

#[test]
fn rc_release_itself_is_a_release() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.0.0");
    let a = repo.commit("feat: a");
    repo.tag("v1.1.0-rc.1");

    let mut s = settings();
    s.ignore_tags = vec!["*-rc*".into()];
    let log = run(&repo, &s);
    assert_eq!(log.tag.as_deref(), Some("v1.1.0-rc.1"));
    assert_eq!(log.version, "1.1.0-rc.1");
    assert_eq!(log.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(ids(&log), oids(&[a]));
}

#[test]
fn since_overrides_detection() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.0.0");
    let a = repo.commit("feat: a");
    repo.tag("v1.1.0");
    let b = repo.commit("feat: b");
    repo.tag("v1.2.0");

    let mut s = settings();
    s.since = Some("v1.0.0".into());
    let log = run(&repo, &s);
    assert_eq!(log.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(ids(&log), oids(&[b, a]));

    s.since = Some("v0.9.0".into());
    let err = collect(repo.path(), &s, &Target::default()).unwrap_err();
    let input = input_error(&err);
    assert!(input.message.contains("v0.9.0"), "{input}");
    assert!(input.message.contains("changelog.since"), "{input}");
}

#[test]
fn tags_with_slashes() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("release/1.0");
    let a = repo.commit("feat: a");
    repo.tag("v2.0.0"); // not a release under this pattern
    let b = repo.commit("fix: b");
    repo.tag("release/1.1");

    let mut s = settings();
    s.tag_pattern = "release/*".into();
    let log = run(&repo, &s);
    assert_eq!(log.tag.as_deref(), Some("release/1.1"));
    assert_eq!(log.version, "1.1");
    assert_eq!(log.previous_tag.as_deref(), Some("release/1.0"));
    assert_eq!(ids(&log), oids(&[b, a]));
}

#[test]
fn annotated_tag_date_is_the_tagger_date() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.annotated_tag("v1.0.0", "Release 1.0.0");
    let a = repo.commit("feat: a");
    let commit_time = repo.last_time();
    repo.annotated_tag("v1.1.0", "Release 1.1.0");
    let tag_time = repo.last_time();
    assert!(tag_time > commit_time);

    let log = run(&repo, &settings());
    assert_eq!(log.tag.as_deref(), Some("v1.1.0"));
    assert!(log.tag_exists);
    assert_eq!(log.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(log.commit, a.to_string());
    assert_eq!(log.date.timestamp(), tag_time);

    // Given explicitly, the annotated tag resolves to its commit and date as well.
    let target = Target {
        tag: Some("v1.0.0".into()),
        commit: None,
    };
    let old = collect(repo.path(), &settings(), &target).unwrap();
    assert_eq!(old.version, "1.0.0");
    assert_eq!(old.previous_tag, None);
    assert_eq!(old.commits.len(), 1);
    assert_eq!(old.date.timestamp(), EPOCH + STEP);

    // A lightweight tag on the same kind of history dates from the commit.
    let light = TestRepo::new();
    light.commit("feat: base");
    let time = light.last_time();
    light.tag("v1.0.0");
    assert_eq!(run(&light, &settings()).date.timestamp(), time);
}

#[test]
fn merges_are_dropped_unless_included() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.0.0");
    repo.branch("topic");
    repo.checkout("topic");
    let t = repo.commit_files("feat: on topic", &[("topic.txt", "t")]);
    repo.checkout("main");
    let m1 = repo.commit_files("fix: on main", &[("main.txt", "m")]);
    let merge = repo.merge("topic", "Merge branch 'topic'");
    repo.tag("v1.1.0");

    let log = run(&repo, &settings());
    assert_eq!(log.commit, merge.to_string());
    let mut got = ids(&log);
    got.sort();
    let mut want = oids(&[t, m1]);
    want.sort();
    assert_eq!(got, want);
    assert!(log.commits.iter().all(|c| !c.merge));

    let mut s = settings();
    s.include_merges = true;
    let with = run(&repo, &s);
    assert_eq!(with.commits.len(), 3);
    assert_eq!(with.commits[0].id, merge.to_string());
    assert!(with.commits[0].merge);
    assert_eq!(with.commits[0].group, "Other");
}

#[test]
fn previous_tag_is_found_through_merged_branches_like_git_describe() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.0.0");
    repo.branch("maint");
    let a = repo.commit_files("feat: a", &[("a.txt", "a")]);
    repo.checkout("maint");
    repo.commit_files("fix: b", &[("b.txt", "b")]);
    repo.tag("v1.0.1");
    repo.checkout("main");
    repo.merge("maint", "Merge branch 'maint'");
    let c = repo.commit_files("feat: c", &[("c.txt", "c")]);
    repo.tag("v1.1.0");

    let described = git_cli(
        Some(repo.path()),
        &[
            "describe",
            "--tags",
            "--abbrev=0",
            "--match",
            "v*",
            "v1.1.0^",
        ],
    );
    assert_eq!(described.trim(), "v1.0.1");

    let log = run(&repo, &settings());
    assert_eq!(log.previous_tag.as_deref(), Some("v1.0.1"));
    assert_eq!(ids(&log), oids(&[c, a]));
}

#[test]
fn revert_pairs_inside_the_range_are_dropped() {
    let repo = TestRepo::new();
    let old = repo.commit("feat: shipped before");
    repo.tag("v1.0.0");
    let a = repo.commit("feat: experiment");
    let b = repo.commit("fix: keep me");
    repo.commit(&format!(
        "Revert \"feat: experiment\"\n\nThis reverts commit {a}.\n"
    ));
    let revert_old = repo.commit(&format!(
        "Revert \"feat: shipped before\"\n\nThis reverts commit {old}.\n"
    ));
    // A revert of a revert: the revert pair cancels, the original change stays.
    let c = repo.commit("feat: flip-flop");
    let rc = repo.commit(&format!(
        "Revert \"feat: flip-flop\"\n\nThis reverts commit {c}."
    ));
    let rrc = repo.commit(&format!(
        "Revert \"Revert \"feat: flip-flop\"\"\n\nThis reverts commit {}.",
        &rc.to_string()[..10]
    ));
    repo.tag("v1.1.0");

    let log = run(&repo, &settings());
    assert_eq!(ids(&log), oids(&[c, revert_old, b]));
    let kept_revert = &log.commits[1];
    assert_eq!(kept_revert.revert, Some(old.to_string()));
    assert!(!ids(&log).contains(&rrc.to_string()));
}

#[test]
fn breaking_changes_from_bang_and_footers() {
    let repo = TestRepo::new();
    repo.commit("chore: base");
    repo.tag("v1.0.0");
    let bang = repo.commit("feat(api)!: drop v1 endpoints");
    let footer = repo.commit(
        "fix(config): rename key\n\nLonger text.\n\nBREAKING CHANGE: `foo` is now `bar`\nRefs: #12\n",
    );
    let hyphen = repo.commit("perf: faster\n\nBREAKING-CHANGE: needs 2 GiB of memory");
    let plain = repo.commit("feat: compatible");
    repo.tag("v2.0.0");

    let log = run(&repo, &settings());
    let breaking: Vec<String> = log.breaking_changes.iter().map(|c| c.id.clone()).collect();
    assert_eq!(breaking, oids(&[hyphen, footer, bang]));
    assert_eq!(
        group_titles(&log),
        vec!["Breaking changes", "Features"],
        "breaking commits go to the breaking group before their type's group"
    );
    assert_eq!(log.groups[1].commits[0].id, plain.to_string());

    let by_id = |oid: Oid| {
        log.commits
            .iter()
            .find(|c| c.id == oid.to_string())
            .unwrap()
    };
    let b = by_id(bang);
    assert_eq!(b.r#type.as_deref(), Some("feat"));
    assert_eq!(b.scope.as_deref(), Some("api"));
    assert_eq!(b.breaking_description.as_deref(), Some("drop v1 endpoints"));
    assert_eq!(b.group, "Breaking changes");
    let f = by_id(footer);
    assert!(f.breaking);
    assert_eq!(
        f.breaking_description.as_deref(),
        Some("`foo` is now `bar`")
    );
    assert_eq!(
        f.body,
        "Longer text.\n\nBREAKING CHANGE: `foo` is now `bar`\nRefs: #12"
    );
    assert_eq!(f.footers.len(), 2);
    assert_eq!(f.footers[1].token, "Refs");
    assert_eq!(f.footers[1].value, "#12");
    let h = by_id(hyphen);
    assert_eq!(
        h.breaking_description.as_deref(),
        Some("needs 2 GiB of memory")
    );
    assert!(!by_id(plain).breaking);

    // Without a breaking group, a breaking feat stays with the features.
    let mut s = settings();
    s.groups.retain(|g| !g.breaking);
    let log = run(&repo, &s);
    assert_eq!(
        group_titles(&log),
        vec!["Features", "Bug fixes", "Performance"]
    );
    assert_eq!(log.groups[0].commits.len(), 2);
    assert_eq!(log.breaking_changes.len(), 3);
}

#[test]
fn co_authors_and_contributors_dedup_by_email() {
    let repo = TestRepo::new();
    repo.commit("chore: base");
    repo.tag("v1.0.0");
    repo.commit_as(("Grace Hopper", "Grace@Example.com"), "feat: one");
    repo.commit_as(
        ("Alan Turing", "alan@example.com"),
        "fix: two\n\nPaired.\n\nCo-authored-by: Grace H. <grace@example.com>\nCo-authored-by: Ada Lovelace <ada@example.com>\n",
    );
    repo.commit("docs: three");
    repo.tag("v1.1.0");

    let log = run(&repo, &settings());
    // Newest first: Ada (docs), Alan + co-authors Grace (dup) and Ada (dup), then Grace.
    assert_eq!(
        log.contributors,
        vec![
            person("Ada Lovelace", "ada@example.com"),
            person("Alan Turing", "alan@example.com"),
            person("Grace H.", "grace@example.com"),
        ]
    );
    let two = &log.commits[1];
    assert_eq!(
        two.co_authors,
        vec![
            person("Grace H.", "grace@example.com"),
            person("Ada Lovelace", "ada@example.com")
        ]
    );
    assert_eq!(two.author, person("Alan Turing", "alan@example.com"));
}

#[test]
fn paths_limit_the_range_in_a_monorepo() {
    let repo = TestRepo::new();
    repo.commit_files(
        "chore: init",
        &[
            ("packages/api/src/lib.rs", "0"),
            ("packages/web/index.js", "0"),
        ],
    );
    repo.tag("v1.0.0");
    let api = repo.commit_files("feat(api): a", &[("packages/api/src/lib.rs", "1")]);
    repo.commit_files("feat(web): w", &[("packages/web/index.js", "1")]);
    let both = repo.commit_files(
        "fix: both",
        &[
            ("packages/api/src/lib.rs", "2"),
            ("packages/web/index.js", "2"),
        ],
    );
    repo.commit_files("docs: readme", &[("README.md", "x")]);
    repo.commit("chore: empty");
    let api_new = repo.commit_files("feat(api): new file", &[("packages/api/new.rs", "n")]);
    repo.tag("v1.1.0");

    let mut s = settings();
    s.paths = vec!["packages/api/**".into()];
    let log = run(&repo, &s);
    assert_eq!(ids(&log), oids(&[api_new, both, api]));

    // A plain directory takes what is below it; a root-level glob forces a full diff.
    s.paths = vec!["packages/web".into(), "*.md".into()];
    let web = run(&repo, &s);
    assert_eq!(
        subjects(&web),
        vec!["docs: readme", "fix: both", "feat(web): w"]
    );

    // The first release includes the root commit (diffed against the empty tree).
    let target = Target {
        tag: Some("v1.0.0".into()),
        commit: None,
    };
    s.paths = vec!["packages/api/**".into()];
    let first = collect(repo.path(), &s, &target).unwrap();
    assert_eq!(subjects(&first), vec!["chore: init"]);
}

fn shallow_fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.commit("feat: c1");
    repo.commit("feat: c2");
    repo.tag("v1.0.0");
    for i in 3..=8 {
        repo.commit(&format!("fix: c{i}"));
    }
    repo.tag("v1.1.0");
    repo
}

#[test]
fn shallow_clone_that_cuts_the_range_is_an_input_error() {
    let repo = shallow_fixture();
    let clone = repo.shallow_clone(3);
    assert!(git2::Repository::open(clone.path()).unwrap().is_shallow());

    let err = collect(clone.path(), &settings(), &Target::default()).unwrap_err();
    let input = input_error(&err);
    assert!(input.message.contains("shallow"), "{input}");
    let remedy = input.remedy.as_deref().unwrap_or_default();
    assert!(remedy.contains("GIT_DEPTH: 0"), "{input}");
    assert!(remedy.contains("fetch-depth: 0"), "{input}");
    assert_eq!(
        relsync::error::ExitStatus::of_error(&err),
        relsync::error::ExitStatus::BadInput
    );
}

#[test]
fn shallow_clone_with_warn_goes_on_with_a_warning() {
    let repo = shallow_fixture();
    let clone = repo.shallow_clone(3);
    let mut s = settings();
    s.on_shallow = OnShallow::Warn;
    let log = collect(clone.path(), &s, &Target::default()).unwrap();
    assert_eq!(log.tag.as_deref(), Some("v1.1.0"));
    assert_eq!(log.previous_tag, None);
    assert_eq!(subjects(&log), vec!["fix: c8", "fix: c7", "fix: c6"]);
    // With no previous release found, everyone would be new: the cut history cannot say.
    assert!(!log.contributors.is_empty());
    assert!(log.contributors.iter().all(|c| !c.first_time), "{log:?}");
    let warning = log.shallow_warning.expect("a shallow warning");
    assert!(warning.contains("shallow"), "{warning}");
    assert!(warning.contains("incomplete"), "{warning}");
    assert!(
        warning.contains("no contributor is marked new"),
        "{warning}"
    );
}

#[test]
fn shallow_clone_deep_enough_is_fine() {
    let repo = shallow_fixture();
    // Depth 7 reaches c2, the commit v1.0.0 points at: the range is complete.
    let clone = repo.shallow_clone(7);
    assert!(git2::Repository::open(clone.path()).unwrap().is_shallow());
    let log = collect(clone.path(), &settings(), &Target::default()).unwrap();
    assert_eq!(log.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(log.commits.len(), 6);
    assert_eq!(log.shallow_warning, None);
}

/// A partial clone that left the trees out (`--filter=tree:0`, as CI checkouts of large
/// repositories do) cannot compare a commit's files with its parent's: with `paths` that is
/// an input error naming the fix, not libgit2's "object not found". Without `paths`, or in a
/// clone that left only file contents out (`blob:none`), the notes are whole.
#[test]
fn paths_in_a_clone_without_trees_is_an_input_error_naming_the_fix() {
    let repo = TestRepo::new();
    repo.commit_files("feat: base", &[("api/a", "1"), ("docs/b", "1")]);
    repo.tag("v1.0.0");
    repo.commit_files("fix: api change", &[("api/a", "2")]);
    repo.commit_files("docs: doc change", &[("docs/b", "2")]);
    repo.tag("v1.1.0");
    let mut api = settings();
    api.paths = vec!["api/**".into()];

    let treeless = repo.partial_clone("tree:0");
    let err = collect(treeless.path(), &api, &Target::default()).unwrap_err();
    let input = input_error(&err);
    assert!(input.message.contains("changelog.paths"), "{input}");
    assert!(input.message.contains("partial clone"), "{input}");
    let remedy = input.remedy.as_deref().unwrap_or_default();
    assert!(remedy.contains("--filter=blob:none"), "{input}");
    assert!(remedy.contains("filter: blob:none"), "{input}");
    assert_eq!(
        relsync::error::ExitStatus::of_error(&err),
        relsync::error::ExitStatus::BadInput
    );
    let log = collect(treeless.path(), &settings(), &Target::default()).unwrap();
    assert_eq!(subjects(&log), vec!["docs: doc change", "fix: api change"]);

    let blobless = repo.partial_clone("blob:none");
    let log = collect(blobless.path(), &api, &Target::default()).unwrap();
    assert_eq!(subjects(&log), vec!["fix: api change"]);
}

#[test]
fn shallow_clone_missing_since_tag_says_so() {
    let repo = shallow_fixture();
    let clone = repo.shallow_clone(3);
    let mut s = settings();
    s.since = Some("v1.0.0".into());
    s.on_shallow = OnShallow::Warn;
    let err = collect(clone.path(), &s, &Target::default()).unwrap_err();
    let input = input_error(&err);
    assert!(input.message.contains("shallow"), "{input}");
    assert!(input.message.contains("v1.0.0"), "{input}");
    assert!(
        input
            .remedy
            .as_deref()
            .unwrap_or_default()
            .contains("GIT_DEPTH"),
        "{input}"
    );
}

#[test]
fn empty_range_is_fine() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    let head = repo.commit("fix: last");
    repo.tag("v1.0.0");

    let mut s = settings();
    s.since = Some("v1.0.0".into());
    let target = Target {
        tag: Some("v1.0.1".into()),
        commit: None,
    };
    let log = collect(repo.path(), &s, &target).unwrap();
    assert_eq!(log.commit, head.to_string());
    assert!(log.commits.is_empty());
    assert!(log.groups.is_empty());
    assert!(log.breaking_changes.is_empty());
    assert!(log.contributors.is_empty());
    assert_eq!(log.version, "1.0.1");
}

#[test]
fn tag_given_but_not_existing_locally() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.0.0");
    let a = repo.commit("feat: a");
    let b = repo.commit("fix: b");

    let target = Target {
        tag: Some("v1.1.0".into()),
        commit: None,
    };
    let log = collect(repo.path(), &settings(), &target).unwrap();
    assert_eq!(log.tag.as_deref(), Some("v1.1.0"));
    assert!(!log.tag_exists);
    assert_eq!(log.version, "1.1.0");
    assert_eq!(log.commit, b.to_string());
    assert_eq!(log.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(ids(&log), oids(&[b, a]));
    assert_eq!(log.date.timestamp(), repo.last_time());

    // The release commit can be given explicitly (the forge creates the tag there).
    let at_a = Target {
        tag: Some("v1.1.0".into()),
        commit: Some(a.to_string()),
    };
    let log = collect(repo.path(), &settings(), &at_a).unwrap();
    assert_eq!(log.commit, a.to_string());
    assert_eq!(ids(&log), oids(&[a]));

    // An unknown release commit is bad input.
    let bad = Target {
        tag: Some("v1.1.0".into()),
        commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
    };
    let err = collect(repo.path(), &settings(), &bad).unwrap_err();
    input_error(&err);
}

#[test]
fn unreleased_preview_when_head_is_not_tagged() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.0.0");
    let a = repo.commit("feat: a");
    repo.tag("nightly"); // does not match `v*`
    let b = repo.commit("fix: b");

    let log = run(&repo, &settings());
    assert_eq!(log.tag, None);
    assert!(!log.tag_exists);
    assert_eq!(log.version, "unreleased");
    assert_eq!(log.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(log.commit, b.to_string());
    assert_eq!(ids(&log), oids(&[b, a]));
    assert_eq!(log.date.timestamp(), repo.last_time());
}

#[test]
fn no_commits_at_all_is_bad_input() {
    let repo = TestRepo::new();
    let err = collect(repo.path(), &settings(), &Target::default()).unwrap_err();
    assert!(input_error(&err).message.contains("no commits"));
    let dir = tempfile::tempdir().unwrap();
    let err = collect(dir.path(), &settings(), &Target::default()).unwrap_err();
    input_error(&err);
}

#[test]
fn non_utf8_message_does_not_crash() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.0.0");
    repo.commit_raw(
        b"fix(caf\xe9): cr\xe8me br\xfbl\xe9e\n\nCo-authored-by: Fran\xe7ois <fr@example.com>\n",
    );
    repo.tag("v1.0.1");

    let log = run(&repo, &settings());
    assert_eq!(log.commits.len(), 1);
    let c = &log.commits[0];
    assert_eq!(c.r#type.as_deref(), Some("fix"));
    assert!(c.subject.contains('\u{fffd}'), "{}", c.subject);
    assert_eq!(c.co_authors.len(), 1);
    assert_eq!(c.co_authors[0].email, "fr@example.com");
    assert_eq!(c.group, "Bug fixes");
}

#[test]
fn exclude_regexes_drop_commits_by_subject() {
    let repo = TestRepo::new();
    repo.commit("feat: base");
    repo.tag("v1.0.0");
    let a = repo.commit("feat: a");
    repo.commit("chore(release): 1.1.0");
    let b = repo.commit("fix: b");
    repo.commit("Merge branch 'x' (squashed)");
    repo.tag("v1.1.0");

    let mut s = settings();
    s.exclude = vec![
        Regex::new(r"^chore\(release\)").unwrap(),
        Regex::new("^Merge branch").unwrap(),
    ];
    let log = run(&repo, &s);
    assert_eq!(ids(&log), oids(&[b, a]));
}

#[test]
fn groups_follow_the_configured_order() {
    let repo = TestRepo::new();
    repo.commit("chore: base");
    repo.tag("v1.0.0");
    let feat = repo.commit("feat: a feature");
    let fix = repo.commit("fix: a fix");
    let docs = repo.commit("Update the docs");
    let perf = repo.commit("PERF: speed");
    repo.tag("v1.1.0");

    let log = run(&repo, &settings());
    assert_eq!(
        group_titles(&log),
        vec!["Features", "Bug fixes", "Performance", "Other"]
    );
    assert_eq!(log.groups[3].commits[0].id, docs.to_string());
    assert_eq!(log.groups[2].commits[0].id, perf.to_string());

    let group = |title: &str, types: &[&str], default: bool| GroupSpec {
        title: title.into(),
        types: types.iter().map(|t| (*t).to_string()).collect(),
        breaking: false,
        default,
        ..GroupSpec::default()
    };
    let mut s = settings();
    s.groups = vec![
        group("Fixes", &["fix", "perf"], false),
        group("Misc", &[], true),
        group("Also fixes", &["fix"], false),
        group("Features", &["feat"], false),
    ];
    let log = run(&repo, &s);
    assert_eq!(group_titles(&log), vec!["Fixes", "Misc", "Features"]);
    let fixes: Vec<String> = log.groups[0].commits.iter().map(|c| c.id.clone()).collect();
    assert_eq!(fixes, oids(&[perf, fix]));
    assert_eq!(log.groups[1].commits[0].id, docs.to_string());
    assert_eq!(log.groups[2].commits[0].id, feat.to_string());
    for g in &log.groups {
        assert!(g.commits.iter().all(|c| c.group == g.title));
    }

    // conventional: false puts everything in the default group.
    let mut s = settings();
    s.conventional = false;
    let log = run(&repo, &s);
    assert_eq!(group_titles(&log), vec!["Other"]);
    assert_eq!(log.groups[0].commits.len(), 4);
    assert!(log.commits.iter().all(|c| c.r#type.is_none()));
}

#[test]
fn default_groups_are_the_documented_ones() {
    let groups = changelog::default_groups();
    let titles: Vec<&str> = groups.iter().map(|g| g.title.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "Breaking changes",
            "Features",
            "Bug fixes",
            "Performance",
            "Other",
            "Dependencies"
        ]
    );
    assert!(groups[0].breaking && groups[0].types.is_empty());
    assert_eq!(groups[1].types, vec!["feat"]);
    assert_eq!(groups[2].types, vec!["fix"]);
    assert_eq!(groups[3].types, vec!["perf"]);
    assert!(groups[4].default);
    assert_eq!(groups.iter().filter(|g| g.default).count(), 1);
}

#[test]
fn serializes_with_template_field_names() {
    let repo = TestRepo::new();
    repo.commit("chore: base");
    repo.tag("v1.0.0");
    repo.commit("feat(ui): button");
    repo.tag("v1.1.0");

    let log = run(&repo, &settings());
    let json = serde_json::to_value(&log).unwrap();
    assert_eq!(json["version"], "1.1.0");
    assert_eq!(json["previous_tag"], "v1.0.0");
    assert_eq!(json["date"], "2024-01-01T00:01:00Z");
    let commit = &json["commits"][0];
    assert_eq!(commit["type"], "feat");
    assert_eq!(commit["scope"], "ui");
    assert_eq!(commit["group"], "Features");
    assert_eq!(commit["author"]["email"], "ada@example.com");
    assert!(commit.get("r#type").is_none());
    assert_eq!(json["groups"][0]["title"], "Features");
    assert!(json["shallow_warning"].is_null());
}
