//! The single integration-test binary.

mod bench_writes;
mod block;
mod changelog;
mod cli;
mod emulator_gitea;
mod emulator_github;
mod emulator_gitlab;
mod emulator_tgit;
mod forges_real;
mod gitea;
mod github;
mod gitlab;
mod gitlab_rules;
mod helpers;
mod hostile;
mod inputs;
mod kill;
mod limits;
mod matrix;
mod network;
mod ship;
mod signals;
mod tgit;
mod voice;
