//! Commit-message parsing: any message parses (conventional or not) without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let msg = String::from_utf8_lossy(data);
    for conventional in [true, false] {
        let parsed = relsync::changelog::parse_message(&msg, conventional);
        let _ = format!("{parsed:?}");
    }
});
