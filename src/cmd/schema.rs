//! `relsync schema`: the manifest's JSON schema.

use std::io::Write;

use crate::error::ExitStatus;

/// Writes the schema.
///
/// # Errors
/// Writing to stdout failed.
pub(crate) fn run(stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    stdout.write_all(crate::manifest::schema_json().as_bytes())?;
    Ok(ExitStatus::Success)
}
