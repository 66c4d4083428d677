//! Links in the default notes, through the binary: commits, issues, merge requests and pull
//! requests per forge, and web URLs that keep names readable.

use crate::helpers::cli::Cli;
use crate::helpers::repo::TestRepo;

fn github(cli: Cli, tag: &str) -> Cli {
    cli.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "octo/app")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REF_TYPE", "tag")
        .env("GITHUB_REF_NAME", tag)
}

fn gitlab(cli: Cli, tag: &str) -> Cli {
    cli.env("GITLAB_CI", "true")
        .env("CI_COMMIT_TAG", tag)
        .env("CI_SERVER_URL", "https://gitlab.example.com")
        .env("CI_PROJECT_URL", "https://gitlab.example.com/group/app")
        .env("CI_PROJECT_PATH", "group/app")
}

/// Makes `template` the repository's notes template.
fn notes_template(r: &TestRepo, template: &str) {
    std::fs::write(r.path().join("notes.j2"), template).unwrap();
    std::fs::write(
        r.path().join("release.yml"),
        "release:\n  notes:\n    template: notes.j2\n",
    )
    .unwrap();
}

/// A release with a squash-merged pull request, a closing footer, a cross-project
/// reference, a GitLab merge request reference and a built file whose name has dots and a
/// `+`.
fn repo(tag: &str) -> TestRepo {
    let r = TestRepo::new();
    r.commit("feat: first");
    r.tag("v1.0.0");
    r.commit("fix(api): crash on empty lists (#123)\n\nSome text.\n\nFixes #45\n");
    r.commit("feat: export as CSV !12\n\nRelated to group/lib#7\n");
    r.commit_files("chore: build", &[("dist/app-1.1.0+b.1.tar.gz", "binary")]);
    r.tag(tag);
    std::fs::write(
        r.path().join("release.yml"),
        "assets:\n  files:\n    - path: \"dist/*.tar.gz\"\n",
    )
    .unwrap();
    r
}

#[test]
fn github_notes_link_pull_requests_issues_commits_and_raw_file_names() {
    let r = repo("v1.1.0+b.1");
    let run = github(Cli::new(r.path(), &["notes"]), "v1.1.0+b.1")
        .run()
        .success();
    let out = &run.stdout;
    // The squash merge's `(#123)` is the pull request; the closing footer is an issue.
    assert!(
        out.contains("- **api:** crash on empty lists ([#123](https://github.com/octo/app/pull/123), [#45](https://github.com/octo/app/issues/45)) ([")
            && out.contains("](https://github.com/octo/app/commit/"),
        "{out}"
    );
    assert!(
        out.contains("[group/lib#7](https://github.com/group/lib/issues/7)"),
        "{out}"
    );
    // Names keep their dots and `+`: `curl -LO` saves the file under its own name.
    assert!(
        out.contains("[app-1.1.0+b.1.tar.gz](https://github.com/octo/app/releases/download/v1.1.0+b.1/app-1.1.0+b.1.tar.gz)"),
        "{out}"
    );
    assert!(
        out.contains("(https://github.com/octo/app/compare/v1.0.0...v1.1.0+b.1)"),
        "{out}"
    );
    assert!(!out.contains("%2E"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn gitlab_notes_link_merge_requests_issues_and_commits() {
    let r = repo("v1.1.0");
    let run = gitlab(Cli::new(r.path(), &["notes"]), "v1.1.0")
        .run()
        .success();
    let out = &run.stdout;
    // On GitLab `#123` is an issue, `!12` a merge request.
    assert!(
        out.contains("[#123](https://gitlab.example.com/group/app/-/issues/123)"),
        "{out}"
    );
    assert!(
        out.contains("[!12](https://gitlab.example.com/group/app/-/merge_requests/12)"),
        "{out}"
    );
    assert!(
        out.contains("[group/lib#7](https://gitlab.example.com/group/lib/-/issues/7)"),
        "{out}"
    );
    assert!(
        out.contains("](https://gitlab.example.com/group/app/-/commit/"),
        "{out}"
    );
    assert!(
        out.contains("(https://gitlab.example.com/group/app/-/compare/v1.0.0...v1.1.0)"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn a_slash_in_a_tag_is_encoded_once_and_dots_stay() {
    let r = TestRepo::new();
    r.commit("feat: first");
    r.tag("release/1.0");
    r.commit("fix: second");
    r.tag("release/1.1");
    std::fs::write(
        r.path().join("release.yml"),
        "changelog:\n  tag_pattern: \"release/*\"\n",
    )
    .unwrap();
    let run = github(Cli::new(r.path(), &["notes"]), "release/1.1")
        .run()
        .success();
    assert!(
        run.stdout
            .contains("(https://github.com/octo/app/compare/release%2F1.0...release%2F1.1)"),
        "{}",
        run.stdout
    );
}

#[test]
fn without_a_forge_references_stay_plain_text() {
    let r = repo("v1.1.0");
    let run = Cli::new(r.path(), &["notes"]).run().success();
    assert!(
        run.stdout
            .contains("- **api:** crash on empty lists (#123, #45) ("),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("](http"), "{}", run.stdout);
}

#[test]
fn regex_replace_in_a_custom_template() {
    let r = repo("v1.1.0");
    notes_template(
        &r,
        "{% for c in commits %}{{ c.body | regex_replace(\"Fixes #([0-9]+)\", \"closes JIRA-$1\") }}|{% endfor %}\n",
    );
    let run = Cli::new(r.path(), &["notes"]).run().success();
    assert!(run.stdout.contains("closes JIRA-45"), "{}", run.stdout);
}

/// `link` in a custom template: a Markdown link where the forge is known, the text alone
/// offline.
#[test]
fn link_in_a_custom_template() {
    let r = repo("v1.1.0");
    notes_template(
        &r,
        "{% for c in commits %}{{ c.short_id | link(c.url) }}|{% endfor %}\n",
    );
    let online = gitlab(Cli::new(r.path(), &["notes"]), "v1.1.0")
        .run()
        .success()
        .stdout;
    let linked = online.split('|').filter(|s| s.starts_with('[')).count();
    assert_eq!(linked, 3, "{online}");
    assert!(
        online.contains("](https://gitlab.example.com/group/app/-/commit/"),
        "{online}"
    );
    let offline = Cli::new(r.path(), &["notes", "--tag", "v1.1.0"])
        .run()
        .success()
        .stdout;
    assert!(!offline.contains('['), "{offline}");
    assert_eq!(
        offline.split('|').filter(|s| s.len() == 7).count(),
        3,
        "{offline}"
    );
}

/// A pull request merged with a merge commit: GitHub's and Gitea's messages.
fn pull_request_repo(message: &str) -> TestRepo {
    let r = TestRepo::new();
    r.commit("feat: first");
    r.tag("v1.0.0");
    r.branch("csv");
    r.checkout("csv");
    r.commit_files("feat: export as CSV", &[("csv.rs", "csv")]);
    r.commit_files("test: CSV export", &[("csv_test.rs", "csv")]);
    r.checkout("main");
    r.merge("csv", message);
    r.tag("v1.1.0");
    r
}

#[test]
fn github_pull_request_merges_link_every_commit_to_the_pull_request() {
    let r = pull_request_repo("Merge pull request #7 from octo/csv\n\nExport as CSV");
    let out = github(Cli::new(r.path(), &["notes"]), "v1.1.0")
        .run()
        .success()
        .stdout;
    assert!(
        out.contains("- export as CSV ([#7](https://github.com/octo/app/pull/7)) ("),
        "{out}"
    );
    assert!(
        out.contains("- CSV export ([#7](https://github.com/octo/app/pull/7)) ("),
        "{out}"
    );
    assert!(
        !out.contains("Merge pull request"),
        "merges are not listed: {out}"
    );
}

#[test]
fn gitea_pull_request_merges_link_to_pulls() {
    let r = pull_request_repo("Merge pull request 'Export as CSV' (#9) from csv into main");
    let out = Cli::new(r.path(), &["notes"])
        .env("GITEA_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "org/app")
        .env("GITHUB_SERVER_URL", "https://gitea.example.com")
        .env("GITHUB_REF_TYPE", "tag")
        .env("GITHUB_REF_NAME", "v1.1.0")
        .run()
        .success()
        .stdout;
    assert!(
        out.contains("- export as CSV ([#9](https://gitea.example.com/org/app/pulls/9)) ([")
            && out.contains("](https://gitea.example.com/org/app/commit/"),
        "{out}"
    );
    assert!(
        out.contains("(https://gitea.example.com/org/app/compare/v1.0.0...v1.1.0)"),
        "{out}"
    );
}
