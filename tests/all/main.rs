//! The single integration-test binary.

mod helpers;
mod changelog;
