//! The rules real GitLab servers enforce that a naive client trips over: file names of the
//! generic package registry, job tokens on servers before 16.0, the Maintainer role for
//! deleting package files, groups that forbid duplicate packages, clearing a link's
//! `direct_asset_path`, and milestones that do not exist. Each through the binary against the
//! emulator, each followed by a run that writes nothing.

use crate::helpers::cli::{Cli, Run};
use crate::helpers::converge::writes_nothing;
use crate::helpers::gitlab::{GitlabEmulator, Role};
use crate::helpers::repo::TestRepo;

const PROJECT: u64 = 7;
const PATH: &str = "group/app";
const TOKEN: &str = "glpat-rules-0123456789";
const JOB: &str = "job-token-rules-0123456789";

const MANIFEST: &str = r#"release:
  name: "App {{ version }}"
assets:
  files:
    - path: "dist/*"
  package: { name: app }
  checksums: SHA256SUMS
"#;

fn fixture(manifest: &str, files: &[(&str, &str)]) -> (TestRepo, GitlabEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    let mut all: Vec<(&str, &str)> = files.to_vec();
    all.push(("release.yml", manifest));
    repo.commit_files("chore: release files", &all);
    repo.tag("v1.0.0");
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PATH);
    emu.add_private_token(TOKEN);
    emu.add_job_token(JOB);
    (repo, emu)
}

fn ci(repo: &TestRepo, emu: &GitlabEmulator, args: &[&str]) -> Cli {
    Cli::new(repo.path(), args)
        .env("GITLAB_CI", "true")
        .env("CI_COMMIT_TAG", "v1.0.0")
        .env("CI_COMMIT_SHA", &repo.head().to_string())
        .env("CI_SERVER_URL", &emu.url())
        .env("CI_API_V4_URL", &emu.api_url())
        .env("CI_PROJECT_ID", &PROJECT.to_string())
        .env("CI_PROJECT_PATH", PATH)
        .env("CI_PROJECT_URL", &format!("{}/{PATH}", emu.url()))
}

/// `apply` with a personal access token.
fn apply(repo: &TestRepo, emu: &GitlabEmulator) -> Run {
    ci(repo, emu, &["apply"]).env("GITLAB_TOKEN", TOKEN).run()
}

/// `apply` with `CI_JOB_TOKEN` only.
fn apply_job(repo: &TestRepo, emu: &GitlabEmulator) -> Run {
    ci(repo, emu, &["apply"]).env("CI_JOB_TOKEN", JOB).run()
}

fn stored(emu: &GitlabEmulator, name: &str) -> Vec<Vec<u8>> {
    emu.package_files(PROJECT)
        .into_iter()
        .filter(|f| f.file_name == name)
        .map(|f| f.content)
        .collect()
}

fn link(emu: &GitlabEmulator, name: &str) -> serde_json::Value {
    emu.links(PROJECT, "v1.0.0")
        .into_iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no link {name}: {:?}", emu.links(PROJECT, "v1.0.0")))
}

fn writes(emu: &GitlabEmulator) -> Vec<String> {
    emu.requests()
        .iter()
        .filter(|r| r.is_write())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn a_file_name_gitlab_refuses_is_stored_under_a_safe_name_and_linked_under_its_own() {
    let (repo, emu) = fixture(MANIFEST, &[("dist/my app (linux).tar.gz", "linux 1")]);
    apply(&repo, &emu).success();
    assert_eq!(stored(&emu, "my_app__linux_.tar.gz"), [b"linux 1".to_vec()]);
    let l = link(&emu, "my app (linux).tar.gz");
    assert!(
        l["url"]
            .as_str()
            .unwrap()
            .ends_with("/packages/generic/app/1.0.0/my_app__linux_.tar.gz"),
        "{l}"
    );
    // The checksums file names the file as the manifest does.
    let sums = String::from_utf8(stored(&emu, "SHA256SUMS").remove(0)).unwrap();
    assert!(sums.contains("  my app (linux).tar.gz"), "{sums}");
    writes_nothing(&emu, || apply(&repo, &emu));

    // A changed file replaces the stored one, under the same safe name.
    std::fs::write(repo.path().join("dist/my app (linux).tar.gz"), "linux 2").unwrap();
    apply(&repo, &emu).success();
    assert_eq!(stored(&emu, "my_app__linux_.tar.gz"), [b"linux 2".to_vec()]);
    writes_nothing(&emu, || apply(&repo, &emu));
}

#[test]
fn two_names_gitlab_would_store_alike_are_refused_before_any_request() {
    let (repo, emu) = fixture(MANIFEST, &[("dist/a b.txt", "1"), ("dist/a_b.txt", "2")]);
    let run = apply(&repo, &emu).code(2);
    assert!(
        run.stderr.contains("assets.files")
            && run.stderr.contains("`a_b.txt`")
            && run.stderr.contains("rename"),
        "{}",
        run.stderr
    );
    assert!(emu.requests().is_empty(), "{:?}", writes(&emu));
}

#[test]
fn a_developer_replacing_a_changed_file_is_warned_once_and_the_release_converges() {
    let (repo, emu) = fixture(MANIFEST, &[("dist/app.tar.gz", "build 1")]);
    emu.set_role(Role::Developer);
    apply_job(&repo, &emu).success();
    std::fs::write(repo.path().join("dist/app.tar.gz"), "build 2").unwrap();
    let run = apply_job(&repo, &emu).success();
    // The old app.tar.gz and the old SHA256SUMS: one warning each, naming the role.
    assert_eq!(
        run.stderr.matches("refused to delete").count(),
        2,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Maintainer role"), "{}", run.stderr);
    assert!(!run.stderr.contains(JOB), "the token never appears");
    // Both copies stay; the link serves the newest.
    assert_eq!(
        stored(&emu, "app.tar.gz"),
        [b"build 1".to_vec(), b"build 2".to_vec()]
    );
    let url = link(&emu, "app.tar.gz")["url"].as_str().unwrap().to_owned();
    assert!(url.ends_with("/app/1.0.0/app.tar.gz"), "{url}");
    let again = writes_nothing(&emu, || apply_job(&repo, &emu));
    assert!(
        !again.stderr.contains("refused to delete"),
        "not tried again: {}",
        again.stderr
    );
    assert!(
        emu.requests().iter().all(|r| r.method != "DELETE"),
        "no delete is tried again"
    );
}

#[test]
fn forbidden_duplicates_make_a_maintainer_replace_the_file() {
    let (repo, emu) = fixture(MANIFEST, &[("dist/app.tar.gz", "build 1")]);
    emu.set_generic_duplicates_allowed(false);
    apply_job(&repo, &emu).success();
    std::fs::write(repo.path().join("dist/app.tar.gz"), "build 2").unwrap();
    apply_job(&repo, &emu).success();
    assert_eq!(stored(&emu, "app.tar.gz"), [b"build 2".to_vec()]);
    assert_eq!(stored(&emu, "SHA256SUMS").len(), 1);
    writes_nothing(&emu, || apply_job(&repo, &emu));
}

#[test]
fn forbidden_duplicates_and_a_developer_fail_with_the_setting_and_the_role() {
    let (repo, emu) = fixture(MANIFEST, &[("dist/app.tar.gz", "build 1")]);
    emu.set_generic_duplicates_allowed(false);
    emu.set_role(Role::Developer);
    apply_job(&repo, &emu).success();
    writes_nothing(&emu, || apply_job(&repo, &emu));
    std::fs::write(repo.path().join("dist/app.tar.gz"), "build 2").unwrap();
    let run = apply_job(&repo, &emu).code(1);
    assert!(
        run.stderr.contains("Allow duplicates")
            && run.stderr.contains("Packages and registries")
            && run.stderr.contains("Maintainer role"),
        "{}",
        run.stderr
    );
    assert_eq!(stored(&emu, "app.tar.gz"), [b"build 1".to_vec()]);
}

#[test]
fn an_old_server_where_the_job_token_cannot_list_package_files() {
    let (repo, emu) = fixture(MANIFEST, &[("dist/app.tar.gz", "build 1")]);
    emu.set_version(15, 11);
    let first = apply_job(&repo, &emu).success();
    assert!(first.stderr.contains("before 16.0"), "{}", first.stderr);
    assert_eq!(stored(&emu, "app.tar.gz"), [b"build 1".to_vec()]);
    writes_nothing(&emu, || apply_job(&repo, &emu));

    std::fs::write(repo.path().join("dist/app.tar.gz"), "build 2").unwrap();
    emu.reset_requests();
    apply_job(&repo, &emu).success();
    let uploads: Vec<String> = writes(&emu)
        .into_iter()
        .filter(|w| w.contains("/packages/generic/"))
        .collect();
    assert_eq!(
        uploads.len(),
        2,
        "the changed file and SHA256SUMS: {uploads:?}"
    );
    // The superseded copy cannot be listed nor deleted with this token: it stays.
    assert_eq!(
        stored(&emu, "app.tar.gz"),
        [b"build 1".to_vec(), b"build 2".to_vec()]
    );
    writes_nothing(&emu, || apply_job(&repo, &emu));
}

#[test]
fn removing_direct_asset_path_from_the_manifest_clears_it_on_the_link() {
    let with_path = MANIFEST.replace(
        "    - path: \"dist/*\"\n",
        "    - path: \"dist/*\"\n      direct_asset_path: \"/bin/{{ file.name }}\"\n",
    );
    let (repo, emu) = fixture(&with_path, &[("dist/app.tar.gz", "build 1")]);
    apply(&repo, &emu).success();
    let before = link(&emu, "app.tar.gz");
    assert!(
        before["direct_asset_url"]
            .as_str()
            .unwrap()
            .ends_with("/downloads/bin/app.tar.gz"),
        "{before}"
    );
    std::fs::write(repo.path().join("release.yml"), MANIFEST).unwrap();
    apply(&repo, &emu).success();
    let after = link(&emu, "app.tar.gz");
    assert_eq!(after["direct_asset_url"], after["url"], "{after}");
    writes_nothing(&emu, || apply(&repo, &emu));
}

#[test]
fn a_missing_milestone_stops_apply_before_any_write_and_plan_warns() {
    let manifest = MANIFEST.replace(
        "  name: \"App {{ version }}\"\n",
        "  name: \"App {{ version }}\"\n  milestones: [\"1.0\"]\n",
    );
    let (repo, emu) = fixture(&manifest, &[("dist/app.tar.gz", "build 1")]);
    let run = apply(&repo, &emu).code(2);
    assert!(
        run.stderr.contains("release.milestones")
            && run.stderr.contains("`1.0`")
            && run.stderr.contains("Plan > Milestones"),
        "{}",
        run.stderr
    );
    assert!(writes(&emu).is_empty(), "{:?}", writes(&emu));
    assert!(emu.package_files(PROJECT).is_empty());

    let plan = ci(&repo, &emu, &["plan"])
        .env("GITLAB_TOKEN", TOKEN)
        .run()
        .success();
    assert!(
        plan.stdout.contains("warning: `release.milestones`") && plan.stdout.contains("`1.0`"),
        "{}",
        plan.stdout
    );

    emu.add_milestone(PROJECT, "1.0");
    apply(&repo, &emu).success();
    let release = emu.release(PROJECT, "v1.0.0").expect("release");
    assert_eq!(release["milestones"][0]["title"], "1.0");
    writes_nothing(&emu, || apply(&repo, &emu));
}
