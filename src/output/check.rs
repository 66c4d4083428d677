//! What `check` prints: the manifest is valid, and what the release it describes holds.

use std::fmt::Write as _;

use crate::cli::OutputFormat;
use crate::desired::Desired;

/// What `check` found.
#[derive(Debug)]
pub(crate) struct Checked<'a> {
    /// The release built offline.
    pub desired: &'a Desired,
    /// The manifest's path, or `built-in defaults`.
    pub manifest: &'a str,
    /// A note on how the forge shows the release, if any.
    pub note: Option<&'a str>,
    /// The declared file globs that match nothing yet.
    pub not_built: &'a [String],
}

/// One line (and a note) as text, or a JSON document.
///
/// # Errors
/// The JSON document cannot be serialized.
pub(crate) fn render(format: OutputFormat, c: &Checked<'_>) -> anyhow::Result<String> {
    let d = c.desired;
    let mut s = String::new();
    match format {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "ok": true,
                "manifest": c.manifest,
                "tag": (!d.unreleased).then_some(&d.tag),
                "links": d.links.len(),
                "files": d.files.len(),
                "commits": d.commit_count,
                "notes": c.note.iter().collect::<Vec<_>>(),
                "not_built": c.not_built,
            });
            s = serde_json::to_string_pretty(&doc)?;
            s.push('\n');
        }
        OutputFormat::Text => {
            let _ = writeln!(
                s,
                "ok: {} is valid ({} link(s), {} file(s), {} commit(s) for {}){}",
                c.manifest,
                d.links.len(),
                d.files.len(),
                d.commit_count,
                if d.unreleased {
                    "the unreleased changes"
                } else {
                    &d.tag
                },
                if c.not_built.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; not built yet: {} (`check --strict` and `apply` require them)",
                        c.not_built.join(", ")
                    )
                }
            );
            if let Some(note) = c.note {
                let _ = writeln!(s, "  note: {note}");
            }
        }
    }
    Ok(s)
}
