//! Shared test helpers.

pub mod repo;
