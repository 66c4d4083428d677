//! SIGINT and SIGTERM during `apply`: the write in flight finishes, no new one starts, the
//! run says what it did and that running again is safe, and exits 130 or 143.

use std::time::{Duration, Instant};

use crate::helpers::cli::Cli;
use crate::helpers::converge::writes_nothing;
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::repo::TestRepo;

const PROJECT: u64 = 42;
const PATH: &str = "group/app";
const TOKEN: &str = "glpat-signal-token-0123456789";

const MANIFEST: &str = r#"release:
  name: "App {{ version }}"
  milestones: []
assets:
  links:
    - { name: Docs, url: "https://docs.example.com/{{ version }}" }
    - { name: Source, url: "https://src.example.com/{{ version }}" }
  files:
    - path: "dist/*.tar.gz"
  package: { name: app }
  checksums: SHA256SUMS
"#;

fn fixture() -> (TestRepo, GitlabEmulator) {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.commit_files(
        "chore: release files",
        &[
            ("dist/app-linux.tar.gz", "linux build"),
            ("dist/app-macos.tar.gz", "macos build"),
            ("dist/app-win.tar.gz", "windows build"),
            ("release.yml", MANIFEST),
        ],
    );
    repo.tag("v1.0.0");
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PATH);
    emu.add_private_token(TOKEN);
    (repo, emu)
}

fn apply(repo: &TestRepo, emu: &GitlabEmulator) -> Cli {
    Cli::new(repo.path(), &["apply"])
        .gitlab_job(
            &emu.url(),
            PROJECT,
            PATH,
            "v1.0.0",
            &repo.head().to_string(),
        )
        .env("GITLAB_TOKEN", TOKEN)
}

fn writes(emu: &GitlabEmulator) -> usize {
    emu.requests().iter().filter(|r| r.is_write()).count()
}

#[test]
fn a_signal_during_apply_starts_no_new_write_and_exits_130_or_143() {
    for (signal, code, name) in [("-INT", 130, "SIGINT"), ("-TERM", 143, "SIGTERM")] {
        let (repo, emu) = fixture();
        // Slow answers, so the signal arrives with most writes still to come.
        emu.set_latency(Duration::from_millis(300));
        let child = apply(&repo, &emu).spawn();
        let start = Instant::now();
        while writes(&emu) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no write started"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let at_signal = writes(&emu);
        let sent = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("interrupted by {name}: no new write was started"))
                && stderr.contains("running again is safe")
                && stderr.contains("change(s) were made before it"),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains(TOKEN));
        // At most the write in flight when the signal came was made after it.
        let after = writes(&emu);
        assert!(
            after <= at_signal + 1,
            "{name}: {after} writes, {at_signal} when the signal came"
        );
        // Running again converges, and the run after that writes nothing.
        emu.set_latency(Duration::ZERO);
        apply(&repo, &emu).run().success();
        writes_nothing(&emu, || apply(&repo, &emu).run());
        let links = emu.release(PROJECT, "v1.0.0").expect("release")["assets"]["links"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(links, 6, "{name}: two links and four files");
    }
}
