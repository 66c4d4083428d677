//! What `plan --offline`, `notes` and `check` share: the release built without reading the
//! forge, with the URLs `apply` would write when the forge is known.

use crate::desired::Desired;
use crate::forge::{self, Capabilities};
use crate::manifest::raw::ForgeKind;
use crate::settings::Settings;

/// What an offline plan assumes of the forge: the named one's shape, GitLab's otherwise.
pub(super) fn capabilities(kind: Option<ForgeKind>) -> Capabilities {
    match kind {
        Some(k) => Capabilities::of(k),
        None => Capabilities::GITLAB,
    }
}

/// The declared file globs that match nothing yet, each as `` `glob` (key) ``.
pub(super) fn not_built(settings: &Settings) -> Vec<String> {
    let m = &settings.manifest;
    m.assets
        .files
        .iter()
        .filter(|spec| {
            crate::assets::expand(&settings.repo, &spec.glob, m.assets.follow_symlinks)
                .is_ok_and(|found| found.is_empty())
        })
        .map(|spec| format!("`{}` ({})", spec.path, spec.key))
        .collect()
}

/// The forge's client when its kind, server and project are known, to build URLs with; it
/// sends nothing.
pub(super) fn forge(settings: &Settings) -> Option<forge::AnyForge> {
    let known = settings.forge.is_some() && settings.server.is_some() && settings.project.is_some();
    known.then(|| forge::connect(settings).ok()).flatten()
}

/// Builds the desired release without reading the forge. When the forge, its server and the
/// project are known, uploaded files get the URLs `apply` will write, from the same client
/// code (which makes no request to build them); otherwise they have none.
pub(super) fn build(settings: &Settings) -> anyhow::Result<Desired> {
    let forge = forge(settings);
    let d = crate::desired::build(settings, &|tag, package, name| {
        forge
            .as_ref()
            .map(|f| forge::Forge::file_url(f, tag, package, name))
    })?;
    if let Some(w) = &d.shallow_warning {
        tracing::warn!("{w}");
    }
    Ok(d)
}
