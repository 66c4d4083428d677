//! The convergence guard at the seam: a fake forge that accepts a field on update but keeps
//! it as it was. A run writes it once, finds it unchanged, records it and stops; the next run
//! writes nothing; a new value in the manifest is tried once.

use super::faults::{FORGES, desired, run};
use crate::block::State;
use crate::forge::Capabilities;
use crate::forge::fake::Fake;

fn state(fake: &Fake) -> State {
    let w = fake.world();
    State::parse(&w.releases[0].release.description).state
}

/// Runs once and returns the writes it made.
fn writes(fake: &Fake, d: &crate::desired::Desired) -> usize {
    let from = fake.requests() + 1;
    run(fake, d).expect("converges");
    fake.writes_since(from).len()
}

#[test]
fn an_ignored_name_is_written_once_recorded_and_then_left_on_every_forge() {
    for (forge, caps) in FORGES {
        let fake = Fake::new(caps);
        writes(&fake, &desired("v1.0.0", &[], &[]));
        fake.ignore_on_update("name");

        // The name is written once, found unchanged, recorded with the description: 2 writes.
        let app = desired("App 1.0", &[], &[]);
        assert_eq!(writes(&fake, &app), 2, "{forge}");
        assert_eq!(fake.world().releases[0].release.name, "v1.0.0", "{forge}");
        assert_eq!(
            state(&fake).ignored.get("release.name").map(String::as_str),
            Some("App 1.0"),
            "{forge}"
        );
        // The next run writes nothing.
        assert_eq!(writes(&fake, &app), 0, "{forge}");

        // A new value is tried once, then recorded in place of the old one.
        let app2 = desired("App 2.0", &[], &[]);
        assert_eq!(writes(&fake, &app2), 2, "{forge}");
        assert_eq!(
            state(&fake).ignored.get("release.name").map(String::as_str),
            Some("App 2.0"),
            "{forge}"
        );
        assert_eq!(writes(&fake, &app2), 0, "{forge}");
    }
}

#[test]
fn a_field_the_server_takes_again_is_no_longer_recorded() {
    let fake = Fake::new(Capabilities::TGIT);
    writes(&fake, &desired("v1.0.0", &[], &[]));
    fake.ignore_on_update("name");
    let app = desired("App 1.0", &[], &[]);
    writes(&fake, &app);
    assert!(!state(&fake).ignored.is_empty());
    // A person sets the title by hand: the forge now holds what relsync wants, and the record
    // is dropped (one description write), after which nothing is written.
    fake.edit_release("v1.0.0", |r| r.name = "App 1.0".into());
    assert_eq!(writes(&fake, &app), 1);
    assert!(state(&fake).ignored.is_empty());
    assert_eq!(writes(&fake, &app), 0);
}

#[test]
fn an_ignored_direct_asset_path_on_a_link_is_left_after_one_try() {
    let fake = Fake::new(Capabilities::GITLAB);
    let first = desired("App", &[("Docs", "https://docs.example.com")], &[]);
    writes(&fake, &first);
    fake.ignore_on_update("direct_asset_path");
    let mut with_path = first.clone();
    with_path.links[0].direct_asset_path = Some("/docs".into());
    // One link update, then the description recording it.
    assert_eq!(writes(&fake, &with_path), 2);
    let w = fake.world();
    assert_eq!(w.releases[0].links[0].direct_asset_path, None);
    assert_eq!(
        state(&fake)
            .ignored
            .get("link.Docs.direct_asset_path")
            .map(String::as_str),
        Some("/docs")
    );
    assert_eq!(writes(&fake, &with_path), 0);
}

#[test]
fn an_ignored_description_ends_the_run_instead_of_looping() {
    let fake = Fake::new(Capabilities::GITLAB);
    writes(&fake, &desired("App", &[], &[]));
    fake.ignore_on_update("description");
    let mut changed = desired("App", &[], &[]);
    changed.notes = "### Fixes\n\n- a fix\n".into();
    // Written once, found unchanged, left: the run converges (the description holds the state,
    // so this one is not recorded and a later run tries once more).
    assert_eq!(writes(&fake, &changed), 1);
}
