//! What `notes` previews is what `apply` publishes: for each forge, the notes printed before a
//! release equal the notes part of the description `apply` writes, links and uploaded files'
//! download URLs included.

use crate::helpers::cli::Cli;
use crate::helpers::gitea::GiteaEmulator;
use crate::helpers::github::GithubEmulator;
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::repo::TestRepo;
use crate::helpers::tgit::TgitEmulator;

const TOKEN: &str = "preview-token-0123456789";
const MANIFEST: &str = "assets:\n  links:\n    - { name: Docs, url: \"https://docs.example.com/{{ version }}\" }\n  files:\n    - path: dist/*.tar.gz\n";

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("feat(api): list endpoint (#12)");
    repo.commit_files(
        "fix: empty lists",
        &[("release.yml", MANIFEST), ("dist/app.tar.gz", "app 1")],
    );
    repo.tag("v1.1.0");
    repo
}

/// `relsync <cmd>` with the forge given by flags.
fn cli(repo: &TestRepo, cmd: &str, forge: &str, server: &str, project: &str, var: &str) -> Cli {
    Cli::new(repo.path(), &[cmd])
        .forge_flags(forge, server, project, "v1.1.0")
        .env(var, TOKEN)
}

/// The description without relsync's state block: the notes part.
fn notes_part(description: &str) -> String {
    let begin = description
        .find("<!-- relsync:begin -->")
        .map_or(0, |i| i + "<!-- relsync:begin -->".len());
    let end = description
        .find("<!-- relsync:state")
        .unwrap_or(description.len());
    description[begin..end].trim().to_owned()
}

fn assert_same(forge: &str, notes: &str, description: &str) {
    let published = notes_part(description);
    assert_eq!(
        notes.trim(),
        published,
        "{forge}: `notes` differs from what `apply` published"
    );
    assert!(
        published.contains("app.tar.gz") && published.contains("https://docs.example.com/1.1.0"),
        "{forge}: {published}"
    );
}

#[test]
fn notes_preview_equals_the_published_notes_on_each_forge() {
    let r = repo();
    let emu = GitlabEmulator::start();
    emu.add_project(7, "group/app");
    emu.add_private_token(TOKEN);
    let c = |cmd| cli(&r, cmd, "gitlab", &emu.url(), "7", "GITLAB_TOKEN");
    let notes = c("notes").run().success().stdout;
    c("apply").run().success();
    let d = emu.release(7, "v1.1.0").unwrap()["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_same("gitlab", &notes, &d);
    // `plan --offline` links the uploaded file where `apply` linked it.
    let linked = emu.links(7, "v1.1.0");
    let url = linked
        .iter()
        .find(|l| l["name"] == "app.tar.gz")
        .and_then(|l| l["url"].as_str())
        .unwrap()
        .to_owned();
    let plan = Cli::new(
        r.path(),
        &[
            "plan",
            "--offline",
            "--forge",
            "gitlab",
            "--server",
            &emu.url(),
            "--project",
            "7",
            "--tag",
            "v1.1.0",
            "--output",
            "json",
        ],
    )
    .run()
    .success();
    assert!(plan.stdout.contains(&url), "{url} not in {}", plan.stdout);

    let r = repo();
    let emu = GithubEmulator::start();
    emu.add_repo("octo/app");
    emu.add_token(TOKEN);
    let c = |cmd| {
        cli(
            &r,
            cmd,
            "github",
            &emu.api_url(),
            "octo/app",
            "GITHUB_TOKEN",
        )
    };
    let notes = c("notes").run().success().stdout;
    c("apply").run().success();
    let d = emu.release_by_tag("octo/app", "v1.1.0").unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_same("github", &notes, &d);

    let r = repo();
    let emu = GiteaEmulator::start();
    emu.add_repo("octo/app");
    emu.add_token(TOKEN);
    let c = |cmd| cli(&r, cmd, "gitea", &emu.url(), "octo/app", "GITEA_TOKEN");
    let notes = c("notes").run().success().stdout;
    c("apply").run().success();
    let d = emu.release_by_tag("octo/app", "v1.1.0").unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_same("gitea", &notes, &d);

    let r = repo();
    let emu = TgitEmulator::start();
    emu.add_project(7, "group/app");
    emu.add_private_token(TOKEN);
    let c = |cmd| cli(&r, cmd, "tgit", &emu.url(), "group/app", "TGIT_TOKEN");
    let notes = c("notes").run().success().stdout;
    c("apply").run().success();
    let d = emu.release(7, "v1.1.0").unwrap()["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_same("tgit", &notes, &d);
}
