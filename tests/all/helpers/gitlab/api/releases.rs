//! Releases and release links endpoints.

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::super::http::{Resp, enc, p_bool, p_enum, p_list, p_required, p_str, paginate};
use super::super::model::{
    LINK_TYPES, Link, Project, Release, State, Tag, full_message, link_errors, looks_like_sha,
    parse_time, sha256_hex, tag_name_ok,
};
use super::{Ctx, request_url};

// ---------------------------------------------------------------------------------------------
// Releases

pub(super) fn list_releases(st: &State, pi: usize, ctx: &Ctx) -> Resp {
    let order_by = match p_enum(
        &ctx.params,
        "order_by",
        &["released_at", "created_at"],
        "released_at",
    ) {
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

pub(super) fn get_release(st: &State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
    let p = &st.projects[pi];
    match p.releases.iter().find(|r| r.tag == tag) {
        Some(r) => Resp::json(
            200,
            &st.release_json(p, r, p_bool(&ctx.params, "include_html_description")),
        ),
        None => Resp::message(404, "404 Not Found"),
    }
}

pub(super) fn latest(st: &State, pi: usize, ctx: &Ctx, suffix: &[String]) -> Resp {
    let p = &st.projects[pi];
    let Some(r) = State::sorted_releases(p, "released_at", false)
        .into_iter()
        .next()
    else {
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

pub(super) fn parse_released_at(
    params: &Map<String, Value>,
) -> Result<Option<chrono::DateTime<Utc>>, Resp> {
    match p_str(params, "released_at") {
        None => Ok(None),
        Some(s) => parse_time(&s)
            .map(Some)
            .ok_or_else(|| Resp::error(400, "released_at is invalid")),
    }
}

/// `Milestone(s) not found: a, b` (400) or the milestone ids.
pub(super) fn resolve_milestones(p: &Project, titles: &[String]) -> Result<Vec<u64>, Resp> {
    let missing: Vec<&str> = titles
        .iter()
        .filter(|t| !p.milestones.iter().any(|m| &m.title == *t))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Resp::message(
            400,
            &format!("Milestone(s) not found: {}", missing.join(", ")),
        ));
    }
    Ok(titles
        .iter()
        .filter_map(|t| p.milestones.iter().find(|m| &m.title == t).map(|m| m.id))
        .collect())
}

/// Resolves a `ref` (tag, branch, or commit id) to a commit id.
pub(super) fn resolve_ref(p: &Project, r: &str) -> Option<String> {
    if let Some(t) = p.tags.iter().find(|t| t.name == r) {
        return Some(t.sha.clone());
    }
    if let Some((_, sha)) = p.branches.iter().find(|(b, _)| b == r) {
        return Some(sha.clone());
    }
    looks_like_sha(r).then(|| r.to_ascii_lowercase())
}

/// `Tags::CreateService`: creates a (lightweight, or annotated with a message) tag.
pub(super) fn create_tag(
    p: &mut Project,
    name: &str,
    r: &str,
    message: Option<String>,
) -> Result<Tag, Resp> {
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

pub(super) fn create_release(st: &mut State, pi: usize, ctx: &Ctx) -> Resp {
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
        if let Err(e) = create_tag(
            &mut st.projects[pi],
            &tag_name,
            &r,
            p_str(params, "tag_message"),
        ) {
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
            .filter(|_| st.direct_asset_path_param)
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
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > st.description_max)
    {
        errors.push(format!(
            "Description is too long (maximum is {} characters)",
            st.description_max
        ));
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
        l.id = st.ids.link.next();
    }
    let released_at = released_at.unwrap_or(now);
    // Upcoming and historical releases collect no evidence.
    let evidence = (released_at == now).then(|| {
        let id = st.ids.evidence.next();
        (
            id,
            sha256_hex(format!("evidence {tag_name} {id}").as_bytes()),
            now,
        )
    });
    let release = Release {
        id: st.ids.release.next(),
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
    let (p, r) = (
        &st.projects[pi],
        st.projects[pi].releases.last().expect("pushed"),
    );
    Resp::json(201, &st.release_json(p, r, false))
}

pub(super) fn update_release(st: &mut State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
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
    let declared = [
        "name",
        "description",
        "released_at",
        "milestones",
        "milestone_ids",
    ];
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
    if let Some(Some(d)) = &description
        && d.chars().count() > st.description_max
    {
        return Resp::json(
            400,
            &json!({ "message": { "description": [format!("is too long (maximum is {} characters)", st.description_max)] } }),
        );
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

pub(super) fn delete_release(st: &mut State, pi: usize, tag: &str) -> Resp {
    let Some(ri) = st.projects[pi].releases.iter().position(|r| r.tag == tag) else {
        return Resp::forbidden();
    };
    let p = &st.projects[pi];
    let body = st.release_json(p, &p.releases[ri], false);
    st.projects[pi].releases.remove(ri);
    Resp::json(200, &body)
}

pub(super) fn download(st: &State, pi: usize, tag: &str, fp: &str) -> Resp {
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

pub(super) fn release_index(st: &State, pi: usize, tag: &str) -> Result<usize, Resp> {
    st.projects[pi]
        .releases
        .iter()
        .position(|r| r.tag == tag)
        .ok_or_else(|| Resp::message(404, "404 Not found")) // find_by_tag!
}

pub(super) fn list_links(st: &State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
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

/// `direct_asset_path || filepath` when either was sent; `Some(None)` clears it (`null` or
/// `""`). `None`: neither key was sent, and a link update keeps the old path, as GitLab's
/// `Releases::Links::Params#allowed_params` (`app/services/releases/links/params.rb`) sets
/// `filepath` only `if provided_filepath?`. Without `direct_asset_path` support
/// (`State::direct_asset_path_param`), only `filepath` counts.
pub(super) fn filepath_param(
    params: &Map<String, Value>,
    direct_asset_path: bool,
) -> Option<Option<String>> {
    let new_key = direct_asset_path && params.contains_key("direct_asset_path");
    if !new_key && !params.contains_key("filepath") {
        return None;
    }
    Some(
        p_str(params, "direct_asset_path")
            .filter(|_| direct_asset_path)
            .or_else(|| p_str(params, "filepath"))
            .filter(|f| !f.is_empty()),
    )
}

pub(super) fn validate_link(r: &Release, l: &Link) -> Result<(), Resp> {
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

pub(super) fn create_link(st: &mut State, pi: usize, ctx: &Ctx, tag: &str) -> Resp {
    let params = &ctx.params;
    if let Err(e) = p_required(params, &["name", "url"]) {
        return e;
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
        filepath: filepath_param(params, st.direct_asset_path_param).flatten(),
        link_type,
        created_at: Utc::now(),
    };
    if let Err(e) = validate_link(&st.projects[pi].releases[ri], &link) {
        return e;
    }
    link.id = st.ids.link.next();
    st.projects[pi].releases[ri].links.push(link.clone());
    Resp::json(201, &st.link_json(&st.projects[pi], tag, &link))
}

pub(super) fn link_by_id(st: &mut State, pi: usize, ctx: &Ctx, tag: &str, lid: &str) -> Resp {
    let params = &ctx.params;
    let Ok(lid) = lid.parse::<u64>() else {
        return Resp::error(400, "link_id is invalid");
    };
    let mut link_type = None;
    if ctx.method == "PUT" {
        if p_str(params, "name").is_none() && p_str(params, "url").is_none() {
            return Resp::error(
                400,
                "name, url are missing, at least one parameter must be provided",
            );
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
    let Some(li) = st.projects[pi].releases[ri]
        .links
        .iter()
        .position(|l| l.id == lid)
    else {
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
            if let Some(fp) = filepath_param(params, st.direct_asset_path_param) {
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
