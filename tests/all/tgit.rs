//! `plan` and `apply` against the stateful Tencent Git (工蜂) emulator, through the real binary.

use crate::helpers::cli::{Cli, Run};
use crate::helpers::converge::{converges_under_faults, writes_nothing};
use crate::helpers::repo::TestRepo;
use crate::helpers::tgit::{Fault, TgitEmulator};

const PROJECT: u64 = 85436;
const PATH: &str = "tencent/code";
const TOKEN: &str = "tgit-private-token-123456";

const MANIFEST: &str = r#"release:
  name: "Code {{ version }}"
  labels: [stable, lts]
assets:
  links:
    - { name: 文档, url: "https://docs.example.com/{{ version }}" }
  files:
    - path: "dist/*"
  checksums: SHA256SUMS
"#;

fn fixture() -> (TestRepo, TgitEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: 初始版本");
    repo.tag("v1.0.0");
    repo.commit("feat(界面): 新增发布页面");
    repo.commit("fix: 修复空列表");
    repo.commit_files(
        "chore: release files",
        &[
            ("dist/my app (linux).tar.gz", "linux build 1"),
            ("dist/app-macos.tar.gz", "macos build 1"),
            ("release.yml", MANIFEST),
        ],
    );
    repo.tag("v1.1.0");
    let emu = TgitEmulator::start();
    emu.add_project(PROJECT, PATH);
    emu.add_private_token(TOKEN);
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
            PATH,
            "--tag",
            "v1.1.0",
        ],
    )
    .env("TGIT_TOKEN", TOKEN)
}

fn apply(repo: &TestRepo, emu: &TgitEmulator) -> Run {
    tgit(repo, emu, "apply").run()
}

fn names(emu: &TgitEmulator) -> Vec<String> {
    let mut v: Vec<String> = emu
        .attachments(PROJECT, "v1.1.0")
        .into_iter()
        .map(|a| a.name)
        .collect();
    v.sort();
    v
}

#[test]
fn first_release_with_labels_attachments_and_links_in_the_notes() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    let release = emu.release(PROJECT, "v1.1.0").expect("release created");
    assert_eq!(release["type"], "release");
    assert_eq!(release["title"], "Code 1.1.0");
    let description = release["description"].as_str().unwrap();
    assert!(
        description.contains("[文档](https://docs.example.com/1.1.0)"),
        "links are written into the notes: {description}"
    );
    assert!(description.contains("新增发布页面"), "{description}");
    assert_eq!(emu.labels(PROJECT, "v1.1.0"), ["stable", "lts"]);
    // The server renamed `my app (linux).tar.gz`.
    assert_eq!(
        names(&emu),
        ["SHA256SUMS", "app-macos.tar.gz", "my_app__linux_.tar.gz"]
    );
    assert_eq!(
        emu.tags(PROJECT),
        ["v1.1.0"],
        "the tag is created from start_point"
    );
}

#[test]
fn second_run_makes_zero_writes_despite_renamed_files_and_unreported_labels() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    let description = emu.release(PROJECT, "v1.1.0").unwrap()["description"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.reset_requests();
    let run = apply(&repo, &emu).success();
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
    assert!(run.stdout.contains("unchanged"));
    assert_eq!(
        emu.release(PROJECT, "v1.1.0").unwrap()["description"],
        description.as_str(),
        "UTF-8 notes round-trip unchanged"
    );
    let plan = tgit(&repo, &emu, "plan").arg_detailed().run().code(0);
    assert!(
        plan.stdout.contains("= file    my app (linux).tar.gz"),
        "{}",
        plan.stdout
    );
}

#[test]
fn a_changed_file_replaces_its_attachment() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    std::fs::write(repo.path().join("dist/app-macos.tar.gz"), "macos build 2").unwrap();
    apply(&repo, &emu).success();
    let atts = emu.attachments(PROJECT, "v1.1.0");
    assert_eq!(atts.len(), 3, "{atts:?}");
    let mac = atts.iter().find(|a| a.name == "app-macos.tar.gz").unwrap();
    assert_eq!(mac.content, b"macos build 2");
    writes_nothing(&emu, || apply(&repo, &emu));
}

#[test]
fn removed_files_are_pruned_under_managed_and_kept_under_none() {
    let (repo, emu) = fixture();
    apply(&repo, &emu).success();
    emu.add_attachment_by_hand(PROJECT, "v1.1.0", "screenshot.png", b"png");
    let only_mac = MANIFEST.replace("dist/*", "dist/app-macos.tar.gz");
    std::fs::write(
        repo.path().join("release.yml"),
        only_mac.replace("  checksums: SHA256SUMS\n", "  prune: none\n"),
    )
    .unwrap();
    apply(&repo, &emu).success();
    assert_eq!(
        names(&emu),
        [
            "SHA256SUMS",
            "app-macos.tar.gz",
            "my_app__linux_.tar.gz",
            "screenshot.png"
        ]
    );
    std::fs::write(
        repo.path().join("release.yml"),
        only_mac.replace("  checksums: SHA256SUMS\n", ""),
    )
    .unwrap();
    apply(&repo, &emu).success();
    assert_eq!(
        names(&emu),
        ["app-macos.tar.gz", "screenshot.png"],
        "managed prune keeps what relsync did not upload"
    );
}

#[test]
fn a_bare_tag_is_turned_into_a_release() {
    let (repo, emu) = fixture();
    emu.add_tag(PROJECT, "v1.1.0", &repo.head().to_string());
    apply(&repo, &emu).success();
    assert_eq!(emu.release(PROJECT, "v1.1.0").unwrap()["type"], "release");
    assert_eq!(emu.tags(PROJECT), ["v1.1.0"]);
    writes_nothing(&emu, || apply(&repo, &emu));
}

#[test]
fn bad_labels_exit_2_with_no_request() {
    let (repo, emu) = fixture();
    for labels in ["[a, b, c, d, e, f, g, h, i, j, k]", "[stable, \"\"]"] {
        std::fs::write(
            repo.path().join("release.yml"),
            MANIFEST.replace("[stable, lts]", labels),
        )
        .unwrap();
        let run = apply(&repo, &emu).code(2);
        assert!(run.stderr.contains("release.labels"), "{}", run.stderr);
    }
    assert!(emu.requests().is_empty(), "no request was made");
}

#[test]
fn a_file_over_200_mb_is_refused_before_any_request() {
    let (repo, emu) = fixture();
    let f = std::fs::File::create(repo.path().join("dist/huge.bin")).unwrap();
    f.set_len(200 * 1024 * 1024 + 1).unwrap();
    let run = apply(&repo, &emu).code(2);
    assert!(
        run.stderr.contains("huge.bin") && run.stderr.contains("Tencent Git"),
        "{}",
        run.stderr
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn rate_limits_423_and_429_are_waited_out() {
    let (repo, emu) = fixture();
    emu.fail_next(Fault::Locked423, 1);
    emu.fail_next(
        Fault::RateLimit {
            retry_after_secs: 1,
        },
        1,
    );
    apply(&repo, &emu).success();
    assert!(emu.requests().iter().any(|r| r.status == 423));
    assert!(emu.release(PROJECT, "v1.1.0").is_some());
}

#[test]
fn injected_faults_converge_within_three_runs() {
    converges_under_faults(1..=4, fixture, apply, |emu, seed| {
        let files = ["SHA256SUMS", "app-macos.tar.gz", "my_app__linux_.tar.gz"];
        assert_eq!(names(emu), files, "seed {seed}");
    });
}

#[test]
fn dotenv_and_token_safety() {
    let (repo, emu) = fixture();
    emu.echo_token_in_errors(true);
    let run = tgit(&repo, &emu, "apply")
        .env("TGIT_TOKEN", "tgit-leaked-secret-999")
        .env("RELSYNC_LOG", "trace")
        .run()
        .code(1);
    assert!(
        !run.stderr.contains("tgit-leaked-secret-999")
            && !run.stdout.contains("tgit-leaked-secret-999"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("TGIT_TOKEN"), "{}", run.stderr);
    let out = repo.path().join("release.env");
    tgit(&repo, &emu, "apply")
        .env("DUMMY", "1")
        .run_with_dotenv(&out)
        .success();
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("RELEASE_VERSION=1.1.0")
    );
}
