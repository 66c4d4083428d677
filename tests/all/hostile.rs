//! A forge that does not behave, through the real binary: redirects and pagination links to
//! another origin (which must never see a token), bodies too large or trickled, pages without
//! end, a server that is not there or given without a scheme, and no token at all.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::cli::{Cli, Run};
use crate::helpers::hostile::{Hostile, Reply, Seen, closed_port};
use crate::helpers::repo::TestRepo;

const TOKEN: &str = "glpat-hostile-secret-7731";
const GH_REPO: &str = "octo/app";

/// A repository tagged `v1.1.0`, with `manifest` as `release.yml` when given, and a file.
fn repo(manifest: Option<&str>) -> TestRepo {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    let mut files = vec![("dist/app.tar.gz", "app 1")];
    if let Some(m) = manifest {
        files.push(("release.yml", m));
    }
    repo.commit_files("fix: second", &files);
    repo.tag("v1.1.0");
    repo
}

/// The forges and their token variables, as each is reached here.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// GitLab with `GITLAB_TOKEN` (`PRIVATE-TOKEN`).
    GitlabPrivate,
    /// GitLab with `CI_JOB_TOKEN` (`JOB-TOKEN`).
    GitlabJob,
    /// Tencent Git with `TGIT_TOKEN` (`PRIVATE-TOKEN`).
    Tgit,
    /// GitHub with `GITHUB_TOKEN` (`Authorization: Bearer`).
    Github,
}

impl Kind {
    /// The path of the first request `plan` sends: the release by tag.
    fn release_path(self) -> &'static str {
        match self {
            Kind::GitlabPrivate | Kind::GitlabJob => "/api/v4/projects/7/releases/v1%2E1%2E0",
            Kind::Tgit => "/api/v3/projects/7/releases/v1.1.0",
            Kind::Github => "/repos/octo/app/releases/tags/v1%2E1%2E0",
        }
    }

    /// `relsync ARGS` against `server` with this forge's token.
    fn cli(self, repo: &TestRepo, server: &str, args: &[&str]) -> Cli {
        let (forge, project, var) = match self {
            Kind::GitlabPrivate => ("gitlab", "7", "GITLAB_TOKEN"),
            Kind::GitlabJob => ("gitlab", "7", "CI_JOB_TOKEN"),
            Kind::Tgit => ("tgit", "7", "TGIT_TOKEN"),
            Kind::Github => ("github", GH_REPO, "GITHUB_TOKEN"),
        };
        Cli::new(repo.path(), args)
            .forge_flags(forge, server, project, "v1.1.0")
            .env(var, TOKEN)
    }
}

/// The run failed at run time, printed no token and did not panic; returns stdout + stderr.
#[track_caller]
fn failed(run: Run) -> String {
    let run = run.code(1);
    let out = format!("{}\n{}", run.stdout, run.stderr);
    assert!(!out.contains(TOKEN), "the token was printed:\n{out}");
    assert!(!out.contains("panicked"), "{out}");
    out
}

/// No request `other` received carried a token header.
#[track_caller]
fn no_credentials(other: &Hostile) {
    let leaked: Vec<(String, Vec<&str>)> = other
        .requests()
        .iter()
        .filter(|r| !r.credentials().is_empty())
        .map(|r| (r.path.clone(), r.credentials()))
        .collect();
    assert!(
        leaked.is_empty(),
        "a token header reached the other origin: {leaked:?}"
    );
}

/// A GitHub release `v1.1.0` whose `upload_url` is on `upload_origin`.
fn gh_release(upload_origin: &str) -> serde_json::Value {
    json!({
        "id": 1, "tag_name": "v1.1.0", "name": "old", "body": "old", "draft": false,
        "prerelease": false, "html_url": "https://github.example/octo/app/releases/tag/v1.1.0",
        "upload_url": format!("{upload_origin}/repos/octo/app/releases/1/assets{{?name,label}}"),
        "assets": []
    })
}

#[test]
fn a_redirect_to_another_origin_is_not_followed_and_carries_no_token() {
    let repo = repo(None);
    // The other origin answers as the forge would, so following it would have "worked".
    let other = Hostile::start(|_| Reply::json(404, &json!({"message": "404 Not Found"})));
    for kind in [
        Kind::GitlabPrivate,
        Kind::GitlabJob,
        Kind::Tgit,
        Kind::Github,
    ] {
        for status in [301, 302, 307, 308] {
            let target = other.url();
            let forge = Hostile::start(move |r: &Seen| {
                Reply::redirect(status, &format!("{target}{}", r.path))
            });
            // Every log line of every crate, so a token in any of them would show.
            let out = failed(
                kind.cli(&repo, &forge.url(), &["plan"])
                    .env("RELSYNC_LOG", "trace")
                    .run(),
            );
            assert!(
                out.contains(&format!("redirected (HTTP {status}")) && out.contains(&other.url()),
                "{kind:?} {status}: the error names the redirect and where it pointed:\n{out}"
            );
            assert!(out.contains("--server"), "{out}");
            let sent = forge.requests();
            assert_eq!(sent.len(), 1, "{kind:?} {status}: not retried: {sent:?}");
            assert_eq!(sent[0].path, kind.release_path());
            assert!(
                !sent[0].credentials().is_empty(),
                "{kind:?}: the forge itself gets the token"
            );
        }
    }
    no_credentials(&other);
    assert!(
        other.requests().is_empty(),
        "nothing is sent to another origin: {:?}",
        other.requests()
    );
}

#[test]
fn a_redirect_within_the_origin_is_followed_with_the_token() {
    let repo = repo(None);
    let forge = Hostile::start(|r: &Seen| {
        if r.q("moved").is_none() {
            Reply::redirect(301, &format!("{}?moved=1", r.path))
        } else {
            Reply::json(404, &json!({"message": "404 Not Found"}))
        }
    });
    let run = Kind::GitlabPrivate
        .cli(&repo, &forge.url(), &["plan"])
        .run()
        .success();
    assert!(run.stdout.contains("create"), "{}", run.stdout);
    let sent = forge.requests();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].q("moved"), Some("1"));
    assert_eq!(sent[1].header("private-token"), Some(TOKEN));

    // A redirect loop within the forge ends, and is not retried.
    let looping = Hostile::start(|r: &Seen| Reply::redirect(302, &r.path));
    let out = failed(
        Kind::GitlabPrivate
            .cli(&repo, &looping.url(), &["plan"])
            .run(),
    );
    assert!(out.contains("redirect loop"), "{out}");
    assert!(
        looping.requests().len() <= 11,
        "{}",
        looping.requests().len()
    );
}

#[test]
fn a_github_next_link_to_another_origin_is_refused() {
    let repo = repo(None);
    let other = Hostile::start(|_| Reply::json(200, &json!([])));
    let next = format!(
        "<{}/repos/octo/app/releases/1/assets?page=2>; rel=\"next\"",
        other.url()
    );
    // The release's asset list is paged (the release list is read to its first page only).
    let forge = Hostile::start(move |r: &Seen| {
        if r.path.ends_with("/releases/tags/v1%2E1%2E0") {
            Reply::json(200, &gh_release("https://uploads.github.example"))
        } else if r.path.ends_with("/assets") {
            Reply::json(200, &json!([])).header("link", next.clone())
        } else {
            Reply::json(200, &json!([]))
        }
    });
    let out = failed(Kind::Github.cli(&repo, &forge.url(), &["plan"]).run());
    assert!(
        out.contains("pagination link") && out.contains(&other.url()),
        "the error says a link left the forge:\n{out}"
    );
    assert!(other.requests().is_empty(), "{:?}", other.requests());
    no_credentials(&other);
}

#[test]
fn a_github_upload_url_on_another_origin_is_refused() {
    let manifest = "assets:\n  files:\n    - path: \"dist/*.tar.gz\"\n";
    let repo = repo(Some(manifest));
    let other = Hostile::start(|_| {
        Reply::json(
            201,
            &json!({"id": 9, "name": "app.tar.gz", "size": 5, "state": "uploaded"}),
        )
    });
    let upload_origin = other.url();
    let forge = Hostile::start(move |r: &Seen| {
        if r.path.ends_with("/releases/tags/v1%2E1%2E0") || r.method == "PATCH" {
            Reply::json(200, &gh_release(&upload_origin))
        } else {
            Reply::json(200, &json!([]))
        }
    });
    let out = failed(Kind::Github.cli(&repo, &forge.url(), &["apply"]).run());
    assert!(
        out.contains("upload URL") && out.contains(&other.url()),
        "the error says the upload URL left the forge:\n{out}"
    );
    assert!(other.requests().is_empty(), "{:?}", other.requests());
    no_credentials(&other);
}

#[test]
fn a_huge_body_is_cut_off_with_a_clear_error_and_not_retried() {
    let repo = repo(None);
    let forge = Hostile::start(|_| Reply::stream(200, 200 * 1024 * 1024));
    let started = Instant::now();
    let (run, peak_kib) = Kind::GitlabPrivate
        .cli(&repo, &forge.url(), &["plan"])
        .run_measuring_peak_kib();
    let out = failed(run);
    assert!(
        out.contains("larger than 8 MiB"),
        "the error says the answer is too large:\n{out}"
    );
    assert_eq!(forge.requests().len(), 1, "a size error is not retried");
    assert!(
        peak_kib < 96 * 1024,
        "reading a 200 MB answer took {peak_kib} KiB"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_huge_error_body_is_read_only_in_part_on_each_retry() {
    let repo = repo(None);
    let forge = Hostile::start(|_| Reply::stream(500, 200 * 1024 * 1024));
    let (run, peak_kib) = Kind::GitlabPrivate
        .cli(&repo, &forge.url(), &["plan"])
        .env("RELSYNC_RETRY_BUDGET", "2")
        .run_measuring_peak_kib();
    let out = failed(run);
    assert!(out.contains("HTTP 500"), "{out}");
    let attempts = forge.requests().len();
    assert!((2..=8).contains(&attempts), "{attempts} attempts");
    assert!(peak_kib < 96 * 1024, "{peak_kib} KiB");
}

/// GitLab: a release `v1.1.0` exists; its links answer `links(seen)`.
fn gitlab_with_links(links: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Hostile {
    Hostile::start(move |r: &Seen| {
        if r.path.ends_with("/assets/links") {
            links(r)
        } else if r.path.ends_with("/releases/v1%2E1%2E0") {
            Reply::json(
                200,
                &json!({"tag_name": "v1.1.0", "name": "App", "description": "", "milestones": []}),
            )
        } else {
            Reply::json(200, &json!([]))
        }
    })
}

fn one_link() -> serde_json::Value {
    json!([{"id": 1, "name": "Docs", "url": "https://docs.example.com", "link_type": "other"}])
}

#[test]
fn an_x_next_page_loop_stops_with_an_error() {
    let repo = repo(None);
    // Every page says the next one is page 2.
    let forge = gitlab_with_links(|_| Reply::json(200, &one_link()).header("x-next-page", "2"));
    let out = failed(
        Kind::GitlabPrivate
            .cli(&repo, &forge.url(), &["plan"])
            .run(),
    );
    assert!(
        out.contains("pagination loop") && out.contains("list the release's links"),
        "{out}"
    );
    let pages = forge
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/assets/links"))
        .count();
    assert_eq!(pages, 2, "page 1, page 2, then page 2 again is refused");
}

#[test]
fn endless_x_next_pages_stop_at_the_page_cap() {
    let repo = repo(None);
    let forge = gitlab_with_links(|r| {
        let page: u64 = r.q("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        Reply::json(200, &one_link()).header("x-next-page", (page + 1).to_string())
    });
    let out = failed(
        Kind::GitlabPrivate
            .cli(&repo, &forge.url(), &["plan"])
            .run(),
    );
    assert!(out.contains("after 1000 pages"), "{out}");
    let pages = forge
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/assets/links"))
        .count();
    assert_eq!(pages, 1000);
}

#[test]
fn a_link_header_loop_stops_with_an_error() {
    let repo = repo(None);
    let forge_url = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let base = forge_url.clone();
    let forge = Hostile::start(move |r: &Seen| {
        if r.path.ends_with("/releases/tags/v1%2E1%2E0") {
            return Reply::json(200, &gh_release("https://uploads.github.example"));
        }
        if !r.path.ends_with("/assets") {
            return Reply::json(200, &json!([]));
        }
        // The release's asset list: page 1 links to page 2, page 2 back to page 1.
        let next = if r.q("page") == Some("2") { "1" } else { "2" };
        Reply::json(200, &json!([])).header(
            "link",
            format!(
                "<{}/repos/octo/app/releases/1/assets?per_page=100&page={next}>; rel=\"next\"",
                base.get().expect("url")
            ),
        )
    });
    forge_url.set(forge.url()).unwrap();
    let out = failed(Kind::Github.cli(&repo, &forge.url(), &["plan"]).run());
    assert!(out.contains("pagination loop"), "{out}");
    let lists = forge
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/assets"))
        .count();
    assert!(lists <= 3, "{lists} list requests");
}

#[test]
fn a_trickled_body_times_out_within_the_budget() {
    let repo = repo(None);
    // One byte every 500 ms: 50 s for the whole answer.
    let forge = Hostile::start(|_| Reply::trickle(200, 100, Duration::from_millis(500)));
    let started = Instant::now();
    let out = failed(
        Kind::GitlabPrivate
            .cli(&repo, &forge.url(), &["plan"])
            .env("RELSYNC_RETRY_BUDGET", "3")
            .run(),
    );
    let took = started.elapsed();
    assert!(
        out.contains("no complete answer within 3s") && out.contains("RELSYNC_RETRY_BUDGET"),
        "{out}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert_eq!(forge.requests().len(), 1, "the budget was spent on one try");
}

#[test]
fn a_refused_connection_fails_fast_and_names_the_server_settings() {
    let repo = repo(None);
    let server = format!("http://127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let out = failed(Kind::GitlabPrivate.cli(&repo, &server, &["plan"]).run());
    let took = started.elapsed();
    assert!(out.contains("cannot connect to http://127.0.0.1:"), "{out}");
    assert!(
        out.contains("--server") && out.contains("RELSYNC_SERVER"),
        "{out}"
    );
    assert!(!out.contains("builder error"), "{out}");
    assert!(
        out.matches("retrying").count() <= 2,
        "a few quick attempts:\n{out}"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn a_server_without_a_scheme_is_bad_input() {
    let repo = repo(None);
    let run = Kind::GitlabPrivate
        .cli(&repo, "gitlab.example.com", &["plan"])
        .run()
        .code(2);
    assert!(
        run.stderr.contains("`--server`") && run.stderr.contains("https://gitlab.example.com"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("builder error"), "{}", run.stderr);
    // From the environment, the variable is named; `host:port` is not a scheme either.
    let run = Cli::new(
        repo.path(),
        &["apply", "--forge", "gitlab", "--project", "7"],
    )
    .env("RELSYNC_SERVER", "localhost:8080")
    .env("GITLAB_TOKEN", TOKEN)
    .run()
    .code(2);
    assert!(
        run.stderr.contains("`RELSYNC_SERVER`") && run.stderr.contains("https://localhost:8080"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bad_retry_budget_is_bad_input() {
    let repo = repo(None);
    let run = Kind::GitlabPrivate
        .cli(&repo, "https://gitlab.example.com", &["plan"])
        .env("RELSYNC_RETRY_BUDGET", "2m")
        .run()
        .code(2);
    assert!(
        run.stderr.contains("`RELSYNC_RETRY_BUDGET`"),
        "{}",
        run.stderr
    );
}

#[test]
fn plan_without_a_token_says_which_variable_to_set() {
    let repo = repo(None);
    for (forge, project, var) in [
        ("gitlab", "7", "GITLAB_TOKEN"),
        ("github", GH_REPO, "GITHUB_TOKEN"),
        ("gitea", GH_REPO, "GITEA_TOKEN"),
        ("tgit", "7", "TGIT_TOKEN"),
    ] {
        // A private project answers 404 to anonymous reads.
        let server = Hostile::start(|_| Reply::json(404, &json!({"message": "404 Not Found"})));
        let run = Cli::new(
            repo.path(),
            &[
                "plan",
                "--forge",
                forge,
                "--server",
                &server.url(),
                "--project",
                project,
                "--tag",
                "v1.1.0",
            ],
        )
        .run();
        assert!(
            run.stderr.contains("no token is set") && run.stderr.contains(var),
            "{forge}: {}",
            run.stderr
        );
        assert!(
            server.requests().iter().all(|r| r.credentials().is_empty()),
            "{forge}"
        );
    }
}

#[test]
fn apply_without_a_token_names_the_forge_variable_and_sends_nothing() {
    let repo = repo(None);
    let server = Hostile::start(|_| Reply::json(404, &json!({"message": "Not Found"})));
    let run = Cli::new(
        repo.path(),
        &[
            "apply",
            "--forge",
            "github",
            "--server",
            &server.url(),
            "--project",
            GH_REPO,
            "--tag",
            "v1.1.0",
        ],
    )
    .run()
    .code(2);
    assert!(run.stderr.contains("`GITHUB_TOKEN`"), "{}", run.stderr);
    assert!(!run.stderr.contains("GITLAB_TOKEN"), "{}", run.stderr);
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

/// A megabyte of padding: more than the client buffers with the headers, so an answer left
/// unread would keep its connection out of the pool.
fn padding() -> String {
    "x".repeat(1024 * 1024)
}

/// The HTTP client's own log (`hyper_util` at trace), which says each time a connection goes
/// back to the pool (to wait idle, or straight to the next request): only once its answer was
/// read to the end.
const POOL_LOG: &str = "hyper_util=trace,relsync=info";

/// How many answers gave their connection back to the pool. The last answer of a run may
/// race the process's exit, so `sent - 1` is the least a run that reads every answer shows;
/// the runs below have at least two answers that a client skipping them would leave unread.
fn pooled(stderr: &str) -> usize {
    stderr.matches("put; add idle connection").count()
}

#[test]
fn every_answer_is_read_so_its_connection_is_reused() {
    let repo = repo(None);
    // Gitea: the Forgejo probe (404 with a body), the version, the release by tag (404 with
    // a body), then the first page of the list (padded).
    let gitea = Hostile::start(|r: &Seen| {
        if r.path == "/api/forgejo/v1/version" {
            Reply::json(404, &json!({"message": "not found", "padding": padding()}))
        } else if r.path.ends_with("/version") {
            Reply::json(200, &json!({"version": "9.0.0", "padding": padding()}))
        } else if r.path.contains("/releases/tags/") {
            Reply::json(
                404,
                &json!({"message": "not found", "padding": "x".repeat(4000)}),
            )
        } else if r.q("page") == Some("1") {
            let mut other = gh_release("https://uploads.github.example");
            other["tag_name"] = json!("v0.9.0");
            other["body"] = json!(padding());
            Reply::json(200, &json!([other]))
        } else {
            Reply::json(200, &json!([]))
        }
    });
    let run = Cli::new(
        repo.path(),
        &[
            "plan",
            "--forge",
            "gitea",
            "--server",
            &gitea.url(),
            "--project",
            GH_REPO,
            "--tag",
            "v1.1.0",
        ],
    )
    .env("GITEA_TOKEN", TOKEN)
    .env("RELSYNC_LOG", POOL_LOG)
    .run()
    .success();
    let sent = gitea.requests().len();
    assert!(sent >= 4, "{:?}", gitea.requests());
    assert!(pooled(&run.stderr) + 1 >= sent, "{}", run.stderr);
    assert!(gitea.connections() < sent, "connections were reused");

    // GitLab: a 502 retried, then the lists.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let gitlab = gitlab_with_links(move |_| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Reply::json(502, &json!({"message": "bad gateway"}))
        } else {
            Reply::json(200, &one_link())
        }
    });
    let run = Kind::GitlabPrivate
        .cli(&repo, &gitlab.url(), &["plan"])
        .env("RELSYNC_LOG", POOL_LOG)
        .run()
        .success();
    let sent = gitlab.requests().len();
    assert!(sent >= 4, "{:?}", gitlab.requests());
    assert!(pooled(&run.stderr) + 1 >= sent, "{}", run.stderr);
}

#[test]
fn the_answers_to_writes_are_read_too() {
    let manifest = "assets:\n  links:\n    - { name: Docs, url: \"https://docs.example.com\" }\n";
    let repo = repo(Some(manifest));
    // A release to create with its link (POST), then one to update and link (PUT, POST).
    for (initial, writes) in [
        (None, &["POST"][..]),
        (
            Some(json!({"name": "old", "description": "old"})),
            &["PUT", "POST"][..],
        ),
    ] {
        let forge = gitlab_keeping_the_release(initial);
        let run = Kind::GitlabPrivate
            .cli(&repo, &forge.url(), &["apply"])
            .env("RELSYNC_LOG", POOL_LOG)
            .run()
            .success();
        let sent = forge.requests();
        let trail: Vec<(&str, &str)> = sent
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str()))
            .collect();
        // Which writes, not their order: the plan decides that.
        let mut written: Vec<&str> = trail
            .iter()
            .filter(|(m, _)| *m != "GET")
            .map(|(m, _)| *m)
            .collect();
        written.sort_unstable();
        let mut writes = writes.to_vec();
        writes.sort_unstable();
        assert_eq!(written, writes, "{trail:?}");
        assert!(
            pooled(&run.stderr) + 1 >= sent.len(),
            "{trail:?}\n{}",
            run.stderr
        );
    }
}

/// A GitLab that keeps the one release `apply` creates and updates, and its links, answering
/// every request with a padded body.
fn gitlab_keeping_the_release(initial: Option<serde_json::Value>) -> Hostile {
    let stored = std::sync::Mutex::new((initial, Vec::<serde_json::Value>::new()));
    Hostile::start(move |r: &Seen| {
        let mut guard = stored.lock().unwrap();
        let (release, links) = &mut *guard;
        let answer = |b: &serde_json::Value| {
            json!({"tag_name": "v1.1.0", "name": b["name"], "description": b["description"],
                   "milestones": [], "padding": padding()})
        };
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        let mut add_link = |l: &serde_json::Value| {
            let mut l = l.clone();
            l["id"] = json!(links.len() + 1);
            l["padding"] = json!(padding());
            links.push(l.clone());
            l
        };
        match (r.method.as_str(), r.path.ends_with("/assets/links")) {
            ("GET", true) => Reply::json(200, &json!(links.clone())),
            ("POST", true) => Reply::json(201, &add_link(&body)),
            ("GET", false) if r.path.ends_with("/releases/v1%2E1%2E0") => match release {
                Some(b) => Reply::json(200, &answer(b)),
                None => Reply::json(404, &json!({"message": "404 Not Found"})),
            },
            ("POST" | "PUT", false) => {
                if let Some(new) = body["assets"]["links"].as_array() {
                    for l in new {
                        add_link(l);
                    }
                }
                let mut merged = release.take().unwrap_or_else(|| json!({}));
                for k in ["name", "description"] {
                    if !body[k].is_null() {
                        merged[k] = body[k].clone();
                    }
                }
                *release = Some(merged.clone());
                Reply::json(if r.method == "POST" { 201 } else { 200 }, &answer(&merged))
            }
            _ => Reply::json(200, &json!([])),
        }
    })
}

#[test]
fn a_tls_handshake_failure_is_final_and_names_the_scheme_and_ca_settings() {
    let repo = repo(None);
    // A plain-HTTP server reached with `https://`.
    let plain = Hostile::start(|_| Reply::json(404, &json!({"message": "404 Not Found"})));
    let server = plain.url().replace("http://", "https://");
    let started = Instant::now();
    let out = failed(Kind::GitlabPrivate.cli(&repo, &server, &["plan"]).run());
    assert!(
        out.contains("TLS handshake failed") && out.contains("RELSYNC_CA_FILE"),
        "{out}"
    );
    assert!(!out.contains("retrying"), "retrying cannot help:\n{out}");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(plain.requests().is_empty(), "{:?}", plain.requests());
}

#[test]
fn an_unknown_host_fails_fast_and_names_the_server_settings() {
    let repo = repo(None);
    // `.invalid` never resolves (RFC 6761).
    let started = Instant::now();
    let out = failed(
        Kind::Github
            .cli(&repo, "https://relsync-test.invalid", &["plan"])
            .run(),
    );
    assert!(
        out.contains("cannot connect to https://relsync-test.invalid:443")
            && out.contains("RELSYNC_SERVER"),
        "{out}"
    );
    assert!(out.matches("retrying").count() <= 2, "{out}");
    assert!(started.elapsed() < Duration::from_secs(30));
}
