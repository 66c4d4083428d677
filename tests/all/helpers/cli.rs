//! Runs the real `relsync` binary with a hermetic environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A `relsync` invocation under construction.
pub struct Cli {
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: PathBuf,
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Cli {
    /// `relsync ARGS` in `dir`, with no CI variables.
    pub fn new(dir: &Path, args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            env: Vec::new(),
            dir: dir.to_path_buf(),
        }
    }

    /// Adds `--detailed-exitcode` (for `plan`).
    pub fn arg_detailed(mut self) -> Self {
        self.args.push("--detailed-exitcode".into());
        self
    }

    /// Runs with `--dotenv FILE`.
    pub fn run_with_dotenv(mut self, file: &Path) -> Run {
        self.args.push("--dotenv".into());
        self.args.push(file.display().to_string());
        self.run()
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }

    /// The forge given by flags, as outside CI: `--forge KIND --server URL --project P --tag T`.
    pub fn forge_flags(mut self, forge: &str, server: &str, project: &str, tag: &str) -> Self {
        for a in [
            "--forge",
            forge,
            "--server",
            server,
            "--project",
            project,
            "--tag",
            tag,
        ] {
            self.args.push(a.to_owned());
        }
        self
    }

    /// The variables GitLab sets in a tag pipeline's job
    /// (<https://docs.gitlab.com/ci/variables/predefined_variables/>), for the GitLab at
    /// `server` (an emulator's URL). The token is set apart.
    pub fn gitlab_job(
        self,
        server: &str,
        project_id: u64,
        path: &str,
        tag: &str,
        sha: &str,
    ) -> Self {
        self.env("GITLAB_CI", "true")
            .env("CI_COMMIT_TAG", tag)
            .env("CI_COMMIT_SHA", sha)
            .env("CI_SERVER_URL", server)
            .env("CI_API_V4_URL", &format!("{server}/api/v4"))
            .env("CI_PROJECT_ID", &project_id.to_string())
            .env("CI_PROJECT_PATH", path)
            .env("CI_PROJECT_URL", &format!("{server}/{path}"))
    }

    /// The variables GitHub Actions sets in a workflow run on a tag push
    /// (<https://docs.github.com/en/actions/reference/variables-reference>). The token is set
    /// apart.
    pub fn github_job(
        self,
        api: &str,
        server: &str,
        repository: &str,
        tag: &str,
        sha: &str,
    ) -> Self {
        self.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_REF_TYPE", "tag")
            .env("GITHUB_REF_NAME", tag)
            .env("GITHUB_SHA", sha)
            .env("GITHUB_REPOSITORY", repository)
            .env("GITHUB_API_URL", api)
            .env("GITHUB_SERVER_URL", server)
    }

    /// The variables Gitea and Forgejo Actions set on a tag push: GitHub's names, plus
    /// `GITEA_ACTIONS`, and no `GITHUB_API_URL`. The token is set apart.
    pub fn gitea_job(self, server: &str, repository: &str, tag: &str, sha: &str) -> Self {
        self.env("GITHUB_ACTIONS", "true")
            .env("GITEA_ACTIONS", "true")
            .env("GITHUB_REF_TYPE", "tag")
            .env("GITHUB_REF_NAME", tag)
            .env("GITHUB_SHA", sha)
            .env("GITHUB_REPOSITORY", repository)
            .env("GITHUB_SERVER_URL", server)
    }

    /// Runs it while sampling its peak resident memory (`VmHWM`, Linux) until it exits.
    pub fn run_measuring_peak_kib(self) -> (Run, u64) {
        let mut cmd = self.command();
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().expect("spawn relsync");
        let status_file = format!("/proc/{}/status", child.id());
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (output, peak) = std::thread::scope(|s| {
            let sampler = s.spawn(|| {
                let mut peak = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(text) = std::fs::read_to_string(&status_file) {
                        let hwm = text
                            .lines()
                            .find_map(|l| l.strip_prefix("VmHWM:"))
                            .and_then(|v| {
                                v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
                            });
                        peak = peak.max(hwm.unwrap_or(0));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                peak
            });
            let output = child.wait_with_output().expect("wait relsync");
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            (output, sampler.join().unwrap())
        });
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        (run, peak)
    }

    pub fn run(self) -> Run {
        let Output {
            status,
            stdout,
            stderr,
        } = self.command().output().expect("run relsync");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Runs the binary with its standard output sent to `stdout` (its stdout in the
    /// result is empty).
    pub fn run_into(self, stdout: std::process::Stdio) -> Run {
        let Output { status, stderr, .. } = self
            .command()
            .stdout(stdout)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn relsync")
            .wait_with_output()
            .expect("wait relsync");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::new(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Starts the binary without waiting, its output piped.
    pub fn spawn(self) -> std::process::Child {
        self.command()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn relsync")
    }

    #[allow(clippy::disallowed_methods)] // the child inherits only PATH, HOME and TMPDIR
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_relsync"));
        cmd.args(&self.args).current_dir(&self.dir).env_clear();
        for key in ["PATH", "HOME", "TMPDIR"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }
}

/// Runs two invocations at the same time, as two CI jobs for one tag would.
pub fn run_together(a: Cli, b: Cli) -> [Run; 2] {
    std::thread::scope(|s| {
        let a = s.spawn(|| a.run());
        let b = s.spawn(|| b.run());
        [a.join().expect("first run"), b.join().expect("second run")]
    })
}
