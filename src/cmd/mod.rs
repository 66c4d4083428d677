//! The commands, one file each: each takes the parsed arguments and the settings, calls the
//! stages and the presenter (`output`), and returns the exit status. `lib.rs` dispatches.

pub(crate) mod apply;
pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod flags;
pub(crate) mod man;
pub(crate) mod notes;
mod offline;
mod online;
pub(crate) mod plan;
pub(crate) mod schema;

use crate::cli::{Cli, Command};
use crate::env_vars::Env;
use crate::settings::Settings;

/// The settings of a command that reads the manifest, the repository or the forge.
///
/// # Errors
/// Bad input (exit 2).
pub(crate) fn settings(cli: &Cli, env: Env) -> anyhow::Result<Settings> {
    let mut settings = Settings::resolve(&cli.global, env)?;
    // `check` and `notes` preview a release before its files are built, as `plan --offline`
    // does: a glob that matches nothing yet is named, not an error.
    if matches!(cli.command, Command::Check | Command::Notes) && !cli.global.strict {
        settings.offline = true;
    }
    Ok(settings)
}
