//! Routing on the raw (still percent-encoded) path and the endpoint handlers, with GitLab's
//! status codes, error bodies and check order (research: gitlab-server-behaviour.md §1).

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::http::{Resp, dec, enc, p_bool, p_enum, p_list, p_str, paginate};
use super::model::{
    DESCRIPTION_MAX, LINK_TYPES, Link, Milestone, Package, PackageFile, Project, Release, State,
    Tag, full_message, link_errors, looks_like_sha, package_name_ok, package_version_ok,
    parse_time, sha256_hex, tag_name_ok,
};

/// The credential a request presented.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cred {
    None,
    Private(String),
    Job(String),
}

impl Cred {
    pub fn token(&self) -> Option<&str> {
        match self {
            Cred::None => None,
            Cred::Private(t) | Cred::Job(t) => Some(t),
        }
    }
}

/// A streamed upload body, hashed while it was read.
#[derive(Debug)]
pub(super) struct Upload {
    pub content: Vec<u8>,
    pub sha256: String,
}

/// One request, parsed.
#[derive(Debug)]
pub(super) struct Ctx {
    /// `HEAD` is answered as `GET`.
    pub method: String,
    pub raw_path: String,
    pub query_pairs: Vec<(String, String)>,
    /// Query and body parameters merged (body wins), as Grape's `params`.
    pub params: Map<String, Value>,
    pub cred: Cred,
    pub upload: Option<Upload>,
}

/// Finds the credential as `Gitlab::Auth::AuthFinders` does (headers, then `Authorization`, then
/// query parameters). `Authorization: Bearer` with a known job token counts as a job token.
pub(super) fn credential(
    state: &State,
    headers: &[(String, String)],
    query: &[(String, String)],
) -> Cred {
    let h = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.trim().to_string())
    };
    let classify = |t: String| {
        if state.job_tokens.contains(&t) {
            Cred::Job(t)
        } else {
            Cred::Private(t)
        }
    };
    if let Some(t) = h("private-token") {
        return Cred::Private(t);
    }
    if let Some(t) = h("job-token") {
        return Cred::Job(t);
    }
    if let Some(a) = h("authorization") {
        if let Some(t) = a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("bearer ")) {
            return classify(t.trim().to_string());
        }
        if let Some(b) = a.strip_prefix("Basic ").or_else(|| a.strip_prefix("basic ")) {
            if let Some(raw) = super::http::base64_decode(b) {
                let s = String::from_utf8_lossy(&raw).into_owned();
                if let Some((_, pw)) = s.split_once(':') {
                    return classify(pw.to_string());
                }
            }
        }
    }
    let q = |n: &str| query.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    if let Some(t) = q("private_token") {
        return Cred::Private(t);
    }
    if let Some(t) = q("job_token") {
        return Cred::Job(t);
    }
    Cred::None
}

#[derive(Debug)]
enum Route {
    Version,
    User,
    Project,
    Releases,
    Latest(Vec<String>),
    Release(String),
    Download(String, String),
    Links(String),
    Link(String, String),
    Tags,
    Tag(String),
    Packages,
    Package(String),
    PackageFiles(String),
    PackageFile(String, String),
    Generic(String, String, String),
}

/// Matches the decoded segments; a raw `/` inside what should be one segment never matches.
fn route(segs: &[String]) -> Option<(Option<String>, Route)> {
    if segs.iter().any(|s| s.is_empty()) {
        return None;
    }
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let o = |x: &str| x.to_string();
    let r = match s.as_slice() {
        ["version"] => (None, Route::Version),
        ["user"] => (None, Route::User),
        ["projects", id] => (Some(o(id)), Route::Project),
        ["projects", id, "releases"] => (Some(o(id)), Route::Releases),
        ["projects", id, "releases", "permalink", "latest", rest @ ..] => {
            (Some(o(id)), Route::Latest(rest.iter().map(|x| o(x)).collect()))
        }
        ["projects", id, "releases", tag] => (Some(o(id)), Route::Release(o(tag))),
        ["projects", id, "releases", tag, "downloads", rest @ ..] if !rest.is_empty() => (
            Some(o(id)),
            Route::Download(o(tag), format!("/{}", rest.join("/"))),
        ),
        ["projects", id, "releases", tag, "assets", "links"] => (Some(o(id)), Route::Links(o(tag))),
        ["projects", id, "releases", tag, "assets", "links", lid] => {
            (Some(o(id)), Route::Link(o(tag), o(lid)))
        }
        ["projects", id, "repository", "tags"] => (Some(o(id)), Route::Tags),
        ["projects", id, "repository", "tags", tag] => (Some(o(id)), Route::Tag(o(tag))),
        ["projects", id, "packages"] => (Some(o(id)), Route::Packages),
        ["projects", id, "packages", "generic", name, version, file @ ..] if !file.is_empty() => (
            Some(o(id)),
            Route::Generic(o(name), o(version), file.join("/")),
        ),
        ["projects", id, "packages", pid] => (Some(o(id)), Route::Package(o(pid))),
        ["projects", id, "packages", pid, "package_files"] => {
            (Some(o(id)), Route::PackageFiles(o(pid)))
        }
        ["projects", id, "packages", pid, "package_files", fid] => {
            (Some(o(id)), Route::PackageFile(o(pid), o(fid)))
        }
        _ => return None,
    };
    Some(r)
}

/// Whether a route accepts `JOB-TOKEN` (`job_token_allowed: true`).
fn job_token_allowed(r: &Route, method: &str) -> bool {
    match r {
        Route::Version | Route::User | Route::Project | Route::Tag(_) => false,
        Route::Tags => method == "GET",
        _ => true,
    }
}

fn not_allowed() -> Resp {
    Resp::error(405, "405 Not Allowed")
}

pub(super) fn dispatch(st: &mut State, ctx: &Ctx) -> Resp {
    let Some(rest) = ctx.raw_path.strip_prefix("/api/v4/") else {
        return Resp::error(404, "404 Not Found");
    };
    let segs: Option<Vec<String>> = rest.split('/').map(dec).collect();
    let Some((pid, r)) = segs.as_deref().and_then(route) else {
        return Resp::error(404, "404 Not Found");
    };

    // Authentication.
    match &ctx.cred {
        Cred::None => return Resp::unauthorized(),
        Cred::Private(t) => {
            if !st.private_tokens.contains(t) {
                return Resp::unauthorized();
            }
        }
        Cred::Job(t) => {
            if !job_token_allowed(&r, &ctx.method) {
                // The job token is ignored on this route: anonymous on a private project.
                return if pid.is_some() {
                    Resp::not_found("Project")
                } else {
                    Resp::unauthorized()
                };
            }
            if !st.job_tokens.contains(t) {
                return Resp::unauthorized();
            }
        }
    }

    let m = ctx.method.as_str();
    let Some(pid) = pid else {
        return match (r, m) {
            (Route::Version, "GET") => Resp::json(
                200,
                &json!({ "version": "17.5.0-ee", "revision": "0123456789a", "kas": { "enabled": false }, "enterprise": true }),
            ),
            (Route::User, "GET") => {
                let mut u = st.user_json();
                u["is_admin"] = json!(true);
                Resp::json(200, &u)
            }
            _ => not_allowed(),
        };
    };
    let Some(pi) = st.project_index(&pid) else {
        return Resp::not_found("Project");
    };

    match (r, m) {
        (Route::Project, "GET") => {
            let p = &st.projects[pi];
            Resp::json(200, &st.project_json(p))
        }
        (Route::Releases, "GET") => list_releases(st, pi, ctx),
        (Route::Releases, "POST") => create_release(st, pi, ctx),
        (Route::Latest(suffix), "GET") => latest(st, pi, ctx, &suffix),
        (Route::Release(tag), "GET") => get_release(st, pi, ctx, &tag),
        (Route::Release(tag), "PUT") => update_release(st, pi, ctx, &tag),
        (Route::Release(tag), "DELETE") => delete_release(st, pi, &tag),
        (Route::Download(tag, fp), "GET") => download(st, pi, &tag, &fp),
        (Route::Links(tag), "GET") => list_links(st, pi, ctx, &tag),
        (Route::Links(tag), "POST") => create_link(st, pi, ctx, &tag),
        (Route::Link(tag, lid), "GET" | "PUT" | "DELETE") => link_by_id(st, pi, ctx, &tag, &lid),
        (Route::Tags, "GET") => list_tags(st, pi, ctx),
        (Route::Tags, "POST") => create_tag_endpoint(st, pi, ctx),
        (Route::Tag(tag), "GET") => {
            let p = &st.projects[pi];
            match p.tags.iter().find(|t| t.name == tag) {
                Some(t) => Resp::json(200, &st.tag_json(p, t)),
                None => Resp::not_found("Tag"),
            }
        }
        (Route::Packages, "GET") => list_packages(st, pi, ctx),
        (Route::Package(id), "GET" | "DELETE") => package(st, pi, ctx, &id),
        (Route::PackageFiles(id), "GET") => list_package_files(st, pi, ctx, &id),
        (Route::PackageFile(id, fid), "DELETE") => delete_package_file(st, pi, &id, &fid),
        (Route::Generic(n, v, f), "PUT") => upload_generic(st, pi, ctx, &n, &v, &f),
        (Route::Generic(n, v, f), "GET") => download_generic(st, pi, &n, &v, &f),
        _ => not_allowed(),
    }
}

fn request_url(st: &State, ctx: &Ctx) -> String {
    format!("{}{}", st.base_url, ctx.raw_path)
}

// ---------------------------------------------------------------------------------------------
// Releases

fn list_releases(st: &State, pi: usize, ctx: &Ctx) -> Resp {
    let order_by = match p_enum(&ctx.params, "order_by", &["released_at", "created_at"], "released_at") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let sort = match p_enum(&ctx.params, "sort", &["desc", "asc"], "desc") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let html = p_bool(&ctx.params, "include_html_description");
    let p = &st.projects[pi];
    let items = State::sorted_releases(p, &order_by, sort == "asc")
        .into_iter()
        .map(|r| st.release_json(p, r, html))
        .collect();
    paginate(&ctx.params, &request_url(st, ctx), &ctx.query_pairs, items)
}

fn get_release(st: &State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
    let p = &st.projects[pi];
    match p.releases.iter().find(|r| r.tag == tag) {
        Some(r) => Resp::json(200, &st.release_json(p, r, p_bool(&ctx.params, "include_html_description"))),
        None => Resp::message(404, "404 Not Found"),
    }
}

fn latest(st: &State, pi: usize, ctx: &Ctx, suffix: &[String]) -> Resp {
    let p = &st.projects[pi];
    let Some(r) = State::sorted_releases(p, "released_at", false).into_iter().next() else {
        return Resp::message(404, "404 Not Found");
    };
    if suffix.iter().any(|s| s == ".." || s == ".") {
        return Resp::error(400, "suffix_path should be a valid file path");
    }
    let mut loc = format!("/api/v4/projects/{}/releases/{}", p.id, enc(&r.tag));
    for s in suffix {
        loc.push('/');
        loc.push_str(s);
    }
    let q: Vec<String> = ctx
        .query_pairs
        .iter()
        .filter(|(k, _)| k != "order_by")
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    if !q.is_empty() {
        loc.push('?');
        loc.push_str(&q.join("&"));
    }
    Resp::redirect(loc)
}

fn parse_released_at(params: &Map<String, Value>) -> Result<Option<chrono::DateTime<Utc>>, Resp> {
    match p_str(params, "released_at") {
        None => Ok(None),
        Some(s) => parse_time(&s)
            .map(Some)
            .ok_or_else(|| Resp::error(400, "released_at is invalid")),
    }
}

/// `Milestone(s) not found: a, b` (400) or the milestone ids.
fn resolve_milestones(p: &Project, titles: &[String]) -> Result<Vec<u64>, Resp> {
    let missing: Vec<&str> = titles
        .iter()
        .filter(|t| !p.milestones.iter().any(|m| &m.title == *t))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Resp::message(400, &format!("Milestone(s) not found: {}", missing.join(", "))));
    }
    Ok(titles
        .iter()
        .filter_map(|t| p.milestones.iter().find(|m| &m.title == t).map(|m| m.id))
        .collect())
}

/// Resolves a `ref` (tag, branch, or commit id) to a commit id.
fn resolve_ref(p: &Project, r: &str) -> Option<String> {
    if let Some(t) = p.tags.iter().find(|t| t.name == r) {
        return Some(t.sha.clone());
    }
    if let Some((_, sha)) = p.branches.iter().find(|(b, _)| b == r) {
        return Some(sha.clone());
    }
    looks_like_sha(r).then(|| r.to_ascii_lowercase())
}

/// `Tags::CreateService`: creates a (lightweight, or annotated with a message) tag.
fn create_tag(p: &mut Project, name: &str, r: &str, message: Option<String>) -> Result<Tag, Resp> {
    if !tag_name_ok(name) {
        return Err(Resp::message(400, "Tag name invalid"));
    }
    if p.tags.iter().any(|t| t.name == name) {
        return Err(Resp::message(400, &format!("Tag {name} already exists")));
    }
    let Some(sha) = resolve_ref(p, r) else {
        return Err(Resp::message(400, &format!("Target {r} is invalid")));
    };
    let message = message.filter(|m| !m.trim().is_empty());
    let target = match &message {
        Some(m) => sha256_hex(format!("tag {name}\n{m}").as_bytes())[..40].to_string(),
        None => sha.clone(),
    };
    let t = Tag {
        name: name.to_string(),
        sha,
        message,
        target,
        created_at: Utc::now(),
    };
    p.tags.push(t.clone());
    Ok(t)
}

fn create_release(st: &mut State, pi: usize, ctx: &Ctx) -> Resp {
    let params = &ctx.params;
    let Some(tag_name) = p_str(params, "tag_name") else {
        return Resp::error(400, "tag_name is missing");
    };
    let released_at = match parse_released_at(params) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let titles = p_list(params, "milestones").unwrap_or_default();
    if st.projects[pi].releases.iter().any(|r| r.tag == tag_name) {
        return Resp::message(409, "Release already exists");
    }
    let milestone_ids = match resolve_milestones(&st.projects[pi], &titles) {
        Ok(v) => v,
        Err(e) => return e,
    };
    // ensure_tag: the tag is created before the release is validated and saved, so it stays
    // even when saving fails.
    if !st.projects[pi].tags.iter().any(|t| t.name == tag_name) {
        let Some(r) = p_str(params, "ref").filter(|r| !r.is_empty()) else {
            return Resp::message(422, "Ref is not specified");
        };
        if let Err(e) = create_tag(&mut st.projects[pi], &tag_name, &r, p_str(params, "tag_message")) {
            return e;
        }
    }

    // build_release + save!; any exception is a 400 with its message.
    let now = Utc::now();
    let raw_links: Vec<Map<String, Value>> = params
        .get("assets")
        .and_then(|a| a.get("links"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|l| l.as_object().cloned()).collect())
        .unwrap_or_default();
    let mut links = Vec::new();
    for l in &raw_links {
        let link_type = p_str(l, "link_type").unwrap_or_else(|| "other".into());
        if !LINK_TYPES.contains(&link_type.as_str()) {
            return Resp::message(400, &format!("'{link_type}' is not a valid link_type"));
        }
        let filepath = p_str(l, "direct_asset_path")
            .or_else(|| p_str(l, "filepath"))
            .filter(|f| !f.is_empty());
        links.push(Link {
            id: 0,
            name: p_str(l, "name").unwrap_or_default(),
            url: p_str(l, "url").unwrap_or_default(),
            filepath,
            link_type,
            created_at: now,
        });
    }
    let description = p_str(params, "description");
    let mut errors: Vec<String> = Vec::new();
    let mut link_attr_errors = false;
    for l in &links {
        for (attr, msg) in link_errors(l, &[]) {
            link_attr_errors = true;
            let m = format!("Links {attr} {msg}");
            if !errors.contains(&m) {
                errors.push(m);
            }
        }
    }
    if description.as_ref().is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
        errors.push(format!("Description is too long (maximum is {DESCRIPTION_MAX} characters)"));
    }
    if !link_attr_errors {
        type Key = fn(&Link) -> Option<String>;
        let keys: [Key; 3] = [
            |l| Some(l.name.clone()),
            |l| Some(l.url.clone()),
            |l| l.filepath.clone(),
        ];
        for key in keys {
            let mut seen: Vec<String> = Vec::new();
            let mut dups: Vec<String> = Vec::new();
            for v in links.iter().filter_map(key) {
                if seen.contains(&v) {
                    if !dups.contains(&v) {
                        dups.push(v);
                    }
                } else {
                    seen.push(v);
                }
            }
            if !dups.is_empty() {
                errors.push(format!("Links have duplicate values ({})", dups.join(", ")));
            }
        }
    }
    if !errors.is_empty() {
        return Resp::message(400, &format!("Validation failed: {}", errors.join(", ")));
    }

    for l in &mut links {
        l.id = st.next_link_id();
    }
    let released_at = released_at.unwrap_or(now);
    // Upcoming and historical releases collect no evidence.
    let evidence = (released_at == now).then(|| {
        let id = st.next_evidence_id();
        (id, sha256_hex(format!("evidence {tag_name} {id}").as_bytes()), now)
    });
    let release = Release {
        id: st.next_release_id(),
        name: p_str(params, "name").unwrap_or_else(|| tag_name.clone()),
        tag: tag_name,
        description,
        created_at: now,
        released_at,
        milestone_ids,
        links,
        evidence,
    };
    let p = &mut st.projects[pi];
    p.releases.push(release);
    let (p, r) = (&st.projects[pi], st.projects[pi].releases.last().expect("pushed"));
    Resp::json(201, &st.release_json(p, r, false))
}

fn update_release(st: &mut State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
    let params = &ctx.params;
    let released_at = match parse_released_at(params) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let Some(ri) = st.projects[pi].releases.iter().position(|r| r.tag == tag) else {
        return Resp::forbidden(); // authorize! :update_release, nil
    };
    if !st.projects[pi].tags.iter().any(|t| t.name == tag) {
        return Resp::message(404, "Tag does not exist");
    }
    let declared = ["name", "description", "released_at", "milestones", "milestone_ids"];
    if !declared.iter().any(|k| params.contains_key(*k)) {
        return Resp::message(400, "params is empty");
    }
    let milestone_ids = match p_list(params, "milestones") {
        Some(titles) => match resolve_milestones(&st.projects[pi], &titles) {
            Ok(v) => Some(v),
            Err(e) => return e,
        },
        None => None,
    };
    let description = if params.contains_key("description") {
        Some(p_str(params, "description"))
    } else {
        None
    };
    if let Some(Some(d)) = &description {
        if d.chars().count() > DESCRIPTION_MAX {
            return Resp::json(
                400,
                &json!({ "message": { "description": [format!("is too long (maximum is {DESCRIPTION_MAX} characters)")] } }),
            );
        }
    }
    let r = &mut st.projects[pi].releases[ri];
    if params.contains_key("name") {
        r.name = p_str(params, "name").unwrap_or_default();
    }
    if let Some(d) = description {
        r.description = d;
    }
    if let Some(t) = released_at {
        r.released_at = t;
    }
    if let Some(ids) = milestone_ids {
        r.milestone_ids = ids;
    }
    let p = &st.projects[pi];
    Resp::json(200, &st.release_json(p, &p.releases[ri], false))
}

fn delete_release(st: &mut State, pi: usize, tag: &str) -> Resp {
    let Some(ri) = st.projects[pi].releases.iter().position(|r| r.tag == tag) else {
        return Resp::forbidden();
    };
    let p = &st.projects[pi];
    let body = st.release_json(p, &p.releases[ri], false);
    st.projects[pi].releases.remove(ri);
    Resp::json(200, &body)
}

fn download(st: &State, pi: usize, tag: &str, fp: &str) -> Resp {
    let p = &st.projects[pi];
    let Some(r) = p.releases.iter().find(|r| r.tag == tag) else {
        return Resp::message(404, "404 Not found");
    };
    match r.links.iter().find(|l| l.filepath.as_deref() == Some(fp)) {
        Some(l) => Resp::redirect(l.url.clone()),
        None => Resp::message(404, "404 Not found"),
    }
}

// ---------------------------------------------------------------------------------------------
// Release links

fn release_index(st: &State, pi: usize, tag: &str) -> Result<usize, Resp> {
    st.projects[pi]
        .releases
        .iter()
        .position(|r| r.tag == tag)
        .ok_or_else(|| Resp::message(404, "404 Not found")) // find_by_tag!
}

fn list_links(st: &State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
    let ri = match release_index(st, pi, tag) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let p = &st.projects[pi];
    let r = &p.releases[ri];
    let items = State::sorted_links(r)
        .into_iter()
        .map(|l| st.link_json(p, tag, l))
        .collect();
    paginate(&ctx.params, &request_url(st, ctx), &ctx.query_pairs, items)
}

/// `direct_asset_path || filepath` when either was sent; `Some(None)` clears it.
fn filepath_param(params: &Map<String, Value>) -> Option<Option<String>> {
    if !params.contains_key("direct_asset_path") && !params.contains_key("filepath") {
        return None;
    }
    Some(
        p_str(params, "direct_asset_path")
            .or_else(|| p_str(params, "filepath"))
            .filter(|f| !f.is_empty()),
    )
}

fn validate_link(r: &Release, l: &Link) -> Result<(), Resp> {
    let others: Vec<&Link> = r.links.iter().filter(|o| o.id != l.id).collect();
    let errs = link_errors(l, &others);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Resp::messages(
            400,
            errs.iter().map(|(a, m)| full_message(a, m)).collect(),
        ))
    }
}

fn create_link(st: &mut State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
    let params = &ctx.params;
    let mut missing = Vec::new();
    for k in ["name", "url"] {
        if p_str(params, k).is_none() {
            missing.push(format!("{k} is missing"));
        }
    }
    if !missing.is_empty() {
        return Resp::error(400, &missing.join(", "));
    }
    let link_type = match p_enum(params, "link_type", &LINK_TYPES, "other") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let ri = match release_index(st, pi, tag) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let mut link = Link {
        id: 0,
        name: p_str(params, "name").unwrap_or_default(),
        url: p_str(params, "url").unwrap_or_default(),
        filepath: filepath_param(params).flatten(),
        link_type,
        created_at: Utc::now(),
    };
    if let Err(e) = validate_link(&st.projects[pi].releases[ri], &link) {
        return e;
    }
    link.id = st.next_link_id();
    st.projects[pi].releases[ri].links.push(link.clone());
    Resp::json(201, &st.link_json(&st.projects[pi], tag, &link))
}

fn link_by_id(st: &mut State, pi: usize, ctx: &Ctx, tag: &str, lid: &str) -> Resp {
    let params = &ctx.params;
    let Ok(lid) = lid.parse::<u64>() else {
        return Resp::error(400, "link_id is invalid");
    };
    let mut link_type = None;
    if ctx.method == "PUT" {
        if p_str(params, "name").is_none() && p_str(params, "url").is_none() {
            return Resp::error(400, "name, url are missing, at least one parameter must be provided");
        }
        // `optional :link_type, default: 'other'`: not sending it resets the link to `other`.
        link_type = match p_enum(params, "link_type", &LINK_TYPES, "other") {
            Ok(v) => Some(v),
            Err(e) => return e,
        };
    }
    let ri = match release_index(st, pi, tag) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let Some(li) = st.projects[pi].releases[ri].links.iter().position(|l| l.id == lid) else {
        return Resp::message(404, "404 Not found");
    };
    match ctx.method.as_str() {
        "GET" => {
            let p = &st.projects[pi];
            Resp::json(200, &st.link_json(p, tag, &p.releases[ri].links[li]))
        }
        "DELETE" => {
            let l = st.projects[pi].releases[ri].links.remove(li);
            Resp::json(200, &st.link_json(&st.projects[pi], tag, &l))
        }
        _ => {
            let mut l = st.projects[pi].releases[ri].links[li].clone();
            if let Some(n) = p_str(params, "name") {
                l.name = n;
            }
            if let Some(u) = p_str(params, "url") {
                l.url = u;
            }
            if let Some(fp) = filepath_param(params) {
                l.filepath = fp;
            }
            if let Some(t) = link_type {
                l.link_type = t;
            }
            if let Err(e) = validate_link(&st.projects[pi].releases[ri], &l) {
                return e;
            }
            st.projects[pi].releases[ri].links[li] = l.clone();
            Resp::json(200, &st.link_json(&st.projects[pi], tag, &l))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tags

fn list_tags(st: &State, pi: usize, ctx: &Ctx) -> Resp {
    let order_by = match p_enum(&ctx.params, "order_by", &["updated", "name", "version"], "updated") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let sort = match p_enum(&ctx.params, "sort", &["desc", "asc"], "desc") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let p = &st.projects[pi];
    let mut tags: Vec<&Tag> = p.tags.iter().collect();
    if order_by != "updated" {
        tags.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if sort == "desc" {
        tags.reverse();
    }
    if let Some(search) = p_str(&ctx.params, "search").filter(|s| !s.is_empty()) {
        tags.retain(|t| {
            if let Some(prefix) = search.strip_prefix('^') {
                t.name.starts_with(prefix)
            } else if let Some(suffix) = search.strip_suffix('$') {
                t.name.ends_with(suffix)
            } else {
                t.name.contains(&search)
            }
        });
    }
    let items = tags.into_iter().map(|t| st.tag_json(p, t)).collect();
    paginate(&ctx.params, &request_url(st, ctx), &ctx.query_pairs, items)
}

fn create_tag_endpoint(st: &mut State, pi: usize, ctx: &Ctx) -> Resp {
    let params = &ctx.params;
    let mut missing = Vec::new();
    for k in ["tag_name", "ref"] {
        if p_str(params, k).is_none() {
            missing.push(format!("{k} is missing"));
        }
    }
    if !missing.is_empty() {
        return Resp::error(400, &missing.join(", "));
    }
    let name = p_str(params, "tag_name").unwrap_or_default();
    let r = p_str(params, "ref").unwrap_or_default();
    match create_tag(&mut st.projects[pi], &name, &r, p_str(params, "message")) {
        Ok(t) => Resp::json(201, &st.tag_json(&st.projects[pi], &t)),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// Packages

fn package_index(p: &Project, id: &str) -> Result<usize, Resp> {
    let Ok(id) = id.parse::<u64>() else {
        return Err(Resp::error(400, "package_id is invalid"));
    };
    p.packages
        .iter()
        .position(|k| k.id == id)
        .ok_or_else(|| Resp::not_found("Package"))
}

const PACKAGE_TYPES: [&str; 14] = [
    "maven", "npm", "conan", "nuget", "pypi", "composer", "generic", "golang", "debian", "rubygems",
    "helm", "terraform_module", "rpm", "ml_model",
];

fn list_packages(st: &State, pi: usize, ctx: &Ctx) -> Resp {
    let params = &ctx.params;
    let ptype = match p_str(params, "package_type") {
        Some(t) if !PACKAGE_TYPES.contains(&t.as_str()) => {
            return Resp::error(400, "package_type does not have a valid value");
        }
        t => t,
    };
    let order_by = match p_enum(params, "order_by", &["created_at", "name", "version", "type"], "created_at") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let sort = match p_enum(params, "sort", &["asc", "desc"], "asc") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let p = &st.projects[pi];
    let mut v: Vec<&Package> = p.packages.iter().collect();
    if ptype.as_deref().is_some_and(|t| t != "generic") {
        v.clear();
    }
    if let Some(n) = p_str(params, "package_name").filter(|n| !n.is_empty()) {
        // A fuzzy (ILIKE '%name%') search, not an exact match.
        let n = n.to_lowercase();
        v.retain(|k| k.name.to_lowercase().contains(&n));
    }
    if let Some(ver) = p_str(params, "package_version") {
        v.retain(|k| k.version == ver);
    }
    match order_by.as_str() {
        "name" => v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        "version" => v.sort_by(|a, b| a.version.cmp(&b.version).then(a.id.cmp(&b.id))),
        _ => v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))),
    }
    if sort == "desc" {
        v.reverse();
    }
    let items = v.into_iter().map(|k| st.package_json(p, k)).collect();
    paginate(params, &request_url(st, ctx), &ctx.query_pairs, items)
}

fn package(st: &mut State, pi: usize, ctx: &Ctx, id: &str) -> Resp {
    let ki = match package_index(&st.projects[pi], id) {
        Ok(i) => i,
        Err(e) => return e,
    };
    if ctx.method == "DELETE" {
        st.projects[pi].packages.remove(ki);
        return Resp::no_content();
    }
    let p = &st.projects[pi];
    Resp::json(200, &st.package_json(p, &p.packages[ki]))
}

fn list_package_files(st: &State, pi: usize, ctx: &Ctx, id: &str) -> Resp {
    let p = &st.projects[pi];
    let ki = match package_index(p, id) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let order_by = match p_enum(&ctx.params, "order_by", &["id", "file_name", "created_at"], "id") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let sort = match p_enum(&ctx.params, "sort", &["asc", "desc"], "asc") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let k = &p.packages[ki];
    let mut files: Vec<&PackageFile> = k.files.iter().collect();
    match order_by.as_str() {
        "file_name" => files.sort_by(|a, b| a.file_name.cmp(&b.file_name).then(a.id.cmp(&b.id))),
        "created_at" => files.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))),
        _ => files.sort_by_key(|f| f.id),
    }
    if sort == "desc" {
        files.reverse();
    }
    let items = files.into_iter().map(|f| st.package_file_json(k, f)).collect();
    paginate(&ctx.params, &request_url(st, ctx), &ctx.query_pairs, items)
}

fn delete_package_file(st: &mut State, pi: usize, id: &str, fid: &str) -> Resp {
    let ki = match package_index(&st.projects[pi], id) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let Ok(fid) = fid.parse::<u64>() else {
        return Resp::error(400, "package_file_id is invalid");
    };
    let files = &mut st.projects[pi].packages[ki].files;
    match files.iter().position(|f| f.id == fid) {
        Some(i) => {
            files.remove(i);
            Resp::no_content()
        }
        None => Resp::message(404, "404 Not Found"),
    }
}

fn check_generic_names(name: &str, version: &str, file: &str) -> Result<(), Resp> {
    if !package_name_ok(name) {
        return Err(Resp::error(400, "package_name is invalid"));
    }
    if !package_version_ok(version) {
        return Err(Resp::error(400, "package_version is invalid"));
    }
    if file.split('/').any(|s| s == "." || s == "..") {
        return Err(Resp::error(400, "file_name should be a valid file path"));
    }
    if !file.split('/').all(package_name_ok) {
        return Err(Resp::error(400, "file_name is invalid"));
    }
    Ok(())
}

fn upload_generic(st: &mut State, pi: usize, ctx: &Ctx, name: &str, version: &str, file: &str) -> Resp {
    if let Err(e) = check_generic_names(name, version, file) {
        return e;
    }
    let select = match p_str(&ctx.params, "select") {
        Some(s) if s != "package_file" => return Resp::error(400, "select does not have a valid value"),
        s => s,
    };
    if let Err(e) = p_enum(&ctx.params, "status", &["default", "hidden"], "default") {
        return e;
    }
    let Some(up) = &ctx.upload else {
        return Resp::error(400, "file is missing");
    };
    if up.content.len() as u64 > st.max_file_size {
        return Resp::message(400, "400 Bad request - File is too large");
    }
    let now = Utc::now();
    let ki = match st.projects[pi]
        .packages
        .iter()
        .position(|k| k.name == name && k.version == version)
    {
        Some(i) => i,
        None => {
            let id = st.next_package_id();
            st.projects[pi].packages.push(Package {
                id,
                name: name.to_string(),
                version: version.to_string(),
                created_at: now,
                files: Vec::new(),
            });
            st.projects[pi].packages.len() - 1
        }
    };
    // Duplicates are allowed by default: the new file is added next to the old ones.
    let f = PackageFile {
        id: st.next_package_file_id(),
        file_name: file.to_string(),
        size: up.content.len() as u64,
        sha256: up.sha256.clone(),
        content: up.content.clone(),
        created_at: now,
    };
    st.projects[pi].packages[ki].files.push(f.clone());
    if select.is_some() {
        let p = &st.projects[pi];
        Resp::json(201, &st.uploaded_file_json(p, &p.packages[ki], &f))
    } else {
        Resp::message(201, "201 Created")
    }
}

fn download_generic(st: &State, pi: usize, name: &str, version: &str, file: &str) -> Resp {
    if let Err(e) = check_generic_names(name, version, file) {
        return e;
    }
    let p = &st.projects[pi];
    let Some(k) = p.packages.iter().find(|k| k.name == name && k.version == version) else {
        return Resp::not_found("Package");
    };
    match k.files.iter().filter(|f| f.file_name == file).max_by_key(|f| f.id) {
        Some(f) => Resp::raw(200, "application/octet-stream", f.content.clone()).header(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", file.rsplit('/').next().unwrap_or(file)),
        ),
        None => Resp::not_found("Package file"),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers used by the emulator's own (UI-like) mutations

pub(super) fn add_milestone(st: &mut State, project: u64, title: &str) -> u64 {
    let id = st.next_milestone_id();
    let p = st.project_mut(project);
    let iid = p.milestones.len() as u64 + 1;
    p.milestones.push(Milestone {
        id,
        iid,
        title: title.to_string(),
        created_at: Utc::now(),
    });
    id
}

pub(super) fn add_link_by_hand(st: &mut State, project: u64, tag: &str, name: &str, url: &str) -> u64 {
    let id = st.next_link_id();
    let p = st.project_mut(project);
    let r = p
        .releases
        .iter_mut()
        .find(|r| r.tag == tag)
        .unwrap_or_else(|| panic!("emulator: no release {tag} in project {project}"));
    let l = Link {
        id,
        name: name.to_string(),
        url: url.to_string(),
        filepath: None,
        link_type: "other".into(),
        created_at: Utc::now(),
    };
    if let Err(e) = validate_link(r, &l) {
        panic!(
            "emulator: GitLab would refuse this link: {}",
            String::from_utf8_lossy(&e.body)
        );
    }
    r.links.push(l);
    id
}
