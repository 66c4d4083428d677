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
    let text = re.replace_all(&text, "[server]");
    // GitLab's generic package is named after the repository's (temporary) directory.
    let package = regex::Regex::new(r"/generic/[^/]+/").unwrap();
    package
        .replace_all(&text, "/generic/[package]/")
        .into_owned()
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
            let c = Cli::new(repo.path(), args).forge_flags(forge, server, project, "v1.1.0");
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

/// The release `v1.1.0` as each forge's API returns it, named "old".
fn existing_release(forge: &str) -> serde_json::Value {
    match forge {
        "gitlab" => serde_json::json!({
            "tag_name": "v1.1.0", "name": "old", "description": "old", "milestones": []
        }),
        "tgit" => serde_json::json!({
            "tag": "v1.1.0", "title": "old", "type": "release", "description": "old",
            "attachments": []
        }),
        _ => serde_json::json!({
            "id": 1, "tag_name": "v1.1.0", "name": "old", "body": "old", "draft": false,
            "prerelease": false, "html_url": "https://forge.example/octo/app/releases/tag/v1.1.0",
            "upload_url": "https://forge.example/repos/octo/app/releases/1/assets{?name,label}",
            "assets": []
        }),
    }
}

/// Whether `path` reads the release by its tag (`…/v1.1.0`, `…/v1%2E1%2E0`).
fn is_release_by_tag(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .unwrap_or_default()
        .starts_with("v1")
}

/// A forge where the release exists and every write (an upload, as files go first) is
/// refused as a conflict: GitHub's 422
/// validation failure, the others' 409.
fn conflicting(forge: &'static str) -> crate::helpers::hostile::Hostile {
    use crate::helpers::hostile::Reply;
    // GitHub's `upload_url` is on the server itself, which is known once it listens.
    let own = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let url = own.clone();
    let release = move || {
        let mut r = existing_release(forge);
        if forge == "github" {
            let at = url.lock().unwrap().clone();
            r["upload_url"] =
                format!("{at}/repos/octo/app/releases/1/assets{{?name,label}}").into();
        }
        r
    };
    let server = crate::helpers::hostile::Hostile::start(move |r| match r.method.as_str() {
        "GET" if r.path.ends_with("/version") => {
            Reply::json(404, &serde_json::json!({"message": "404 Not Found"}))
        }
        "GET" if is_release_by_tag(&r.path) => Reply::json(200, &release()),
        "GET" if forge == "github" && r.path.ends_with("/releases") => {
            Reply::json(200, &serde_json::json!([release()]))
        }
        "GET" => Reply::json(200, &serde_json::json!([])),
        _ if forge == "github" => Reply::json(
            422,
            &serde_json::json!({
                "message": "Validation Failed",
                "errors": [{"resource": "Release", "code": "custom", "field": "tag_name",
                            "message": "tag_name was used by an immutable release"}],
                "documentation_url": "https://docs.github.com/rest/releases/releases#update-a-release",
                "status": "422"
            }),
        ),
        _ => Reply::json(409, &serde_json::json!({"message": "409 Conflict"})),
    });
    *own.lock().unwrap() = server.url();
    server
}

/// A forge that answers `status` to every request, or (`writes_only`) only to writes, where
/// reads find no release.
fn answering(status: u16, writes_only: bool) -> crate::helpers::hostile::Hostile {
    use crate::helpers::hostile::Reply;
    let message = match status {
        404 => "404 Not Found",
        503 => "503 Service Unavailable",
        _ => "error",
    };
    crate::helpers::hostile::Hostile::start(move |r| {
        if writes_only && r.method == "GET" {
            if is_release_by_tag(&r.path) || r.path.ends_with("/version") {
                Reply::json(404, &serde_json::json!({"message": "404 Not Found"}))
            } else {
                Reply::json(200, &serde_json::json!([]))
            }
        } else {
            Reply::json(status, &serde_json::json!({ "message": message }))
        }
    })
}

/// Each failure below, for each forge, reads `error:` (what failed), `help:` (the fix, from
/// the hint table: this forge's variables, roles and scopes, or the setting to change) and
/// `note:` (what was and was not changed): a 404 (a project the token cannot see), a
/// conflicting write, a server failing with 5xx until `RELSYNC_RETRY_BUDGET` runs out (reads
/// and writes), a server given without a scheme, a failed TLS handshake, and `plan` without a
/// token, which says so before its first request. No token appears anywhere.
#[test]
fn failures_speak_in_one_voice_for_each_forge() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit_files(
        "fix: second",
        &[
            (
                "release.yml",
                "assets:\n  files:\n    - path: dist/*.tar.gz\n",
            ),
            ("dist/app.tar.gz", "tarball"),
        ],
    );
    repo.tag("v1.1.0");
    let re = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    for (forge, project, var) in FORGES {
        let cli = |server: &str, args: &[&str], token: bool| {
            let c = Cli::new(repo.path(), args)
                .forge_flags(forge, server, project, "v1.1.0")
                .env("RELSYNC_RETRY_BUDGET", "1");
            if token { c.env(var, TOKEN) } else { c }
        };
        let mut text = String::new();
        let mut section = |title: &str, run: &crate::helpers::cli::Run| {
            assert!(
                !run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN),
                "{forge} {title}: the token was printed"
            );
            assert!(!run.stderr.contains("panicked"), "{forge} {title}");
            let voice = voice_of(run);
            let lines: Vec<&str> = voice.lines().collect();
            assert!(
                lines.first().is_some_and(|l| l.starts_with("error: ")),
                "{forge} {title}: {}",
                run.stderr
            );
            assert!(
                lines.iter().any(|l| l.starts_with("  help: ")),
                "{forge} {title}: {voice}"
            );
            assert!(
                lines.last().is_some_and(|l| l.starts_with("  note: ")),
                "{forge} {title}: {voice}"
            );
            text += &format!("## {title}\n{voice}\n\n");
        };

        let server = answering(404, false);
        let run = cli(&server.url(), &["apply"], true).run().code(1);
        section("apply, every request answered 404", &run);
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.method == "GET" || forge == "tgit"),
            "{forge}: only Tencent Git, where 404 also means no tag, gets to a write"
        );

        let server = conflicting(forge);
        let run = cli(&server.url(), &["apply"], true).run().code(1);
        section("apply, writes refused as a conflict", &run);
        let writes = server
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count();
        assert!(writes >= 1, "{forge}: a write was sent");

        let server = answering(503, false);
        let started = std::time::Instant::now();
        let run = cli(&server.url(), &["plan"], true).run().code(1);
        let took = started.elapsed();
        section("plan, reads answered 503 until the budget ran out", &run);
        assert!(
            server.requests().len() >= 2,
            "{forge}: the read was retried"
        );
        assert!(
            took < std::time::Duration::from_secs(20),
            "{forge}: `RELSYNC_RETRY_BUDGET=1` bounds the retries, took {took:?}"
        );

        let server = answering(503, true);
        let started = std::time::Instant::now();
        let run = cli(&server.url(), &["apply"], true).run().code(1);
        let took = started.elapsed();
        section("apply, writes answered 503 until the budget ran out", &run);
        assert!(
            took < std::time::Duration::from_secs(20),
            "{forge}: `RELSYNC_RETRY_BUDGET=1` bounds the rounds of writes too, took {took:?}"
        );

        let run = cli("forge.example.com", &["plan"], true).run().code(2);
        section("plan, a server without a scheme", &run);

        let plain = answering(404, false);
        let started = std::time::Instant::now();
        let run = cli(&plain.url().replace("http://", "https://"), &["plan"], true)
            .run()
            .code(1);
        section("plan, https:// to a plain-HTTP server", &run);
        assert!(plain.requests().is_empty(), "{forge}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{forge}"
        );

        // A private project answers 404 to anonymous reads.
        let server = answering(404, false);
        let run = cli(&server.url(), &["plan"], false).run();
        let said = run
            .stderr
            .find("no token")
            .unwrap_or_else(|| panic!("{forge}: {}", run.stderr));
        assert!(
            run.stderr[said..].contains(var),
            "{forge}: names `{var}`: {}",
            run.stderr
        );
        assert!(
            server.requests().iter().all(|r| r.credentials().is_empty()),
            "{forge}"
        );
        text += &format!(
            "## plan without a token (exit {})\n{}\n",
            run.code,
            re.replace_all(run.stderr.trim_end(), "[server]")
        );
        insta::assert_snapshot!(format!("failures_{forge}"), text);
    }
}
