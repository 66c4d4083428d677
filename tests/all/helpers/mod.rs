//! Shared test helpers.

pub mod cli;
pub mod emu_common;
pub mod gitea;
pub mod github;
pub mod gitlab;
pub mod repo;
pub mod tgit;
