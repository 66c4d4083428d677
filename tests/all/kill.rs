//! `kill -9` during `apply`, through the real binary against each forge's emulator: whatever
//! request the process dies at (after k answered requests, or while request k+1 is in flight),
//! at most two more runs reach exactly the state a clean run reaches from the same start, what
//! was made by hand survives, and one further run writes nothing.
//!
//! Kill points are drawn from fixed seeds, so a failure names a reproducible k; each
//! scenario counts the requests N of a clean run and tries one k in each quarter of 1..N.

use std::time::{Duration, Instant};

use crate::helpers::cli::Cli;
use crate::helpers::converge::writes_nothing;
use crate::helpers::emu_common::{Emulator, RandomFault, Rng};
use crate::helpers::gitea::GiteaEmulator;
use crate::helpers::github::GithubEmulator;
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::repo::TestRepo;
use crate::helpers::tgit::TgitEmulator;

/// One kill point per seed.
const SEEDS: [u64; 4] = [3, 17, 41, 97];

/// Latency that makes the kill land while the next request is being handled.
const IN_FLIGHT: Duration = Duration::from_millis(20);

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    /// No release yet: the tag, the release, its links and files are all created.
    FirstRelease,
    /// After a first release and a link or file added by hand: a link dropped, one renamed, one
    /// added; a file changed, one dropped, one added.
    ManifestChange,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::FirstRelease => "first-release",
            Scenario::ManifestChange => "manifest-change",
        }
    }
}

/// Names the state and fault types of an emulator through its alias.
trait Parts {
    type S;
    type F;
}

impl<S, F> Parts for Emulator<S, F> {
    type S = S;
    type F = F;
}

/// What the harness needs to know about one forge.
struct Forge<S, F> {
    name: &'static str,
    /// A fresh emulator with its project or repository and token.
    start: fn() -> Emulator<S, F>,
    /// `relsync apply` for this forge, tag `v1.1.0`.
    apply: fn(&TestRepo, &Emulator<S, F>) -> Cli,
    /// The first manifest and the changed one.
    manifests: [&'static str; 2],
    /// Everything the forge shows about the release, without ids, dates or the emulator's port.
    snapshot: fn(&Emulator<S, F>) -> Vec<String>,
    /// Adds a link or file named `hand` to the release, as a person would.
    by_hand: fn(&Emulator<S, F>),
    hand: &'static str,
}

const FILES_1: [(&str, &str); 3] = [
    ("dist/app-linux.tar.gz", "linux build 1"),
    ("dist/app-macos.tar.gz", "macos build 1"),
    ("dist/app-win.tar.gz", "windows build 1"),
];

/// The repository and emulator at the scenario's start.
fn start<S, F: RandomFault>(forge: &Forge<S, F>, scenario: Scenario) -> (TestRepo, Emulator<S, F>) {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.tag("v1.0.0");
    repo.commit("feat(api): add the list endpoint");
    repo.commit("fix: handle empty lists");
    let mut files: Vec<(&str, &str)> = FILES_1.to_vec();
    files.push(("release.yml", forge.manifests[0]));
    repo.commit_files("chore: release files", &files);
    repo.tag("v1.1.0");
    let emu = (forge.start)();
    if scenario == Scenario::ManifestChange {
        (forge.apply)(&repo, &emu).run().success();
        (forge.by_hand)(&emu);
        let dir = repo.path();
        std::fs::write(dir.join("release.yml"), forge.manifests[1]).unwrap();
        std::fs::write(dir.join("dist/app-linux.tar.gz"), "linux build 2").unwrap();
        std::fs::remove_file(dir.join("dist/app-win.tar.gz")).unwrap();
        std::fs::write(dir.join("dist/app-arm.tar.gz"), "arm build 1").unwrap();
    }
    emu.reset_requests();
    (repo, emu)
}

/// Runs every seeded kill point of one forge and scenario; panics listing every failing point.
fn killed_runs_converge<S, F: RandomFault>(forge: &Forge<S, F>, scenario: Scenario) {
    let label = format!("{}/{}", forge.name, scenario.name());
    // The clean run: the state to reach and how many requests it makes.
    let (repo, emu) = start(forge, scenario);
    (forge.apply)(&repo, &emu).run().success();
    let total = emu.requests().len() as u64;
    let clean = (forge.snapshot)(&emu);
    assert!(total > 1, "{label}: the clean run made {total} request(s)");
    drop(emu);
    drop(repo);

    let mut failures = Vec::new();
    let mut tried = Vec::new();
    // Seed i picks k in the i-th of equal bands of 1..total, so the points spread over the run.
    let bands = SEEDS.len() as u64;
    for (i, seed) in (0..).zip(SEEDS) {
        let mut rng = Rng(seed);
        let low = 1 + i * (total - 1) / bands;
        let high = (1 + (i + 1) * (total - 1) / bands).max(low + 1);
        let k = low + rng.next_u64() % (high - low);
        let in_flight = rng.next_u64().is_multiple_of(2);
        let point = format!("k={k}{}", if in_flight { " (in flight)" } else { "" });
        tried.push(point.clone());
        if let Err(e) = kill_point(forge, scenario, k, in_flight, &clean) {
            failures.push(format!("{label} {point}: {e}"));
        }
    }
    println!(
        "{label}: {} kill points of {total} requests tried ({}), {} failure(s)",
        tried.len(),
        tried.join(", "),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Kills `apply` once k requests were answered, then converges and compares with `clean`.
fn kill_point<S, F: RandomFault>(
    forge: &Forge<S, F>,
    scenario: Scenario,
    k: u64,
    in_flight: bool,
    clean: &[String],
) -> Result<(), String> {
    let (repo, emu) = start(forge, scenario);
    let hand = match scenario {
        Scenario::ManifestChange => Some(forge.hand),
        Scenario::FirstRelease => None,
    };
    if in_flight {
        emu.set_latency(IN_FLIGHT);
    }
    let mut child = (forge.apply)(&repo, &emu).spawn();
    let began = Instant::now();
    while (emu.requests().len() as u64) < k {
        if child.try_wait().expect("poll relsync").is_some() {
            return Err(format!(
                "the run ended after {} requests, before the kill",
                emu.requests().len()
            ));
        }
        if began.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("no kill point within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("SIGKILL relsync");
    child.wait().expect("reap relsync");
    // The next job starts once the dead one's last request was answered or dropped: a write
    // landing in the middle of the next run is two writers at once, not a crash.
    let mut seen = emu.requests().len();
    loop {
        std::thread::sleep(IN_FLIGHT * 3);
        let now = emu.requests().len();
        if now == seen {
            break;
        }
        seen = now;
    }
    emu.set_latency(Duration::ZERO);

    let mut last = None;
    for _ in 0..2 {
        let run = (forge.apply)(&repo, &emu).run();
        let ok = run.code == 0;
        last = Some(run);
        if ok {
            break;
        }
    }
    let last = last.expect("one run");
    if last.code != 0 {
        return Err(format!(
            "no success in two runs after the kill; last exit {}:\n{}",
            last.code, last.stderr
        ));
    }
    let now = (forge.snapshot)(&emu);
    if now != clean {
        return Err(format!(
            "state differs from the clean run's\nclean:  {clean:#?}\nkilled: {now:#?}"
        ));
    }
    if let Some(hand) = hand
        && !now.iter().any(|l| l.contains(hand))
    {
        return Err(format!("the item made by hand ({hand}) is gone"));
    }
    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        writes_nothing(&emu, || (forge.apply)(&repo, &emu).run());
    }));
    done.map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "the run after convergence wrote".into())
    })
}

const GITLAB_HAND: &str = "Screenshot";
const FILE_HAND: &str = "screenshot.png";

/// The emulator's base URL, replaced so snapshots of different emulators compare.
fn portless(text: &str, url: &str) -> String {
    text.replace(url, "EMU")
}

fn content(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// GitLab

const GL_PROJECT: u64 = 42;
const GL_PATH: &str = "group/app";
const GL_TOKEN: &str = "glpat-kill-token-0123456789";

const GITLAB: Forge<<GitlabEmulator as Parts>::S, <GitlabEmulator as Parts>::F> = Forge {
    name: "gitlab",
    start: || {
        let emu = GitlabEmulator::start();
        emu.add_project(GL_PROJECT, GL_PATH);
        emu.add_private_token(GL_TOKEN);
        emu
    },
    apply: |repo, emu| {
        Cli::new(repo.path(), &["apply"])
            .gitlab_job(
                &emu.url(),
                GL_PROJECT,
                GL_PATH,
                "v1.1.0",
                &repo.head().to_string(),
            )
            .env("GITLAB_TOKEN", GL_TOKEN)
    },
    manifests: [
        r#"release:
  name: "App {{ version }}"
assets:
  links:
    - { name: Docs, url: "https://docs.example.com/{{ version }}", type: runbook }
    - { name: Source, url: "https://src.example.com/{{ version }}" }
  files:
    - path: "dist/*.tar.gz"
      direct_asset_path: "/bin/{{ file.name }}"
  package: { name: app }
  checksums: SHA256SUMS
"#,
        r#"release:
  name: "App {{ version }}"
assets:
  links:
    - { name: Documentation, url: "https://docs.example.com/{{ version }}", type: runbook }
    - { name: Mirror, url: "https://mirror.example.com/app", type: other }
  files:
    - path: "dist/*.tar.gz"
      direct_asset_path: "/bin/{{ file.name }}"
  package: { name: app }
  checksums: SHA256SUMS
"#,
    ],
    snapshot: |emu| {
        let url = emu.url();
        let mut out = Vec::new();
        let releases = emu.releases(GL_PROJECT);
        out.push(format!("releases: {}", releases.len()));
        if let Some(r) = emu.release(GL_PROJECT, "v1.1.0") {
            out.push(format!("name: {}", r["name"]));
            out.push(format!(
                "description: {}",
                portless(r["description"].as_str().unwrap_or(""), &url)
            ));
        }
        let mut links: Vec<String> = emu
            .links(GL_PROJECT, "v1.1.0")
            .iter()
            .map(|l| {
                portless(
                    &format!(
                        "link: {} {} {} {}",
                        l["name"], l["url"], l["link_type"], l["direct_asset_url"]
                    ),
                    &url,
                )
            })
            .collect();
        links.sort();
        out.extend(links);
        let mut files: Vec<String> = emu
            .package_files(GL_PROJECT)
            .into_iter()
            .map(|f| {
                format!(
                    "file: {}/{}/{} {}",
                    f.package_name,
                    f.version,
                    f.file_name,
                    content(&f.content)
                )
            })
            .collect();
        files.sort();
        out.extend(files);
        out.push(format!("tags: {:?}", emu.tags(GL_PROJECT)));
        out
    },
    by_hand: |emu| {
        emu.add_link_by_hand(
            GL_PROJECT,
            "v1.1.0",
            GITLAB_HAND,
            "https://img.example.com/shot.png",
        );
    },
    hand: GITLAB_HAND,
};

// ---------------------------------------------------------------------------------------------
// Tencent Git

const TG_PROJECT: u64 = 85436;
const TG_PATH: &str = "tencent/code";
const TG_TOKEN: &str = "tgit-kill-token-123456";

const TGIT: Forge<<TgitEmulator as Parts>::S, <TgitEmulator as Parts>::F> = Forge {
    name: "tgit",
    start: || {
        let emu = TgitEmulator::start();
        emu.add_project(TG_PROJECT, TG_PATH);
        emu.add_private_token(TG_TOKEN);
        emu
    },
    apply: |repo, emu| {
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
                "v1.1.0",
            ],
        )
        .env("TGIT_TOKEN", TG_TOKEN)
    },
    manifests: [
        r#"release:
  name: "Code {{ version }}"
  labels: [stable]
assets:
  links:
    - { name: Docs, url: "https://docs.example.com/{{ version }}" }
    - { name: Source, url: "https://src.example.com/{{ version }}" }
  files:
    - path: "dist/*.tar.gz"
  checksums: SHA256SUMS
"#,
        r#"release:
  name: "Code {{ version }}"
  labels: [stable]
assets:
  links:
    - { name: Documentation, url: "https://docs.example.com/{{ version }}" }
    - { name: Mirror, url: "https://mirror.example.com/app" }
  files:
    - path: "dist/*.tar.gz"
  checksums: SHA256SUMS
"#,
    ],
    snapshot: |emu| {
        let url = emu.url();
        let mut out = Vec::new();
        out.push(format!("releases: {}", emu.releases(TG_PROJECT).len()));
        if let Some(r) = emu.release(TG_PROJECT, "v1.1.0") {
            out.push(format!("title: {} type: {}", r["title"], r["type"]));
            out.push(format!(
                "description: {}",
                portless(r["description"].as_str().unwrap_or(""), &url)
            ));
        }
        let mut labels = emu.labels(TG_PROJECT, "v1.1.0");
        labels.sort();
        out.push(format!("labels: {labels:?}"));
        let mut files: Vec<String> = emu
            .attachments(TG_PROJECT, "v1.1.0")
            .into_iter()
            .map(|a| format!("file: {} {}", a.name, content(&a.content)))
            .collect();
        files.sort();
        out.extend(files);
        out.push(format!("tags: {:?}", emu.tags(TG_PROJECT)));
        out
    },
    by_hand: |emu| {
        emu.add_attachment_by_hand(TG_PROJECT, "v1.1.0", FILE_HAND, b"png");
    },
    hand: FILE_HAND,
};

// ---------------------------------------------------------------------------------------------
// GitHub

const GH_REPO: &str = "octo/app";
const GH_TOKEN: &str = "ghs_killtoken0123456789";

const GH_MANIFESTS: [&str; 2] = [
    r#"release:
  name: "App {{ version }}"
assets:
  links:
    - { name: Docs, url: "https://docs.example.com/{{ version }}" }
    - { name: Source, url: "https://src.example.com/{{ version }}" }
  files:
    - path: "dist/*.tar.gz"
  checksums: SHA256SUMS
"#,
    r#"release:
  name: "App {{ version }}"
assets:
  links:
    - { name: Documentation, url: "https://docs.example.com/{{ version }}" }
    - { name: Mirror, url: "https://mirror.example.com/app" }
  files:
    - path: "dist/*.tar.gz"
  checksums: SHA256SUMS
"#,
];

const GITHUB: Forge<<GithubEmulator as Parts>::S, <GithubEmulator as Parts>::F> = Forge {
    name: "github",
    start: || {
        let emu = GithubEmulator::start();
        emu.add_repo(GH_REPO);
        emu.add_token(GH_TOKEN);
        emu
    },
    apply: |repo, emu| {
        Cli::new(repo.path(), &["apply"])
            .env("CI", "true")
            .github_job(
                &emu.api_url(),
                &emu.url(),
                GH_REPO,
                "v1.1.0",
                &repo.head().to_string(),
            )
            .env("GITHUB_RUN_ID", "77")
            .env("GITHUB_TOKEN", GH_TOKEN)
    },
    manifests: GH_MANIFESTS,
    snapshot: |emu| {
        let url = emu.url();
        let mut out = Vec::new();
        out.push(format!("releases: {}", emu.releases(GH_REPO).len()));
        for r in emu.releases_for_tag(GH_REPO, "v1.1.0") {
            out.push(format!(
                "release: {} draft={} prerelease={}",
                r["name"], r["draft"], r["prerelease"]
            ));
            out.push(format!(
                "body: {}",
                portless(r["body"].as_str().unwrap_or(""), &url)
            ));
        }
        let mut files: Vec<String> = emu
            .assets(GH_REPO, "v1.1.0")
            .into_iter()
            .map(|a| format!("file: {} {} {}", a.name, a.state, content(&a.content)))
            .collect();
        files.sort();
        out.extend(files);
        out.push(format!("tags: {:?}", emu.tags(GH_REPO)));
        out
    },
    by_hand: |emu| {
        emu.add_asset_by_hand(GH_REPO, "v1.1.0", FILE_HAND, b"png");
    },
    hand: FILE_HAND,
};

// ---------------------------------------------------------------------------------------------
// Gitea

const GT_REPO: &str = "team/app";
const GT_TOKEN: &str = "gitea-kill-token-abcdef";

const GITEA: Forge<<GiteaEmulator as Parts>::S, <GiteaEmulator as Parts>::F> = Forge {
    name: "gitea",
    start: || {
        let emu = GiteaEmulator::start();
        emu.add_repo(GT_REPO);
        emu.add_token(GT_TOKEN);
        emu
    },
    apply: |repo, emu| {
        Cli::new(repo.path(), &["apply"])
            .gitea_job(&emu.url(), GT_REPO, "v1.1.0", &repo.head().to_string())
            .env("GITEA_TOKEN", GT_TOKEN)
    },
    manifests: GH_MANIFESTS,
    snapshot: |emu| {
        let url = emu.url();
        let mut out = Vec::new();
        let releases = emu.releases(GT_REPO);
        out.push(format!("releases: {}", releases.len()));
        for r in releases.iter().filter(|r| r["tag_name"] == "v1.1.0") {
            out.push(format!(
                "release: {} draft={} prerelease={}",
                r["name"], r["draft"], r["prerelease"]
            ));
            out.push(format!(
                "body: {}",
                portless(r["body"].as_str().unwrap_or(""), &url)
            ));
        }
        let mut files: Vec<String> = emu
            .attachments(GT_REPO, "v1.1.0")
            .into_iter()
            .map(|a| {
                format!(
                    "file: {} {} {:?}",
                    a.name,
                    content(&a.content),
                    a.external_url
                )
            })
            .collect();
        files.sort();
        out.extend(files);
        out.push(format!("tags: {:?}", emu.tags(GT_REPO)));
        out
    },
    by_hand: |emu| {
        emu.add_attachment_by_hand(GT_REPO, "v1.1.0", FILE_HAND, b"png");
    },
    hand: FILE_HAND,
};

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn gitlab_first_release_converges_after_kill_9() {
    killed_runs_converge(&GITLAB, Scenario::FirstRelease);
}

#[test]
fn gitlab_manifest_change_converges_after_kill_9() {
    killed_runs_converge(&GITLAB, Scenario::ManifestChange);
}

#[test]
fn tgit_first_release_converges_after_kill_9() {
    killed_runs_converge(&TGIT, Scenario::FirstRelease);
}

#[test]
fn tgit_manifest_change_converges_after_kill_9() {
    killed_runs_converge(&TGIT, Scenario::ManifestChange);
}

#[test]
fn github_first_release_converges_after_kill_9() {
    killed_runs_converge(&GITHUB, Scenario::FirstRelease);
}

#[test]
fn github_manifest_change_converges_after_kill_9() {
    killed_runs_converge(&GITHUB, Scenario::ManifestChange);
}

#[test]
fn gitea_first_release_converges_after_kill_9() {
    killed_runs_converge(&GITEA, Scenario::FirstRelease);
}

#[test]
fn gitea_manifest_change_converges_after_kill_9() {
    killed_runs_converge(&GITEA, Scenario::ManifestChange);
}
