//! What `notes` prints: the rendered notes, or everything the template could read.

use crate::cli::OutputFormat;
use crate::desired::Desired;

/// The notes as text, or the template's context as JSON (to write or debug a custom
/// template).
///
/// # Errors
/// The context cannot be serialized.
pub(crate) fn render(format: OutputFormat, d: &Desired) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(&d.context)?;
            s.push('\n');
            s
        }
        OutputFormat::Text => d.notes.clone(),
    })
}
