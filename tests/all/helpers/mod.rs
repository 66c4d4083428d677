//! Shared test helpers.

pub mod cli;
pub mod repo;
pub mod gitlab;
