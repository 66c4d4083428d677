//! Tests of the GitHub emulator itself (tests/all/helpers/github.rs): it must answer like GitHub
//! (shapes of the REST `OpenAPI` description, drafts, `make_latest`, asset rules, immutable releases,
//! rate limits, pagination, auth) and its fault injection must be deterministic.
//!
//! The tiny blocking HTTP/1.1 client of `helpers/http_client.rs` talks to it, so that what is
//! tested is the wire behaviour (including a chunked upload) and not a client library's
//! interpretation of it.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::github::{Fault, GithubEmulator};
use crate::helpers::http_client::{Resp, get_statuses, json_request, send_url, send_url_chunked};

const TOKEN: &str = "ghp_emulatorsecret0123456789";
const RO_TOKEN: &str = "ghs_readonlysecret0123456789";
const REPO: &str = "octo/app";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

// ---------------------------------------------------------------------------------------------
// Requests

fn call(emu: &GithubEmulator, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
    let url = format!("{}{path}", emu.api_url());
    let auth = format!("Bearer {token}");
    json_request(
        &url,
        method,
        &[
            ("Authorization", &auth),
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
        ],
        body,
    )
}

fn api(emu: &GithubEmulator, method: &str, path: &str, body: Option<Value>) -> Resp {
    call(emu, TOKEN, method, path, body)
}

fn get(emu: &GithubEmulator, path: &str) -> Resp {
    api(emu, "GET", path, None)
}

/// Uploads through the release's `upload_url` template.
fn upload(emu: &GithubEmulator, release: &Value, name: &str, content: &[u8]) -> Resp {
    let _ = emu;
    let template = release["upload_url"].as_str().expect("upload_url");
    let base = template.strip_suffix("{?name,label}").expect("template");
    let url = format!("{base}?name={}", percent(name));
    let auth = format!("Bearer {TOKEN}");
    send_url(
        &url,
        "POST",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/gzip"),
        ],
        content,
    )
    .expect("upload")
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn setup() -> GithubEmulator {
    let emu = GithubEmulator::start();
    emu.add_repo(REPO);
    emu.add_token(TOKEN);
    emu.add_read_only_token(RO_TOKEN);
    emu
}

fn create(emu: &GithubEmulator, body: Value) -> Value {
    let r = api(emu, "POST", "/repos/octo/app/releases", Some(body));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

// ---------------------------------------------------------------------------------------------
// Releases

#[test]
fn release_and_asset_have_the_openapi_shapes() {
    let emu = setup();
    let r = api(
        &emu,
        "POST",
        "/repos/octo/app/releases",
        Some(
            json!({ "tag_name": "v1.0.0", "target_commitish": SHA, "name": "App 1.0.0", "body": "notes" }),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let rel = r.json();
    // `required` of components/schemas/release.
    for k in [
        "assets_url",
        "upload_url",
        "tarball_url",
        "zipball_url",
        "created_at",
        "published_at",
        "draft",
        "id",
        "node_id",
        "author",
        "html_url",
        "name",
        "prerelease",
        "tag_name",
        "target_commitish",
        "assets",
        "url",
    ] {
        assert!(rel.get(k).is_some(), "release lacks {k}: {rel}");
    }
    assert_eq!(rel["immutable"], false);
    assert_eq!(rel["draft"], false);
    assert_eq!(rel["name"], "App 1.0.0");
    assert_eq!(rel["body"], "notes");
    let id = rel["id"].as_u64().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("{}/repos/octo/app/releases/{id}", emu.api_url()).as_str())
    );
    assert_eq!(
        rel["upload_url"],
        format!(
            "{}/repos/octo/app/releases/{id}/assets{{?name,label}}",
            emu.uploads_url()
        )
    );
    assert_eq!(
        rel["html_url"],
        format!("{}/octo/app/releases/tag/v1.0.0", emu.url())
    );
    for k in ["login", "id", "type", "url", "html_url", "avatar_url"] {
        assert!(rel["author"].get(k).is_some(), "author lacks {k}");
    }
    // Publishing created the tag at the target.
    assert_eq!(emu.tag_sha(REPO, "v1.0.0").as_deref(), Some(SHA));

    let content = b"binary bytes".to_vec();
    let up = upload(&emu, &rel, "app.tar.gz", &content);
    assert_eq!(up.status, 201, "{}", up.text());
    let a = up.json();
    // `required` of components/schemas/release-asset.
    for k in [
        "id",
        "name",
        "content_type",
        "size",
        "digest",
        "state",
        "url",
        "node_id",
        "download_count",
        "label",
        "uploader",
        "browser_download_url",
        "created_at",
        "updated_at",
    ] {
        assert!(a.get(k).is_some(), "asset lacks {k}: {a}");
    }
    assert_eq!(a["state"], "uploaded");
    assert_eq!(a["size"], content.len());
    assert_eq!(a["content_type"], "application/gzip");
    assert_eq!(a["digest"], format!("sha256:{}", sha256(&content)));
    assert!(a["label"].is_null());
    assert!(
        a["id"].as_u64().unwrap() > i32::MAX as u64,
        "asset ids exceed i32"
    );

    let full = get(&emu, &format!("/repos/octo/app/releases/{id}")).json();
    assert_eq!(full["assets"][0]["name"], "app.tar.gz");
    let info = emu.assets(REPO, "v1.0.0");
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].content, content);
    assert_eq!(
        info[0].digest.as_deref(),
        Some(format!("sha256:{}", sha256(&content)).as_str())
    );
}

#[test]
fn drafts_are_invisible_by_tag_may_repeat_and_tag_on_publish() {
    let emu = setup();
    let d1 = create(&emu, json!({ "tag_name": "v2.0.0", "draft": true }));
    assert_eq!(d1["draft"], true);
    assert!(d1["published_at"].is_null());
    assert!(
        d1["html_url"]
            .as_str()
            .unwrap()
            .contains("/releases/tag/untagged-"),
        "{}",
        d1["html_url"]
    );
    // A draft creates no tag and cannot be found by tag.
    assert!(emu.tags(REPO).is_empty());
    let r = get(&emu, "/repos/octo/app/releases/tags/v2.0.0");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name",
            "status": "404",
        })
    );
    // Drafts are listed (push access) and may be duplicated for one tag.
    let d2 = create(&emu, json!({ "tag_name": "v2.0.0", "draft": true }));
    assert_ne!(d1["id"], d2["id"]);
    let list = get(&emu, "/repos/octo/app/releases").json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["id"], d2["id"], "newest first");
    assert_eq!(emu.releases_for_tag(REPO, "v2.0.0").len(), 2);
    assert!(emu.release_by_tag(REPO, "v2.0.0").is_some());

    // Publishing one creates the tag at target_commitish (the default branch here).
    let p = api(
        &emu,
        "PATCH",
        &format!("/repos/octo/app/releases/{}", d1["id"]),
        Some(json!({ "draft": false })),
    );
    assert_eq!(p.status, 200, "{}", p.text());
    let p = p.json();
    assert!(p["published_at"].is_string());
    assert_eq!(
        p["html_url"],
        format!("{}/octo/app/releases/tag/v2.0.0", emu.url())
    );
    assert_eq!(emu.tags(REPO), vec!["v2.0.0".to_string()]);
    let by_tag = get(&emu, "/repos/octo/app/releases/tags/v2.0.0");
    assert_eq!(by_tag.status, 200);
    assert_eq!(by_tag.json()["id"], d1["id"]);
    assert_eq!(emu.release_by_tag(REPO, "v2.0.0").unwrap()["id"], d1["id"]);

    // Publishing the other draft loses: one published release per tag.
    let r = api(
        &emu,
        "PATCH",
        &format!("/repos/octo/app/releases/{}", d2["id"]),
        Some(json!({ "draft": false })),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["code"], "already_exists");

    // A draft of a tag whose target does not resolve is fine until it is published.
    let d3 = create(
        &emu,
        json!({ "tag_name": "v3.0.0", "draft": true, "target_commitish": "no-such-branch" }),
    );
    let r = api(
        &emu,
        "PATCH",
        &format!("/repos/octo/app/releases/{}", d3["id"]),
        Some(json!({ "draft": false })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["errors"][0],
        json!({ "resource": "Release", "code": "invalid", "field": "target_commitish" })
    );
}

#[test]
fn second_published_release_for_a_tag_is_422_already_exists() {
    let emu = setup();
    emu.add_tag(REPO, "v1.0.0", SHA);
    create(&emu, json!({ "tag_name": "v1.0.0" }));
    let r = api(
        &emu,
        "POST",
        "/repos/octo/app/releases",
        Some(json!({ "tag_name": "v1.0.0", "name": "again" })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        json!({
            "message": "Validation Failed",
            "errors": [{ "resource": "Release", "code": "already_exists", "field": "tag_name" }],
            "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release",
            "status": "422",
        })
    );
    // An existing tag keeps its commit: target_commitish is unused.
    create(
        &emu,
        json!({ "tag_name": "v1.0.1", "target_commitish": "main", "draft": false }),
    );
    assert_eq!(emu.tag_sha(REPO, "v1.0.0").as_deref(), Some(SHA));
    assert_ne!(emu.tag_sha(REPO, "v1.0.1").as_deref(), Some(SHA));

    // Schema and tag-name validation.
    let r = api(&emu, "POST", "/repos/octo/app/releases", Some(json!({})));
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["message"],
        "Invalid request.\n\n\"tag_name\" wasn't supplied."
    );
    let r = api(
        &emu,
        "POST",
        "/repos/octo/app/releases",
        Some(json!({ "tag_name": "bad tag" })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["errors"][0]["message"],
        "tag_name is not a valid tag"
    );
    let r = api(
        &emu,
        "POST",
        "/repos/octo/app/releases",
        Some(json!({ "tag_name": "v9", "draft": "true" })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["message"],
        "Invalid request.\n\nFor 'properties/draft', \"true\" is not a boolean."
    );
    let r = send_url(
        &format!("{}/repos/octo/app/releases", emu.api_url()),
        "POST",
        &[("Authorization", &format!("token {TOKEN}"))],
        b"{not json",
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "Problems parsing JSON");
}

#[test]
fn make_latest_is_a_string_enum() {
    let emu = setup();
    let r = api(
        &emu,
        "POST",
        "/repos/octo/app/releases",
        Some(json!({ "tag_name": "v1.0.0", "make_latest": true })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        json!({
            "message": "Invalid request.\n\nFor 'properties/make_latest', true is not a string.",
            "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release",
            "status": "422",
        })
    );
    let r = api(
        &emu,
        "POST",
        "/repos/octo/app/releases",
        Some(json!({ "tag_name": "v1.0.0", "make_latest": "yes" })),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("is not one of [\"true\", \"false\", \"legacy\"]")
    );
    assert!(emu.releases(REPO).is_empty(), "nothing was created");

    let a = create(&emu, json!({ "tag_name": "v1.0.0", "make_latest": "true" }));
    let b = create(
        &emu,
        json!({ "tag_name": "v1.1.0", "make_latest": "false" }),
    );
    assert_eq!(emu.latest_release(REPO).unwrap()["id"], a["id"]);
    assert_eq!(
        get(&emu, "/repos/octo/app/releases/latest").json()["id"],
        a["id"]
    );
    let r = api(
        &emu,
        "PATCH",
        &format!("/repos/octo/app/releases/{}", b["id"]),
        Some(json!({ "make_latest": "true" })),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(emu.latest_release(REPO).unwrap()["id"], b["id"]);
    // Prereleases and drafts are never latest.
    create(
        &emu,
        json!({ "tag_name": "v2.0.0-rc.1", "prerelease": true }),
    );
    create(&emu, json!({ "tag_name": "v2.0.0", "draft": true }));
    assert_eq!(emu.latest_release(REPO).unwrap()["id"], b["id"]);
}

// ---------------------------------------------------------------------------------------------
// Assets

#[test]
fn asset_names_are_unique_renamed_and_downloadable() {
    let emu = setup();
    let rel = create(&emu, json!({ "tag_name": "v1.0.0", "draft": true }));
    let up = upload(&emu, &rel, "my app (1)~x.tar.gz", b"one");
    assert_eq!(up.status, 201, "{}", up.text());
    let a = up.json();
    assert_eq!(
        a["name"], "my.app.1.x.tar.gz",
        "GitHub renames special characters"
    );

    let again = upload(&emu, &rel, "my.app.1.x.tar.gz", b"two");
    assert_eq!(again.status, 422);
    let body = again.json();
    assert_eq!(body["message"], "Validation Failed");
    assert_eq!(
        body["errors"],
        json!([{ "resource": "ReleaseAsset", "code": "already_exists", "field": "name" }])
    );
    assert!(
        body["request_id"].is_string(),
        "the upload host's error shape"
    );
    assert_eq!(emu.assets(REPO, "v1.0.0").len(), 1);
    assert_eq!(emu.assets(REPO, "v1.0.0")[0].content, b"one");

    // List, get, rename, download.
    let list = get(
        &emu,
        &format!("/repos/octo/app/releases/{}/assets", rel["id"]),
    )
    .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let aid = a["id"].as_u64().unwrap();
    let got = get(&emu, &format!("/repos/octo/app/releases/assets/{aid}"));
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["digest"], a["digest"]);
    let octets = send_url(
        &format!("{}/repos/octo/app/releases/assets/{aid}", emu.api_url()),
        "GET",
        &[
            ("Authorization", &format!("Bearer {TOKEN}")),
            ("Accept", "application/octet-stream"),
        ],
        b"",
    )
    .unwrap();
    assert_eq!(octets.status, 302);
    let location = octets.header("location").unwrap().to_string();
    let bytes = send_url(&location, "GET", &[], b"").unwrap();
    assert_eq!(bytes.status, 200);
    assert_eq!(bytes.body, b"one");
    let web = send_url(a["browser_download_url"].as_str().unwrap(), "GET", &[], b"").unwrap();
    assert_eq!(web.status, 302);

    let r = api(
        &emu,
        "PATCH",
        &format!("/repos/octo/app/releases/assets/{aid}"),
        Some(json!({ "name": "renamed.tar.gz", "label": "Linux" })),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["label"], "Linux");
    let r = api(
        &emu,
        "DELETE",
        &format!("/repos/octo/app/releases/assets/{aid}"),
        None,
    );
    assert_eq!(r.status, 204);
    assert!(emu.assets(REPO, "v1.0.0").is_empty());
    let r = get(&emu, &format!("/repos/octo/app/releases/assets/{aid}"));
    assert_eq!(r.status, 404);
}

#[test]
fn upload_needs_content_length_name_and_content_type() {
    let emu = setup();
    let rel = create(&emu, json!({ "tag_name": "v1.0.0", "draft": true }));
    let base = rel["upload_url"]
        .as_str()
        .unwrap()
        .strip_suffix("{?name,label}")
        .unwrap()
        .to_string();
    let auth = format!("Bearer {TOKEN}");
    let r = send_url_chunked(
        &format!("{base}?name=a.bin"),
        "POST",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/octet-stream"),
        ],
        b"streamed without a length",
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "Bad Content-Length: ");
    assert!(emu.assets(REPO, "v1.0.0").is_empty());

    let r = send_url(
        &base,
        "POST",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/octet-stream"),
        ],
        b"x",
    )
    .unwrap();
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["errors"][0]["field"], "name");

    let r = send_url(
        &format!("{base}?name=a.bin&label=Some%20label"),
        "POST",
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 201, "empty files are fine: {}", r.text());
    assert_eq!(r.json()["label"], "Some label");
    assert_eq!(r.json()["size"], 0);

    // The upload path is not served on the API host.
    let r = api(
        &emu,
        "POST",
        &format!("/repos/octo/app/releases/{}/assets?name=b.bin", rel["id"]),
        None,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn half_uploaded_assets_block_their_name_until_deleted() {
    let emu = setup();
    let rel = create(&emu, json!({ "tag_name": "v1.0.0", "draft": true }));
    let id = emu.add_half_uploaded_asset(REPO, "v1.0.0", "app.tar.gz");
    let a = get(&emu, &format!("/repos/octo/app/releases/assets/{id}")).json();
    assert_eq!(a["state"], "starter");
    assert_eq!(a["size"], 0);
    assert!(a["digest"].is_null());
    assert_eq!(upload(&emu, &rel, "app.tar.gz", b"data").status, 422);
    let r = api(
        &emu,
        "DELETE",
        &format!("/repos/octo/app/releases/assets/{id}"),
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(upload(&emu, &rel, "app.tar.gz", b"data").status, 201);

    // A 502 from upstream leaves such an asset behind.
    emu.fail_next_on("POST", "/assets", Fault::StarterThen502, 1);
    let r = upload(&emu, &rel, "other.zip", b"zip");
    assert_eq!(r.status, 502);
    let left: Vec<_> = emu
        .assets(REPO, "v1.0.0")
        .into_iter()
        .filter(|a| a.name == "other.zip")
        .collect();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].state, "starter");
    assert_eq!(left[0].digest, None);
}

#[test]
fn immutable_releases_refuse_changes_once_published() {
    let emu = setup();
    emu.set_immutable_releases(true);
    // Draft → upload → publish works.
    let rel = create(&emu, json!({ "tag_name": "v1.0.0", "draft": true }));
    assert_eq!(rel["immutable"], false);
    let a = upload(&emu, &rel, "app.tar.gz", b"data").json();
    let path = format!("/repos/octo/app/releases/{}", rel["id"]);
    let p = api(&emu, "PATCH", &path, Some(json!({ "draft": false })));
    assert_eq!(p.status, 200);
    assert_eq!(p.json()["immutable"], true);

    let r = upload(&emu, &p.json(), "late.txt", b"late");
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["message"],
        "Cannot upload assets to an immutable release."
    );
    let r = api(
        &emu,
        "DELETE",
        &format!("/repos/octo/app/releases/assets/{}", a["id"]),
        None,
    );
    assert_eq!(r.status, 422);
    let r = api(&emu, "PATCH", &path, Some(json!({ "tag_name": "v1.0.1" })));
    assert_eq!(r.status, 422);
    let r = api(&emu, "PATCH", &path, Some(json!({ "draft": true })));
    assert_eq!(r.status, 422);
    // Title and notes stay editable.
    let r = api(
        &emu,
        "PATCH",
        &path,
        Some(json!({ "body": "new notes", "name": "T" })),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(emu.assets(REPO, "v1.0.0").len(), 1);

    // Deleting it burns the tag for good.
    assert_eq!(api(&emu, "DELETE", &path, None).status, 204);
    let r = api(
        &emu,
        "POST",
        "/repos/octo/app/releases",
        Some(json!({ "tag_name": "v1.0.0" })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["errors"][0],
        json!({
            "resource": "Release", "code": "custom", "field": "tag_name",
            "message": "tag_name was used by an immutable release",
        })
    );

    // Published directly: immutable at once, so uploads must come first.
    let direct = create(&emu, json!({ "tag_name": "v2.0.0" }));
    assert_eq!(direct["immutable"], true);
    assert_eq!(upload(&emu, &direct, "x.bin", b"x").status, 422);

    // Turning the setting off does not unfreeze, but new releases are mutable.
    emu.set_immutable_releases(false);
    assert_eq!(upload(&emu, &direct, "x.bin", b"x").status, 422);
    let later = create(&emu, json!({ "tag_name": "v3.0.0" }));
    assert_eq!(later["immutable"], false);
    assert_eq!(upload(&emu, &later, "x.bin", b"x").status, 201);
}

// ---------------------------------------------------------------------------------------------
// Rate limits, pagination, auth

#[test]
fn rate_limit_headers_and_secondary_rate_limits() {
    let emu = setup();
    let r = get(&emu, "/repos/octo/app/releases");
    assert_eq!(r.status, 200);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-used",
        "x-ratelimit-resource",
        "x-github-request-id",
    ] {
        assert!(r.header(h).is_some(), "missing {h}");
    }
    let used: u64 = r.header("x-ratelimit-used").unwrap().parse().unwrap();
    let r2 = get(&emu, "/repos/octo/app/releases");
    assert_eq!(
        r2.header("x-ratelimit-used")
            .unwrap()
            .parse::<u64>()
            .unwrap(),
        used + 1
    );
    assert_eq!(
        r.header("x-github-api-version-selected"),
        Some("2022-11-28")
    );

    emu.set_secondary_rate_limit(2, 7);
    for _ in 0..2 {
        let r = api(
            &emu,
            "POST",
            "/repos/octo/app/releases",
            Some(json!({ "tag_name": "v1.0.0" })),
        );
        assert_eq!(r.status, 403);
        assert_eq!(r.header("retry-after"), Some("7"));
        assert_ne!(r.header("x-ratelimit-remaining"), Some("0"));
        let msg = r.json()["message"].as_str().unwrap().to_string();
        assert!(
            msg.starts_with("You have exceeded a secondary rate limit."),
            "{msg}"
        );
    }
    assert!(emu.releases(REPO).is_empty(), "nothing was applied");
    create(&emu, json!({ "tag_name": "v1.0.0" }));

    emu.fail_next(
        Fault::SecondaryRateLimit {
            status: 429,
            retry_after_secs: None,
        },
        1,
    );
    let r = get(&emu, "/repos/octo/app/releases");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), None);

    emu.fail_next(Fault::PrimaryRateLimit { reset_in_secs: 30 }, 1);
    let r = get(&emu, "/repos/octo/app/releases");
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset > chrono::Utc::now().timestamp());
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("API rate limit exceeded")
    );

    let r = send_url(
        &format!("{}/repos/octo/app/releases", emu.api_url()),
        "GET",
        &[
            ("Authorization", &format!("Bearer {TOKEN}")),
            ("X-GitHub-Api-Version", "2099-01-01"),
        ],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 400);
}

#[test]
fn pagination_follows_link_headers() {
    let emu = setup();
    for i in 0..5 {
        create(&emu, json!({ "tag_name": format!("v1.{i}.0") }));
    }
    let r = get(&emu, "/repos/octo/app/releases?per_page=2");
    assert_eq!(r.status, 200);
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    assert_eq!(r.json()[0]["tag_name"], "v1.4.0", "newest first");
    let link = r.header("link").expect("Link").to_string();
    let repo_id = get(&emu, "/repos/octo/app").json()["id"].as_u64().unwrap();
    let base = format!("{}/repositories/{repo_id}/releases", emu.api_url());
    assert_eq!(
        link,
        format!(
            "<{base}?per_page=2&page=2>; rel=\"next\", <{base}?per_page=2&page=3>; rel=\"last\""
        )
    );

    // Follow rel="next" to the end, as a client must.
    let mut url = format!("{}/repos/octo/app/releases?per_page=2", emu.api_url());
    let mut tags = Vec::new();
    loop {
        let r = send_url(
            &url,
            "GET",
            &[("Authorization", &format!("Bearer {TOKEN}"))],
            b"",
        )
        .unwrap();
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        for v in r.json().as_array().unwrap() {
            tags.push(v["tag_name"].as_str().unwrap().to_string());
        }
        let next = r.header("link").and_then(|l| {
            l.split(", ")
                .find(|p| p.ends_with("rel=\"next\""))
                .map(|p| p[1..p.find('>').unwrap()].to_string())
        });
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    assert_eq!(tags, ["v1.4.0", "v1.3.0", "v1.2.0", "v1.1.0", "v1.0.0"]);

    let last = get(&emu, "/repos/octo/app/releases?per_page=2&page=3");
    assert_eq!(
        last.header("link").unwrap(),
        format!(
            "<{base}?per_page=2&page=2>; rel=\"prev\", <{base}?per_page=2&page=1>; rel=\"first\""
        )
    );
    let all = get(&emu, "/repos/octo/app/releases?per_page=500");
    assert_eq!(all.json().as_array().unwrap().len(), 5);
    assert_eq!(all.header("link"), None, "one page: no Link");
}

#[test]
fn auth_bad_credentials_private_repos_and_read_only_tokens() {
    let emu = setup();
    create(&emu, json!({ "tag_name": "v0.9.0", "draft": true }));
    let r = call(&emu, "wrong-token", "GET", "/repos/octo/app/releases", None);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({ "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401" })
    );
    // No token: a private repository does not exist.
    let r = send_url(
        &format!("{}/repos/octo/app/releases", emu.api_url()),
        "GET",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 404);
    // `token <t>` works as well as `Bearer <t>`.
    let r = send_url(
        &format!("{}/repos/octo/app/releases", emu.api_url()),
        "GET",
        &[("Authorization", &format!("token {TOKEN}"))],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);
    // Owner and name are case-insensitive.
    assert_eq!(get(&emu, "/repos/Octo/App/releases").status, 200);

    // Read-only: drafts are invisible, writes are refused.
    let r = call(&emu, RO_TOKEN, "GET", "/repos/octo/app/releases", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([]));
    let r = call(
        &emu,
        RO_TOKEN,
        "POST",
        "/repos/octo/app/releases",
        Some(json!({ "tag_name": "v1.0.0" })),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "Resource not accessible by integration"
    );

    // Token echo, for tests that prove the client never prints a body's token.
    emu.echo_token_in_errors(true);
    let r = call(&emu, "ghp_leaky", "GET", "/repos/octo/app/releases", None);
    assert!(r.text().contains("ghp_leaky"), "{}", r.text());
}

#[test]
fn enterprise_layout_serves_api_and_uploads_under_prefixes() {
    let emu = setup();
    emu.set_enterprise(true);
    assert_eq!(emu.api_url(), format!("{}/api/v3", emu.url()));
    let rel = create(&emu, json!({ "tag_name": "v1.0.0", "draft": true }));
    assert!(rel["upload_url"].as_str().unwrap().starts_with(&format!(
        "{}/api/uploads/repos/octo/app/releases/",
        emu.url()
    )));
    assert_eq!(upload(&emu, &rel, "a.bin", b"a").status, 201);
    let r = send_url(
        &format!("{}/repos/octo/app/releases", emu.url()),
        "GET",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 404, "no API at the root on GHES");
}

// ---------------------------------------------------------------------------------------------
// Accounting and faults

#[test]
fn request_log_and_write_count() {
    let emu = setup();
    let rel = create(&emu, json!({ "tag_name": "v1.0.0", "draft": true }));
    upload(&emu, &rel, "a.bin", b"secret bytes");
    get(&emu, "/repos/octo/app/releases");
    assert_eq!(emu.write_count(), 2);
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/repos/octo/app/releases");
    assert!(reqs[0].body.contains("v1.0.0"));
    assert_eq!(reqs[1].query, "name=a.bin");
    assert_eq!(reqs[1].body, "", "upload bodies are not logged");
    assert_eq!(reqs[1].header("content-type"), Some("application/gzip"));
    emu.reset_requests();
    assert_eq!(emu.write_count(), 0);
}

#[test]
fn scripted_faults_apply_or_not_as_told() {
    let emu = setup();
    emu.fail_next_on("POST", "/releases", Fault::AppliedThen502, 1);
    let r = api(
        &emu,
        "POST",
        "/repos/octo/app/releases",
        Some(json!({ "tag_name": "v1.0.0" })),
    );
    assert_eq!(r.status, 502);
    assert_eq!(emu.releases(REPO).len(), 1, "applied despite the 502");

    emu.fail_next(Fault::Drop, 1);
    let url = format!("{}/repos/octo/app/releases", emu.api_url());
    let auth = format!("Bearer {TOKEN}");
    assert!(send_url(&url, "GET", &[("Authorization", &auth)], b"").is_err());
    assert_eq!(emu.requests().last().unwrap().status, 0);

    emu.fail_next(Fault::Status(503), 1);
    assert_eq!(get(&emu, "/repos/octo/app/releases").status, 503);
    emu.fail_next_on("PATCH", "/releases/", Fault::AppliedThenDrop, 1);
    let id = emu.releases(REPO)[0]["id"].as_u64().unwrap();
    let r = send_url(
        &format!("{url}/{id}"),
        "PATCH",
        &[("Authorization", &auth)],
        br#"{"body":"changed"}"#,
    );
    assert!(r.is_err());
    assert_eq!(emu.releases(REPO)[0]["body"], "changed");
    emu.clear_faults();
    assert_eq!(get(&emu, "/repos/octo/app/releases").status, 200);
}

fn fault_script(seed: u64) -> Vec<u16> {
    let emu = setup();
    emu.inject_faults(0.5, seed);
    let url = format!("{}/repos/octo/app/releases", emu.api_url());
    get_statuses(&url, &[("Authorization", &format!("Bearer {TOKEN}"))], 24)
}

#[test]
fn fault_injection_is_deterministic() {
    let a = fault_script(7);
    assert_eq!(a, fault_script(7));
    assert_ne!(a, fault_script(8));
    assert!(a.contains(&200) && a.iter().any(|s| *s != 200), "{a:?}");
}

#[test]
fn works_with_reqwest_and_a_streamed_upload() {
    let emu = setup();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let rel: Value = client
            .post(format!("{}/repos/octo/app/releases", emu.api_url()))
            .bearer_auth(TOKEN)
            .json(&json!({ "tag_name": "v1.0.0", "draft": true }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let base = rel["upload_url"]
            .as_str()
            .unwrap()
            .strip_suffix("{?name,label}")
            .unwrap()
            .to_string();
        // A stream without a known length goes out chunked: refused.
        let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(b"abc".to_vec())]);
        let r = client
            .post(&base)
            .query(&[("name", "s.bin")])
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        // With the length set it is accepted.
        let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(b"abc".to_vec())]);
        let r = client
            .post(&base)
            .query(&[("name", "s.bin")])
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", "3")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    });
    assert_eq!(emu.assets(REPO, "v1.0.0")[0].content, b"abc");
}
