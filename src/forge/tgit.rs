//! Tencent Git (工蜂) REST v3: releases with labels and attachments. It has no links API,
//! so declared links are written into the notes.
//!
//! API page: <https://git.code.tencent.com/help/menu/api/releases.html>. Releases and plain
//! tags share the endpoints; `type` tells them apart (`release`, or `none` for a bare tag).

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::hints::Operation;
use super::http::{AuthStyle, Http, HttpError};
use super::spec::{DesiredFile, Package, Progress, ReleaseSpec};
use super::{
    Actual, Capabilities, Created, Forge, NewLink, NewRelease, Release, ReleasePatch, StoredFile,
};
use crate::forge_path::segment_dots as segment;
use crate::manifest::raw::ForgeKind;
use crate::settings::{Settings, Token};

/// A Tencent Git project reached through REST v3.
#[derive(Debug)]
pub struct Tgit {
    http: Http,
    api: String,
    web: String,
    project: String,
    token: Option<Token>,
}

impl Tgit {
    /// Connects to `server` (web root, or the `/api/v3` root) for `project`.
    ///
    /// # Errors
    /// A bad CA bundle or token.
    pub fn new(settings: &Settings, server: &str, project: &str) -> anyhow::Result<Self> {
        let (api, web) = super::layout::api_roots(ForgeKind::Tgit, server);
        let token = settings.token.clone();
        Ok(Self {
            http: Http::new(
                settings,
                token.as_ref(),
                AuthStyle::Header("private-token"),
                &[&api],
            )?,
            api,
            web,
            project: project.to_owned(),
            token,
        })
    }

    fn release_path(&self, tag: &str) -> String {
        format!(
            "{}/projects/{}/releases/{}",
            self.api,
            segment(&self.project),
            segment(tag)
        )
    }

    /// Turns an HTTP error into one that says what to do (the table in [`super::hints`]).
    fn explain(&self, e: HttpError, op: Operation<'_>) -> anyhow::Error {
        super::hints::explain(
            ForgeKind::Tgit,
            self.token.as_ref(),
            self.http.budget,
            e,
            op,
        )
    }

    /// The release or bare tag for `tag`, or `None` when the tag does not exist.
    async fn read(&self, tag: &str) -> anyhow::Result<Option<ReleaseDto>> {
        let url = self.release_path(tag);
        match self
            .http
            .read(|| self.http.request(Method::GET, &url))
            .await
        {
            Ok(resp) => Ok(Some(resp.json::<ReleaseDto>()?)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(self.explain(e, Operation::ReadRelease)),
        }
    }

    fn to_release(&self, dto: &ReleaseDto) -> Release {
        let mut r = Release::basic(
            dto.tag.clone(),
            dto.title.clone().unwrap_or_default(),
            dto.description.clone().unwrap_or_default(),
            self.release_url(&dto.tag),
        );
        r.labels = dto.labels();
        r
    }
}

impl Forge for Tgit {
    fn capabilities(&self) -> Capabilities {
        Capabilities::TGIT
    }

    #[tracing::instrument(skip_all, fields(tag = %desired.tag))]
    async fn observe(&self, desired: &ReleaseSpec<'_>) -> anyhow::Result<Actual> {
        let Some(dto) = self.read(desired.tag).await? else {
            return Ok(Actual::default());
        };
        if !dto.is_release() {
            // A bare tag: no release yet.
            return Ok(Actual::default());
        }
        let files = dto
            .attachments
            .iter()
            .enumerate()
            .map(|(i, a)| StoredFile {
                // Attachments are addressed by name; the position only tells them apart.
                id: i as u64 + 1,
                parent_id: None,
                name: a.name.clone(),
                size: a.size.unwrap_or(0),
                sha256: None,
                complete: true,
            })
            .collect();
        Ok(Actual {
            release: Some(self.to_release(&dto)),
            links: Vec::new(),
            files,
            duplicates: Vec::new(),
        })
    }

    async fn create_release(&self, r: &NewRelease) -> anyhow::Result<Created> {
        let mut body = json!({
            "tag": r.tag,
            "title": r.name,
            "type": "release",
            "description": r.description,
        });
        if !r.labels.is_empty() {
            body["labels"] = json!(r.labels.join(","));
        }
        // A bare tag is turned into a release by updating it; otherwise create (and tag).
        if let Some(existing) = self.read(&r.tag).await? {
            if existing.is_release() {
                return Ok(Created::AlreadyExists);
            }
            self.http
                .send(
                    self.http
                        .request(Method::PUT, &self.release_path(&r.tag))
                        .json(&body),
                )
                .await
                .map_err(|e| self.explain(e, Operation::ConvertTag))?;
            return Ok(Created::Created);
        }
        body["start_point"] = json!(r.git_ref);
        if let Some(m) = &r.tag_message {
            body["tag_message"] = json!(m);
        }
        let url = format!("{}/projects/{}/releases", self.api, segment(&self.project));
        match self
            .http
            .send(self.http.request(Method::POST, &url).json(&body))
            .await
        {
            Ok(_) => Ok(Created::Created),
            Err(e) if e.status() == Some(StatusCode::CONFLICT) => Ok(Created::AlreadyExists),
            Err(e) => Err(self.explain(e, Operation::CreateRelease)),
        }
    }

    async fn update_release(&self, current: &Release, patch: &ReleasePatch) -> anyhow::Result<()> {
        let mut body = json!({ "type": "release" });
        if let Some(n) = &patch.name {
            body["title"] = json!(n);
        }
        if let Some(d) = &patch.description {
            body["description"] = json!(d);
        }
        if let Some(l) = &patch.labels {
            body["labels"] = json!(l.join(","));
        }
        self.http
            .send(
                self.http
                    .request(Method::PUT, &self.release_path(&current.tag))
                    .json(&body),
            )
            .await
            .map_err(|e| self.explain(e, Operation::UpdateRelease))?;
        Ok(())
    }

    async fn create_link(&self, _tag: &str, _link: &NewLink) -> anyhow::Result<()> {
        Err(anyhow::anyhow!(
            "Tencent Git has no links API; links are written into the notes"
        ))
    }

    async fn update_link(&self, tag: &str, _id: u64, link: &NewLink) -> anyhow::Result<()> {
        self.create_link(tag, link).await
    }

    async fn delete_link(&self, _tag: &str, _id: u64) -> anyhow::Result<()> {
        Err(anyhow::anyhow!("Tencent Git has no links API"))
    }

    async fn upload_file(
        &self,
        desired: &ReleaseSpec<'_>,
        _release: Option<&Release>,
        file: &DesiredFile,
        progress: &dyn Progress,
    ) -> anyhow::Result<StoredFile> {
        let url = format!("{}/attachments", self.release_path(desired.tag));
        let form = super::upload_form("file", file, progress).await?;
        let resp = self
            .http
            .send(
                self.http
                    .request(Method::POST, &url)
                    .timeout(self.http.upload_timeout(file.size))
                    .multipart(form),
            )
            .await
            .map_err(|e| self.explain(e, Operation::UploadFile(&file.name)))?;
        let answer: serde_json::Value = resp.json().unwrap_or_default();
        // The server may rename the file; its answer names it.
        let name = answer
            .get("name")
            .or_else(|| answer.get("attachment").and_then(|a| a.get("name")))
            .and_then(|n| n.as_str())
            .map_or_else(|| sanitise(&file.name), str::to_owned);
        Ok(StoredFile {
            id: 0,
            parent_id: None,
            name,
            size: file.size,
            sha256: None,
            complete: true,
        })
    }

    async fn delete_release(&self, _release: &Release) -> anyhow::Result<()> {
        Err(anyhow::anyhow!("relsync never deletes releases here"))
    }

    async fn delete_file(
        &self,
        release: Option<&Release>,
        file: &StoredFile,
    ) -> anyhow::Result<()> {
        let tag = release
            .map(|r| r.tag.as_str())
            .ok_or_else(|| anyhow::anyhow!("no release holds `{}`", file.name))?;
        let url = format!(
            "{}/attachments/{}",
            self.release_path(tag),
            segment(&file.name)
        );
        self.http
            .delete(self.http.request(Method::DELETE, &url))
            .await
            .map_err(|e| self.explain(e, Operation::DeleteFile(&file.name)))
    }

    fn file_url(&self, tag: &str, _package: &Package, name: &str) -> String {
        format!("{}/attachments/{}", self.release_path(tag), segment(name))
    }

    fn release_url(&self, tag: &str) -> String {
        format!(
            "{}/{}/releases/{}",
            self.web,
            self.project,
            super::layout::web_segment(tag)
        )
    }
}

/// What `release.name` means on Tencent Git, when it is not the tag: the API page documents
/// no title parameter for creating or updating a release, so the title relsync sends may be
/// ignored and the release then shows the tag. `None` when the name is the tag.
#[must_use]
pub fn name_note(tag: &str, name: &str) -> Option<String> {
    if name == tag || tag.is_empty() {
        return None;
    }
    Some(format!(
        "on Tencent Git `release.name` (\"{name}\") is sent as the release `title`, which the Releases API page documents for neither create nor update: a server may ignore it and show the tag `{tag}` as the title; put what the title should say at the top of the notes to be sure it is shown"
    ))
}

/// What Tencent Git does to uploaded names, as far as it is known: characters outside
/// `[A-Za-z0-9._-]` become `_`. Used only when the upload's answer does not say.
#[must_use]
pub fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct ReleaseDto {
    tag: String,
    title: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    description: Option<String>,
    #[serde(default)]
    labels: Option<serde_json::Value>,
    #[serde(default)]
    attachments: Vec<AttachmentDto>,
}

impl ReleaseDto {
    fn is_release(&self) -> bool {
        self.kind.as_deref() == Some("release")
    }

    /// Labels come as a list or a comma-separated string; `None` when the answer has none.
    fn labels(&self) -> Option<Vec<String>> {
        Some(match self.labels.as_ref()? {
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.get("name")?.as_str().map(str::to_owned))
                })
                .collect(),
            serde_json::Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => return None,
        })
    }
}

#[derive(Debug, Deserialize)]
struct AttachmentDto {
    name: String,
    size: Option<u64>,
}
