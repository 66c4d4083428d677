//! Template rendering under relsync's limits: fuel, output size and memory. Any template
//! either renders within the output limit or fails with an error; never a panic or a hang.
//!
//! Inputs are kept short and free of long numbers so that the memory budget (which ends the
//! process with exit 2, as the binary does) is not what the fuzzer explores: it is covered by
//! the integration tests.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn digits_run(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if src.len() > 160 || digits_run(src) > 3 || src.contains("**") {
        return;
    }
    let env = relsync::render::environment();
    let ctx = minijinja::context! {
        version => "1.2.0",
        tag => "v1.2.0",
        previous_tag => "v1.1.0",
        commits => vec![
            minijinja::context! { subject => "feat: one", sha => "abc", breaking => false },
            minijinja::context! { subject => "fix!: two", sha => "def", breaking => true },
        ],
        env => minijinja::context! { A => "a" },
    };
    let limit = 4096;
    match relsync::render::render_bounded(&env, "fuzz.j2", Some(src), &ctx, limit) {
        Ok(out) => assert!(out.len() <= limit),
        Err(f) => {
            let _ = f.describe();
        }
    }
});
