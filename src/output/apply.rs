//! The report of `apply`: what was written and where the release is.

use std::fmt::Write as _;

use crate::cli::OutputFormat;
use crate::desired::Desired;
use crate::plan::Plan;

/// The report as text (one line per write unless `quiet`, then the outcome with the
/// release's URL) or as the plan's JSON document with `url` and `done`.
///
/// # Errors
/// The JSON document cannot be serialized.
pub(crate) fn report(
    format: OutputFormat,
    quiet: bool,
    d: &Desired,
    first: &Plan,
    forge: Option<&str>,
    done: &[String],
    url: &str,
) -> anyhow::Result<String> {
    let mut s = String::new();
    match format {
        OutputFormat::Json => {
            let mut r = super::plan::report(d, first, forge, false);
            r.url = Some(url);
            r.done = Some(done);
            s = serde_json::to_string_pretty(&r)?;
            s.push('\n');
        }
        OutputFormat::Text => {
            if !quiet {
                for line in done {
                    let _ = writeln!(s, "{line}");
                }
            }
            if done.is_empty() {
                let _ = writeln!(s, "release {} unchanged: {url}", d.tag);
            } else {
                let _ = writeln!(
                    s,
                    "release {} converged in {} change(s): {url}",
                    d.tag,
                    done.len()
                );
            }
        }
    }
    Ok(s)
}
