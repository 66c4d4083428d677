//! Release assets: the upload host (`POST {upload_url}?name=&label=` with a raw body), the asset
//! endpoints of the API, and the download URLs.

use chrono::Utc;
use serde_json::json;

use super::super::super::emu_common::{Resp, segments};
use super::super::model::{Asset, State, sanitize_asset_name, sha256_hex};
use super::{
    Cred, DOC_ASSET, DOC_ASSET_DELETE, DOC_ASSET_UPDATE, HttpReq, Ty, check_schema, gh_error,
    not_found, parse_body, s, upload_error, upload_validation, validation_failed,
};

const ASSET_PROPS: &[(&str, Ty)] = &[("name", Ty::Str), ("label", Ty::Str), ("state", Ty::Str)];

/// `(repo index, release index)` of `/repos/{o}/{r}/releases/{id}/assets` on the upload host.
fn upload_target(state: &State, rest: &str) -> Option<(usize, usize)> {
    let segs = segments(rest.trim_start_matches('/'))?;
    let strs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let ["repos", owner, name, "releases", id, "assets"] = strs.as_slice() else {
        return None;
    };
    let ri = state.repo_idx(owner, name)?;
    let id: u64 = id.parse().ok()?;
    let i = state.repos[ri].releases.iter().position(|r| r.id == id)?;
    Some((ri, i))
}

/// `POST /repos/{o}/{r}/releases/{id}/assets?name=&label=` on the upload host.
pub(crate) fn upload(state: &mut State, req: &HttpReq, cred: &Cred, rest: &str) -> Resp {
    if req.method != "POST" {
        return upload_error(state, 404, "Not Found");
    }
    // The upload front end wants the length up front: a chunked body has none.
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = req.header("content-length").map_or("", str::trim);
    if chunked || length.parse::<u64>().is_err() {
        return upload_error(state, 400, &format!("Bad Content-Length: {length}"));
    }
    let Some((ri, i)) = upload_target(state, rest) else {
        return upload_error(state, 404, "Not Found");
    };
    match cred {
        Cred::None => return upload_error(state, 404, "Not Found"),
        Cred::Read(_) => {
            return upload_error(state, 403, "Resource not accessible by integration");
        }
        _ => {}
    }
    let content_type = req.header("content-type").unwrap_or("").trim().to_string();
    let raw_name = req.q("name").unwrap_or_default();
    let missing = |field: &str| {
        upload_validation(
            state,
            vec![json!({ "resource": "ReleaseAsset", "code": "missing_field", "field": field })],
        )
    };
    if raw_name.is_empty() {
        return missing("name");
    }
    if content_type.is_empty() {
        return missing("content_type");
    }
    if state.repos[ri].releases[i].immutable {
        return upload_error(state, 422, "Cannot upload assets to an immutable release.");
    }
    let name = sanitize_asset_name(&raw_name);
    if name.is_empty() {
        return missing("name");
    }
    if state.repos[ri].releases[i]
        .assets
        .iter()
        .any(|a| a.name == name)
    {
        return upload_validation(
            state,
            vec![json!({ "resource": "ReleaseAsset", "code": "already_exists", "field": "name" })],
        );
    }
    let id = state.asset_ids.next();
    let now = Utc::now();
    let asset = Asset {
        id,
        name,
        label: req.q("label").filter(|l| !l.is_empty()),
        state: "uploaded".into(),
        content_type,
        content: req.body.clone(),
        digest: Some(format!(
            "sha256:{}",
            req.sha256.clone().unwrap_or_else(|| sha256_hex(&req.body))
        )),
        created_at: now,
        updated_at: now,
    };
    let rel = &mut state.repos[ri].releases[i];
    rel.assets.push(asset);
    let repo = &state.repos[ri];
    let rel = &repo.releases[i];
    Resp::json(
        201,
        &state.asset_json(repo, rel, rel.assets.last().expect("just pushed")),
    )
}

/// What an upstream failure during an upload leaves behind: an empty asset in state `starter`.
pub(crate) fn upload_starter(state: &mut State, req: &HttpReq) {
    let (_, rest) = state.split_host(&req.path);
    let Some((ri, i)) = upload_target(state, rest) else {
        return;
    };
    let name = sanitize_asset_name(&req.q("name").unwrap_or_default());
    if name.is_empty()
        || state.repos[ri].releases[i].immutable
        || state.repos[ri].releases[i]
            .assets
            .iter()
            .any(|a| a.name == name)
    {
        return;
    }
    let id = state.asset_ids.next();
    let now = Utc::now();
    state.repos[ri].releases[i].assets.push(Asset {
        id,
        name,
        label: None,
        state: "starter".into(),
        content_type: req
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_string(),
        content: Vec::new(),
        digest: None,
        created_at: now,
        updated_at: now,
    });
}

/// `(release index, asset index)` of an asset id in a repository; drafts' assets only with push
/// access.
fn find_asset(state: &State, ri: usize, id: &str, push: bool) -> Option<(usize, usize)> {
    let id: u64 = id.parse().ok()?;
    state.repos[ri]
        .releases
        .iter()
        .enumerate()
        .filter(|(_, r)| push || !r.draft)
        .find_map(|(i, r)| r.assets.iter().position(|a| a.id == id).map(|j| (i, j)))
}

/// `GET /releases/assets/{id}`: the JSON, or with `Accept: application/octet-stream` a 302 to
/// the content.
pub(crate) fn get_asset(state: &State, ri: usize, id: &str, req: &HttpReq, push: bool) -> Resp {
    let Some((i, j)) = find_asset(state, ri, id, push) else {
        return not_found(DOC_ASSET);
    };
    let repo = &state.repos[ri];
    let rel = &repo.releases[i];
    let a = &rel.assets[j];
    let wants_octets = req
        .header("accept")
        .is_some_and(|v| v.contains("application/octet-stream"));
    if wants_octets {
        let location = format!(
            "{}/_objects/{}?sig={}",
            state.root,
            a.id,
            &sha256_hex(&a.content)[..16]
        );
        return Resp::raw(302, "text/html", "").header("Location", location);
    }
    Resp::json(200, &state.asset_json(repo, rel, a))
}

fn immutable_refusal(doc: &str) -> Resp {
    gh_error(422, "Cannot modify assets of an immutable release.", doc)
}

pub(crate) fn update_asset(state: &mut State, ri: usize, id: &str, req: &HttpReq) -> Resp {
    let doc = DOC_ASSET_UPDATE;
    let Some((i, j)) = find_asset(state, ri, id, true) else {
        return not_found(doc);
    };
    let body = match parse_body(req, doc) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(r) = check_schema(&body, ASSET_PROPS, &[], doc) {
        return r;
    }
    if state.repos[ri].releases[i].immutable {
        return immutable_refusal(doc);
    }
    let rel = &mut state.repos[ri].releases[i];
    if let Some(n) = s(&body, "name") {
        let n = sanitize_asset_name(&n);
        if rel
            .assets
            .iter()
            .enumerate()
            .any(|(k, a)| k != j && a.name == n)
        {
            return validation_failed(
                vec![
                    json!({ "resource": "ReleaseAsset", "code": "already_exists", "field": "name" }),
                ],
                doc,
            );
        }
        if !n.is_empty() {
            rel.assets[j].name = n;
        }
    }
    if let Some(l) = s(&body, "label") {
        rel.assets[j].label = Some(l);
    }
    if let Some(st) = s(&body, "state") {
        rel.assets[j].state = st;
    }
    rel.assets[j].updated_at = Utc::now();
    let repo = &state.repos[ri];
    let rel = &repo.releases[i];
    Resp::json(200, &state.asset_json(repo, rel, &rel.assets[j]))
}

pub(crate) fn delete_asset(state: &mut State, ri: usize, id: &str) -> Resp {
    let doc = DOC_ASSET_DELETE;
    let Some((i, j)) = find_asset(state, ri, id, true) else {
        return not_found(doc);
    };
    if state.repos[ri].releases[i].immutable {
        return immutable_refusal(doc);
    }
    state.repos[ri].releases[i].assets.remove(j);
    Resp::empty(204)
}

/// Downloads: `/{o}/{r}/releases/download/{tag}/{name}` redirects to `/_objects/{id}`, which
/// serves the bytes (no auth, as a signed object URL).
pub(crate) fn web(state: &State, req: &HttpReq) -> Resp {
    let not_found = || Resp::raw(404, "text/plain", "Not Found");
    let Some(segs) = segments(req.path.trim_start_matches('/')) else {
        return not_found();
    };
    let strs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let all_assets = || {
        state
            .repos
            .iter()
            .flat_map(|r| r.releases.iter().flat_map(|rel| rel.assets.iter()))
    };
    match strs.as_slice() {
        ["_objects", id] => {
            let Ok(id) = id.parse::<u64>() else {
                return not_found();
            };
            match all_assets().find(|a| a.id == id) {
                Some(a) => Resp::raw(200, "application/octet-stream", a.content.clone()),
                None => not_found(),
            }
        }
        [owner, name, "releases", "download", tag @ .., file] if !tag.is_empty() => {
            let tag = tag.join("/");
            let found = state.repo_idx(owner, name).and_then(|ri| {
                state.repos[ri]
                    .releases
                    .iter()
                    .filter(|r| r.url_tag() == tag)
                    .find_map(|r| r.assets.iter().find(|a| a.name == *file))
            });
            match found {
                Some(a) => Resp::raw(302, "text/html", "")
                    .header("Location", format!("{}/_objects/{}", state.root, a.id)),
                None => not_found(),
            }
        }
        _ => not_found(),
    }
}
