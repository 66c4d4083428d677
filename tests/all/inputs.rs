//! Local inputs are what they claim, resources are bounded and outputs cannot be injected:
//! credentials never reach templates, assets are regular files inside the repository, asset
//! names and tags are checked, YAML aliases and templates are bounded, and the job's outputs
//! hold only clean values. Every refusal exits 2 before any request reaches the forge.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::helpers::cli::{Cli, Run};
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::repo::TestRepo;

const PROJECT: u64 = 42;
const PATH: &str = "group/app";
const TOKEN: &str = "glpat-inputs-secret-0123456789";

/// A repository whose tagged commit `v1.0.0` holds `release.yml` and `files`.
fn repo_with(manifest: &str, files: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    let mut all = vec![("release.yml", manifest)];
    all.extend_from_slice(files);
    repo.commit_files("fix: release files", &all);
    repo.tag("v1.0.0");
    repo
}

fn emulator() -> GitlabEmulator {
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PATH);
    emu.add_private_token(TOKEN);
    emu
}

/// `relsync ARGS` as a GitLab CI tag pipeline for `v1.0.0` against `emu`.
fn gitlab_ci(repo: &TestRepo, emu: &GitlabEmulator, args: &[&str]) -> Cli {
    Cli::new(repo.path(), args)
        .gitlab_job(
            &emu.url(),
            PROJECT,
            PATH,
            "v1.0.0",
            &repo.head().to_string(),
        )
        .env("GITLAB_TOKEN", TOKEN)
}

/// Runs `cli`, expects exit 2 with `needles` in stderr, no request at all to `emu`, and the
/// token nowhere in the output.
#[track_caller]
fn refused(emu: &GitlabEmulator, cli: Cli, needles: &[&str]) -> Run {
    emu.reset_requests();
    let run = cli.run().code(2);
    for n in needles {
        assert!(
            run.stderr.contains(n),
            "stderr lacks {n:?}:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN),
        "the token was printed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let sent: Vec<String> = emu
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(sent.is_empty(), "requests were sent: {sent:?}");
    run
}

/// `relsync check` (no CI, no forge) expecting exit 2 and `needles` in stderr.
#[track_caller]
fn check_refuses(repo: &TestRepo, needles: &[&str]) -> Run {
    let run = Cli::new(repo.path(), &["check"]).run().code(2);
    for n in needles {
        assert!(
            run.stderr.contains(n),
            "stderr lacks {n:?}:\n{}",
            run.stderr
        );
    }
    run
}

// ---------------------------------------------------------------------------------------------
// 1. Credentials never reach templates or rendered text

#[test]
fn template_env_cannot_name_the_token_variable() {
    let repo = repo_with(
        "forge:\n  token_env: GL_PAT\ntemplate:\n  env: [GL_PAT]\nrelease:\n  name: \"{{ env.GL_PAT }}\"\n",
        &[],
    );
    let emu = emulator();
    refused(
        &emu,
        gitlab_ci(&repo, &emu, &["apply"]).env("GL_PAT", TOKEN),
        &[
            "release.yml:4",
            "`template.env[0]`",
            "GL_PAT",
            "forge.token_env",
        ],
    );
    assert!(emu.releases(PROJECT).is_empty());
}

#[test]
fn template_env_cannot_name_any_forge_credential() {
    for var in [
        "CI_REPOSITORY_URL",
        "CI_JOB_TOKEN",
        "RELSYNC_TOKEN",
        "GITEA_TOKEN",
    ] {
        let repo = repo_with(&format!("template:\n  env: [{var}]\n"), &[]);
        let emu = emulator();
        let url = format!(
            "https://gitlab-ci-token:{TOKEN}@{}/{PATH}.git",
            emu.url().trim_start_matches("http://")
        );
        refused(
            &emu,
            gitlab_ci(&repo, &emu, &["apply"]).env("CI_REPOSITORY_URL", &url),
            &["`template.env[0]`", var, "help:"],
        );
    }
}

#[test]
fn template_env_variable_holding_the_token_value_is_refused() {
    let repo = repo_with(
        "template:\n  env: [CLONE_URL]\nrelease:\n  name: \"{{ env.CLONE_URL }}\"\n",
        &[],
    );
    let emu = emulator();
    refused(
        &emu,
        gitlab_ci(&repo, &emu, &["apply"]).env(
            "CLONE_URL",
            &format!("https://oauth2:{TOKEN}@example.com/x.git"),
        ),
        &[
            "`template.env[0]`",
            "value of `CLONE_URL` contains the value of `GITLAB_TOKEN`",
        ],
    );
}

#[test]
fn rendered_notes_holding_the_token_are_refused_naming_the_template() {
    let repo = repo_with(
        "release:\n  notes:\n    template: notes.md.j2\n",
        &[("notes.md.j2", "Built by {{ ci.job_url }}\n")],
    );
    let emu = emulator();
    refused(
        &emu,
        gitlab_ci(&repo, &emu, &["apply"]).env(
            "CI_JOB_URL",
            &format!("https://ci.example.com/jobs/1?t={TOKEN}"),
        ),
        &[
            "notes.md.j2",
            "the notes would contain the value of `GITLAB_TOKEN`",
        ],
    );
    // The same template without the token in its context publishes.
    gitlab_ci(&repo, &emu, &["apply"])
        .env("CI_JOB_URL", "https://ci.example.com/jobs/1")
        .run()
        .success();
    assert!(emu.release(PROJECT, "v1.0.0").is_some());
}

#[test]
fn rendered_link_url_holding_the_token_is_refused() {
    let repo = repo_with(
        "assets:\n  links:\n    - { name: Pipeline, url: \"{{ ci.pipeline_url }}\" }\n",
        &[],
    );
    let emu = emulator();
    refused(
        &emu,
        gitlab_ci(&repo, &emu, &["apply"]).env(
            "CI_PIPELINE_URL",
            &format!("https://ci.example.com/p/1#{TOKEN}"),
        ),
        &["`assets.links[0]`", "GITLAB_TOKEN"],
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Assets are regular files inside the repository

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(unix)]
#[test]
fn symlink_to_a_secret_outside_the_repository_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("id_ed25519");
    std::fs::write(&secret, "PRIVATE KEY").unwrap();
    for follow in ["", "  follow_symlinks: true\n"] {
        let repo = repo_with(
            &format!("assets:\n  files:\n    - path: \"dist/*\"\n{follow}"),
            &[],
        );
        symlink(&secret, &repo.path().join("dist/app.tar.gz"));
        let run = check_refuses(&repo, &["`assets.files[0].path`", "dist/app.tar.gz"]);
        if follow.is_empty() {
            assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
            assert!(run.stderr.contains("follow_symlinks"), "{}", run.stderr);
        } else {
            assert!(
                run.stderr.contains("outside the repository"),
                "{}",
                run.stderr
            );
        }
        // Through apply: nothing is sent.
        let emu = emulator();
        refused(
            &emu,
            gitlab_ci(&repo, &emu, &["apply"]),
            &["dist/app.tar.gz"],
        );
        assert!(emu.package_files(PROJECT).is_empty());
    }
}

#[cfg(unix)]
#[test]
fn symlink_to_proc_environ_is_refused() {
    let repo = repo_with(
        "assets:\n  follow_symlinks: true\n  files:\n    - path: \"dist/*.txt\"\n",
        &[],
    );
    symlink(
        Path::new("/proc/self/environ"),
        &repo.path().join("dist/env.txt"),
    );
    check_refuses(&repo, &["dist/env.txt", "outside the repository"]);
}

#[cfg(unix)]
#[test]
fn symlinked_directory_leading_outside_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("passwd.tar.gz"), "root:x:0:0").unwrap();
    let repo = repo_with("assets:\n  files:\n    - path: \"dist/*.tar.gz\"\n", &[]);
    symlink(outside.path(), &repo.path().join("dist"));
    check_refuses(&repo, &["dist/passwd.tar.gz", "symbolic link"]);
}

#[cfg(unix)]
#[test]
fn symlink_inside_the_repository_needs_follow_symlinks() {
    let manifest = |follow: bool| {
        format!("assets:\n  follow_symlinks: {follow}\n  files:\n    - path: \"dist/*.tar.gz\"\n")
    };
    let repo = repo_with(&manifest(false), &[("build/app-1.0.tar.gz", "real bytes")]);
    symlink(
        Path::new("../build/app-1.0.tar.gz"),
        &repo.path().join("dist/app.tar.gz"),
    );
    check_refuses(&repo, &["dist/app.tar.gz", "follow_symlinks: true"]);
    std::fs::write(repo.path().join("release.yml"), manifest(true)).unwrap();
    let run = Cli::new(repo.path(), &["plan", "--offline", "--output", "json"])
        .run()
        .success();
    let files = run.json()["files"].clone();
    assert_eq!(files.as_array().unwrap().len(), 1, "{files}");
    assert_eq!(files[0]["name"], "app.tar.gz");
    assert_eq!(files[0]["size"], 10);
}

#[cfg(unix)]
#[test]
fn fifo_is_refused() {
    let repo = repo_with(
        "assets:\n  files:\n    - path: \"dist/*\"\n",
        &[("dist/a.txt", "a")],
    );
    let status = std::process::Command::new("mkfifo")
        .arg(repo.path().join("dist/pipe"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let start = Instant::now();
    check_refuses(&repo, &["dist/pipe", "not a regular file (a FIFO)"]);
    assert!(start.elapsed() < Duration::from_secs(20));
}

// ---------------------------------------------------------------------------------------------
// 3. Asset names

#[test]
fn bad_asset_names_are_refused_before_any_request() {
    let long = "a".repeat(256);
    let names = [
        "..",
        ".",
        "a\nb",
        "a\rb",
        "a\u{0}b",
        "a\u{1b}[31mb",
        "a/b",
        "a\\b",
        &long,
    ];
    for name in names {
        let quoted = serde_json::to_string(name).unwrap();
        let repo = repo_with(
            &format!("assets:\n  files:\n    - path: dist/app.tar.gz\n      name: {quoted}\n"),
            &[("dist/app.tar.gz", "bytes")],
        );
        let run = Cli::new(repo.path(), &["plan", "--offline", "--forge", "tgit"])
            .run()
            .code(2);
        assert!(
            run.stderr.contains("`assets.files[0].name`"),
            "{name:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("a\nb"), "{}", run.stderr);
        let emu = emulator();
        refused(
            &emu,
            gitlab_ci(&repo, &emu, &["apply"]),
            &["`assets.files[0].name`"],
        );
    }
}

#[test]
fn bad_checksums_name_is_refused() {
    for name in ["..", "a\nb"] {
        let quoted = serde_json::to_string(name).unwrap();
        let repo = repo_with(
            &format!("assets:\n  checksums: {quoted}\n  files: [{{ path: dist/a }}]\n"),
            &[("dist/a", "a")],
        );
        check_refuses(&repo, &["`assets.checksums`"]);
    }
}

#[cfg(unix)]
#[test]
fn non_utf8_file_name_is_reported_as_such() {
    use std::os::unix::ffi::OsStrExt;
    let repo = repo_with(
        "assets:\n  files:\n    - path: \"dist/*.tar.gz\"\n",
        &[("dist/ok.tar.gz", "ok")],
    );
    let name = std::ffi::OsStr::from_bytes(b"app-\xff.tar.gz");
    std::fs::write(repo.path().join("dist").join(name), "bytes").unwrap();
    let run = check_refuses(&repo, &["not valid UTF-8", "dist/app-"]);
    assert!(!run.stderr.contains("matches no file"), "{}", run.stderr);
    // Alone in its directory, too.
    std::fs::remove_file(repo.path().join("dist/ok.tar.gz")).unwrap();
    let run = check_refuses(&repo, &["not valid UTF-8"]);
    assert!(!run.stderr.contains("matches no file"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// 4. Tags git refuses

const BAD_TAGS: &[&str] = &[
    "v1..0", "v1 0", "-v1", "v1.lock", "v1~1", "v1^", "v1:0", "v1?", "v1*", "v1[", "v1\\0", "v1/",
    "/v1", "v1.", "v1@{0}", "@",
];

#[test]
fn invalid_tags_from_flag_and_env_are_refused_before_any_request() {
    let repo = repo_with("release:\n  name: \"{{ tag }}\"\n", &[]);
    let emu = emulator();
    for tag in BAD_TAGS.iter().chain(&["v1\n0"]) {
        refused(
            &emu,
            gitlab_ci(&repo, &emu, &["apply", &format!("--tag={tag}")]),
            &["not a valid git tag name", "`--tag`"],
        );
        refused(
            &emu,
            gitlab_ci(&repo, &emu, &["apply"]).env("RELSYNC_TAG", tag),
            &["`RELSYNC_TAG`"],
        );
        refused(
            &emu,
            gitlab_ci(&repo, &emu, &["apply"]).env("CI_COMMIT_TAG", tag),
            &["CI tag variable"],
        );
    }
    assert!(emu.releases(PROJECT).is_empty());
}

#[test]
fn invalid_tag_from_the_manifest_is_refused_naming_the_line() {
    let repo = repo_with(
        "forge:\n  kind: gitlab\nrelease:\n  tag: \"v1 .{{ 0 }}\"\n",
        &[],
    );
    check_refuses(
        &repo,
        &["release.yml:4", "`release.tag`", "not a valid git tag name"],
    );
}

// ---------------------------------------------------------------------------------------------
// 6. YAML alias bombs

/// Nine levels of ten aliases each: 10^9 nodes once expanded, about 1 KB of text (and a
/// longer, 130 KB variant of the same shape).
fn alias_bomb(width: usize) -> String {
    let mut s = String::from("template:\n  env: []\n");
    let row = |item: &str| vec![item; width].join(", ");
    s.push_str(&format!("a0: &a0 [{}]\n", row("\"lol\"")));
    for i in 1..9 {
        s.push_str(&format!("a{i}: &a{i} [{}]\n", row(&format!("*a{}", i - 1))));
    }
    s
}

#[test]
fn alias_bomb_is_refused_fast_and_small() {
    for width in [10, 1_500] {
        let repo = repo_with(&alias_bomb(width), &[]);
        let start = Instant::now();
        let (run, peak_kib) = Cli::new(repo.path(), &["check"]).run_measuring_peak_kib();
        let run = run.code(2);
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(peak_kib < 200 * 1024, "peak {peak_kib} KiB");
        assert!(run.stderr.contains("release.yml:"), "{}", run.stderr);
        assert!(
            run.stderr.contains("alias") && run.stderr.contains("help:"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn oversized_manifest_is_refused() {
    let repo = repo_with(&format!("# {}\n", "x".repeat(2 * 1024 * 1024)), &[]);
    check_refuses(&repo, &["release.yml", "at most 1048576"]);
}

// ---------------------------------------------------------------------------------------------
// 7. Templates run within fuel, output and memory limits

fn notes_repo(template: &str) -> TestRepo {
    repo_with(
        "release:\n  notes:\n    template: notes.md.j2\n",
        &[("notes.md.j2", template)],
    )
}

#[test]
fn nested_loops_run_out_of_fuel() {
    let repo = notes_repo(
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    );
    let start = Instant::now();
    let run = check_refuses(&repo, &["notes.md.j2", "steps"]);
    assert!(start.elapsed() < Duration::from_secs(60));
    assert!(run.stderr.contains("help:"), "{}", run.stderr);
}

#[test]
fn string_doubling_is_stopped_by_the_memory_budget() {
    let mut t = String::from("{% set s = \"0123456789abcdef\" %}");
    for _ in 0..40 {
        t.push_str("{% set s = s ~ s %}");
    }
    t.push_str("{{ s | length }}");
    let repo = notes_repo(&t);
    let start = Instant::now();
    let (run, peak_kib) = Cli::new(repo.path(), &["check"]).run_measuring_peak_kib();
    let run = run.code(2);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(peak_kib < 1024 * 1024, "peak {peak_kib} KiB");
    assert!(run.stderr.contains("notes.md.j2"), "{}", run.stderr);
    assert!(run.stderr.contains("memory"), "{}", run.stderr);
}

#[test]
fn huge_single_allocation_is_stopped_by_the_memory_budget() {
    let repo = notes_repo("{{ \"x\" | center(10000000000) }}");
    let run = check_refuses(&repo, &["notes.md.j2"]);
    assert!(!run.stderr.contains("memory allocation"), "{}", run.stderr);
}

#[test]
fn notes_larger_than_the_limit_are_refused() {
    let repo = notes_repo("{% for i in range(100000) %}{{ \"x\" * 200 }}\n{% endfor %}");
    check_refuses(&repo, &["notes.md.j2", "renders more than 16.0 MiB"]);
}

#[test]
fn runaway_manifest_string_template_is_refused_naming_the_key() {
    let repo = repo_with(
        "release:\n  name: \"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}\"\n",
        &[],
    );
    check_refuses(&repo, &["release.yml:2", "`release.name`", "steps"]);
}

// ---------------------------------------------------------------------------------------------
// 8. Job outputs hold only clean values

#[test]
fn release_url_with_a_newline_is_not_written_to_dotenv_or_github_output() {
    let repo = repo_with("release:\n  name: \"{{ tag }}\"\n", &[]);
    // The emulator builds `_links.self` from the project's path: give it a newline.
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, "group/app\nINJECTED=1\nPATH=/tmp/evil");
    emu.add_private_token(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let dotenv = dir.path().join("release.env");
    let run = gitlab_ci(&repo, &emu, &["apply"]).run_with_dotenv(&dotenv);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("release URL"), "{}", run.stderr);
    assert!(run.stderr.contains("\\nINJECTED=1"), "{}", run.stderr);
    let written = std::fs::read_to_string(&dotenv).unwrap_or_default();
    assert!(!written.contains("INJECTED"), "{written}");
    assert!(!written.contains("PATH="), "{written}");

    let out = dir.path().join("github_output");
    let run = gitlab_ci(&repo, &emu, &["apply"])
        .env("GITHUB_OUTPUT", out.to_str().unwrap())
        .run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let written = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(!written.contains("INJECTED"), "{written}");
}

#[test]
fn clean_outputs_use_heredocs() {
    let repo = repo_with("release:\n  name: \"{{ tag }}\"\n", &[]);
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("github_output");
    let dotenv = dir.path().join("release.env");
    gitlab_ci(&repo, &emu, &["apply"])
        .env("GITHUB_OUTPUT", out.to_str().unwrap())
        .run_with_dotenv(&dotenv)
        .success();
    let env = std::fs::read_to_string(&dotenv).unwrap();
    assert!(env.starts_with("RELEASE_TAG=v1.0.0\nRELEASE_VERSION=1.0.0\nRELEASE_URL=http://"));
    assert_eq!(env.lines().count(), 4);
    let gh = std::fs::read_to_string(&out).unwrap();
    let first = gh.lines().next().unwrap();
    let (name, delim) = first.split_once("<<").unwrap();
    assert_eq!(name, "tag");
    assert!(delim.starts_with("ghadelimiter_"), "{gh}");
    assert!(
        gh.contains(&format!("tag<<{delim}\nv1.0.0\n{delim}\n")),
        "{gh}"
    );
}

#[test]
fn a_token_too_short_to_tell_from_text_does_not_refuse_ordinary_notes() {
    // A one-letter value occurs in almost any text: it is not looked for. A real token is.
    let repo = repo_with("release:\n  name: \"Release {{ version }}\"\n", &[]);
    let emu = emulator();
    gitlab_ci(&repo, &emu, &["notes"])
        .env("GITLAB_TOKEN", "t")
        .run()
        .success();
}
