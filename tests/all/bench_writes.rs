//! Writes in phases, at once: the connection bound (a test), and the speed-up over a
//! one-at-a-time run against a forge 20 ms away (a benchmark, `#[ignore]`d; run it with
//! `scripts/bench-writes.sh`, which prints the figures the README quotes).

use std::time::{Duration, Instant};

use crate::helpers::cli::{Cli, Run};
use crate::helpers::converge::writes_nothing;
use crate::helpers::github::GithubEmulator;
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::repo::TestRepo;

const PROJECT: u64 = 11;
const PATH: &str = "group/app";
const GL_TOKEN: &str = "glpat-bench-token-0123456789";
const GH_REPO: &str = "octo/app";
const GH_TOKEN: &str = "ghs_benchtoken0123456789";

/// A release.yml with `n` links whose URLs carry `rev`.
fn links_manifest(n: usize, rev: &str) -> String {
    let mut m = String::from("assets:\n  links:\n");
    for i in 0..n {
        m.push_str(&format!(
            "    - {{ name: \"Mirror {i:03}\", url: \"https://mirror{i}.example.com/{rev}/app.tar.gz\" }}\n"
        ));
    }
    m
}

fn tagged_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("fix: second");
    repo.tag("v1.1.0");
    repo
}

fn gitlab(repo: &TestRepo, emu: &GitlabEmulator, concurrency: usize) -> Cli {
    Cli::new(
        repo.path(),
        &["apply", "-q", "--concurrency", &concurrency.to_string()],
    )
    .env("GITLAB_CI", "true")
    .env("CI_COMMIT_TAG", "v1.1.0")
    .env("CI_SERVER_URL", &emu.url())
    .env("CI_API_V4_URL", &format!("{}/api/v4", emu.url()))
    .env("CI_PROJECT_ID", &PROJECT.to_string())
    .env("CI_PROJECT_PATH", PATH)
    .env("GITLAB_TOKEN", GL_TOKEN)
}

fn github(repo: &TestRepo, emu: &GithubEmulator, concurrency: usize) -> Cli {
    Cli::new(
        repo.path(),
        &["apply", "-q", "--concurrency", &concurrency.to_string()],
    )
    .env("GITHUB_ACTIONS", "true")
    .env("GITHUB_REF_TYPE", "tag")
    .env("GITHUB_REF_NAME", "v1.1.0")
    .env("GITHUB_REPOSITORY", GH_REPO)
    .env("GITHUB_API_URL", &emu.api_url())
    .env("GITHUB_SERVER_URL", &emu.url())
    .env("GITHUB_TOKEN", GH_TOKEN)
}

fn gitlab_emulator() -> GitlabEmulator {
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PATH);
    emu.add_private_token(GL_TOKEN);
    emu
}

fn github_emulator() -> GithubEmulator {
    let emu = GithubEmulator::start();
    emu.add_repo(GH_REPO);
    emu.add_token(GH_TOKEN);
    emu
}

/// Runs `cli`, returning its run, how long it took and how many connections it opened.
fn measured(connections: impl Fn() -> usize, cli: Cli) -> (Run, Duration, usize) {
    let before = connections();
    let start = Instant::now();
    let run = cli.run();
    (run, start.elapsed(), connections() - before)
}

fn write(repo: &TestRepo, path: &str, content: &[u8]) {
    let p = repo.path().join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A run opens at most `--concurrency` connections, and reuses them: every response is read to
/// its end, so its connection goes back to the pool, and a request that starts while a finished
/// request's connection is still on its way back waits for it rather than opening one more
/// (`forge::http::connections`). Checked for 500 links added, then 500 URLs changed (GitLab,
/// 4 at once), and for uploads (GitHub, 3 at once).
#[test]
fn a_run_reuses_its_connections() {
    let repo = tagged_repo();
    let emu = gitlab_emulator();
    emu.set_latency(Duration::from_millis(2));
    // The release exists first, so that each link is a write of its own.
    write(&repo, "release.yml", links_manifest(0, "a").as_bytes());
    gitlab(&repo, &emu, 4).run().success();
    write(&repo, "release.yml", links_manifest(500, "a").as_bytes());
    let (run, _, opened) = measured(|| emu.connections(), gitlab(&repo, &emu, 4));
    run.success();
    assert_eq!(emu.links(PROJECT, "v1.1.0").len(), 500);
    assert!(
        opened <= 4,
        "{opened} connections for 500 links at most 4 at once"
    );
    let requests = emu.requests().len();
    assert!(
        opened * 100 <= requests,
        "{opened} connections for {requests} requests"
    );
    write(&repo, "release.yml", links_manifest(500, "b").as_bytes());
    let (run, _, opened) = measured(|| emu.connections(), gitlab(&repo, &emu, 4));
    run.success();
    assert!(
        opened <= 4,
        "{opened} connections for 500 link URLs changed at most 4 at once"
    );
    assert!(
        emu.links(PROJECT, "v1.1.0")
            .iter()
            .all(|l| l["url"].as_str().unwrap().contains("/b/"))
    );
    writes_nothing(&emu, || gitlab(&repo, &emu, 4).run());

    let repo = tagged_repo();
    let emu = github_emulator();
    emu.set_latency(Duration::from_millis(5));
    write(
        &repo,
        "release.yml",
        b"assets:\n  files:\n    - path: dist/*.bin\n",
    );
    for i in 0..6 {
        write(
            &repo,
            &format!("dist/part{i}.bin"),
            &vec![i as u8; 64 * 1024],
        );
    }
    let (run, _, opened) = measured(|| emu.connections(), github(&repo, &emu, 3));
    run.success();
    assert_eq!(emu.assets(GH_REPO, "v1.1.0").len(), 6);
    assert!(
        opened <= 3,
        "{opened} connections for 6 uploads at most 3 at once"
    );
    writes_nothing(&emu, || github(&repo, &emu, 3).run());
}

/// One scenario at concurrency 1 and 8: (seconds, connections) for each.
struct Figures {
    name: &'static str,
    serial: (f64, usize),
    concurrent: (f64, usize),
}

fn links_scenario(change: bool, concurrency: usize) -> (f64, usize) {
    let repo = tagged_repo();
    let emu = gitlab_emulator();
    // The release exists; the links are added (or, after a first sync, all changed).
    write(&repo, "release.yml", links_manifest(0, "a").as_bytes());
    gitlab(&repo, &emu, 8).run().success();
    if change {
        write(&repo, "release.yml", links_manifest(500, "a").as_bytes());
        gitlab(&repo, &emu, 8).run().success();
    }
    write(
        &repo,
        "release.yml",
        links_manifest(500, if change { "b" } else { "a" }).as_bytes(),
    );
    emu.set_latency(Duration::from_millis(20));
    let (run, took, opened) = measured(|| emu.connections(), gitlab(&repo, &emu, concurrency));
    run.success();
    assert_eq!(emu.links(PROJECT, "v1.1.0").len(), 500);
    (took.as_secs_f64(), opened)
}

fn uploads_scenario(concurrency: usize) -> (f64, usize) {
    let repo = tagged_repo();
    let emu = github_emulator();
    write(
        &repo,
        "release.yml",
        b"assets:\n  files:\n    - path: dist/*.bin\n",
    );
    write(
        &repo,
        "dist/first.bin",
        b"the release exists with one asset",
    );
    github(&repo, &emu, 8).run().success();
    for i in 0..20 {
        write(
            &repo,
            &format!("dist/part{i:02}.bin"),
            &vec![i as u8; 5 << 20],
        );
    }
    emu.set_latency(Duration::from_millis(20));
    let (run, took, opened) = measured(|| emu.connections(), github(&repo, &emu, concurrency));
    run.success();
    assert_eq!(emu.assets(GH_REPO, "v1.1.0").len(), 21);
    (took.as_secs_f64(), opened)
}

#[test]
#[ignore = "a benchmark: scripts/bench-writes.sh runs it and prints the figures"]
fn bench_writes_against_a_forge_20ms_away() {
    let figures = [
        Figures {
            name: "500 links added to an existing release (GitLab)",
            serial: links_scenario(false, 1),
            concurrent: links_scenario(false, 8),
        },
        Figures {
            name: "500 link URLs changed (GitLab)",
            serial: links_scenario(true, 1),
            concurrent: links_scenario(true, 8),
        },
        uploads_median_of(5),
    ];
    println!("| scenario | one at a time | 8 at once | speed-up | connections (8 at once) |");
    println!("|---|---|---|---|---|");
    for f in &figures {
        println!(
            "| {} | {:.2} s | {:.2} s | {:.1}x | {} |",
            f.name,
            f.serial.0,
            f.concurrent.0,
            f.serial.0 / f.concurrent.0,
            f.concurrent.1
        );
    }
}

/// The uploads take about a second, so one run is noise on a shared machine: `runs` of each,
/// one at a time and at once alternating, and the median of each.
fn uploads_median_of(runs: usize) -> Figures {
    let (mut serial, mut concurrent) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        serial.push(uploads_scenario(1));
        concurrent.push(uploads_scenario(8));
    }
    let median = |mut v: Vec<(f64, usize)>| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v[v.len() / 2]
    };
    Figures {
        name: "20 x 5 MB assets uploaded (GitHub), median of 5",
        serial: median(serial),
        concurrent: median(concurrent),
    }
}
