//! `plan` and `apply` against the stateful Gitea emulator, from Gitea Actions.

use crate::helpers::cli::{Cli, Run};
use crate::helpers::converge::{converges_under_faults, writes_nothing};
use crate::helpers::gitea::GiteaEmulator;
use crate::helpers::repo::TestRepo;

const REPO: &str = "team/app";
const TOKEN: &str = "gitea-token-abcdef";

fn fixture() -> (TestRepo, GiteaEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit_files(
        "feat: second",
        &[
            ("dist/app.tar.gz", "app 1"),
            ("release.yml", "assets:\n  links:\n    - { name: Docs, url: \"https://docs.example.com\" }\n  files:\n    - path: \"dist/*\"\n"),
        ],
    );
    repo.tag("v1.1.0");
    let emu = GiteaEmulator::start();
    emu.add_repo(REPO);
    emu.add_token(TOKEN);
    (repo, emu)
}

fn apply(repo: &TestRepo, emu: &GiteaEmulator) -> Run {
    Cli::new(repo.path(), &["apply"])
        .gitea_job(&emu.url(), REPO, "v1.1.0", &repo.head().to_string())
        .env("GITEA_TOKEN", TOKEN)
        .run()
}

#[test]
fn release_with_attachment_and_a_second_run_writes_nothing() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    let release = emu.release_by_tag(REPO, "v1.1.0").expect("release");
    assert!(
        release["body"]
            .as_str()
            .unwrap()
            .contains("[Docs](https://docs.example.com)")
    );
    let atts = emu.attachments(REPO, "v1.1.0");
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0].content, b"app 1");
    assert!(emu.requests().iter().all(|r| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("token "))
    }));
    writes_nothing(&emu, || apply(&repo, &emu));
}

#[test]
fn a_same_name_attachment_is_removed_before_the_new_upload() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    std::fs::write(repo.path().join("dist/app.tar.gz"), "app 2").unwrap();
    emu.reset_requests();
    apply(&repo, &emu).success();
    let writes: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(super::helpers::emu_common::Request::is_write)
        .collect();
    let delete = writes
        .iter()
        .position(|r| r.method == "DELETE")
        .expect("old attachment deleted");
    let upload = writes
        .iter()
        .position(|r| r.method == "POST" && r.path.contains("/assets"))
        .expect("new upload");
    assert!(
        delete < upload,
        "delete first: {:?}",
        writes
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    let atts = emu.attachments(REPO, "v1.1.0");
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0].content, b"app 2");
}

#[test]
fn injected_faults_converge_within_three_runs() {
    converges_under_faults(1..=3, fixture, apply, |emu, seed| {
        assert_eq!(
            emu.attachments(REPO, "v1.1.0").len(),
            1,
            "seed {seed}: duplicates"
        );
    });
}

#[test]
fn forgejo_keeps_links_as_external_attachments() {
    let (repo, emu) = fixture();
    emu.set_forgejo(true);
    apply(&repo, &emu).success();
    let atts = emu.attachments(REPO, "v1.1.0");
    let docs = atts
        .iter()
        .find(|a| a.name == "Docs")
        .expect("link stored as an attachment");
    assert_eq!(
        docs.external_url.as_deref(),
        Some("https://docs.example.com")
    );
    assert_eq!(atts.len(), 2, "{atts:?}");
    writes_nothing(&emu, || apply(&repo, &emu));
    std::fs::write(
        repo.path().join("release.yml"),
        "assets:\n  links:\n    - { name: Docs, url: \"https://docs.example.com/v2\" }\n  files:\n    - path: \"dist/*\"\n",
    )
    .unwrap();
    apply(&repo, &emu).success();
    let atts = emu.attachments(REPO, "v1.1.0");
    let moved = atts.iter().find(|a| a.name == "Docs").unwrap();
    assert_eq!(moved.id, docs.id, "updated in place");
    assert_eq!(
        moved.external_url.as_deref(),
        Some("https://docs.example.com/v2")
    );
}
