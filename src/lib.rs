//! relsync: a CI release step that makes the forge's release match `release.yml`.
//!
//! Data flow: `cli` → `settings` (manifest + env + CI) → `changelog` → `render` →
//! `desired` → `forge` observe → `plan::diff` → (`plan`: print and stop) → `apply` → `output`.
//! `cmd` wires each command; `docs/architecture.md` says which module owns what.

pub(crate) mod apply;
pub mod assets;
pub mod block;
pub mod changelog;
pub(crate) mod ci;
pub mod cli;
pub(crate) mod cmd;
pub(crate) mod desired;
pub mod env_vars;
pub mod error;
pub(crate) mod forge;
pub(crate) mod forge_path;
pub mod manifest;
pub mod matchers;
pub mod output;
pub(crate) mod plan;
pub mod render;
pub(crate) mod settings;
mod suggest;

use std::io::Write;

use crate::cli::{Cli, Command};
use crate::env_vars::Env;
pub use crate::error::ExitStatus;

/// Runs one invocation with the given environment snapshot, writing results to `stdout`.
///
/// # Errors
/// Any failure; map it to an exit code with [`ExitStatus::of_error`].
pub fn run(cli: &Cli, env: Env, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    cmd::flags::check(cli)?;
    match &cli.command {
        Command::Schema => cmd::schema::run(stdout),
        Command::Completions(args) => cmd::completions::run(args, stdout),
        Command::Man => cmd::man::run(stdout),
        Command::Check => cmd::check::run(&cmd::settings(cli, env)?, stdout),
        Command::Notes => cmd::notes::run(&cmd::settings(cli, env)?, stdout),
        Command::Plan(args) => cmd::plan::run(args, &cmd::settings(cli, env)?, stdout),
        Command::Apply => cmd::apply::run(&cmd::settings(cli, env)?, stdout),
    }
}
