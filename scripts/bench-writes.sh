#!/usr/bin/env bash
# Measures how much faster `apply` writes with its phases run at once (8) than one at a time,
# against the test suite's emulators with 20 ms added to every request: 500 links added to an
# existing GitLab release, 500 link URLs changed, and 20 x 5 MB assets uploaded to GitHub; also
# the TCP connections each concurrent run opened. Prints a markdown table (the README's).
# Optimised build (thin LTO, so that it builds in minutes); the figures are wall-clock times
# on this machine: run it on a quiet one.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=false
cargo test --release --locked --quiet --test all bench_writes_against -- --ignored --nocapture 2>/dev/null | grep '^|'
