//! Tags and packages (generic packages and the Packages API) endpoints.

use chrono::Utc;

use super::super::http::{Resp, p_enum, p_required, p_str, paginate};
use super::super::model::{
    Package, PackageFile, Project, Role, State, Tag, package_name_ok, package_version_ok,
};
use super::releases::create_tag;
use super::{Ctx, request_url};

// ---------------------------------------------------------------------------------------------
// Tags

pub(super) fn list_tags(st: &State, pi: usize, ctx: &Ctx) -> Resp {
    let order_by = match p_enum(
        &ctx.params,
        "order_by",
        &["updated", "name", "version"],
        "updated",
    ) {
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

pub(super) fn create_tag_endpoint(st: &mut State, pi: usize, ctx: &Ctx) -> Resp {
    let params = &ctx.params;
    if let Err(e) = p_required(params, &["tag_name", "ref"]) {
        return e;
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

pub(super) fn package_index(p: &Project, id: &str) -> Result<usize, Resp> {
    let Ok(id) = id.parse::<u64>() else {
        return Err(Resp::error(400, "package_id is invalid"));
    };
    p.packages
        .iter()
        .position(|k| k.id == id)
        .ok_or_else(|| Resp::not_found("Package"))
}

const PACKAGE_TYPES: [&str; 14] = [
    "maven",
    "npm",
    "conan",
    "nuget",
    "pypi",
    "composer",
    "generic",
    "golang",
    "debian",
    "rubygems",
    "helm",
    "terraform_module",
    "rpm",
    "ml_model",
];

pub(super) fn list_packages(st: &State, pi: usize, ctx: &Ctx) -> Resp {
    let params = &ctx.params;
    let ptype = match p_str(params, "package_type") {
        Some(t) if !PACKAGE_TYPES.contains(&t.as_str()) => {
            return Resp::error(400, "package_type does not have a valid value");
        }
        t => t,
    };
    let order_by = match p_enum(
        params,
        "order_by",
        &["created_at", "name", "version", "type"],
        "created_at",
    ) {
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

pub(super) fn package(st: &mut State, pi: usize, ctx: &Ctx, id: &str) -> Resp {
    let ki = match package_index(&st.projects[pi], id) {
        Ok(i) => i,
        Err(e) => return e,
    };
    if ctx.method == "DELETE" {
        if st.role < Role::Maintainer {
            return Resp::message(403, "403 Forbidden");
        }
        st.projects[pi].packages.remove(ki);
        return Resp::no_content();
    }
    let p = &st.projects[pi];
    Resp::json(200, &st.package_json(p, &p.packages[ki]))
}

pub(super) fn list_package_files(st: &State, pi: usize, ctx: &Ctx, id: &str) -> Resp {
    let p = &st.projects[pi];
    let ki = match package_index(p, id) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let order_by = match p_enum(
        &ctx.params,
        "order_by",
        &["id", "file_name", "created_at"],
        "id",
    ) {
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
    let items = files
        .into_iter()
        .map(|f| st.package_file_json(k, f))
        .collect();
    paginate(&ctx.params, &request_url(st, ctx), &ctx.query_pairs, items)
}

pub(super) fn delete_package_file(st: &mut State, pi: usize, id: &str, fid: &str) -> Resp {
    let ki = match package_index(&st.projects[pi], id) {
        Ok(i) => i,
        Err(e) => return e,
    };
    // `authorize_destroy_package!`: Maintainer or above; a Developer's token gets 403
    // (`spec/requests/api/package_files_spec.rb`: "developer → :forbidden").
    if st.role < Role::Maintainer {
        return Resp::message(403, "403 Forbidden");
    }
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

pub(super) fn check_generic_names(name: &str, version: &str, file: &str) -> Result<(), Resp> {
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

pub(super) fn upload_generic(
    st: &mut State,
    pi: usize,
    ctx: &Ctx,
    name: &str,
    version: &str,
    file: &str,
) -> Resp {
    if let Err(e) = check_generic_names(name, version, file) {
        return e;
    }
    let select = match p_str(&ctx.params, "select") {
        Some(s) if s != "package_file" => {
            return Resp::error(400, "select does not have a valid value");
        }
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
            let id = st.ids.package.next();
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
    // Duplicates are allowed by default: the new file is added next to the old ones. When the
    // group forbids them, a file of the same name (not pending destruction) is refused:
    // `bad_request!('Duplicate package is not allowed')` in `lib/api/generic_packages.rb`.
    if !st.generic_duplicates_allowed
        && st.projects[pi].packages[ki]
            .files
            .iter()
            .any(|f| f.file_name == file)
    {
        return Resp::message(400, "400 Bad request - Duplicate package is not allowed");
    }
    let f = PackageFile {
        id: st.ids.package_file.next(),
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

pub(super) fn download_generic(
    st: &State,
    pi: usize,
    name: &str,
    version: &str,
    file: &str,
) -> Resp {
    if let Err(e) = check_generic_names(name, version, file) {
        return e;
    }
    let p = &st.projects[pi];
    let Some(k) = p
        .packages
        .iter()
        .find(|k| k.name == name && k.version == version)
    else {
        return Resp::not_found("Package");
    };
    match k
        .files
        .iter()
        .filter(|f| f.file_name == file)
        .max_by_key(|f| f.id)
    {
        Some(f) => Resp::raw(200, "application/octet-stream", f.content.clone()).header(
            "Content-Disposition",
            format!(
                "attachment; filename=\"{}\"",
                file.rsplit('/').next().unwrap_or(file)
            ),
        ),
        None => Resp::not_found("Package file"),
    }
}
