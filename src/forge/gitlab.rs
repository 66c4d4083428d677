//! GitLab REST v4 (gitlab.com, self-managed, `JiHu` GitLab): releases, release links, and the
//! generic package registry for uploaded files.
//!
//! API pages: Releases <https://docs.gitlab.com/api/releases/>, Release links
//! <https://docs.gitlab.com/api/releases/links/>, Generic packages
//! <https://docs.gitlab.com/user/packages/generic_packages/>, Packages
//! <https://docs.gitlab.com/api/packages/>.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::hints::Operation;
use super::http::{AuthStyle, Http, HttpError, Pager};
use super::spec::{DesiredFile, Package, Progress, ReleaseSpec};
use super::{
    Actual, Capabilities, Created, Forge, Link, NewLink, NewRelease, Release, ReleasePatch,
    StoredFile,
};
use crate::forge_path::segment;
use crate::manifest::raw::{ForgeKind, LinkType};
use crate::settings::{Settings, Token, TokenKind};

/// A GitLab project reached through REST v4.
#[derive(Debug)]
pub struct Gitlab {
    http: Http,
    /// `https://host/api/v4`.
    api: String,
    /// Web root, for release URLs.
    web: String,
    /// The project as given (id or path).
    project: String,
    token: Option<Token>,
    /// Files this run uploaded: where the token cannot list package files (GitLab before
    /// 16.0 with `CI_JOB_TOKEN`), they stand in for the listing together with the state.
    uploaded: Mutex<Vec<StoredFile>>,
    /// The fallback to the state was reported.
    warned_listing: AtomicBool,
}

/// The name GitLab stores a file under. Generic package file names must match
/// `\A[A-Za-z0-9._+-]+\z` (`generic_package_file_name_regex`, `lib/gitlab/regex/packages.rb`);
/// every other character becomes `_`. The release link keeps the manifest's name.
#[must_use]
pub fn stored_name(name: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+');
    if name.chars().all(ok) {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(name.chars().map(|c| if ok(c) { c } else { '_' }).collect())
    }
}

/// Two asset names that GitLab would store under one name, as `(first, second, stored)`.
#[must_use]
pub fn stored_name_clash<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Option<(String, String, String)> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for n in names {
        let s = stored_name(n).into_owned();
        if let Some(first) = seen.get(&s) {
            return Some(((*first).to_owned(), n.to_owned(), s));
        }
        seen.insert(s, n);
    }
    None
}

/// Whether an error is the group's refusal of duplicate generic packages.
fn is_duplicate_refusal(e: &HttpError) -> bool {
    matches!(e, HttpError::Status { status, message, .. }
        if *status == StatusCode::BAD_REQUEST && message.contains("Duplicate package is not allowed"))
}

impl Gitlab {
    /// Connects to `server` for `project`.
    ///
    /// # Errors
    /// A bad CA bundle or token.
    pub fn new(settings: &Settings, server: &str, project: &str) -> anyhow::Result<Self> {
        let (api, web) = super::layout::api_roots(ForgeKind::Gitlab, server);
        let token = settings.token.clone();
        let style = match token.as_ref().map(|t| t.kind) {
            Some(TokenKind::Job) => AuthStyle::Header("job-token"),
            _ => AuthStyle::Header("private-token"),
        };
        Ok(Self {
            http: Http::new(settings, token.as_ref(), style, &[&api])?,
            api,
            web,
            project: project.to_owned(),
            token,
            uploaded: Mutex::new(Vec::new()),
            warned_listing: AtomicBool::new(false),
        })
    }

    fn project_url(&self) -> String {
        format!("{}/projects/{}", self.api, segment(&self.project))
    }

    fn release_path(&self, tag: &str) -> String {
        format!("{}/releases/{}", self.project_url(), segment(tag))
    }

    /// Turns an HTTP error into one that says what to do (the table in [`super::hints`]).
    fn explain(&self, e: HttpError, op: Operation<'_>) -> anyhow::Error {
        super::hints::explain(
            ForgeKind::Gitlab,
            self.token.as_ref(),
            self.http.budget,
            e,
            op,
        )
    }

    /// Every page of a list, following `X-Next-Page` (at most [`super::http::MAX_PAGES`],
    /// never the same page twice).
    async fn get_all<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
        query: &[(&str, &str)],
        op: Operation<'_>,
    ) -> anyhow::Result<Vec<T>> {
        let mut out = Vec::new();
        let mut pager = Pager::new(&op.what(ForgeKind::Gitlab));
        let mut page = "1".to_owned();
        loop {
            pager.visit(&page)?;
            let resp = self
                .http
                .read(|| {
                    self.http
                        .request(Method::GET, url)
                        .query(query)
                        .query(&[("per_page", "100"), ("page", page.as_str())])
                })
                .await
                .map_err(|e| self.explain(e, op))?;
            let items: Vec<T> = resp.json()?;
            let empty = items.is_empty();
            out.extend(items);
            match resp.header("x-next-page").map(str::trim) {
                Some(n) if !n.is_empty() && !empty => page = n.to_owned(),
                _ => return Ok(out),
            }
        }
    }

    async fn package_files(&self, package: &Package) -> anyhow::Result<Vec<StoredFile>> {
        let url = format!("{}/packages", self.project_url());
        let packages: Vec<PackageDto> = self
            .get_all(
                &url,
                &[
                    ("package_type", "generic"),
                    ("package_name", package.name.as_str()),
                ],
                Operation::ListPackages,
            )
            .await?;
        let mut files = Vec::new();
        for p in packages
            .into_iter()
            .filter(|p| p.name == package.name && p.version == package.version)
        {
            let url = format!("{}/packages/{}/package_files", self.project_url(), p.id);
            let list: Vec<PackageFileDto> =
                self.get_all(&url, &[], Operation::ListPackageFiles).await?;
            files.extend(list.into_iter().map(|f| StoredFile {
                id: f.id,
                parent_id: Some(p.id),
                name: f.file_name,
                size: f.size,
                sha256: f.file_sha256,
                complete: true,
            }));
        }
        files.sort_by_key(|f| f.id);
        Ok(files)
    }

    fn is_job_token(&self) -> bool {
        self.token
            .as_ref()
            .is_some_and(|t| t.kind == TokenKind::Job)
    }

    fn token_var(&self) -> &str {
        self.token.as_ref().map_or("(no token)", |t| t.var.as_str())
    }

    /// A job token refused on the package files API: GitLab before 16.0 ignores
    /// `CI_JOB_TOKEN` there (MR !116059), which reads as 401, 403 or 404.
    fn cannot_list(&self, e: &anyhow::Error) -> bool {
        self.is_job_token()
            && e.chain()
                .filter_map(|c| c.downcast_ref::<HttpError>())
                .any(|h| matches!(h.status().map(|s| s.as_u16()), Some(401 | 403 | 404)))
    }

    /// Stored files under their asset names: a file stored under its GitLab-safe name is
    /// reported under the name the manifest gives it.
    fn as_assets(files: Vec<StoredFile>, desired: &ReleaseSpec<'_>) -> Vec<StoredFile> {
        let by_stored: HashMap<String, &str> = desired
            .files
            .iter()
            .filter(|f| stored_name(&f.name) != f.name.as_str())
            .map(|f| (stored_name(&f.name).into_owned(), f.name.as_str()))
            .collect();
        files
            .into_iter()
            .map(|mut s| {
                if let Some(asset) = by_stored.get(&s.name)
                    && !desired.files.iter().any(|f| f.name == s.name)
                {
                    s.name = (*asset).to_owned();
                }
                s
            })
            .collect()
    }

    /// What stands in for the package's files when the token cannot list them: the files
    /// this run uploaded, and those whose sha256 relsync's state records as the desired one.
    /// Nothing else is reported, so nothing is deleted: superseded files stay in the package.
    fn files_from_state(
        &self,
        desired: &ReleaseSpec<'_>,
        release: Option<&Release>,
    ) -> Vec<StoredFile> {
        if !self.warned_listing.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                "the token in `{}` may not list the package's files on this server (GitLab before 16.0 refuses `CI_JOB_TOKEN` there): relsync compares files with the sha256 values recorded in the release's state and never re-uploads an unchanged file; superseded files stay in the package (delete them under Deploy > Package registry, or set `GITLAB_TOKEN` to a token with the `api` scope)",
                self.token_var()
            );
        }
        let state = release
            .map(|r| crate::block::State::parse(&r.description).state)
            .unwrap_or_default();
        let this_run = self.uploaded.lock().map(|u| u.clone()).unwrap_or_default();
        desired
            .files
            .iter()
            .filter_map(|f| {
                if let Some(s) = this_run.iter().rev().find(|s| s.name == f.name) {
                    return Some(s.clone());
                }
                state
                    .files
                    .get(&f.name)
                    .filter(|st| st.sha256 == f.sha256)
                    .map(|_| StoredFile {
                        id: 0,
                        parent_id: None,
                        name: f.name.clone(),
                        // Unknown: the plan then trusts the state's sha256.
                        size: 0,
                        sha256: None,
                        complete: true,
                    })
            })
            .collect()
    }

    /// Sends one generic package upload.
    async fn put_file(
        &self,
        url: &str,
        file: &DesiredFile,
        progress: &dyn Progress,
    ) -> Result<UploadedDto, HttpError> {
        let body = super::upload_body(file, progress)
            .await
            .map_err(|e| HttpError::Transport {
                method: Method::PUT,
                path: url.to_owned(),
                message: e.to_string(),
            })?;
        let resp = self
            .http
            .send(
                self.http
                    .request(Method::PUT, url)
                    .query(&[("select", "package_file")])
                    .header(reqwest::header::CONTENT_LENGTH, file.size)
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .timeout(self.http.upload_timeout(file.size))
                    .body(body),
            )
            .await?;
        Ok(resp.json().unwrap_or_default())
    }

    /// The group forbids duplicate generic packages: deletes the stored files named `stored`
    /// in the package version so that the new one can be uploaded. Deleting needs the
    /// Maintainer role; without it the error names the setting and the role.
    async fn remove_for_replacement(
        &self,
        desired: &ReleaseSpec<'_>,
        asset: &str,
        stored: &str,
    ) -> anyhow::Result<()> {
        let files = self.package_files(desired.package).await?;
        for f in files.iter().filter(|f| f.name == stored) {
            let url = format!(
                "{}/packages/{}/package_files/{}",
                self.project_url(),
                f.parent_id.unwrap_or_default(),
                f.id
            );
            if let Err(e) = self
                .http
                .delete(self.http.request(Method::DELETE, &url))
                .await
            {
                let hint = (e.status() == Some(StatusCode::FORBIDDEN)).then(|| format!(
                    "the group forbids duplicate generic packages (\"Allow duplicates\" under the group's Settings > Packages and registries), so `{asset}` can only be replaced by deleting the old file first, and deleting a package file needs the Maintainer role, which the token in `{}` lacks: allow duplicates for generic packages in that setting, or run relsync with a Maintainer's token (`GITLAB_TOKEN`, or a pipeline started by a Maintainer)",
                    self.token_var()
                ));
                return Err(super::http::with_hint(
                    e,
                    &format!("replace `{asset}` in the generic package registry"),
                    hint,
                ));
            }
        }
        Ok(())
    }

    /// The milestones among `titles` that the project (or its groups) lacks; `None` when the
    /// token may not read milestones (the milestones API takes no `CI_JOB_TOKEN`).
    async fn missing_milestones_of(
        &self,
        titles: &[String],
    ) -> anyhow::Result<Option<Vec<String>>> {
        let url = format!("{}/milestones", self.project_url());
        let mut missing = Vec::new();
        for t in titles {
            let found: Vec<MilestoneDto> = match self
                .get_all(
                    &url,
                    &[("title", t.as_str()), ("include_ancestors", "true")],
                    Operation::ListMilestones,
                )
                .await
            {
                Ok(v) => v,
                Err(e)
                    if e.chain()
                        .filter_map(|c| c.downcast_ref::<HttpError>())
                        .any(|h| {
                            matches!(h.status().map(|s| s.as_u16()), Some(401 | 403 | 404))
                        }) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            if !found.iter().any(|m| &m.title == t) {
                missing.push(t.clone());
            }
        }
        Ok(Some(missing))
    }

    fn link_from(l: LinkDto) -> Link {
        let direct_asset_path = l.direct_asset_url.as_deref().and_then(direct_asset_path_of);
        Link {
            id: l.id,
            name: l.name,
            url: l.url,
            link_type: l.link_type.as_deref().and_then(parse_link_type),
            direct_asset_path,
        }
    }
}

/// GitLab does not return `direct_asset_path`; it is the tail of
/// `direct_asset_url` = `<project>/-/releases/<tag>/downloads<path>` (the tag is one
/// encoded segment), or the link's own URL when no path is set.
fn direct_asset_path_of(url: &str) -> Option<String> {
    let rest = &url[url.find("/-/releases/")? + "/-/releases/".len()..];
    let after_tag = &rest[rest.find('/')?..];
    let path = after_tag.strip_prefix("/downloads")?;
    path.starts_with('/').then(|| path.to_owned())
}

fn parse_link_type(s: &str) -> Option<LinkType> {
    Some(match s {
        "other" => LinkType::Other,
        "runbook" => LinkType::Runbook,
        "image" => LinkType::Image,
        "package" => LinkType::Package,
        _ => return None,
    })
}

fn link_body(l: &NewLink) -> serde_json::Value {
    let mut v = json!({ "name": l.name, "url": l.url, "link_type": l.link_type.as_str() });
    if let Some(p) = &l.direct_asset_path {
        v["direct_asset_path"] = json!(p);
    }
    v
}

impl Forge for Gitlab {
    fn capabilities(&self) -> Capabilities {
        Capabilities::GITLAB
    }

    #[tracing::instrument(skip_all, fields(tag = %desired.tag))]
    async fn observe(&self, desired: &ReleaseSpec<'_>) -> anyhow::Result<Actual> {
        let url = self.release_path(desired.tag);
        let release = match self
            .http
            .read(|| self.http.request(Method::GET, &url))
            .await
        {
            Ok(resp) => Some(resp.json::<ReleaseDto>()?),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => None,
            Err(e) => return Err(self.explain(e, Operation::ReadRelease)),
        };
        let release = release.map(|r| r.into_release(&self.web, &self.project));
        let links = match &release {
            Some(_) => {
                let list: Vec<LinkDto> = self
                    .get_all(&format!("{url}/assets/links"), &[], Operation::ListLinks)
                    .await?;
                list.into_iter().map(Self::link_from).collect()
            }
            None => Vec::new(),
        };
        let package_ok = crate::assets::check_package_name(&desired.package.name).is_ok()
            && crate::assets::check_package_version(&desired.package.version).is_ok();
        let files = if package_ok && (!desired.files.is_empty() || release.is_some()) {
            match self.package_files(desired.package).await {
                Ok(files) => Self::as_assets(files, desired),
                Err(e) if self.cannot_list(&e) => self.files_from_state(desired, release.as_ref()),
                Err(e) => return Err(e),
            }
        } else {
            Vec::new()
        };
        Ok(Actual {
            release,
            links,
            files,
            duplicates: Vec::new(),
        })
    }

    async fn create_release(&self, r: &NewRelease) -> anyhow::Result<Created> {
        let mut body = json!({
            "tag_name": r.tag,
            "name": r.name,
            "description": r.description,
            "ref": r.git_ref,
            "milestones": r.milestones,
            "assets": { "links": r.links.iter().map(link_body).collect::<Vec<_>>() },
        });
        if let Some(m) = &r.tag_message {
            body["tag_message"] = json!(m);
        }
        if let Some(at) = r.released_at {
            body["released_at"] = json!(at.to_rfc3339());
        }
        let url = format!("{}/releases", self.project_url());
        match self
            .http
            .send(self.http.request(Method::POST, &url).json(&body))
            .await
        {
            Ok(resp) => {
                resp.json::<ReleaseDto>()?;
                Ok(Created::Created)
            }
            Err(e) if e.status() == Some(StatusCode::CONFLICT) => Ok(Created::AlreadyExists),
            Err(e) => Err(self.explain(e, Operation::CreateRelease)),
        }
    }

    async fn update_release(&self, current: &Release, patch: &ReleasePatch) -> anyhow::Result<()> {
        let tag = current.tag.as_str();
        let mut body = json!({});
        if let Some(n) = &patch.name {
            body["name"] = json!(n);
        }
        if let Some(d) = &patch.description {
            body["description"] = json!(d);
        }
        if let Some(m) = &patch.milestones {
            body["milestones"] = json!(m);
        }
        if let Some(at) = patch.released_at {
            body["released_at"] = json!(at.to_rfc3339());
        }
        let resp = self
            .http
            .send(
                self.http
                    .request(Method::PUT, &self.release_path(tag))
                    .json(&body),
            )
            .await
            .map_err(|e| self.explain(e, Operation::UpdateRelease))?;
        drop(resp);
        Ok(())
    }

    async fn create_link(&self, tag: &str, link: &NewLink) -> anyhow::Result<()> {
        let url = format!("{}/assets/links", self.release_path(tag));
        let resp = self
            .http
            .send(self.http.request(Method::POST, &url).json(&link_body(link)))
            .await
            .map_err(|e| self.explain(e, Operation::CreateLink(&link.name)))?;
        drop(resp);
        Ok(())
    }

    async fn update_link(&self, tag: &str, id: u64, link: &NewLink) -> anyhow::Result<()> {
        let url = format!("{}/assets/links/{id}", self.release_path(tag));
        // Always send every field: GitLab resets an omitted `link_type` to `other`, and keeps
        // an omitted `direct_asset_path` (`Releases::Links::Params` sets it only when the key
        // is present): `null` clears it.
        let mut body = link_body(link);
        if link.direct_asset_path.is_none() {
            body["direct_asset_path"] = serde_json::Value::Null;
        }
        let resp = self
            .http
            .send(self.http.request(Method::PUT, &url).json(&body))
            .await
            .map_err(|e| self.explain(e, Operation::UpdateLink(&link.name)))?;
        drop(resp);
        Ok(())
    }

    async fn delete_link(&self, tag: &str, id: u64) -> anyhow::Result<()> {
        let url = format!("{}/assets/links/{id}", self.release_path(tag));
        self.http
            .delete(self.http.request(Method::DELETE, &url))
            .await
            .map_err(|e| self.explain(e, Operation::DeleteLink))
    }

    async fn upload_file(
        &self,
        desired: &ReleaseSpec<'_>,
        _release: Option<&Release>,
        file: &DesiredFile,
        progress: &dyn Progress,
    ) -> anyhow::Result<StoredFile> {
        let package = &desired.package;
        let stored = stored_name(&file.name);
        let url = format!(
            "{}/packages/generic/{}/{}/{}",
            self.project_url(),
            segment(&package.name),
            segment(&package.version),
            segment(&stored)
        );
        let op = Operation::UploadFile(&file.name);
        let answer = match self.put_file(&url, file, progress).await {
            Ok(a) => a,
            Err(e) if is_duplicate_refusal(&e) => {
                tracing::info!(
                    "the group forbids duplicate generic packages: deleting the old `{}` before uploading the new one",
                    file.name
                );
                self.remove_for_replacement(desired, &file.name, &stored)
                    .await?;
                self.put_file(&url, file, progress)
                    .await
                    .map_err(|e| self.explain(e, op))?
            }
            Err(e) => return Err(self.explain(e, op)),
        };
        // Reported under the asset name, as `observe` reports it.
        let out = StoredFile {
            id: answer.id,
            parent_id: answer.package_id,
            name: file.name.clone(),
            size: file.size,
            sha256: Some(file.sha256.clone()),
            complete: true,
        };
        if let Ok(mut u) = self.uploaded.lock() {
            u.push(out.clone());
        }
        Ok(out)
    }

    async fn delete_release(&self, _release: &Release) -> anyhow::Result<()> {
        Err(anyhow::anyhow!("relsync never deletes releases here"))
    }

    async fn delete_file(
        &self,
        _release: Option<&Release>,
        file: &StoredFile,
    ) -> anyhow::Result<()> {
        let url = format!(
            "{}/packages/{}/package_files/{}",
            self.project_url(),
            file.parent_id.unwrap_or_default(),
            file.id
        );
        match self.http.delete(self.http.request(Method::DELETE, &url)).await {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(StatusCode::FORBIDDEN) => {
                Err(crate::plan::kept::DeleteRefused {
                    id: file.id,
                    message: format!(
                        "GitLab refused to delete the package file `{}` (id {}): {e}; deleting package files needs the Maintainer role, which the token in `{}` lacks. The release no longer links it (a replaced file's link serves the newest copy); it stays in the package and relsync will not try again: delete it under Deploy > Package registry, or run relsync with a Maintainer's token",
                        file.name,
                        file.id,
                        self.token_var()
                    ),
                }
                .into())
            }
            Err(e) => Err(self.explain(e, Operation::DeleteFile(&file.name))),
        }
    }

    fn file_url(&self, _tag: &str, package: &Package, name: &str) -> String {
        // Names and versions were checked against GitLab's rules, and file names are stored
        // under GitLab-safe names, so they need no escaping.
        format!(
            "{}/packages/generic/{}/{}/{}",
            self.project_url(),
            package.name,
            package.version,
            stored_name(name)
        )
    }

    fn release_url(&self, tag: &str) -> String {
        format!(
            "{}/{}/-/releases/{}",
            self.web,
            self.project,
            super::layout::web_segment(tag)
        )
    }

    async fn missing_milestones(&self, titles: &[String]) -> anyhow::Result<Option<Vec<String>>> {
        self.missing_milestones_of(titles).await
    }
}

#[derive(Debug, Deserialize)]
struct ReleaseDto {
    tag_name: String,
    name: Option<String>,
    description: Option<String>,
    released_at: Option<DateTime<Utc>>,
    #[serde(default)]
    milestones: Option<Vec<MilestoneDto>>,
    #[serde(rename = "_links", default)]
    links: Option<ReleaseLinksDto>,
}

#[derive(Debug, Deserialize)]
struct MilestoneDto {
    title: String,
}

#[derive(Debug, Deserialize)]
struct ReleaseLinksDto {
    #[serde(rename = "self")]
    self_url: Option<String>,
}

impl ReleaseDto {
    fn into_release(self, web: &str, project: &str) -> Release {
        let url = self
            .links
            .and_then(|l| l.self_url)
            .unwrap_or_else(|| format!("{web}/{project}/-/releases/{}", segment(&self.tag_name)));
        let mut r = Release::basic(
            self.tag_name,
            self.name.unwrap_or_default(),
            self.description.unwrap_or_default(),
            url,
        );
        r.milestones = self
            .milestones
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.title)
            .collect();
        r.released_at = self.released_at;
        r
    }
}

#[derive(Debug, Deserialize)]
struct LinkDto {
    id: u64,
    name: String,
    url: String,
    direct_asset_url: Option<String>,
    link_type: Option<String>,
}

/// The answer to an upload with `select=package_file`.
#[derive(Debug, Default, Deserialize)]
struct UploadedDto {
    #[serde(default)]
    id: u64,
    package_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct PackageDto {
    id: u64,
    name: String,
    version: String,
}

#[derive(Debug, Deserialize)]
struct PackageFileDto {
    id: u64,
    file_name: String,
    #[serde(default)]
    size: u64,
    file_sha256: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::{direct_asset_path_of, stored_name, stored_name_clash};

    #[test]
    fn stored_names_keep_what_gitlab_takes_and_replace_the_rest() {
        assert_eq!(stored_name("app-1.2+b_3.tar.gz"), "app-1.2+b_3.tar.gz");
        assert_eq!(
            stored_name("my app (linux).tar.gz"),
            "my_app__linux_.tar.gz"
        );
        assert_eq!(stored_name("日本~x@y"), "___x_y");
        assert_eq!(
            stored_name_clash(["a b.txt", "c.txt", "a_b.txt"]),
            Some(("a b.txt".into(), "a_b.txt".into(), "a_b.txt".into()))
        );
        assert_eq!(stored_name_clash(["a.txt", "b.txt"]), None);
    }

    #[test]
    fn direct_asset_path_from_url() {
        let p = direct_asset_path_of(
            "https://gl.example.com/g/app/-/releases/release%2F1.2/downloads/bin/app",
        );
        assert_eq!(p.as_deref(), Some("/bin/app"));
        assert_eq!(
            direct_asset_path_of("https://files.example.com/app.tar.gz"),
            None
        );
        assert_eq!(
            direct_asset_path_of("https://gl.example.com/g/app/-/releases/v1/other"),
            None
        );
    }
}
