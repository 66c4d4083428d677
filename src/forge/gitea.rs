//! Gitea and Forgejo REST v1: releases by tag and id, attachments (whose names are not
//! unique). Forgejo keeps links as external attachments; on Gitea they are written into the
//! notes.
//!
//! API page: <https://gitea.com/api/swagger#/repository>.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::http::{AuthStyle, Http, HttpError, Pager};
use super::release_json::{AssetDto, ReleaseDto};
use super::{
    Actual, Capabilities, Created, Forge, NewLink, NewRelease, Release, ReleasePatch, StoredFile,
};
use crate::desired::{Desired, DesiredFile, Package};
use crate::forge_path::segment;
use crate::manifest::raw::ForgeKind;
use crate::settings::{Settings, Token};

/// A Gitea or Forgejo repository.
#[derive(Debug)]
pub struct Gitea {
    http: Http,
    api: String,
    web: String,
    repo: String,
    token: Option<Token>,
    /// Whether the server is Forgejo, learnt on the first read.
    forgejo: std::sync::OnceLock<bool>,
}

impl Gitea {
    /// Connects to `server` (web root, or the `/api/v1` root) for `owner/repo`.
    ///
    /// # Errors
    /// A bad CA bundle or token, or a project that is not `owner/repo`.
    pub fn new(settings: &Settings, server: &str, repo: &str) -> anyhow::Result<Self> {
        if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
            return Err(crate::error::input_with(
                format!("`{repo}` is not a Gitea repository"),
                "give the project as `owner/repo`",
            ));
        }
        let (api, web) = super::http::api_roots(server, "/api/v1");
        let token = settings.token.clone();
        Ok(Self {
            http: Http::new(
                settings,
                token.as_ref(),
                AuthStyle::Authorization("token"),
                &[&api],
            )?,
            api,
            web,
            repo: repo.to_owned(),
            token,
            forgejo: std::sync::OnceLock::new(),
        })
    }

    /// Forgejo answers `/api/forgejo/v1/version`; Gitea does not.
    async fn detect_forgejo(&self) -> bool {
        if let Some(known) = self.forgejo.get() {
            return *known;
        }
        let url = format!("{}/api/forgejo/v1/version", self.web);
        let is = self
            .http
            .send(self.http.request(Method::GET, &url))
            .await
            .is_ok();
        *self.forgejo.get_or_init(|| is)
    }

    /// The id of the release for `tag`.
    async fn release_id(&self, tag: &str) -> anyhow::Result<u64> {
        self.find(tag)
            .await?
            .map(|r| r.id)
            .ok_or_else(|| anyhow::anyhow!("no release for `{tag}`"))
    }

    /// Creates a Forgejo external attachment: a link.
    async fn create_external(&self, release_id: u64, link: &NewLink) -> anyhow::Result<()> {
        let url = format!("{}/releases/{release_id}/assets", self.repo_url());
        let form = reqwest::multipart::Form::new()
            .text("name", link.name.clone())
            .text("external_url", link.url.clone());
        self.http
            .send(
                self.http
                    .request(Method::POST, &url)
                    .query(&[("name", link.name.as_str())])
                    .multipart(form),
            )
            .await
            .map_err(|e| self.explain(e, &format!("create the link `{}`", link.name)))?;
        Ok(())
    }

    fn repo_url(&self) -> String {
        let (owner, name) = self.repo.split_once('/').unwrap_or((&self.repo, ""));
        format!("{}/repos/{}/{}", self.api, segment(owner), segment(name))
    }

    fn explain(&self, e: HttpError, what: &str) -> anyhow::Error {
        let var = self.token.as_ref().map_or("(no token)", |t| t.var.as_str());
        let hint = match e.status() {
            Some(StatusCode::UNAUTHORIZED) => Some(format!(
                "the token in `{var}` was refused: set `GITEA_TOKEN` to a token with the `write:repository` scope"
            )),
            Some(StatusCode::FORBIDDEN) => Some(format!(
                "the token in `{var}` may not {what}: it needs write access to the repository"
            )),
            _ => None,
        };
        let hint =
            super::http::no_token_hint(self.token.as_ref(), e.status(), ForgeKind::Gitea).or(hint);
        super::http::with_hint(e, what, hint)
    }

    /// The release for `tag`, drafts included.
    async fn find(&self, tag: &str) -> anyhow::Result<Option<ReleaseDto>> {
        let url = format!("{}/releases/tags/{}", self.repo_url(), segment(tag));
        match self
            .http
            .read(|| self.http.request(Method::GET, &url))
            .await
        {
            Ok(resp) => return Ok(Some(resp.json()?)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {}
            Err(e) => return Err(self.explain(e, "read the release")),
        }
        // Drafts have no tag yet on some versions: look through the list.
        let mut pager = Pager::new("list the releases");
        let mut page = 1u32;
        loop {
            pager.visit(&page.to_string())?;
            let url = format!("{}/releases", self.repo_url());
            let resp = self
                .http
                .read(|| {
                    self.http
                        .request(Method::GET, &url)
                        .query(&[("limit", "50"), ("page", &page.to_string())])
                })
                .await
                .map_err(|e| self.explain(e, "list the releases"))?;
            let items: Vec<ReleaseDto> = resp.json()?;
            if items.is_empty() {
                return Ok(None);
            }
            if let Some(found) = items.into_iter().find(|r| r.tag_name == tag) {
                return Ok(Some(found));
            }
            page += 1;
        }
    }
}

impl Forge for Gitea {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            links_api: self.forgejo.get().copied().unwrap_or(false),
            ..Capabilities::GITEA
        }
    }

    #[tracing::instrument(skip_all, fields(tag = %desired.tag))]
    async fn observe(&self, desired: &Desired) -> anyhow::Result<Actual> {
        self.detect_forgejo().await;
        let Some(mut dto) = self.find(&desired.tag).await? else {
            return Ok(Actual::default());
        };
        let (links, assets): (Vec<AssetDto>, Vec<AssetDto>) =
            dto.assets.drain(..).partition(AssetDto::is_link);
        let mut files: Vec<StoredFile> =
            assets.into_iter().map(|a| a.into_stored(dto.id)).collect();
        files.sort_by_key(|f| f.id);
        Ok(Actual {
            release: Some(dto.into_release()),
            links: links.into_iter().map(AssetDto::into_link).collect(),
            files,
            duplicates: Vec::new(),
        })
    }

    async fn create_release(&self, r: &NewRelease) -> anyhow::Result<Created> {
        let body = json!({
            "tag_name": r.tag,
            "target_commitish": r.git_ref,
            "name": r.name,
            "body": r.description,
            "draft": r.draft,
            "prerelease": r.prerelease,
        });
        let url = format!("{}/releases", self.repo_url());
        match self
            .http
            .send(self.http.request(Method::POST, &url).json(&body))
            .await
        {
            Ok(resp) => {
                let release = resp.json::<ReleaseDto>()?.into_release();
                // Forgejo links are attachments, so they follow the release.
                for link in &r.links {
                    self.create_external(release.id.unwrap_or_default(), link)
                        .await?;
                }
                Ok(Created::Created(release))
            }
            Err(e) if e.status() == Some(StatusCode::CONFLICT) => Ok(Created::AlreadyExists),
            Err(e) => Err(self.explain(e, "create the release")),
        }
    }

    async fn update_release(&self, current: &Release, patch: &ReleasePatch) -> anyhow::Result<()> {
        let id = current
            .id
            .ok_or_else(|| anyhow::anyhow!("the release has no id"))?;
        let body = super::release_json::patch_body(patch);
        let url = format!("{}/releases/{id}", self.repo_url());
        self.http
            .send(self.http.request(Method::PATCH, &url).json(&body))
            .await
            .map_err(|e| self.explain(e, "update the release"))?;
        Ok(())
    }

    async fn create_link(&self, tag: &str, link: &NewLink) -> anyhow::Result<()> {
        let id = self.release_id(tag).await?;
        self.create_external(id, link).await
    }

    async fn update_link(&self, tag: &str, id: u64, link: &NewLink) -> anyhow::Result<()> {
        let release = self.release_id(tag).await?;
        let url = format!("{}/releases/{release}/assets/{id}", self.repo_url());
        let body = json!({ "name": link.name, "browser_download_url": link.url });
        self.http
            .send(self.http.request(Method::PATCH, &url).json(&body))
            .await
            .map_err(|e| self.explain(e, &format!("update the link `{}`", link.name)))?;
        Ok(())
    }

    async fn delete_link(&self, tag: &str, id: u64) -> anyhow::Result<()> {
        let release = self.release_id(tag).await?;
        let url = format!("{}/releases/{release}/assets/{id}", self.repo_url());
        self.http
            .delete(self.http.request(Method::DELETE, &url))
            .await
            .map_err(|e| self.explain(e, "delete a link"))
    }

    async fn upload_file(
        &self,
        _desired: &Desired,
        release: Option<&Release>,
        file: &DesiredFile,
    ) -> anyhow::Result<StoredFile> {
        let id = release
            .and_then(|r| r.id)
            .ok_or_else(|| anyhow::anyhow!("no release to attach `{}` to", file.name))?;
        let form = super::upload_form("attachment", file).await?;
        let url = format!("{}/releases/{id}/assets", self.repo_url());
        let resp = self
            .http
            .send(
                self.http
                    .request(Method::POST, &url)
                    .query(&[("name", file.name.as_str())])
                    .timeout(self.http.upload_timeout(file.size))
                    .multipart(form),
            )
            .await
            .map_err(|e| self.explain(e, &format!("upload the attachment `{}`", file.name)))?;
        let a: AssetDto = resp.json()?;
        let mut stored = a.into_stored(id);
        stored.sha256 = Some(file.sha256.clone());
        Ok(stored)
    }

    async fn delete_release(&self, _release: &Release) -> anyhow::Result<()> {
        Err(anyhow::anyhow!("relsync never deletes releases here"))
    }

    async fn delete_file(
        &self,
        release: Option<&Release>,
        file: &StoredFile,
    ) -> anyhow::Result<()> {
        let id = file
            .parent_id
            .or_else(|| release.and_then(|r| r.id))
            .unwrap_or_default();
        let url = format!("{}/releases/{id}/assets/{}", self.repo_url(), file.id);
        self.http
            .delete(self.http.request(Method::DELETE, &url))
            .await
            .map_err(|e| self.explain(e, &format!("delete the attachment `{}`", file.name)))
    }

    fn file_url(&self, tag: &str, _package: &Package, name: &str) -> String {
        // A web URL: raw names, so a download saves `app.tar.gz` (see `layout`).
        format!(
            "{}/{}/releases/download/{}/{}",
            self.web,
            self.repo,
            super::layout::web_segment(tag),
            super::layout::web_segment(name)
        )
    }

    fn release_url(&self, tag: &str) -> String {
        format!(
            "{}/{}/releases/tag/{}",
            self.web,
            self.repo,
            super::layout::web_segment(tag)
        )
    }
}
