//! The managed block: parsing and composing never panic, composing is idempotent (the
//! description never grows from run to run), and hand text around a block survives.
//!
//! The input is split at the first two NUL bytes into the current description, the notes
//! and the hand text to place around an existing block.

#![no_main]

use libfuzzer_sys::fuzz_target;
use relsync::block::{BEGIN, END, State, StateFile, compose, managed_block};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let current = parts.next().unwrap_or_default();
    let notes = parts.next().unwrap_or_default();
    let hand = parts.next().unwrap_or_default();

    let mut state = State::default();
    state.links.insert(notes.chars().take(8).collect());
    state.files.insert(
        "f".to_owned(),
        StateFile {
            sha256: hand.chars().take(8).collect(),
            stored: None,
        },
    );
    let block = managed_block(notes, &state);

    // Any description: parsing never panics; composing gives one trusted block, and composing
    // again changes nothing.
    let _ = State::parse(current);
    let once = compose(current, &block);
    assert_eq!(compose(&once, &block), once, "composing is not idempotent");
    let parsed = State::parse(&once);
    assert!(parsed.trusted, "{:?}", parsed.problem);
    assert_eq!(parsed.state, state);
    assert_eq!(once.matches(BEGIN).count(), 1);
    assert_eq!(once.matches(END).count(), 1);

    // Hand text (with no marker of its own) around a well-formed block is kept as it is.
    let hand = hand.replace("<!-- relsync:", "<!-- x:");
    let mut mid = hand.len() / 2;
    while !hand.is_char_boundary(mid) {
        mid -= 1;
    }
    let (before, after) = hand.split_at(mid);
    let old = managed_block(current, &State::default());
    assert_eq!(
        compose(&format!("{before}{old}{after}"), &block),
        format!("{before}{block}{after}"),
        "hand text around the block was changed"
    );
});
