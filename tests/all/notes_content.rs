//! What the notes list, read from real repositories: merge requests and pull requests from
//! merge commits, reverts, release commits, dependency updates, protected breaking changes,
//! group options and the commit-message parser's cases.

use regex::Regex;
use relsync::changelog::{
    Changelog, ChangelogSettings, Entries, GroupSpec, RefKind, Target, collect,
};

use crate::helpers::cli::Cli;
use crate::helpers::repo::TestRepo;

fn run(repo: &TestRepo, settings: &ChangelogSettings) -> Changelog {
    collect(repo.path(), settings, &Target::default()).expect("collect")
}

fn subjects(log: &Changelog) -> Vec<&str> {
    log.commits.iter().map(|c| c.subject.as_str()).collect()
}

fn descriptions(log: &Changelog) -> Vec<&str> {
    log.commits.iter().map(|c| c.description.as_str()).collect()
}

/// main: base (v1.0.0) — a GitLab merge request of two commits — a GitHub pull request of
/// one commit — a direct commit.
fn merges_repo() -> TestRepo {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    r.branch("list");
    r.checkout("list");
    r.commit_files("feat(api): list endpoint", &[("api.rs", "list")]);
    r.commit_files("test: list endpoint", &[("api_test.rs", "test")]);
    r.checkout("main");
    r.merge(
        "list",
        "Merge branch 'list' into 'main'\n\nAdd the list endpoint\n\nCloses #3\n\nSee merge request group/app!12",
    );
    r.branch("csv");
    r.checkout("csv");
    r.commit_files("export as CSV", &[("csv.rs", "csv")]);
    r.checkout("main");
    r.merge(
        "csv",
        "Merge pull request #7 from octo/csv\n\nfeat: export as CSV",
    );
    r.commit_files("fix: typo", &[("README", "x")]);
    r.tag("v1.1.0");
    r
}

#[test]
fn merge_requests_attach_to_their_commits_when_merges_are_not_listed() {
    let r = merges_repo();
    let log = run(&r, &ChangelogSettings::default());
    assert_eq!(
        subjects(&log),
        vec![
            "fix: typo",
            "export as CSV",
            "test: list endpoint",
            "feat(api): list endpoint"
        ]
    );
    let mr = |i: usize| log.commits[i].mr.as_ref();
    assert_eq!(mr(0), None, "a direct commit has no merge request");
    let pr = mr(1).expect("the pull request");
    assert_eq!(
        (pr.kind, pr.number, pr.title.as_str()),
        (RefKind::Pr, 7, "feat: export as CSV")
    );
    for i in [2, 3] {
        let m = mr(i).expect("the merge request");
        assert_eq!(m.kind, RefKind::Mr);
        assert_eq!(m.number, 12);
        assert_eq!(m.title, "Add the list endpoint");
        assert_eq!(m.project.as_deref(), Some("group/app"));
        let closes: Vec<&str> = m.refs.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(closes, vec!["#3"], "the merge commit's `Closes` line");
    }
}

#[test]
fn merge_requests_attach_when_merges_are_listed_too() {
    let r = merges_repo();
    let settings = ChangelogSettings {
        include_merges: true,
        ..ChangelogSettings::default()
    };
    let log = run(&r, &settings);
    assert_eq!(log.commits.len(), 6);
    let merge = log
        .commits
        .iter()
        .find(|c| c.subject == "Merge branch 'list' into 'main'")
        .expect("the merge commit is listed");
    assert_eq!(merge.mr.as_ref().map(|m| m.number), Some(12));
    // The `Closes #3` of the merge commit is a reference of the merge commit.
    assert!(
        merge.refs.iter().any(|r| r.text == "#3"),
        "{:?}",
        merge.refs
    );
}

#[test]
fn one_entry_per_merge_request_titled_by_it() {
    let r = merges_repo();
    let settings = ChangelogSettings {
        entries: Entries::MergeRequests,
        ..ChangelogSettings::default()
    };
    let log = run(&r, &settings);
    assert_eq!(
        subjects(&log),
        vec!["fix: typo", "feat: export as CSV", "Add the list endpoint"]
    );
    let csv = &log.commits[1];
    assert_eq!(
        csv.r#type.as_deref(),
        Some("feat"),
        "a conventional title counts"
    );
    assert_eq!(csv.mr.as_ref().map(|m| m.number), Some(7));
    let list = &log.commits[2];
    assert_eq!(list.mr.as_ref().map(|m| m.text.as_str()), Some("!12"));
    assert!(list.refs.iter().any(|r| r.text == "#3"));
    let titles: Vec<&str> = log.groups.iter().map(|g| g.title.as_str()).collect();
    assert_eq!(titles, vec!["Features", "Bug fixes", "Other"]);
}

#[test]
fn a_squash_body_quoting_a_revert_is_not_a_revert() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    let x = r.commit("feat: x");
    r.commit(&format!(
        "feat: the cache (#31)\n\n* feat: cache\n\n* Revert \"feat: x\"\n\nThis reverts commit {x}.\n"
    ));
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    assert_eq!(subjects(&log), vec!["feat: the cache (#31)", "feat: x"]);
}

#[test]
fn a_revert_of_several_commits_drops_them_all() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    let a = r.commit("feat: a");
    let b = r.commit("feat: b");
    r.commit("fix: kept");
    r.commit(&format!(
        "Revert the a and b work\n\nThis reverts commit {a}.\nThis reverts commit {b}.\n"
    ));
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    assert_eq!(subjects(&log), vec!["fix: kept"]);
}

#[test]
fn a_revert_without_a_sha_pairs_by_its_quoted_subject() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    r.commit("feat(api): add x");
    r.commit("fix: kept");
    r.commit("Revert \"feat(api): add x\"\n\nIt broke the build.");
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    assert_eq!(subjects(&log), vec!["fix: kept"]);
}

#[test]
fn exclude_does_not_drop_a_breaking_change_unless_told() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    r.commit("refactor!: drop the v1 API");
    r.commit("refactor: tidy");
    r.tag("v1.1.0");
    let mut settings = ChangelogSettings {
        exclude: vec![Regex::new("^refactor").unwrap()],
        ..ChangelogSettings::default()
    };
    let log = run(&r, &settings);
    assert_eq!(subjects(&log), vec!["refactor!: drop the v1 API"]);
    assert_eq!(log.breaking_changes.len(), 1);
    settings.protect_breaking = false;
    let log = run(&r, &settings);
    assert!(log.commits.is_empty(), "{:?}", subjects(&log));
}

#[test]
fn release_commits_are_left_out_by_default() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    r.commit("feat: real");
    for s in [
        "chore(release): 1.1.0",
        "v1.1.0",
        "Release 1.1.0",
        "1.1.0",
        "release: v1.1.0",
    ] {
        r.commit(s);
    }
    r.commit("release: publish to the new registry");
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    assert_eq!(
        subjects(&log),
        vec!["release: publish to the new registry", "feat: real"],
        "a `release` commit that is not a version stays"
    );
    let settings = ChangelogSettings {
        skip_release_commits: false,
        ..ChangelogSettings::default()
    };
    assert_eq!(run(&r, &settings).commits.len(), 7);
}

#[test]
fn dependency_updates_are_grouped_last_and_folded() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    r.commit("feat: real feature");
    r.commit("chore(deps): update rust crate serde to v1.0.230");
    r.commit("fix(deps): update dependency lodash to v4.17.21");
    r.commit("build(deps-dev): bump eslint from 8.0.0 to 9.0.0");
    r.commit("Bump actions/checkout from 3 to 4");
    r.commit("Update dependency react to v19");
    r.commit("fix: real fix");
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    let titles: Vec<&str> = log.groups.iter().map(|g| g.title.as_str()).collect();
    assert_eq!(titles, vec!["Features", "Bug fixes", "Dependencies"]);
    let deps = &log.groups[2];
    assert_eq!(deps.commits.len(), 5);
    assert!(deps.collapsed);
    assert!(
        deps.commits.iter().all(|c| c.scope.is_none()),
        "the deps scope is dropped"
    );
    // Through the binary: a `<details>` block after the other groups.
    let out = Cli::new(r.path(), &["notes"]).run().success().stdout;
    let details = out
        .find("<details><summary>Dependencies (5)</summary>")
        .expect(&out);
    assert!(out.find("### Bug fixes").unwrap() < details, "{out}");
    assert!(out.contains("</details>"), "{out}");
}

#[test]
fn groups_match_scopes_and_subjects_can_hide_and_override_the_scope() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    r.commit("feat(ui): button");
    r.commit("fix(ui): colour");
    r.commit_as(
        ("Ivy Internal", "ivy@example.com"),
        "feat: [internal] telemetry\n\nCo-authored-by: Cy Co <cy@example.com>",
    );
    r.commit("chore: tidy");
    r.tag("v1.1.0");
    let settings = ChangelogSettings {
        groups: vec![
            GroupSpec {
                title: "Interface".into(),
                scopes: vec!["ui".into()],
                scope: Some("UI".into()),
                ..GroupSpec::default()
            },
            GroupSpec {
                title: "Internal".into(),
                subject: Some(r"\[internal\]".into()),
                hidden: true,
                ..GroupSpec::default()
            },
            GroupSpec {
                title: "Features".into(),
                types: vec!["feat".into()],
                ..GroupSpec::default()
            },
            GroupSpec {
                title: "Other".into(),
                default: true,
                ..GroupSpec::default()
            },
        ],
        ..ChangelogSettings::default()
    };
    let log = run(&r, &settings);
    let titles: Vec<&str> = log.groups.iter().map(|g| g.title.as_str()).collect();
    assert_eq!(titles, vec!["Interface", "Other"]);
    assert_eq!(log.groups[0].commits.len(), 2);
    assert!(
        log.groups[0]
            .commits
            .iter()
            .all(|c| c.scope.as_deref() == Some("UI"))
    );
    assert!(!subjects(&log).contains(&"feat: [internal] telemetry"));
    // Who wrote only hidden commits is no contributor of the release.
    let names: Vec<&str> = log.contributors.iter().map(|c| c.name.as_str()).collect();
    assert!(!names.is_empty(), "{names:?}");
    assert!(
        !names.contains(&"Ivy Internal") && !names.contains(&"Cy Co"),
        "{names:?}"
    );
}

#[test]
fn parser_cases_through_collect() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    r.commit("\u{feff}feat(api): with a byte order mark");
    r.commit("fix: a subject\nwrapped on two lines\n\nThe body.");
    r.commit("fixup! feat(api): with a byte order mark");
    r.commit("squash! fix: a subject");
    r.commit("amend! fix: a subject");
    r.commit("feature: an alias");
    r.commit("Forgejo: links as external attachments");
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    assert_eq!(
        descriptions(&log),
        vec![
            "Forgejo: links as external attachments",
            "an alias",
            "a subject wrapped on two lines",
            "with a byte order mark",
        ]
    );
    assert_eq!(log.commits[1].r#type.as_deref(), Some("feat"));
    assert_eq!(log.commits[3].r#type.as_deref(), Some("feat"));
    assert_eq!(log.commits[0].r#type, None);
    assert_eq!(log.commits[2].body, "The body.");
}

#[test]
fn manifest_keys_shape_the_notes() {
    let r = merges_repo();
    r.commit("wip: half done");
    r.commit_as(("CI", "ci@builds.example.com"), "fix(ui): colour");
    r.commit("chore(release): 1.2.0");
    r.tag("v1.2.0");
    std::fs::write(
        r.path().join("release.yml"),
        "changelog:\n  entries: merge_requests\n  skip_release_commits: false\n  groups:\n    - { title: Interface, scopes: [ui], scope: \"\", collapsed: true }\n    - { title: Hidden, subject: \"^wip\", hidden: true }\n    - { title: Changes, default: true }\n  contributors:\n    exclude: [\"*@BUILDS.example.com\"]\n    exclude_bots: false\n",
    )
    .unwrap();
    let gitlab = |cli: Cli| {
        cli.env("GITLAB_CI", "true")
            .env("CI_PROJECT_URL", "https://gitlab.example.com/group/app")
            .env("CI_PROJECT_PATH", "group/app")
    };
    let out = gitlab(Cli::new(r.path(), &["notes", "--tag", "v1.1.0"]))
        .run()
        .success()
        .stdout;
    // One entry per merge request, linked.
    assert!(
        out.contains("- Add the list endpoint ([!12](https://gitlab.example.com/group/app/-/merge_requests/12), [#3](https://gitlab.example.com/group/app/-/issues/3))"),
        "{out}"
    );
    assert!(
        !out.contains("**api:** list endpoint"),
        "no member commit: {out}"
    );
    let out = gitlab(Cli::new(r.path(), &["notes", "--tag", "v1.2.0"]))
        .run()
        .success()
        .stdout;
    assert!(
        out.contains("<details><summary>Interface (1)</summary>"),
        "{out}"
    );
    assert!(out.contains("- colour ("), "the scope is removed: {out}");
    assert!(!out.contains("half done"), "hidden: {out}");
    assert!(
        out.contains("- **release:** 1.2.0 ("),
        "release commits kept: {out}"
    );
    assert!(out.contains("### Contributors\n\nAda Lovelace\n"), "{out}");
}

#[test]
fn a_bad_group_subject_regex_is_bad_input() {
    let r = merges_repo();
    std::fs::write(
        r.path().join("release.yml"),
        "changelog:\n  groups:\n    - { title: A, default: true }\n    - { title: B, subject: \"(\" }\n",
    )
    .unwrap();
    let run = Cli::new(r.path(), &["check"]).run().code(2);
    assert!(
        run.stderr.contains("changelog.groups[1].subject") && run.stderr.contains("invalid regex"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_revert_pull_request_pairs_with_a_commit_the_paths_leave_out() {
    let r = TestRepo::new();
    r.commit_files("chore: base", &[("api/a.rs", "a")]);
    r.tag("v1.0.0");
    r.commit_files("feat: web thing", &[("web/w.js", "w")]);
    r.commit_files("fix(api): kept", &[("api/a.rs", "b")]);
    // GitHub's squash merge of a revert pull request, which also touches api/.
    r.commit_files(
        "Revert \"feat: web thing\" (#124)\n\nReverts octo/app#123",
        &[("web/w.js", ""), ("api/a.rs", "c")],
    );
    r.tag("v1.1.0");
    let settings = ChangelogSettings {
        paths: vec!["api/**".into()],
        ..ChangelogSettings::default()
    };
    let log = run(&r, &settings);
    assert_eq!(subjects(&log), vec!["fix(api): kept"]);
}
