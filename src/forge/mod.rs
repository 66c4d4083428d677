//! The forge seam: the operations the release pipeline needs, with neutral types.
//! Backends turn their DTOs into these; `plan` and `apply` never see a forge's JSON.

pub mod gitlab;
pub mod http;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::desired::{Desired, DesiredFile, Package};
use crate::manifest::raw::ForgeKind;
use crate::manifest::raw::LinkType;
use crate::settings::Settings;

/// A release as the forge holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// Tag.
    pub tag: String,
    /// Title.
    pub name: String,
    /// Description (markdown), empty when the forge says null.
    pub description: String,
    /// GitLab milestones (titles).
    pub milestones: Vec<String>,
    /// Release date.
    pub released_at: Option<DateTime<Utc>>,
    /// Web URL.
    pub url: String,
}

/// An asset link as the forge holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// Forge id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// Type (`None` when the forge did not say).
    pub link_type: Option<LinkType>,
    /// Direct asset path.
    pub direct_asset_path: Option<String>,
}

/// A stored file (a package file on GitLab, an attachment elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFile {
    /// Forge id of the file.
    pub id: u64,
    /// Forge id of its container (the GitLab package), if any.
    pub parent_id: Option<u64>,
    /// Name as stored.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256, when the forge reports it.
    pub sha256: Option<String>,
}

/// A new release.
#[derive(Debug, Clone, Serialize)]
pub struct NewRelease {
    /// Tag.
    pub tag: String,
    /// Title.
    pub name: String,
    /// Description.
    pub description: String,
    /// Ref the tag is created at when missing.
    pub git_ref: String,
    /// Message of a created tag.
    pub tag_message: Option<String>,
    /// Milestones.
    pub milestones: Vec<String>,
    /// Release date.
    pub released_at: Option<DateTime<Utc>>,
    /// Links created with the release.
    pub links: Vec<NewLink>,
}

/// Fields of a release to change; `None` = leave as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReleasePatch {
    /// New title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New milestones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestones: Option<Vec<String>>,
    /// New date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
}

impl ReleasePatch {
    /// Whether nothing changes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Names of the fields that change.
    #[must_use]
    pub fn fields(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        if self.name.is_some() {
            f.push("name");
        }
        if self.description.is_some() {
            f.push("description");
        }
        if self.milestones.is_some() {
            f.push("milestones");
        }
        if self.released_at.is_some() {
            f.push("released_at");
        }
        f
    }
}

/// A link to create or the new state of one to update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewLink {
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// Type.
    pub link_type: LinkType,
    /// Direct asset path.
    pub direct_asset_path: Option<String>,
}

/// What the forge holds for the release now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Actual {
    /// The release, if it exists.
    pub release: Option<Release>,
    /// Its links.
    pub links: Vec<Link>,
    /// Stored files of the release's package (GitLab) or attachments.
    pub files: Vec<StoredFile>,
}

/// Outcome of a create.
#[derive(Debug, Clone)]
pub enum Created {
    /// Created now.
    Created(Release),
    /// Another job created it first (409): re-read and update.
    AlreadyExists,
}

/// The operations the release pipeline needs from a forge.
#[allow(async_fn_in_trait)]
pub trait Forge {
    /// Reads the release for the desired tag, its links and its stored files.
    async fn observe(&self, desired: &Desired) -> anyhow::Result<Actual>;
    /// Creates the release (and the tag from `git_ref` when missing).
    async fn create_release(&self, release: &NewRelease) -> anyhow::Result<Created>;
    /// Updates the given fields of the release.
    async fn update_release(&self, tag: &str, patch: &ReleasePatch) -> anyhow::Result<Release>;
    /// Creates a link.
    async fn create_link(&self, tag: &str, link: &NewLink) -> anyhow::Result<Link>;
    /// Updates a link, sending every field.
    async fn update_link(&self, tag: &str, id: u64, link: &NewLink) -> anyhow::Result<Link>;
    /// Deletes a link.
    async fn delete_link(&self, tag: &str, id: u64) -> anyhow::Result<()>;
    /// Uploads a file, streamed.
    async fn upload_file(&self, package: &Package, file: &DesiredFile) -> anyhow::Result<()>;
    /// Deletes a stored file.
    async fn delete_file(&self, file: &StoredFile) -> anyhow::Result<()>;
    /// The URL a stored file is downloaded from.
    fn file_url(&self, package: &Package, name: &str) -> String;
    /// The web URL of the release.
    fn release_url(&self, tag: &str) -> String;
}

/// A request body that streams `file` from disk (constant memory), or sends generated bytes.
///
/// # Errors
/// The file cannot be opened.
pub async fn upload_body(file: &DesiredFile) -> anyhow::Result<reqwest::Body> {
    Ok(match &file.source {
        crate::desired::FileSource::Memory(bytes) => reqwest::Body::from(bytes.clone()),
        crate::desired::FileSource::Disk(path) => {
            let f = tokio::fs::File::open(path)
                .await
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
            let stream = tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024);
            reqwest::Body::wrap_stream(crate::output::progress_stream(
                stream, &file.name, file.size,
            ))
        }
    })
}

/// The backends, dispatched statically.
#[derive(Debug)]
pub enum AnyForge {
    /// GitLab REST v4.
    Gitlab(gitlab::Gitlab),
}

impl AnyForge {
    /// Whether uploaded files also get a link (GitLab: package files are not release assets).
    #[must_use]
    pub fn links_for_files(&self) -> bool {
        match self {
            Self::Gitlab(_) => true,
        }
    }
}

impl Forge for AnyForge {
    async fn observe(&self, desired: &Desired) -> anyhow::Result<Actual> {
        match self {
            Self::Gitlab(f) => f.observe(desired).await,
        }
    }
    async fn create_release(&self, release: &NewRelease) -> anyhow::Result<Created> {
        match self {
            Self::Gitlab(f) => f.create_release(release).await,
        }
    }
    async fn update_release(&self, tag: &str, patch: &ReleasePatch) -> anyhow::Result<Release> {
        match self {
            Self::Gitlab(f) => f.update_release(tag, patch).await,
        }
    }
    async fn create_link(&self, tag: &str, link: &NewLink) -> anyhow::Result<Link> {
        match self {
            Self::Gitlab(f) => f.create_link(tag, link).await,
        }
    }
    async fn update_link(&self, tag: &str, id: u64, link: &NewLink) -> anyhow::Result<Link> {
        match self {
            Self::Gitlab(f) => f.update_link(tag, id, link).await,
        }
    }
    async fn delete_link(&self, tag: &str, id: u64) -> anyhow::Result<()> {
        match self {
            Self::Gitlab(f) => f.delete_link(tag, id).await,
        }
    }
    async fn upload_file(&self, package: &Package, file: &DesiredFile) -> anyhow::Result<()> {
        match self {
            Self::Gitlab(f) => f.upload_file(package, file).await,
        }
    }
    async fn delete_file(&self, file: &StoredFile) -> anyhow::Result<()> {
        match self {
            Self::Gitlab(f) => f.delete_file(file).await,
        }
    }
    fn file_url(&self, package: &Package, name: &str) -> String {
        match self {
            Self::Gitlab(f) => f.file_url(package, name),
        }
    }
    fn release_url(&self, tag: &str) -> String {
        match self {
            Self::Gitlab(f) => f.release_url(tag),
        }
    }
}

/// Builds the backend the settings name. Errors name the flag that fixes them.
///
/// # Errors
/// No forge, server or project known, or an unsupported forge (exit 2).
pub fn connect(settings: &Settings) -> anyhow::Result<AnyForge> {
    use crate::error::input_with;
    let kind = settings.forge.ok_or_else(|| {
        input_with("no forge is known: not running in a recognised CI, and none given", "pass `--forge gitlab|tgit|github|gitea` (or set `forge.kind`), or use `plan --offline`")
    })?;
    let server = settings.server.as_deref().ok_or_else(|| {
        input_with(
            format!("no server is known for the `{}` forge", kind.as_str()),
            "pass `--server URL`, set `RELSYNC_SERVER` or `forge.server`",
        )
    })?;
    let project = settings.project.as_deref().ok_or_else(|| {
        input_with(
            "no project is known",
            "pass `--project ID|PATH`, set `RELSYNC_PROJECT` or `forge.project`",
        )
    })?;
    match kind {
        ForgeKind::Gitlab => Ok(AnyForge::Gitlab(gitlab::Gitlab::new(
            settings, server, project,
        )?)),
        other => Err(input_with(
            format!(
                "the `{}` forge is not supported by this version of relsync",
                other.as_str()
            ),
            "use `--forge gitlab`, or `plan --offline`",
        )),
    }
}
