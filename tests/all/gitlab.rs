//! `plan` and `apply` against the stateful GitLab emulator, through the real binary.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::cli::{Cli, Run, run_together};
use crate::helpers::converge::{converges_under_faults, writes_nothing};
use crate::helpers::gitlab::{Fault, GitlabEmulator};
use crate::helpers::repo::TestRepo;

const PROJECT: u64 = 42;
const PATH: &str = "group/sub/app";
const TOKEN: &str = "glpat-test-token-0123456789";

const MANIFEST: &str = r#"release:
  name: "App {{ version }}"
  milestones: []
assets:
  links:
    - { name: Docs, url: "https://docs.example.com/{{ version }}", type: runbook }
  files:
    - path: "dist/*.tar.gz"
      direct_asset_path: "/bin/{{ file.name }}"
  package: { name: app }
  checksums: SHA256SUMS
"#;

fn fixture() -> (TestRepo, GitlabEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.tag("v1.0.0");
    repo.commit("feat(api): add the list endpoint");
    repo.commit("fix: handle empty lists");
    repo.commit_files(
        "chore: release files",
        &[
            ("dist/app-linux.tar.gz", "linux build 1"),
            ("dist/app-macos.tar.gz", "macos build 1"),
            ("release.yml", MANIFEST),
        ],
    );
    repo.tag("v1.1.0");
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PATH);
    emu.add_private_token(TOKEN);
    (repo, emu)
}

fn gitlab_ci(repo: &TestRepo, emu: &GitlabEmulator, args: &[&str]) -> Cli {
    Cli::new(repo.path(), args)
        .gitlab_job(
            &emu.url(),
            PROJECT,
            PATH,
            "v1.1.0",
            &repo.head().to_string(),
        )
        .env("GITLAB_TOKEN", TOKEN)
}

fn apply(repo: &TestRepo, emu: &GitlabEmulator) -> Run {
    gitlab_ci(repo, emu, &["apply"]).run()
}

fn link_names(emu: &GitlabEmulator, tag: &str) -> BTreeSet<String> {
    emu.links(PROJECT, tag)
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect()
}

fn file_names(emu: &GitlabEmulator) -> Vec<String> {
    let mut v: Vec<String> = emu
        .package_files(PROJECT)
        .into_iter()
        .map(|f| f.file_name)
        .collect();
    v.sort();
    v
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn first_release_then_second_run_makes_zero_writes() {
    let (repo, emu) = fixture();
    let run = apply(&repo, &emu).success();
    assert!(run.stdout.contains("converged"), "{}", run.stdout);
    let release = emu.release(PROJECT, "v1.1.0").expect("release created");
    assert_eq!(release["name"], "App 1.1.0");
    let description = release["description"].as_str().unwrap();
    assert!(
        description.contains("<!-- relsync:begin -->")
            && description.contains("add the list endpoint"),
        "{description}"
    );
    assert_eq!(
        link_names(&emu, "v1.1.0"),
        set(&["Docs", "app-linux.tar.gz", "app-macos.tar.gz", "SHA256SUMS"])
    );
    assert_eq!(
        file_names(&emu),
        ["SHA256SUMS", "app-linux.tar.gz", "app-macos.tar.gz"]
    );
    let linux = emu
        .links(PROJECT, "v1.1.0")
        .into_iter()
        .find(|l| l["name"] == "app-linux.tar.gz")
        .unwrap();
    assert_eq!(linux["link_type"], "package");
    assert!(
        linux["direct_asset_url"]
            .as_str()
            .unwrap()
            .ends_with("/downloads/bin/app-linux.tar.gz"),
        "{linux}"
    );
    assert!(
        linux["url"]
            .as_str()
            .unwrap()
            .ends_with("/packages/generic/app/1.1.0/app-linux.tar.gz"),
        "{linux}"
    );
    let sums = emu
        .package_files(PROJECT)
        .into_iter()
        .find(|f| f.file_name == "SHA256SUMS")
        .unwrap();
    let sums = String::from_utf8(sums.content).unwrap();
    assert_eq!(sums.lines().count(), 2);
    assert!(
        sums.lines()
            .all(|l| l.len() == 64 + 2 + "app-linux.tar.gz".len()),
        "{sums}"
    );

    emu.reset_requests();
    let again = apply(&repo, &emu).success();
    assert_eq!(
        emu.write_count(),
        0,
        "second run wrote: {:?}",
        emu.requests()
            .iter()
            .filter(|r| r.is_write())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    assert!(again.stdout.contains("unchanged"), "{}", again.stdout);
}

#[test]
fn plan_reads_only_and_reports_pending_changes() {
    let (repo, emu) = fixture();
    let run = gitlab_ci(&repo, &emu, &["plan", "--detailed-exitcode"])
        .run()
        .code(4);
    assert!(run.stdout.contains("+ release v1.1.0"), "{}", run.stdout);
    assert!(
        run.stdout.contains("↑ upload  app-linux.tar.gz"),
        "{}",
        run.stdout
    );
    assert_eq!(emu.write_count(), 0);
    apply(&repo, &emu).success();
    let run = gitlab_ci(
        &repo,
        &emu,
        &["plan", "--detailed-exitcode", "--output", "json"],
    )
    .run()
    .code(0);
    assert_eq!(run.json()["changes_pending"], false);
}

#[test]
fn tag_is_created_from_the_ref_when_missing() {
    let (repo, emu) = fixture();
    assert!(emu.tags(PROJECT).is_empty());
    apply(&repo, &emu).success();
    let tag = emu.tag(PROJECT, "v1.1.0").expect("tag created");
    assert_eq!(tag["target"].as_str().unwrap(), repo.head().to_string());
}

#[test]
fn manifest_changes_converge_and_hand_added_links_survive() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    let by_hand = emu.add_link_by_hand(
        PROJECT,
        "v1.1.0",
        "Screenshot",
        "https://img.example.com/shot.png",
    );
    let manifest = r#"release:
  name: "App {{ version }}"
assets:
  links:
    - { name: Documentation, url: "https://docs.example.com/{{ version }}", type: runbook }
    - { name: Mirror A, url: "https://a.example.com/app", type: other }
    - { name: Mirror B, url: "https://b.example.com/app", type: other }
  files:
    - path: "dist/app-linux.tar.gz"
      direct_asset_path: "/bin/{{ file.name }}"
  package: { name: app }
"#;
    std::fs::write(repo.path().join("release.yml"), manifest).unwrap();
    apply(&repo, &emu).success();
    assert_eq!(
        link_names(&emu, "v1.1.0"),
        set(&[
            "Documentation",
            "Mirror A",
            "Mirror B",
            "app-linux.tar.gz",
            "Screenshot"
        ])
    );
    assert_eq!(
        file_names(&emu),
        ["app-linux.tar.gz"],
        "files no longer declared are deleted"
    );
    // Swap the mirrors' URLs: GitLab keeps URLs unique, so a naive pair of updates fails.
    std::fs::write(
        repo.path().join("release.yml"),
        manifest
            .replace("https://a.example", "https://TMP")
            .replace("https://b.example", "https://a.example")
            .replace("https://TMP", "https://b.example"),
    )
    .unwrap();
    apply(&repo, &emu).success();
    let links = emu.links(PROJECT, "v1.1.0");
    let url_of = |n: &str| {
        links.iter().find(|l| l["name"] == n).unwrap()["url"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(url_of("Mirror A"), "https://b.example.com/app");
    assert_eq!(url_of("Mirror B"), "https://a.example.com/app");
    assert!(
        links.iter().any(|l| l["id"] == by_hand),
        "hand-added link kept"
    );
    writes_nothing(&emu, || apply(&repo, &emu));
}

#[test]
fn prune_all_removes_undeclared_links_and_none_keeps_everything() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    emu.add_link_by_hand(
        PROJECT,
        "v1.1.0",
        "Screenshot",
        "https://img.example.com/shot.png",
    );
    let none = MANIFEST
        .replace("  checksums: SHA256SUMS\n", "  prune: none\n")
        .replace("dist/*.tar.gz", "dist/app-linux.tar.gz");
    std::fs::write(repo.path().join("release.yml"), &none).unwrap();
    apply(&repo, &emu).success();
    assert!(
        link_names(&emu, "v1.1.0").contains("app-macos.tar.gz"),
        "prune: none keeps links"
    );
    assert!(
        file_names(&emu).contains(&"SHA256SUMS".to_owned()),
        "prune: none keeps files"
    );
    std::fs::write(
        repo.path().join("release.yml"),
        none.replace("prune: none", "prune: all"),
    )
    .unwrap();
    apply(&repo, &emu).success();
    assert_eq!(
        link_names(&emu, "v1.1.0"),
        set(&["Docs", "app-linux.tar.gz"])
    );
    assert_eq!(file_names(&emu), ["app-linux.tar.gz"]);
}

#[test]
fn changed_file_is_replaced_and_the_old_package_file_deleted() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    let before = emu.package_files(PROJECT);
    std::fs::write(repo.path().join("dist/app-linux.tar.gz"), "linux build 2").unwrap();
    emu.reset_requests();
    apply(&repo, &emu).success();
    let uploads: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/packages/generic/"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        uploads.len(),
        2,
        "the changed file and the checksums file: {uploads:?}"
    );
    for r in emu
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/packages/generic/"))
    {
        assert!(
            r.header("content-length").is_some(),
            "uploads carry an explicit Content-Length"
        );
        assert!(
            r.header("transfer-encoding").is_none(),
            "uploads are not chunked"
        );
        assert!(
            r.header("user-agent")
                .is_some_and(|ua| ua.starts_with("relsync/"))
        );
    }
    let after = emu.package_files(PROJECT);
    assert_eq!(after.len(), 3, "no orphaned package files: {after:?}");
    let linux = after
        .iter()
        .find(|f| f.file_name == "app-linux.tar.gz")
        .unwrap();
    assert_eq!(linux.content, b"linux build 2");
    let macos_before = before
        .iter()
        .find(|f| f.file_name == "app-macos.tar.gz")
        .unwrap();
    assert!(
        after.iter().any(|f| f.id == macos_before.id),
        "unchanged file not re-uploaded"
    );
    let description = emu.release(PROJECT, "v1.1.0").unwrap()["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        description.contains(&linux.sha256),
        "notes list the new sha256"
    );
}

#[test]
fn managed_notes_keep_text_edited_by_hand() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    let current = emu.release(PROJECT, "v1.1.0").unwrap()["description"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.set_release_description(
        PROJECT,
        "v1.1.0",
        &format!("Upgrade notes written by hand.\n\n{current}\n\nThanks, everyone!"),
    );
    emu.reset_requests();
    apply(&repo, &emu).success();
    assert_eq!(
        emu.write_count(),
        0,
        "hand text outside the block is not a change"
    );
    std::fs::write(
        repo.path().join("release.yml"),
        MANIFEST
            .replace("App {{ version }}", "App {{ version }} (LTS)")
            .replace(
                "  links:\n",
                "  links:\n    - { name: Blog, url: \"https://blog.example.com/1\" }\n",
            ),
    )
    .unwrap();
    apply(&repo, &emu).success();
    let release = emu.release(PROJECT, "v1.1.0").unwrap();
    let description = release["description"].as_str().unwrap();
    assert_eq!(release["name"], "App 1.1.0 (LTS)");
    assert!(
        description.starts_with("Upgrade notes written by hand.")
            && description.trim_end().ends_with("Thanks, everyone!"),
        "{description}"
    );
    assert!(description.contains("Blog"), "{description}");
    assert_eq!(description.matches("<!-- relsync:begin -->").count(), 1);
}

#[test]
fn notes_without_markers_get_the_block_appended_and_replace_owns_everything() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    emu.set_release_description(PROJECT, "v1.1.0", "Written by hand only.");
    apply(&repo, &emu).success();
    let d = emu.release(PROJECT, "v1.1.0").unwrap()["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        d.starts_with("Written by hand only.\n\n<!-- relsync:begin -->"),
        "{d}"
    );
    std::fs::write(
        repo.path().join("release.yml"),
        MANIFEST.replace("  milestones: []\n", "  notes: { mode: replace }\n"),
    )
    .unwrap();
    apply(&repo, &emu).success();
    let d = emu.release(PROJECT, "v1.1.0").unwrap()["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(d.starts_with("<!-- relsync:begin -->"), "{d}");
}

#[test]
fn slash_tags_and_project_paths_are_single_segments() {
    let (repo, emu) = fixture();
    repo.tag("release/1.2");
    std::fs::write(
        repo.path().join("release.yml"),
        format!("changelog:\n  tag_pattern: \"release/*\"\n{MANIFEST}"),
    )
    .unwrap();
    let run = Cli::new(
        repo.path(),
        &[
            "apply",
            "--forge",
            "gitlab",
            "--server",
            &emu.url(),
            "--project",
            PATH,
            "--tag",
            "release/1.2",
        ],
    )
    .env("GITLAB_TOKEN", TOKEN)
    .run()
    .success();
    assert!(run.stdout.contains("release/1.2"), "{}", run.stdout);
    let release = emu.release(PROJECT, "release/1.2").expect("release");
    assert_eq!(release["name"], "App 1.2");
    let paths: Vec<String> = emu.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.contains("/projects/group%2Fsub%2Fapp/releases/release%2F1%2E2")),
        "{paths:?}"
    );
    assert!(
        paths.iter().all(|p| !p.contains("/group/sub/app/")),
        "{paths:?}"
    );
}

#[test]
fn job_token_is_enough() {
    let (repo, emu) = fixture();
    emu.add_job_token("job-token-abc");
    let run = gitlab_ci(&repo, &emu, &["apply"])
        .env("GITLAB_TOKEN", "")
        .env("CI_JOB_TOKEN", "job-token-abc")
        .run()
        .success();
    assert!(run.stdout.contains("converged"));
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("job-token") == Some("job-token-abc"))
    );
    assert!(emu.release(PROJECT, "v1.1.0").is_some());
}

#[test]
fn dotenv_report_for_downstream_jobs() {
    let (repo, emu) = fixture();
    let out = repo.path().join("release.env");
    gitlab_ci(&repo, &emu, &["apply", "--dotenv", out.to_str().unwrap()])
        .run()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("RELEASE_TAG=v1.1.0\n")
            && text.contains("RELEASE_VERSION=1.1.0\n")
            && text.contains("RELEASE_CHANGED=true\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("RELEASE_URL={}", emu.url())),
        "{text}"
    );
    gitlab_ci(&repo, &emu, &["apply", "--dotenv", out.to_str().unwrap()])
        .run()
        .success();
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("RELEASE_CHANGED=false\n")
    );
}

#[test]
fn token_echoed_by_the_server_never_reaches_output() {
    let (repo, emu) = fixture();
    emu.echo_token_in_errors(true);
    let leaky = "glpat-leaky-secret-value-42";
    for verbosity in ["-q", "-v", "-vv"] {
        let run = gitlab_ci(&repo, &emu, &["apply", verbosity])
            .env("GITLAB_TOKEN", leaky)
            .env("RELSYNC_LOG", "trace")
            .run()
            .code(1);
        assert!(
            !run.stdout.contains(leaky) && !run.stderr.contains(leaky),
            "token leaked at {verbosity}:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        if verbosity != "-q" {
            assert!(
                run.stderr.contains("401") && run.stderr.contains("GITLAB_TOKEN"),
                "{}",
                run.stderr
            );
        }
    }
    assert!(emu.requests().iter().any(|r| r.status == 401));
}

#[test]
fn two_concurrent_applies_end_with_one_release_and_no_duplicates() {
    let (repo, emu) = fixture();
    let (a, b) = (
        gitlab_ci(&repo, &emu, &["apply"]),
        gitlab_ci(&repo, &emu, &["apply"]),
    );
    let runs = run_together(a, b);
    for r in runs {
        r.success();
    }
    assert_eq!(emu.releases(PROJECT).len(), 1);
    assert_eq!(emu.links(PROJECT, "v1.1.0").len(), 4);
    assert_eq!(
        file_names(&emu),
        ["SHA256SUMS", "app-linux.tar.gz", "app-macos.tar.gz"]
    );
    writes_nothing(&emu, || apply(&repo, &emu));
}

#[test]
fn writes_that_apply_but_answer_502_are_not_repeated() {
    let (repo, emu) = fixture();
    emu.fail_next_on("POST", "/releases", Fault::AppliedThen502, 1);
    emu.fail_next_on("PUT", "/packages/generic/", Fault::AppliedThenDrop, 1);
    apply(&repo, &emu).success();
    assert_eq!(emu.releases(PROJECT).len(), 1);
    assert_eq!(
        file_names(&emu),
        ["SHA256SUMS", "app-linux.tar.gz", "app-macos.tar.gz"],
        "the dropped upload's duplicate is cleaned up"
    );
    let posts = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/releases"))
        .count();
    assert_eq!(
        posts, 1,
        "the release POST is not repeated after it applied"
    );
}

#[test]
fn rate_limits_are_waited_out() {
    let (repo, emu) = fixture();
    emu.fail_next(
        Fault::RateLimit {
            retry_after_secs: 1,
        },
        2,
    );
    apply(&repo, &emu).success();
    assert!(emu.requests().iter().filter(|r| r.status == 429).count() == 2);
    assert!(emu.release(PROJECT, "v1.1.0").is_some());
}

#[test]
fn injected_faults_converge_within_three_runs() {
    converges_under_faults(1..=4, fixture, apply, |emu, seed| {
        assert_eq!(emu.releases(PROJECT).len(), 1, "seed {seed}");
        let names = set(&["Docs", "app-linux.tar.gz", "app-macos.tar.gz", "SHA256SUMS"]);
        assert_eq!(link_names(emu, "v1.1.0"), names, "seed {seed}");
        assert_eq!(
            emu.links(PROJECT, "v1.1.0").len(),
            4,
            "seed {seed}: duplicate links"
        );
        let files = ["SHA256SUMS", "app-linux.tar.gz", "app-macos.tar.gz"];
        assert_eq!(file_names(emu), files, "seed {seed}: duplicate files");
    });
}

#[test]
fn release_json_from_the_server_is_reported_by_apply_json() {
    let (repo, emu) = fixture();
    let run = gitlab_ci(&repo, &emu, &["apply", "--output", "json"])
        .run()
        .success();
    let json: Value = run.json();
    assert!(
        json["url"].as_str().unwrap().contains("/-/releases/v1"),
        "{json}"
    );
    assert!(!json["done"].as_array().unwrap().is_empty());
}

#[test]
fn a_200_mb_file_is_streamed_with_peak_memory_well_under_its_size() {
    const SIZE: u64 = 200 * 1024 * 1024;
    let (repo, emu) = fixture();
    let big = std::fs::File::create(repo.path().join("dist/big.tar.gz")).unwrap();
    big.set_len(SIZE).unwrap();
    std::fs::write(
        repo.path().join("release.yml"),
        MANIFEST
            .replace("dist/*.tar.gz", "dist/big.tar.gz")
            .replace("  checksums: SHA256SUMS\n", ""),
    )
    .unwrap();
    let (run, peak_kib) = gitlab_ci(&repo, &emu, &["apply"]).run_measuring_peak_kib();
    run.success();
    let stored = emu.package_files(PROJECT);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].size, SIZE);
    assert!(peak_kib > 0, "no memory sample");
    assert!(
        peak_kib < 64 * 1024,
        "peak resident memory {peak_kib} KiB for a {} MiB upload",
        SIZE >> 20
    );
}

#[test]
fn human_plan_of_a_manifest_change_snapshot() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    std::fs::write(repo.path().join("dist/app-linux.tar.gz"), "linux build 2").unwrap();
    let manifest = MANIFEST
        .replace("name: Docs", "name: Documentation")
        .replace("dist/*.tar.gz", "dist/app-linux.tar.gz");
    std::fs::write(repo.path().join("release.yml"), manifest).unwrap();
    emu.reset_requests();
    let run = gitlab_ci(&repo, &emu, &["plan"]).run().success();
    assert_eq!(emu.write_count(), 0, "plan only reads");
    insta::with_settings!({ filters => vec![(r"127\.0\.0\.1:\d+", "[server]")] }, {
        insta::assert_snapshot!(run.stdout);
    });
}
