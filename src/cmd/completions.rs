//! `relsync completions SHELL`: shell completions.

use std::io::Write;

use crate::cli::CompletionsArgs;
use crate::error::ExitStatus;

/// Writes the completions for the shell asked for.
///
/// # Errors
/// Writing to stdout failed.
pub(crate) fn run(args: &CompletionsArgs, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    crate::cli::write_completions(args.shell, stdout)?;
    Ok(ExitStatus::Success)
}
