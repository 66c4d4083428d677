//! The single integration-test binary.

mod changelog;
mod cli;
mod emulator_gitlab;
mod emulator_tgit;
mod gitlab;
mod helpers;
mod tgit;
