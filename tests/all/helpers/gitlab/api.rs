//! Routing on the raw (still percent-encoded) path and the endpoint handlers, with GitLab's
//! status codes, error bodies and check order (research: gitlab-server-behaviour.md §1).

use chrono::Utc;
use serde_json::{Map, Value, json};

mod packages;
mod releases;

use self::packages::*;
use self::releases::*;
use super::http::{Resp, dec};
use super::model::{Link, Milestone, State};

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
        if let Some(t) = a
            .strip_prefix("Bearer ")
            .or_else(|| a.strip_prefix("bearer "))
        {
            return classify(t.trim().to_string());
        }
        if let Some(b) = a
            .strip_prefix("Basic ")
            .or_else(|| a.strip_prefix("basic "))
            && let Some(raw) = super::http::base64_decode(b)
            && let Some((_, pw)) = String::from_utf8_lossy(&raw).split_once(':')
        {
            return classify(pw.to_string());
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
    Milestones,
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
        ["projects", id, "releases", "permalink", "latest", rest @ ..] => (
            Some(o(id)),
            Route::Latest(rest.iter().map(|x| o(x)).collect()),
        ),
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
        ["projects", id, "milestones"] => (Some(o(id)), Route::Milestones),
        ["projects", id, "repository", "tags", tag] => (Some(o(id)), Route::Tag(o(tag))),
        ["projects", id, "packages"] => (Some(o(id)), Route::Packages),
        [
            "projects",
            id,
            "packages",
            "generic",
            name,
            version,
            file @ ..,
        ] if !file.is_empty() => (
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

/// Whether a route accepts `JOB-TOKEN` (`job_token_allowed: true`) on a server of `version`.
/// The milestones API has no `job_token_allowed` (`lib/api/milestone_responses.rb`); the
/// project-level package files API gained it in 16.0 (MR !116059).
fn job_token_allowed(r: &Route, method: &str, version: (u32, u32)) -> bool {
    match r {
        Route::Version | Route::User | Route::Project | Route::Tag(_) | Route::Milestones => false,
        Route::Tags => method == "GET",
        Route::PackageFiles(_) | Route::PackageFile(..) => version >= (16, 0),
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
            if !job_token_allowed(&r, &ctx.method, st.version) {
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
                &json!({ "version": format!("{}.{}.0-ee", st.version.0, st.version.1), "revision": "0123456789a", "kas": { "enabled": false }, "enterprise": true }),
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
        (Route::Milestones, "GET") => list_milestones(st, pi, ctx),
        (Route::Packages, "GET") => list_packages(st, pi, ctx),
        (Route::Package(id), "GET" | "DELETE") => package(st, pi, ctx, &id),
        (Route::PackageFiles(id), "GET") => list_package_files(st, pi, ctx, &id),
        (Route::PackageFile(id, fid), "DELETE") => delete_package_file(st, pi, &id, &fid),
        (Route::Generic(n, v, f), "PUT") => upload_generic(st, pi, ctx, &n, &v, &f),
        (Route::Generic(n, v, f), "GET") => download_generic(st, pi, &n, &v, &f),
        _ => not_allowed(),
    }
}

/// `GET /projects/:id/milestones`: `title` is an exact match, `search` a substring;
/// `include_ancestors` adds group milestones (the emulator has none).
fn list_milestones(st: &State, pi: usize, ctx: &Ctx) -> Resp {
    let p = &st.projects[pi];
    let title = super::http::p_str(&ctx.params, "title");
    let search = super::http::p_str(&ctx.params, "search");
    let items = p
        .milestones
        .iter()
        .filter(|m| title.as_ref().is_none_or(|t| &m.title == t))
        .filter(|m| search.as_ref().is_none_or(|s| m.title.contains(s.as_str())))
        .map(|m| st.milestone_json(p, m))
        .collect();
    super::http::paginate(&ctx.params, &request_url(st, ctx), &ctx.query_pairs, items)
}

pub(super) fn request_url(st: &State, ctx: &Ctx) -> String {
    format!("{}{}", st.base_url, ctx.raw_path)
}

// ---------------------------------------------------------------------------------------------
// Helpers used by the emulator's own (UI-like) mutations

pub(super) fn add_milestone(st: &mut State, project: u64, title: &str) -> u64 {
    let id = st.ids.milestone.next();
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

pub(super) fn add_link_by_hand(
    st: &mut State,
    project: u64,
    tag: &str,
    name: &str,
    url: &str,
) -> u64 {
    let id = st.ids.link.next();
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
