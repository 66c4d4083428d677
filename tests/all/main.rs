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
mod network;
mod notes_content;
mod notes_links;
mod notes_people;
mod notes_selection;
mod ship;
mod signals;
mod tgit;
mod voice;
