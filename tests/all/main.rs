//! The single integration-test binary.

mod helpers;
mod changelog;
mod cli;
mod emulator_gitlab;
