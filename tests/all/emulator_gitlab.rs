//! Tests of the GitLab emulator itself (tests/all/helpers/gitlab.rs): it must answer like the
//! real server (status codes, error bodies, validation, pagination, encoding, job-token limits,
//! generic packages) and its fault injection must be deterministic.
//!
//! The tiny blocking HTTP/1.1 client of `helpers/http_client.rs` talks to it, so that what is
//! tested is the wire behaviour and not a client library's interpretation of it.

use std::io;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::gitlab::{Fault, GitlabEmulator};
use crate::helpers::http_client::{Resp, form_request, json_request, send_url};

const TOKEN: &str = "glpat-emulator-secret";
const JOB: &str = "ci-job-token-secret";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const PID: u64 = 42;

// ---------------------------------------------------------------------------------------------
// Requests

/// Sends one request (`path` from the root) on a fresh connection; `Err` when the server closed
/// it without answering.
fn send(
    emu: &GitlabEmulator,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Resp> {
    send_url(&format!("{}{path}", emu.url()), method, headers, body)
}

fn api(emu: &GitlabEmulator, method: &str, path: &str, body: Option<Value>) -> Resp {
    let url = format!("{}/api/v4{path}", emu.url());
    json_request(&url, method, &[("PRIVATE-TOKEN", TOKEN)], body)
}

fn get(emu: &GitlabEmulator, path: &str) -> Resp {
    api(emu, "GET", path, None)
}

fn form(emu: &GitlabEmulator, method: &str, path: &str, body: &str) -> Resp {
    let url = format!("{}/api/v4{path}", emu.url());
    form_request(&url, method, &[("PRIVATE-TOKEN", TOKEN)], body)
}

fn job(emu: &GitlabEmulator, method: &str, path: &str, body: &[u8]) -> Resp {
    send(
        emu,
        method,
        &format!("/api/v4{path}"),
        &[("JOB-TOKEN", JOB), ("Content-Type", "application/json")],
        body,
    )
    .expect("request")
}

fn setup() -> GitlabEmulator {
    let emu = GitlabEmulator::start();
    emu.add_project(PID, "group/sub/app");
    emu.add_tag(PID, "v1.0.0", SHA);
    emu.add_private_token(TOKEN);
    emu.add_job_token(JOB);
    emu
}

fn create_release(emu: &GitlabEmulator, tag: &str) -> Value {
    let r = api(
        emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": tag })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

// ---------------------------------------------------------------------------------------------
// Releases

#[test]
fn release_create_is_201_then_409_and_has_gitlabs_shape() {
    let emu = setup();
    let body = json!({
        "tag_name": "v1.0.0",
        "name": "App 1.0.0",
        "description": "notes",
        "assets": { "links": [
            { "name": "app.tar.gz", "url": "https://example.com/app.tar.gz", "direct_asset_path": "/bin/app", "link_type": "package" }
        ] }
    });
    let r = api(&emu, "POST", "/projects/42/releases", Some(body.clone()));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    // Only properties public_api/v4/release.json allows (additionalProperties: false).
    let allowed = [
        "name",
        "tag_name",
        "description",
        "description_html",
        "created_at",
        "released_at",
        "upcoming_release",
        "commit",
        "author",
        "milestones",
        "commit_path",
        "tag_path",
        "evidences",
        "assets",
        "_links",
    ];
    for k in v.as_object().unwrap().keys() {
        assert!(allowed.contains(&k.as_str()), "unexpected key {k}");
    }
    for k in ["name", "tag_name", "commit", "released_at"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["name"], "App 1.0.0");
    assert_eq!(v["description"], "notes");
    assert_eq!(v["upcoming_release"], false);
    assert_eq!(v["commit"]["id"], SHA);
    assert_eq!(v["author"]["username"], "root");
    assert_eq!(v["tag_path"], "/group/sub/app/-/tags/v1.0.0");
    assert_eq!(v["commit_path"], format!("/group/sub/app/-/commit/{SHA}"));
    assert_eq!(v["assets"]["sources"].as_array().unwrap().len(), 4);
    assert_eq!(v["assets"]["count"], 5);
    assert_eq!(v["evidences"].as_array().unwrap().len(), 1);
    let link = &v["assets"]["links"][0];
    assert_eq!(link["link_type"], "package");
    assert_eq!(
        link["direct_asset_url"],
        format!(
            "{}/group/sub/app/-/releases/v1.0.0/downloads/bin/app",
            emu.url()
        )
    );
    let link_keys: Vec<&String> = link.as_object().unwrap().keys().collect();
    assert_eq!(link_keys.len(), 5, "{link_keys:?}");
    assert_eq!(
        v["created_at"].as_str().unwrap().len(),
        "2019-01-03T01:56:19.539Z".len()
    );

    let again = api(&emu, "POST", "/projects/42/releases", Some(body));
    assert_eq!(again.status, 409);
    assert_eq!(again.json(), json!({ "message": "Release already exists" }));
    assert_eq!(emu.releases(PID).len(), 1);
    assert_eq!(emu.links(PID, "v1.0.0").len(), 1);
    assert_eq!(
        emu.release(PID, "v1.0.0").unwrap(),
        get(&emu, "/projects/42/releases/v1.0.0").json()
    );

    // Name defaults to the tag; description may be null.
    emu.add_tag(PID, "v1.0.1", SHA);
    let v = create_release(&emu, "v1.0.1");
    assert_eq!(v["name"], "v1.0.1");
    assert_eq!(v["description"], Value::Null);
    let missing = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "name": "x" })),
    );
    assert_eq!(
        (missing.status, missing.json()),
        (400, json!({ "error": "tag_name is missing" }))
    );
}

#[test]
fn release_for_a_missing_tag_needs_ref_and_creates_the_tag() {
    let emu = setup();
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "v2.0.0" })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.json(), json!({ "message": "Ref is not specified" }));
    assert_eq!(emu.tags(PID), vec!["v1.0.0"]);

    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "v2.0.0", "ref": SHA, "tag_message": "Release 2.0.0" })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(emu.tags(PID), vec!["v1.0.0", "v2.0.0"]);
    let tag = get(&emu, "/projects/42/repository/tags/v2.0.0").json();
    assert_eq!(tag["commit"]["id"], SHA);
    assert_eq!(tag["message"], "Release 2.0.0");
    assert_ne!(
        tag["target"], SHA,
        "an annotated tag's target is the tag object"
    );
    assert_eq!(tag["release"]["tag_name"], "v2.0.0");

    // A ref that is another tag or a branch resolves; a bad ref or tag name is refused.
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "v2.0.1", "ref": "main" })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "v3", "ref": "nope" })),
    );
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "message": "Target nope is invalid" }))
    );
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "HEAD", "ref": SHA })),
    );
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "message": "Tag name invalid" }))
    );
}

#[test]
fn release_update_and_delete_follow_gitlab() {
    let emu = setup();
    let r = api(
        &emu,
        "PUT",
        "/projects/42/releases/v1.0.0",
        Some(json!({ "description": "x" })),
    );
    assert_eq!(
        (r.status, r.json()),
        (403, json!({ "message": "403 Forbidden" }))
    );
    create_release(&emu, "v1.0.0");

    // Only name, description, released_at, milestones are accepted: assets alone is "empty".
    let r = api(
        &emu,
        "PUT",
        "/projects/42/releases/v1.0.0",
        Some(json!({ "assets": { "links": [{ "name": "a", "url": "https://a" }] } })),
    );
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "message": "params is empty" }))
    );
    assert!(emu.links(PID, "v1.0.0").is_empty());

    let r = api(
        &emu,
        "PUT",
        "/projects/42/releases/v1.0.0",
        Some(json!({ "description": "new", "name": "N" })),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        (r.json()["description"].clone(), r.json()["name"].clone()),
        (json!("new"), json!("N"))
    );

    let r = api(
        &emu,
        "PUT",
        "/projects/42/releases/v1.0.0",
        Some(json!({ "milestones": ["1.0"] })),
    );
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "message": "Milestone(s) not found: 1.0" }))
    );
    emu.add_milestone(PID, "1.0");
    let r = api(
        &emu,
        "PUT",
        "/projects/42/releases/v1.0.0",
        Some(json!({ "milestones": ["1.0"] })),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["milestones"][0]["title"], "1.0");
    assert_eq!(
        r.json()["milestones"][0]["issue_stats"],
        json!({ "total": 0, "closed": 0 })
    );
    let r = api(
        &emu,
        "PUT",
        "/projects/42/releases/v1.0.0",
        Some(json!({ "milestones": [] })),
    );
    assert_eq!(r.json()["milestones"], json!([]));

    let r = api(&emu, "DELETE", "/projects/42/releases/v1.0.0", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["tag_name"], "v1.0.0");
    let r = get(&emu, "/projects/42/releases/v1.0.0");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({ "message": "404 Not Found" }))
    );
    assert_eq!(
        emu.tags(PID),
        vec!["v1.0.0"],
        "deleting a release keeps its tag"
    );
    assert_eq!(
        api(&emu, "DELETE", "/projects/42/releases/v1.0.0", None).status,
        403
    );
}

#[test]
fn description_limit_is_one_million_characters() {
    let emu = setup();
    let long = "é".repeat(1_000_001);
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "v1.0.0", "description": long })),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Validation failed: Description is too long (maximum is 1000000 characters)"
    );
    let ok = "é".repeat(1_000_000);
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "v1.0.0", "description": ok })),
    );
    assert_eq!(r.status, 201);
    let r = api(
        &emu,
        "PUT",
        "/projects/42/releases/v1.0.0",
        Some(json!({ "description": long })),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({ "message": { "description": ["is too long (maximum is 1000000 characters)"] } })
    );
}

#[test]
fn released_at_upcoming_historical_and_list_order() {
    let emu = setup();
    emu.add_tag(PID, "v0.9.0", SHA);
    emu.add_tag(PID, "v2.0.0", SHA);
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "v0.9.0", "released_at": "2020-01-01T09:00:00+09:00" })),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["released_at"], "2020-01-01T00:00:00.000Z");
    assert_eq!(
        r.json()["evidences"],
        json!([]),
        "historical releases collect no evidence"
    );
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "v2.0.0", "released_at": "2999-01-01T00:00:00Z" })),
    );
    assert_eq!(r.json()["upcoming_release"], true);
    create_release(&emu, "v1.0.0");

    let tags = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["tag_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        tags(&get(&emu, "/projects/42/releases").json()),
        ["v2.0.0", "v1.0.0", "v0.9.0"]
    );
    assert_eq!(
        tags(&get(&emu, "/projects/42/releases?sort=asc").json()),
        ["v0.9.0", "v1.0.0", "v2.0.0"]
    );
    assert_eq!(
        tags(&get(&emu, "/projects/42/releases?order_by=created_at").json()),
        ["v1.0.0", "v2.0.0", "v0.9.0"]
    );
    let r = get(&emu, "/projects/42/releases?order_by=semver");
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({ "error": "order_by does not have a valid value" })
        )
    );

    // permalink/latest: an upcoming release counts as the latest.
    let r = get(
        &emu,
        "/projects/42/releases/permalink/latest/downloads/bin/app",
    );
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("/api/v4/projects/42/releases/v2.0.0/downloads/bin/app")
    );
}

// ---------------------------------------------------------------------------------------------
// Release links

#[test]
fn link_validation_messages_are_arrays() {
    let emu = setup();
    create_release(&emu, "v1.0.0");
    let links = "/projects/42/releases/v1.0.0/assets/links";

    let r = form(
        &emu,
        "POST",
        links,
        "name=app&url=https%3A%2F%2Fexample.com%2Fapp&direct_asset_path=%2Fbin%2Fapp",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let first = r.json();
    assert_eq!(first["link_type"], "other");
    assert_eq!(
        first["direct_asset_url"],
        format!(
            "{}/group/sub/app/-/releases/v1.0.0/downloads/bin/app",
            emu.url()
        )
    );

    let post = |b: Value| api(&emu, "POST", links, Some(b));
    let cases = [
        (
            json!({ "name": "app", "url": "https://example.com/other" }),
            vec!["Name has already been taken"],
        ),
        (
            json!({ "name": "other", "url": "https://example.com/app" }),
            vec!["Url has already been taken"],
        ),
        (
            json!({ "name": "ssh", "url": "ssh://example.com/x" }),
            vec!["Url is blocked: Only allowed schemes are http, https, ftp"],
        ),
        (
            json!({ "name": "p", "url": "https://e.com/p", "direct_asset_path": "bin/app" }),
            vec!["Filepath is in an invalid format"],
        ),
        (
            json!({ "name": "p", "url": "https://e.com/p", "direct_asset_path": "/bin/app-" }),
            vec!["Filepath is in an invalid format"],
        ),
        (
            json!({ "name": "p", "url": "https://e.com/p", "direct_asset_path": "/bin//app" }),
            vec!["Filepath is in an invalid format"],
        ),
        (
            json!({ "name": "p", "url": "https://e.com/p", "filepath": format!("/{}", "a".repeat(128)) }),
            vec!["Filepath is too long (maximum is 128 characters)"],
        ),
        (
            json!({ "name": "p", "url": "https://e.com/p", "direct_asset_path": "/bin/app" }),
            vec!["Filepath has already been taken"],
        ),
        (
            json!({ "name": "", "url": "https://e.com/q" }),
            vec!["Name can't be blank"],
        ),
    ];
    for (body, expected) in cases {
        let r = post(body.clone());
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json(), json!({ "message": expected }), "{body}");
    }
    for ok in ["/a/b", "/bin/app_1.2-x86", "/x.tar.gz", "/é/ok"] {
        let r = post(
            json!({ "name": ok, "url": format!("ftp://e.com{}", ok.len()), "direct_asset_path": ok }),
        );
        assert_eq!(r.status, 201, "{ok}: {}", r.text());
    }

    let r = post(json!({}));
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "error": "name is missing, url is missing" }))
    );
    let r = post(json!({ "name": "t", "url": "https://e.com/t", "link_type": "binary" }));
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({ "error": "link_type does not have a valid value" })
        )
    );

    // Update.
    let id = first["id"].as_u64().unwrap();
    let one = format!("{links}/{id}");
    let r = api(&emu, "PUT", &one, Some(json!({ "link_type": "runbook" })));
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({ "error": "name, url are missing, at least one parameter must be provided" })
        )
    );
    let r = api(
        &emu,
        "PUT",
        &one,
        Some(json!({ "name": "app", "link_type": "runbook" })),
    );
    assert_eq!(
        (r.status, r.json()["link_type"].clone()),
        (200, json!("runbook"))
    );
    let r = api(&emu, "PUT", &one, Some(json!({ "name": "app2" })));
    assert_eq!(
        r.json()["link_type"],
        "other",
        "PUT without link_type resets it to other"
    );
    assert_eq!(
        r.json()["direct_asset_url"],
        first["direct_asset_url"],
        "filepath is kept"
    );
    let r = api(&emu, "PUT", &one, Some(json!({ "name": "/a/b" })));
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "message": ["Name has already been taken"] }))
    );
    let r = get(&emu, &one);
    assert_eq!(r.json()["name"], "app2");

    // Redirect through the direct asset path.
    let r = get(&emu, "/projects/42/releases/v1.0.0/downloads/bin/app");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://example.com/app"))
    );

    // Delete.
    let r = api(&emu, "DELETE", &one, None);
    assert_eq!((r.status, r.json()["id"].as_u64()), (200, Some(id)));
    let r = get(&emu, &one);
    assert_eq!(
        (r.status, r.json()),
        (404, json!({ "message": "404 Not found" }))
    );
    let r = get(&emu, "/projects/42/releases/v9/assets/links");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({ "message": "404 Not found" }))
    );
}

#[test]
fn nested_links_are_validated_on_create() {
    let emu = setup();
    let dup = json!({
        "tag_name": "v2.0.0", "ref": SHA,
        "assets": { "links": [
            { "name": "a", "url": "https://e.com/a" },
            { "name": "a", "url": "https://e.com/b" }
        ] }
    });
    let r = api(&emu, "POST", "/projects/42/releases", Some(dup));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Validation failed: Links have duplicate values (a)"
    );
    assert!(emu.release(PID, "v2.0.0").is_none());
    assert!(
        emu.tags(PID).contains(&"v2.0.0".to_string()),
        "the tag is created before the release is saved"
    );

    let bad = json!({
        "tag_name": "v1.0.0",
        "assets": { "links": [{ "name": "a", "url": "file:///etc/passwd" }] }
    });
    let r = api(&emu, "POST", "/projects/42/releases", Some(bad));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Validation failed: Links url is blocked: Only allowed schemes are http, https, ftp"
    );
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(
            json!({ "tag_name": "v1.0.0", "assets": { "links": [{ "name": "a", "url": "https://e.com/a", "link_type": "bin" }] } }),
        ),
    );
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "message": "'bin' is not a valid link_type" }))
    );
    assert!(emu.releases(PID).is_empty());
}

#[test]
fn form_encoded_release_with_nested_links() {
    let emu = setup();
    emu.add_milestone(PID, "m1");
    let body = "tag_name=v1.0.0&name=Form+release&description=a%26b\
        &milestones[]=m1\
        &assets[links][][name]=one&assets[links][][url]=https%3A%2F%2Fe.com%2F1&assets[links][][link_type]=image\
        &assets[links][][name]=two&assets[links][][url]=https%3A%2F%2Fe.com%2F2";
    let r = form(&emu, "POST", "/projects/42/releases", body);
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["name"], "Form release");
    assert_eq!(v["description"], "a&b");
    assert_eq!(v["milestones"][0]["title"], "m1");
    let mut names: Vec<(String, String)> = v["assets"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().into(),
                l["link_type"].as_str().unwrap().into(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("one".into(), "image".into()),
            ("two".into(), "other".into())
        ]
    );
}

#[test]
fn pagination_headers_and_links() {
    let emu = setup();
    create_release(&emu, "v1.0.0");
    let path = "/projects/42/releases/v1.0.0/assets/links";
    for i in 0..25 {
        let r = form(
            &emu,
            "POST",
            path,
            &format!("name=l{i}&url=https%3A%2F%2Fe.com%2F{i}"),
        );
        assert_eq!(r.status, 201);
    }
    let r = get(&emu, &format!("{path}?per_page=10&page=2"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json().as_array().unwrap().len(), 10);
    let h = |n: &str| r.header(n).unwrap_or_else(|| panic!("no {n}")).to_string();
    assert_eq!(
        [
            h("X-Page"),
            h("X-Per-Page"),
            h("X-Next-Page"),
            h("X-Prev-Page"),
            h("X-Total"),
            h("X-Total-Pages")
        ],
        ["2", "10", "3", "1", "25", "3"]
    );
    let base = format!("{}/api/v4{path}", emu.url());
    let link = h("Link");
    for (rel, page) in [("prev", 1), ("next", 3), ("first", 1), ("last", 3)] {
        let want = format!("<{base}?page={page}&per_page=10>; rel=\"{rel}\"");
        assert!(link.contains(&want), "{want} not in {link}");
    }

    let r = get(&emu, &format!("{path}?per_page=10&page=3"));
    assert_eq!(r.json().as_array().unwrap().len(), 5);
    assert_eq!(r.header("X-Next-Page"), Some(""));
    assert!(!r.header("Link").unwrap().contains("rel=\"next\""));

    // Default page size 20; newest first (created_at DESC).
    let r = get(&emu, path);
    let items = r.json();
    assert_eq!(items.as_array().unwrap().len(), 20);
    assert_eq!(items[0]["name"], "l24");
    assert_eq!(r.header("X-Per-Page"), Some("20"));
    assert_eq!(r.header("X-Prev-Page"), Some(""));

    let r = get(&emu, &format!("{path}?per_page=500"));
    assert_eq!(
        (r.header("X-Per-Page"), r.json().as_array().unwrap().len()),
        (Some("100"), 25)
    );
    let r = get(&emu, &format!("{path}?per_page=0"));
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({ "error": "per_page does not have a valid value" })
        )
    );
    let r = get(&emu, &format!("{path}?page=9"));
    assert_eq!((r.status, r.json()), (200, json!([])));

    // Other lists paginate too, and keep their other query parameters in Link.
    let r = get(&emu, "/projects/42/releases?sort=desc&per_page=1");
    assert_eq!(r.header("X-Total"), Some("1"));
    assert!(
        r.header("Link")
            .unwrap()
            .contains("?sort=desc&page=1&per_page=1>")
    );
    let r = get(&emu, "/projects/42/repository/tags");
    assert_eq!(r.header("X-Total-Pages"), Some("1"));
}

#[test]
fn encoded_project_path_and_tags_with_slashes() {
    let emu = setup();
    emu.add_tag(PID, "release/v1", SHA);
    let r = api(
        &emu,
        "POST",
        "/projects/group%2Fsub%2Fapp/releases",
        Some(json!({ "tag_name": "release/v1" })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["tag_path"], "/group/sub/app/-/tags/release%2Fv1");

    let r = get(&emu, "/projects/group%2Fsub%2Fapp/releases/release%2Fv1");
    assert_eq!(
        (r.status, r.json()["tag_name"].clone()),
        (200, json!("release/v1"))
    );
    let r = get(&emu, "/projects/42/releases/release%2Fv1/assets/links");
    assert_eq!(r.status, 200);

    // A raw slash is a new path segment: no route matches.
    let r = get(&emu, "/projects/42/releases/release/v1");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({ "error": "404 Not Found" }))
    );
    let r = get(&emu, "/projects/group/sub/app/releases");
    assert_eq!(r.status, 404);
    let r = get(&emu, "/projects/group%2Fnope/releases");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({ "message": "404 Project Not Found" }))
    );

    let r = get(&emu, "/projects/group%2Fsub%2Fapp");
    assert_eq!((r.status, r.json()["id"].clone()), (200, json!(42)));
    assert_eq!(r.json()["path_with_namespace"], "group/sub/app");

    let paths: Vec<String> = emu.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.contains(&"/api/v4/projects/group%2Fsub%2Fapp/releases/release%2Fv1".to_string())
    );

    // URLs GitLab builds with Rails route helpers escape `/` but keep `.` and `+`; the same tag
    // may arrive with `.` encoded as `%2E` (as go-gitlab sends it).
    emu.add_tag(PID, "debian/2.4.0+1", SHA);
    let body = json!({ "tag_name": "debian/2.4.0+1", "assets": { "links": [
        { "name": "deb", "url": "https://e.com/x.deb", "direct_asset_path": "/pkg/x.deb" }
    ] } });
    let r = api(&emu, "POST", "/projects/42/releases", Some(body));
    assert_eq!(r.status, 201, "{}", r.text());
    let v = get(&emu, "/projects/42/releases/debian%2F2%2E4%2E0%2B1").json();
    assert_eq!(v["tag_path"], "/group/sub/app/-/tags/debian%2F2.4.0+1");
    assert_eq!(
        v["assets"]["links"][0]["direct_asset_url"],
        format!(
            "{}/group/sub/app/-/releases/debian%2F2.4.0+1/downloads/pkg/x.deb",
            emu.url()
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Generic packages

#[test]
fn generic_package_reupload_adds_a_file() {
    let emu = setup();
    let url = "/projects/42/packages/generic/app/1.0.0/app.tar.gz";
    let r = api(&emu, "PUT", url, None);
    assert_eq!(r.status, 201, "an empty file is a file");
    let r = send(
        &emu,
        "PUT",
        &format!("/api/v4{url}"),
        &[("PRIVATE-TOKEN", TOKEN)],
        b"one",
    )
    .unwrap();
    assert_eq!(
        (r.status, r.json()),
        (201, json!({ "message": "201 Created" }))
    );
    let r = send(
        &emu,
        "PUT",
        &format!("/api/v4{url}?select=package_file"),
        &[("PRIVATE-TOKEN", TOKEN)],
        b"two",
    )
    .unwrap();
    assert_eq!(r.status, 201);
    let f = r.json();
    let sha_two = hex::encode(Sha256::digest(b"two"));
    assert_eq!(f["file_sha256"], sha_two);
    assert_eq!(f["size"], 3);
    assert_eq!(f["file_name"], "app.tar.gz");

    let files = emu.package_files(PID);
    assert_eq!(files.len(), 3, "re-uploading adds files");
    assert!(files.iter().all(|x| x.package_id == files[0].package_id));
    assert_eq!(files[2].sha256, sha_two);
    assert_eq!(files[2].content, b"two");
    assert_eq!(files[2].id, f["id"].as_u64().unwrap());

    let r = get(&emu, url);
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, b"two".as_slice()),
        "download gives the latest"
    );

    // A large body, streamed.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let r = send(
        &emu,
        "PUT",
        "/api/v4/projects/42/packages/generic/app/1.0.0/big.bin",
        &[("PRIVATE-TOKEN", TOKEN)],
        &big,
    )
    .unwrap();
    assert_eq!(r.status, 201);
    let stored = emu.package_files(PID).pop().unwrap();
    assert_eq!(
        (stored.size, stored.sha256),
        (big.len() as u64, hex::encode(Sha256::digest(&big)))
    );

    // Packages API.
    let list = get(
        &emu,
        "/projects/42/packages?package_type=generic&package_name=ap",
    )
    .json();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "package_name is a fuzzy filter"
    );
    assert_eq!(list[0]["name"], "app");
    assert_eq!(list[0]["version"], "1.0.0");
    assert_eq!(list[0]["package_type"], "generic");
    let pkg = list[0]["id"].as_u64().unwrap();
    let pf = get(
        &emu,
        &format!("/projects/42/packages/{pkg}/package_files?per_page=2"),
    );
    assert_eq!(pf.header("X-Total"), Some("4"));
    let pf = pf.json();
    assert_eq!(pf[0]["file_sha256"], hex::encode(Sha256::digest(b"")));
    assert_eq!(pf[1]["file_name"], "app.tar.gz");
    let first_id = pf[0]["id"].as_u64().unwrap();
    let r = api(
        &emu,
        "DELETE",
        &format!("/projects/42/packages/{pkg}/package_files/{first_id}"),
        None,
    );
    assert_eq!((r.status, r.body.len()), (204, 0));
    assert_eq!(emu.package_files(PID).len(), 3);
    let r = api(
        &emu,
        "DELETE",
        &format!("/projects/42/packages/{pkg}/package_files/{first_id}"),
        None,
    );
    assert_eq!(r.status, 404);

    // Name rules.
    for (path, err) in [
        (
            "/projects/42/packages/generic/bad%20name/1.0.0/f",
            "package_name is invalid",
        ),
        (
            "/projects/42/packages/generic/app/1..0/f",
            "package_version is invalid",
        ),
        (
            "/projects/42/packages/generic/app/1.0.0/f%3Fx",
            "file_name is invalid",
        ),
    ] {
        let r = api(&emu, "PUT", path, None);
        assert_eq!(
            (r.status, r.json()),
            (400, json!({ "error": err })),
            "{path}"
        );
    }
    emu.set_max_file_size(2);
    let r = send(
        &emu,
        "PUT",
        &format!("/api/v4{url}"),
        &[("PRIVATE-TOKEN", TOKEN)],
        b"abc",
    )
    .unwrap();
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({ "message": "400 Bad request - File is too large" })
        )
    );

    let r = api(
        &emu,
        "DELETE",
        &format!("/projects/42/packages/{pkg}"),
        None,
    );
    assert_eq!(r.status, 204);
    assert!(emu.package_files(PID).is_empty());
    assert_eq!(get(&emu, url).status, 404);
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[test]
fn job_token_is_limited_to_releases_packages_and_tag_listing() {
    let emu = setup();
    let body = json!({ "tag_name": "v1.0.0" }).to_string();
    assert_eq!(
        job(&emu, "POST", "/projects/42/releases", body.as_bytes()).status,
        201
    );
    assert_eq!(job(&emu, "GET", "/projects/42/releases", b"").status, 200);
    assert_eq!(
        job(&emu, "GET", "/projects/42/releases/v1.0.0", b"").status,
        200
    );
    let link = json!({ "name": "a", "url": "https://e.com/a" }).to_string();
    assert_eq!(
        job(
            &emu,
            "POST",
            "/projects/42/releases/v1.0.0/assets/links",
            link.as_bytes()
        )
        .status,
        201
    );
    assert_eq!(
        job(
            &emu,
            "PUT",
            "/projects/42/releases/v1.0.0",
            br#"{"name":"n"}"#
        )
        .status,
        200
    );
    assert_eq!(
        job(
            &emu,
            "PUT",
            "/projects/42/packages/generic/app/1.0.0/a.bin",
            b"x"
        )
        .status,
        201
    );
    assert_eq!(
        job(
            &emu,
            "GET",
            "/projects/42/packages/generic/app/1.0.0/a.bin",
            b""
        )
        .status,
        200
    );
    let pkgs = job(&emu, "GET", "/projects/42/packages", b"");
    assert_eq!(pkgs.status, 200);
    let pkg = pkgs.json()[0]["id"].as_u64().unwrap();
    assert_eq!(
        job(
            &emu,
            "GET",
            &format!("/projects/42/packages/{pkg}/package_files"),
            b""
        )
        .status,
        200
    );
    assert_eq!(
        job(&emu, "GET", "/projects/42/repository/tags", b"").status,
        200
    );

    let not_found = json!({ "message": "404 Project Not Found" });
    for (m, p) in [
        ("GET", "/projects/42"),
        ("GET", "/projects/42/repository/tags/v1.0.0"),
        ("POST", "/projects/42/repository/tags"),
    ] {
        let r = job(&emu, m, p, br#"{"tag_name":"v9","ref":"main"}"#);
        assert_eq!((r.status, r.json()), (404, not_found.clone()), "{m} {p}");
    }
    assert_eq!(job(&emu, "GET", "/user", b"").status, 401);

    // The same calls work with a personal access token.
    assert_eq!(get(&emu, "/projects/42").status, 200);
    assert_eq!(get(&emu, "/projects/42/repository/tags/v1.0.0").status, 200);
    let r = api(
        &emu,
        "POST",
        "/projects/42/repository/tags",
        Some(json!({ "tag_name": "v9", "ref": "main" })),
    );
    assert_eq!(r.status, 201);
    let r = api(
        &emu,
        "POST",
        "/projects/42/repository/tags",
        Some(json!({ "tag_name": "v9", "ref": "main" })),
    );
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "message": "Tag v9 already exists" }))
    );

    // An unknown job token, and job tokens sent other ways.
    let r = send(
        &emu,
        "GET",
        "/api/v4/projects/42/releases",
        &[("JOB-TOKEN", "expired")],
        b"",
    )
    .unwrap();
    assert_eq!(
        (r.status, r.json()),
        (401, json!({ "message": "401 Unauthorized" }))
    );
    let r = send(
        &emu,
        "GET",
        &format!("/api/v4/projects/42/releases?job_token={JOB}"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let bearer = format!("Bearer {JOB}");
    let r = send(
        &emu,
        "GET",
        "/api/v4/projects/42",
        &[("Authorization", &bearer)],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 404);
}

#[test]
fn unauthorized_and_token_echo() {
    let emu = setup();
    let r = send(&emu, "GET", "/api/v4/projects/42/releases", &[], b"").unwrap();
    assert_eq!(
        (r.status, r.json()),
        (401, json!({ "message": "401 Unauthorized" }))
    );
    let r = send(
        &emu,
        "GET",
        "/api/v4/projects/42/releases",
        &[("PRIVATE-TOKEN", "glpat-wrong")],
        b"",
    )
    .unwrap();
    assert_eq!(
        (r.status, r.json()),
        (401, json!({ "message": "401 Unauthorized" }))
    );
    let bearer = format!("Bearer {TOKEN}");
    let r = send(
        &emu,
        "GET",
        "/api/v4/projects/42/releases",
        &[("Authorization", &bearer)],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let r = send(
        &emu,
        "GET",
        "/api/v4/projects/42/releases",
        &[("PRIVATE-TOKEN", "glpat-wrong")],
        b"",
    )
    .unwrap();
    assert!(!r.text().contains("glpat-wrong"));

    emu.echo_token_in_errors(true);
    let r = send(
        &emu,
        "GET",
        "/api/v4/projects/42/releases",
        &[("PRIVATE-TOKEN", "glpat-wrong")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 401);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("glpat-wrong"),
        "{}",
        r.text()
    );
    create_release(&emu, "v1.0.0");
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases",
        Some(json!({ "tag_name": "v1.0.0" })),
    );
    assert_eq!(r.status, 409);
    assert!(r.text().contains(TOKEN));
    let r = api(
        &emu,
        "POST",
        "/projects/42/releases/v1.0.0/assets/links",
        Some(json!({ "name": "a", "url": "ssh://x" })),
    );
    assert!(
        r.json()["message"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().contains(TOKEN))
    );
    let r = get(&emu, "/projects/42/releases/v1.0.0");
    assert!(!r.text().contains(TOKEN), "success bodies are untouched");
}

// ---------------------------------------------------------------------------------------------
// Accounting, UI edits, faults

#[test]
fn request_accounting_and_human_edits() {
    let emu = setup();
    create_release(&emu, "v1.0.0");
    get(
        &emu,
        "/projects/42/releases/v1.0.0?include_html_description=true",
    );
    send(
        &emu,
        "HEAD",
        "/api/v4/projects/42/releases",
        &[("PRIVATE-TOKEN", TOKEN)],
        b"",
    )
    .unwrap();
    assert_eq!(emu.write_count(), 1);
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!((reqs[0].method.as_str(), reqs[0].status), ("POST", 201));
    assert_eq!(reqs[0].body, r#"{"tag_name":"v1.0.0"}"#);
    assert_eq!(reqs[0].header("private-token"), Some(TOKEN));
    assert_eq!(
        (reqs[1].path.as_str(), reqs[1].query.as_str()),
        (
            "/api/v4/projects/42/releases/v1.0.0",
            "include_html_description=true"
        )
    );
    assert_eq!(reqs[2].method, "HEAD");
    emu.reset_requests();
    assert_eq!((emu.requests().len(), emu.write_count()), (0, 0));

    emu.set_release_description(PID, "v1.0.0", "edited by hand");
    let id = emu.add_link_by_hand(PID, "v1.0.0", "Manual", "https://example.com/manual");
    let v = get(&emu, "/projects/42/releases/v1.0.0").json();
    assert_eq!(v["description"], "edited by hand");
    assert_eq!(v["assets"]["links"][0]["id"].as_u64(), Some(id));
    assert_eq!(emu.links(PID, "v1.0.0")[0]["name"], "Manual");
    assert_eq!(emu.write_count(), 0, "UI edits are not API requests");
}

#[test]
fn scripted_faults() {
    let emu = setup();
    create_release(&emu, "v1.0.0");
    let links = "/projects/42/releases/v1.0.0/assets/links";

    emu.fail_next(Fault::Status(503), 1);
    let r = get(&emu, links);
    assert_eq!(r.status, 503);
    assert_eq!(get(&emu, links).status, 200);

    emu.fail_next(Fault::Status(500), 1);
    let r = get(&emu, links);
    assert_eq!(
        (r.status, r.json()),
        (500, json!({ "message": "500 Internal Server Error" }))
    );

    emu.fail_next(
        Fault::RateLimit {
            retry_after_secs: 1,
        },
        1,
    );
    let r = get(&emu, links);
    assert_eq!((r.status, r.header("Retry-After")), (429, Some("1")));
    assert!(r.header("RateLimit-Reset").is_some());

    emu.fail_next(Fault::Drop, 1);
    assert!(
        send(
            &emu,
            "GET",
            &format!("/api/v4{links}"),
            &[("PRIVATE-TOKEN", TOKEN)],
            b""
        )
        .is_err()
    );
    assert_eq!(emu.requests().last().unwrap().status, 0);

    // Applied, then 502: the link exists although the client saw a failure.
    emu.fail_next_on("POST", "/assets/links", Fault::AppliedThen502, 1);
    assert_eq!(
        get(&emu, links).status,
        200,
        "a GET does not match the rule"
    );
    let r = api(
        &emu,
        "POST",
        links,
        Some(json!({ "name": "a", "url": "https://e.com/a" })),
    );
    assert_eq!(r.status, 502);
    assert_eq!(emu.links(PID, "v1.0.0").len(), 1);
    let r = api(
        &emu,
        "POST",
        links,
        Some(json!({ "name": "a", "url": "https://e.com/a" })),
    );
    assert_eq!(r.status, 400, "a blind retry hits the uniqueness rule");

    emu.fail_next(Fault::AppliedThenDrop, 1);
    let sent = send(
        &emu,
        "POST",
        &format!("/api/v4{links}"),
        &[
            ("PRIVATE-TOKEN", TOKEN),
            ("Content-Type", "application/json"),
        ],
        br#"{"name":"b","url":"https://e.com/b"}"#,
    );
    assert!(sent.is_err());
    assert_eq!(emu.links(PID, "v1.0.0").len(), 2);

    emu.fail_next(Fault::Status(502), 5);
    emu.clear_faults();
    assert_eq!(get(&emu, links).status, 200);
}

/// Runs a fixed request script and returns the statuses the emulator recorded.
fn fault_script(seed: u64) -> (Vec<u16>, usize) {
    let emu = setup();
    create_release(&emu, "v1.0.0");
    emu.reset_requests();
    emu.inject_faults(0.4, seed);
    let links = "/projects/42/releases/v1.0.0/assets/links";
    for i in 0..40 {
        let (m, body) = if i % 3 == 0 {
            (
                "POST",
                json!({ "name": format!("n{i}"), "url": format!("https://e.com/{i}") }).to_string(),
            )
        } else {
            ("GET", String::new())
        };
        let _ = send(
            &emu,
            m,
            &format!("/api/v4{links}"),
            &[
                ("PRIVATE-TOKEN", TOKEN),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        );
    }
    emu.clear_faults();
    let statuses = emu.requests().iter().map(|r| r.status).collect();
    (statuses, emu.links(PID, "v1.0.0").len())
}

#[test]
fn fault_injection_is_deterministic() {
    let (a, links_a) = fault_script(7);
    let (b, links_b) = fault_script(7);
    assert_eq!(a, b);
    assert_eq!(links_a, links_b);
    assert_eq!(a.len(), 40);
    for s in [0, 429, 500, 502, 503] {
        assert!(a.contains(&s), "status {s} never injected: {a:?}");
    }
    assert!(a.iter().any(|s| *s == 200 || *s == 201));
    let (c, _) = fault_script(8);
    assert_ne!(a, c, "another seed gives another sequence");
}

/// The relsync client uses reqwest with a keep-alive pool: dropped connections must surface as
/// errors and leave the pool usable, chunked (streamed) uploads must be hashed whole, and
/// concurrent creates of one release must give one 201 and 409s.
#[test]
fn works_with_a_pooled_async_client() {
    let emu = setup();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let api_url = emu.api_url();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let releases = format!("{api_url}/projects/42/releases");
        let r = client
            .get(&releases)
            .header("PRIVATE-TOKEN", TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);

        emu.fail_next(Fault::Drop, 1);
        let r = client
            .get(&releases)
            .header("PRIVATE-TOKEN", TOKEN)
            .send()
            .await;
        assert!(r.is_err(), "{r:?}");
        let r = client
            .get(&releases)
            .header("PRIVATE-TOKEN", TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);

        let chunks: Vec<Result<Vec<u8>, io::Error>> =
            (0..64).map(|i| Ok(vec![i as u8; 16 * 1024])).collect();
        let whole: Vec<u8> = chunks
            .iter()
            .flat_map(|c| c.as_ref().unwrap().clone())
            .collect();
        let r = client
            .put(format!(
                "{api_url}/projects/42/packages/generic/app/1.0.0/stream.bin"
            ))
            .header("JOB-TOKEN", JOB)
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let f = &emu.package_files(PID)[0];
        assert_eq!(
            (f.size, f.sha256.clone()),
            (whole.len() as u64, hex::encode(Sha256::digest(&whole)))
        );

        emu.set_latency(Duration::from_millis(20));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (c, u) = (client.clone(), releases.clone());
                tokio::spawn(async move {
                    c.post(u)
                        .header("PRIVATE-TOKEN", TOKEN)
                        .json(&json!({ "tag_name": "v1.0.0" }))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409, 409, 409]);
    });
    assert_eq!(emu.releases(PID).len(), 1);
}

#[test]
fn emulator_can_be_shared_across_threads() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<GitlabEmulator>();
    let emu = setup();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| assert_eq!(get(&emu, "/projects/42/releases").status, 200));
        }
    });
    assert_eq!(emu.requests().len(), 2);
}
