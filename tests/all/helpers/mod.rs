//! Shared test helpers.

pub mod cli;
pub mod gitlab;
pub mod repo;
