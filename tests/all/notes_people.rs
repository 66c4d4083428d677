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
