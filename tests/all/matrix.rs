//! Matrix builds through the binary: jobs that each build part of the assets sync one release
//! under their own scope, one after the other, interleaved and at once, without deleting each
//! other's files or links; a final job without a scope prunes as usual. And the early lint:
//! `check` and `notes` before the build.

use std::collections::BTreeSet;
use std::path::Path;

use crate::helpers::cli::{Cli, Run, run_together};
use crate::helpers::converge::writes_nothing;
use crate::helpers::github::GithubEmulator;
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::repo::TestRepo;

const PROJECT: u64 = 42;
const PATH: &str = "group/app";
const GL_TOKEN: &str = "glpat-matrix-token-0123456789";
const GH_REPO: &str = "octo/app";
const GH_TOKEN: &str = "ghs_matrixtoken0123456789";

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

/// One job's checkout: the same history (fixed authors and dates give the same commits), with
/// the files this job built in `dist/`.
fn checkout(built: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.tag("v1.0.0");
    repo.commit("feat(api): add the list endpoint");
    repo.commit_files("chore: release manifest", &[("release.yml", MANIFEST)]);
    repo.tag("v1.1.0");
    build(&repo, built);
    repo
}

/// Replaces `dist/` with these files.
fn build(repo: &TestRepo, built: &[(&str, &str)]) {
    let dist = repo.path().join("dist");
    let _ = std::fs::remove_dir_all(&dist);
    std::fs::create_dir_all(&dist).unwrap();
    for (name, content) in built {
        std::fs::write(dist.join(name), content).unwrap();
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

const LINUX: (&str, &str) = ("app-linux.tar.gz", "linux build 1");
const MACOS: (&str, &str) = ("app-macos.tar.gz", "macos build 1");

// ---------------------------------------------------------------------------------------------
// GitLab: `parallel: matrix` jobs get their scope from their names.

fn gitlab_job(repo: &TestRepo, emu: &GitlabEmulator, matrix: Option<&str>, args: &[&str]) -> Cli {
    let cli = Cli::new(repo.path(), args)
        .gitlab_job(
            &emu.url(),
            PROJECT,
            PATH,
            "v1.1.0",
            &repo.head().to_string(),
        )
        .env("GITLAB_TOKEN", GL_TOKEN);
    match matrix {
        // As GitLab names and numbers the jobs of `parallel: matrix: [{TARGET: [linux, macos]}]`.
        Some(target) => cli
            .env("CI_JOB_NAME", &format!("build: [{target}]"))
            .env("CI_NODE_INDEX", if target == "linux" { "1" } else { "2" })
            .env("CI_NODE_TOTAL", "2"),
        None => cli.env("CI_JOB_NAME", "release").env("CI_NODE_TOTAL", "1"),
    }
}

fn gitlab() -> GitlabEmulator {
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PATH);
    emu.add_private_token(GL_TOKEN);
    emu
}

fn gl_links(emu: &GitlabEmulator) -> BTreeSet<String> {
    emu.links(PROJECT, "v1.1.0")
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect()
}

fn gl_files(emu: &GitlabEmulator) -> BTreeSet<String> {
    emu.package_files(PROJECT)
        .into_iter()
        .map(|f| f.file_name)
        .collect()
}

fn gl_description(emu: &GitlabEmulator) -> String {
    emu.release(PROJECT, "v1.1.0").expect("release")["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A matrix job's run, then a second run of the same job that must write nothing.
fn gl_run_twice(repo: &TestRepo, emu: &GitlabEmulator, matrix: Option<&str>) -> Run {
    let run = gitlab_job(repo, emu, matrix, &["apply"]).run().success();
    writes_nothing(emu, || gitlab_job(repo, emu, matrix, &["apply"]).run());
    run
}

#[test]
fn gitlab_matrix_jobs_keep_each_others_files_and_a_final_job_prunes() {
    let emu = gitlab();
    let linux = checkout(&[LINUX]);
    let macos = checkout(&[MACOS]);
    assert_eq!(linux.head(), macos.head(), "one commit for both jobs");

    let first = gl_run_twice(&linux, &emu, Some("linux"));
    assert!(
        first.stderr.contains("scope `linux`"),
        "the scope from the job's name is said: {}",
        first.stderr
    );
    emu.add_link_by_hand(
        PROJECT,
        "v1.1.0",
        "Mirror",
        "https://mirror.example.com/app",
    );
    assert_eq!(
        gl_files(&emu),
        set(&["app-linux.tar.gz", "SHA256SUMS-linux"])
    );
    // Job b, then job a again: neither deletes the other's file or link.
    for (repo, target) in [(&macos, "macos"), (&linux, "linux")] {
        gl_run_twice(repo, &emu, Some(target));
        assert_eq!(
            gl_links(&emu),
            set(&[
                "Docs",
                "Mirror",
                "app-linux.tar.gz",
                "SHA256SUMS-linux",
                "app-macos.tar.gz",
                "SHA256SUMS-macos"
            ]),
            "after job {target}"
        );
        assert_eq!(
            gl_files(&emu),
            set(&[
                "app-linux.tar.gz",
                "SHA256SUMS-linux",
                "app-macos.tar.gz",
                "SHA256SUMS-macos"
            ]),
            "after job {target}"
        );
    }
    let description = gl_description(&emu);
    assert!(
        description.contains(
            r#""scopes":{"linux":["Docs","SHA256SUMS-linux","app-linux.tar.gz"],"macos":["Docs","SHA256SUMS-macos","app-macos.tar.gz"]}"#
        ),
        "each scope is recorded: {description}"
    );

    // The final job has every job's files: the scoped checksums give way to one over all.
    let full = checkout(&[LINUX, MACOS]);
    gl_run_twice(&full, &emu, None);
    assert_eq!(
        gl_links(&emu),
        set(&[
            "Docs",
            "Mirror",
            "app-linux.tar.gz",
            "app-macos.tar.gz",
            "SHA256SUMS"
        ])
    );
    assert_eq!(
        gl_files(&emu),
        set(&["app-linux.tar.gz", "app-macos.tar.gz", "SHA256SUMS"])
    );
    assert!(
        gl_description(&emu).contains("app-macos.tar.gz"),
        "the final job's notes list every asset"
    );
    // A later release drops the macOS build: the final job prunes its file and link.
    build(&full, &[LINUX]);
    gl_run_twice(&full, &emu, None);
    assert_eq!(
        gl_links(&emu),
        set(&["Docs", "Mirror", "app-linux.tar.gz", "SHA256SUMS"])
    );
    assert_eq!(gl_files(&emu), set(&["app-linux.tar.gz", "SHA256SUMS"]));
    // A matrix job run again after the final job changes nothing of it but its checksums.
    gl_run_twice(&linux, &emu, Some("linux"));
    assert_eq!(
        gl_files(&emu),
        set(&["app-linux.tar.gz", "SHA256SUMS", "SHA256SUMS-linux"])
    );
}

#[test]
fn gitlab_matrix_jobs_at_once_end_with_both_jobs_assets() {
    let emu = gitlab();
    let linux = checkout(&[LINUX]);
    let macos = checkout(&[MACOS]);
    let runs = run_together(
        gitlab_job(&linux, &emu, Some("linux"), &["apply"]),
        gitlab_job(&macos, &emu, Some("macos"), &["apply"]),
    );
    for r in runs {
        r.success();
    }
    let all = set(&[
        "app-linux.tar.gz",
        "SHA256SUMS-linux",
        "app-macos.tar.gz",
        "SHA256SUMS-macos",
    ]);
    assert_eq!(emu.releases(PROJECT).len(), 1);
    assert_eq!(gl_files(&emu), all, "nothing deleted, no duplicates");
    let mut links = all.clone();
    links.insert("Docs".into());
    assert_eq!(gl_links(&emu), links);
    // Each job's state entries are in the description (a job whose entries a concurrent
    // write lost records them again on its next run); then neither writes again.
    for (repo, target) in [(&linux, "linux"), (&macos, "macos")] {
        gitlab_job(repo, &emu, Some(target), &["apply"])
            .run()
            .success();
    }
    for (repo, target) in [(&linux, "linux"), (&macos, "macos")] {
        writes_nothing(&emu, || {
            gitlab_job(repo, &emu, Some(target), &["apply"]).run()
        });
    }
    let description = gl_description(&emu);
    assert!(
        description.contains(r#""linux":["#) && description.contains(r#""macos":["#),
        "{description}"
    );
    assert_eq!(gl_files(&emu), all);
}

#[test]
fn a_bad_scope_is_refused_before_any_request() {
    let emu = gitlab();
    let linux = checkout(&[LINUX]);
    let run = gitlab_job(&linux, &emu, Some("linux"), &["apply"])
        .env("RELSYNC_SCOPE", "linux/x86 64")
        .run()
        .code(2);
    assert!(
        run.stderr.contains("RELSYNC_SCOPE") && run.stderr.contains("a scope takes letters"),
        "{}",
        run.stderr
    );
    // A scoped job that built none of the declared files.
    let empty = checkout(&[]);
    let run = gitlab_job(&empty, &emu, Some("linux"), &["apply"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("assets.files") && run.stderr.contains("scope `linux`"),
        "{}",
        run.stderr
    );
    assert!(emu.requests().is_empty(), "{:?}", emu.requests());
}

#[test]
fn two_scopes_uploading_one_name_with_other_content_is_refused() {
    let emu = gitlab();
    let linux = checkout(&[("app.tar.gz", "linux build")]);
    let macos = checkout(&[("app.tar.gz", "macos build")]);
    gl_run_twice(&linux, &emu, Some("linux"));
    emu.reset_requests();
    let run = gitlab_job(&macos, &emu, Some("macos"), &["apply"])
        .run()
        .code(1);
    assert!(
        run.stderr.contains("`app.tar.gz`")
            && run.stderr.contains("scope `linux`")
            && run.stderr.contains("distinct names"),
        "{}",
        run.stderr
    );
    let writes: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.is_write())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(gl_files(&emu), set(&["app.tar.gz", "SHA256SUMS-linux"]));
}

// ---------------------------------------------------------------------------------------------
// GitHub: `strategy.matrix` jobs pass their scope in `RELSYNC_SCOPE`.

fn github() -> GithubEmulator {
    let emu = GithubEmulator::start();
    emu.add_repo(GH_REPO);
    emu.add_token(GH_TOKEN);
    emu
}

fn github_job(repo: &TestRepo, emu: &GithubEmulator, scope: Option<&str>) -> Cli {
    let cli = Cli::new(repo.path(), &["apply"])
        .env("CI", "true")
        .github_job(
            &emu.api_url(),
            &emu.url(),
            GH_REPO,
            "v1.1.0",
            &repo.head().to_string(),
        )
        .env("GITHUB_TOKEN", GH_TOKEN);
    match scope {
        Some(s) => cli.env("RELSYNC_SCOPE", s),
        None => cli,
    }
}

fn gh_assets(emu: &GithubEmulator) -> BTreeSet<String> {
    emu.assets(GH_REPO, "v1.1.0")
        .into_iter()
        .map(|a| a.name)
        .collect()
}

fn gh_run_twice(repo: &TestRepo, emu: &GithubEmulator, scope: Option<&str>) {
    github_job(repo, emu, scope).run().success();
    writes_nothing(emu, || github_job(repo, emu, scope).run());
}

#[test]
fn github_matrix_jobs_keep_each_others_assets_and_a_final_job_prunes() {
    let emu = github();
    let linux = checkout(&[LINUX]);
    let macos = checkout(&[MACOS]);
    gh_run_twice(&linux, &emu, Some("linux"));
    for (repo, scope) in [(&macos, "macos"), (&linux, "linux")] {
        gh_run_twice(repo, &emu, Some(scope));
        assert_eq!(
            gh_assets(&emu),
            set(&[
                "app-linux.tar.gz",
                "SHA256SUMS-linux",
                "app-macos.tar.gz",
                "SHA256SUMS-macos"
            ]),
            "after job {scope}"
        );
    }
    let release = emu.release_by_tag(GH_REPO, "v1.1.0").expect("release");
    assert_eq!(release["draft"], false, "published by the first job");
    assert_eq!(emu.releases(GH_REPO).len(), 1);

    let full = checkout(&[LINUX, MACOS]);
    gh_run_twice(&full, &emu, None);
    assert_eq!(
        gh_assets(&emu),
        set(&["app-linux.tar.gz", "app-macos.tar.gz", "SHA256SUMS"])
    );
    build(&full, &[LINUX]);
    gh_run_twice(&full, &emu, None);
    assert_eq!(gh_assets(&emu), set(&["app-linux.tar.gz", "SHA256SUMS"]));
    let body = emu.release_by_tag(GH_REPO, "v1.1.0").unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        body.contains("app-linux.tar.gz") && !body.contains("app-macos.tar.gz"),
        "{body}"
    );
}

#[test]
fn github_matrix_jobs_at_once_end_with_both_jobs_assets() {
    let emu = github();
    let linux = checkout(&[LINUX]);
    let macos = checkout(&[MACOS]);
    for r in run_together(
        github_job(&linux, &emu, Some("linux")),
        github_job(&macos, &emu, Some("macos")),
    ) {
        r.success();
    }
    let all = set(&[
        "app-linux.tar.gz",
        "SHA256SUMS-linux",
        "app-macos.tar.gz",
        "SHA256SUMS-macos",
    ]);
    assert_eq!(gh_assets(&emu), all);
    assert_eq!(
        emu.releases(GH_REPO).len(),
        1,
        "one release, no duplicate draft"
    );
    for (repo, scope) in [(&linux, "linux"), (&macos, "macos")] {
        github_job(repo, &emu, Some(scope)).run().success();
    }
    for (repo, scope) in [(&linux, "linux"), (&macos, "macos")] {
        writes_nothing(&emu, || github_job(repo, &emu, Some(scope)).run());
    }
    assert_eq!(gh_assets(&emu), all);
}

// ---------------------------------------------------------------------------------------------
// Before the build: `check` and `notes` lint and preview; `check --strict` requires the files.

fn two_globs(dir: &Path) {
    std::fs::write(
        dir.join("release.yml"),
        "assets:\n  files:\n    - path: \"dist/*.tar.gz\"\n    - path: dist/app.sbom.json\n",
    )
    .unwrap();
}

#[test]
fn check_and_notes_before_the_build_name_what_is_not_built_yet() {
    let repo = checkout(&[]);
    two_globs(repo.path());
    let check = Cli::new(repo.path(), &["check"]).run().success();
    assert!(
        check.stdout.contains(
            "not built yet: `dist/*.tar.gz` (assets.files[0]), `dist/app.sbom.json` (assets.files[1])"
        ),
        "{}",
        check.stdout
    );
    let json = Cli::new(repo.path(), &["check", "--output", "json"])
        .run()
        .success()
        .json();
    assert_eq!(
        json["not_built"],
        serde_json::json!([
            "`dist/*.tar.gz` (assets.files[0])",
            "`dist/app.sbom.json` (assets.files[1])"
        ])
    );
    let notes = Cli::new(repo.path(), &["notes"]).run().success();
    assert!(
        notes.stdout.contains("add the list endpoint"),
        "{}",
        notes.stdout
    );
    for glob in [
        "`dist/*.tar.gz` (assets.files[0])",
        "`dist/app.sbom.json` (assets.files[1])",
    ] {
        assert!(
            notes
                .stderr
                .contains(&format!("{glob} matches no file yet: not built yet")),
            "{glob}: {}",
            notes.stderr
        );
    }
    let strict = Cli::new(repo.path(), &["check", "--strict"]).run().code(2);
    assert!(
        strict.stderr.contains("assets.files[0].path") && strict.stderr.contains("matches no file"),
        "{}",
        strict.stderr
    );
    // Once one is built, only the other is named; once both are, nothing is.
    build(&repo, &[LINUX]);
    let check = Cli::new(repo.path(), &["check"]).run().success();
    assert!(
        check
            .stdout
            .contains("not built yet: `dist/app.sbom.json` (assets.files[1])")
            && !check.stdout.contains("dist/*.tar.gz"),
        "{}",
        check.stdout
    );
    Cli::new(repo.path(), &["check", "--strict"]).run().code(2);
    std::fs::write(repo.path().join("dist/app.sbom.json"), "{}").unwrap();
    let check = Cli::new(repo.path(), &["check", "--strict"])
        .run()
        .success();
    assert!(!check.stdout.contains("not built"), "{}", check.stdout);
    let check = Cli::new(repo.path(), &["check"]).run().success();
    assert!(!check.stdout.contains("not built"), "{}", check.stdout);
}

#[test]
fn check_before_the_build_still_refuses_a_bad_glob() {
    let repo = checkout(&[]);
    std::fs::write(
        repo.path().join("release.yml"),
        "assets:\n  files:\n    - path: \"dist/[.tar\"\n",
    )
    .unwrap();
    let run = Cli::new(repo.path(), &["check"]).run().code(2);
    assert!(
        run.stderr.contains("assets.files[0].path") && run.stderr.contains("invalid glob"),
        "{}",
        run.stderr
    );
    Cli::new(repo.path(), &["notes"]).run().code(2);
}
