//! Manifest parsing: any bytes either resolve into a manifest or give an input error; never a
//! panic, a hang or unbounded memory (alias bombs, deep nesting).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = std::env::temp_dir();
    if let Err(e) = relsync::manifest::from_str(text, Path::new("release.yml"), &dir) {
        // Every refusal is bad input (exit 2) and names the file.
        assert_eq!(relsync::ExitStatus::of_error(&e), relsync::ExitStatus::BadInput);
        assert!(e.to_string().contains("release.yml"), "{e}");
    }
});
