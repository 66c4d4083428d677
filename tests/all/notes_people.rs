//! Contributors: `.mailmap`, one entry per person, bots left out, first-time contributors.

use relsync::changelog::{Changelog, ChangelogSettings, ContributorSettings, Target, collect};

use crate::helpers::cli::Cli;
use crate::helpers::repo::TestRepo;

fn run(repo: &TestRepo, settings: &ChangelogSettings) -> Changelog {
    collect(repo.path(), settings, &Target::default()).expect("collect")
}

fn names(log: &Changelog) -> Vec<(&str, &str, bool)> {
    log.contributors
        .iter()
        .map(|c| (c.name.as_str(), c.email.as_str(), c.first_time))
        .collect()
}

#[test]
fn mailmap_maps_authors_and_co_authors() {
    let r = TestRepo::new();
    r.commit_files(
        "chore: base",
        &[(
            ".mailmap",
            "Grace Hopper <grace@example.com> <ghopper@old.example.com>\nAlan Turing <alan@example.com> Al <al@laptop.local>\n",
        )],
    );
    r.tag("v1.0.0");
    r.commit_as(("G. Hopper", "ghopper@old.example.com"), "feat: one");
    r.commit("fix: two\n\nCo-authored-by: Al <al@laptop.local>\n");
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    assert_eq!(
        names(&log),
        vec![
            ("Ada Lovelace", "ada@example.com", false),
            ("Alan Turing", "alan@example.com", true),
            ("Grace Hopper", "grace@example.com", true),
        ]
    );
    assert_eq!(log.commits[1].author.name, "Grace Hopper");
    assert_eq!(log.commits[0].co_authors[0].email, "alan@example.com");
}

#[test]
fn identities_sharing_a_name_or_an_email_are_one_person() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    r.commit_as(("Grace Hopper", "grace@work.example.com"), "feat: one");
    r.commit_as(("Grace Hopper", "grace@home.example.com"), "feat: two");
    r.commit_as(("grace", "GRACE@home.example.com"), "feat: three");
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    assert_eq!(names(&log), vec![("grace", "GRACE@home.example.com", true)]);
}

#[test]
fn bots_are_left_out_unless_asked_and_exclude_takes_globs() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.tag("v1.0.0");
    r.commit_as(
        (
            "dependabot[bot]",
            "49699333+dependabot[bot]@users.noreply.github.com",
        ),
        "build(deps): bump serde from 1.0.0 to 1.0.1",
    );
    r.commit_as(
        (
            "renovate[bot]",
            "29139614+renovate[bot]@users.noreply.github.com",
        ),
        "chore(deps): update rust crate git2 to 0.21",
    );
    r.commit_as(("Release Robot", "ci@builds.example.com"), "feat: from CI");
    r.commit_as(("Grace Hopper", "grace@example.com"), "feat: human");
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    let who: Vec<&str> = log.contributors.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(who, vec!["Grace Hopper", "Release Robot"]);

    let settings = ChangelogSettings {
        contributors: ContributorSettings {
            exclude_bots: false,
            exclude: vec!["*@BUILDS.example.com".into()],
        },
        ..ChangelogSettings::default()
    };
    let log = run(&r, &settings);
    let who: Vec<&str> = log.contributors.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        who,
        vec!["Grace Hopper", "renovate[bot]", "dependabot[bot]"]
    );
}

#[test]
fn first_time_comes_from_the_history_before_the_release() {
    let r = TestRepo::new();
    r.commit("chore: base");
    r.commit_as(("Alan Turing", "alan@example.com"), "feat: early work");
    r.tag("v1.0.0");
    r.commit_as(("Alan Turing", "alan@example.com"), "feat: more");
    r.commit_as(("Grace Hopper", "grace@example.com"), "fix: first patch");
    r.tag("v1.1.0");
    let log = run(&r, &ChangelogSettings::default());
    assert_eq!(
        names(&log),
        vec![
            ("Grace Hopper", "grace@example.com", true),
            ("Alan Turing", "alan@example.com", false),
        ]
    );
    let out = Cli::new(r.path(), &["notes"]).run().success().stdout;
    assert!(
        out.contains("Grace Hopper (first contribution), Alan Turing\n"),
        "{out}"
    );
}

/// Alan's early work, three commits by Bob, `v1.0.0`, then the release: Alan again and
/// Grace for the first time. A clone of depth 3 holds the whole release and `v1.0.0`, but
/// not Alan's early work.
fn history_cut_before_the_release() -> TestRepo {
    let r = TestRepo::new();
    r.commit_as(("Alan Turing", "alan@example.com"), "feat: early work");
    for i in 1..=3 {
        r.commit_as(("Bob", "bob@example.com"), &format!("fix: b{i}"));
    }
    r.tag("v1.0.0");
    r.commit_as(("Alan Turing", "alan@example.com"), "feat: more");
    r.commit_as(("Grace Hopper", "grace@example.com"), "fix: first patch");
    r.tag("v1.1.0");
    r
}

#[test]
fn a_shallow_clone_that_cuts_the_history_before_the_release_does_not_guess_who_is_new() {
    let r = history_cut_before_the_release();
    let full = Cli::new(r.path(), &["notes"]).run().success().stdout;
    assert!(
        full.contains("Grace Hopper (first contribution), Alan Turing\n"),
        "{full}"
    );

    let clone = r.shallow_clone(3);
    // The range is whole: only the history before it is cut.
    let settings = ChangelogSettings::default();
    let log = relsync::changelog::collect_deferred(clone.path(), &settings, &Target::default())
        .expect("the range is whole");
    assert_eq!(log.previous_tag.as_deref(), Some("v1.0.0"));
    assert_eq!(log.shallow_warning, None);

    // By default (`on_shallow: error`), as the notes, the JSON and the library read it.
    let err = log.first_time.get().unwrap_err();
    assert_eq!(
        relsync::error::ExitStatus::of_error(&err),
        relsync::error::ExitStatus::BadInput
    );
    let err = collect(clone.path(), &settings, &Target::default()).unwrap_err();
    assert_eq!(
        relsync::error::ExitStatus::of_error(&err),
        relsync::error::ExitStatus::BadInput
    );
    for args in [&["notes"][..], &["notes", "--output", "json"]] {
        let run = Cli::new(clone.path(), args).run().code(2);
        assert_eq!(run.stdout, "", "nothing printed: {args:?}");
        for part in [
            "shallow",
            "Grace Hopper or Alan Turing",
            "GIT_DEPTH: 0",
            "fetch-depth: 0",
            "on_shallow: warn",
        ] {
            assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
        }
    }

    // `on_shallow: warn`: no one is called new, and a warning says why.
    let manifest = clone.path().join("warn.yml");
    std::fs::write(&manifest, "changelog:\n  on_shallow: warn\n").unwrap();
    let run = Cli::new(clone.path(), &["notes", "-f", "warn.yml"])
        .run()
        .success();
    assert!(
        run.stdout.contains("\nGrace Hopper, Alan Turing\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("first contribution"), "{}", run.stdout);
    assert!(run.stderr.contains("not marked new"), "{}", run.stderr);
    let warn = ChangelogSettings {
        on_shallow: relsync::changelog::OnShallow::Warn,
        ..ChangelogSettings::default()
    };
    let log = collect(clone.path(), &warn, &Target::default()).unwrap();
    assert_eq!(
        names(&log),
        vec![
            ("Grace Hopper", "grace@example.com", false),
            ("Alan Turing", "alan@example.com", false),
        ]
    );
}

#[test]
fn a_shallow_clone_that_holds_everyone_s_earlier_work_knows_who_is_new() {
    let r = history_cut_before_the_release();
    // Depth 5 from `v1.2.0` ends at Bob's third fix: Alan's early work is cut, but the
    // release has only Alan and Bob, both met in the history fetched (Bob at its very end).
    r.commit_as(("Bob", "bob@example.com"), "fix: b4");
    r.commit_as(("Alan Turing", "alan@example.com"), "feat: again");
    r.tag("v1.2.0");
    let clone = r.shallow_clone(5);
    assert!(git2::Repository::open(clone.path()).unwrap().is_shallow());
    let log = collect(
        clone.path(),
        &ChangelogSettings::default(),
        &Target::default(),
    )
    .expect("everyone is met in the history fetched");
    assert_eq!(log.previous_tag.as_deref(), Some("v1.1.0"));
    assert_eq!(
        names(&log),
        vec![
            ("Alan Turing", "alan@example.com", false),
            ("Bob", "bob@example.com", false),
        ]
    );
    // Read on demand (the walk runs when first asked), the same.
    let log = relsync::changelog::collect_deferred(
        clone.path(),
        &ChangelogSettings::default(),
        &Target::default(),
    )
    .unwrap();
    assert_eq!(log.first_time.get().unwrap(), [false, false]);
    let out = Cli::new(clone.path(), &["notes"]).run().success().stdout;
    assert!(out.contains("\nAlan Turing, Bob\n"), "{out}");
}
