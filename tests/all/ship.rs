//! What a user installing relsync meets first: `--version` with the commit and the target,
//! shell completions, the man page, GitLab CI detected without `GITLAB_CI=true`, and the
//! example GitLab pipeline run by gitlab-ci-local against the emulator.

use std::path::Path;

use crate::helpers::cli::Cli;
use crate::helpers::converge::writes_nothing;
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::repo::TestRepo;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The commit `build.rs` should have recorded: HEAD of the checkout the tests run in.
fn checkout_commit() -> Option<String> {
    let repo = git2::Repository::open(root()).ok()?;
    let id = repo.head().ok()?.peel_to_commit().ok()?.id();
    Some(id.to_string()[..12].to_owned())
}

#[test]
fn version_names_the_commit_and_the_target() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--version", "-V"] {
        let run = Cli::new(dir.path(), &[flag]).run().success();
        let line = run.stdout.trim();
        let rest = line
            .strip_prefix(concat!("relsync ", env!("CARGO_PKG_VERSION"), " (commit "))
            .unwrap_or_else(|| panic!("unexpected version line: {line}"));
        let (commit, target) = rest
            .strip_suffix(')')
            .and_then(|r| r.split_once(", "))
            .unwrap_or_else(|| panic!("unexpected version line: {line}"));
        assert_eq!(commit.len(), 12, "{line}");
        assert!(commit.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
        if let Some(head) = checkout_commit() {
            assert_eq!(commit, head, "the binary was built from another commit");
        }
        // The target triple of this very build: arch first, OS in it.
        assert!(
            target.starts_with(std::env::consts::ARCH),
            "target {target} is not for {}",
            std::env::consts::ARCH
        );
        assert!(target.contains(std::env::consts::OS), "{target}");
    }
}

#[test]
fn version_works_under_a_subcommand_too() {
    let dir = tempfile::tempdir().unwrap();
    let top = Cli::new(dir.path(), &["--version"]).run().success().stdout;
    let sub = Cli::new(dir.path(), &["plan", "--version"])
        .run()
        .success()
        .stdout;
    assert!(sub.contains("(commit "), "{sub}");
    assert_eq!(
        top.trim().trim_start_matches("relsync "),
        sub.trim()
            .trim_start_matches("relsync-plan ")
            .trim_start_matches("relsync ")
    );
}

/// Every shell's script names the binary and every subcommand; bash and the POSIX shells
/// parse it.
#[test]
fn completions_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    // A broken manifest must not matter: completions read neither it nor the repository.
    std::fs::write(dir.path().join("release.yml"), "release: [unclosed\n").unwrap();
    let cases: &[(&str, &str)] = &[
        ("bash", "complete -F _relsync"),
        ("zsh", "#compdef relsync"),
        ("fish", "complete -c relsync"),
        (
            "powershell",
            "Register-ArgumentCompleter -Native -CommandName 'relsync'",
        ),
        ("elvish", "edit:completion:arg-completer[relsync]"),
    ];
    for (shell, marker) in cases {
        let run = Cli::new(dir.path(), &["completions", shell])
            .run()
            .success();
        assert!(
            run.stdout.contains(marker),
            "{shell}: no `{marker}` in\n{}",
            run.stdout
        );
        for sub in [
            "plan",
            "apply",
            "notes",
            "check",
            "schema",
            "completions",
            "man",
        ] {
            assert!(
                run.stdout.contains(sub),
                "{shell}: `{sub}` is not completed"
            );
        }
        // fish writes long flags as `-l name`.
        for flag in ["detailed-exitcode", "offline", "dotenv"] {
            assert!(
                run.stdout.contains(flag),
                "{shell}: `--{flag}` is not completed"
            );
        }
    }
    let bash = Cli::new(dir.path(), &["completions", "bash"])
        .run()
        .success();
    let script = dir.path().join("relsync.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    #[allow(clippy::disallowed_methods)] // bash only parses the script
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .expect("bash");
    assert!(status.success(), "bash cannot parse the completion script");
}

#[test]
fn completions_for_an_unknown_shell_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let run = Cli::new(dir.path(), &["completions", "tcsh"]).run().code(2);
    assert!(
        run.stderr.contains("invalid value 'tcsh'"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("bash"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let run = Cli::new(dir.path(), &["man"]).run().success();
    let man = run.stdout;
    assert!(
        man.starts_with(".ie") || man.contains(".TH relsync 1"),
        "{man}"
    );
    assert!(man.contains(".TH relsync 1"), "no title header");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(man.contains(section), "no `{section}`");
    }
    for sub in ["relsync\\-plan", "relsync\\-apply", "relsync\\-completions"] {
        assert!(man.contains(sub), "no `{sub}` in the man page");
    }
    assert!(man.contains(env!("CARGO_PKG_VERSION")));
}

const PROJECT: u64 = 1217;
const PROJECT_PATH: &str = "group/app";
const JOB_TOKEN: &str = "job-token-secret-0123456789";

/// A project with one earlier release, a tagged release commit and the files a build job
/// leaves in `dist/`, using the example manifest.
fn release_repo(manifest: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.tag("v1.0.0");
    repo.commit("feat(api): add the list endpoint");
    repo.commit_files(
        "fix: handle empty lists",
        &[
            ("release.yml", manifest),
            ("dist/app-v1.1.0-linux-amd64.tar.gz", "linux build"),
            ("dist/app-v1.1.0-linux-arm64.tar.gz", "arm build"),
        ],
    );
    repo.tag("v1.1.0");
    repo
}

fn example(name: &str) -> String {
    std::fs::read_to_string(root().join("examples").join(name)).unwrap()
}

/// gitlab-ci-local runs jobs with `GITLAB_CI=false`: relsync must still see GitLab CI from the
/// server's variables, release with the job token, and converge.
#[test]
fn gitlab_ci_detected_without_gitlab_ci_true() {
    let repo = release_repo(&example("release.yml"));
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PROJECT_PATH);
    emu.add_job_token(JOB_TOKEN);
    let job = || {
        Cli::new(repo.path(), &["apply"])
            .env("GITLAB_CI", "false")
            .env("CI_API_V4_URL", &emu.api_url())
            .env("CI_SERVER_URL", &emu.url())
            .env("CI_PROJECT_ID", &PROJECT.to_string())
            .env("CI_PROJECT_PATH", PROJECT_PATH)
            .env("CI_COMMIT_TAG", "v1.1.0")
            .env("CI_COMMIT_SHA", &repo.head().to_string())
            .env("CI_JOB_TOKEN", JOB_TOKEN)
    };
    let first = job().run().success();
    assert!(!first.stdout.contains(JOB_TOKEN) && !first.stderr.contains(JOB_TOKEN));
    let release = emu.release(PROJECT, "v1.1.0").expect("release created");
    assert_eq!(release["name"], "app 1.1.0");
    let files: Vec<String> = emu
        .package_files(PROJECT)
        .into_iter()
        .map(|f| f.file_name)
        .collect();
    assert!(
        files.contains(&"app-v1.1.0-linux-amd64.tar.gz".to_owned()),
        "{files:?}"
    );
    writes_nothing(&emu, || job().run());
}

/// The example's manifest passes `check` in a project that has no milestones or docs site
/// set up, before and after the build.
#[test]
fn example_manifest_checks_in_a_plain_project() {
    let repo = release_repo(&example("release.yml"));
    Cli::new(repo.path(), &["check", "--tag", "v1.1.0"])
        .run()
        .success();
}

/// The example pipeline (`examples/gitlab-ci.yml` with `examples/release.yml`), its release job
/// run by gitlab-ci-local with the shell executor against the emulator, as a tag pipeline
/// whose build job left two archives in `dist/`. The second pipeline makes zero writes.
/// `.ci/run` runs it with `GITLAB_CI_LOCAL` set to the gitlab-ci-local executable (npm).
#[test]
#[ignore = "needs gitlab-ci-local (npm) and rsync; .ci/run runs it"]
fn example_release_job_under_gitlab_ci_local() {
    #[allow(clippy::disallowed_methods)] // the tool's path, given by .ci/run
    let gcl = std::env::var("GITLAB_CI_LOCAL").expect("GITLAB_CI_LOCAL: the gitlab-ci-local path");
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.tag("v1.0.0");
    repo.commit_files(
        "ci: release with relsync",
        &[
            (".gitlab-ci.yml", &example("gitlab-ci.yml")),
            ("release.yml", &example("release.yml")),
        ],
    );
    repo.commit("feat(api): add the list endpoint");
    // What the build job's artifacts put in dist/ (gitlab-ci-local copies tracked files).
    repo.commit_files(
        "fix: handle empty lists",
        &[
            ("dist/app-v1.1.0-linux-amd64.tar.gz", "linux build"),
            ("dist/app-v1.1.0-linux-arm64.tar.gz", "arm build"),
        ],
    );
    repo.tag("v1.1.0");
    repo.repo()
        .remote("origin", "https://gitlab.example.com/group/app.git")
        .unwrap();
    repo.repo()
        .reference("refs/remotes/origin/main", repo.head(), true, "fetched")
        .unwrap();
    repo.repo()
        .reference_symbolic(
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
            true,
            "",
        )
        .unwrap();

    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PROJECT_PATH);
    emu.add_job_token(JOB_TOKEN);
    let home = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_relsync")).parent().unwrap();
    #[allow(clippy::disallowed_methods)] // the job's PATH: relsync first, then the host's tools
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pipeline = || {
        let vars = [
            format!("CI_SERVER_URL={}", emu.url()),
            format!("CI_API_V4_URL={}", emu.api_url()),
            format!("CI_PROJECT_ID={PROJECT}"),
            "CI_COMMIT_TAG=v1.1.0".to_owned(),
            format!("CI_JOB_TOKEN={JOB_TOKEN}"),
        ];
        let mut cmd = std::process::Command::new(&gcl);
        cmd.current_dir(repo.path())
            .env_clear()
            .env("PATH", &path)
            .env("HOME", home.path())
            .env("NO_COLOR", "1")
            .args(["--force-shell-executor", "--no-color"])
            .args([
                "--ignore-predefined-vars",
                "CI_SERVER_URL,CI_API_V4_URL,CI_PROJECT_ID,CI_COMMIT_TAG,CI_JOB_TOKEN",
            ]);
        for v in &vars {
            cmd.args(["--variable", v]);
        }
        cmd.arg("release");
        let out = cmd.output().expect("run gitlab-ci-local");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "the release job failed:\n{text}");
        assert!(text.contains("PASS") && text.contains("release"), "{text}");
        assert!(!text.contains(JOB_TOKEN), "the token was printed:\n{text}");
        text
    };

    let first = pipeline();
    assert!(first.contains("relsync apply"), "{first}");
    let release = emu
        .release(PROJECT, "v1.1.0")
        .expect("the job made the release");
    assert_eq!(release["name"], "app 1.1.0");
    let description = release["description"].as_str().unwrap();
    assert!(
        description.contains("add the list endpoint"),
        "{description}"
    );
    let mut files: Vec<String> = emu
        .package_files(PROJECT)
        .into_iter()
        .map(|f| f.file_name)
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "SHA256SUMS",
            "app-v1.1.0-linux-amd64.tar.gz",
            "app-v1.1.0-linux-arm64.tar.gz"
        ]
    );
    let dotenv = std::fs::read_to_string(repo.path().join("release.env")).unwrap();
    assert!(dotenv.contains("RELEASE_VERSION=1.1.0"), "{dotenv}");
    assert!(dotenv.contains("RELEASE_CHANGED=true"), "{dotenv}");

    emu.reset_requests();
    pipeline();
    let writes: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.is_write())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "the second pipeline wrote: {writes:?}");
    assert!(
        !emu.requests().is_empty(),
        "the second pipeline read nothing"
    );
    let dotenv = std::fs::read_to_string(repo.path().join("release.env")).unwrap();
    assert!(dotenv.contains("RELEASE_CHANGED=false"), "{dotenv}");
}

/// Every relative link in the README, the changelog and the docs/ pages about using relsync
/// names a file or directory inside the repository (anchors and web URLs aside).
#[test]
fn relative_links_resolve_inside_the_repository() {
    let root = root().canonicalize().unwrap();
    let mut pages = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") && !path.ends_with("guarantees.md") {
            pages.push(path);
        }
    }
    let mut checked = 0;
    for page in &pages {
        // Prose only: code blocks and inline code can hold `](` that is no link.
        let mut text = String::new();
        let mut fenced = false;
        for line in std::fs::read_to_string(page).unwrap().lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if !fenced {
                text.extend(line.split('`').step_by(2));
                text.push('\n');
            }
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            let path = target.split('#').next().unwrap();
            if path.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let resolved = page.parent().unwrap().join(path);
            let resolved = resolved
                .canonicalize()
                .unwrap_or_else(|_| panic!("{}: link `{target}` names nothing", page.display()));
            assert!(
                resolved.starts_with(&root),
                "{}: link `{target}` leaves the repository",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} relative links found");
}

/// The `run:` script of the composite action's step `name`.
fn action_step(name: &str) -> String {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let steps = action["runs"]["steps"].as_array().unwrap();
    let step = steps
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("action.yml has no step `{name}`"));
    step["run"].as_str().unwrap().to_owned()
}

/// Runs an action step's script with bash as the runner would, with only `env` and PATH.
fn run_step(script: &str, env: &[(&str, String)]) -> (bool, String) {
    #[allow(clippy::disallowed_methods)] // the host's PATH, for bash, curl, tar and sha256sum
    let path = std::env::var("PATH").unwrap_or_default();
    let out = std::process::Command::new("bash")
        .args([
            "--noprofile",
            "--norc",
            "-e",
            "-o",
            "pipefail",
            "-c",
            script,
        ])
        .env_clear()
        .env("PATH", path)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn outputs(file: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A release archive as scripts/build-dist.sh lays it out, and its `.sha256` file.
fn release_archive(dir: &Path, target: &str, program: &str) -> String {
    use sha2::Digest;
    let stage = tempfile::tempdir().unwrap();
    std::fs::write(stage.path().join("relsync"), program).unwrap();
    let archive = format!("relsync-{target}.tar.gz");
    #[allow(clippy::disallowed_methods)] // tar packs the test archive
    let ok = std::process::Command::new("tar")
        .arg("-czf")
        .arg(dir.join(&archive))
        .arg("-C")
        .arg(stage.path())
        .arg("relsync")
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar");
    let sum = hex::encode(sha2::Sha256::digest(
        std::fs::read(dir.join(&archive)).unwrap(),
    ));
    std::fs::write(
        dir.join(format!("{archive}.sha256")),
        format!("{sum}  {archive}\n"),
    )
    .unwrap();
    archive
}

/// By default the action installs the released binary of its own version (Cargo.toml's) for
/// the runner's platform, after checking the archive against its `.sha256`; a tampered archive
/// is refused and nothing is installed.
#[test]
fn action_installs_the_released_binary_only_when_its_sha256_matches() {
    let work = tempfile::tempdir().unwrap();
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let target = "x86_64-unknown-linux-musl";
    let program = "#!/bin/sh\necho released relsync\n";
    let archive = release_archive(&downloads, target, program);
    let resolve = action_step("Resolve relsync");
    let install = action_step("Install relsync");
    let cache = work.path().join("tool-cache");

    let resolve_for = |os: &str, arch: &str, version: &str| {
        let out = work.path().join(format!("resolve-{os}-{arch}-{version}"));
        let (ok, log) = run_step(
            &resolve,
            &[
                ("INPUT_VERSION", version.to_owned()),
                ("BUILD_FROM_SOURCE", "false".to_owned()),
                ("ACTION_PATH", root().display().to_string()),
                ("RUNNER_OS_NAME", os.to_owned()),
                ("RUNNER_ARCH_NAME", arch.to_owned()),
                ("RUNNER_TOOL_CACHE", cache.display().to_string()),
                ("GITHUB_OUTPUT", out.display().to_string()),
            ],
        );
        (ok, log, outputs(&out))
    };
    let (ok, log, resolved) = resolve_for("Linux", "X64", "");
    assert!(ok, "{log}");
    assert_eq!(resolved["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(resolved["target"], target);
    assert_eq!(resolved["key"], "", "a released binary needs no cache");
    let (_, _, mac) = resolve_for("macOS", "ARM64", "v9.8.7");
    assert_eq!(mac["version"], "9.8.7");
    assert_eq!(mac["target"], "aarch64-apple-darwin");
    let (ok, log, _) = resolve_for("Windows", "X64", "");
    assert!(!ok && log.contains("build-from-source: true"), "{log}");

    let install_into = |dir: &Path| {
        run_step(
            &install,
            &[
                ("VERSION", resolved["version"].clone()),
                ("TARGET", target.to_owned()),
                ("TOOL_DIR", dir.display().to_string()),
                ("BUILD_FROM_SOURCE", "false".to_owned()),
                ("DOWNLOAD_URL", format!("file://{}", downloads.display())),
                ("ACTION_REPOSITORY", "relsync/relsync".to_owned()),
                ("ACTION_PATH", root().display().to_string()),
            ],
        )
    };
    let good = work.path().join("good");
    let (ok, log) = install_into(&good);
    assert!(ok, "{log}");
    assert!(log.contains(&format!("{archive}: OK")), "{log}");
    assert_eq!(
        std::fs::read_to_string(good.join("bin/relsync")).unwrap(),
        program
    );
    #[allow(clippy::disallowed_methods)] // the installed program runs
    let said = std::process::Command::new(good.join("bin/relsync"))
        .output()
        .expect("the installed relsync runs");
    assert_eq!(String::from_utf8_lossy(&said.stdout), "released relsync\n");

    // The archive changes, its published checksum does not.
    let sums = std::fs::read(downloads.join(format!("{archive}.sha256"))).unwrap();
    release_archive(&downloads, target, "#!/bin/sh\necho something else\n");
    std::fs::write(downloads.join(format!("{archive}.sha256")), sums).unwrap();
    let bad = work.path().join("bad");
    let (ok, log) = install_into(&bad);
    assert!(!ok, "a tampered archive was installed:\n{log}");
    assert!(log.contains("does not match its sha256"), "{log}");
    assert!(!bad.join("bin/relsync").exists());

    // No release for this version: a clear error naming the way out.
    std::fs::remove_file(downloads.join(&archive)).unwrap();
    let (ok, log) = install_into(&work.path().join("missing"));
    assert!(!ok && log.contains("build-from-source: true"), "{log}");
}

/// The action's `files` input: each non-blank line becomes `--asset GLOB`, so its files are
/// planned as if listed under `assets.files`, next to the manifest's own; a glob that leaves the
/// repository is bad input (exit 2) before anything is read from the forge.
#[test]
fn action_files_input_adds_globs_to_the_manifest_files() {
    let repo = TestRepo::new();
    repo.commit_files(
        "feat: first",
        &[
            (
                "release.yml",
                "assets:\n  files:\n    - path: dist/*.tar.gz\n",
            ),
            ("dist/app.tar.gz", "tarball"),
            ("dist/app.zip", "zip"),
            ("docs/guide.pdf", "pdf"),
        ],
    );
    repo.tag("v1.0.0");
    let run = action_step("Run relsync");
    let plan = |files: &str| {
        run_step(
            &run,
            &[
                ("RELSYNC_BIN", env!("CARGO_BIN_EXE_relsync").to_owned()),
                ("INPUT_COMMAND", "plan".to_owned()),
                ("INPUT_MANIFEST", String::new()),
                ("INPUT_TAG", "v1.0.0".to_owned()),
                ("INPUT_FILES", files.to_owned()),
                (
                    "INPUT_ARGS",
                    format!(
                        "--offline --forge github --output json -C {}",
                        repo.path().display()
                    ),
                ),
                ("GITHUB_TOKEN", String::new()),
            ],
        )
    };
    let (ok, log) = plan("");
    assert!(ok, "{log}");
    assert!(
        log.contains("app.tar.gz") && !log.contains("app.zip"),
        "{log}"
    );

    let (ok, log) = plan("  dist/*.zip \n\n docs/guide.pdf\n");
    assert!(ok, "{log}");
    for name in ["app.tar.gz", "app.zip", "guide.pdf"] {
        assert!(log.contains(name), "{name} missing from the plan: {log}");
    }

    let (ok, log) = plan("../outside/*");
    assert!(!ok, "{log}");
    assert!(
        log.contains("--asset ../outside/*") && log.contains("inside the repository"),
        "{log}"
    );
}
