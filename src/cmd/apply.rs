//! `relsync apply`: makes the forge's release match the desired one.

use std::io::Write;

use crate::error::ExitStatus;
use crate::settings::Settings;

/// Converges the release and reports what was written.
///
/// # Errors
/// Bad input (exit 2), a forge failure (exit 1) or an interruption.
pub(crate) fn run(settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    super::online::run(settings, true, stdout)?;
    Ok(ExitStatus::Success)
}
