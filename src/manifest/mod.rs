//! `release.yml`: finding it, parsing it (`raw`), and validating it into [`Manifest`] (`resolve`).

pub mod raw;
mod resolve;
pub mod yaml;

pub use resolve::{
    AssetsSection, CREDENTIAL_VARS, FileSpec, ForgeSection, LinkSpec, Manifest, PackageSpec,
    ReleaseSection, credential_var,
};

use std::path::{Path, PathBuf};

use crate::error::input_with;

/// The manifest file names looked for in the repository, in order.
pub const DEFAULT_FILES: &[&str] = &["release.yml", ".release.yml"];

/// Finds and loads the manifest: `explicit` (relative to the working directory) when given,
/// else the first of [`DEFAULT_FILES`] in `repo`, else the built-in defaults.
///
/// # Errors
/// An unreadable or invalid manifest, as an input error (exit 2).
pub fn load(explicit: Option<&Path>, repo: &Path) -> anyhow::Result<Manifest> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => DEFAULT_FILES
            .iter()
            .map(|f| repo.join(f))
            .find(|p| p.is_file())
            .map(|p| p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p)),
    };
    let Some(path) = path else {
        return Ok(Manifest::resolve(
            raw::RawManifest::default(),
            None,
            yaml::LineIndex::default(),
            repo,
        )?);
    };
    if let Ok(meta) = std::fs::metadata(&path)
        && meta.len() > yaml::MAX_BYTES as u64
    {
        return Err(yaml::too_large(&path, meta.len()).into());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        input_with(
            format!("cannot read manifest {}: {e}", path.display()),
            "check the path given with `-f/--file`",
        )
    })?;
    from_str(&text, &path, repo)
}

/// Parses and validates manifest text read from `path`.
///
/// # Errors
/// Malformed YAML, unknown keys, wrong types, invalid values: an [`InputError`].
pub fn from_str(text: &str, path: &Path, repo: &Path) -> anyhow::Result<Manifest> {
    let (raw, lines): (raw::RawManifest, _) = yaml::parse(text, path)?;
    Ok(Manifest::resolve(
        raw,
        Some(PathBuf::from(path)),
        lines,
        repo,
    )?)
}

/// The published URL of the JSON Schema of `release.yml`, its `$id`.
pub const SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/relsync/relsync/main/schema/release.schema.json";

/// The JSON Schema of `release.yml`, pretty-printed.
#[must_use]
pub fn schema_json() -> String {
    let mut schema = schemars::schema_for!(raw::RawManifest);
    // Where editors find it again from a copied release.yml (`yaml-language-server: $schema=`).
    schema.insert("$id".to_owned(), SCHEMA_URL.into());
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
