//! `relsync man`: the man page.

use std::io::Write;

use crate::error::ExitStatus;

/// Writes the man page.
///
/// # Errors
/// Writing to stdout failed.
pub(crate) fn run(stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    crate::cli::write_man(stdout)?;
    Ok(ExitStatus::Success)
}
