//! An in-memory forge for tests: deterministic, configurable by `Capabilities`, with the
//! server rules that make convergence hard (GitLab's uniqueness of link names, URLs and paths;
//! renamed uploads; already-exists answers; drafts) and faults scripted per request.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::http::HttpError;
use super::spec::{DesiredFile, FileSource, Package, Progress, ReleaseSpec};
use super::{
    Actual, Capabilities, Created, Forge, Link, NewLink, NewRelease, Release, ReleasePatch,
    StoredFile,
};
use crate::manifest::raw::LinkType;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Refused before it is applied: 502, nothing changes.
    FailBefore,
    /// Applied, but the answer is lost: the client sees 502.
    LostAnswer,
    /// Applied, then the process dies before it reads the answer.
    CrashBeforeAnswer,
    /// Applied and answered; the process dies before its next request.
    CrashAfterAnswer,
}

/// The process running relsync died: `converge` must stop at once.
#[derive(Debug, thiserror::Error)]
#[error("the process was killed")]
pub struct Crash;

/// What a second upload of a stored name gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clash {
    /// Both are kept (Gitea, GitLab packages).
    Keep,
    /// Refused as already existing (GitHub 422, Tencent Git 409).
    Refuse(u16),
    /// Stored under the name with a `_1` (`_2`, …) suffix before the extension.
    Suffix,
}

/// A release as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FakeRelease {
    /// Forge id.
    pub id: u64,
    /// The release fields.
    pub release: Release,
    /// Its links.
    pub links: Vec<Link>,
}

/// A stored file: a package file (GitLab) or an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FakeFile {
    /// Forge id.
    pub id: u64,
    /// `package:NAME/VERSION` or `release:ID`.
    pub container: String,
    /// Stored name.
    pub name: String,
    /// Size.
    pub size: u64,
    /// sha256 of the content.
    pub sha256: String,
}

/// One request the fake answered (or refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// 1-based number since the fake was made.
    pub n: usize,
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// What it was for.
    pub what: String,
}

impl Request {
    /// Whether it is a write.
    #[must_use]
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

/// The fake's whole state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct World {
    /// Releases.
    pub releases: Vec<FakeRelease>,
    /// Files.
    pub files: Vec<FakeFile>,
    /// Every request so far.
    pub log: Vec<Request>,
    next_id: u64,
    #[serde(skip)]
    faults: BTreeMap<usize, Fault>,
    #[serde(skip)]
    meanwhile: BTreeMap<usize, (Vec<FakeRelease>, Vec<FakeFile>)>,
    /// Tags of releases another job has created that reads do not show yet (a replica
    /// behind the primary): a create is refused as existing, a read finds nothing.
    #[serde(skip)]
    unseen: std::collections::BTreeSet<String>,
    /// Fields an update accepts and answers with success, but does not change (`name`,
    /// `description`, `milestones`, `labels`, `prerelease`, `draft`, link `url`, `link_type`,
    /// `direct_asset_path`): a server that ignores a parameter.
    #[serde(skip)]
    ignores: std::collections::BTreeSet<&'static str>,
    crash_pending: bool,
}

impl World {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn release_mut(&mut self, tag: &str) -> Option<&mut FakeRelease> {
        self.releases.iter_mut().find(|r| r.release.tag == tag)
    }
}

/// A link without its id: name, URL, type, direct asset path.
pub type LinkRow = (String, String, Option<String>, Option<String>);

/// A forge state without ids, to compare two runs' outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// Releases, each with its links sorted by name.
    pub releases: Vec<(Release, Vec<LinkRow>)>,
    /// Files as (container, name, sha256), sorted; a release container is named by its tag.
    pub files: Vec<(String, String, String)>,
}

/// The in-memory forge.
#[derive(Debug)]
pub struct Fake {
    caps: Capabilities,
    clash: Clash,
    world: Mutex<World>,
}

fn status(method: &Method, what: &str, code: u16, message: &str) -> anyhow::Error {
    HttpError::Status {
        method: method.clone(),
        path: what.to_owned(),
        status: StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY),
        message: message.to_owned(),
        retry_after: None,
    }
    .into()
}

/// The sha256 of bytes, hex.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How the fake renames uploads on forges that rename: every character outside
/// `[A-Za-z0-9._-]` becomes `.`.
#[must_use]
pub fn rename(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '.'
            }
        })
        .collect()
}

fn with_suffix(name: &str, n: usize) -> String {
    match name.rfind('.').filter(|i| *i > 0) {
        Some(i) => format!("{}_{n}{}", &name[..i], &name[i..]),
        None => format!("{name}_{n}"),
    }
}

impl Fake {
    /// An empty forge with these capabilities; a clash of stored names is handled the way
    /// the matching real forge does.
    #[must_use]
    pub fn new(caps: Capabilities) -> Self {
        let clash = if caps == Capabilities::GITHUB {
            Clash::Refuse(422)
        } else if caps == Capabilities::TGIT {
            Clash::Refuse(409)
        } else {
            Clash::Keep
        };
        Self::with_clash(caps, clash)
    }

    /// An empty forge with an explicit clash rule.
    #[must_use]
    pub fn with_clash(caps: Capabilities, clash: Clash) -> Self {
        Self {
            caps,
            clash,
            world: Mutex::new(World::default()),
        }
    }

    /// A copy of the whole state.
    #[must_use]
    pub fn world(&self) -> World {
        self.lock().clone()
    }

    /// Replaces the whole state (faults and pending crashes are cleared).
    pub fn set_world(&self, world: World) {
        let mut w = self.lock();
        *w = world;
        w.faults.clear();
        w.crash_pending = false;
    }

    /// Scripts `fault` for the request numbered `n` (1-based, counted from the first request).
    pub fn script(&self, n: usize, fault: Fault) {
        self.lock().faults.insert(n, fault);
    }

    /// Just before request `n`, another job leaves the releases and files of `other`.
    pub fn meanwhile(&self, n: usize, other: &World) {
        self.lock()
            .meanwhile
            .insert(n, (other.releases.clone(), other.files.clone()));
    }

    /// From now on updates of the release or a link leave `field` as it is, and still answer
    /// with success, as a server does with a parameter it does not know.
    pub fn ignore_on_update(&self, field: &'static str) {
        self.lock().ignores.insert(field);
    }

    /// Forgets every scripted fault and a pending crash.
    /// Another job has created the release of `tag`, and reads do not show it yet.
    pub fn created_elsewhere_unseen(&self, tag: &str) {
        self.lock().unseen.insert(tag.to_owned());
    }

    pub fn clear_faults(&self) {
        let mut w = self.lock();
        w.faults.clear();
        w.crash_pending = false;
    }

    /// How many requests were made so far.
    #[must_use]
    pub fn requests(&self) -> usize {
        self.lock().log.len()
    }

    /// Writes among the requests from number `from` (1-based) on.
    #[must_use]
    pub fn writes_since(&self, from: usize) -> Vec<Request> {
        self.lock()
            .log
            .iter()
            .filter(|r| r.n >= from && r.is_write())
            .cloned()
            .collect()
    }

    /// Adds a link by hand (not through relsync).
    ///
    /// # Panics
    /// No such release.
    pub fn add_link_by_hand(&self, tag: &str, name: &str, url: &str) {
        let mut w = self.lock();
        let id = w.id();
        let r = w.release_mut(tag).expect("release exists");
        r.links.push(Link {
            id,
            name: name.into(),
            url: url.into(),
            link_type: Some(LinkType::Other),
            direct_asset_path: None,
        });
    }

    /// Stores a file by hand: an attachment of the release, or on GitLab a file of another
    /// package.
    ///
    /// # Panics
    /// No such release.
    pub fn add_file_by_hand(&self, tag: &str, name: &str, bytes: &[u8]) {
        let mut w = self.lock();
        let id = w.id();
        let container = if self.caps.files_linked {
            "package:by-hand/1".to_owned()
        } else {
            let r = w
                .releases
                .iter()
                .find(|r| r.release.tag == tag)
                .expect("release exists");
            format!("release:{}", r.id)
        };
        w.files.push(FakeFile {
            id,
            container,
            name: name.into(),
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        });
    }

    /// Edits a release by hand.
    ///
    /// # Panics
    /// No such release.
    pub fn edit_release(&self, tag: &str, edit: impl FnOnce(&mut Release)) {
        let mut w = self.lock();
        edit(&mut w.release_mut(tag).expect("release exists").release);
    }

    /// The state without ids.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let w = self.lock();
        let tag_of = |c: &str| -> String {
            c.strip_prefix("release:")
                .and_then(|id| id.parse::<u64>().ok())
                .and_then(|id| w.releases.iter().find(|r| r.id == id))
                .map_or_else(|| c.to_owned(), |r| format!("release:{}", r.release.tag))
        };
        let mut releases: Vec<_> = w
            .releases
            .iter()
            .map(|r| {
                let mut rel = r.release.clone();
                rel.id = None;
                rel.upload_url = None;
                let mut links: Vec<_> = r
                    .links
                    .iter()
                    .map(|l| {
                        (
                            l.name.clone(),
                            l.url.clone(),
                            l.link_type.map(|t| t.as_str().to_owned()),
                            l.direct_asset_path.clone(),
                        )
                    })
                    .collect();
                links.sort();
                (rel, links)
            })
            .collect();
        releases.sort_by(|a, b| (&a.0.tag, a.0.draft).cmp(&(&b.0.tag, b.0.draft)));
        let mut files: Vec<_> = w
            .files
            .iter()
            .map(|f| (tag_of(&f.container), f.name.clone(), f.sha256.clone()))
            .collect();
        files.sort();
        Snapshot { releases, files }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs one request through the fault script: `apply` changes the world and answers.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "callers build the method and description for this one request"
    )]
    fn request<T>(
        &self,
        method: Method,
        what: String,
        apply: impl FnOnce(&mut World) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut w = self.lock();
        let n = w.log.len() + 1;
        let m: &'static str = match method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            _ => "DELETE",
        };
        w.log.push(Request {
            n,
            method: m,
            what: what.clone(),
        });
        // A crashed process sends nothing more: every request after the crash fails, also
        // those of a concurrent phase that were about to start.
        if w.crash_pending {
            return Err(Crash.into());
        }
        if let Some((releases, files)) = w.meanwhile.remove(&n) {
            // Merged in with ids of their own.
            let shift = w.next_id + 1000;
            for mut r in releases {
                r.id += shift;
                r.release.id = Some(r.id);
                for l in &mut r.links {
                    l.id += shift;
                }
                w.releases.push(r);
            }
            for mut f in files {
                f.id += shift;
                if let Some(id) = f.container.strip_prefix("release:") {
                    let id = id.parse::<u64>().unwrap_or_default() + shift;
                    f.container = format!("release:{id}");
                }
                w.files.push(f);
            }
            w.next_id = shift + 1000;
        }
        let fault = w.faults.remove(&n);
        if fault == Some(Fault::FailBefore) {
            return Err(status(&method, &what, 502, "Bad Gateway"));
        }
        let answer = apply(&mut w);
        match fault {
            Some(Fault::LostAnswer) => Err(status(&method, &what, 502, "Bad Gateway")),
            Some(Fault::CrashBeforeAnswer) => {
                w.crash_pending = true;
                Err(Crash.into())
            }
            Some(Fault::CrashAfterAnswer) => {
                w.crash_pending = true;
                answer
            }
            _ => answer,
        }
    }

    fn package_container(package: &Package) -> String {
        format!("package:{}/{}", package.name, package.version)
    }

    fn stored(&self, f: &FakeFile) -> StoredFile {
        StoredFile {
            id: f.id,
            parent_id: None,
            name: f.name.clone(),
            size: f.size,
            sha256: self.caps.reports_sha256.then(|| f.sha256.clone()),
            complete: true,
        }
    }

    /// The release as the forge reports it (labels are not reported back).
    fn visible(r: &Release) -> Release {
        Release {
            labels: None,
            ..r.clone()
        }
    }

    /// GitLab's rule: a link's name, URL and direct asset path are unique per release.
    fn check_unique(links: &[Link], skip: Option<u64>, l: &NewLink) -> anyhow::Result<()> {
        let others = links.iter().filter(|o| Some(o.id) != skip);
        let mut taken = Vec::new();
        for o in others {
            if o.name == l.name {
                taken.push("Name has already been taken");
            }
            if o.url == l.url {
                taken.push("Url has already been taken");
            }
            if l.direct_asset_path.is_some() && o.direct_asset_path == l.direct_asset_path {
                taken.push("Filepath has already been taken");
            }
        }
        if taken.is_empty() {
            Ok(())
        } else {
            taken.dedup();
            Err(status(&Method::POST, "links", 400, &taken.join(", ")))
        }
    }
}

fn bytes_of(file: &DesiredFile) -> anyhow::Result<Vec<u8>> {
    match &file.source {
        FileSource::Memory(b) => Ok(b.clone()),
        FileSource::Disk(p) => Ok(std::fs::read(p)?),
    }
}

impl Forge for Fake {
    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    async fn observe(&self, desired: &ReleaseSpec<'_>) -> anyhow::Result<Actual> {
        self.request(Method::GET, format!("release {}", desired.tag), |w| {
            let mut found: Vec<&FakeRelease> = w
                .releases
                .iter()
                .filter(|r| r.release.tag == desired.tag)
                .collect();
            found.sort_by_key(|r| (r.release.draft, r.id));
            let Some(first) = found.first() else {
                let files = if self.caps.files_linked {
                    let c = Self::package_container(desired.package);
                    w.files
                        .iter()
                        .filter(|f| f.container == c)
                        .map(|f| self.stored(f))
                        .collect()
                } else {
                    Vec::new()
                };
                return Ok(Actual {
                    files,
                    ..Actual::default()
                });
            };
            let container = if self.caps.files_linked {
                Self::package_container(desired.package)
            } else {
                format!("release:{}", first.id)
            };
            let mut files: Vec<StoredFile> = w
                .files
                .iter()
                .filter(|f| f.container == container)
                .map(|f| self.stored(f))
                .collect();
            files.sort_by_key(|f| f.id);
            Ok(Actual {
                release: Some(Self::visible(&first.release)),
                links: if self.caps.links_api {
                    first.links.clone()
                } else {
                    Vec::new()
                },
                files,
                duplicates: found[1..]
                    .iter()
                    .filter(|r| r.release.draft)
                    .map(|r| Self::visible(&r.release))
                    .collect(),
            })
        })
    }

    async fn create_release(&self, new: &NewRelease) -> anyhow::Result<Created> {
        self.request(Method::POST, format!("release {}", new.tag), |w| {
            let exists = w
                .releases
                .iter()
                .any(|r| r.release.tag == new.tag && !(self.caps.drafts && r.release.draft));
            if exists || w.unseen.contains(&new.tag) {
                return Ok(Created::AlreadyExists);
            }
            let mut links: Vec<Link> = Vec::new();
            if self.caps.links_api {
                for l in &new.links {
                    Self::check_unique(&links, None, l)?;
                    let id = w.id();
                    links.push(Link {
                        id,
                        name: l.name.clone(),
                        url: l.url.clone(),
                        link_type: Some(l.link_type),
                        direct_asset_path: l.direct_asset_path.clone(),
                    });
                }
            }
            let id = w.id();
            let release = Release {
                tag: new.tag.clone(),
                name: new.name.clone(),
                description: new.description.clone(),
                milestones: new.milestones.clone(),
                released_at: new.released_at,
                url: format!("https://fake.example/releases/{}", new.tag),
                id: Some(id),
                draft: self.caps.drafts && new.draft,
                prerelease: self.caps.prerelease && new.prerelease,
                labels: self.caps.labels.then(|| new.labels.clone()),
                upload_url: None,
                immutable: false,
            };
            w.releases.push(FakeRelease {
                id,
                release: release.clone(),
                links,
            });
            Ok(Created::Created)
        })
    }

    async fn update_release(&self, current: &Release, patch: &ReleasePatch) -> anyhow::Result<()> {
        self.request(Method::PUT, format!("release {}", current.tag), |w| {
            let takes = |f: &str| !w.ignores.contains(f);
            let (name, description, milestones, labels, prerelease, draft) = (
                takes("name"),
                takes("description"),
                takes("milestones"),
                takes("labels"),
                takes("prerelease"),
                takes("draft"),
            );
            let r = w
                .releases
                .iter_mut()
                .find(|r| match current.id {
                    Some(id) => r.id == id,
                    None => r.release.tag == current.tag,
                })
                .ok_or_else(|| status(&Method::PUT, "release", 404, "404 Not found"))?;
            let rel = &mut r.release;
            if let Some(v) = &patch.name
                && name
            {
                rel.name.clone_from(v);
            }
            if let Some(v) = &patch.description
                && description
            {
                rel.description.clone_from(v);
            }
            if let Some(v) = &patch.milestones
                && milestones
            {
                rel.milestones.clone_from(v);
            }
            if let Some(v) = patch.released_at {
                rel.released_at = Some(v);
            }
            if let Some(v) = &patch.labels
                && labels
            {
                rel.labels = Some(v.clone());
            }
            if let Some(v) = patch.prerelease
                && prerelease
            {
                rel.prerelease = v;
            }
            if let Some(v) = patch.draft
                && draft
            {
                rel.draft = v;
            }
            Ok(())
        })
    }

    async fn create_link(&self, tag: &str, link: &NewLink) -> anyhow::Result<()> {
        self.request(Method::POST, format!("link {}", link.name), |w| {
            if !self.caps.links_api {
                return Err(anyhow::anyhow!("no links API"));
            }
            let id = w.id();
            let r = w
                .release_mut(tag)
                .ok_or_else(|| status(&Method::POST, "link", 404, "404 Not found"))?;
            Self::check_unique(&r.links, None, link)?;
            r.links.push(Link {
                id,
                name: link.name.clone(),
                url: link.url.clone(),
                link_type: Some(link.link_type),
                direct_asset_path: link.direct_asset_path.clone(),
            });
            Ok(())
        })
    }

    async fn update_link(&self, tag: &str, id: u64, link: &NewLink) -> anyhow::Result<()> {
        self.request(Method::PUT, format!("link {}", link.name), |w| {
            let takes = |f: &str| !w.ignores.contains(f);
            let (url, link_type, path) =
                (takes("url"), takes("link_type"), takes("direct_asset_path"));
            let r = w
                .release_mut(tag)
                .ok_or_else(|| status(&Method::PUT, "link", 404, "404 Not found"))?;
            Self::check_unique(&r.links, Some(id), link)?;
            let l = r
                .links
                .iter_mut()
                .find(|l| l.id == id)
                .ok_or_else(|| status(&Method::PUT, "link", 404, "404 Not found"))?;
            l.name.clone_from(&link.name);
            if url {
                l.url.clone_from(&link.url);
            }
            if link_type {
                l.link_type = Some(link.link_type);
            }
            if path {
                l.direct_asset_path.clone_from(&link.direct_asset_path);
            }
            Ok(())
        })
    }

    async fn delete_link(&self, tag: &str, id: u64) -> anyhow::Result<()> {
        self.request(Method::DELETE, format!("link {id}"), |w| {
            if let Some(r) = w.release_mut(tag) {
                r.links.retain(|l| l.id != id);
            }
            Ok(())
        })
    }

    async fn upload_file(
        &self,
        desired: &ReleaseSpec<'_>,
        release: Option<&Release>,
        file: &DesiredFile,
        _progress: &dyn Progress,
    ) -> anyhow::Result<StoredFile> {
        let bytes = bytes_of(file)?;
        self.request(Method::POST, format!("upload {}", file.name), |w| {
            let container = if self.caps.files_linked {
                Self::package_container(desired.package)
            } else {
                let tag = release.map_or(desired.tag, |r| r.tag.as_str());
                let r = w
                    .releases
                    .iter()
                    .filter(|r| r.release.tag == tag)
                    .find(|r| release.and_then(|x| x.id).is_none_or(|id| id == r.id))
                    .ok_or_else(|| status(&Method::POST, "upload", 404, "404 Not found"))?;
                format!("release:{}", r.id)
            };
            let mut name = if self.caps.renames_files {
                rename(&file.name)
            } else {
                file.name.clone()
            };
            let taken = |w: &World, n: &str| {
                w.files
                    .iter()
                    .any(|f| f.container == container && f.name == n)
            };
            if taken(w, &name) {
                match self.clash {
                    Clash::Keep => {}
                    Clash::Refuse(code) => {
                        return Err(status(
                            &Method::POST,
                            "upload",
                            code,
                            "ReleaseAsset already_exists name",
                        ));
                    }
                    Clash::Suffix => {
                        let base = name.clone();
                        let mut k = 1;
                        while taken(w, &name) {
                            name = with_suffix(&base, k);
                            k += 1;
                        }
                    }
                }
            }
            let id = w.id();
            let f = FakeFile {
                id,
                container,
                name,
                size: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            };
            w.files.push(f.clone());
            let mut stored = self.stored(&f);
            stored.sha256 = Some(f.sha256);
            Ok(stored)
        })
    }

    async fn delete_release(&self, release: &Release) -> anyhow::Result<()> {
        self.request(Method::DELETE, format!("release {}", release.tag), |w| {
            if let Some(id) = release.id {
                w.releases.retain(|r| r.id != id);
                let c = format!("release:{id}");
                w.files.retain(|f| f.container != c);
            }
            Ok(())
        })
    }

    async fn delete_file(
        &self,
        _release: Option<&Release>,
        file: &StoredFile,
    ) -> anyhow::Result<()> {
        self.request(Method::DELETE, format!("file {}", file.name), |w| {
            w.files.retain(|f| f.id != file.id);
            Ok(())
        })
    }

    fn file_url(&self, _tag: &str, package: &Package, name: &str) -> String {
        format!(
            "https://fake.example/packages/{}/{}/{name}",
            package.name, package.version
        )
    }

    fn release_url(&self, tag: &str) -> String {
        format!("https://fake.example/releases/{tag}")
    }
}
