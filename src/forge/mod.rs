//! The forge seam: the operations the release pipeline needs, with neutral types.
//! Backends turn their DTOs into these; `plan` and `apply` never see a forge's JSON.

#[cfg(test)]
pub mod fake;
pub mod gitea;
pub mod github;
pub mod gitlab;
pub mod hints;
pub mod http;
pub mod layout;
mod release_json;
pub mod spec;
pub mod tgit;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::manifest::raw::ForgeKind;
use crate::manifest::raw::LinkType;
use crate::settings::Settings;
use spec::{DesiredFile, Package, Progress, ReleaseSpec};

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
    /// Forge id (GitHub, Gitea), when releases are addressed by id.
    pub id: Option<u64>,
    /// A draft (GitHub, Gitea).
    pub draft: bool,
    /// A pre-release (GitHub, Gitea).
    pub prerelease: bool,
    /// Labels (Tencent Git), when the forge reports them.
    pub labels: Option<Vec<String>>,
    /// Where assets are uploaded (GitHub).
    pub upload_url: Option<String>,
    /// Published with GitHub's immutable releases: assets can no longer change.
    pub immutable: bool,
}

impl Release {
    /// A release with only the common fields set.
    #[must_use]
    pub fn basic(tag: String, name: String, description: String, url: String) -> Self {
        Self {
            tag,
            name,
            description,
            milestones: Vec::new(),
            released_at: None,
            url,
            id: None,
            draft: false,
            prerelease: false,
            labels: None,
            upload_url: None,
            immutable: false,
        }
    }
}

/// What a forge can hold, so `plan` asks only for what it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// A links API (GitLab); elsewhere links are written into the notes.
    pub links_api: bool,
    /// Files are stored apart from the release and linked (GitLab generic packages); else
    /// they are attachments of the release, which must exist first.
    pub files_linked: bool,
    /// The forge may rename uploaded files (Tencent Git, GitHub): names are learnt from
    /// the upload's answer and recorded in the state.
    pub renames_files: bool,
    /// Stored files report their sha256.
    pub reports_sha256: bool,
    /// New releases are created as drafts and published last (GitHub).
    pub drafts: bool,
    /// Milestones and `released_at` (GitLab).
    pub milestones: bool,
    /// Labels (Tencent Git).
    pub labels: bool,
    /// Draft and pre-release flags (GitHub, Gitea).
    pub prerelease: bool,
    /// The longest description the forge accepts, in characters (GitHub: 125,000).
    pub max_description: Option<usize>,
}

impl Capabilities {
    /// The capabilities of a forge kind.
    #[must_use]
    pub fn of(kind: ForgeKind) -> Self {
        match kind {
            ForgeKind::Gitlab => Self::GITLAB,
            ForgeKind::Tgit => Self::TGIT,
            ForgeKind::Github => Self::GITHUB,
            ForgeKind::Gitea => Self::GITEA,
        }
    }

    /// Tencent Git's: attachments (renamed by the server), labels, no links API.
    pub const TGIT: Self = Self {
        links_api: false,
        files_linked: false,
        renames_files: true,
        reports_sha256: false,
        drafts: false,
        milestones: false,
        labels: true,
        prerelease: false,
        max_description: None,
    };

    /// GitHub's: assets with digests on a draft published last, no links API, a body of at most
    /// 125,000 characters (422 "body is too long" beyond: softprops/action-gh-release#374,
    /// cli/cli#7705).
    pub const GITHUB: Self = Self {
        links_api: false,
        files_linked: false,
        renames_files: true,
        reports_sha256: true,
        drafts: true,
        milestones: false,
        labels: false,
        prerelease: true,
        max_description: Some(layout::DescriptionLimit::of(ForgeKind::Github).max),
    };

    /// Gitea's and Forgejo's: attachments with non-unique names, no links API.
    pub const GITEA: Self = Self {
        links_api: false,
        files_linked: false,
        renames_files: false,
        reports_sha256: false,
        drafts: false,
        milestones: false,
        labels: false,
        prerelease: true,
        max_description: None,
    };

    /// GitLab's.
    pub const GITLAB: Self = Self {
        links_api: true,
        files_linked: true,
        renames_files: false,
        reports_sha256: true,
        drafts: false,
        milestones: true,
        labels: false,
        prerelease: false,
        max_description: None,
    };
}

/// An asset link as the forge holds it.
#[allow(
    clippy::struct_field_names,
    reason = "`link_type` is the forges' own name for the field"
)]
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
    /// Fully uploaded (GitHub marks interrupted uploads, which must be redone).
    pub complete: bool,
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
    /// Created as a draft.
    pub draft: bool,
    /// A pre-release.
    pub prerelease: bool,
    /// Labels.
    pub labels: Vec<String>,
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
    /// New labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// New pre-release flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prerelease: Option<bool>,
    /// New draft flag (`Some(false)` publishes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<bool>,
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
        if self.labels.is_some() {
            f.push("labels");
        }
        if self.prerelease.is_some() {
            f.push("prerelease");
        }
        match self.draft {
            Some(false) => f.push("publish"),
            Some(true) => f.push("draft"),
            None => {}
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
    /// Other drafts for the same tag (GitHub lets two racing jobs each create one).
    pub duplicates: Vec<Release>,
}

/// Outcome of a create.
#[derive(Debug, Clone)]
pub enum Created {
    /// Created now.
    Created,
    /// Another job created it first (409): re-read and update.
    AlreadyExists,
}

/// The operations the release pipeline needs from a forge.
#[allow(async_fn_in_trait)]
pub trait Forge {
    /// What the forge can hold.
    fn capabilities(&self) -> Capabilities;
    /// Reads the release for the desired tag, its links and its stored files.
    async fn observe(&self, desired: &ReleaseSpec<'_>) -> anyhow::Result<Actual>;
    /// Creates the release (and the tag from `git_ref` when missing).
    async fn create_release(&self, release: &NewRelease) -> anyhow::Result<Created>;
    /// Updates the given fields of the release.
    async fn update_release(&self, current: &Release, patch: &ReleasePatch) -> anyhow::Result<()>;
    /// Creates a link.
    async fn create_link(&self, tag: &str, link: &NewLink) -> anyhow::Result<()>;
    /// Updates a link, sending every field.
    async fn update_link(&self, tag: &str, id: u64, link: &NewLink) -> anyhow::Result<()>;
    /// Deletes a link.
    async fn delete_link(&self, tag: &str, id: u64) -> anyhow::Result<()>;
    /// Uploads a file, streamed; returns it as stored (the forge may rename it).
    async fn upload_file(
        &self,
        desired: &ReleaseSpec<'_>,
        release: Option<&Release>,
        file: &DesiredFile,
        progress: &dyn Progress,
    ) -> anyhow::Result<StoredFile>;
    /// Deletes a release (a duplicate draft).
    async fn delete_release(&self, release: &Release) -> anyhow::Result<()>;
    /// Deletes a stored file.
    async fn delete_file(&self, release: Option<&Release>, file: &StoredFile)
    -> anyhow::Result<()>;
    /// The URL a stored file is downloaded from, when it can be known before the upload.
    fn file_url(&self, desired_tag: &str, package: &Package, name: &str) -> String;
    /// The web URL of the release.
    fn release_url(&self, tag: &str) -> String;
    /// The milestones among `titles` that do not exist (GitLab refuses a release naming
    /// one); `None` when the forge has none or the token may not read them.
    async fn missing_milestones(&self, _titles: &[String]) -> anyhow::Result<Option<Vec<String>>> {
        Ok(None)
    }
}

/// A request body that streams `file` from disk (constant memory), or sends generated bytes.
/// The stream hashes the bytes as it reads them and aborts the request when they are not the
/// planned ones (size and sha256), so a file rewritten during its upload is never stored.
/// `progress` is told each chunk read from disk.
///
/// # Errors
/// The file cannot be opened.
pub async fn upload_body(
    file: &DesiredFile,
    progress: &dyn Progress,
) -> anyhow::Result<reqwest::Body> {
    Ok(match &file.source {
        spec::FileSource::Memory(bytes) => reqwest::Body::from(bytes.clone()),
        spec::FileSource::Disk(path) => {
            let f = tokio::fs::File::open(path)
                .await
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
            let stream = tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024);
            let planned = crate::assets::Hashed {
                size: file.size,
                sha256: file.sha256.clone(),
            };
            let verified = crate::assets::verified_stream(stream, planned, file.name.clone());
            reqwest::Body::wrap_stream(reported(verified, progress.start(&file.name, file.size)))
        }
    })
}

/// `stream`, telling `sent` the length of each chunk as it passes.
fn reported<S>(
    stream: S,
    mut sent: Box<dyn FnMut(u64) + Send>,
) -> impl futures_util::Stream<Item = S::Item> + Send + 'static
where
    S: futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static,
{
    use futures_util::StreamExt;
    stream.map(move |chunk| {
        if let Ok(c) = &chunk {
            sent(c.len() as u64);
        }
        chunk
    })
}

/// A multipart form whose one part, `field`, streams `file` with its length given.
///
/// # Errors
/// The file cannot be opened.
pub async fn upload_form(
    field: &'static str,
    file: &DesiredFile,
    progress: &dyn Progress,
) -> anyhow::Result<reqwest::multipart::Form> {
    let part =
        reqwest::multipart::Part::stream_with_length(upload_body(file, progress).await?, file.size)
            .file_name(file.name.clone())
            .mime_str("application/octet-stream")?;
    Ok(reqwest::multipart::Form::new().part(field, part))
}

/// The backends, dispatched statically.
#[derive(Debug)]
pub enum AnyForge {
    /// GitLab REST v4.
    Gitlab(gitlab::Gitlab),
    /// Tencent Git REST v3.
    Tgit(tgit::Tgit),
    /// GitHub REST.
    Github(github::Github),
    /// Gitea / Forgejo REST v1.
    Gitea(gitea::Gitea),
}

/// Delegates every operation to the backend.
macro_rules! delegate {
    ($self:ident, $f:ident => $e:expr) => {
        match $self {
            AnyForge::Gitlab($f) => $e,
            AnyForge::Tgit($f) => $e,
            AnyForge::Github($f) => $e,
            AnyForge::Gitea($f) => $e,
        }
    };
}

impl Forge for AnyForge {
    fn capabilities(&self) -> Capabilities {
        delegate!(self, f => f.capabilities())
    }
    async fn observe(&self, desired: &ReleaseSpec<'_>) -> anyhow::Result<Actual> {
        delegate!(self, f => f.observe(desired).await)
    }
    async fn create_release(&self, release: &NewRelease) -> anyhow::Result<Created> {
        delegate!(self, f => f.create_release(release).await)
    }
    async fn update_release(&self, current: &Release, patch: &ReleasePatch) -> anyhow::Result<()> {
        delegate!(self, f => f.update_release(current, patch).await)
    }
    async fn create_link(&self, tag: &str, link: &NewLink) -> anyhow::Result<()> {
        delegate!(self, f => f.create_link(tag, link).await)
    }
    async fn update_link(&self, tag: &str, id: u64, link: &NewLink) -> anyhow::Result<()> {
        delegate!(self, f => f.update_link(tag, id, link).await)
    }
    async fn delete_link(&self, tag: &str, id: u64) -> anyhow::Result<()> {
        delegate!(self, f => f.delete_link(tag, id).await)
    }
    async fn upload_file(
        &self,
        desired: &ReleaseSpec<'_>,
        release: Option<&Release>,
        file: &DesiredFile,
        progress: &dyn Progress,
    ) -> anyhow::Result<StoredFile> {
        delegate!(self, f => f.upload_file(desired, release, file, progress).await)
    }
    async fn delete_release(&self, release: &Release) -> anyhow::Result<()> {
        delegate!(self, f => f.delete_release(release).await)
    }
    async fn delete_file(
        &self,
        release: Option<&Release>,
        file: &StoredFile,
    ) -> anyhow::Result<()> {
        delegate!(self, f => f.delete_file(release, file).await)
    }
    fn file_url(&self, desired_tag: &str, package: &Package, name: &str) -> String {
        delegate!(self, f => f.file_url(desired_tag, package, name))
    }
    fn release_url(&self, tag: &str) -> String {
        delegate!(self, f => f.release_url(tag))
    }
    async fn missing_milestones(&self, titles: &[String]) -> anyhow::Result<Option<Vec<String>>> {
        delegate!(self, f => f.missing_milestones(titles).await)
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
        ForgeKind::Tgit => Ok(AnyForge::Tgit(tgit::Tgit::new(settings, server, project)?)),
        ForgeKind::Github => Ok(AnyForge::Github(github::Github::new(
            settings, server, project,
        )?)),
        ForgeKind::Gitea => Ok(AnyForge::Gitea(gitea::Gitea::new(
            settings, server, project,
        )?)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures_util::StreamExt;

    /// Records what an upload reports, as a caller's `Progress` would see it.
    #[derive(Debug, Default)]
    struct Recorded(Arc<Mutex<Vec<(String, u64, u64)>>>);

    impl super::Progress for Recorded {
        fn start(&self, name: &str, size: u64) -> Box<dyn FnMut(u64) + Send> {
            let seen = Arc::clone(&self.0);
            let name = name.to_owned();
            Box::new(move |n| seen.lock().unwrap().push((name.clone(), size, n)))
        }
    }

    #[test]
    fn an_upload_reports_every_chunk_to_the_progress_its_caller_gives() {
        let chunks: Vec<std::io::Result<bytes::Bytes>> = vec![
            Ok(bytes::Bytes::from_static(b"abc")),
            Ok(bytes::Bytes::from_static(b"defgh")),
            Err(std::io::Error::other("changed during upload")),
        ];
        let progress = Recorded::default();
        let sink = super::Progress::start(&progress, "app.tar.gz", 8);
        let out: Vec<_> = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(
                super::reported(futures_util::stream::iter(chunks), sink).collect::<Vec<_>>(),
            );
        assert_eq!(out.len(), 3, "every chunk passes, errors included");
        assert!(out[2].is_err());
        assert_eq!(
            *progress.0.lock().unwrap(),
            vec![
                ("app.tar.gz".to_owned(), 8, 3),
                ("app.tar.gz".to_owned(), 8, 5)
            ]
        );
    }
}
