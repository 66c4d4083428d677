//! `plan` and `apply` against the stateful GitHub emulator, as the Actions wrapper runs them.

use std::path::Path;

use crate::helpers::cli::{Cli, Run, run_together};
use crate::helpers::converge::{converges_under_faults, writes_nothing};
use crate::helpers::github::{Fault, GithubEmulator};
use crate::helpers::repo::TestRepo;

const REPO: &str = "octo/app";
const TOKEN: &str = "ghs_testtoken0123456789";

const MANIFEST: &str = r#"release:
  name: "App {{ version }}"
assets:
  links:
    - { name: Docs, url: "https://docs.example.com/{{ version }}" }
  files:
    - path: "dist/*.tar.gz"
  checksums: SHA256SUMS
"#;

fn fixture() -> (TestRepo, GithubEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("feat: second");
    repo.commit_files(
        "chore: dist",
        &[
            ("dist/app-linux.tar.gz", "linux 1"),
            ("dist/app-macos.tar.gz", "macos 1"),
            ("release.yml", MANIFEST),
        ],
    );
    repo.tag("v1.1.0");
    let emu = GithubEmulator::start();
    emu.add_repo(REPO);
    emu.add_token(TOKEN);
    (repo, emu)
}

fn actions(repo: &TestRepo, emu: &GithubEmulator, args: &[&str]) -> Cli {
    Cli::new(repo.path(), args)
        .env("CI", "true")
        .github_job(
            &emu.api_url(),
            &emu.url(),
            REPO,
            "v1.1.0",
            &repo.head().to_string(),
        )
        .env("GITHUB_RUN_ID", "77")
        .env("GITHUB_TOKEN", TOKEN)
}

fn apply(repo: &TestRepo, emu: &GithubEmulator) -> Run {
    actions(repo, emu, &["apply"]).run()
}

fn asset_names(emu: &GithubEmulator) -> Vec<String> {
    let mut v: Vec<String> = emu
        .assets(REPO, "v1.1.0")
        .into_iter()
        .map(|a| a.name)
        .collect();
    v.sort();
    v
}

#[test]
fn draft_then_upload_then_publish_and_a_second_run_writes_nothing() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    let release = emu.release_by_tag(REPO, "v1.1.0").expect("release");
    assert_eq!(release["draft"], false, "published");
    assert_eq!(release["name"], "App 1.1.0");
    assert!(
        release["body"]
            .as_str()
            .unwrap()
            .contains("[Docs](https://docs.example.com/1.1.0)"),
        "links go into the body"
    );
    assert_eq!(
        asset_names(&emu),
        ["SHA256SUMS", "app-linux.tar.gz", "app-macos.tar.gz"]
    );
    assert!(
        emu.assets(REPO, "v1.1.0")
            .iter()
            .all(|a| a.state == "uploaded")
    );
    let writes: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(super::helpers::emu_common::Request::is_write)
        .collect();
    let create = writes
        .iter()
        .position(|r| r.method == "POST" && r.path.ends_with("/releases"))
        .unwrap();
    assert!(
        writes[create].body.contains("\"draft\":true"),
        "created as a draft: {}",
        writes[create].body
    );
    let uploads: Vec<usize> = writes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.path.contains("/assets"))
        .map(|(i, _)| i)
        .collect();
    let publish = writes
        .iter()
        .rposition(|r| r.method == "PATCH" && r.body.contains("\"draft\":false"))
        .expect("published with a PATCH");
    assert!(
        uploads.iter().all(|u| *u > create && *u < publish),
        "draft → upload → publish"
    );
    assert!(
        writes[publish].body.contains("\"make_latest\":\"legacy\""),
        "make_latest is a string: {}",
        writes[publish].body
    );
    for r in emu.requests() {
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
        assert_eq!(
            r.header("authorization").map(|a| a.starts_with("Bearer ")),
            Some(true)
        );
    }
    emu.reset_requests();
    apply(&repo, &emu).success();
    assert_eq!(
        emu.write_count(),
        0,
        "{:?}",
        emu.requests()
            .iter()
            .filter(|r| r.is_write())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_changed_asset_is_replaced() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    std::fs::write(repo.path().join("dist/app-linux.tar.gz"), "linux 2").unwrap();
    apply(&repo, &emu).success();
    let assets = emu.assets(REPO, "v1.1.0");
    assert_eq!(assets.len(), 3);
    assert_eq!(
        assets
            .iter()
            .find(|a| a.name == "app-linux.tar.gz")
            .unwrap()
            .content,
        b"linux 2"
    );
    writes_nothing(&emu, || apply(&repo, &emu));
}

#[test]
fn a_half_uploaded_asset_is_deleted_and_redone() {
    let (repo, emu) = fixture();
    emu.fail_next_on("POST", "/assets", Fault::StarterThen502, 1);
    apply(&repo, &emu).success();
    let assets = emu.assets(REPO, "v1.1.0");
    assert_eq!(
        asset_names(&emu),
        ["SHA256SUMS", "app-linux.tar.gz", "app-macos.tar.gz"],
        "{assets:?}"
    );
    assert!(
        assets
            .iter()
            .all(|a| a.state == "uploaded" && a.digest.is_some())
    );
}

#[test]
fn two_concurrent_applies_end_with_one_release() {
    let (repo, emu) = fixture();
    // Slow answers widen the window in which both jobs see no release and create a draft.
    emu.set_latency(std::time::Duration::from_millis(40));
    let (a, b) = (
        actions(&repo, &emu, &["apply"]),
        actions(&repo, &emu, &["apply"]),
    );
    let runs = run_together(a, b);
    for r in runs {
        r.success();
    }
    assert_eq!(
        emu.releases_for_tag(REPO, "v1.1.0").len(),
        1,
        "no duplicate draft is left"
    );
    assert_eq!(
        asset_names(&emu),
        ["SHA256SUMS", "app-linux.tar.gz", "app-macos.tar.gz"]
    );
    writes_nothing(&emu, || apply(&repo, &emu));
}

#[test]
fn an_immutable_release_is_refused_not_half_changed() {
    let (repo, emu) = fixture();
    emu.set_immutable_releases(true);
    apply(&repo, &emu).success();
    std::fs::write(repo.path().join("dist/app-linux.tar.gz"), "linux 2").unwrap();
    emu.reset_requests();
    let run = apply(&repo, &emu).code(1);
    assert!(run.stderr.contains("immutable"), "{}", run.stderr);
    assert_eq!(emu.write_count(), 0, "nothing was changed");
    assert!(run.stdout.contains("::error"), "annotation: {}", run.stdout);
}

#[test]
fn secondary_rate_limits_are_backed_off() {
    let (repo, emu) = fixture();
    emu.set_secondary_rate_limit(2, 1);
    apply(&repo, &emu).success();
    assert_eq!(
        emu.requests()
            .iter()
            .filter(|r| r.status == 403 || r.status == 429)
            .count(),
        2
    );
    assert_eq!(asset_names(&emu).len(), 3);
}

#[test]
fn outputs_and_step_summary_are_written() {
    let (repo, emu) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (out, summary) = (dir.path().join("output"), dir.path().join("summary.md"));
    let with_files = |c: Cli, o: &Path, s: &Path| {
        c.env("GITHUB_OUTPUT", o.to_str().unwrap())
            .env("GITHUB_STEP_SUMMARY", s.to_str().unwrap())
    };
    with_files(actions(&repo, &emu, &["apply"]), &out, &summary)
        .run()
        .success();
    // Each output is a `name<<DELIMITER` heredoc, as the runner reads multi-line values.
    let outputs = |text: &str| -> Vec<(String, String)> {
        let mut v = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let (name, delim) = line.split_once("<<").expect("heredoc");
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
            v.push((name.to_owned(), value.join("\n")));
        }
        v
    };
    let text = std::fs::read_to_string(&out).unwrap();
    let url = format!("{}/{REPO}/releases/tag/v1.1.0", emu.url());
    let expected = |changed: &str| {
        [
            ("tag", "v1.1.0"),
            ("version", "1.1.0"),
            ("url", url.as_str()),
            ("changed", changed),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec()
    };
    assert_eq!(outputs(&text), expected("true"), "{text}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("### Release [v1.1.0]"), "{md}");
    with_files(actions(&repo, &emu, &["apply"]), &out, &summary)
        .run()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(outputs(&text)[4..], expected("false"), "{text}");
}

#[test]
fn injected_faults_converge_within_three_runs() {
    converges_under_faults(1..=3, fixture, apply, |emu, seed| {
        assert_eq!(emu.releases_for_tag(REPO, "v1.1.0").len(), 1, "seed {seed}");
        let files = ["SHA256SUMS", "app-linux.tar.gz", "app-macos.tar.gz"];
        assert_eq!(asset_names(emu), files, "seed {seed}");
    });
}

#[test]
fn plan_is_read_only() {
    let (repo, emu) = fixture();
    actions(&repo, &emu, &["plan", "--detailed-exitcode"])
        .run()
        .code(4);
    assert_eq!(emu.write_count(), 0);
}
