//! GitHub REST (api.github.com and GitHub Enterprise Server `/api/v3`): releases by id,
//! assets with sha256 digests on the upload host, drafts published last.
//!
//! API pages: <https://docs.github.com/rest/releases/releases>,
//! <https://docs.github.com/rest/releases/assets>.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::hints::Operation;
use super::http::{AuthStyle, Http, HttpError, Pager};
use super::release_json::{AssetDto, ReleaseDto};
use super::spec::{DesiredFile, Package, Progress, ReleaseSpec};
use super::{
    Actual, Capabilities, Created, Forge, NewLink, NewRelease, Release, ReleasePatch, StoredFile,
};
use crate::forge_path::segment;
use crate::manifest::raw::ForgeKind;
use crate::settings::{Settings, Token};

/// The REST API version relsync speaks.
pub const API_VERSION: &str = "2022-11-28";

/// A GitHub repository.
#[derive(Debug)]
pub struct Github {
    http: Http,
    /// API root (`https://api.github.com`, `https://host/api/v3`).
    api: String,
    /// Web root (`https://github.com`).
    web: String,
    /// `owner/repo`.
    repo: String,
    token: Option<Token>,
}

impl Github {
    /// The repository's web URLs, built as `notes` builds them.
    fn layout(&self) -> super::layout::Layout {
        super::layout::Layout::new(Some(ForgeKind::Github), &self.web, &self.repo)
    }

    /// Connects to the API root `server` for `owner/repo`.
    ///
    /// # Errors
    /// A bad CA bundle or token, or a project that is not `owner/repo`.
    pub fn new(settings: &Settings, server: &str, repo: &str) -> anyhow::Result<Self> {
        if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
            return Err(crate::error::input_with(
                format!("`{repo}` is not a GitHub repository"),
                "give the project as `owner/repo`",
            ));
        }
        let api = server.trim_end_matches('/').to_owned();
        let web = settings
            .ci
            .server_url
            .clone()
            .unwrap_or_else(|| super::layout::web_root(&api).to_owned());
        let token = settings.token.clone();
        // Assets go to the upload origin (`uploads.github.com`; GHES uses its own origin).
        let mut origins = vec![api.as_str()];
        origins.extend(Http::github_upload_root(&api));
        Ok(Self {
            http: Http::new(
                settings,
                token.as_ref(),
                AuthStyle::Authorization("Bearer"),
                &origins,
            )?,
            api,
            web: web.trim_end_matches('/').to_owned(),
            repo: repo.to_owned(),
            token,
        })
    }

    fn repo_url(&self) -> String {
        let (owner, name) = self.repo.split_once('/').unwrap_or((&self.repo, ""));
        format!("{}/repos/{}/{}", self.api, segment(owner), segment(name))
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", API_VERSION)
    }

    /// Turns an HTTP error into one that says what to do (the table in [`super::hints`]).
    fn explain(&self, e: HttpError, op: Operation<'_>) -> anyhow::Error {
        super::hints::explain(
            ForgeKind::Github,
            self.token.as_ref(),
            self.http.budget,
            e,
            op,
        )
    }

    /// Every page of a list, following `Link: <…>; rel="next"` (at most
    /// [`super::http::MAX_PAGES`], never the same link twice; a link to another origin is
    /// refused by the client).
    async fn list<T: for<'de> serde::Deserialize<'de>>(
        &self,
        first: String,
        op: Operation<'_>,
        stop: impl Fn(&T) -> bool,
    ) -> anyhow::Result<Vec<T>> {
        let mut out = Vec::new();
        let mut pager = Pager::new(&op.what(ForgeKind::Github));
        let mut next = Some(first);
        while let Some(url) = next.take() {
            pager.visit(&url)?;
            let resp = self
                .http
                .read(|| self.request(Method::GET, &url))
                .await
                .map_err(|e| self.explain(e, op))?;
            next = next_link(&resp.headers);
            let items: Vec<T> = resp.json()?;
            let found = items.iter().any(&stop);
            out.extend(items);
            if found {
                break;
            }
        }
        Ok(out)
    }

    /// Every release for `tag`, the published one first, then drafts oldest first.
    /// Get-by-tag returns only a published release; drafts (racing jobs can each leave one)
    /// are found in the list, which shows the newest first. Only its first page is read: a
    /// draft relsync made for this tag is among the newest, and a repository with a long
    /// history would otherwise be paged through on every first run.
    async fn find_all(&self, tag: &str) -> anyhow::Result<Vec<ReleaseDto>> {
        let url = format!("{}/releases/tags/{}", self.repo_url(), segment(tag));
        let published: Option<ReleaseDto> =
            match self.http.read(|| self.request(Method::GET, &url)).await {
                Ok(resp) => Some(resp.json()?),
                Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => None,
                Err(e) => return Err(self.explain(e, Operation::ReadRelease)),
            };
        let listed: Vec<ReleaseDto> = self
            .list(
                format!("{}/releases?per_page=100", self.repo_url()),
                Operation::ListReleases,
                |_: &ReleaseDto| true,
            )
            .await?;
        let mut found: Vec<ReleaseDto> = published
            .into_iter()
            .chain(listed.into_iter().filter(|r| r.tag_name == tag))
            .collect();
        found.sort_by_key(|r| (r.draft, r.id));
        found.dedup_by_key(|r| r.id);
        Ok(found)
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(h: &reqwest::header::HeaderMap) -> Option<String> {
    let link = h.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

impl Forge for Github {
    fn capabilities(&self) -> Capabilities {
        Capabilities::GITHUB
    }

    #[tracing::instrument(skip_all, fields(tag = %desired.tag))]
    async fn observe(&self, desired: &ReleaseSpec<'_>) -> anyhow::Result<Actual> {
        let mut all = self.find_all(desired.tag).await?.into_iter();
        let Some(dto) = all.next() else {
            return Ok(Actual::default());
        };
        let duplicates = all
            .filter(|r| r.draft)
            .map(ReleaseDto::into_release)
            .collect();
        let assets: Vec<AssetDto> = self
            .list(
                format!(
                    "{}/releases/{}/assets?per_page=100",
                    self.repo_url(),
                    dto.id
                ),
                Operation::ListAssets,
                |_| false,
            )
            .await?;
        let files = assets.into_iter().map(|a| a.into_stored(dto.id)).collect();
        Ok(Actual {
            release: Some(dto.into_release()),
            links: Vec::new(),
            files,
            duplicates,
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
            // A string, not a boolean: "legacy" picks the latest by date and semver.
            "make_latest": if r.draft || r.prerelease { "false" } else { "legacy" },
        });
        let url = format!("{}/releases", self.repo_url());
        match self
            .http
            .send(self.request(Method::POST, &url).json(&body))
            .await
        {
            Ok(resp) => {
                resp.json::<ReleaseDto>()?;
                Ok(Created::Created)
            }
            Err(e @ HttpError::Status { .. })
                if e.status() == Some(StatusCode::UNPROCESSABLE_ENTITY)
                    && e.to_string().contains("already_exists") =>
            {
                Ok(Created::AlreadyExists)
            }
            Err(e) => Err(self.explain(e, Operation::CreateRelease)),
        }
    }

    async fn update_release(&self, current: &Release, patch: &ReleasePatch) -> anyhow::Result<()> {
        let id = current
            .id
            .ok_or_else(|| anyhow::anyhow!("the release has no id"))?;
        let mut body = super::release_json::patch_body(patch);
        if let Some(d) = patch.draft {
            let pre = patch.prerelease.unwrap_or(current.prerelease);
            body["make_latest"] = json!(if d || pre { "false" } else { "legacy" });
        }
        let url = format!("{}/releases/{id}", self.repo_url());
        self.http
            .send(self.request(Method::PATCH, &url).json(&body))
            .await
            .map_err(|e| {
                self.explain(
                    e,
                    if patch.draft == Some(false) {
                        Operation::PublishRelease
                    } else {
                        Operation::UpdateRelease
                    },
                )
            })?;
        Ok(())
    }

    async fn create_link(&self, _tag: &str, _link: &NewLink) -> anyhow::Result<()> {
        Err(anyhow::anyhow!(
            "GitHub has no links API; links are written into the notes"
        ))
    }

    async fn update_link(&self, tag: &str, _id: u64, link: &NewLink) -> anyhow::Result<()> {
        self.create_link(tag, link).await
    }

    async fn delete_link(&self, _tag: &str, _id: u64) -> anyhow::Result<()> {
        Err(anyhow::anyhow!("GitHub has no links API"))
    }

    async fn upload_file(
        &self,
        _desired: &ReleaseSpec<'_>,
        release: Option<&Release>,
        file: &DesiredFile,
        progress: &dyn Progress,
    ) -> anyhow::Result<StoredFile> {
        let release =
            release.ok_or_else(|| anyhow::anyhow!("no release to upload `{}` to", file.name))?;
        let upload = release
            .upload_url
            .as_deref()
            .map(|u| u.split('{').next().unwrap_or(u).to_owned())
            .ok_or_else(|| anyhow::anyhow!("the release has no upload URL"))?;
        let body = super::upload_body(file, progress).await?;
        // The upload host refuses chunked bodies: the length is always given.
        let resp = self
            .http
            .send(
                self.request(Method::POST, &upload)
                    .query(&[("name", file.name.as_str())])
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .header(reqwest::header::CONTENT_LENGTH, file.size)
                    .timeout(self.http.upload_timeout(file.size))
                    .body(body),
            )
            .await
            .map_err(|e| self.explain(e, Operation::UploadFile(&file.name)))?;
        let a: AssetDto = resp.json()?;
        // The server may have renamed the file; the digest is of what was sent.
        let mut stored = a.into_stored(release.id.unwrap_or_default());
        stored.sha256 = Some(file.sha256.clone());
        stored.complete = true;
        Ok(stored)
    }

    async fn delete_release(&self, release: &Release) -> anyhow::Result<()> {
        let id = release
            .id
            .ok_or_else(|| anyhow::anyhow!("the release has no id"))?;
        let url = format!("{}/releases/{id}", self.repo_url());
        self.http
            .delete(self.request(Method::DELETE, &url))
            .await
            .map_err(|e| self.explain(e, Operation::DeleteRelease))
    }

    async fn delete_file(
        &self,
        _release: Option<&Release>,
        file: &StoredFile,
    ) -> anyhow::Result<()> {
        let url = format!("{}/releases/assets/{}", self.repo_url(), file.id);
        self.http
            .delete(self.request(Method::DELETE, &url))
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
    use super::next_link;

    #[test]
    fn follows_the_next_link() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            "<https://api.github.com/repos/o/r/releases?page=2>; rel=\"next\", <https://api.github.com/repos/o/r/releases?page=5>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repos/o/r/releases?page=2")
        );
    }
}
