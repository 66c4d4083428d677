//! The rules real GitLab servers enforce that a naive client trips over: file names of the
//! generic package registry, job tokens on servers before 16.0, the Maintainer role for
//! deleting package files, groups that forbid duplicate packages, clearing a link's
//! `direct_asset_path`, and milestones that do not exist. Each through the binary against the
//! emulator, each followed by a run that writes nothing.

use crate::helpers::cli::{Cli, Run};
use crate::helpers::converge::writes_nothing;
use crate::helpers::gitlab::{GitlabEmulator, Role};
use crate::helpers::http_client::{Resp, send_url};
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
    Cli::new(repo.path(), args).gitlab_job(
        &emu.url(),
        PROJECT,
        PATH,
        "v1.0.0",
        &repo.head().to_string(),
    )
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

#[test]
fn with_a_job_token_milestones_are_not_checked_and_gitlabs_refusal_names_the_key() {
    let manifest = MANIFEST.replace(
        "  name: \"App {{ version }}\"\n",
        "  name: \"App {{ version }}\"\n  milestones: [\"1.0\"]\n",
    );
    let (repo, emu) = fixture(&manifest, &[("dist/app.tar.gz", "build 1")]);
    let plan = ci(&repo, &emu, &["plan"])
        .env("CI_JOB_TOKEN", JOB)
        .run()
        .success();
    assert!(plan.stdout.contains("were not checked"), "{}", plan.stdout);
    let run = apply_job(&repo, &emu).code(1);
    assert!(
        run.stderr.contains("Milestone(s) not found")
            && run.stderr.contains("release.milestones")
            && run.stderr.contains("Plan > Milestones"),
        "{}",
        run.stderr
    );
    // Once the milestone exists, the files uploaded before are not uploaded again.
    emu.add_milestone(PROJECT, "1.0");
    emu.reset_requests();
    apply_job(&repo, &emu).success();
    assert!(
        writes(&emu)
            .iter()
            .all(|w| !w.contains("/packages/generic/")),
        "{:?}",
        writes(&emu)
    );
    writes_nothing(&emu, || apply_job(&repo, &emu));
}

// ---------------------------------------------------------------------------------------------
// The emulator's rules on the wire, with GitLab's answers

fn wire(emu: &GitlabEmulator, method: &str, path: &str, auth: (&str, &str), body: &[u8]) -> Resp {
    send_url(
        &format!("{}{path}", emu.api_url()),
        method,
        &[auth, ("Content-Type", "application/octet-stream")],
        body,
    )
    .expect("request")
}

/// A package `app/1` holding `a.txt`; returns (package id, file id).
fn one_file(emu: &GitlabEmulator) -> (u64, u64) {
    let r = wire(
        emu,
        "PUT",
        &format!("/projects/{PROJECT}/packages/generic/app/1/a.txt?select=package_file"),
        ("PRIVATE-TOKEN", TOKEN),
        b"one",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let f = r.json();
    (f["package_id"].as_u64().unwrap(), f["id"].as_u64().unwrap())
}

#[test]
fn emulator_a_developer_may_not_delete_package_files_a_maintainer_may() {
    let (_repo, emu) = fixture(MANIFEST, &[("dist/a", "a")]);
    let (pid, fid) = one_file(&emu);
    let path = format!("/projects/{PROJECT}/packages/{pid}/package_files/{fid}");
    emu.set_role(Role::Developer);
    for auth in [("PRIVATE-TOKEN", TOKEN), ("JOB-TOKEN", JOB)] {
        let r = wire(&emu, "DELETE", &path, auth, b"");
        assert_eq!(
            (r.status, r.json()["message"].clone()),
            (403, "403 Forbidden".into())
        );
    }
    emu.set_role(Role::Maintainer);
    assert_eq!(
        wire(&emu, "DELETE", &path, ("JOB-TOKEN", JOB), b"").status,
        204
    );
}

#[test]
fn emulator_forbidden_duplicates_refuse_a_second_file_of_the_same_name() {
    let (_repo, emu) = fixture(MANIFEST, &[("dist/a", "a")]);
    one_file(&emu);
    let again = format!("/projects/{PROJECT}/packages/generic/app/1/a.txt");
    // Allowed by default: the new file is added next to the old one.
    assert_eq!(
        wire(&emu, "PUT", &again, ("PRIVATE-TOKEN", TOKEN), b"two").status,
        201
    );
    emu.set_generic_duplicates_allowed(false);
    let r = wire(&emu, "PUT", &again, ("PRIVATE-TOKEN", TOKEN), b"three");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "400 Bad request - Duplicate package is not allowed"
    );
    let other = format!("/projects/{PROJECT}/packages/generic/app/1/b.txt");
    assert_eq!(
        wire(&emu, "PUT", &other, ("PRIVATE-TOKEN", TOKEN), b"b").status,
        201
    );
    assert_eq!(emu.package_files(PROJECT).len(), 3);
}

#[test]
fn emulator_before_16_0_a_job_token_cannot_list_package_files() {
    let (_repo, emu) = fixture(MANIFEST, &[("dist/a", "a")]);
    let (pid, _) = one_file(&emu);
    let files = format!("/projects/{PROJECT}/packages/{pid}/package_files");
    let packages = format!("/projects/{PROJECT}/packages");
    assert_eq!(
        wire(&emu, "GET", &files, ("JOB-TOKEN", JOB), b"").status,
        200
    );
    emu.set_version(15, 11);
    let r = wire(&emu, "GET", &files, ("JOB-TOKEN", JOB), b"");
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (404, "404 Project Not Found".into())
    );
    // Listing packages and uploading still take the job token; a personal token lists files.
    assert_eq!(
        wire(&emu, "GET", &packages, ("JOB-TOKEN", JOB), b"").status,
        200
    );
    assert_eq!(
        wire(&emu, "GET", &files, ("PRIVATE-TOKEN", TOKEN), b"").status,
        200
    );
    let v = wire(&emu, "GET", "/version", ("PRIVATE-TOKEN", TOKEN), b"").json();
    assert_eq!(v["version"], "15.11.0-ee");
}

#[test]
fn emulator_milestones_are_listed_by_exact_title_and_not_to_a_job_token() {
    let (_repo, emu) = fixture(MANIFEST, &[("dist/a", "a")]);
    emu.add_milestone(PROJECT, "1.0");
    emu.add_milestone(PROJECT, "1.0.1");
    let path = format!("/projects/{PROJECT}/milestones?title=1.0&include_ancestors=true");
    let r = wire(&emu, "GET", &path, ("PRIVATE-TOKEN", TOKEN), b"").json();
    let titles: Vec<&str> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["1.0"]);
    assert_eq!(
        wire(&emu, "GET", &path, ("JOB-TOKEN", JOB), b"").status,
        404
    );
}

#[test]
fn emulator_a_link_update_without_direct_asset_path_keeps_it_and_null_clears_it() {
    let (repo, emu) = fixture(
        &MANIFEST.replace(
            "    - path: \"dist/*\"\n",
            "    - path: \"dist/*\"\n      direct_asset_path: \"/bin/{{ file.name }}\"\n",
        ),
        &[("dist/app.tar.gz", "build 1")],
    );
    apply(&repo, &emu).success();
    let l = link(&emu, "app.tar.gz");
    let path = format!(
        "/projects/{PROJECT}/releases/v1%2E0%2E0/assets/links/{}",
        l["id"]
    );
    let put = |body: &str| {
        send_url(
            &format!("{}{path}", emu.api_url()),
            "PUT",
            &[
                ("PRIVATE-TOKEN", TOKEN),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
        .expect("request")
        .json()
    };
    let kept = put(r#"{"name":"app.tar.gz","url":"https://e.com/x","link_type":"package"}"#);
    assert!(
        kept["direct_asset_url"]
            .as_str()
            .unwrap()
            .ends_with("/downloads/bin/app.tar.gz"),
        "{kept}"
    );
    let cleared = put(r#"{"name":"app.tar.gz","url":"https://e.com/x","direct_asset_path":null}"#);
    assert_eq!(cleared["direct_asset_url"], "https://e.com/x", "{cleared}");
}
