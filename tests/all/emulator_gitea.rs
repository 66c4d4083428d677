//! Tests of the Gitea / Forgejo emulator itself (tests/all/helpers/gitea.rs): releases keyed by
//! tag with Gitea's 409, drafts, attachments with non-unique names and the `attachment` multipart
//! field, Forgejo's external links, pagination, auth, and deterministic fault injection.
//!
//! The tiny blocking HTTP/1.1 client of `helpers/http_client.rs` talks to it, so that what is
//! tested is the wire behaviour and not a client library's interpretation of it.

use serde_json::{Value, json};

use crate::helpers::gitea::{Fault, GiteaEmulator};
use crate::helpers::http_client::{Resp, get_statuses, json_request, multipart, send_url};

const TOKEN: &str = "gitea-emulator-secret-0123456789";
const REPO: &str = "org/app";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

// ---------------------------------------------------------------------------------------------
// Requests

fn call(emu: &GiteaEmulator, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
    let url = format!("{}{path}", emu.api_url());
    json_request(
        &url,
        method,
        &[("Authorization", &format!("token {token}"))],
        body,
    )
}

fn api(emu: &GiteaEmulator, method: &str, path: &str, body: Option<Value>) -> Resp {
    call(emu, TOKEN, method, path, body)
}

fn get(emu: &GiteaEmulator, path: &str) -> Resp {
    api(emu, "GET", path, None)
}

fn post_form(emu: &GiteaEmulator, path: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Resp {
    let (ct, body) = multipart(parts);
    send_url(
        &format!("{}{path}", emu.api_url()),
        "POST",
        &[
            ("Authorization", &format!("token {TOKEN}")),
            ("Content-Type", &ct),
        ],
        &body,
    )
    .expect("request")
}

fn setup() -> GiteaEmulator {
    let emu = GiteaEmulator::start();
    emu.add_repo(REPO);
    emu.add_token(TOKEN);
    emu
}

fn create(emu: &GiteaEmulator, body: Value) -> Value {
    let r = api(emu, "POST", "/repos/org/app/releases", Some(body));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

// ---------------------------------------------------------------------------------------------
// Releases

#[test]
fn release_create_has_giteas_shape_and_a_second_one_is_409() {
    let emu = setup();
    let rel = create(
        &emu,
        json!({ "tag_name": "v1.0.0", "target_commitish": SHA, "name": "App 1.0.0", "body": "notes" }),
    );
    for k in [
        "id",
        "tag_name",
        "target_commitish",
        "name",
        "body",
        "url",
        "html_url",
        "tarball_url",
        "zipball_url",
        "upload_url",
        "draft",
        "prerelease",
        "created_at",
        "published_at",
        "author",
        "assets",
    ] {
        assert!(rel.get(k).is_some(), "release lacks {k}: {rel}");
    }
    let id = rel["id"].as_u64().unwrap();
    assert_eq!(
        rel["url"],
        format!("{}/repos/org/app/releases/{id}", emu.api_url())
    );
    assert_eq!(
        rel["html_url"],
        format!("{}/org/app/releases/tag/v1.0.0", emu.url())
    );
    assert_eq!(emu.tag_sha(REPO, "v1.0.0").as_deref(), Some(SHA));

    let r = api(
        &emu,
        "POST",
        "/repos/org/app/releases",
        Some(json!({ "tag_name": "v1.0.0" })),
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json(),
        json!({ "message": "Release is has no Tag", "url": format!("{}/api/swagger", emu.url()) })
    );

    // Missing tag name, bad types, unknown target.
    let r = api(
        &emu,
        "POST",
        "/repos/org/app/releases",
        Some(json!({ "name": "x" })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["message"], "[TagName]: Required");
    let r = api(
        &emu,
        "POST",
        "/repos/org/app/releases",
        Some(json!({ "tag_name": "v2", "draft": "yes" })),
    );
    assert_eq!(r.status, 422);
    let r = api(
        &emu,
        "POST",
        "/repos/org/app/releases",
        Some(json!({ "tag_name": "v2", "target_commitish": "nope" })),
    );
    assert_eq!(r.status, 404);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("target \"nope\" not found")
    );

    // By id, by tag, delete (the git tag stays).
    assert_eq!(
        get(&emu, &format!("/repos/org/app/releases/{id}")).status,
        200
    );
    assert_eq!(
        get(&emu, "/repos/org/app/releases/tags/v1.0.0").json()["id"],
        id
    );
    assert_eq!(get(&emu, "/repos/org/app/releases/latest").json()["id"], id);
    assert_eq!(
        api(
            &emu,
            "DELETE",
            &format!("/repos/org/app/releases/{id}"),
            None
        )
        .status,
        204
    );
    assert_eq!(get(&emu, "/repos/org/app/releases/tags/v1.0.0").status, 404);
    assert_eq!(emu.tags(REPO), vec!["v1.0.0".to_string()]);
    let r = get(&emu, "/repos/org/app/releases/999");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "The target couldn't be found.");
}

#[test]
fn drafts_are_found_by_tag_and_tagged_on_publish() {
    let emu = setup();
    let d = create(
        &emu,
        json!({ "tag_name": "v1.0.0", "draft": true, "name": "Draft", "body": "text" }),
    );
    assert_eq!(d["draft"], true);
    assert!(emu.tags(REPO).is_empty(), "a draft creates no tag");
    let r = get(&emu, "/repos/org/app/releases/tags/v1.0.0");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], d["id"]);
    assert_eq!(
        api(
            &emu,
            "POST",
            "/repos/org/app/releases",
            Some(json!({ "tag_name": "v1.0.0" }))
        )
        .status,
        409,
        "a draft holds the tag too"
    );

    // PATCH ignores empty strings and publishes.
    let r = api(
        &emu,
        "PATCH",
        &format!("/repos/org/app/releases/{}", d["id"]),
        Some(json!({ "draft": false, "name": "", "body": "" })),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let p = r.json();
    assert_eq!(p["draft"], false);
    assert_eq!(p["name"], "Draft", "an empty name means unchanged");
    assert_eq!(p["body"], "text");
    assert_eq!(emu.tags(REPO), vec!["v1.0.0".to_string()]);
    let r = api(
        &emu,
        "PATCH",
        &format!("/repos/org/app/releases/{}", d["id"]),
        Some(json!({ "body": "new" })),
    );
    assert_eq!(r.json()["body"], "new");

    // List filters.
    create(&emu, json!({ "tag_name": "v2.0.0", "draft": true }));
    let drafts = get(&emu, "/repos/org/app/releases?draft=true").json();
    assert_eq!(drafts.as_array().unwrap().len(), 1);
    assert_eq!(drafts[0]["tag_name"], "v2.0.0");
    assert_eq!(emu.releases(REPO).len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Attachments

#[test]
fn attachments_take_the_attachment_field_and_names_repeat() {
    let emu = setup();
    let rel = create(&emu, json!({ "tag_name": "v1.0.0" }));
    let path = format!("/repos/org/app/releases/{}/assets", rel["id"]);
    let r = post_form(&emu, &path, &[("attachment", Some("app.tar.gz"), b"one")]);
    assert_eq!(r.status, 201, "{}", r.text());
    let a = r.json();
    for k in [
        "id",
        "name",
        "size",
        "download_count",
        "created_at",
        "uuid",
        "browser_download_url",
    ] {
        assert!(a.get(k).is_some(), "attachment lacks {k}: {a}");
    }
    assert!(a.get("type").is_none(), "Gitea sends no type");
    assert_eq!(a["name"], "app.tar.gz");
    assert_eq!(a["size"], 3);

    // The same name again: a second attachment, no error.
    let r = post_form(
        &emu,
        &format!("{path}?name=app.tar.gz"),
        &[("attachment", Some("local-file"), b"two!")],
    );
    assert_eq!(r.status, 201);
    let atts = emu.attachments(REPO, "v1.0.0");
    assert_eq!(atts.len(), 2);
    assert!(atts.iter().all(|a| a.name == "app.tar.gz"));
    assert_eq!(atts[1].content, b"two!");
    assert_eq!(get(&emu, &path).json().as_array().unwrap().len(), 2);

    // A raw body with ?name= works too; without a name it cannot.
    let raw = send_url(
        &format!("{}{path}?name=raw.bin", emu.api_url()),
        "POST",
        &[
            ("Authorization", &format!("token {TOKEN}")),
            ("Content-Type", "application/octet-stream"),
        ],
        b"raw",
    )
    .unwrap();
    assert_eq!(raw.status, 201);
    let r = send_url(
        &format!("{}{path}", emu.api_url()),
        "POST",
        &[
            ("Authorization", &format!("token {TOKEN}")),
            ("Content-Type", "application/octet-stream"),
        ],
        b"raw",
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Could not determine name of attachment."
    );

    // The wrong field name: Gitea's FormFile fails, an internal error.
    let r = post_form(&emu, &path, &[("file", Some("x.bin"), b"x")]);
    assert_eq!(r.status, 500);
    assert_eq!(emu.attachments(REPO, "v1.0.0").len(), 3);

    // Download, edit (201), delete (204).
    let dl = send_url(a["browser_download_url"].as_str().unwrap(), "GET", &[], b"").unwrap();
    assert_eq!(dl.status, 200);
    assert_eq!(dl.body, b"one");
    let aid = a["id"].as_u64().unwrap();
    let r = api(
        &emu,
        "PATCH",
        &format!("{path}/{aid}"),
        Some(json!({ "name": "renamed.tar.gz" })),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["name"], "renamed.tar.gz");
    assert_eq!(
        get(&emu, &format!("{path}/{aid}")).json()["name"],
        "renamed.tar.gz"
    );
    assert_eq!(
        api(&emu, "DELETE", &format!("{path}/{aid}"), None).status,
        204
    );
    assert_eq!(get(&emu, &format!("{path}/{aid}")).status, 404);
    assert_eq!(emu.attachments(REPO, "v1.0.0").len(), 2);
    assert_eq!(
        get(&emu, &format!("/repos/org/app/releases/{}", rel["id"])).json()["assets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn forgejo_takes_external_links() {
    let emu = setup();
    emu.set_forgejo(true);
    assert!(
        get(&emu, "/version").json()["version"]
            .as_str()
            .unwrap()
            .contains("+gitea-")
    );
    let fv = send_url(
        &format!("{}/api/forgejo/v1/version", emu.url()),
        "GET",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(fv.status, 200);

    let rel = create(&emu, json!({ "tag_name": "v1.0.0" }));
    let path = format!("/repos/org/app/releases/{}/assets", rel["id"]);
    let r = post_form(
        &emu,
        &format!("{path}?name=Docs"),
        &[("external_url", None, b"https://docs.example.com/1.0")],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let link = r.json();
    assert_eq!(link["type"], "external");
    assert_eq!(link["name"], "Docs");
    assert_eq!(link["browser_download_url"], "https://docs.example.com/1.0");
    assert_eq!(link["size"], 0);
    // Without a name, the URL's last path segment names it.
    let r = post_form(
        &emu,
        &path,
        &[("external_url", None, b"https://cdn.example.com/dl/app.zip")],
    );
    assert_eq!(r.json()["name"], "app.zip");

    let r = post_form(
        &emu,
        &path,
        &[
            ("attachment", Some("a.bin"), b"a"),
            ("external_url", None, b"https://example.com/a"),
        ],
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "'attachment' and 'external_url' are mutually exclusive"
    );
    let r = post_form(
        &emu,
        &path,
        &[("external_url", None, b"ftp://example.com/a")],
    );
    assert_eq!(r.status, 400);
    let r = post_form(&emu, &path, &[("file", Some("x.bin"), b"x")]);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "One of 'attachment' or 'external_url' is required"
    );

    let file = post_form(&emu, &path, &[("attachment", Some("f.bin"), b"f")]).json();
    assert_eq!(file["type"], "attachment");
    let atts = emu.attachments(REPO, "v1.0.0");
    assert_eq!(atts.len(), 3);
    assert_eq!(
        atts[0].external_url.as_deref(),
        Some("https://docs.example.com/1.0")
    );
    assert!(atts[0].content.is_empty());

    // Only external attachments take a new URL.
    let r = api(
        &emu,
        "PATCH",
        &format!("{path}/{}", link["id"]),
        Some(json!({ "browser_download_url": "https://docs.example.com/1.1" })),
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.json()["browser_download_url"],
        "https://docs.example.com/1.1"
    );
    let r = api(
        &emu,
        "PATCH",
        &format!("{path}/{}", file["id"]),
        Some(json!({ "browser_download_url": "https://x.example.com" })),
    );
    assert_eq!(r.status, 400);

    // Plain Gitea ignores external_url.
    emu.set_forgejo(false);
    let r = post_form(
        &emu,
        &path,
        &[("external_url", None, b"https://example.com/a")],
    );
    assert_eq!(r.status, 500);
    assert_eq!(
        send_url(
            &format!("{}/api/forgejo/v1/version", emu.url()),
            "GET",
            &[],
            b""
        )
        .unwrap()
        .status,
        404
    );
}

// ---------------------------------------------------------------------------------------------
// Pagination, auth

#[test]
fn pagination_uses_limit_link_and_total_count() {
    let emu = setup();
    for i in 0..5 {
        create(&emu, json!({ "tag_name": format!("v1.{i}.0") }));
    }
    let r = get(&emu, "/repos/org/app/releases?limit=2");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-total-count"), Some("5"));
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["tag_name"], "v1.4.0", "newest first");
    let base = format!("{}/repos/org/app/releases", emu.api_url());
    assert_eq!(
        r.header("link").unwrap(),
        format!("<{base}?limit=2&page=2>; rel=\"next\",<{base}?limit=2&page=3>; rel=\"last\"")
    );
    let r = get(&emu, "/repos/org/app/releases?limit=2&page=3");
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(
        r.header("link").unwrap(),
        format!("<{base}?limit=2&page=1>; rel=\"first\",<{base}?limit=2&page=2>; rel=\"prev\"")
    );
    let r = get(&emu, "/repos/org/app/releases");
    assert_eq!(r.json().as_array().unwrap().len(), 5);
    assert_eq!(r.header("link"), None);

    for i in 0..60 {
        create(
            &emu,
            json!({ "tag_name": format!("v2.{i}.0"), "draft": true }),
        );
    }
    let r = get(&emu, "/repos/org/app/releases?limit=100");
    assert_eq!(
        r.json().as_array().unwrap().len(),
        50,
        "limit is capped at 50"
    );
    assert_eq!(r.header("x-total-count"), Some("65"));
}

#[test]
fn auth_invalid_token_is_401_and_anonymous_sees_nothing() {
    let emu = setup();
    let r = call(&emu, "nope", "GET", "/repos/org/app/releases", None);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({
            "message": "invalid username, password or token",
            "url": format!("{}/api/swagger", emu.url()),
        })
    );
    let anon = send_url(
        &format!("{}/repos/org/app/releases", emu.api_url()),
        "GET",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(anon.status, 404);
    let me = send_url(&format!("{}/user", emu.api_url()), "GET", &[], b"").unwrap();
    assert_eq!(me.status, 401);
    assert_eq!(me.json()["message"], "token is required");
    // Bearer and the query token work as well.
    let r = send_url(
        &format!("{}/repos/org/app/releases", emu.api_url()),
        "GET",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let r = send_url(
        &format!("{}/repos/org/app/releases?token={TOKEN}", emu.api_url()),
        "GET",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);

    emu.echo_token_in_errors(true);
    let r = call(&emu, "leaky-token", "GET", "/repos/org/app/releases", None);
    assert!(r.text().contains("leaky-token"), "{}", r.text());
}

// ---------------------------------------------------------------------------------------------
// Accounting and faults

#[test]
fn request_log_and_scripted_faults() {
    let emu = setup();
    let rel = create(&emu, json!({ "tag_name": "v1.0.0" }));
    let path = format!("/repos/org/app/releases/{}/assets", rel["id"]);
    post_form(&emu, &path, &[("attachment", Some("a.bin"), b"secret")]);
    get(&emu, "/repos/org/app/releases");
    assert_eq!(emu.write_count(), 2);
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs[0].body.contains("v1.0.0"));
    assert_eq!(reqs[1].body, "", "upload bodies are not logged");
    emu.reset_requests();

    emu.fail_next_on("POST", "/assets", Fault::AppliedThen502, 1);
    let r = post_form(&emu, &path, &[("attachment", Some("b.bin"), b"b")]);
    assert_eq!(r.status, 502);
    assert_eq!(
        emu.attachments(REPO, "v1.0.0").len(),
        2,
        "applied despite the 502"
    );

    emu.fail_next(Fault::Drop, 1);
    let url = format!("{}/repos/org/app/releases", emu.api_url());
    let auth = format!("token {TOKEN}");
    assert!(send_url(&url, "GET", &[("Authorization", &auth)], b"").is_err());
    emu.fail_next(
        Fault::RateLimit {
            retry_after_secs: 3,
        },
        1,
    );
    let r = get(&emu, "/repos/org/app/releases");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("3"));
    emu.fail_next(Fault::Status(500), 1);
    let r = get(&emu, "/repos/org/app/releases");
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["message"], "");
    assert_eq!(get(&emu, "/repos/org/app/releases").status, 200);
}

fn fault_script(seed: u64) -> Vec<u16> {
    let emu = setup();
    emu.inject_faults(0.5, seed);
    let url = format!("{}/repos/org/app/releases", emu.api_url());
    get_statuses(&url, &[("Authorization", &format!("token {TOKEN}"))], 24)
}

#[test]
fn fault_injection_is_deterministic() {
    let a = fault_script(11);
    assert_eq!(a, fault_script(11));
    assert_ne!(a, fault_script(12));
    assert!(a.contains(&200) && a.iter().any(|s| *s != 200), "{a:?}");
}

#[test]
fn works_with_reqwest_multipart() {
    let emu = setup();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rel = create(&emu, json!({ "tag_name": "v1.0.0" }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let form = reqwest::multipart::Form::new().part(
            "attachment",
            reqwest::multipart::Part::bytes(b"hello".to_vec())
                .file_name("dir/hello \"quoted\".txt")
                .mime_str("text/plain")
                .unwrap(),
        );
        let r = reqwest::Client::new()
            .post(format!(
                "{}/repos/org/app/releases/{}/assets",
                emu.api_url(),
                rel["id"]
            ))
            .header("Authorization", format!("token {TOKEN}"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["name"], "hello \"quoted\".txt", "Go keeps the base name");
    });
    assert_eq!(emu.attachments(REPO, "v1.0.0")[0].content, b"hello");
}
