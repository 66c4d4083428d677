//! GitHub, Gitea/Forgejo and Tencent Git as their servers really behave: 工蜂's path encoding,
//! Forgejo versions without external attachments, Gitea's `tag_message`, lookups that never
//! page through a long history, and assets the server renamed. Every run that changes the
//! forge is followed by one that must write nothing.

use crate::helpers::cli::{Cli, Run};
use crate::helpers::converge::writes_nothing;
use crate::helpers::emu_common::Request;
use crate::helpers::gitea::GiteaEmulator;
use crate::helpers::github::GithubEmulator;
use crate::helpers::http_client::json_request;
use crate::helpers::repo::TestRepo;
use crate::helpers::tgit::TgitEmulator;

// ---------------------------------------------------------------------------------------------
// Tencent Git

const TGIT_PROJECT: u64 = 5151;
const TGIT_PATH: &str = "team.infra/app.web";
const TGIT_TOKEN: &str = "tgit-private-token-dots";

const TGIT_MANIFEST: &str = r#"release:
  name: "App {{ version }} (stable)"
assets:
  files:
    - path: "dist/*"
"#;

fn tgit_fixture() -> (TestRepo, TgitEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.2.2");
    repo.commit_files(
        "feat: second",
        &[
            ("dist/my app.tar.gz", "app 1.2.3"),
            ("release.yml", TGIT_MANIFEST),
        ],
    );
    repo.tag("v1.2.3");
    let emu = TgitEmulator::start();
    emu.add_project(TGIT_PROJECT, TGIT_PATH);
    emu.add_private_token(TGIT_TOKEN);
    (repo, emu)
}

fn tgit(repo: &TestRepo, emu: &TgitEmulator, cmd: &str) -> Cli {
    Cli::new(
        repo.path(),
        &[
            cmd,
            "--forge",
            "tgit",
            "--server",
            &emu.url(),
            "--project",
            TGIT_PATH,
            "--tag",
            "v1.2.3",
        ],
    )
    .env("TGIT_TOKEN", TGIT_TOKEN)
}

#[test]
fn tgit_paths_keep_dots_literal_and_encode_the_project_slash() {
    let (repo, emu) = tgit_fixture();
    tgit(&repo, &emu, "apply").run().success();
    let release = emu.release(TGIT_PROJECT, "v1.2.3").expect("release");
    assert_eq!(release["title"], "App 1.2.3 (stable)");
    let requests = emu.requests();
    // As PyTgit sends them (`quote(v, safe="")`): `/` of the project as `%2F`, dots literal.
    let release_path = "/api/v3/projects/team.infra%2Fapp.web/releases/v1.2.3";
    assert!(
        requests
            .iter()
            .any(|r| r.method == "GET" && r.path == release_path),
        "{:?}",
        paths(&requests)
    );
    assert!(
        requests
            .iter()
            .any(|r| r.method == "POST" && r.path == format!("{release_path}/attachments")),
        "{:?}",
        paths(&requests)
    );
    for r in &requests {
        assert!(
            r.path
                .starts_with("/api/v3/projects/team.infra%2Fapp.web/releases"),
            "{} {}",
            r.method,
            r.path
        );
        assert!(!r.path.contains("%2E"), "dot encoded: {}", r.path);
    }
    // 工蜂 filtered the space out of the name; the notes link the name it kept.
    let stored: Vec<String> = emu
        .attachments(TGIT_PROJECT, "v1.2.3")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(stored, ["my_app.tar.gz"]);
    let description = release["description"].as_str().unwrap();
    assert!(
        description.contains(&format!("{release_path}/attachments/my_app.tar.gz)")),
        "{description}"
    );
    assert!(!description.contains("my%20app"), "{description}");
    writes_nothing(&emu, || tgit(&repo, &emu, "apply").run());
}

#[test]
fn tgit_check_says_what_a_custom_release_name_means() {
    let (repo, emu) = tgit_fixture();
    let out = tgit(&repo, &emu, "check").run().success().stdout;
    assert!(out.contains("note: on Tencent Git `release.name`"), "{out}");
    assert!(out.contains("\"App 1.2.3 (stable)\""), "{out}");
    assert!(out.contains("the tag `v1.2.3`"), "{out}");
    assert_eq!(
        emu.requests().len(),
        0,
        "check reads nothing from the forge"
    );
    // With the default name (the tag) there is nothing to say.
    std::fs::write(
        repo.path().join("release.yml"),
        "assets:\n  files:\n    - path: \"dist/*\"\n",
    )
    .unwrap();
    let out = tgit(&repo, &emu, "check").run().success().stdout;
    assert!(!out.contains("note:"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Gitea and Forgejo

const GITEA_REPO: &str = "team/app";
const GITEA_TOKEN: &str = "gitea-token-real";

fn gitea_fixture(manifest: &str) -> (TestRepo, GiteaEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit_files(
        "feat: second",
        &[("dist/app.tar.gz", "app 1"), ("release.yml", manifest)],
    );
    repo.tag("v1.1.0");
    let emu = GiteaEmulator::start();
    emu.add_repo(GITEA_REPO);
    emu.add_token(GITEA_TOKEN);
    (repo, emu)
}

fn gitea_apply(repo: &TestRepo, emu: &GiteaEmulator) -> Run {
    Cli::new(repo.path(), &["apply"])
        .gitea_job(&emu.url(), GITEA_REPO, "v1.1.0", &repo.head().to_string())
        .env("GITEA_TOKEN", GITEA_TOKEN)
        .run()
}

const LINKS_MANIFEST: &str = "assets:\n  links:\n    - { name: Docs, url: \"https://docs.example.com\" }\n  files:\n    - path: \"dist/*\"\n";

#[test]
fn old_forgejo_gets_links_in_the_notes_not_external_attachments() {
    let (repo, emu) = gitea_fixture(LINKS_MANIFEST);
    emu.set_forgejo(true);
    // Forgejo before 7.0 has no external attachments.
    emu.set_version("1.21.11-1");
    gitea_apply(&repo, &emu).success();
    let release = emu.release_by_tag(GITEA_REPO, "v1.1.0").expect("release");
    assert!(
        release["body"]
            .as_str()
            .unwrap()
            .contains("[Docs](https://docs.example.com)"),
        "{release}"
    );
    let atts = emu.attachments(GITEA_REPO, "v1.1.0");
    assert_eq!(atts.len(), 1, "{atts:?}");
    assert!(atts.iter().all(|a| a.external_url.is_none()));
    let requests = emu.requests();
    assert!(
        !requests.iter().any(|r| r.body.contains("external_url")),
        "no external attachment was asked for"
    );
    assert!(requests.iter().all(|r| r.status < 400 || r.status == 404));
    assert!(requests.iter().any(|r| r.path == "/api/forgejo/v1/version"));
    writes_nothing(&emu, || gitea_apply(&repo, &emu));
}

#[test]
fn current_forgejo_keeps_http_links_as_attachments_but_ftp_links_in_the_notes() {
    let (repo, emu) = gitea_fixture(LINKS_MANIFEST);
    emu.set_forgejo(true);
    gitea_apply(&repo, &emu).success();
    let atts = emu.attachments(GITEA_REPO, "v1.1.0");
    assert!(
        atts.iter()
            .any(|a| a.external_url.as_deref() == Some("https://docs.example.com")),
        "{atts:?}"
    );
    // Forgejo refuses an ftp:// external attachment: every link goes into the notes instead.
    let (repo, emu) = gitea_fixture(
        "assets:\n  links:\n    - { name: Mirror, url: \"ftp://ftp.example.com/app.tar.gz\" }\n  files:\n    - path: \"dist/*\"\n",
    );
    emu.set_forgejo(true);
    gitea_apply(&repo, &emu).success();
    let release = emu.release_by_tag(GITEA_REPO, "v1.1.0").expect("release");
    assert!(
        release["body"]
            .as_str()
            .unwrap()
            .contains("[Mirror](ftp://ftp.example.com/app.tar.gz)"),
        "{release}"
    );
    let atts = emu.attachments(GITEA_REPO, "v1.1.0");
    assert!(atts.iter().all(|a| a.external_url.is_none()), "{atts:?}");
    writes_nothing(&emu, || gitea_apply(&repo, &emu));
}

const TAG_MESSAGE_MANIFEST: &str = "release:\n  tag_message: \"Release {{ version }}\"\nassets:\n  files:\n    - path: \"dist/*\"\n";

#[test]
fn gitea_tag_message_makes_an_annotated_tag_where_create_ignores_it() {
    let (repo, emu) = gitea_fixture(TAG_MESSAGE_MANIFEST);
    // Gitea before 1.23 ignores `tag_message` on release create.
    emu.set_version("1.22.6");
    gitea_apply(&repo, &emu).success();
    assert_eq!(
        emu.tag_message(GITEA_REPO, "v1.1.0").as_deref(),
        Some("Release 1.1.0")
    );
    let requests = emu.requests();
    let tag_create = requests
        .iter()
        .position(|r| r.method == "POST" && r.path == "/api/v1/repos/team/app/tags")
        .expect("the tag is created first");
    let release_create = requests
        .iter()
        .position(|r| r.method == "POST" && r.path == "/api/v1/repos/team/app/releases")
        .expect("then the release");
    assert!(tag_create < release_create);
    assert!(
        requests[tag_create]
            .body
            .contains("\"message\":\"Release 1.1.0\"")
    );
    assert_eq!(
        emu.release_by_tag(GITEA_REPO, "v1.1.0").expect("release")["tag_name"],
        "v1.1.0"
    );
    writes_nothing(&emu, || gitea_apply(&repo, &emu));
}

#[test]
fn gitea_tag_message_goes_with_the_release_where_create_reads_it() {
    let (repo, emu) = gitea_fixture(TAG_MESSAGE_MANIFEST);
    gitea_apply(&repo, &emu).success();
    assert_eq!(
        emu.tag_message(GITEA_REPO, "v1.1.0").as_deref(),
        Some("Release 1.1.0")
    );
    assert!(
        !emu.requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/tags")),
        "Gitea 1.23 and later take the message with the release"
    );
    writes_nothing(&emu, || gitea_apply(&repo, &emu));
}

#[test]
fn gitea_first_run_looks_up_by_tag_and_reads_one_page_at_most() {
    let (repo, emu) = gitea_fixture(LINKS_MANIFEST);
    emu.add_old_releases(GITEA_REPO, 120);
    gitea_apply(&repo, &emu).success();
    let requests = emu.requests();
    let by_tag = count(&requests, |r| {
        r.method == "GET" && r.path == "/api/v1/repos/team/app/releases/tags/v1%2E1%2E0"
    });
    let lists: Vec<&Request> = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/api/v1/repos/team/app/releases")
        .collect();
    assert!(by_tag >= 1);
    assert!(
        lists.len() <= by_tag,
        "the list is read only after a get-by-tag miss: {:?}",
        paths(&requests)
    );
    assert!(
        lists
            .iter()
            .all(|r| r.query.split('&').any(|p| p == "page=1")),
        "only the first page: {:?}",
        lists.iter().map(|r| &r.query).collect::<Vec<_>>()
    );
    println!(
        "figure: Gitea, first release (1 file, 120 earlier releases): {} requests, {} of them writes",
        requests.len(),
        count(&requests, Request::is_write)
    );
    writes_nothing(&emu, || gitea_apply(&repo, &emu));
}

// ---------------------------------------------------------------------------------------------
// GitHub

const GH_REPO: &str = "octo/app";
const GH_TOKEN: &str = "ghs_realtoken0123456789";

fn github_fixture(files: &[(&str, &str)]) -> (TestRepo, GithubEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    let mut all = files.to_vec();
    all.push((
        "release.yml",
        "release:\n  name: \"App {{ version }}\"\nassets:\n  files:\n    - path: \"dist/*\"\n",
    ));
    repo.commit_files("feat: second", &all);
    repo.tag("v1.1.0");
    let emu = GithubEmulator::start();
    emu.add_repo(GH_REPO);
    emu.add_token(GH_TOKEN);
    (repo, emu)
}

fn github_apply(repo: &TestRepo, emu: &GithubEmulator) -> Run {
    Cli::new(repo.path(), &["apply"])
        .env("CI", "true")
        .github_job(
            &emu.api_url(),
            &emu.url(),
            GH_REPO,
            "v1.1.0",
            &repo.head().to_string(),
        )
        .env("GITHUB_TOKEN", GH_TOKEN)
        .run()
}

#[test]
fn github_first_run_looks_up_by_tag_and_reads_one_page_at_most() {
    let (repo, emu) = github_fixture(&[
        ("dist/app-linux.tar.gz", "linux"),
        ("dist/app-macos.tar.gz", "macos"),
    ]);
    emu.add_old_releases(GH_REPO, 250);
    github_apply(&repo, &emu).success();
    let requests = emu.requests();
    let by_tag = count(&requests, |r| {
        r.method == "GET" && r.path == "/repos/octo/app/releases/tags/v1%2E1%2E0"
    });
    let lists: Vec<&Request> = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/repos/octo/app/releases")
        .collect();
    assert!(by_tag >= 1);
    assert_eq!(
        lists.len(),
        by_tag,
        "one list read per lookup: {:?}",
        paths(&requests)
    );
    assert!(
        lists
            .iter()
            .all(|r| !r.query.split('&').any(|p| p.starts_with("page="))),
        "never past the first page: {:?}",
        lists.iter().map(|r| &r.query).collect::<Vec<_>>()
    );
    let release = emu.release_by_tag(GH_REPO, "v1.1.0").expect("release");
    assert_eq!(release["draft"], false);
    println!(
        "figure: GitHub, first release (2 files, 250 earlier releases): {} requests, {} of them writes",
        requests.len(),
        count(&requests, Request::is_write)
    );
    writes_nothing(&emu, || github_apply(&repo, &emu));
}

#[test]
fn github_renamed_asset_is_linked_by_its_stored_name() {
    let (repo, emu) = github_fixture(&[("dist/my app.tar.gz", "app")]);
    github_apply(&repo, &emu).success();
    let assets = emu.assets(GH_REPO, "v1.1.0");
    assert_eq!(
        assets.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["my.app.tar.gz"],
        "GitHub renamed the space"
    );
    let release = emu.release_by_tag(GH_REPO, "v1.1.0").expect("release");
    let body = release["body"].as_str().unwrap();
    let link = format!(
        "[my app.tar.gz]({}/{GH_REPO}/releases/download/v1.1.0/my.app.tar.gz)",
        emu.url()
    );
    assert!(body.contains(&link), "{body}");
    assert!(!body.contains("my%20app"), "{body}");
    writes_nothing(&emu, || github_apply(&repo, &emu));
}

#[test]
fn github_notes_over_the_body_limit_are_cut_to_fit() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit_files(
        "feat: second",
        &[
            ("dist/app.tar.gz", "app"),
            (
                "notes.md.j2",
                "{% for i in range(4000) %}- change number {{ i }}, with a line long enough to fill the notes quickly\n{% endfor %}",
            ),
            (
                "release.yml",
                "release:\n  notes:\n    template: notes.md.j2\nassets:\n  files:\n    - path: \"dist/*\"\n",
            ),
        ],
    );
    repo.tag("v1.1.0");
    let emu = GithubEmulator::start();
    emu.add_repo(GH_REPO);
    emu.add_token(GH_TOKEN);
    github_apply(&repo, &emu).success();
    let release = emu.release_by_tag(GH_REPO, "v1.1.0").expect("release");
    assert_eq!(release["draft"], false);
    let body = release["body"].as_str().unwrap();
    assert!(body.chars().count() <= 125_000, "{}", body.len());
    assert!(body.contains("- change number 0,"), "the start is kept");
    assert!(!body.contains("- change number 3999,"), "the end is cut");
    assert!(
        body.contains("entries left out** to fit GitHub's limit of 125000 characters"),
        "the cut is said"
    );
    // The file, and the full notes.
    assert_eq!(emu.assets(GH_REPO, "v1.1.0").len(), 2);
    writes_nothing(&emu, || github_apply(&repo, &emu));
    // The server refuses one character more, as GitHub does.
    let id = release["id"].as_u64().unwrap();
    let auth = format!("Bearer {GH_TOKEN}");
    let patch = |n: usize| {
        json_request(
            &format!("{}/repos/{GH_REPO}/releases/{id}", emu.api_url()),
            "PATCH",
            &[("Authorization", auth.as_str())],
            Some(serde_json::json!({ "body": "x".repeat(n) })),
        )
    };
    let refused = patch(125_001);
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .text()
            .contains("body is too long (maximum is 125000 characters)")
    );
    assert_eq!(patch(125_000).status, 200);
}

// ---------------------------------------------------------------------------------------------

fn count(requests: &[Request], f: impl Fn(&Request) -> bool) -> usize {
    requests.iter().filter(|r| f(r)).count()
}

fn paths(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect()
}
