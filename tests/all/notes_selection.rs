//! A configuration that selects nothing is reported: a warning from `check` and `notes`, an
//! error (exit 2) with `--strict`.

use relsync::changelog::{ChangelogSettings, Target, collect};

use crate::helpers::cli::Cli;
use crate::helpers::repo::TestRepo;

fn tagged() -> TestRepo {
    let r = TestRepo::new();
    r.commit_files("feat: first", &[("services/api/a.rs", "a")]);
    r.tag("v1.0.0");
    r.commit_files("fix(web): second", &[("services/web/b.rs", "b")]);
    r.commit_files("docs: third", &[("docs/c.md", "c")]);
    r.tag("v1.1.0");
    r
}

fn manifest(r: &TestRepo, yaml: &str) {
    std::fs::write(r.path().join("release.yml"), yaml).unwrap();
}

#[test]
fn a_regex_like_tag_pattern_warns_and_fails_with_strict() {
    let r = tagged();
    manifest(&r, "changelog:\n  tag_pattern: \"^v[0-9]+\"\n");
    for cmd in ["check", "notes"] {
        let run = Cli::new(r.path(), &[cmd, "--tag", "v1.1.0"])
            .run()
            .success();
        assert!(
            run.stderr
                .contains("changelog.tag_pattern: `^v[0-9]+` looks like a regex"),
            "{cmd}: {}",
            run.stderr
        );
        let run = Cli::new(r.path(), &[cmd, "--strict", "--tag", "v1.1.0"])
            .run()
            .code(2);
        assert!(
            run.stderr.contains("looks like a regex") && run.stderr.contains("v[0-9]*"),
            "{cmd}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_tag_pattern_matching_no_tag_warns_and_fails_with_strict() {
    let r = tagged();
    manifest(&r, "changelog:\n  tag_pattern: \"release-*\"\n");
    let run = Cli::new(r.path(), &["check"]).run().success();
    assert!(
        run.stderr
            .contains("`release-*` matches none of the repository's 2 tag(s)"),
        "{}",
        run.stderr
    );
    let run = Cli::new(r.path(), &["check", "--strict"]).run().code(2);
    assert!(run.stderr.contains("e.g. `v*`"), "{}", run.stderr);
    // A matching pattern says nothing.
    manifest(&r, "changelog:\n  tag_pattern: \"v*\"\n");
    let run = Cli::new(r.path(), &["check", "--strict"]).run().success();
    assert!(!run.stderr.contains("tag_pattern"), "{}", run.stderr);
}

#[test]
fn paths_that_filter_out_every_commit_warn_and_fail_with_strict() {
    let r = tagged();
    manifest(&r, "changelog:\n  paths: [\"services/mobile/**\"]\n");
    let run = Cli::new(r.path(), &["notes"]).run().success();
    assert!(
        run.stderr
            .contains("changelog.paths: [`services/mobile/**`] filter out all 2 commit(s)"),
        "{}",
        run.stderr
    );
    Cli::new(r.path(), &["notes", "--strict"]).run().code(2);
    // `--strict` is for the commands that report it.
    let run = Cli::new(r.path(), &["plan", "--offline", "--strict"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("`--strict` does nothing for `plan`"),
        "{}",
        run.stderr
    );
}

#[test]
fn negated_paths_leave_paths_out() {
    let r = tagged();
    let settings = ChangelogSettings {
        paths: vec!["services/**".into(), "!services/web/**".into()],
        ..ChangelogSettings::default()
    };
    let log = collect(r.path(), &settings, &Target::default()).unwrap();
    assert!(log.commits.is_empty(), "only services/web and docs changed");
    assert_eq!(log.warnings.len(), 1, "{:?}", log.warnings);

    let settings = ChangelogSettings {
        paths: vec!["!docs".into()],
        ..ChangelogSettings::default()
    };
    let log = collect(r.path(), &settings, &Target::default()).unwrap();
    let subjects: Vec<&str> = log.commits.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(subjects, vec!["fix(web): second"]);
    assert!(log.warnings.is_empty());
}

#[test]
fn the_manifest_compiles_the_changelog_globs_once_and_collect_reads_them_compiled() {
    let r = tagged();
    let yaml = "changelog:\n  tag_pattern: \"v{0,1}.*\"\n  ignore_tags: [\"*-rc*\"]\n  paths: [\"services/**\", \"!services/api/**\"]\n";
    let m = relsync::manifest::from_str(yaml, &r.path().join("release.yml"), r.path()).unwrap();
    assert!(
        m.changelog.compiled.is_some(),
        "resolving compiles the globs"
    );
    let compiled = collect(r.path(), &m.changelog, &Target::default()).unwrap();
    let on_use = ChangelogSettings {
        compiled: None,
        ..m.changelog.clone()
    };
    let fresh = collect(r.path(), &on_use, &Target::default()).unwrap();
    let subjects = |log: &relsync::changelog::Changelog| -> Vec<String> {
        log.commits.iter().map(|c| c.subject.clone()).collect()
    };
    assert_eq!(
        subjects(&compiled),
        ["fix(web): second"],
        "only services/web counts"
    );
    assert_eq!(subjects(&compiled), subjects(&fresh));
    assert_eq!(compiled.previous_tag, fresh.previous_tag);
    assert_eq!(compiled.previous_tag.as_deref(), Some("v1.0.0"));
}
