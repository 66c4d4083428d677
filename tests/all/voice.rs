//! What relsync prints: each action once, `-q` down to the final line, `-v` adding each request
//! with its status and time, `-vv` adding retry decisions; options that would do nothing are
//! refused; `notes --output json` gives the template context.

use crate::helpers::cli::Cli;
use crate::helpers::converge::writes_nothing;
use crate::helpers::gitlab::{Fault, GitlabEmulator};
use crate::helpers::repo::TestRepo;

const PROJECT: u64 = 7;
const PATH: &str = "group/app";
const TOKEN: &str = "glpat-voice-token-0123456789";

fn fixture() -> (TestRepo, GitlabEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit_files(
        "fix: second",
        &[
            (
                "release.yml",
                "assets:\n  links:\n    - { name: Docs, url: \"https://docs.example.com/\" }\n  files:\n    - path: dist/*.tar.gz\n",
            ),
            ("dist/app.tar.gz", "tarball"),
        ],
    );
    repo.tag("v1.1.0");
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PATH);
    emu.add_private_token(TOKEN);
    (repo, emu)
}

fn gitlab(repo: &TestRepo, emu: &GitlabEmulator, args: &[&str]) -> Cli {
    Cli::new(repo.path(), args)
        .env("GITLAB_CI", "true")
        .env("CI_COMMIT_TAG", "v1.1.0")
        .env("CI_SERVER_URL", &emu.url())
        .env("CI_API_V4_URL", &format!("{}/api/v4", emu.url()))
        .env("CI_PROJECT_ID", &PROJECT.to_string())
        .env("CI_PROJECT_PATH", PATH)
        .env("GITLAB_TOKEN", TOKEN)
}

#[test]
fn each_action_is_printed_once_and_quiet_keeps_only_the_final_line() {
    let (repo, emu) = fixture();
    let quiet = gitlab(&repo, &emu, &["apply", "-q"]).run().success();
    let lines: Vec<&str> = quiet.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", quiet.stdout);
    assert!(
        lines[0].starts_with("release v1.1.0 converged in "),
        "{}",
        quiet.stdout
    );
    assert_eq!(quiet.stderr.trim(), "", "-q prints only errors");

    let (repo, emu) = fixture();
    let run = gitlab(&repo, &emu, &["apply"]).run().success();
    let actions: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.starts_with("release v1.1.0 "))
        .collect();
    assert!(actions.len() >= 2, "{}", run.stdout);
    for a in &actions {
        assert!(
            !run.stderr.contains(a.trim()),
            "`{a}` printed twice:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stdout
            .contains(&format!("converged in {} change(s)", actions.len())),
        "{}",
        run.stdout
    );
    writes_nothing(&emu, || gitlab(&repo, &emu, &["apply"]).run());
}

#[test]
fn verbose_shows_each_request_with_status_and_time_and_vv_the_retry_decisions() {
    let (repo, emu) = fixture();
    let run = gitlab(&repo, &emu, &["plan", "-v"]).run().success();
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("GET /api/v4/projects/7/releases/v1") && l.contains(" -> 404 ("))
        .unwrap_or_else(|| panic!("no request line:\n{}", run.stderr));
    assert!(line.trim_end().ends_with(" ms)"), "{line}");
    assert!(!run.stderr.contains("retry"), "{}", run.stderr);
    assert!(!run.stderr.contains(TOKEN));

    emu.fail_next_on("GET", "/releases", Fault::Status(503), 1);
    let run = gitlab(&repo, &emu, &["plan", "-vv"]).run().success();
    assert!(
        run.stderr.contains("-> 503 (") && run.stderr.contains("retry 1 after"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(TOKEN));
    emu.fail_next_on("GET", "/releases", Fault::Status(403), 1);
    let run = gitlab(&repo, &emu, &["plan", "-vv"]).run().code(1);
    assert!(
        run.stderr
            .contains("not retried: an error status is not transient"),
        "{}",
        run.stderr
    );
}

#[test]
fn options_that_would_do_nothing_are_refused() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    for (args, says) in [
        (
            &["apply", "--offline"][..],
            "`--offline` does nothing for `apply`",
        ),
        (
            &["notes", "--offline"],
            "`--offline` does nothing for `notes`",
        ),
        (
            &["check", "--offline"],
            "`--offline` does nothing for `check`",
        ),
        (
            &["plan", "--offline", "--dotenv", "x.env"],
            "`--dotenv` does nothing for `plan`",
        ),
        (
            &["notes", "--dotenv", "x.env"],
            "`--dotenv` does nothing for `notes`",
        ),
        (
            &["schema", "--tag", "v1"],
            "`--tag` does nothing for `schema`",
        ),
        (
            &["completions", "bash", "--output", "json"],
            "`--output` does nothing for `completions`",
        ),
        (&["man", "--asset", "x"], "`--asset` does nothing for `man`"),
    ] {
        let run = Cli::new(repo.path(), args).run().code(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("help: "), "{args:?}: {}", run.stderr);
        assert!(!repo.path().join("x.env").exists());
    }
}

#[test]
fn notes_json_is_the_template_context() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("feat(api): list endpoint");
    repo.commit("fix!: drop the old flag");
    repo.tag("v1.1.0");
    let run = Cli::new(
        repo.path(),
        &["notes", "--output", "json", "--tag", "v1.1.0"],
    )
    .run()
    .success();
    let ctx = run.json();
    assert_eq!(ctx["version"], "1.1.0");
    assert_eq!(ctx["previous_tag"], "v1.0.0");
    let subjects: Vec<&str> = ctx["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects[0].contains("drop the old flag"), "{subjects:?}");
    assert!(subjects[1].contains("list endpoint"), "{subjects:?}");
    assert_eq!(ctx["breaking_changes"].as_array().unwrap().len(), 1);
    assert!(ctx["groups"].as_array().unwrap().len() >= 2, "{ctx}");

    let check = Cli::new(
        repo.path(),
        &["check", "--output", "json", "--tag", "v1.1.0"],
    )
    .run()
    .success()
    .json();
    assert_eq!(check["ok"], true);
    assert_eq!(check["commits"], 2);
    assert_eq!(check["tag"], "v1.1.0");
}

/// How each forge is reached in the error-voice snapshots: `--forge`, `--project`, and the
/// variable that carries the token.
const FORGES: [(&str, &str, &str); 4] = [
    ("gitlab", "7", "GITLAB_TOKEN"),
    ("github", "octo/app", "GITHUB_TOKEN"),
    ("gitea", "octo/app", "GITEA_TOKEN"),
    ("tgit", "7", "TGIT_TOKEN"),
];

/// The body each forge answers a refused request with (from their docs and source: GitLab's
/// `{"message": "403 Forbidden"}`, GitHub's message with `documentation_url`, Gitea's message
/// with `url`).
fn refusal(forge: &str, status: u16) -> serde_json::Value {
    let reason = if status == 401 {
        "Unauthorized"
    } else {
        "Forbidden"
    };
    match forge {
        "github" => serde_json::json!({
            "message": if status == 401 { "Bad credentials" } else { "Resource not accessible by integration" },
            "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release",
            "status": status.to_string(),
        }),
        "gitea" => {
            serde_json::json!({"message": "token does not have at least one of required scope(s)", "url": "https://gitea.example/api/swagger"})
        }
        _ => serde_json::json!({"message": format!("{status} {reason}")}),
    }
}

/// A forge where the release does not exist yet and every write is refused with `status`.
fn refusing(forge: &'static str, status: u16) -> crate::helpers::hostile::Hostile {
    use crate::helpers::hostile::Reply;
    crate::helpers::hostile::Hostile::start(move |r| {
        if r.method == "GET" {
            let tail = r.path.rsplit('/').next().unwrap_or_default();
            if tail.starts_with("v1") {
                Reply::json(404, &serde_json::json!({"message": "404 Not Found"}))
            } else {
                Reply::json(200, &serde_json::json!([]))
            }
        } else {
            Reply::json(status, &refusal(forge, status))
        }
    })
}

fn voice_of(run: &crate::helpers::cli::Run) -> String {
    let re = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let text: String = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("error: "))
        .collect::<Vec<_>>()
        .join("\n");
    re.replace_all(&text, "[server]").into_owned()
}

/// Every failure reads `error:` (what failed), `help:` (the fix, naming this forge's token
/// variables and roles), `note:` (what was and was not changed), for each forge: a refused
/// token, a token without the rights to write, no token at all, a server that is not there.
#[test]
fn errors_speak_in_one_voice_for_each_forge() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("fix: second");
    repo.tag("v1.1.0");
    for (forge, project, var) in FORGES {
        let cli = |server: &str, args: &[&str], token: bool| {
            let mut all = args.to_vec();
            all.extend([
                "--forge",
                forge,
                "--server",
                server,
                "--project",
                project,
                "--tag",
                "v1.1.0",
            ]);
            let c = Cli::new(repo.path(), &all);
            if token { c.env(var, TOKEN) } else { c }
        };
        let mut text = String::new();
        for status in [401, 403] {
            let server = refusing(forge, status);
            let run = cli(&server.url(), &["apply"], true).run().code(1);
            assert!(!run.stderr.contains(TOKEN));
            text += &format!("## apply, writes answered {status}\n{}\n\n", voice_of(&run));
        }
        let server = refusing(forge, 403);
        let run = cli(&server.url(), &["apply"], false).run().code(2);
        assert!(
            server.requests().is_empty(),
            "{forge}: sent without a token"
        );
        text += &format!("## apply without a token\n{}\n\n", voice_of(&run));
        let closed = format!(
            "http://127.0.0.1:{}",
            crate::helpers::hostile::closed_port()
        );
        let run = cli(&closed, &["plan"], true).run().code(1);
        text += &format!("## plan, nothing listening\n{}\n", voice_of(&run));
        for block in text.split("## ").skip(1) {
            let lines: Vec<&str> = block.lines().skip(1).filter(|l| !l.is_empty()).collect();
            assert!(lines[0].starts_with("error: "), "{forge}: {block}");
            assert!(
                lines.iter().any(|l| l.starts_with("  help: ")),
                "{forge}: {block}"
            );
            assert!(
                lines.iter().any(|l| l.starts_with("  note: ")),
                "{forge}: {block}"
            );
        }
        insta::assert_snapshot!(format!("errors_{forge}"), text);
    }
}

/// `plan` shows each changed field old → new and the description as a unified diff, and its
/// counts are what `apply` then reports.
#[test]
fn plan_shows_old_and_new_values_and_a_diff_of_the_description() {
    let (repo, emu) = fixture();
    gitlab(&repo, &emu, &["apply"]).run().success();
    std::fs::write(
        repo.path().join("release.yml"),
        "release:\n  name: \"App {{ version }}\"\nassets:\n  links:\n    - { name: Docs, url: \"https://docs.example.com/\" }\n    - { name: Status, url: \"https://status.example.com/\" }\n  files:\n    - path: dist/*.tar.gz\n",
    )
    .unwrap();
    let plan = gitlab(&repo, &emu, &["plan"]).run().success();
    assert!(
        plan.stdout.contains("    name: \"v1.1.0\" → \"App 1.1.0\""),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("      --- forge"), "{}", plan.stdout);
    assert!(plan.stdout.contains("      +++ relsync"), "{}", plan.stdout);
    assert!(
        plan.stdout.lines().any(
            |l| l.starts_with("      +") && l.contains("[Status](https://status.example.com/)")
        ),
        "{}",
        plan.stdout
    );
    assert!(
        !plan
            .stdout
            .lines()
            .any(|l| l.starts_with("      -") && l.contains("[Docs]")),
        "an unchanged line is context, not a change: {}",
        plan.stdout
    );
    let planned = plan
        .stdout
        .lines()
        .find(|l| l.starts_with("Plan: "))
        .unwrap()
        .to_owned();
    let applied = gitlab(&repo, &emu, &["apply"]).run().success();
    let changes = applied.stdout.lines().count() - 1;
    let to_change: usize = planned
        .split([':', ','])
        .filter_map(|p| {
            let p = p.trim();
            let n: usize = p.split(' ').next()?.parse().ok()?;
            (!p.ends_with("unchanged.") && !p.ends_with("unchanged")).then_some(n)
        })
        .sum();
    assert_eq!(to_change, changes, "{planned}\n{}", applied.stdout);
}
