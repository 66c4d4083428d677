//! Convergence from any state, proven by enumeration: every request of a clean run is made
//! to fail in every way (the process killed before or after the answer, a 5xx before it is
//! applied, the answer lost), and at most two more runs must reach exactly the state a clean
//! run reaches, after which one more run writes nothing.

use std::fmt::Write as _;

use super::{Pace, converge};
use crate::desired::{Desired, DesiredFile, DesiredLink, FileSource, Package};
use crate::forge::Capabilities;
use crate::forge::fake::{Clash, Crash, Fake, Fault, World, sha256_hex};
use crate::manifest::raw::{LinkType, NotesMode, Prune};

pub(crate) const FORGES: [(&str, Capabilities); 4] = [
    ("gitlab", Capabilities::GITLAB),
    ("tgit", Capabilities::TGIT),
    ("github", Capabilities::GITHUB),
    ("gitea", Capabilities::GITEA),
];

const MODES: [Fault; 4] = [
    Fault::CrashBeforeAnswer,
    Fault::CrashAfterAnswer,
    Fault::FailBefore,
    Fault::LostAnswer,
];

/// A desired release with the given links and files (generated content).
pub(crate) fn desired(name: &str, links: &[(&str, &str)], files: &[(&str, &[u8])]) -> Desired {
    Desired {
        tag: "v1.0.0".into(),
        unreleased: false,
        version: "1.0.0".into(),
        name: name.into(),
        previous_tag: None,
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        git_ref: "0123456789abcdef0123456789abcdef01234567".into(),
        tag_message: None,
        notes: format!("### Features\n\n- {name}\n"),
        notes_mode: NotesMode::Managed,
        milestones: Vec::new(),
        released_at: None,
        labels: Vec::new(),
        draft: false,
        prerelease: false,
        links: links
            .iter()
            .map(|(n, u)| DesiredLink {
                name: (*n).into(),
                url: (*u).into(),
                link_type: LinkType::Other,
                direct_asset_path: None,
            })
            .collect(),
        files: files
            .iter()
            .map(|(n, bytes)| DesiredFile {
                name: (*n).into(),
                source: FileSource::Memory(bytes.to_vec()),
                path: "generated".into(),
                size: bytes.len() as u64,
                sha256: sha256_hex(bytes),
                link_type: LinkType::Package,
                direct_asset_path: Some(format!("/bin/{n}")),
            })
            .collect(),
        package: Package {
            name: "app".into(),
            version: "1.0.0".into(),
        },
        prune: Prune::Managed,
        scope: None,
        commit_count: 1,
        shallow_warning: None,
        limits: crate::desired::limits::Limits::default(),
        context: crate::render::Context::default(),
    }
}

pub(crate) fn pace() -> Pace {
    Pace {
        budget: std::time::Duration::from_secs(3600),
        sleep: false,
        interrupt: None,
        concurrency: super::DEFAULT_CONCURRENCY,
        ..Pace::default()
    }
}

/// One relsync process: a fresh `converge` (nothing carried over from earlier runs).
pub(crate) fn run(fake: &Fake, d: &Desired) -> anyhow::Result<super::Converged> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(converge(fake, d, &pace()))
}

/// A scenario: how the forge looks before the run, and what the run wants.
struct Scenario {
    name: &'static str,
    /// Prepares the starting state (through relsync itself, plus edits by hand).
    setup: fn(&Fake),
    want: fn() -> Desired,
}

fn first_release() -> Desired {
    desired(
        "App 1.0.0",
        &[
            ("Docs", "https://docs.example.com/1.0"),
            ("Source", "https://src.example.com/app"),
        ],
        &[("app.tgz", b"app binary v1"), ("SHA256SUMS", b"sums v1")],
    )
}

fn before_change() -> Desired {
    desired(
        "App 1.0.0",
        &[
            ("Docs", "https://docs.example.com/1.0"),
            ("Old", "https://old.example.com"),
            ("A", "https://x.example.com"),
            ("B", "https://y.example.com"),
        ],
        &[
            ("app.tgz", b"app binary v1"),
            ("old.tgz", b"old package"),
            ("keep.txt", b"kept as is"),
        ],
    )
}

fn after_change() -> Desired {
    desired(
        "App 1.0.0 (final)",
        &[
            // Docs renamed; A and B swap URLs; Old dropped; New added.
            ("Documentation", "https://docs.example.com/1.0"),
            ("A", "https://y.example.com"),
            ("B", "https://x.example.com"),
            ("New", "https://new.example.com"),
        ],
        &[
            // app.tgz changed; old.tgz dropped; new.tgz added.
            ("app.tgz", b"app binary v2, larger"),
            ("keep.txt", b"kept as is"),
            ("new.tgz", b"new package"),
        ],
    )
}

fn manifest_change_setup(fake: &Fake) {
    run(fake, &before_change()).expect("the starting release is made");
    fake.add_link_by_hand_if_supported("v1.0.0", "By hand", "https://hand.example.com");
    fake.add_file_by_hand("v1.0.0", "screenshot.png", b"png made by hand");
}

fn renamed_first() -> Desired {
    desired(
        "App 1.0.0",
        &[],
        &[
            ("my app.tgz", b"app with a spaced name"),
            ("read me (1).txt", b"readme"),
            ("plain.txt", b"plain"),
        ],
    )
}

fn renamed_added_setup(fake: &Fake) {
    let d = desired("App 1.0.0", &[], &[("plain.txt", b"plain")]);
    run(fake, &d).expect("the starting release is made");
    fake.add_file_by_hand("v1.0.0", "screenshot.png", b"png made by hand");
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "first-release",
        setup: |_| {},
        want: first_release,
    },
    Scenario {
        name: "manifest-change",
        setup: manifest_change_setup,
        want: after_change,
    },
    Scenario {
        name: "renamed-uploads",
        setup: |_| {},
        want: renamed_first,
    },
    Scenario {
        name: "renamed-uploads-added",
        setup: renamed_added_setup,
        want: renamed_first,
    },
];

impl Fake {
    pub(crate) fn add_link_by_hand_if_supported(&self, tag: &str, name: &str, url: &str) {
        if self.capabilities_links() {
            self.add_link_by_hand(tag, name, url);
        }
    }

    fn capabilities_links(&self) -> bool {
        crate::forge::Forge::capabilities(self).links_api
    }
}

fn is_crash(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<Crash>().is_some())
}

/// Runs one scenario on one forge with every fault at every request. Returns the number of
/// points and the failures.
fn enumerate(s: &Scenario, caps: Capabilities, clash: Option<Clash>) -> (usize, Vec<String>) {
    let fake = clash.map_or_else(|| Fake::new(caps), |c| Fake::with_clash(caps, c));
    (s.setup)(&fake);
    let mut start: World = fake.world();
    start.log.clear();
    let want = (s.want)();

    fake.set_world(start.clone());
    if let Err(e) = run(&fake, &want) {
        return (0, vec![format!("the clean run failed: {e:#}")]);
    }
    let n = fake.requests();
    let clean = fake.snapshot();
    let mut failures = Vec::new();
    let again = fake.requests() + 1;
    if let Err(e) = run(&fake, &want) {
        failures.push(format!("a run after the clean run failed: {e:#}"));
    }
    let writes = fake.writes_since(again);
    if !writes.is_empty() {
        failures.push(format!("a run after the clean run wrote {writes:?}"));
    }

    for k in 1..=n {
        for mode in MODES {
            fake.set_world(start.clone());
            fake.script(k, mode);
            let first = run(&fake, &want);
            let what = fake
                .world()
                .log
                .get(k - 1)
                .map_or_else(String::new, |r| format!("{} {}", r.method, r.what));
            fake.clear_faults();
            let mut outcome = first.as_ref().map(|_| ()).map_err(|e| format!("{e:#}"));
            if let Err(e) = &first {
                let expected_crash =
                    matches!(mode, Fault::CrashBeforeAnswer | Fault::CrashAfterAnswer);
                if is_crash(e) && !expected_crash {
                    failures.push(format!("{k} {mode:?} ({what}): a crash nobody scripted"));
                    continue;
                }
            }
            let mut reruns = 0;
            while outcome.is_err() && reruns < 2 {
                reruns += 1;
                outcome = run(&fake, &want).map(|_| ()).map_err(|e| format!("{e:#}"));
            }
            if let Err(e) = outcome {
                failures.push(format!(
                    "{k} {mode:?} ({what}): no success within two more runs: {e}"
                ));
                continue;
            }
            let got = fake.snapshot();
            if got != clean {
                failures.push(format!(
                    "{k} {mode:?} ({what}): the state differs from a clean run's:\n  clean: {}\n  got:   {}",
                    serde_json::to_string(&clean).unwrap_or_default(),
                    serde_json::to_string(&got).unwrap_or_default()
                ));
                continue;
            }
            let from = fake.requests() + 1;
            let after = run(&fake, &want);
            let writes = fake.writes_since(from);
            if after.is_err() || !writes.is_empty() {
                failures.push(format!(
                    "{k} {mode:?} ({what}): the run after convergence wrote {:?} ({:?})",
                    writes.iter().map(|w| &w.what).collect::<Vec<_>>(),
                    after.err().map(|e| format!("{e:#}"))
                ));
            }
        }
    }
    (n, failures)
}

fn check(s: &Scenario) {
    let mut report = String::new();
    let mut all = Vec::new();
    // Each forge as it answers a clash of stored names, and Tencent Git once more as a server
    // that stores a clashing upload under a `_1` name instead of refusing it.
    let variants = FORGES
        .iter()
        .map(|(f, c)| ((*f).to_owned(), *c, None))
        .chain([(
            "tgit-suffix".to_owned(),
            Capabilities::TGIT,
            Some(Clash::Suffix),
        )]);
    for (forge, caps, clash) in variants {
        let (n, failures) = enumerate(s, caps, clash);
        let line = format!(
            "{forge}/{}: {n} points x {} modes, {} failures",
            s.name,
            MODES.len(),
            failures.len()
        );
        eprintln!("{line}");
        let _ = writeln!(report, "{line}");
        all.extend(
            failures
                .into_iter()
                .map(|f| format!("{forge}/{}: {f}", s.name)),
        );
    }
    assert!(
        all.is_empty(),
        "{report}{} failing point(s):\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn converges_from_every_fault_in_a_first_release() {
    check(&SCENARIOS[0]);
}

#[test]
fn converges_from_every_fault_in_a_manifest_change() {
    check(&SCENARIOS[1]);
}

#[test]
fn converges_from_every_fault_in_uploads_the_server_renames() {
    check(&SCENARIOS[2]);
}

#[test]
fn converges_from_every_fault_in_renamed_uploads_added_to_a_release() {
    check(&SCENARIOS[3]);
}
