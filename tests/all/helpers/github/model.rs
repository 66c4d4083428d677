//! The GitHub emulator's state and the JSON entities in the shapes the REST API sends (schemas
//! `release` and `release-asset` of `docs/reference/github-releases-openapi.json`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::emu_common::{
    Repository, Seq, added_repo, enc, impl_repository, new_repo_name, repo_index,
};
use super::AssetInfo;

pub(super) type Time = DateTime<Utc>;

/// GitHub's timestamp format: `2013-02-27T19:35:32Z`.
pub(super) fn ts(t: &Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// GitHub refuses a release body longer than 125,000 characters with a 422 `custom` error,
/// "body is too long (maximum is 125000 characters)": the limit is not in the OpenAPI
/// description; it is reported in softprops/action-gh-release#374, ncipollo/release-action#493
/// and cli/cli#7705.
pub(super) const BODY_LIMIT: usize = 125_000;

/// The commit `main` points at in a new repository.
pub(super) const MAIN_SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

#[derive(Debug, Clone)]
pub(super) struct Tag {
    pub name: String,
    pub sha: String,
}

#[derive(Debug, Clone)]
pub(super) struct Asset {
    pub id: u64,
    pub name: String,
    pub label: Option<String>,
    pub state: String,
    pub content_type: String,
    pub content: Vec<u8>,
    pub digest: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
}

impl Asset {
    pub fn info(&self) -> AssetInfo {
        AssetInfo {
            id: self.id,
            name: self.name.clone(),
            label: self.label.clone(),
            size: self.content.len() as u64,
            state: self.state.clone(),
            digest: self.digest.clone(),
            content_type: self.content_type.clone(),
            content: self.content.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Release {
    pub id: u64,
    pub tag: String,
    pub target: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    pub immutable: bool,
    pub created_at: Time,
    pub published_at: Option<Time>,
    pub updated_at: Time,
    /// The placeholder tag (`untagged-<hex>`) a draft's URLs use.
    pub untagged: String,
    pub assets: Vec<Asset>,
}

impl Release {
    /// The tag the web URLs use: the real one once published, the placeholder for drafts.
    pub fn url_tag(&self) -> &str {
        if self.draft {
            &self.untagged
        } else {
            &self.tag
        }
    }
}

#[derive(Debug)]
pub(super) struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    pub branches: Vec<(String, String)>,
    pub tags: Vec<Tag>,
    pub releases: Vec<Release>,
    /// Tags once used by an immutable release that was deleted: never usable again.
    pub burned_tags: Vec<String>,
    /// The release explicitly made latest (`make_latest: "true"`); `None` means "legacy": the
    /// newest published full release.
    pub latest: Option<u64>,
}

impl Repo {
    /// The published release for the tag, else the newest draft for it.
    pub fn release_for_tag(&self, tag: &str) -> Option<&Release> {
        let idx = self.release_idx_for_tag(tag)?;
        Some(&self.releases[idx])
    }

    pub fn release_for_tag_mut(&mut self, tag: &str) -> Option<&mut Release> {
        let idx = self.release_idx_for_tag(tag)?;
        Some(&mut self.releases[idx])
    }

    fn release_idx_for_tag(&self, tag: &str) -> Option<usize> {
        self.releases
            .iter()
            .position(|r| r.tag == tag && !r.draft)
            .or_else(|| {
                self.releases
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.tag == tag)
                    .max_by_key(|(_, r)| (r.created_at, r.id))
                    .map(|(i, _)| i)
            })
    }

    pub fn published_for_tag(&self, tag: &str, except: Option<u64>) -> Option<&Release> {
        self.releases
            .iter()
            .find(|r| r.tag == tag && !r.draft && Some(r.id) != except)
    }

    pub fn latest(&self) -> Option<&Release> {
        let full = |r: &&Release| !r.draft && !r.prerelease;
        if let Some(id) = self.latest
            && let Some(r) = self.releases.iter().filter(full).find(|r| r.id == id)
        {
            return Some(r);
        }
        self.releases
            .iter()
            .filter(full)
            .max_by_key(|r| (r.created_at, r.id))
    }
}

impl_repository!(Repo);

#[derive(Debug)]
pub struct State {
    pub(super) root: String,
    pub(super) enterprise: bool,
    pub(super) tokens: Vec<String>,
    pub(super) read_only_tokens: Vec<String>,
    pub(super) repos: Vec<Repo>,
    pub(super) immutable_setting: bool,
    /// The longest release `body` accepted, in characters (`None`: no limit).
    pub(super) body_limit: Option<usize>,
    pub(super) rate_used: u64,
    pub(super) rate_reset: i64,
    pub(super) request_seq: u64,
    repo_ids: Seq,
    pub(super) release_ids: Seq,
    pub(super) asset_ids: Seq,
}

impl State {
    pub(super) fn new(root: String) -> State {
        State {
            root,
            enterprise: false,
            tokens: Vec::new(),
            read_only_tokens: Vec::new(),
            repos: Vec::new(),
            immutable_setting: false,
            body_limit: Some(BODY_LIMIT),
            rate_used: 0,
            rate_reset: Utc::now().timestamp() + 3600,
            request_seq: 0,
            repo_ids: Seq::after(1_296_269),
            // Release ids are past 2^28 on github.com, asset ids past 2^31: a client that keeps
            // them in an i32 breaks here as it would there.
            release_ids: Seq::after(200_000_000),
            asset_ids: Seq::after(3_000_000_000),
        }
    }

    pub(super) fn api_root(&self) -> String {
        if self.enterprise {
            format!("{}/api/v3", self.root)
        } else {
            self.root.clone()
        }
    }

    pub(super) fn uploads_root(&self) -> String {
        if self.enterprise {
            format!("{}/api/uploads", self.root)
        } else {
            format!("{}/uploads", self.root)
        }
    }

    /// A GitHub-style request id, e.g. `0400:5CD8:10BA18:146B35:5EAE1646`.
    pub(super) fn request_id(&self) -> String {
        let s = self.request_seq;
        format!(
            "{:04X}:{:04X}:{:06X}:{:06X}:{:08X}",
            0x0400 + (s % 0xFF),
            0x5CD8,
            0x10BA18 + s,
            0x146B35 + s,
            0x5EAE_1646u64 + s
        )
    }

    pub(super) fn add_repo(&mut self, owner_repo: &str) {
        let (owner, name) = new_repo_name(&self.repos, owner_repo);
        let id = self.repo_ids.next();
        self.repos.push(Repo {
            id,
            owner,
            name,
            default_branch: "main".into(),
            branches: vec![("main".into(), MAIN_SHA.into())],
            tags: Vec::new(),
            releases: Vec::new(),
            burned_tags: Vec::new(),
            latest: None,
        });
    }

    /// Owner and name are matched case-insensitively, as GitHub does.
    pub(super) fn repo_idx(&self, owner: &str, name: &str) -> Option<usize> {
        repo_index(&self.repos, owner, name)
    }

    pub(super) fn repo(&self, owner_repo: &str) -> &Repo {
        &self.repos[added_repo(&self.repos, owner_repo)]
    }

    pub(super) fn repo_mut(&mut self, owner_repo: &str) -> &mut Repo {
        let i = added_repo(&self.repos, owner_repo);
        &mut self.repos[i]
    }

    /// The list order of `GET /releases`: newest first.
    pub(super) fn sorted_releases<'a>(&self, repo: &'a Repo, drafts: bool) -> Vec<&'a Release> {
        let mut v: Vec<&Release> = repo
            .releases
            .iter()
            .filter(|r| drafts || !r.draft)
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
        v
    }

    pub(super) fn add_asset_by_hand(
        &mut self,
        owner_repo: &str,
        tag: &str,
        name: &str,
        content: Option<&[u8]>,
    ) -> u64 {
        let id = self.asset_ids.next();
        let now = Utc::now();
        let rel = self
            .repo_mut(owner_repo)
            .release_for_tag_mut(tag)
            .unwrap_or_else(|| panic!("emulator: no release {tag}"));
        assert!(
            rel.assets.iter().all(|a| a.name != name),
            "emulator: asset {name} exists"
        );
        rel.assets.push(Asset {
            id,
            name: name.to_string(),
            label: None,
            state: if content.is_some() {
                "uploaded"
            } else {
                "starter"
            }
            .into(),
            content_type: "application/octet-stream".into(),
            content: content.map(<[u8]>::to_vec).unwrap_or_default(),
            digest: content.map(|c| format!("sha256:{}", sha256_hex(c))),
            created_at: now,
            updated_at: now,
        });
        id
    }

    // -----------------------------------------------------------------------------------------
    // JSON

    fn user_json(&self) -> Value {
        let api = self.api_root();
        let web = &self.root;
        json!({
            "login": "github-actions[bot]",
            "id": 41898282,
            "node_id": "MDM6Qm90NDE4OTgyODI=",
            "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4",
            "gravatar_id": "",
            "url": format!("{api}/users/github-actions%5Bbot%5D"),
            "html_url": format!("{web}/apps/github-actions"),
            "followers_url": format!("{api}/users/github-actions%5Bbot%5D/followers"),
            "following_url": format!("{api}/users/github-actions%5Bbot%5D/following{{/other_user}}"),
            "gists_url": format!("{api}/users/github-actions%5Bbot%5D/gists{{/gist_id}}"),
            "starred_url": format!("{api}/users/github-actions%5Bbot%5D/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{api}/users/github-actions%5Bbot%5D/subscriptions"),
            "organizations_url": format!("{api}/users/github-actions%5Bbot%5D/orgs"),
            "repos_url": format!("{api}/users/github-actions%5Bbot%5D/repos"),
            "events_url": format!("{api}/users/github-actions%5Bbot%5D/events{{/privacy}}"),
            "received_events_url": format!("{api}/users/github-actions%5Bbot%5D/received_events"),
            "type": "Bot",
            "user_view_type": "public",
            "site_admin": false,
        })
    }

    pub(super) fn authenticated_user_json(&self) -> Value {
        self.user_json()
    }

    pub(super) fn repo_api(&self, repo: &Repo) -> String {
        format!("{}/repos/{}", self.api_root(), repo.url_path())
    }

    pub(super) fn repo_web(&self, repo: &Repo) -> String {
        format!("{}/{}", self.root, repo.url_path())
    }

    /// A tag in a web URL: segments encoded, `/` kept (as github.com shows it).
    fn tag_path(tag: &str) -> String {
        tag.split('/').map(enc).collect::<Vec<_>>().join("/")
    }

    pub(super) fn repo_json(&self, repo: &Repo) -> Value {
        json!({
            "id": repo.id,
            "node_id": format!("R_kgDO{:08X}", repo.id),
            "name": repo.name,
            "full_name": repo.full_name(),
            "private": true,
            "owner": { "login": repo.owner, "id": repo.id + 1000, "type": "Organization" },
            "html_url": self.repo_web(repo),
            "url": self.repo_api(repo),
            "default_branch": repo.default_branch,
            "visibility": "private",
            "permissions": { "admin": false, "maintain": false, "push": true, "triage": true, "pull": true },
        })
    }

    pub(super) fn asset_json(&self, repo: &Repo, rel: &Release, a: &Asset) -> Value {
        json!({
            "url": format!("{}/releases/assets/{}", self.repo_api(repo), a.id),
            "browser_download_url": format!(
                "{}/releases/download/{}/{}",
                self.repo_web(repo),
                Self::tag_path(rel.url_tag()),
                enc(&a.name)
            ),
            "id": a.id,
            "node_id": format!("RA_kwDOAAAAAM4{:08X}", a.id),
            "name": a.name,
            "label": a.label,
            "state": a.state,
            "content_type": a.content_type,
            "size": a.content.len(),
            "digest": a.digest,
            "download_count": 0,
            "created_at": ts(&a.created_at),
            "updated_at": ts(&a.updated_at),
            "uploader": self.user_json(),
        })
    }

    pub(super) fn release_json(&self, repo: &Repo, rel: &Release) -> Value {
        let api = self.repo_api(repo);
        let tag = Self::tag_path(rel.url_tag());
        json!({
            "url": format!("{api}/releases/{}", rel.id),
            "html_url": format!("{}/releases/tag/{tag}", self.repo_web(repo)),
            "assets_url": format!("{api}/releases/{}/assets", rel.id),
            "upload_url": format!(
                "{}/repos/{}/releases/{}/assets{{?name,label}}",
                self.uploads_root(),
                repo.url_path(),
                rel.id
            ),
            "tarball_url": (!rel.draft).then(|| format!("{api}/tarball/{}", enc(&rel.tag))),
            "zipball_url": (!rel.draft).then(|| format!("{api}/zipball/{}", enc(&rel.tag))),
            "id": rel.id,
            "node_id": format!("RE_kwDOAAAAAM4{:08X}", rel.id),
            "tag_name": rel.tag,
            "target_commitish": rel.target,
            "name": rel.name,
            "body": rel.body,
            "draft": rel.draft,
            "prerelease": rel.prerelease,
            "immutable": rel.immutable,
            "created_at": ts(&rel.created_at),
            "updated_at": ts(&rel.updated_at),
            "published_at": rel.published_at.as_ref().map(ts),
            "author": self.user_json(),
            "assets": rel.assets.iter().map(|a| self.asset_json(repo, rel, a)).collect::<Vec<_>>(),
        })
    }
}

/// How GitHub renames an uploaded asset: letters with diacritics lose them, every other character
/// outside `A-Z a-z 0-9 - _ . +` becomes `.`, runs of `.` collapse into one and leading or
/// trailing `.` go (e.g. `my app (1).tar.gz` → `my.app.1.tar.gz`, `a~b` → `a.b`).
pub(super) fn sanitize_asset_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+') {
            out.push(c);
        } else if let Some(t) = transliterate(c) {
            out.push_str(t);
        } else {
            out.push('.');
        }
    }
    let mut collapsed = String::with_capacity(out.len());
    for c in out.chars() {
        if c == '.' && collapsed.ends_with('.') {
            continue;
        }
        collapsed.push(c);
    }
    collapsed.trim_matches('.').to_string()
}

fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ą' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ą' => "A",
        'æ' => "ae",
        'Æ' => "AE",
        'ç' | 'ć' | 'č' => "c",
        'Ç' | 'Ć' | 'Č' => "C",
        'ð' => "d",
        'Ð' => "D",
        'è' | 'é' | 'ê' | 'ë' | 'ę' | 'ě' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ę' | 'Ě' => "E",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' => "I",
        'ł' => "l",
        'Ł' => "L",
        'ñ' | 'ń' | 'ň' => "n",
        'Ñ' | 'Ń' | 'Ň' => "N",
        'ŋ' => "ng",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "O",
        'ś' | 'š' => "s",
        'Ś' | 'Š' => "S",
        'ß' => "ss",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ů' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ů' => "U",
        'ý' | 'ÿ' => "y",
        'Ý' => "Y",
        'ź' | 'ż' | 'ž' => "z",
        'Ź' | 'Ż' | 'Ž' => "Z",
        _ => return None,
    })
}

/// Git's ref-name rules, as far as GitHub's "tag_name is not a valid tag" applies them.
pub(super) fn valid_tag_name(tag: &str) -> bool {
    !tag.is_empty()
        && !tag.starts_with('-')
        && !tag.starts_with('/')
        && !tag.ends_with('/')
        && !tag.ends_with('.')
        && !tag.ends_with(".lock")
        && !tag.contains("..")
        && !tag.contains("//")
        && !tag.contains("@{")
        && tag != "@"
        && !tag
            .chars()
            .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
        && tag.split('/').all(|s| !s.starts_with('.'))
}
