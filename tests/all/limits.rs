//! Release notes longer than the forge's description limit: cut at an entry boundary, ended
//! by a line naming how many entries were left out and linking the full notes (attached as
//! `CHANGELOG-<version>.md`) and the compare view; a second run writes nothing. And the
//! convergence guard end to end: a field the server ignores is reported once, not rewritten.

use serde_json::json;

use crate::helpers::cli::{Cli, Run};
use crate::helpers::gitea::GiteaEmulator;
use crate::helpers::github::GithubEmulator;
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::http_client::json_request;
use crate::helpers::repo::TestRepo;
use crate::helpers::tgit::TgitEmulator;

const GH_REPO: &str = "octo/app";
const GH_TOKEN: &str = "ghs_testtoken0123456789";

/// A distinct commit description of exactly `len` characters.
fn description(i: usize, len: usize) -> String {
    let head = format!("change number {i:05} ");
    let fill = "abcdefghij".repeat(len / 10 + 1);
    format!("{head}{}", &fill[..len - head.len()])
}

/// A repository with a tag `v0.1.0`, then `count` feature commits whose descriptions are
/// `len` characters long, tagged `v1.0.0`. Returns the descriptions, newest first.
fn long_history(count: usize, len: usize, manifest: &str) -> (TestRepo, Vec<String>) {
    let repo = TestRepo::new();
    repo.commit_files("chore: start", &[("release.yml", manifest)]);
    repo.tag("v0.1.0");
    let mut all = Vec::new();
    for i in 0..count {
        let d = description(i, len);
        repo.commit(&format!("feat: {d}"));
        all.push(d);
    }
    repo.tag("v1.0.0");
    all.reverse();
    (repo, all)
}

fn github(repo: &TestRepo, emu: &GithubEmulator, args: &[&str]) -> Cli {
    Cli::new(repo.path(), args)
        .env("CI", "true")
        .github_job(
            &emu.api_url(),
            &emu.url(),
            GH_REPO,
            "v1.0.0",
            &repo.head().to_string(),
        )
        .env("GITHUB_TOKEN", GH_TOKEN)
}

/// The notes inside relsync's block of a description.
fn managed_notes(description: &str) -> &str {
    let start = description.find("<!-- relsync:begin -->\n").expect("begin") + 23;
    let end = description.find("\n<!-- relsync:state ").expect("state");
    &description[start..end]
}

/// The number in `**N entries left out**`.
fn left_out(notes: &str) -> usize {
    let at = notes
        .find(" entries left out**")
        .expect("the left-out line");
    let from = notes[..at].rfind("**").expect("bold") + 2;
    notes[from..at].parse().expect("a number")
}

/// Checks the cut notes against the full ones: whole lines only, the kept entries first, the
/// count of those left out, and the links of the last line.
#[track_caller]
fn check_cut(notes: &str, full: &str, all: &[String], asset_url: &str, compare_url: &str) {
    let (kept, last) = notes.rsplit_once("\n\n").expect("a last line");
    assert!(last.starts_with("**"), "{last}");
    // Never mid-line: every kept line is a whole line of the full notes, in order.
    assert!(
        full.starts_with(kept),
        "the kept part is a prefix of the full notes"
    );
    assert!(full[kept.len()..].starts_with('\n'), "cut at a line end");
    let shown = all.iter().filter(|d| kept.contains(d.as_str())).count();
    assert!(shown > 100, "{shown} entries kept");
    assert!(all[..shown].iter().all(|d| kept.contains(d.as_str())));
    // Left out: the other commits, and the two entries after them (the full-changelog line and
    // the contributors).
    assert_eq!(left_out(last), all.len() - shown + 2, "{last}");
    assert!(
        last.contains(&format!("[CHANGELOG-1.0.0.md]({asset_url})")),
        "{last}"
    );
    assert!(
        last.contains(&format!("[v0.1.0...v1.0.0]({compare_url})")),
        "{last}"
    );
    // The full notes hold every entry.
    assert!(all.iter().all(|d| full.contains(d.as_str())));
}

#[test]
fn github_notes_over_125000_characters_are_cut_and_attached_in_full() {
    let (repo, all) = long_history(1000, 190, "release:\n  name: \"App {{ version }}\"\n");
    let emu = GithubEmulator::start();
    emu.add_repo(GH_REPO);
    emu.add_token(GH_TOKEN);

    // The plan says so before anything is written.
    let plan = github(&repo, &emu, &["plan"]).run().success();
    assert!(plan.stdout.contains("notes    cut to "), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("to fit GitHub's limit of 125000 characters; the full notes ("),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("upload  CHANGELOG-1.0.0.md"),
        "{}",
        plan.stdout
    );
    let json = github(&repo, &emu, &["plan", "--output", "json"])
        .run()
        .success()
        .json();
    let cut = &json["notes_cut"];
    assert_eq!(cut["full_notes_asset"], "CHANGELOG-1.0.0.md", "{cut}");
    assert_eq!(cut["limit"]["max"], 125_000);
    assert_eq!(
        cut["kept"].as_u64().unwrap() + cut["left_out"].as_u64().unwrap(),
        all.len() as u64 + 2
    );
    assert!(
        json["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "CHANGELOG-1.0.0.md"),
        "{json}"
    );
    assert_eq!(emu.write_count(), 0);

    github(&repo, &emu, &["apply"]).run().success();
    let release = emu.release_by_tag(GH_REPO, "v1.0.0").expect("release");
    assert_eq!(release["draft"], false);
    let body = release["body"].as_str().unwrap();
    assert!(body.chars().count() <= 125_000, "{}", body.chars().count());
    assert!(body.chars().count() > 100_000, "{}", body.chars().count());
    let asset = emu
        .assets(GH_REPO, "v1.0.0")
        .into_iter()
        .find(|a| a.name == "CHANGELOG-1.0.0.md")
        .expect("the full notes are attached");
    let full = String::from_utf8(asset.content.clone()).unwrap();
    assert!(full.chars().count() > 200_000, "{}", full.chars().count());
    let web = format!("{}/{GH_REPO}", emu.url());
    check_cut(
        managed_notes(body),
        &full,
        &all,
        &format!("{web}/releases/download/v1.0.0/CHANGELOG-1.0.0.md"),
        &format!("{web}/compare/v0.1.0...v1.0.0"),
    );
    // The state names the attached file, so `prune: managed` knows it.
    assert!(
        body.contains("\"CHANGELOG-1.0.0.md\":{\"sha256\":"),
        "state"
    );

    emu.reset_requests();
    github(&repo, &emu, &["apply"]).run().success();
    assert_eq!(emu.write_count(), 0, "{:?}", emu.requests());
}

#[test]
fn github_refuses_a_body_over_its_limit_as_github_does() {
    // Without relsync's cut the emulator gives GitHub's 422: the rule is modelled.
    let emu = GithubEmulator::start();
    emu.add_repo(GH_REPO);
    emu.add_token(GH_TOKEN);
    emu.set_body_limit(Some(10));
    let (repo, _) = long_history(3, 40, "release:\n  notes:\n    attach_full: false\n");
    let run = github(&repo, &emu, &["apply"]).run();
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("body is too long (maximum is 10 characters)"),
        "{}",
        run.stderr
    );
}

const GL_PROJECT: u64 = 42;
const GL_PATH: &str = "group/app";
const GL_TOKEN: &str = "glpat-test-token-0123456789";

fn gitlab(repo: &TestRepo, emu: &GitlabEmulator, args: &[&str]) -> Cli {
    Cli::new(repo.path(), args)
        .gitlab_job(
            &emu.url(),
            GL_PROJECT,
            GL_PATH,
            "v1.0.0",
            &repo.head().to_string(),
        )
        .env("GITLAB_TOKEN", GL_TOKEN)
}

#[test]
fn gitlab_notes_over_1000000_characters_are_cut_and_the_full_notes_linked() {
    // 6000 entries of 204 characters: over GitLab's 1,000,000 and over 1 MiB.
    let (repo, all) = long_history(6000, 192, "assets:\n  package: { name: app }\n");
    let emu = GitlabEmulator::start();
    emu.add_project(GL_PROJECT, GL_PATH);
    emu.add_private_token(GL_TOKEN);

    let run: Run = gitlab(&repo, &emu, &["apply"]).run().success();
    let release = emu.release(GL_PROJECT, "v1.0.0").expect("release");
    let description = release["description"].as_str().unwrap();
    assert!(description.chars().count() <= 1_000_000);
    let files = emu.package_files(GL_PROJECT);
    let file = files
        .iter()
        .find(|f| f.file_name == "CHANGELOG-1.0.0.md")
        .expect("the full notes are uploaded");
    let full = String::from_utf8(file.content.clone()).unwrap();
    assert!(full.len() > 1024 * 1024, "{}", full.len());
    let link = emu
        .links(GL_PROJECT, "v1.0.0")
        .into_iter()
        .find(|l| l["name"] == "CHANGELOG-1.0.0.md")
        .unwrap_or_else(|| panic!("linked from the release: {}", run.stdout));
    let web = format!("{}/{GL_PATH}", emu.url());
    check_cut(
        managed_notes(description),
        &full,
        &all,
        link["url"].as_str().unwrap(),
        &format!("{web}/-/compare/v0.1.0...v1.0.0"),
    );

    emu.reset_requests();
    gitlab(&repo, &emu, &["apply"]).run().success();
    assert_eq!(emu.write_count(), 0, "{:?}", emu.requests());
}

const TG_PROJECT: u64 = 85436;
const TG_PATH: &str = "tencent/code";
const TG_TOKEN: &str = "tgit-private-token-123456";

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
            TG_PATH,
            "--tag",
            "v1.1.0",
        ],
    )
    .env("TGIT_TOKEN", TG_TOKEN)
}

#[test]
fn tgit_a_title_ignored_on_put_is_reported_once_and_not_rewritten() {
    let repo = TestRepo::new();
    repo.commit_files(
        "feat: 初始版本",
        &[("release.yml", "release:\n  name: \"Code {{ version }}\"\n")],
    );
    repo.tag("v1.0.0");
    repo.commit("fix: 修复空列表");
    repo.tag("v1.1.0");
    let emu = TgitEmulator::start();
    emu.add_project(TG_PROJECT, TG_PATH);
    emu.add_private_token(TG_TOKEN);
    // A tag pipeline: the tag is on the server, so the release is made from it with a PUT,
    // which this server answers 200 without taking `title`.
    emu.add_tag(TG_PROJECT, "v1.1.0", &repo.head().to_string());
    emu.set_title_on_put(false);

    let first = tgit(&repo, &emu, "apply").run().success();
    let warning = "Tencent Git ignored `release.name`";
    assert_eq!(first.stderr.matches(warning).count(), 1, "{}", first.stderr);
    assert!(first.stderr.contains("\"Code 1.1.0\""), "{}", first.stderr);
    let release = emu.release(TG_PROJECT, "v1.1.0").expect("release");
    assert_eq!(
        release["title"], "v1.1.0",
        "the server kept the tag as title"
    );
    let description = release["description"].as_str().unwrap();
    assert!(
        description.contains("\"ignored\":{\"release.name\":\"Code 1.1.0\"}"),
        "{description}"
    );
    // Sent with the release made from the tag, then once more as an update; then the state
    // recording it is written.
    let writes: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(crate::helpers::emu_common::Request::is_write)
        .collect();
    let titled = writes
        .iter()
        .filter(|r| r.body.contains("\"title\":\"Code 1.1.0\""))
        .count();
    assert_eq!(titled, 2, "{writes:?}");
    assert_eq!(writes.len(), 3, "{writes:?}");

    // The next run writes nothing and says nothing about it.
    emu.reset_requests();
    let second = tgit(&repo, &emu, "apply").run().success();
    assert_eq!(emu.write_count(), 0, "{:?}", emu.requests());
    assert!(!second.stderr.contains(warning), "{}", second.stderr);
    // `plan` says why the title differs, without a warning.
    let plan = tgit(&repo, &emu, "plan").run().success();
    assert!(
        plan.stdout.contains(
            "note: `release.name` is left as the forge holds it: the forge ignored \"Code 1.1.0\" when relsync wrote it"
        ),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("warning"), "{}", plan.stdout);
    assert_eq!(emu.write_count(), 0);
}

const GT_REPO: &str = "team/app";
const GT_TOKEN: &str = "gitea-token-abcdef";

fn gitea(repo: &TestRepo, emu: &GiteaEmulator) -> Cli {
    Cli::new(repo.path(), &["apply"])
        .gitea_job(&emu.url(), GT_REPO, "v1.0.0", &repo.head().to_string())
        .env("GITEA_TOKEN", GT_TOKEN)
}

#[test]
fn gitea_notes_over_65535_bytes_are_cut_to_what_mysql_stores() {
    // 400 entries of 3-byte characters: about 100,000 characters and 290,000 bytes.
    let repo = TestRepo::new();
    repo.commit_files(
        "chore: start",
        &[("release.yml", "release:\n  name: App\n")],
    );
    repo.tag("v0.1.0");
    let all: Vec<String> = (0..400)
        .map(|i| format!("变更 {i:03} {}", "发布说明".repeat(60)))
        .collect();
    for d in &all {
        repo.commit(&format!("feat: {d}"));
    }
    repo.tag("v1.0.0");
    let all: Vec<String> = all.into_iter().rev().collect();
    let emu = GiteaEmulator::start();
    emu.add_repo(GT_REPO);
    emu.add_token(GT_TOKEN);

    gitea(&repo, &emu).run().success();
    let release = emu.release_by_tag(GT_REPO, "v1.0.0").expect("release");
    let body = release["body"].as_str().unwrap();
    assert!(body.len() <= 65_535, "{} bytes", body.len());
    let full = emu
        .attachments(GT_REPO, "v1.0.0")
        .into_iter()
        .find(|a| a.name == "CHANGELOG-1.0.0.md")
        .expect("the full notes are attached")
        .content;
    let full = String::from_utf8(full).unwrap();
    let web = format!("{}/{GT_REPO}", emu.url());
    let notes = managed_notes(body);
    assert!(
        notes.contains("to fit Gitea's limit of 65535 bytes"),
        "{notes}"
    );
    let (kept, _) = notes.rsplit_once("\n\n").unwrap();
    assert!(full.starts_with(kept));
    let shown = all.iter().filter(|d| kept.contains(d.as_str())).count();
    assert!(shown > 10, "{shown}");
    assert_eq!(left_out(notes), all.len() - shown + 2);
    assert!(notes.contains(&format!("({web}/compare/v0.1.0...v1.0.0)")));

    emu.reset_requests();
    gitea(&repo, &emu).run().success();
    assert_eq!(emu.write_count(), 0, "{:?}", emu.requests());
}

#[test]
fn text_written_by_hand_past_the_limit_stops_the_run_before_any_write() {
    let (repo, _) = long_history(3, 40, "release:\n  name: App\n");
    let emu = GithubEmulator::start();
    emu.add_repo(GH_REPO);
    emu.add_token(GH_TOKEN);
    github(&repo, &emu, &["apply"]).run().success();
    let body = emu.release_by_tag(GH_REPO, "v1.0.0").unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.set_release_body(
        GH_REPO,
        "v1.0.0",
        &format!("{}\n\n{body}", "x".repeat(130_000)),
    );
    emu.reset_requests();
    let run = github(&repo, &emu, &["apply"]).run();
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("over GitHub's limit of 125000 characters")
            && run
                .stderr
                .contains("the text written by hand outside its block"),
        "{}",
        run.stderr
    );
    assert_eq!(emu.write_count(), 0, "{:?}", emu.requests());
}

#[test]
fn gitea_fails_a_note_over_its_column_as_gitea_on_mysql_does() {
    // The emulator's rule, by direct requests: 65,535 bytes are stored, one more is a 500.
    let emu = GiteaEmulator::start();
    emu.add_repo(GT_REPO);
    emu.add_token(GT_TOKEN);
    let url = format!("{}/repos/{GT_REPO}/releases", emu.api_url());
    let auth = format!("token {GT_TOKEN}");
    let send = |url: &str, method: &str, body: serde_json::Value| {
        json_request(url, method, &[("Authorization", auth.as_str())], Some(body)).status
    };
    let at_limit = "é".repeat(65_535 / 2) + "x";
    let over = format!("{at_limit}y");
    let create = |tag: &str, body: &str| {
        send(
            &url,
            "POST",
            json!({ "tag_name": tag, "target_commitish": "main", "body": body }),
        )
    };
    assert_eq!(create("v1", &over), 500);
    assert!(emu.release_by_tag(GT_REPO, "v1").is_none());
    assert_eq!(create("v1", &at_limit), 201);
    let id = emu.release_by_tag(GT_REPO, "v1").unwrap()["id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        send(&format!("{url}/{id}"), "PATCH", json!({ "body": over })),
        500
    );
    // A database without the limit (PostgreSQL, SQLite) takes it.
    emu.set_note_max_bytes(None);
    assert_eq!(
        send(&format!("{url}/{id}"), "PATCH", json!({ "body": over })),
        200
    );
}

#[test]
fn gitlab_before_15_9_dropping_direct_asset_path_is_reported_once_and_not_rewritten() {
    let manifest = "assets:\n  links:\n    - { name: Docs, url: \"https://docs.example.com\", direct_asset_path: /docs }\n";
    let repo = TestRepo::new();
    repo.commit_files("feat: first", &[("release.yml", manifest)]);
    repo.tag("v0.1.0");
    repo.commit("fix: second");
    repo.tag("v1.0.0");
    let emu = GitlabEmulator::start();
    emu.add_project(GL_PROJECT, GL_PATH);
    emu.add_private_token(GL_TOKEN);
    emu.set_direct_asset_path_param(false);

    let first = gitlab(&repo, &emu, &["apply"]).run().success();
    let warning = "GitLab ignored `link.Docs.direct_asset_path`";
    assert_eq!(first.stderr.matches(warning).count(), 1, "{}", first.stderr);
    let links = emu.links(GL_PROJECT, "v1.0.0");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["url"], "https://docs.example.com");
    let description = emu.release(GL_PROJECT, "v1.0.0").unwrap()["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        description.contains("\"ignored\":{\"link.Docs.direct_asset_path\":\"/docs\"}"),
        "{description}"
    );
    // The path went out with the release and once more as a link update.
    let puts = emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/assets/links/"))
        .count();
    assert_eq!(puts, 1);

    emu.reset_requests();
    let second = gitlab(&repo, &emu, &["apply"]).run().success();
    assert_eq!(emu.write_count(), 0, "{:?}", emu.requests());
    assert!(!second.stderr.contains(warning), "{}", second.stderr);
}
