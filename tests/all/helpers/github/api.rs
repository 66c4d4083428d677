//! Routing on the raw path and the release endpoints, with GitHub's status codes and error bodies
//! (`basic-error` and `validation-error` of the OpenAPI description; the upload host's own
//! `{"message","request_id","documentation_url"}` shape).

mod assets;

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::super::emu_common::{HttpReq, Page, Repository, Resp, enc, link, segments};
use super::model::{Release, Repo, State, Tag, valid_tag_name};

pub(super) use self::assets::upload_starter;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Host {
    Api,
    Uploads,
    /// Downloads (`/{o}/{r}/releases/download/...`, `/_objects/...`): no auth, no rate limit.
    Web,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cred {
    None,
    Write(String),
    Read(String),
    Invalid(String),
}

impl Cred {
    fn token(&self) -> Option<String> {
        match self {
            Cred::None => None,
            Cred::Write(t) | Cred::Read(t) | Cred::Invalid(t) => Some(t.clone()),
        }
    }
}

pub(super) const DOC_ROOT: &str = "https://docs.github.com/rest";
const DOC_LIST: &str = "https://docs.github.com/rest/releases/releases#list-releases";
const DOC_CREATE: &str = "https://docs.github.com/rest/releases/releases#create-a-release";
const DOC_GET: &str = "https://docs.github.com/rest/releases/releases#get-a-release";
const DOC_UPDATE: &str = "https://docs.github.com/rest/releases/releases#update-a-release";
const DOC_DELETE: &str = "https://docs.github.com/rest/releases/releases#delete-a-release";
const DOC_BY_TAG: &str = "https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name";
const DOC_LATEST: &str = "https://docs.github.com/rest/releases/releases#get-the-latest-release";
const DOC_ASSETS: &str = "https://docs.github.com/rest/releases/assets#list-release-assets";
const DOC_ASSET: &str = "https://docs.github.com/rest/releases/assets#get-a-release-asset";
const DOC_ASSET_UPDATE: &str =
    "https://docs.github.com/rest/releases/assets#update-a-release-asset";
const DOC_ASSET_DELETE: &str =
    "https://docs.github.com/rest/releases/assets#delete-a-release-asset";
const DOC_TAGS: &str = "https://docs.github.com/rest/repos/repos#list-repository-tags";
const DOC_REF: &str = "https://docs.github.com/rest/git/refs#get-a-reference";
const DOC_REPO: &str = "https://docs.github.com/rest/repos/repos#get-a-repository";
const DOC_USER: &str = "https://docs.github.com/rest/users/users#get-the-authenticated-user";

const API_VERSIONS: [&str; 2] = ["2022-11-28", "2026-03-10"];

// ---------------------------------------------------------------------------------------------
// Error bodies

/// `basic-error`: `{"message","documentation_url","status"}`.
pub(super) fn gh_error(status: u16, message: &str, doc: &str) -> Resp {
    Resp::json(
        status,
        &json!({ "message": message, "documentation_url": doc, "status": status.to_string() }),
    )
}

pub(super) fn not_found(doc: &str) -> Resp {
    gh_error(404, "Not Found", doc)
}

/// `validation-error`: `{"message":"Validation Failed","errors":[...],...}`.
pub(super) fn validation_failed(errors: Vec<Value>, doc: &str) -> Resp {
    Resp::json(
        422,
        &json!({
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": doc,
            "status": "422",
        }),
    )
}

/// A JSON-schema failure of the request body: `Invalid request.\n\n<detail>`.
fn invalid_request(detail: &str, doc: &str) -> Resp {
    gh_error(422, &format!("Invalid request.\n\n{detail}"), doc)
}

fn bad_credentials() -> Resp {
    gh_error(401, "Bad credentials", DOC_ROOT)
}

fn not_accessible(doc: &str) -> Resp {
    gh_error(403, "Resource not accessible by integration", doc)
}

/// The error shape of the upload host: `{"message","request_id","documentation_url"}`.
pub(super) fn upload_error(state: &State, status: u16, message: &str) -> Resp {
    Resp::json(
        status,
        &json!({
            "message": message,
            "request_id": state.request_id(),
            "documentation_url": DOC_ROOT,
        }),
    )
}

pub(super) fn upload_validation(state: &State, errors: Vec<Value>) -> Resp {
    Resp::json(
        422,
        &json!({
            "message": "Validation Failed",
            "request_id": state.request_id(),
            "documentation_url": DOC_ROOT,
            "errors": errors,
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Request bodies

#[derive(Clone, Copy)]
pub(super) enum Ty {
    Str,
    Bool,
    Enum(&'static [&'static str]),
}

const RELEASE_PROPS: &[(&str, Ty)] = &[
    ("tag_name", Ty::Str),
    ("target_commitish", Ty::Str),
    ("name", Ty::Str),
    ("body", Ty::Str),
    ("draft", Ty::Bool),
    ("prerelease", Ty::Bool),
    ("discussion_category_name", Ty::Str),
    ("generate_release_notes", Ty::Bool),
    ("make_latest", Ty::Enum(&["true", "false", "legacy"])),
];

/// A JSON value as Ruby's `inspect` prints it in GitHub's schema errors.
fn inspect(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        other => other.to_string(),
    }
}

/// Parses a JSON object body (empty = `{}`); 400 "Problems parsing JSON" otherwise.
pub(super) fn parse_body(req: &HttpReq, doc: &str) -> Result<Map<String, Value>, Resp> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(invalid_request(
            &format!(
                "For 'links/0/schema', {} is not an object.",
                inspect(&other)
            ),
            doc,
        )),
        Err(_) => Err(gh_error(400, "Problems parsing JSON", doc)),
    }
}

/// Checks the body against the operation's schema as GitHub does, first failure only.
pub(super) fn check_schema(
    body: &Map<String, Value>,
    props: &[(&str, Ty)],
    required: &[&str],
    doc: &str,
) -> Result<(), Resp> {
    for r in required {
        if !body.contains_key(*r) {
            return Err(invalid_request(&format!("\"{r}\" wasn't supplied."), doc));
        }
    }
    for (k, ty) in props {
        let Some(v) = body.get(*k) else { continue };
        let fail = |what: &str| {
            Err(invalid_request(
                &format!("For 'properties/{k}', {} is not {what}.", inspect(v)),
                doc,
            ))
        };
        match ty {
            Ty::Str if !v.is_string() => return fail("a string"),
            Ty::Bool if !v.is_boolean() => return fail("a boolean"),
            Ty::Enum(_) if !v.is_string() => return fail("a string"),
            Ty::Enum(vals) if !vals.contains(&v.as_str().unwrap_or_default()) => {
                let list: Vec<String> = vals.iter().map(|x| format!("\"{x}\"")).collect();
                return fail(&format!("one of [{}]", list.join(", ")));
            }
            _ => {}
        }
    }
    Ok(())
}

pub(super) fn s(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_string)
}

fn b(body: &Map<String, Value>, key: &str) -> Option<bool> {
    body.get(key).and_then(Value::as_bool)
}

// ---------------------------------------------------------------------------------------------
// Routing

impl State {
    /// Which of the emulated hosts a raw path belongs to, and the path below its prefix.
    pub(super) fn split_host<'a>(&self, path: &'a str) -> (Host, &'a str) {
        if path.starts_with("/_objects/") {
            return (Host::Web, path);
        }
        if self.enterprise {
            if let Some(rest) = path.strip_prefix("/api/v3") {
                return (Host::Api, rest);
            }
            if let Some(rest) = path.strip_prefix("/api/uploads") {
                return (Host::Uploads, rest);
            }
            return (Host::Web, path);
        }
        if let Some(rest) = path.strip_prefix("/uploads")
            && rest.starts_with('/')
        {
            return (Host::Uploads, rest);
        }
        if path.contains("/releases/download/") && !path.starts_with("/repos/") {
            return (Host::Web, path);
        }
        (Host::Api, path)
    }

    pub(super) fn host_of(&self, path: &str) -> Host {
        self.split_host(path).0
    }

    fn credential(&self, req: &HttpReq) -> Cred {
        let Some(a) = req.header("authorization") else {
            return Cred::None;
        };
        let a = a.trim();
        let token = match a.split_once(' ') {
            Some((scheme, t))
                if scheme.eq_ignore_ascii_case("bearer")
                    || scheme.eq_ignore_ascii_case("token") =>
            {
                t.trim().to_string()
            }
            _ => return Cred::Invalid(a.to_string()),
        };
        if self.tokens.contains(&token) {
            Cred::Write(token)
        } else if self.read_only_tokens.contains(&token) {
            Cred::Read(token)
        } else {
            Cred::Invalid(token)
        }
    }
}

#[derive(Debug)]
enum Route {
    Repo,
    Releases,
    Latest,
    ByTag(String),
    Release(String),
    ReleaseAssets(String),
    Asset(String),
    Tags,
    TagRef(String),
    Unknown,
}

fn route(rest: &[String]) -> Route {
    let strs: Vec<&str> = rest.iter().map(String::as_str).collect();
    match strs.as_slice() {
        [] => Route::Repo,
        ["releases"] => Route::Releases,
        ["releases", "latest"] => Route::Latest,
        ["releases", "tags", tag @ ..] if !tag.is_empty() => Route::ByTag(tag.join("/")),
        ["releases", "assets", id] => Route::Asset(id.to_string()),
        ["releases", id] => Route::Release(id.to_string()),
        ["releases", id, "assets"] => Route::ReleaseAssets(id.to_string()),
        ["tags"] => Route::Tags,
        ["git", "ref" | "refs", "tags", tag @ ..] if !tag.is_empty() => {
            Route::TagRef(tag.join("/"))
        }
        _ => Route::Unknown,
    }
}

fn doc_for(route: &Route, method: &str) -> &'static str {
    match (route, method) {
        (Route::Repo, _) => DOC_REPO,
        (Route::Releases, "POST") => DOC_CREATE,
        (Route::Releases, _) => DOC_LIST,
        (Route::Latest, _) => DOC_LATEST,
        (Route::ByTag(_), _) => DOC_BY_TAG,
        (Route::Release(_), "PATCH") => DOC_UPDATE,
        (Route::Release(_), "DELETE") => DOC_DELETE,
        (Route::Release(_), _) => DOC_GET,
        (Route::ReleaseAssets(_), _) => DOC_ASSETS,
        (Route::Asset(_), "PATCH") => DOC_ASSET_UPDATE,
        (Route::Asset(_), "DELETE") => DOC_ASSET_DELETE,
        (Route::Asset(_), _) => DOC_ASSET,
        (Route::Tags, _) => DOC_TAGS,
        (Route::TagRef(_), _) => DOC_REF,
        (Route::Unknown, _) => DOC_ROOT,
    }
}

/// Finds the repository of `repos/{owner}/{repo}/...` or `repositories/{id}/...` (the form
/// GitHub's `Link` headers use); returns its index and the segments after it.
fn find_repo<'a>(state: &State, segs: &'a [String]) -> Option<(Option<usize>, &'a [String])> {
    match segs {
        [first, owner, name, rest @ ..] if first == "repos" => {
            Some((state.repo_idx(owner, name), rest))
        }
        [first, id, rest @ ..] if first == "repositories" => {
            let idx = id
                .parse::<u64>()
                .ok()
                .and_then(|id| state.repos.iter().position(|r| r.id == id));
            Some((idx, rest))
        }
        _ => None,
    }
}

/// Answers one request; also returns the token it presented (for `echo_token_in_errors`).
pub(super) fn dispatch(state: &mut State, req: &HttpReq) -> (Resp, Option<String>) {
    let (host, rest) = state.split_host(&req.path);
    if host == Host::Web {
        return (assets::web(state, req), None);
    }
    let cred = state.credential(req);
    let token = cred.token();
    if let Some(v) = req.header("x-github-api-version")
        && !API_VERSIONS.contains(&v.trim())
    {
        let r = gh_error(
            400,
            &format!("API version '{}' is not supported.", v.trim()),
            "https://docs.github.com/rest/overview/api-versions",
        );
        return (r, token);
    }
    if let Cred::Invalid(_) = cred {
        return (bad_credentials(), token);
    }
    let resp = match host {
        Host::Uploads => assets::upload(state, req, &cred, rest),
        _ => api(state, req, &cred, rest),
    };
    let resp = match req.header("x-github-api-version") {
        Some(v) => resp.header("x-github-api-version-selected", v.trim().to_string()),
        None => resp,
    };
    (resp, token)
}

fn api(state: &mut State, req: &HttpReq, cred: &Cred, rest: &str) -> Resp {
    let Some(segs) = segments(rest.trim_start_matches('/')) else {
        return not_found(DOC_ROOT);
    };
    let m = req.method.as_str();
    match (
        m,
        segs.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
    ) {
        ("GET", ["user"]) => {
            return match cred {
                Cred::None => gh_error(401, "Requires authentication", DOC_USER),
                _ => Resp::json(200, &state.authenticated_user_json()),
            };
        }
        ("GET", ["rate_limit"]) => {
            let core = json!({
                "limit": 5000, "used": state.rate_used, "remaining": 5000 - state.rate_used,
                "reset": state.rate_reset, "resource": "core",
            });
            return Resp::json(200, &json!({ "resources": { "core": core }, "rate": core }));
        }
        _ => {}
    }
    let Some((idx, rest)) = find_repo(state, &segs) else {
        return not_found(DOC_ROOT);
    };
    let route = route(rest);
    let doc = doc_for(&route, m);
    let Some(ri) = idx else {
        return not_found(doc);
    };
    if *cred == Cred::None {
        // Every emulated repository is private.
        return not_found(doc);
    }
    let push = matches!(cred, Cred::Write(_));
    if m != "GET" && !push {
        return not_accessible(doc);
    }
    match (m, route) {
        ("GET", Route::Repo) => Resp::json(200, &state.repo_json(&state.repos[ri])),
        ("GET", Route::Releases) => list_releases(state, ri, req, push),
        ("POST", Route::Releases) => create_release(state, ri, req),
        ("GET", Route::Latest) => {
            let repo = &state.repos[ri];
            match repo.latest() {
                Some(rel) => Resp::json(200, &state.release_json(repo, rel)),
                None => not_found(doc),
            }
        }
        ("GET", Route::ByTag(tag)) => {
            let repo = &state.repos[ri];
            match repo.published_for_tag(&tag, None) {
                Some(rel) => Resp::json(200, &state.release_json(repo, rel)),
                None => not_found(doc),
            }
        }
        ("GET", Route::Release(id)) => match release_idx(state, ri, &id, push) {
            Some(i) => {
                let repo = &state.repos[ri];
                Resp::json(200, &state.release_json(repo, &repo.releases[i]))
            }
            None => not_found(doc),
        },
        ("PATCH", Route::Release(id)) => match release_idx(state, ri, &id, push) {
            Some(i) => update_release(state, ri, i, req),
            None => not_found(doc),
        },
        ("DELETE", Route::Release(id)) => match release_idx(state, ri, &id, push) {
            Some(i) => delete_release(state, ri, i),
            None => not_found(doc),
        },
        ("GET", Route::ReleaseAssets(id)) => match release_idx(state, ri, &id, push) {
            Some(i) => {
                let repo = &state.repos[ri];
                let rel = &repo.releases[i];
                let items = rel
                    .assets
                    .iter()
                    .map(|a| state.asset_json(repo, rel, a))
                    .collect();
                paginate(
                    state,
                    ri,
                    req,
                    items,
                    &format!("releases/{}/assets", rel.id),
                )
            }
            None => not_found(doc),
        },
        ("GET", Route::Asset(id)) => assets::get_asset(state, ri, &id, req, push),
        ("PATCH", Route::Asset(id)) => assets::update_asset(state, ri, &id, req),
        ("DELETE", Route::Asset(id)) => assets::delete_asset(state, ri, &id),
        ("GET", Route::Tags) => {
            let repo = &state.repos[ri];
            let api = state.repo_api(repo);
            let mut tags: Vec<&Tag> = repo.tags.iter().collect();
            tags.sort_by(|a, b| b.name.cmp(&a.name));
            let items = tags
                .iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "zipball_url": format!("{api}/zipball/refs/tags/{}", enc(&t.name)),
                        "tarball_url": format!("{api}/tarball/refs/tags/{}", enc(&t.name)),
                        "commit": { "sha": t.sha, "url": format!("{api}/commits/{}", t.sha) },
                        "node_id": format!("REF_kwDO{}", hex::encode(&t.name)),
                    })
                })
                .collect();
            paginate(state, ri, req, items, "tags")
        }
        ("GET", Route::TagRef(tag)) => {
            let repo = &state.repos[ri];
            let api = state.repo_api(repo);
            match repo.tags.iter().find(|t| t.name == tag) {
                Some(t) => Resp::json(
                    200,
                    &json!({
                        "ref": format!("refs/tags/{}", t.name),
                        "node_id": format!("REF_kwDO{}", hex::encode(&t.name)),
                        "url": format!("{api}/git/refs/tags/{}", t.name),
                        "object": {
                            "sha": t.sha,
                            "type": "commit",
                            "url": format!("{api}/git/commits/{}", t.sha),
                        },
                    }),
                ),
                None => not_found(doc),
            }
        }
        _ => not_found(DOC_ROOT),
    }
}

/// The release with this id (a draft only for tokens with push access).
fn release_idx(state: &State, ri: usize, id: &str, push: bool) -> Option<usize> {
    let id: u64 = id.parse().ok()?;
    state.repos[ri]
        .releases
        .iter()
        .position(|r| r.id == id && (push || !r.draft))
}

// ---------------------------------------------------------------------------------------------
// Pagination

/// `page` (default 1) and `per_page` (default 30, at most 100); a `Link` header with
/// `rel="prev|next|last|first"` whose URLs use `/repositories/{id}/...`, as GitHub's do.
pub(super) fn paginate(
    state: &State,
    ri: usize,
    req: &HttpReq,
    items: Vec<Value>,
    tail: &str,
) -> Resp {
    let pairs = req.query_pairs();
    let int = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.trim().parse::<i64>().ok())
    };
    let per_page = match int("per_page") {
        Some(p) if p > 0 => (p as usize).min(100),
        _ => 30,
    };
    let page = match int("page") {
        Some(p) if p > 0 => p as usize,
        _ => 1,
    };
    let p = Page::of(items, page, per_page);
    let mut resp = p.json();
    if p.total_pages > 1 {
        let base = format!(
            "{}/repositories/{}/{tail}",
            state.api_root(),
            state.repos[ri].id
        );
        let other: Vec<(String, String)> =
            pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
        let link_to = |n: usize, rel: &str| {
            let mut q = other.clone();
            q.push(("page".into(), n.to_string()));
            link(&base, &q, rel)
        };
        let mut links = Vec::new();
        if let Some(n) = p.prev() {
            links.push(link_to(n.min(p.total_pages), "prev"));
        }
        if let Some(n) = p.next() {
            links.push(link_to(n, "next"));
            links.push(link_to(p.total_pages, "last"));
        }
        if page > 1 {
            links.push(link_to(1, "first"));
        }
        resp = resp.header("Link", links.join(", "));
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// Releases

fn list_releases(state: &State, ri: usize, req: &HttpReq, push: bool) -> Resp {
    let repo = &state.repos[ri];
    let items = state
        .sorted_releases(repo, push)
        .into_iter()
        .map(|r| state.release_json(repo, r))
        .collect();
    paginate(state, ri, req, items, "releases")
}

fn tag_error(message: &str, doc: &str) -> Resp {
    validation_failed(
        vec![
            json!({ "resource": "Release", "code": "custom", "field": "tag_name", "message": message }),
        ],
        doc,
    )
}

fn already_exists(doc: &str) -> Resp {
    validation_failed(
        vec![json!({ "resource": "Release", "code": "already_exists", "field": "tag_name" })],
        doc,
    )
}

fn invalid_target(doc: &str) -> Resp {
    validation_failed(
        vec![json!({ "resource": "Release", "code": "invalid", "field": "target_commitish" })],
        doc,
    )
}

/// Creates the tag at `target` when it does not exist yet (what publishing does).
fn ensure_tag(repo: &mut Repo, tag: &str, target: &str, doc: &str) -> Result<(), Resp> {
    if repo.tags.iter().any(|t| t.name == tag) {
        return Ok(());
    }
    let sha = repo.resolve(target).ok_or_else(|| invalid_target(doc))?;
    repo.tags.push(Tag {
        name: tag.to_string(),
        sha,
    });
    Ok(())
}

fn apply_make_latest(repo: &mut Repo, id: u64, make_latest: &str) {
    match make_latest {
        "true" => repo.latest = Some(id),
        "legacy" => repo.latest = None,
        _ => {}
    }
}

/// The placeholder a draft's `html_url` uses, e.g. `untagged-48a68f5b50a03b2b1927`.
fn untagged(id: u64) -> String {
    let h = super::model::sha256_hex(&id.to_be_bytes());
    format!("untagged-{}", &h[..20])
}

fn create_release(state: &mut State, ri: usize, req: &HttpReq) -> Resp {
    let doc = DOC_CREATE;
    let body = match parse_body(req, doc) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(r) = check_schema(&body, RELEASE_PROPS, &["tag_name"], doc) {
        return r;
    }
    let tag = s(&body, "tag_name").unwrap_or_default();
    if !valid_tag_name(&tag) {
        return tag_error("tag_name is not a valid tag", doc);
    }
    if let Some(r) = body_too_long(state, s(&body, "body").as_deref(), doc) {
        return r;
    }
    let draft = b(&body, "draft").unwrap_or(false);
    let prerelease = b(&body, "prerelease").unwrap_or(false);
    let repo = &state.repos[ri];
    if repo.burned_tags.contains(&tag) {
        return tag_error("tag_name was used by an immutable release", doc);
    }
    if !draft && repo.published_for_tag(&tag, None).is_some() {
        return already_exists(doc);
    }
    if body.contains_key("discussion_category_name") {
        // No discussion categories exist in the emulated repositories.
        return not_found(doc);
    }
    let target = s(&body, "target_commitish").unwrap_or_else(|| repo.default_branch.clone());
    if !draft && let Err(r) = ensure_tag(&mut state.repos[ri], &tag, &target, doc) {
        return r;
    }
    let mut text = s(&body, "body");
    if b(&body, "generate_release_notes") == Some(true) {
        let repo = &state.repos[ri];
        let generated = format!(
            "**Full Changelog**: {}/commits/{}",
            state.repo_web(repo),
            enc(&tag)
        );
        text = Some(match text {
            Some(t) if !t.is_empty() => format!("{t}\n\n{generated}"),
            _ => generated,
        });
    }
    let id = state.release_ids.next();
    let now = Utc::now();
    let immutable = !draft && state.immutable_setting;
    let rel = Release {
        id,
        tag: tag.clone(),
        target,
        name: s(&body, "name"),
        body: text,
        draft,
        prerelease,
        immutable,
        created_at: now,
        published_at: (!draft).then_some(now),
        updated_at: now,
        untagged: untagged(id),
        assets: Vec::new(),
    };
    let repo = &mut state.repos[ri];
    if !draft && !prerelease {
        let ml = s(&body, "make_latest").unwrap_or_else(|| "true".into());
        apply_make_latest(repo, id, &ml);
    }
    repo.releases.push(rel);
    let repo = &state.repos[ri];
    let rel = repo.releases.last().expect("just pushed");
    let location = format!("{}/releases/{id}", state.repo_api(repo));
    Resp::json(201, &state.release_json(repo, rel)).header("Location", location)
}

/// 422 when `body` is longer than the limit (see `model::BODY_LIMIT`).
fn body_too_long(state: &State, body: Option<&str>, doc: &str) -> Option<Resp> {
    let limit = state.body_limit?;
    (body?.chars().count() > limit).then(|| {
        validation_failed(
            vec![json!({
                "resource": "Release",
                "code": "custom",
                "field": "body",
                "message": format!("body is too long (maximum is {limit} characters)"),
            })],
            doc,
        )
    })
}

fn update_release(state: &mut State, ri: usize, i: usize, req: &HttpReq) -> Resp {
    let doc = DOC_UPDATE;
    let body = match parse_body(req, doc) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(r) = check_schema(&body, RELEASE_PROPS, &[], doc) {
        return r;
    }
    if let Some(r) = body_too_long(state, s(&body, "body").as_deref(), doc) {
        return r;
    }
    let old = state.repos[ri].releases[i].clone();
    let tag = s(&body, "tag_name").unwrap_or_else(|| old.tag.clone());
    let target = s(&body, "target_commitish").unwrap_or_else(|| old.target.clone());
    let draft = b(&body, "draft").unwrap_or(old.draft);
    let prerelease = b(&body, "prerelease").unwrap_or(old.prerelease);
    if old.immutable && (tag != old.tag || target != old.target || draft) {
        return gh_error(
            422,
            "Cannot modify the tag or draft state of an immutable release.",
            doc,
        );
    }
    let repo = &state.repos[ri];
    if tag != old.tag {
        if !valid_tag_name(&tag) {
            return tag_error("tag_name is not a valid tag", doc);
        }
        if repo.burned_tags.contains(&tag) {
            return tag_error("tag_name was used by an immutable release", doc);
        }
    }
    if !draft && repo.published_for_tag(&tag, Some(old.id)).is_some() {
        return already_exists(doc);
    }
    if !draft && let Err(r) = ensure_tag(&mut state.repos[ri], &tag, &target, doc) {
        return r;
    }
    let publishing = old.draft && !draft;
    let now = Utc::now();
    let immutable_setting = state.immutable_setting;
    let repo = &mut state.repos[ri];
    let rel = &mut repo.releases[i];
    rel.tag = tag;
    rel.target = target;
    if let Some(n) = s(&body, "name") {
        rel.name = Some(n);
    }
    if let Some(t) = s(&body, "body") {
        rel.body = Some(t);
    }
    rel.draft = draft;
    rel.prerelease = prerelease;
    rel.updated_at = now;
    if publishing {
        rel.published_at = Some(now);
        rel.immutable = immutable_setting;
    }
    if draft {
        rel.published_at = None;
    }
    let id = rel.id;
    if !draft && !prerelease {
        let ml = s(&body, "make_latest").or_else(|| publishing.then(|| "true".to_string()));
        if let Some(ml) = ml {
            apply_make_latest(repo, id, &ml);
        }
    }
    let repo = &state.repos[ri];
    Resp::json(200, &state.release_json(repo, &repo.releases[i]))
}

fn delete_release(state: &mut State, ri: usize, i: usize) -> Resp {
    let repo = &mut state.repos[ri];
    let rel = repo.releases.remove(i);
    if rel.immutable && !repo.burned_tags.contains(&rel.tag) {
        repo.burned_tags.push(rel.tag.clone());
    }
    if repo.latest == Some(rel.id) {
        repo.latest = None;
    }
    Resp::empty(204)
}
