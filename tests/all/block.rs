//! The managed block through the real binary: text that looks like relsync's markers, in
//! commits, templates or hand edits, never makes a run fail, grow the description or delete
//! what relsync did not create.

use relsync::block::{BEGIN, END, State};

use crate::helpers::cli::{Cli, Run};
use crate::helpers::converge::writes_nothing;
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::repo::TestRepo;
use crate::helpers::tgit::TgitEmulator;

const TAG: &str = "v1.1.0";
const FORGED_LINKS: &str = r#"<!-- relsync:state {"links":["hand"]} -->"#;
const FORGED_FILES: &str = r#"<!-- relsync:state {"files":{"screenshot.png":{"sha256":"00"}}} -->"#;

// ---------------------------------------------------------------------------------------------
// GitLab

const GL_PROJECT: u64 = 42;
const GL_PATH: &str = "group/app";
const GL_TOKEN: &str = "glpat-block-token-0123456789";
const GL_MANIFEST: &str = r#"release:
  name: "App {{ version }}"
  milestones: []
assets:
  links:
    - { name: Docs, url: "https://docs.example.com/{{ version }}", type: runbook }
  files:
    - path: "dist/*.tar.gz"
  package: { name: app }
"#;

/// A repository whose release has `message` among its commits, and an empty GitLab.
fn gitlab_fixture(message: &str) -> (TestRepo, GitlabEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.tag("v1.0.0");
    repo.commit(message);
    repo.commit_files(
        "chore: release files",
        &[
            ("dist/app-linux.tar.gz", "linux build 1"),
            ("release.yml", GL_MANIFEST),
        ],
    );
    repo.tag(TAG);
    let emu = GitlabEmulator::start();
    emu.add_project(GL_PROJECT, GL_PATH);
    emu.add_private_token(GL_TOKEN);
    (repo, emu)
}

fn gitlab(repo: &TestRepo, emu: &GitlabEmulator, cmd: &str) -> Run {
    Cli::new(
        repo.path(),
        &[
            cmd,
            "--forge",
            "gitlab",
            "--server",
            &emu.url(),
            "--project",
            GL_PATH,
            "--tag",
            TAG,
        ],
    )
    .env("GITLAB_TOKEN", GL_TOKEN)
    .run()
}

fn gl_description(emu: &GitlabEmulator) -> String {
    emu.release(GL_PROJECT, TAG).expect("release")["description"]
        .as_str()
        .expect("description")
        .to_owned()
}

fn gl_links(emu: &GitlabEmulator) -> Vec<String> {
    let mut v: Vec<String> = emu
        .links(GL_PROJECT, TAG)
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

/// One block, with a state that relsync can read.
#[track_caller]
fn assert_one_trusted_block(description: &str) {
    assert_eq!(description.matches(BEGIN).count(), 1, "{description}");
    assert_eq!(description.matches(END).count(), 1, "{description}");
    let parsed = State::parse(description);
    assert!(parsed.trusted, "{parsed:?}\n{description}");
}

#[test]
fn gitlab_a_commit_subject_with_the_end_marker_converges() {
    let (repo, emu) = gitlab_fixture("fix: stop at <!-- relsync:end --> in the notes");
    gitlab(&repo, &emu, "apply").success();
    let description = gl_description(&emu);
    assert!(
        description.contains("stop at <!-- relsync\\:end --> in the notes"),
        "the subject is in the notes, made inert: {description}"
    );
    assert_one_trusted_block(&description);
    writes_nothing(&emu, || gitlab(&repo, &emu, "apply"));
    assert_eq!(gl_description(&emu), description, "no growth");
}

#[test]
fn gitlab_a_forged_state_in_a_commit_footer_does_not_delete_a_hand_added_link() {
    let (repo, emu) = gitlab_fixture(&format!(
        "feat: new state format\n\nBREAKING CHANGE: {FORGED_LINKS}"
    ));
    gitlab(&repo, &emu, "apply").success();
    let description = gl_description(&emu);
    assert!(
        description.contains(r#"<!-- relsync\:state {"links":["hand"]} -->"#),
        "the footer is in the notes, made inert: {description}"
    );
    emu.add_link_by_hand(GL_PROJECT, TAG, "hand", "https://img.example.com/shot.png");
    writes_nothing(&emu, || gitlab(&repo, &emu, "apply"));
    assert_eq!(gl_links(&emu), ["Docs", "app-linux.tar.gz", "hand"]);
}

#[test]
fn gitlab_a_corrupted_state_makes_prune_managed_delete_nothing_and_say_why() {
    let (repo, emu) = gitlab_fixture("feat: something");
    gitlab(&repo, &emu, "apply").success();
    emu.add_link_by_hand(
        GL_PROJECT,
        TAG,
        "Screenshot",
        "https://img.example.com/s.png",
    );
    // Docs is no longer declared: `prune: managed` would delete it, were the state readable.
    std::fs::write(
        repo.path().join("release.yml"),
        GL_MANIFEST.replace(
            "    - { name: Docs, url: \"https://docs.example.com/{{ version }}\", type: runbook }\n",
            "    - { name: Changelog, url: \"https://example.com/changes\" }\n",
        ),
    )
    .unwrap();
    let corrupted = gl_description(&emu).replace(r#"{"links""#, "{links");
    emu.set_release_description(GL_PROJECT, TAG, &corrupted);
    assert!(State::parse(&corrupted).problem.is_some());

    let plan = gitlab(&repo, &emu, "plan").success();
    assert!(
        plan.stdout.contains("warning: cannot read relsync's state")
            && plan.stdout.contains("not valid JSON")
            && plan.stdout.contains("`prune: managed` deletes nothing"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("- link"), "{}", plan.stdout);
    let json = Cli::new(
        repo.path(),
        &[
            "plan",
            "--forge",
            "gitlab",
            "--server",
            &emu.url(),
            "--project",
            GL_PATH,
            "--tag",
            TAG,
            "--output",
            "json",
        ],
    )
    .env("GITLAB_TOKEN", GL_TOKEN)
    .run()
    .success()
    .json();
    assert!(
        json["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("deletes nothing")),
        "{json}"
    );

    let run = gitlab(&repo, &emu, "apply").success();
    assert!(
        run.stderr.contains("cannot read relsync's state")
            && run.stderr.contains("deletes nothing"),
        "{}",
        run.stderr
    );
    assert!(
        !emu.requests().iter().any(|r| r.method == "DELETE"),
        "nothing was deleted"
    );
    assert_eq!(
        gl_links(&emu),
        ["Changelog", "Docs", "Screenshot", "app-linux.tar.gz"]
    );
    assert_one_trusted_block(&gl_description(&emu));
    let again = writes_nothing(&emu, || gitlab(&repo, &emu, "apply"));
    assert!(!again.stderr.contains("cannot read"), "{}", again.stderr);
}

#[test]
fn gitlab_hand_edits_of_the_block_are_repaired_once_and_keep_the_hand_text() {
    let (repo, emu) = gitlab_fixture("feat: something");
    gitlab(&repo, &emu, "apply").success();
    let block = gl_description(&emu);
    let edits: Vec<(&str, String)> = vec![
        (
            "end marker in the intro",
            format!("Intro {END}\n\n{block}\n\nFooter"),
        ),
        (
            "deleted begin",
            format!("Intro\n\n{}\n\nFooter", block.replacen(BEGIN, "", 1)),
        ),
        (
            "deleted end",
            format!("Intro\n\n{}\n\nFooter", block.replacen(END, "", 1)),
        ),
        (
            "swapped markers",
            format!(
                "Intro\n\n{}\n\nFooter",
                block
                    .replace(BEGIN, "@@")
                    .replace(END, BEGIN)
                    .replace("@@", END)
            ),
        ),
        (
            "pasted twice",
            format!("Intro\n\n{block}\n\nMiddle\n\n{block}\n\nFooter"),
        ),
        (
            "state line in the intro",
            format!("Intro\n{FORGED_LINKS}\n\n{block}\n\nFooter"),
        ),
    ];
    for (what, edited) in edits {
        emu.set_release_description(GL_PROJECT, TAG, &edited);
        gitlab(&repo, &emu, "apply").success();
        let repaired = gl_description(&emu);
        assert!(
            repaired.starts_with("Intro") && repaired.trim_end().ends_with("Footer"),
            "{what}: hand text lost\n{repaired}"
        );
        assert_one_trusted_block(&repaired);
        let run = writes_nothing(&emu, || gitlab(&repo, &emu, "apply"));
        assert!(run.stdout.contains("unchanged"), "{what}: {}", run.stdout);
        assert_eq!(gl_description(&emu), repaired, "{what}: grew");
        assert_eq!(gl_links(&emu), ["Docs", "app-linux.tar.gz"], "{what}");
    }
}

#[test]
fn gitlab_a_description_stored_with_crlf_is_not_rewritten() {
    let (repo, emu) = gitlab_fixture("feat: something");
    gitlab(&repo, &emu, "apply").success();
    let crlf = format!("Intro\n\n{}\n\nFooter", gl_description(&emu)).replace('\n', "\r\n");
    emu.set_release_description(GL_PROJECT, TAG, &crlf);
    writes_nothing(&emu, || gitlab(&repo, &emu, "apply"));
    // A change is written back with CRLF only, the hand text kept.
    std::fs::write(repo.path().join("notes.md.j2"), "Custom notes\n").unwrap();
    std::fs::write(
        repo.path().join("release.yml"),
        GL_MANIFEST.replace(
            "  milestones: []\n",
            "  milestones: []\n  notes:\n    template: notes.md.j2\n",
        ),
    )
    .unwrap();
    gitlab(&repo, &emu, "apply").success();
    let description = gl_description(&emu);
    assert!(
        description.contains("\r\nCustom notes\r\n"),
        "{description:?}"
    );
    assert!(
        description.starts_with("Intro\r\n\r\n") && description.ends_with("\r\n\r\nFooter"),
        "{description:?}"
    );
    assert!(
        !description.replace("\r\n", "").contains('\n'),
        "line endings are not mixed: {description:?}"
    );
    writes_nothing(&emu, || gitlab(&repo, &emu, "apply"));
}

// ---------------------------------------------------------------------------------------------
// Tencent Git

const TG_PROJECT: u64 = 85436;
const TG_PATH: &str = "tencent/code";
const TG_TOKEN: &str = "tgit-block-token-123456";
const TG_MANIFEST: &str = r#"release:
  name: "Code {{ version }}"
  notes:
    template: notes.md.j2
assets:
  files:
    - path: "dist/*"
"#;
/// A custom template that shows every commit's footers.
const TG_TEMPLATE: &str = "{% for c in commits %}- {{ c.subject }}\n{% for f in c.footers %}  {{ f.token }}: {{ f.value }}\n{% endfor %}{% endfor %}";

fn tgit_fixture(message: &str) -> (TestRepo, TgitEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: 初始版本");
    repo.tag("v1.0.0");
    repo.commit(message);
    repo.commit_files(
        "chore: release files",
        &[
            ("dist/app-linux.tar.gz", "linux build 1"),
            ("dist/app-macos.tar.gz", "macos build 1"),
            ("notes.md.j2", TG_TEMPLATE),
            ("release.yml", TG_MANIFEST),
        ],
    );
    repo.tag(TAG);
    let emu = TgitEmulator::start();
    emu.add_project(TG_PROJECT, TG_PATH);
    emu.add_private_token(TG_TOKEN);
    (repo, emu)
}

fn tgit(repo: &TestRepo, emu: &TgitEmulator) -> Run {
    Cli::new(
        repo.path(),
        &[
            "apply",
            "--forge",
            "tgit",
            "--server",
            &emu.url(),
            "--project",
            TG_PATH,
            "--tag",
            TAG,
        ],
    )
    .env("TGIT_TOKEN", TG_TOKEN)
    .run()
}

fn tg_description(emu: &TgitEmulator) -> String {
    emu.release(TG_PROJECT, TAG).expect("release")["description"]
        .as_str()
        .expect("description")
        .to_owned()
}

fn tg_names(emu: &TgitEmulator) -> Vec<String> {
    let mut v: Vec<String> = emu
        .attachments(TG_PROJECT, TAG)
        .into_iter()
        .map(|a| a.name)
        .collect();
    v.sort();
    v
}

#[test]
fn tgit_a_commit_subject_with_the_end_marker_converges() {
    let (repo, emu) = tgit_fixture("fix: 修复 <!-- relsync:end --> 标记");
    tgit(&repo, &emu).success();
    let description = tg_description(&emu);
    assert!(
        description.contains("修复 <!-- relsync\\:end --> 标记"),
        "{description}"
    );
    assert_one_trusted_block(&description);
    writes_nothing(&emu, || tgit(&repo, &emu));
}

#[test]
fn tgit_a_forged_state_in_a_footer_does_not_delete_a_hand_added_attachment() {
    let (repo, emu) = tgit_fixture(&format!("feat: 新功能\n\nRefs: {FORGED_FILES}"));
    tgit(&repo, &emu).success();
    let description = tg_description(&emu);
    assert!(
        description.contains(&FORGED_FILES.replace("relsync:", "relsync\\:")),
        "the template shows the footer, made inert: {description}"
    );
    emu.add_attachment_by_hand(TG_PROJECT, TAG, "screenshot.png", b"png");
    // No attachment is deleted or uploaded again: the state read is relsync's own.
    writes_nothing(&emu, || tgit(&repo, &emu));
    assert_eq!(
        tg_names(&emu),
        ["app-linux.tar.gz", "app-macos.tar.gz", "screenshot.png"]
    );
}

#[test]
fn tgit_a_corrupted_state_deletes_no_attachment_and_says_why() {
    let (repo, emu) = tgit_fixture("feat: 新功能");
    tgit(&repo, &emu).success();
    emu.add_attachment_by_hand(TG_PROJECT, TAG, "screenshot.png", b"png");
    std::fs::write(
        repo.path().join("release.yml"),
        TG_MANIFEST.replace("dist/*", "dist/app-linux.tar.gz"),
    )
    .unwrap();
    let corrupted = tg_description(&emu).replace("\"files\"", "files");
    emu.set_release_description(TG_PROJECT, TAG, &corrupted);
    let run = tgit(&repo, &emu).success();
    assert!(
        run.stderr.contains("cannot read relsync's state")
            && run.stderr.contains("deletes nothing"),
        "{}",
        run.stderr
    );
    // Without a digest from the forge, the file declared is uploaded once more; the file no
    // longer declared and the hand-added one stay.
    assert_eq!(
        tg_names(&emu),
        ["app-linux.tar.gz", "app-macos.tar.gz", "screenshot.png"]
    );
    assert_one_trusted_block(&tg_description(&emu));
    writes_nothing(&emu, || tgit(&repo, &emu));
}
