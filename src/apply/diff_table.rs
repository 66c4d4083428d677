//! `plan::diff`, table-driven: a new and an existing release, on each forge's capabilities,
//! under each prune and notes mode; and `converge` in the cases a single run must absorb.

use super::faults::{FORGES, desired, run};
use crate::desired::Desired;
use crate::forge::fake::{Clash, Fake, Fault};
use crate::forge::{Capabilities, Forge};
use crate::manifest::raw::{NotesMode, Prune};
use crate::plan::{self, Action};

fn before() -> Desired {
    desired(
        "App 1.0.0",
        &[
            ("Docs", "https://docs.example.com"),
            ("Old", "https://old.example.com"),
        ],
        &[("app.tgz", b"app v1"), ("old.tgz", b"old")],
    )
}

fn after(prune: Prune, notes: NotesMode) -> Desired {
    let mut d = desired(
        "App 1.0.0",
        &[("Docs", "https://docs.example.com")],
        &[("app.tgz", b"app v2")],
    );
    d.prune = prune;
    d.notes_mode = notes;
    d
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn short(a: &Action) -> Option<String> {
    Some(match a {
        Action::UploadFile { name, .. } => format!("upload {name}"),
        Action::CreateRelease { release } => {
            format!("create{}", if release.draft { " draft" } else { "" })
        }
        Action::UpdateRelease { patch, .. } => format!("update {}", patch.fields().join(",")),
        Action::DeleteLink { link } => format!("delete-link {}", link.name),
        Action::UpdateLink { from, to } => format!("update-link {}->{}", from.name, to.name),
        Action::CreateLink { link } => format!("create-link {}", link.name),
        Action::DeleteFile { file, reason } => format!("delete-file {} ({reason})", file.name),
        Action::DeleteRelease { .. } => "delete-release".into(),
        Action::Unchanged { .. } => return None,
    })
}

fn uploaded_none() -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::new()
}

/// The plan for `want` against the fake's current state.
fn plan_of(fake: &Fake, want: &Desired) -> Vec<String> {
    let actual = block_on(fake.observe(&want.spec())).expect("observe");
    let uploaded = std::collections::BTreeMap::new();
    let cx = plan::Context {
        caps: fake.capabilities(),
        file_url: Box::new(|n: &str| fake.file_url(&want.tag, &want.package, n)),
        uploaded: &uploaded,
        ignored: &uploaded_none(),
        refused: &std::collections::BTreeSet::new(),
    };
    let p = plan::diff(want, Some(&actual), &cx);
    assert!(p.blocked.is_none());
    p.actions.iter().filter_map(short).collect()
}

/// What each case must plan, written out per forge.
fn expected(
    existing: bool,
    caps: Capabilities,
    prune: Prune,
    notes: NotesMode,
) -> Vec<&'static str> {
    if !existing {
        // Nothing to prune, no description to keep: only the order differs per forge.
        return if caps == Capabilities::GITLAB {
            vec!["upload app.tgz", "create"]
        } else if caps == Capabilities::GITHUB {
            vec!["create draft", "upload app.tgz", "update publish"]
        } else {
            vec!["create", "upload app.tgz"]
        };
    }
    let description = (notes != NotesMode::Keep).then_some("update description");
    let mut v = Vec::new();
    if caps.links_api {
        v.push("upload app.tgz");
        match prune {
            Prune::Managed => v.extend(["delete-link Old", "delete-link old.tgz"]),
            Prune::All => v.extend([
                "delete-link Old",
                "delete-link old.tgz",
                "delete-link By hand",
            ]),
            Prune::None => {}
        }
        v.push("delete-file app.tgz (superseded)");
        // The hand-made file is in another package: never seen, never touched.
        if prune != Prune::None {
            v.push("delete-file old.tgz (no longer declared)");
        }
    } else {
        // Attachments: the old file goes before the new one is uploaded.
        v.push("delete-file app.tgz (superseded)");
        match prune {
            Prune::Managed => v.push("delete-file old.tgz (no longer declared)"),
            Prune::All => v.extend([
                "delete-file old.tgz (no longer declared)",
                "delete-file screenshot.png (no longer declared)",
            ]),
            Prune::None => {}
        }
        v.push("upload app.tgz");
    }
    v.extend(description);
    v
}

#[test]
fn plans_for_every_forge_prune_and_notes_mode() {
    let mut failures = Vec::new();
    let mut cases = 0;
    for (forge, caps) in FORGES {
        for existing in [false, true] {
            for prune in [Prune::Managed, Prune::All, Prune::None] {
                for notes in [NotesMode::Managed, NotesMode::Replace, NotesMode::Keep] {
                    let fake = Fake::new(caps);
                    if existing {
                        run(&fake, &before()).expect("the starting release is made");
                        fake.add_link_by_hand_if_supported(
                            "v1.0.0",
                            "By hand",
                            "https://h.example",
                        );
                        fake.add_file_by_hand("v1.0.0", "screenshot.png", b"png");
                        fake.edit_release("v1.0.0", |r| {
                            r.description = format!("Written by hand.\n\n{}", r.description);
                        });
                    }
                    let got = plan_of(&fake, &after(prune, notes));
                    let want = expected(existing, caps, prune, notes);
                    cases += 1;
                    if got != want {
                        failures.push(format!(
                            "{forge} existing={existing} {prune:?} {notes:?}:\n  want {want:?}\n  got  {got:?}"
                        ));
                    }
                }
            }
        }
    }
    assert_eq!(cases, 72);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn notes_modes_decide_what_the_description_becomes() {
    for (forge, caps) in FORGES {
        for notes in [NotesMode::Managed, NotesMode::Replace, NotesMode::Keep] {
            let fake = Fake::new(caps);
            run(&fake, &before()).expect("the starting release is made");
            fake.edit_release("v1.0.0", |r| {
                r.description = format!("Written by hand.\n\n{}", r.description);
            });
            run(&fake, &after(Prune::Managed, notes)).expect("converges");
            let d = fake.world().releases[0].release.description.clone();
            match notes {
                NotesMode::Managed => assert!(
                    d.starts_with("Written by hand.\n\n<!-- relsync:begin -->")
                        && d.contains(r#""sha256":""#),
                    "{forge}: {d}"
                ),
                NotesMode::Replace => assert!(
                    d.starts_with("<!-- relsync:begin -->") && !d.contains("by hand"),
                    "{forge}: {d}"
                ),
                NotesMode::Keep => assert!(d.starts_with("Written by hand."), "{forge}: {d}"),
            }
        }
    }
}

#[test]
fn a_create_that_loses_a_race_reads_again_and_updates() {
    for (forge, caps) in FORGES {
        let want = before();
        let clean = Fake::new(caps);
        run(&clean, &want).expect("clean");
        let create = clean
            .writes_since(1)
            .iter()
            .find(|r| r.method == "POST" && r.what.starts_with("release"))
            .map(|r| r.n)
            .expect("a create");
        // Another job, with other notes, publishes the release just before this run's create.
        let other = Fake::new(caps);
        run(&other, &desired("Made by another job", &[], &[])).expect("the other job");
        let fake = Fake::new(caps);
        fake.meanwhile(create, &other.world());
        let done = run(&fake, &want).expect("converges in the same run");
        let w = fake.world();
        assert_eq!(w.releases.len(), 1, "{forge}: one release");
        assert_eq!(w.releases[0].release.name, "App 1.0.0", "{forge}");
        assert!(!w.releases[0].release.draft, "{forge}: published");
        assert!(
            done.done.iter().all(|l| !l.starts_with("+ release")),
            "{forge}: the lost create is not reported as done: {:?}",
            done.done
        );
        let from = fake.requests() + 1;
        run(&fake, &want).expect("again");
        assert!(fake.writes_since(from).is_empty(), "{forge}: converged");
    }
}

#[test]
fn a_write_applied_but_answered_502_is_not_repeated() {
    for (forge, caps) in FORGES {
        let want = before();
        let clean = Fake::new(caps);
        run(&clean, &want).expect("clean");
        let writes = clean.writes_since(1).len();
        // Reads are retried inside the HTTP client; here only writes lose their answers.
        for n in clean.writes_since(1).iter().map(|r| r.n) {
            let fake = Fake::new(caps);
            fake.script(n, Fault::LostAnswer);
            run(&fake, &want).expect("one run absorbs a lost answer");
            assert_eq!(fake.snapshot(), clean.snapshot(), "{forge} request {n}");
            let extra = fake.writes_since(1).len();
            // The lost write is seen on the next read: at most the write itself is retried
            // where the forge cannot tell (the request that failed), never more.
            assert!(
                extra <= writes + 2,
                "{forge} request {n}: {extra} writes against {writes}"
            );
        }
    }
}

#[test]
fn an_upload_the_server_renames_is_recorded_under_its_stored_name() {
    for clash in [Clash::Refuse(422), Clash::Suffix] {
        let fake = Fake::with_clash(Capabilities::GITHUB, clash);
        let want = desired("App", &[], &[("my app.tgz", b"spaced")]);
        let clean = Fake::with_clash(Capabilities::GITHUB, clash);
        run(&clean, &want).expect("clean");
        let upload = clean
            .writes_since(1)
            .iter()
            .find(|r| r.what.starts_with("upload"))
            .map(|r| r.n)
            .expect("an upload");
        // The answer to the upload is lost: the next read must recognise the renamed file.
        fake.script(upload, Fault::LostAnswer);
        run(&fake, &want).expect("converges");
        let w = fake.world();
        assert_eq!(w.files.len(), 1, "{clash:?}: one file: {:?}", w.files);
        assert_eq!(w.files[0].name, "my.app.tgz");
        let d = &w.releases[0].release.description;
        assert!(d.contains(r#""stored":"my.app.tgz""#), "{d}");
        assert!(!w.releases[0].release.draft, "published");
    }
}

#[test]
fn a_url_held_by_a_link_made_by_hand_blocks_the_plan_instead_of_failing_on_every_run() {
    let fake = Fake::new(Capabilities::GITLAB);
    run(&fake, &before()).expect("the starting release is made");
    fake.add_link_by_hand("v1.0.0", "Mirror", "https://new.example.com");
    let mut want = before();
    want.links.push(crate::desired::DesiredLink {
        name: "New".into(),
        url: "https://new.example.com".into(),
        link_type: crate::manifest::raw::LinkType::Other,
        direct_asset_path: None,
    });
    let from = fake.requests() + 1;
    let err = format!("{:#}", run(&fake, &want).expect_err("blocked"));
    assert!(
        err.contains("`New` needs the URL https://new.example.com")
            && err.contains("the link `Mirror` holds")
            && err.contains("delete or change that link"),
        "{err}"
    );
    assert!(fake.writes_since(from).is_empty(), "nothing written");
    // With `prune: all` the holder is relsync's to remove: the plan deletes it first.
    want.prune = Prune::All;
    run(&fake, &want).expect("converges");
    let links = &fake.world().releases[0].links;
    assert!(links.iter().any(|l| l.name == "New"));
    assert!(links.iter().all(|l| l.name != "Mirror"));
}

#[test]
fn a_create_refused_as_existing_whose_release_never_shows_ends_with_what_to_do() {
    for (forge, caps) in FORGES {
        let fake = Fake::new(caps);
        let want = before();
        fake.created_elsewhere_unseen(&want.tag);
        let err = run(&fake, &want).expect_err("the release never shows");
        let text = crate::error::render(&err, "");
        assert!(
            text.contains("created by another job meanwhile")
                && text.contains("help: another job")
                && text.contains("run the job again"),
            "{forge}: {text}"
        );
        assert!(
            fake.snapshot().releases.is_empty(),
            "{forge}: nothing but creates was tried"
        );
    }
}
