//! `relsync notes`: the rendered notes, or everything the template could read.

use std::io::Write;

use crate::error::ExitStatus;
use crate::settings::Settings;

/// Renders the notes without reading the forge.
///
/// # Errors
/// Bad input (exit 2), an unreadable repository, or writing to stdout failed.
pub(crate) fn run(settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let d = super::offline::build(settings)?;
    stdout.write_all(crate::output::notes::render(settings.output, &d)?.as_bytes())?;
    Ok(ExitStatus::Success)
}
