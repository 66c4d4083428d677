//! `relsync check`: validates the manifest and builds the release without the forge.

use std::io::Write;

use crate::error::ExitStatus;
use crate::manifest::raw::ForgeKind;
use crate::output::check::Checked;
use crate::settings::Settings;

/// Builds the desired release offline and says what it holds.
///
/// # Errors
/// Bad input (exit 2), an unreadable repository, or writing to stdout failed.
pub(crate) fn run(settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let d = super::offline::build(settings)?;
    let not_built = if settings.strict {
        Vec::new()
    } else {
        super::offline::not_built(settings)
    };
    let manifest = settings.manifest.source.as_ref().map_or_else(
        || "built-in defaults".to_owned(),
        |p| p.display().to_string(),
    );
    let note = (settings.forge == Some(ForgeKind::Tgit))
        .then(|| crate::forge::tgit::name_note(&d.tag, &d.name))
        .flatten();
    let checked = Checked {
        desired: &d,
        manifest: &manifest,
        note: note.as_deref(),
        not_built: &not_built,
    };
    stdout.write_all(crate::output::check::render(settings.output, &checked)?.as_bytes())?;
    Ok(ExitStatus::Success)
}
