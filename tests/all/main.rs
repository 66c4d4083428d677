//! The single integration-test binary.

mod changelog;
mod cli;
mod emulator_gitlab;
mod gitlab;
mod helpers;
