//! Routing on the raw path and the `/api/v1` release, attachment and tag endpoints, with the
//! status codes, check order and error texts of Gitea's `routers/api/v1/repo/release*.go` (and
//! Forgejo's `release_attachment.go` where they differ).

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::super::emu_common::{HttpReq, Page, Resp, form_pairs, link, segments};
use super::model::{Attachment, Release, State};
use super::multipart;

#[derive(Debug, Clone, PartialEq)]
enum Cred {
    None,
    Valid(String),
    Invalid(String),
}

// ---------------------------------------------------------------------------------------------
// Error bodies

/// `ctx.APIError`: `{"message","url"}`.
fn err(state: &State, status: u16, message: &str) -> Resp {
    Resp::json(
        status,
        &json!({ "message": message, "url": state.swagger_url() }),
    )
}

/// `ctx.APIErrorNotFound()`.
fn not_found(state: &State) -> Resp {
    Resp::json(
        404,
        &json!({
            "errors": null,
            "message": "The target couldn't be found.",
            "url": state.swagger_url(),
        }),
    )
}

/// `ctx.APIErrorInternal`: production hides the message from non-admins.
fn internal(state: &State) -> Resp {
    err(state, 500, "")
}

// ---------------------------------------------------------------------------------------------
// Request bodies

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bool,
}

const CREATE_PROPS: &[(&str, Ty)] = &[
    ("tag_name", Ty::Str),
    ("target_commitish", Ty::Str),
    ("name", Ty::Str),
    ("body", Ty::Str),
    ("tag_message", Ty::Str),
    ("draft", Ty::Bool),
    ("prerelease", Ty::Bool),
    ("hide_archive_links", Ty::Bool),
];

const EDIT_ATTACHMENT_PROPS: &[(&str, Ty)] =
    &[("name", Ty::Str), ("browser_download_url", Ty::Str)];

/// Decodes a JSON body into the option struct as Gitea's `bind` does: a type mismatch or bad
/// JSON is a 422 `[]: json: ...`.
fn bind(
    state: &State,
    req: &HttpReq,
    go_type: &str,
    props: &[(&str, Ty)],
) -> Result<Map<String, Value>, Resp> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(&req.body).map_err(|_| {
        err(
            state,
            422,
            "[]: invalid character looking for beginning of value",
        )
    })?;
    let Value::Object(m) = v else {
        return Err(err(
            state,
            422,
            &format!(
                "[]: json: cannot unmarshal {} into Go value of type api.{go_type}",
                go_kind(&v)
            ),
        ));
    };
    for (k, ty) in props {
        let Some(v) = m.get(*k) else { continue };
        let ok = match ty {
            Ty::Str => v.is_string() || v.is_null(),
            Ty::Bool => v.is_boolean() || v.is_null(),
        };
        if !ok {
            let want = match ty {
                Ty::Str => "string",
                Ty::Bool => "bool",
            };
            return Err(err(
                state,
                422,
                &format!(
                    "[]: json: cannot unmarshal {} into Go struct field {go_type}.{k} of type {want}",
                    go_kind(v)
                ),
            ));
        }
    }
    Ok(m)
}

fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn s(m: &Map<String, Value>, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn b(m: &Map<String, Value>, k: &str) -> Option<bool> {
    m.get(k).and_then(Value::as_bool)
}

// ---------------------------------------------------------------------------------------------
// Routing

impl State {
    /// `Authorization: token|Bearer <t>`, else `?token=` / `?access_token=`.
    fn credential(&self, req: &HttpReq) -> Cred {
        let token = if let Some(a) = req.header("authorization") {
            match a.trim().split_once(' ') {
                Some((scheme, t))
                    if scheme.eq_ignore_ascii_case("token")
                        || scheme.eq_ignore_ascii_case("bearer") =>
                {
                    t.trim().to_string()
                }
                _ => return Cred::Invalid(a.trim().to_string()),
            }
        } else if let Some(t) = req.q("token").or_else(|| req.q("access_token")) {
            t
        } else {
            return Cred::None;
        };
        if self.tokens.contains(&token) {
            Cred::Valid(token)
        } else {
            Cred::Invalid(token)
        }
    }
}

/// Answers one request; also returns the token it presented (for `echo_token_in_errors`).
pub(super) fn dispatch(state: &mut State, req: &HttpReq) -> (Resp, Option<String>) {
    let path = req.path.clone();
    if let Some(rest) = path.strip_prefix("/api/v1/") {
        let cred = state.credential(req);
        let token = match &cred {
            Cred::Valid(t) | Cred::Invalid(t) => Some(t.clone()),
            Cred::None => None,
        };
        if let Cred::Invalid(_) = cred {
            return (
                err(state, 401, "invalid username, password or token"),
                token,
            );
        }
        return (api(state, req, &cred, rest), token);
    }
    if path == "/api/forgejo/v1/version" && state.forgejo && req.method == "GET" {
        return (
            Resp::json(200, &json!({ "version": state.version() })),
            None,
        );
    }
    (web(state, req), None)
}

fn api(state: &mut State, req: &HttpReq, cred: &Cred, rest: &str) -> Resp {
    let Some(segs) = segments(rest) else {
        return not_found(state);
    };
    let strs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    match (m, strs.as_slice()) {
        ("GET", ["version"]) => {
            return Resp::json(200, &json!({ "version": state.version() }));
        }
        ("GET", ["user"]) => {
            return match cred {
                Cred::None => err(state, 401, "token is required"),
                _ => Resp::json(200, &state.user_json()),
            };
        }
        _ => {}
    }
    let ["repos", owner, name, rest @ ..] = strs.as_slice() else {
        return not_found(state);
    };
    let Some(ri) = state.repo_idx(owner, name) else {
        return not_found(state);
    };
    if *cred == Cred::None {
        // Every emulated repository is private: anonymous requests do not see it.
        return not_found(state);
    }
    let rel_idx = |state: &State, id: &str| -> Option<usize> {
        let id: u64 = id.parse().ok()?;
        state.repos[ri].releases.iter().position(|r| r.id == id)
    };
    match (m, rest) {
        ("GET", []) => Resp::json(200, &state.repo_json(&state.repos[ri])),
        ("GET", ["releases"]) => list_releases(state, ri, req),
        ("POST", ["releases"]) => create_release(state, ri, req),
        ("GET", ["releases", "latest"]) => {
            let repo = &state.repos[ri];
            let latest = state
                .sorted_releases(repo)
                .into_iter()
                .find(|r| !r.draft && !r.prerelease);
            match latest {
                Some(r) => Resp::json(200, &state.release_json(repo, r)),
                None => not_found(state),
            }
        }
        (_, ["releases", "tags", tag]) => {
            let i = state.repos[ri].releases.iter().position(|r| r.tag == *tag);
            match (m, i) {
                ("GET", Some(i)) => {
                    let repo = &state.repos[ri];
                    Resp::json(200, &state.release_json(repo, &repo.releases[i]))
                }
                ("DELETE", Some(i)) => {
                    state.repos[ri].releases.remove(i);
                    Resp::empty(204)
                }
                _ => not_found(state),
            }
        }
        (_, ["releases", id]) => match (m, rel_idx(state, id)) {
            ("GET", Some(i)) => {
                let repo = &state.repos[ri];
                Resp::json(200, &state.release_json(repo, &repo.releases[i]))
            }
            ("PATCH", Some(i)) => edit_release(state, ri, i, req),
            ("DELETE", Some(i)) => {
                state.repos[ri].releases.remove(i);
                Resp::empty(204)
            }
            _ => not_found(state),
        },
        (_, ["releases", id, "assets"]) => match (m, rel_idx(state, id)) {
            ("GET", Some(i)) => {
                let rel = &state.repos[ri].releases[i];
                let items: Vec<Value> = rel
                    .attachments
                    .iter()
                    .map(|a| state.attachment_json(a))
                    .collect();
                Resp::json(200, &Value::Array(items))
            }
            ("POST", Some(i)) => create_attachment(state, ri, i, req),
            _ => not_found(state),
        },
        (_, ["releases", id, "assets", aid]) => {
            let Some(i) = rel_idx(state, id) else {
                return not_found(state);
            };
            let j = aid.parse::<u64>().ok().and_then(|aid| {
                state.repos[ri].releases[i]
                    .attachments
                    .iter()
                    .position(|a| a.id == aid)
            });
            let Some(j) = j else {
                return not_found(state);
            };
            match m {
                "GET" => Resp::json(
                    200,
                    &state.attachment_json(&state.repos[ri].releases[i].attachments[j]),
                ),
                "PATCH" => edit_attachment(state, ri, i, j, req),
                "DELETE" => {
                    state.repos[ri].releases[i].attachments.remove(j);
                    Resp::empty(204)
                }
                _ => not_found(state),
            }
        }
        ("GET", ["tags"]) => {
            let repo = &state.repos[ri];
            let mut tags: Vec<_> = repo.tags.iter().collect();
            tags.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
            let items = tags.iter().map(|t| state.tag_json(repo, t)).collect();
            paginate(state, req, items)
        }
        ("POST", ["tags"]) => create_tag(state, ri, req),
        ("GET", ["tags", tag]) => {
            let repo = &state.repos[ri];
            match repo.tags.iter().find(|t| t.name == *tag) {
                Some(t) => Resp::json(200, &state.tag_json(repo, t)),
                None => not_found(state),
            }
        }
        _ => not_found(state),
    }
}

// ---------------------------------------------------------------------------------------------
// Pagination

/// `page` (1-based; 0 or absent = 1) and `limit` (default 30, at most 50), `X-Total-Count` and a
/// `Link` header (`next`, `last`, `first`, `prev`, joined by `,`) with Go's sorted query.
fn paginate(state: &State, req: &HttpReq, items: Vec<Value>) -> Resp {
    let pairs = form_pairs(&req.query);
    let int = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.trim().parse::<i64>().ok())
            .unwrap_or(0)
    };
    let limit = match int("limit") {
        l if l <= 0 => 30,
        l => (l as usize).min(50),
    };
    let page = int("page").max(1) as usize;
    let p = Page::of(items, page, limit);
    let url = format!("{}{}", state.root, req.path);
    let link_to = |n: usize, rel: &str| {
        let mut q: Vec<(String, String)> =
            pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
        q.push(("page".into(), n.to_string()));
        q.sort_by(|a, b| a.0.cmp(&b.0));
        link(&url, &q, rel)
    };
    let mut links = Vec::new();
    if let Some(n) = p.next() {
        links.push(link_to(n, "next"));
        links.push(link_to(p.total_pages, "last"));
    }
    if let Some(n) = p.prev() {
        links.push(link_to(1, "first"));
        links.push(link_to(n, "prev"));
    }
    let mut r = p
        .json()
        .header("X-Total-Count", p.total.to_string())
        .header("Access-Control-Expose-Headers", "X-Total-Count, Link");
    if !links.is_empty() {
        r = r.header("Link", links.join(","));
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Releases

fn list_releases(state: &State, ri: usize, req: &HttpReq) -> Resp {
    let flag = |k: &str| req.q(k).and_then(|v| v.parse::<bool>().ok());
    let (draft, pre) = (flag("draft"), flag("pre-release"));
    let repo = &state.repos[ri];
    let items = state
        .sorted_releases(repo)
        .into_iter()
        .filter(|r| draft.is_none_or(|d| r.draft == d))
        .filter(|r| pre.is_none_or(|p| r.prerelease == p))
        .map(|r| state.release_json(repo, r))
        .collect();
    paginate(state, req, items)
}

fn target_not_found(state: &State, target: &str) -> Resp {
    err(
        state,
        404,
        &format!("target \"{target}\" not found: object does not exist [id: {target}, rel_path: ]"),
    )
}

/// A note the database refuses (see `State::note_max_bytes`).
fn note_too_long(state: &State, note: &str) -> bool {
    state.note_max_bytes.is_some_and(|max| note.len() > max)
}

fn create_release(state: &mut State, ri: usize, req: &HttpReq) -> Resp {
    let body = match bind(state, req, "CreateReleaseOption", CREATE_PROPS) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tag = s(&body, "tag_name");
    if tag.is_empty() {
        return err(state, 422, "[TagName]: Required");
    }
    if state.repos[ri].releases.iter().any(|r| r.tag == tag) {
        return err(state, 409, "Release is has no Tag");
    }
    let draft = b(&body, "draft").unwrap_or(false);
    let mut target = s(&body, "target_commitish");
    if target.is_empty() {
        target = state.repos[ri].default_branch.clone();
    }
    let message =
        Some(s(&body, "tag_message")).filter(|m| !m.is_empty() && state.create_reads_tag_message());
    if !draft && state.ensure_tag(ri, &tag, &target, message).is_err() {
        return target_not_found(state, &target);
    }
    if note_too_long(state, &s(&body, "body")) {
        return internal(state);
    }
    let id = state.release_ids.next();
    let rel = Release {
        id,
        tag,
        target,
        title: s(&body, "name"),
        note: s(&body, "body"),
        draft,
        prerelease: b(&body, "prerelease").unwrap_or(false),
        created_at: Utc::now(),
        attachments: Vec::new(),
    };
    state.repos[ri].releases.push(rel);
    let repo = &state.repos[ri];
    Resp::json(
        201,
        &state.release_json(repo, repo.releases.last().expect("just pushed")),
    )
}

const CREATE_TAG_PROPS: &[(&str, Ty)] = &[
    ("tag_name", Ty::Str),
    ("target", Ty::Str),
    ("message", Ty::Str),
];

/// `POST /repos/{o}/{r}/tags` (`routers/api/v1/repo/tag.go` `CreateTag`, Gitea 1.15 and later):
/// `tag_name`, `target` (default: the default branch) and `message`; a message makes an
/// annotated tag. 404 for an unknown target, 409 "tag exist" for an existing tag.
fn create_tag(state: &mut State, ri: usize, req: &HttpReq) -> Resp {
    let body = match bind(state, req, "CreateTagOption", CREATE_TAG_PROPS) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tag = s(&body, "tag_name");
    if tag.is_empty() {
        return err(state, 422, "[TagName]: Required");
    }
    if state.repos[ri].tags.iter().any(|t| t.name == tag) {
        return err(state, 409, "tag exist");
    }
    let mut target = s(&body, "target");
    if target.is_empty() {
        target = state.repos[ri].default_branch.clone();
    }
    let message = Some(s(&body, "message")).filter(|m| !m.is_empty());
    if state.ensure_tag(ri, &tag, &target, message).is_err() {
        return err(
            state,
            404,
            &format!("target not found: object does not exist [id: {target}, rel_path: ]"),
        );
    }
    let repo = &state.repos[ri];
    let t = repo.tags.iter().find(|t| t.name == tag).expect("just made");
    Resp::json(201, &state.tag_json(repo, t))
}

fn edit_release(state: &mut State, ri: usize, i: usize, req: &HttpReq) -> Resp {
    let body = match bind(state, req, "EditReleaseOption", CREATE_PROPS) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let old = state.repos[ri].releases[i].clone();
    // Empty strings mean "unchanged": Gitea checks `len(form.X) > 0`.
    let pick = |k: &str, cur: &str| {
        let v = s(&body, k);
        if v.is_empty() { cur.to_string() } else { v }
    };
    let tag = pick("tag_name", &old.tag);
    let target = pick("target_commitish", &old.target);
    let draft = b(&body, "draft").unwrap_or(old.draft);
    if tag != old.tag && state.repos[ri].releases.iter().any(|r| r.tag == tag) {
        return err(
            state,
            409,
            &format!("release tag already exist [tag_name: {tag}]"),
        );
    }
    if !draft && state.ensure_tag(ri, &tag, &target, None).is_err() {
        // EditRelease turns every UpdateRelease failure into an internal error.
        return internal(state);
    }
    if note_too_long(state, &pick("body", &old.note)) {
        return internal(state);
    }
    let rel = &mut state.repos[ri].releases[i];
    rel.title = pick("name", &old.title);
    rel.note = pick("body", &old.note);
    if old.draft && !draft {
        rel.created_at = Utc::now();
    }
    rel.tag = tag;
    rel.target = target;
    rel.draft = draft;
    rel.prerelease = b(&body, "prerelease").unwrap_or(old.prerelease);
    let repo = &state.repos[ri];
    Resp::json(200, &state.release_json(repo, &repo.releases[i]))
}

// ---------------------------------------------------------------------------------------------
// Attachments

fn create_attachment(state: &mut State, ri: usize, i: usize, req: &HttpReq) -> Resp {
    let forgejo = state.external_attachments();
    let content_type = req.header("content-type").unwrap_or("").to_string();
    let is_form = content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data");
    // `ctx.FormString` reads the query, then form fields.
    let mut name = req.q("name").unwrap_or_default();
    let mut external_url = req.q("external_url").unwrap_or_default();
    let mut file: Option<(String, Vec<u8>)> = None;
    if is_form {
        let parts = match multipart::boundary(&content_type)
            .ok_or_else(|| "no multipart boundary param in Content-Type".to_string())
            .and_then(|bd| multipart::parse(&req.body, &bd))
        {
            Ok(p) => p,
            Err(_) => return internal(state),
        };
        for p in parts {
            match (p.name.as_str(), p.filename) {
                ("attachment", Some(f)) if file.is_none() => file = Some((f, p.data)),
                ("name", None) if name.is_empty() => {
                    name = String::from_utf8_lossy(&p.data).into_owned();
                }
                ("external_url", None) if external_url.is_empty() => {
                    external_url = String::from_utf8_lossy(&p.data).into_owned();
                }
                _ => {}
            }
        }
    } else {
        file = Some((String::new(), req.body.clone()));
    }
    let has_external = forgejo && !external_url.is_empty();

    if has_external && file.is_some() {
        return err(
            state,
            400,
            "'attachment' and 'external_url' are mutually exclusive",
        );
    }
    if has_external {
        // Forgejo's `modules/validation/helpers.go`: `IsValidReleaseAssetURL` is `IsValidURL`,
        // which accepts the `http` and `https` schemes only (an `ftp://` link is refused).
        let valid = external_url.starts_with("http://") || external_url.starts_with("https://");
        if !valid {
            return err(
                state,
                400,
                &format!("invalid external URL: '{external_url}'"),
            );
        }
        if name.is_empty() {
            let path = external_url.split_once("://").map_or("", |(_, rest)| rest);
            let (host, path) = path.split_once('/').unwrap_or((path, ""));
            let path = path.split(['?', '#']).next().unwrap_or("");
            name = path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or(host)
                .to_string();
        }
        return push_attachment(state, ri, i, name, Vec::new(), Some(external_url));
    }
    let Some((filename, data)) = file else {
        return if forgejo {
            err(
                state,
                400,
                "One of 'attachment' or 'external_url' is required",
            )
        } else {
            // Gitea: `ctx.Req.FormFile("attachment")` failed → internal error.
            internal(state)
        };
    };
    if name.is_empty() {
        name = filename;
    }
    if name.is_empty() {
        let msg = if forgejo {
            "Missing 'name' parameter"
        } else {
            "Could not determine name of attachment."
        };
        return err(state, 400, msg);
    }
    push_attachment(state, ri, i, name, data, None)
}

fn push_attachment(
    state: &mut State,
    ri: usize,
    i: usize,
    name: String,
    content: Vec<u8>,
    external_url: Option<String>,
) -> Resp {
    let id = state.attachment_ids.next();
    let a = Attachment {
        id,
        uuid: State::uuid_for(id),
        name,
        content,
        external_url,
        created_at: Utc::now(),
    };
    let json = state.attachment_json(&a);
    state.repos[ri].releases[i].attachments.push(a);
    Resp::json(201, &json)
}

fn edit_attachment(state: &mut State, ri: usize, i: usize, j: usize, req: &HttpReq) -> Resp {
    let body = match bind(state, req, "EditAttachmentOptions", EDIT_ATTACHMENT_PROPS) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = s(&body, "name");
    let url = s(&body, "browser_download_url");
    let forgejo = state.external_attachments();
    let a = &state.repos[ri].releases[i].attachments[j];
    if forgejo && !url.is_empty() && a.external_url.is_none() {
        return err(state, 400, "existing attachment is not external");
    }
    let a = &mut state.repos[ri].releases[i].attachments[j];
    if !name.is_empty() {
        a.name = name;
    }
    if forgejo && !url.is_empty() {
        a.external_url = Some(url);
    }
    let json = state.attachment_json(&state.repos[ri].releases[i].attachments[j]);
    Resp::json(201, &json)
}

// ---------------------------------------------------------------------------------------------
// Downloads

/// `/attachments/{uuid}` and `/{o}/{r}/releases/download/{tag}/{name}`: the bytes (external
/// attachments redirect to their URL).
fn web(state: &State, req: &HttpReq) -> Resp {
    let not_found = || Resp::raw(404, "text/plain; charset=utf-8", "Not found.\n");
    let Some(segs) = segments(req.path.trim_start_matches('/')) else {
        return not_found();
    };
    let strs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let all = || {
        state
            .repos
            .iter()
            .flat_map(|r| r.releases.iter().map(move |rel| (r, rel)))
    };
    let found: Option<&Attachment> = match strs.as_slice() {
        ["attachments", uuid] => all()
            .flat_map(|(_, rel)| rel.attachments.iter())
            .find(|a| a.uuid == *uuid),
        [owner, name, "releases", "download", tag, file] => all()
            .filter(|(r, rel)| {
                r.owner.eq_ignore_ascii_case(owner)
                    && r.name.eq_ignore_ascii_case(name)
                    && rel.tag == *tag
            })
            .flat_map(|(_, rel)| rel.attachments.iter())
            .find(|a| a.name == *file),
        _ => None,
    };
    match found {
        Some(a) => match &a.external_url {
            Some(u) => Resp::raw(303, "text/html", "").header("Location", u.clone()),
            None => Resp::raw(200, "application/octet-stream", a.content.clone()),
        },
        None => not_found(),
    }
}
