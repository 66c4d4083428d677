//! GitHub's release and asset JSON, which Gitea and Forgejo mirror field for field.

use serde::Deserialize;

use super::{Release, ReleasePatch, StoredFile};

/// A release as GitHub and Gitea answer it.
#[derive(Debug, Deserialize)]
pub(crate) struct ReleaseDto {
    pub(crate) id: u64,
    pub(crate) tag_name: String,
    name: Option<String>,
    body: Option<String>,
    #[serde(default)]
    pub(crate) draft: bool,
    #[serde(default)]
    prerelease: bool,
    /// GitHub only.
    #[serde(default)]
    immutable: bool,
    html_url: Option<String>,
    /// GitHub only.
    upload_url: Option<String>,
    /// Gitea lists attachments inline; GitHub's list may be cut, so relsync pages it.
    #[serde(default)]
    pub(crate) assets: Vec<AssetDto>,
}

impl ReleaseDto {
    pub(crate) fn into_release(self) -> Release {
        let mut r = Release::basic(
            self.tag_name,
            self.name.unwrap_or_default(),
            self.body.unwrap_or_default(),
            self.html_url.unwrap_or_default(),
        );
        r.id = Some(self.id);
        r.draft = self.draft;
        r.prerelease = self.prerelease;
        r.immutable = self.immutable;
        r.upload_url = self.upload_url;
        r
    }
}

/// An asset (GitHub) or attachment (Gitea).
#[derive(Debug, Deserialize)]
pub(crate) struct AssetDto {
    pub(crate) id: u64,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) size: u64,
    /// GitHub: `uploaded`, or `starter`/`open` for an interrupted upload.
    state: Option<String>,
    /// GitHub: `sha256:<hex>`.
    digest: Option<String>,
    /// Forgejo: `attachment`, or `external` for a link.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Where it downloads from (for a Forgejo link: the link's URL).
    browser_download_url: Option<String>,
}

impl AssetDto {
    /// A Forgejo external attachment, which is a link.
    pub(crate) fn is_link(&self) -> bool {
        self.kind.as_deref() == Some("external")
    }

    /// The link a Forgejo external attachment is.
    pub(crate) fn into_link(self) -> super::Link {
        super::Link {
            id: self.id,
            name: self.name,
            url: self.browser_download_url.unwrap_or_default(),
            // Forgejo has no link types.
            link_type: None,
            direct_asset_path: None,
        }
    }

    /// The stored file, in release `parent`.
    pub(crate) fn into_stored(self, parent: u64) -> StoredFile {
        StoredFile {
            id: self.id,
            parent_id: Some(parent),
            complete: self.state.as_deref().is_none_or(|s| s == "uploaded"),
            sha256: self
                .digest
                .as_deref()
                .and_then(|d| d.strip_prefix("sha256:"))
                .map(str::to_owned),
            name: self.name,
            size: self.size,
        }
    }
}

/// The body of a release `PATCH`: only the fields that change, in GitHub's names.
pub(crate) fn patch_body(patch: &ReleasePatch) -> serde_json::Value {
    let mut body = serde_json::json!({});
    if let Some(n) = &patch.name {
        body["name"] = n.as_str().into();
    }
    if let Some(d) = &patch.description {
        body["body"] = d.as_str().into();
    }
    if let Some(p) = patch.prerelease {
        body["prerelease"] = p.into();
    }
    if let Some(d) = patch.draft {
        body["draft"] = d.into();
    }
    body
}
