//! The property every backend must have, checked the same way for each: under injected faults
//! a release converges within three runs, and a further run writes nothing.

use super::cli::Run;
use super::emu_common::{Emulator, RandomFault};
use super::repo::TestRepo;

/// For each seed: a fresh fixture, 30% of requests faulted, at most three `apply` runs until
/// one succeeds; then, without faults, `check` must find exactly the desired state and one
/// more `apply` must make zero writes.
pub fn converges_under_faults<S, F: RandomFault>(
    seeds: std::ops::RangeInclusive<u64>,
    fixture: impl Fn() -> (TestRepo, Emulator<S, F>),
    apply: impl Fn(&TestRepo, &Emulator<S, F>) -> Run,
    check: impl Fn(&Emulator<S, F>, u64),
) {
    for seed in seeds {
        let (repo, emu) = fixture();
        emu.inject_faults(0.3, seed);
        let ok = (0..3).any(|_| apply(&repo, &emu).code == 0);
        let faults = emu
            .requests()
            .iter()
            .filter(|r| r.status == 0 || r.status == 423 || r.status == 429 || r.status >= 500)
            .count();
        emu.clear_faults();
        assert!(faults > 0, "seed {seed}: no fault was injected");
        assert!(ok, "seed {seed}: no success in three runs");
        check(&emu, seed);
        writes_nothing(&emu, || apply(&repo, &emu));
    }
}

/// Runs `run` once more and asserts it succeeds without a single write request: the
/// release had converged.
#[track_caller]
pub fn writes_nothing<S, F: RandomFault>(emu: &Emulator<S, F>, run: impl FnOnce() -> Run) -> Run {
    emu.reset_requests();
    let done = run().success();
    let writes: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.is_write())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        writes.is_empty(),
        "a converged release was written to: {writes:?}"
    );
    done
}
