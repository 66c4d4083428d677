//! The single integration-test binary.

// Tests read as one scenario each, top to bottom, and the emulators follow the servers' shapes
// (handlers that take what the router hands them, ids spelled as the forges send them);
// pedantic advice aimed at library APIs does not fit them.
#![allow(
    clippy::too_many_lines,
    clippy::needless_pass_by_value,
    clippy::unused_self,
    clippy::unreadable_literal,
    clippy::match_same_arms,
    clippy::option_option,
    clippy::struct_field_names,
    clippy::case_sensitive_file_extension_comparisons,
    clippy::default_trait_access,
    clippy::many_single_char_names,
    clippy::manual_let_else
)]

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
mod globs;
mod helpers;
mod hostile;
mod inputs;
mod kill;
mod limits;
mod matrix;
mod network;
mod notes_content;
mod notes_links;
mod notes_people;
mod notes_selection;
mod preview;
mod ship;
mod signals;
mod tgit;
mod voice;
