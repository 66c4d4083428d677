//! Gitea and Forgejo REST v1: releases by tag and id, attachments (whose names are not
//! unique). Forgejo 7.0 and later keep links as external attachments; on Gitea and older
//! Forgejo they are written into the notes.
//!
//! API page: <https://gitea.com/api/swagger#/repository>.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::hints::Operation;
use super::http::{AuthStyle, Http, HttpError};
use super::release_json::{AssetDto, ReleaseDto};
use super::spec::{DesiredFile, Package, Progress, ReleaseSpec};
use super::{
    Actual, Capabilities, Created, Forge, NewLink, NewRelease, Release, ReleasePatch, StoredFile,
};
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
    /// What the server is, learnt from its version on the first read.
    server: std::sync::OnceLock<Server>,
    /// Every declared link can be an external attachment (Forgejo takes `http(s)` only).
    links_fit: std::sync::atomic::AtomicBool,
}

/// What a Gitea or Forgejo server can do, by its version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Server {
    /// Forgejo (it answers `/api/forgejo/v1/version`).
    forgejo: bool,
    /// External (link) release attachments: Forgejo 7.0 and later.
    external_links: bool,
    /// Release create reads `tag_message`: Gitea 1.23 and later (go-gitea/gitea PR #31840);
    /// Forgejo by the Gitea version it names after `+gitea-`.
    create_tag_message: bool,
}

impl Server {
    /// From the version of `/api/forgejo/v1/version` (`Some`) or of `/api/v1/version`.
    fn of(forgejo: Option<&str>, gitea: Option<&str>) -> Self {
        match forgejo {
            Some(v) => Self {
                forgejo: true,
                external_links: major_minor(v).0 >= 7,
                create_tag_message: v
                    .split_once("+gitea-")
                    .is_some_and(|(_, g)| major_minor(g) >= (1, 23)),
            },
            None => Self {
                forgejo: false,
                external_links: false,
                create_tag_message: gitea.is_some_and(|v| major_minor(v) >= (1, 23)),
            },
        }
    }
}

/// `(major, minor)` of `1.22.6`, `v1.23.0+dev`, `11.0.1+gitea-1.22.0` or `1.21.11-1`.
fn major_minor(v: &str) -> (u64, u64) {
    let mut n = v
        .trim_start_matches('v')
        .split(|c: char| !c.is_ascii_digit())
        .map(|x| x.parse::<u64>().unwrap_or(0));
    (n.next().unwrap_or(0), n.next().unwrap_or(0))
}

/// Whether Forgejo takes `url` as an external attachment: `IsValidReleaseAssetURL` in its
/// `modules/validation/helpers.go` accepts the `http` and `https` schemes only.
fn external_ok(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

impl Gitea {
    /// The repository's web URLs, built as `notes` builds them.
    fn layout(&self) -> super::layout::Layout {
        super::layout::Layout::new(Some(ForgeKind::Gitea), &self.web, &self.repo)
    }

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
        let (api, web) = super::layout::api_roots(ForgeKind::Gitea, server);
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
            server: std::sync::OnceLock::new(),
            links_fit: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// The server's kind and version: Forgejo answers `/api/forgejo/v1/version`, Gitea does
    /// not and gives its version at `/api/v1/version`. Read once.
    async fn server(&self) -> Server {
        if let Some(known) = self.server.get() {
            return *known;
        }
        let forgejo = self
            .version(&format!("{}/api/forgejo/v1/version", self.web))
            .await;
        let gitea = match forgejo {
            Some(_) => None,
            None => self.version(&format!("{}/version", self.api)).await,
        };
        let server = Server::of(forgejo.as_deref(), gitea.as_deref());
        tracing::debug!(
            "{} {}",
            if server.forgejo { "Forgejo" } else { "Gitea" },
            forgejo
                .or(gitea)
                .unwrap_or_else(|| "of unknown version".into())
        );
        *self.server.get_or_init(|| server)
    }

    /// The `version` a version endpoint answers, if it answers.
    async fn version(&self, url: &str) -> Option<String> {
        let resp = self
            .http
            .send(self.http.request(Method::GET, url))
            .await
            .ok()?;
        let v: serde_json::Value = resp.json().ok()?;
        v.get("version")?.as_str().map(str::to_owned)
    }

    /// Makes sure the tag exists, annotated with `message` when relsync creates it
    /// (`POST /repos/{o}/{r}/tags`, Gitea 1.15 and later): for servers whose release create
    /// ignores `tag_message`. An existing tag is left as it is.
    async fn ensure_annotated_tag(
        &self,
        tag: &str,
        target: &str,
        message: &str,
    ) -> anyhow::Result<()> {
        let url = format!("{}/tags/{}", self.repo_url(), segment(tag));
        match self
            .http
            .read(|| self.http.request(Method::GET, &url))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {}
            Err(e) => return Err(self.explain(e, Operation::ReadTag)),
        }
        let body = json!({ "tag_name": tag, "target": target, "message": message });
        match self
            .http
            .send(
                self.http
                    .request(Method::POST, &format!("{}/tags", self.repo_url()))
                    .json(&body),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Created meanwhile by another job: it is the tag of this release.
            Err(e) if e.status() == Some(StatusCode::CONFLICT) => Ok(()),
            Err(e) => Err(self.explain(e, Operation::CreateTag)),
        }
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
            .map_err(|e| self.explain(e, Operation::CreateLink(&link.name)))?;
        Ok(())
    }

    fn repo_url(&self) -> String {
        let (owner, name) = self.repo.split_once('/').unwrap_or((&self.repo, ""));
        format!("{}/repos/{}/{}", self.api, segment(owner), segment(name))
    }

    /// Turns an HTTP error into one that says what to do (the table in [`super::hints`]).
    fn explain(&self, e: HttpError, op: Operation<'_>) -> anyhow::Error {
        super::hints::explain(
            ForgeKind::Gitea,
            self.token.as_ref(),
            self.http.budget,
            e,
            op,
        )
    }

    /// The release for `tag`, drafts included. Get-by-tag finds drafts on current servers (for
    /// a token with write access); older ones find only published releases, so on a 404 the
    /// first page of the list (newest first), where a draft made by relsync is, is read too.
    async fn find(&self, tag: &str) -> anyhow::Result<Option<ReleaseDto>> {
        let url = format!("{}/releases/tags/{}", self.repo_url(), segment(tag));
        match self
            .http
            .read(|| self.http.request(Method::GET, &url))
            .await
        {
            Ok(resp) => return Ok(Some(resp.json()?)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {}
            Err(e) => return Err(self.explain(e, Operation::ReadRelease)),
        }
        let url = format!("{}/releases", self.repo_url());
        let resp = self
            .http
            .read(|| {
                self.http
                    .request(Method::GET, &url)
                    .query(&[("limit", "50"), ("page", "1")])
            })
            .await
            .map_err(|e| self.explain(e, Operation::ListReleases))?;
        let items: Vec<ReleaseDto> = resp.json()?;
        Ok(items.into_iter().find(|r| r.tag_name == tag))
    }
}

impl Forge for Gitea {
    fn capabilities(&self) -> Capabilities {
        let external = self.server.get().is_some_and(|s| s.external_links);
        Capabilities {
            links_api: external && self.links_fit.load(std::sync::atomic::Ordering::Relaxed),
            ..Capabilities::GITEA
        }
    }

    #[tracing::instrument(skip_all, fields(tag = %desired.tag))]
    async fn observe(&self, desired: &ReleaseSpec<'_>) -> anyhow::Result<Actual> {
        let server = self.server().await;
        let fit = desired.links.iter().all(|l| external_ok(&l.url));
        let was = self
            .links_fit
            .swap(fit, std::sync::atomic::Ordering::Relaxed);
        if server.external_links && !fit && was {
            tracing::warn!(
                "Forgejo keeps only http(s) links as release attachments: the links are written into the notes"
            );
        }
        let Some(mut dto) = self.find(desired.tag).await? else {
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
        let mut body = json!({
            "tag_name": r.tag,
            "target_commitish": r.git_ref,
            "name": r.name,
            "body": r.description,
            "draft": r.draft,
            "prerelease": r.prerelease,
        });
        if let Some(message) = &r.tag_message {
            if self.server().await.create_tag_message {
                body["tag_message"] = json!(message);
            } else {
                self.ensure_annotated_tag(&r.tag, &r.git_ref, message)
                    .await?;
            }
        }
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
                Ok(Created::Created)
            }
            Err(e) if e.status() == Some(StatusCode::CONFLICT) => Ok(Created::AlreadyExists),
            Err(e) => Err(self.explain(e, Operation::CreateRelease)),
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
            .map_err(|e| self.explain(e, Operation::UpdateRelease))?;
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
            .map_err(|e| self.explain(e, Operation::UpdateLink(&link.name)))?;
        Ok(())
    }

    async fn delete_link(&self, tag: &str, id: u64) -> anyhow::Result<()> {
        let release = self.release_id(tag).await?;
        let url = format!("{}/releases/{release}/assets/{id}", self.repo_url());
        self.http
            .delete(self.http.request(Method::DELETE, &url))
            .await
            .map_err(|e| self.explain(e, Operation::DeleteLink))
    }

    async fn upload_file(
        &self,
        _desired: &ReleaseSpec<'_>,
        release: Option<&Release>,
        file: &DesiredFile,
        progress: &dyn Progress,
    ) -> anyhow::Result<StoredFile> {
        let id = release
            .and_then(|r| r.id)
            .ok_or_else(|| anyhow::anyhow!("no release to attach `{}` to", file.name))?;
        let form = super::upload_form("attachment", file, progress).await?;
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
            .map_err(|e| self.explain(e, Operation::UploadFile(&file.name)))?;
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
            .map_err(|e| self.explain(e, Operation::DeleteFile(&file.name)))
    }

    /// A web URL, dots literal as in the server's own `browser_download_url`.
    fn file_url(&self, tag: &str, _package: &Package, name: &str) -> String {
        let layout = self.layout();
        layout
            .file_download(tag, name)
            .unwrap_or_else(|| layout.release(tag))
    }

    fn release_url(&self, tag: &str) -> String {
        self.layout().release(tag)
    }
}

#[cfg(test)]
mod tests {
    use super::{Server, external_ok};

    #[test]
    fn capabilities_follow_the_version() {
        let old_forgejo = Server::of(Some("1.21.11-1"), None);
        assert!(old_forgejo.forgejo && !old_forgejo.external_links);
        assert!(!Server::of(Some("6.0.3+gitea-1.21.0"), None).external_links);
        let current = Server::of(Some("11.0.1+gitea-1.22.0"), None);
        assert!(current.external_links && !current.create_tag_message);
        assert!(Server::of(Some("12.0.0+gitea-1.23.0"), None).create_tag_message);
        let gitea = Server::of(None, Some("1.24.6"));
        assert!(!gitea.forgejo && !gitea.external_links && gitea.create_tag_message);
        assert!(!Server::of(None, Some("1.22.6")).create_tag_message);
        assert!(!Server::of(None, None).create_tag_message);
    }

    #[test]
    fn only_http_links_are_external() {
        assert!(external_ok("https://example.com/a"));
        assert!(external_ok("HTTP://example.com/a"));
        assert!(!external_ok("ftp://example.com/a"));
    }
}
