//! Routing on the raw (still percent-encoded) path and the Releases endpoints of seed 004, with
//! the status codes and GitLab-v3-style error bodies of research/forge-apis.md §2.
//!
//! Assumed where the seed and the research are silent (each is marked "assumed" below):
//! error messages, 409 for a duplicate create, 400 for more than 10 labels, 413 for an
//! attachment above the limit, 409 for a duplicate attachment name, `type` defaulting to
//! `release` on PUT as the seed's table says, and `title` being updatable.

use serde_json::{Map, Value};

use super::super::emu_common::{Page, Resp, page_header, segments};
use super::model::{
    Attachment, DuplicateAttachments, MAX_LABELS, Project, State, Tag, guess_type, looks_like_sha,
    sanitize_attachment_name, sha256_hex, tag_name_ok,
};
use super::multipart::Part;

/// One request, parsed.
#[derive(Debug)]
pub(super) struct Ctx {
    /// `HEAD` is answered as `GET`.
    pub method: String,
    pub raw_path: String,
    /// Query and body parameters merged (body wins).
    pub params: Map<String, Value>,
    /// The token sent (`PRIVATE-TOKEN` header, or `private_token` / `access_token` query).
    pub token: Option<String>,
    /// The parts of a `multipart/form-data` body; `None` for other bodies.
    pub parts: Option<Vec<Part>>,
}

/// Finds the token: the `PRIVATE-TOKEN` header, then the `private_token` and `access_token`
/// query parameters (research §2.2). `Authorization: Bearer` is not documented for 工蜂 and is
/// ignored (a client must not depend on it).
pub(super) fn credential(
    headers: &[(String, String)],
    query: &[(String, String)],
) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("private-token"))
        .map(|(_, v)| v.trim().to_string())
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "private_token" || k == "access_token")
                .map(|(_, v)| v.clone())
        })
}

#[derive(Debug)]
enum Route {
    Releases,
    Release(String),
    Attachments(String),
    Attachment(String, String),
}

fn route(segs: &[String]) -> Option<(String, Route)> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let o = |x: &str| x.to_string();
    Some(match s.as_slice() {
        ["projects", id, "releases"] => (o(id), Route::Releases),
        ["projects", id, "releases", tag] => (o(id), Route::Release(o(tag))),
        ["projects", id, "releases", tag, "attachments"] => (o(id), Route::Attachments(o(tag))),
        ["projects", id, "releases", tag, "attachments", name] => {
            (o(id), Route::Attachment(o(tag), o(name)))
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Error bodies

/// `{"message": "404 <What> Not Found"}` (GitLab v3's `not_found!`).
fn not_found(what: &str) -> Resp {
    Resp::message(404, &format!("404 {what} Not Found"))
}

/// `{"message": "400 (Bad request) \"<attr>\" not given"}` (GitLab v3's `required_attributes!`).
fn not_given(attr: &str) -> Resp {
    Resp::message(400, &format!("400 (Bad request) \"{attr}\" not given"))
}

/// `{"message": "400 (Bad request) \"<attr>\" is invalid"}` (assumed wording).
fn invalid(attr: &str) -> Resp {
    Resp::message(400, &format!("400 (Bad request) \"{attr}\" is invalid"))
}

pub(super) fn unauthorized() -> Resp {
    Resp::message(401, "401 Unauthorized")
}

pub(super) fn dispatch(st: &mut State, ctx: &Ctx) -> Resp {
    let Some((pid, r)) = ctx
        .raw_path
        .strip_prefix("/api/v3/")
        .and_then(segments)
        .as_deref()
        .and_then(route)
    else {
        return Resp::message(404, "404 Not Found");
    };
    match &ctx.token {
        Some(t) if st.private_tokens.contains(t) => {}
        _ => return unauthorized(),
    }
    let Some(pi) = st.project_index(&pid) else {
        return not_found("Project");
    };
    match (r, ctx.method.as_str()) {
        (Route::Releases, "GET") => list(st, pi, ctx),
        (Route::Releases, "POST") => create(st, pi, ctx),
        (Route::Release(tag), "GET") => get(st, pi, &tag),
        (Route::Release(tag), "PUT") => update(st, pi, ctx, &tag),
        (Route::Release(tag), "DELETE") => delete(st, pi, ctx, &tag),
        (Route::Attachments(tag), "POST") => upload(st, pi, ctx, &tag),
        (Route::Attachment(tag, name), "GET") => download(st, pi, &tag, &name),
        (Route::Attachment(tag, name), "DELETE") => delete_attachment(st, pi, &tag, &name),
        _ => Resp::message(405, "405 Method Not Allowed"),
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// A parameter as a string: strings as is, numbers and booleans printed; `null`/absent `None`.
fn p_str(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `labels`: a comma-separated string (the documented form) or a JSON array; trimmed, empty
/// entries dropped, duplicates removed. More than 10 → 400 (assumed status and wording).
fn p_labels(params: &Map<String, Value>) -> Result<Option<Vec<String>>, Resp> {
    let raw: Vec<String> = match params.get("labels") {
        None => return Ok(None),
        Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(_) => return Err(invalid("labels")),
    };
    let mut out: Vec<String> = Vec::new();
    for l in raw.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if !out.iter().any(|o| o == l) {
            out.push(l.to_string());
        }
    }
    if out.len() > MAX_LABELS {
        return Err(Resp::message(
            400,
            &format!(
                "400 (Bad request) \"labels\" is invalid: at most {MAX_LABELS} labels are allowed"
            ),
        ));
    }
    Ok(Some(out))
}

/// `type` on create/update: `release`, or `none` / a blank string for a plain tag (the seed
/// says `none`, `PyTgit`'s copy of the docs says `" "`). Absent → `release` (both tables say
/// "默认release"). Anything else → 400 (assumed).
fn p_type(params: &Map<String, Value>) -> Result<bool, Resp> {
    match p_str(params, "type") {
        None => Ok(true),
        Some(t) if t == "release" => Ok(true),
        Some(t) if t == "none" || t.trim().is_empty() => Ok(false),
        Some(_) => Err(invalid("type")),
    }
}

fn p_int(params: &Map<String, Value>, key: &str) -> Result<Option<i64>, Resp> {
    match p_str(params, key) {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(|_| invalid(key)),
    }
}

// ---------------------------------------------------------------------------------------------
// Releases

fn find_tag<'a>(p: &'a Project, tag: &str) -> Option<&'a Tag> {
    p.tags.iter().find(|t| t.name == tag)
}

fn tag_index(p: &Project, tag: &str) -> Option<usize> {
    p.tags.iter().position(|t| t.name == tag)
}

fn list(st: &State, pi: usize, ctx: &Ctx) -> Resp {
    let params = &ctx.params;
    let order_by = p_str(params, "order_by").unwrap_or_else(|| "created_at".into());
    if !["created_at", "name"].contains(&order_by.as_str()) {
        return invalid("order_by");
    }
    let sort = p_str(params, "sort").unwrap_or_else(|| "desc".into());
    if !["asc", "desc"].contains(&sort.as_str()) {
        return invalid("sort");
    }
    let kind = p_str(params, "type").unwrap_or_else(|| "release".into());
    if !["release", "none", "all"].contains(&kind.as_str()) {
        return invalid("type");
    }
    let labels = match p_labels(params) {
        Ok(l) => l.unwrap_or_default(),
        Err(e) => return e,
    };
    let author = match p_int(params, "author_id") {
        Ok(a) => a,
        Err(e) => return e,
    };
    let p = &st.projects[pi];
    let items: Vec<Value> = State::sorted_tags(p, &order_by, sort == "asc")
        .into_iter()
        .filter(|t| match kind.as_str() {
            "release" => t.is_release,
            "none" => !t.is_release,
            _ => true,
        })
        // Assumed: a release matches when it has every label asked for.
        .filter(|t| labels.iter().all(|l| t.labels.contains(l)))
        .filter(|t| author.is_none_or(|a| t.author_id.map(|x| x as i64) == Some(a)))
        .map(|t| st.release_json(p, t))
        .collect();
    paginate(params, items)
}

/// Offset pagination: `page` (default 1), `per_page` (default 20, at most 100; larger values are
/// clamped, values below 1 fall back to the defaults — assumed) and the `X-*` headers of
/// research §2.2 (no `Link` header). `X-Next-Page`/`X-Prev-Page` are empty when there is none.
fn paginate(params: &Map<String, Value>, items: Vec<Value>) -> Resp {
    let page = match p_int(params, "page") {
        Ok(p) => p.filter(|p| *p > 0).unwrap_or(1) as usize,
        Err(e) => return e,
    };
    let per_page = match p_int(params, "per_page") {
        Ok(p) => (p.filter(|p| *p > 0).unwrap_or(20) as usize).min(100),
        Err(e) => return e,
    };
    let p = Page::of(items, page, per_page);
    p.json()
        .header("X-Total", p.total.to_string())
        .header("X-Total-Pages", p.total_pages.to_string())
        .header("X-Per-Page", per_page.to_string())
        .header("X-Page", page.to_string())
        .header("X-Next-Page", page_header(p.next()))
        .header("X-Prev-Page", page_header(p.prev()))
}

/// Answers for releases and plain tags alike (the seed's note); `type` tells them apart.
fn get(st: &State, pi: usize, tag: &str) -> Resp {
    let p = &st.projects[pi];
    match find_tag(p, tag) {
        Some(t) => Resp::json(200, &st.release_json(p, t)),
        None => not_found("Tag"),
    }
}

/// Resolves `start_point` (a tag, a branch or a commit id) to a commit id.
fn resolve_ref(p: &Project, r: &str) -> Option<String> {
    if let Some(t) = find_tag(p, r) {
        return Some(t.sha.clone());
    }
    if let Some((_, sha)) = p.branches.iter().find(|(b, _)| b == r) {
        return Some(sha.clone());
    }
    looks_like_sha(r).then(|| r.to_ascii_lowercase())
}

/// `POST /projects/:id/releases`. On an existing plain tag it promotes the tag (`tag_message` and
/// `start_point` are then ignored, as the seed says for `tag_message`); on an existing release, or
/// with `type=none` on an existing tag, it answers 409 (assumed; research: "409/422").
/// For a missing tag it creates one at `start_point`; without `start_point` → 400 (GitLab v3's
/// `required_attributes!` wording; the seed lists `start_point` without "可选").
fn create(st: &mut State, pi: usize, ctx: &Ctx) -> Resp {
    let params = &ctx.params;
    let Some(tag) = p_str(params, "tag").filter(|t| !t.is_empty()) else {
        return not_given("tag");
    };
    let labels = match p_labels(params) {
        Ok(l) => l.unwrap_or_default(),
        Err(e) => return e,
    };
    let is_release = match p_type(params) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let existing = tag_index(&st.projects[pi], &tag);
    if let Some(i) = existing {
        let t = &st.projects[pi].tags[i];
        if t.is_release {
            return Resp::message(409, "Release already exists");
        }
        if !is_release {
            return Resp::message(409, &format!("Tag {tag} already exists"));
        }
    }
    let i = if let Some(i) = existing {
        i
    } else {
        let Some(start) = p_str(params, "start_point").filter(|s| !s.trim().is_empty()) else {
            return not_given("start_point");
        };
        if !tag_name_ok(&tag) {
            return Resp::message(400, "Tag name invalid");
        }
        let Some(sha) = resolve_ref(&st.projects[pi], &start) else {
            return Resp::message(400, &format!("Target {start} is invalid"));
        };
        let message = p_str(params, "tag_message").filter(|m| !m.trim().is_empty());
        let t = st.new_tag(&tag, &sha, message);
        st.projects[pi].tags.push(t);
        st.projects[pi].tags.len() - 1
    };
    let now = st.tick();
    let t = &mut st.projects[pi].tags[i];
    t.is_release = is_release;
    t.title = p_str(params, "title")
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| tag.clone());
    t.description = p_str(params, "description");
    t.labels = labels;
    t.author_id = Some(1);
    if existing.is_some() {
        t.created_at = now;
    }
    let p = &st.projects[pi];
    Resp::json(201, &st.release_json(p, &p.tags[i]))
}

/// `PUT /projects/:id/releases/:tag_name`: works on plain tags too; `type` defaults to
/// `release` (so a PUT promotes a plain tag); `title`, `description` and `labels` change only
/// when given (`title` is assumed to be accepted, research §8).
fn update(st: &mut State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
    let params = &ctx.params;
    let Some(i) = tag_index(&st.projects[pi], tag) else {
        return not_found("Tag");
    };
    let labels = match p_labels(params) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let is_release = match p_type(params) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let now = st.tick();
    let t = &mut st.projects[pi].tags[i];
    if is_release && !t.is_release {
        t.created_at = now;
        t.author_id = Some(1);
    }
    t.is_release = is_release;
    if let Some(title) = p_str(params, "title").filter(|_| st.title_on_put) {
        t.title = if title.trim().is_empty() {
            t.name.clone()
        } else {
            title
        };
    }
    if params.contains_key("description") {
        t.description = p_str(params, "description");
    }
    if let Some(l) = labels {
        t.labels = l;
    }
    t.updated_at = Some(now);
    let p = &st.projects[pi];
    Resp::json(200, &st.release_json(p, &p.tags[i]))
}

/// `DELETE /projects/:id/releases/:tag_name[?delete_tag=true]`: only for releases (the seed's
/// note excludes DELETE from "also works on tags"; a plain tag → 404, assumed). Without
/// `delete_tag` the row becomes a plain tag again: labels, attachments and description go
/// away. Answers 200 with an empty body (the seed: "200或相关状态码").
fn delete(st: &mut State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
    let Some(i) = tag_index(&st.projects[pi], tag) else {
        return not_found("Tag");
    };
    if !st.projects[pi].tags[i].is_release {
        return not_found("Release");
    }
    let delete_tag = match p_str(&ctx.params, "delete_tag").as_deref() {
        None | Some("false" | "0" | "") => false,
        Some("true" | "1") => true,
        Some(_) => return invalid("delete_tag"),
    };
    if delete_tag {
        st.projects[pi].tags.remove(i);
    } else {
        let now = st.tick();
        let t = &mut st.projects[pi].tags[i];
        t.is_release = false;
        t.title = t.name.clone();
        t.description = None;
        t.labels.clear();
        t.attachments.clear();
        t.author_id = None;
        t.updated_at = Some(now);
    }
    Resp::empty(200)
}

// ---------------------------------------------------------------------------------------------
// Attachments

/// `POST .../releases/:tag_name/attachments` with one multipart part `file`. The stored name is
/// [`sanitize_attachment_name`] of the part's file name; the answer (201) gives it as `name`.
/// Above the size limit → 413 (assumed); a name the tag already has → 409 (assumed) unless the
/// emulator is set to replace.
fn upload(st: &mut State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
    let Some(i) = tag_index(&st.projects[pi], tag) else {
        return not_found("Tag");
    };
    let Some(part) = ctx
        .parts
        .as_ref()
        .and_then(|ps| ps.iter().find(|p| p.name == "file"))
    else {
        return not_given("file");
    };
    let Some(raw_name) = part.filename.as_deref().filter(|n| !n.is_empty()) else {
        return not_given("file");
    };
    let name = sanitize_attachment_name(raw_name);
    if name.chars().all(|c| c == '.') {
        return invalid("file");
    }
    let size = part.data.len() as u64;
    if size > st.max_attachment_size {
        return Resp::message(
            413,
            &format!(
                "413 Request Entity Too Large: the attachment exceeds {} bytes",
                st.max_attachment_size
            ),
        );
    }
    if st.projects[pi].tags[i]
        .attachments
        .iter()
        .any(|a| a.name == name)
        && st.duplicates == DuplicateAttachments::Reject
    {
        return Resp::message(409, &format!("Attachment {name} already exists"));
    }
    let a = Attachment {
        id: st.attachment_ids.next(),
        content_type: guess_type(&name, part.content_type.as_deref()),
        size,
        sha256: sha256_hex(&part.data),
        content: part.data.clone(),
        created_at: st.tick(),
        name: name.clone(),
    };
    let json = State::attachment_json(&a);
    let t = &mut st.projects[pi].tags[i];
    t.attachments.retain(|x| x.name != name);
    t.attachments.push(a);
    Resp::json(201, &json)
}

fn find_attachment<'a>(p: &'a Project, tag: &str, name: &str) -> Result<&'a Attachment, Resp> {
    let t = find_tag(p, tag).ok_or_else(|| not_found("Tag"))?;
    t.attachments
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| not_found("Attachment"))
}

/// The file itself, with its type and `Content-Disposition: attachment`.
fn download(st: &State, pi: usize, tag: &str, name: &str) -> Resp {
    match find_attachment(&st.projects[pi], tag, name) {
        Ok(a) => Resp::raw(200, &a.content_type, a.content.clone()).header(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", a.name),
        ),
        Err(e) => e,
    }
}

/// 200 with an empty body.
fn delete_attachment(st: &mut State, pi: usize, tag: &str, name: &str) -> Resp {
    if let Err(e) = find_attachment(&st.projects[pi], tag, name) {
        return e;
    }
    let t = st.projects[pi]
        .tags
        .iter_mut()
        .find(|t| t.name == tag)
        .expect("tag");
    t.attachments.retain(|a| a.name != name);
    Resp::empty(200)
}

/// Adds an attachment as a human would in the web UI (no request, no size limit); returns the
/// stored name.
pub(super) fn add_attachment_by_hand(
    st: &mut State,
    project: u64,
    tag: &str,
    name: &str,
    content: &[u8],
) -> String {
    let stored = sanitize_attachment_name(name);
    let a = Attachment {
        id: st.attachment_ids.next(),
        content_type: guess_type(&stored, None),
        size: content.len() as u64,
        sha256: sha256_hex(content),
        content: content.to_vec(),
        created_at: st.tick(),
        name: stored.clone(),
    };
    let t = st
        .project_mut(project)
        .tags
        .iter_mut()
        .find(|t| t.name == tag)
        .unwrap_or_else(|| panic!("emulator: no tag {tag}"));
    t.attachments.retain(|x| x.name != stored);
    t.attachments.push(a);
    stored
}
