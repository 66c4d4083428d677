//! The network as a CI job meets it, through the real binary against the GitLab emulator: a
//! forge behind a certificate from a private CA, trusted only when the CA is given
//! (`CI_SERVER_TLS_CA_FILE`, `ADDITIONAL_CA_CERT_BUNDLE` inline or as a path, `forge.ca_file`,
//! `RELSYNC_CA_FILE`, `SSL_CERT_FILE`), and the proxies of the environment (`HTTP_PROXY`,
//! `HTTPS_PROXY`, `NO_PROXY`), shown by a proxy that logs what it relays.

use crate::helpers::cli::{Cli, Run};
use crate::helpers::emu_common::{TestCa, TlsFront};
use crate::helpers::gitlab::GitlabEmulator;
use crate::helpers::proxy::Proxy;
use crate::helpers::repo::TestRepo;

const PROJECT: u64 = 7;
const PATH: &str = "group/app";
const TOKEN: &str = "glpat-network-test-token-4242";

const MANIFEST: &str = r#"release:
  name: "App {{ version }}"
  milestones: []
assets:
  links:
    - { name: Docs, url: "https://docs.example.com/{{ version }}", type: runbook }
  files:
    - path: "dist/*.tar.gz"
  package: { name: app }
"#;

/// A repository tagged `v1.1.0` with `release.yml` (`manifest`), one file to upload and
/// `extra` files, all committed.
fn repo_with(manifest: &str, extra: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.tag("v1.0.0");
    repo.commit("fix: handle empty lists");
    let mut files = vec![
        ("release.yml", manifest),
        ("dist/app-linux.tar.gz", "linux build 1"),
    ];
    files.extend_from_slice(extra);
    repo.commit_files("chore: release files", &files);
    repo.tag("v1.1.0");
    repo
}

fn emulator() -> GitlabEmulator {
    let emu = GitlabEmulator::start();
    emu.add_project(PROJECT, PATH);
    emu.add_private_token(TOKEN);
    emu
}

/// `relsync apply` in a GitLab CI job whose server is `server` (the web root, `http://` or
/// `https://`).
fn apply_in_ci(repo: &TestRepo, server: &str) -> Cli {
    Cli::new(repo.path(), &["apply"])
        .gitlab_job(server, PROJECT, PATH, "v1.1.0", &repo.head().to_string())
        .env("GITLAB_TOKEN", TOKEN)
}

/// The release, its links and its file are on the emulator.
#[track_caller]
fn assert_released(emu: &GitlabEmulator) {
    let release = emu.release(PROJECT, "v1.1.0").expect("release created");
    assert_eq!(release["name"], "App 1.1.0");
    let mut links: Vec<String> = emu
        .links(PROJECT, "v1.1.0")
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect();
    links.sort();
    assert_eq!(links, ["Docs", "app-linux.tar.gz"]);
    let files = emu.package_files(PROJECT);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].content, b"linux build 1");
}

/// A file holding `pem`, in a directory of its own that lives as long as the returned guard.
fn pem_file(pem: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, pem).expect("write the CA");
    (dir, path.display().to_string())
}

/// The emulator behind TLS with a certificate from a new private CA.
fn tls_fixture() -> (TestCa, GitlabEmulator, TlsFront) {
    let ca = TestCa::new("relsync test CA");
    let emu = emulator();
    let front = emu.serve_tls(&ca.cert_pem, &ca.key_pem);
    (ca, emu, front)
}

/// The run succeeded over TLS: every request went through the front's handshakes.
#[track_caller]
fn assert_released_over_tls(run: Run, emu: &GitlabEmulator, front: &TlsFront) {
    let run = run.success();
    assert!(run.stdout.contains("converged"), "{}", run.stdout);
    assert_released(emu);
    assert!(front.handshakes() >= 1, "no TLS connection was made");
    assert!(
        front.failed_handshakes().is_empty(),
        "{:?}",
        front.failed_handshakes()
    );
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("host") == Some(front.authority().as_str())),
        "a request did not come through the TLS front: {:?}",
        emu.requests()
            .iter()
            .map(|r| r.header("host"))
            .collect::<Vec<_>>()
    );
}

/// The run failed as a TLS failure should: exit 1, a certificate error, no panic, no token,
/// and nothing reached the forge.
#[track_caller]
fn assert_refused_certificate(run: Run, emu: &GitlabEmulator, front: &TlsFront) {
    let run = run.code(1);
    let out = format!("{}\n{}", run.stdout, run.stderr);
    assert!(
        out.to_lowercase().contains("certificate"),
        "no certificate error in:\n{out}"
    );
    assert!(
        out.contains("CI_SERVER_TLS_CA_FILE") && !out.contains("retrying"),
        "a certificate failure is final and names the remedy:\n{out}"
    );
    assert!(!out.contains("panicked"), "{out}");
    assert!(!out.contains(TOKEN), "the token was printed:\n{out}");
    assert!(emu.requests().is_empty(), "{:?}", emu.requests());
    assert!(emu.release(PROJECT, "v1.1.0").is_none());
    // The client's alert may reach the front just after the client exited.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while front.failed_handshakes().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let failed = front.failed_handshakes();
    assert!(!failed.is_empty(), "the client never tried a handshake");
    assert!(
        failed.iter().all(|e| e.contains("UnknownCA")),
        "the client did not refuse the certificate as unknown: {failed:?}"
    );
    assert_eq!(front.handshakes(), 0);
}

// ---------------------------------------------------------------------------------------------
// A private CA

#[test]
fn private_ca_from_ci_server_tls_ca_file() {
    let (ca, emu, front) = tls_fixture();
    let repo = repo_with(MANIFEST, &[]);
    let (_dir, path) = pem_file(&ca.ca_pem);
    let run = apply_in_ci(&repo, &front.url())
        .env("CI_SERVER_TLS_CA_FILE", &path)
        .run();
    assert_released_over_tls(run, &emu, &front);
}

#[test]
fn private_ca_inline_in_additional_ca_cert_bundle() {
    let (ca, emu, front) = tls_fixture();
    let repo = repo_with(MANIFEST, &[]);
    let run = apply_in_ci(&repo, &front.url())
        .env("ADDITIONAL_CA_CERT_BUNDLE", &ca.ca_pem)
        .run();
    assert_released_over_tls(run, &emu, &front);
}

#[test]
fn private_ca_as_a_path_in_additional_ca_cert_bundle_among_other_cas() {
    let (ca, emu, front) = tls_fixture();
    let other = TestCa::new("some other CA");
    let repo = repo_with(MANIFEST, &[]);
    let (_dir, path) = pem_file(&format!("{}{}", other.ca_pem, ca.ca_pem));
    let run = apply_in_ci(&repo, &front.url())
        .env("ADDITIONAL_CA_CERT_BUNDLE", &path)
        .run();
    assert_released_over_tls(run, &emu, &front);
}

#[test]
fn private_ca_from_forge_ca_file_in_release_yml() {
    let (ca, emu, front) = tls_fixture();
    let manifest = format!("forge:\n  ca_file: certs/ca.pem\n{MANIFEST}");
    let repo = repo_with(&manifest, &[("certs/ca.pem", &ca.ca_pem)]);
    let run = apply_in_ci(&repo, &front.url()).run();
    assert_released_over_tls(run, &emu, &front);
}

#[test]
fn private_ca_from_relsync_ca_file() {
    let (ca, emu, front) = tls_fixture();
    let repo = repo_with(MANIFEST, &[]);
    let (_dir, path) = pem_file(&ca.ca_pem);
    let run = apply_in_ci(&repo, &front.url())
        .env("RELSYNC_CA_FILE", &path)
        .run();
    assert_released_over_tls(run, &emu, &front);
}

/// `SSL_CERT_FILE` is trusted. (rustls-platform-verifier, under reqwest, reads it too, as the
/// system bundle it then replaces: this run passes even when relsync ignores the variable.)
#[test]
fn private_ca_from_ssl_cert_file() {
    let (ca, emu, front) = tls_fixture();
    let repo = repo_with(MANIFEST, &[]);
    let (_dir, path) = pem_file(&ca.ca_pem);
    let run = apply_in_ci(&repo, &front.url())
        .env("SSL_CERT_FILE", &path)
        .run();
    assert_released_over_tls(run, &emu, &front);
}

#[test]
fn private_ca_also_for_the_localhost_name() {
    let (ca, emu, front) = tls_fixture();
    let repo = repo_with(MANIFEST, &[]);
    let run = apply_in_ci(&repo, &front.localhost_url())
        .env("ADDITIONAL_CA_CERT_BUNDLE", &ca.ca_pem)
        .run();
    let run = run.success();
    assert!(run.stdout.contains("converged"), "{}", run.stdout);
    assert_released(&emu);
    assert!(front.handshakes() >= 1);
}

/// Without a CA, and with some other CA, the forge's certificate is refused at once.
#[test]
fn without_the_right_ca_the_certificate_is_refused() {
    std::thread::scope(|s| {
        let no_ca = s.spawn(|| {
            let (_ca, emu, front) = tls_fixture();
            let repo = repo_with(MANIFEST, &[]);
            let run = apply_in_ci(&repo, &front.url()).run();
            assert_refused_certificate(run, &emu, &front);
        });
        let other_ca = s.spawn(|| {
            let (_ca, emu, front) = tls_fixture();
            let other = TestCa::new("some other CA");
            let repo = repo_with(MANIFEST, &[]);
            let (_dir, path) = pem_file(&other.ca_pem);
            let run = apply_in_ci(&repo, &front.url())
                .env("CI_SERVER_TLS_CA_FILE", &path)
                .run();
            assert_refused_certificate(run, &emu, &front);
        });
        for (case, t) in [("no CA", no_ca), ("another CA", other_ca)] {
            if let Err(panic) = t.join() {
                eprintln!("case failed: {case}");
                std::panic::resume_unwind(panic);
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Proxies

#[test]
fn http_proxy_relays_every_request() {
    let emu = emulator();
    let proxy = Proxy::start();
    let repo = repo_with(MANIFEST, &[]);
    apply_in_ci(&repo, &emu.url())
        .env("HTTP_PROXY", &proxy.url())
        .run()
        .success();
    assert_released(&emu);
    let forwarded = proxy.forwarded();
    assert!(!forwarded.is_empty(), "nothing went through the proxy");
    assert_eq!(
        forwarded.len(),
        emu.requests().len(),
        "every request the forge answered came through the proxy: {forwarded:#?}"
    );
    let api = format!("{}/api/v4/", emu.url());
    assert!(
        forwarded.iter().all(|t| t.starts_with(&api)),
        "{forwarded:#?}"
    );
    assert_eq!(proxy.log().len(), forwarded.len(), "{:#?}", proxy.log());
}

#[test]
fn https_proxy_tunnels_to_a_tls_forge() {
    let (ca, emu, front) = tls_fixture();
    let proxy = Proxy::start();
    let repo = repo_with(MANIFEST, &[]);
    let (_dir, path) = pem_file(&ca.ca_pem);
    let run = apply_in_ci(&repo, &front.url())
        .env("CI_SERVER_TLS_CA_FILE", &path)
        .env("HTTPS_PROXY", &proxy.url())
        .run();
    assert_released_over_tls(run, &emu, &front);
    let tunnels = proxy.tunnels();
    assert!(!tunnels.is_empty(), "no CONNECT tunnel: {:#?}", proxy.log());
    assert!(
        tunnels.iter().all(|t| *t == front.authority()),
        "{tunnels:#?}"
    );
    assert_eq!(
        front.handshakes(),
        tunnels.len(),
        "every TLS connection came through a tunnel"
    );
    assert_eq!(proxy.log().len(), tunnels.len(), "{:#?}", proxy.log());
}

#[test]
fn no_proxy_host_goes_direct() {
    let emu = emulator();
    let proxy = Proxy::start();
    let repo = repo_with(MANIFEST, &[]);
    apply_in_ci(&repo, &emu.url())
        .env("HTTP_PROXY", &proxy.url())
        .env("NO_PROXY", "gitlab.example.com,127.0.0.1")
        .run()
        .success();
    assert_released(&emu);
    assert!(!emu.requests().is_empty());
    assert!(proxy.log().is_empty(), "{:#?}", proxy.log());
}

#[test]
fn no_proxy_for_other_hosts_keeps_the_proxy() {
    let emu = emulator();
    let proxy = Proxy::start();
    let repo = repo_with(MANIFEST, &[]);
    apply_in_ci(&repo, &emu.url())
        .env("HTTP_PROXY", &proxy.url())
        .env("NO_PROXY", "gitlab.example.com,10.0.0.0/8,localhost")
        .run()
        .success();
    assert_released(&emu);
    assert_eq!(proxy.forwarded().len(), emu.requests().len());
}

#[test]
fn no_proxy_name_bypasses_the_https_proxy() {
    let (ca, emu, front) = tls_fixture();
    let proxy = Proxy::start();
    let repo = repo_with(MANIFEST, &[]);
    let run = apply_in_ci(&repo, &front.localhost_url())
        .env("ADDITIONAL_CA_CERT_BUNDLE", &ca.ca_pem)
        .env("HTTPS_PROXY", &proxy.url())
        .env("NO_PROXY", "localhost")
        .run()
        .success();
    assert!(run.stdout.contains("converged"), "{}", run.stdout);
    assert_released(&emu);
    assert!(front.handshakes() >= 1);
    assert!(proxy.log().is_empty(), "{:#?}", proxy.log());
}
