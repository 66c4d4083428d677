//! Shared test helpers.

pub mod cli;
pub mod converge;
pub mod emu_common;
pub mod gitea;
pub mod github;
pub mod gitlab;
pub mod hostile;
pub mod http_client;
pub mod multipart;
pub mod proxy;
pub mod repo;
pub mod tgit;
