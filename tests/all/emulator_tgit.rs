//! Tests of the Tencent Git emulator itself (tests/all/helpers/tgit.rs): it must answer as seed
//! 004 and research/forge-apis.md §2 describe 工蜂 (JSON shapes, plain tags vs releases, label
//! limit, tag creation, attachment name rewriting and size limit, pagination headers, `%2F`,
//! auth) and its fault injection (423 and 429 included) must be deterministic.
//!
//! The tiny blocking HTTP/1.1 client of `helpers/http_client.rs` talks to it, so that what is
//! tested is the wire behaviour and not a client library's interpretation of it; one test uses
//! reqwest.

use std::io;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::http_client::{Resp, form_request, json_request, multipart, send_url};
use crate::helpers::tgit::{DuplicateAttachments, Fault, TgitEmulator, sanitize_attachment_name};

const TOKEN: &str = "tgit-emulator-secret";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const MASTER: &str = "1111111111111111111111111111111111111111";
const PID: u64 = 85436;

// ---------------------------------------------------------------------------------------------
// Requests

/// Sends one request (`path` from the root) on a fresh connection; `Err` when the server closed
/// it without answering.
fn send(
    emu: &TgitEmulator,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Resp> {
    send_url(&format!("{}{path}", emu.url()), method, headers, body)
}

/// A JSON request under `/api/v3` with the token.
fn api(emu: &TgitEmulator, method: &str, path: &str, body: Option<Value>) -> Resp {
    let url = format!("{}/api/v3{path}", emu.url());
    json_request(&url, method, &[("PRIVATE-TOKEN", TOKEN)], body)
}

fn get(emu: &TgitEmulator, path: &str) -> Resp {
    api(emu, "GET", path, None)
}

fn form(emu: &TgitEmulator, method: &str, path: &str, body: &str) -> Resp {
    let url = format!("{}/api/v3{path}", emu.url());
    form_request(&url, method, &[("PRIVATE-TOKEN", TOKEN)], body)
}

/// Uploads one file as the multipart part `field`.
fn upload_raw(
    emu: &TgitEmulator,
    path: &str,
    field: &str,
    filename: &str,
    data: &[u8],
) -> io::Result<Resp> {
    let (ct, body) = multipart(&[(field, Some(filename), data)]);
    send(
        emu,
        "POST",
        &format!("/api/v3{path}"),
        &[("PRIVATE-TOKEN", TOKEN), ("Content-Type", &ct)],
        &body,
    )
}

fn upload(emu: &TgitEmulator, tag_seg: &str, filename: &str, data: &[u8]) -> Resp {
    upload_raw(
        emu,
        &format!("/projects/{PID}/releases/{tag_seg}/attachments"),
        "file",
        filename,
        data,
    )
    .expect("upload")
}

fn setup() -> TgitEmulator {
    let emu = TgitEmulator::start();
    emu.add_project(PID, "tencent/code");
    emu.add_private_token(TOKEN);
    emu
}

fn create(emu: &TgitEmulator, tag: &str) -> Value {
    let r = api(
        emu,
        "POST",
        &format!("/projects/{PID}/releases"),
        Some(json!({ "tag": tag, "start_point": "master" })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn is_tgit_time(v: &Value) -> bool {
    // 2016-12-20T03:21:31+0000
    v.as_str().is_some_and(|s| {
        s.len() == 24
            && s.as_bytes()[10] == b'T'
            && s.ends_with("+0000")
            && chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z").is_ok()
    })
}

// ---------------------------------------------------------------------------------------------
// Releases

#[test]
fn create_with_labels_has_the_seed_shape() {
    let emu = setup();
    let r = api(
        &emu,
        "POST",
        "/projects/85436/releases",
        Some(json!({
            "tag": "v1.0.0",
            "start_point": "master",
            "tag_message": "Release 1.0.0",
            "title": "App 1.0.0",
            "description": "notes",
            "labels": "stable, lts,stable,",
        })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(
        keys(&v),
        [
            "attachments",
            "author",
            "created_at",
            "description",
            "id",
            "project_id",
            "ref",
            "tag",
            "title",
            "type",
            "updated_at"
        ]
    );
    assert_eq!(v["tag"], "v1.0.0");
    assert_eq!(v["title"], "App 1.0.0");
    assert_eq!(v["type"], "release");
    assert_eq!(v["description"], "notes");
    assert_eq!(v["project_id"], PID);
    assert_eq!(v["attachments"], json!([]));
    assert_eq!(v["updated_at"], Value::Null);
    assert_eq!(v["author"], Value::Null);
    assert!(v["id"].is_u64());
    assert!(is_tgit_time(&v["created_at"]), "{}", v["created_at"]);
    assert_eq!(keys(&v["ref"]), ["commit", "message", "name"]);
    assert_eq!(v["ref"]["name"], "v1.0.0");
    assert_eq!(v["ref"]["message"], "Release 1.0.0");
    let c = &v["ref"]["commit"];
    assert_eq!(
        keys(c),
        [
            "author_email",
            "author_name",
            "authored_date",
            "committed_date",
            "committer_email",
            "committer_name",
            "created_at",
            "id",
            "message",
            "parent_ids",
            "short_id",
            "title"
        ]
    );
    assert_eq!(
        (c["id"].as_str(), c["short_id"].as_str()),
        (Some(MASTER), Some("11111111"))
    );
    assert!(is_tgit_time(&c["committed_date"]));
    assert_eq!(emu.labels(PID, "v1.0.0"), ["stable", "lts"]);
    assert_eq!(emu.release(PID, "v1.0.0").unwrap(), v);
    assert_eq!(get(&emu, "/projects/85436/releases/v1.0.0").json(), v);

    // Labels in the JSON only when asked for (the seed's samples have none).
    emu.set_labels_in_json(true);
    assert_eq!(
        get(&emu, "/projects/85436/releases/v1.0.0").json()["labels"],
        json!(["stable", "lts"])
    );

    // Title defaults to the tag; form bodies work as JSON ones do.
    let r = form(
        &emu,
        "POST",
        "/projects/85436/releases",
        "tag=v1.1.0&start_point=master&labels=a%2Cb&description=x+y",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (v["title"].as_str(), v["description"].as_str()),
        (Some("v1.1.0"), Some("x y"))
    );
    assert_eq!(v["ref"]["message"], Value::Null, "lightweight tag");
    assert_eq!(v["labels"], json!(["a", "b"]));

    // A second create for the same release conflicts.
    let r = api(
        &emu,
        "POST",
        "/projects/85436/releases",
        Some(json!({ "tag": "v1.0.0", "start_point": "master" })),
    );
    assert_eq!(
        (r.status, r.json()),
        (409, json!({ "message": "Release already exists" }))
    );
    let r = api(&emu, "POST", "/projects/85436/releases", Some(json!({})));
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({ "message": "400 (Bad request) \"tag\" not given" })
        )
    );
    let r = api(
        &emu,
        "POST",
        "/projects/85436/releases",
        Some(json!({ "tag": "v2", "start_point": "master", "type": "draft" })),
    );
    assert_eq!(r.status, 400);
    assert_eq!(emu.tags(PID).len(), 2, "rejected creates make no tag");

    // Update: title, description, labels; updated_at set.
    let r = api(
        &emu,
        "PUT",
        "/projects/85436/releases/v1.0.0",
        Some(json!({ "title": "New", "description": "changed", "labels": "one" })),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (
            v["title"].as_str(),
            v["description"].as_str(),
            v["type"].as_str()
        ),
        (Some("New"), Some("changed"), Some("release"))
    );
    assert_eq!(v["labels"], json!(["one"]));
    assert!(is_tgit_time(&v["updated_at"]));
    let r = api(
        &emu,
        "PUT",
        "/projects/85436/releases/v1.0.0",
        Some(json!({ "labels": "" })),
    );
    assert_eq!(r.json()["labels"], json!([]));
    assert_eq!(r.json()["title"], "New", "absent fields stay");
    assert_eq!(
        api(
            &emu,
            "PUT",
            "/projects/85436/releases/nope",
            Some(json!({}))
        )
        .status,
        404
    );
}

#[test]
fn plain_tags_answer_with_type_none() {
    let emu = setup();
    emu.add_tag(PID, "v0.9.0", SHA);
    let r = get(&emu, "/projects/85436/releases/v0.9.0");
    assert_eq!(r.status, 200);
    let plain = r.json();
    assert_eq!(plain["type"], "none");
    assert_eq!(plain["title"], "v0.9.0");
    assert_eq!(plain["ref"]["commit"]["id"], SHA);
    assert!(emu.release(PID, "v0.9.0").is_none());
    assert_eq!(emu.tag_entry(PID, "v0.9.0").unwrap(), plain);

    let r = get(&emu, "/projects/85436/releases/v9");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({ "message": "404 Tag Not Found" }))
    );

    // The list shows releases by default; plain tags with type=none or all.
    create(&emu, "v1.0.0");
    let tags_of = |q: &str| -> Vec<String> {
        get(&emu, &format!("/projects/85436/releases{q}"))
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["tag"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(tags_of(""), ["v1.0.0"]);
    assert_eq!(tags_of("?type=release"), ["v1.0.0"]);
    assert_eq!(tags_of("?type=none"), ["v0.9.0"]);
    assert_eq!(tags_of("?type=all"), ["v1.0.0", "v0.9.0"]);
    assert_eq!(get(&emu, "/projects/85436/releases?type=x").status, 400);

    // A create on a plain tag promotes it: same row, tag_message and start_point ignored.
    let r = api(
        &emu,
        "POST",
        "/projects/85436/releases",
        Some(json!({ "tag": "v0.9.0", "start_point": "master", "tag_message": "ignored" })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (v["type"].as_str(), &v["id"]),
        (Some("release"), &plain["id"])
    );
    assert_eq!(v["ref"]["commit"]["id"], SHA);
    assert_eq!(v["ref"]["message"], Value::Null);

    // Delete without delete_tag: back to a plain tag, attachments and notes gone.
    upload(&emu, "v0.9.0", "a.txt", b"a");
    emu.set_release_description(PID, "v0.9.0", "by hand");
    let r = api(&emu, "DELETE", "/projects/85436/releases/v0.9.0", None);
    assert_eq!((r.status, r.body.len()), (200, 0));
    let v = get(&emu, "/projects/85436/releases/v0.9.0").json();
    assert_eq!(
        (v["type"].as_str(), &v["description"]),
        (Some("none"), &Value::Null)
    );
    assert_eq!(v["attachments"], json!([]));
    assert!(emu.attachments(PID, "v0.9.0").is_empty());
    assert_eq!(
        api(&emu, "DELETE", "/projects/85436/releases/v0.9.0", None).json(),
        json!({ "message": "404 Release Not Found" }),
        "DELETE is for releases only"
    );

    // PUT on a plain tag promotes it (type defaults to release); type=none demotes.
    let r = api(
        &emu,
        "PUT",
        "/projects/85436/releases/v0.9.0",
        Some(json!({ "description": "d" })),
    );
    assert_eq!(r.json()["type"], "release");
    let r = api(
        &emu,
        "PUT",
        "/projects/85436/releases/v0.9.0",
        Some(json!({ "type": " " })),
    );
    assert_eq!(r.json()["type"], "none");

    // delete_tag=true removes the tag too.
    let r = api(
        &emu,
        "DELETE",
        "/projects/85436/releases/v1.0.0?delete_tag=true",
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(emu.tags(PID), ["v0.9.0"]);
    assert_eq!(get(&emu, "/projects/85436/releases/v1.0.0").status, 404);
}

#[test]
fn more_than_ten_labels_are_rejected() {
    let emu = setup();
    let eleven: Vec<String> = (1..=11).map(|i| format!("l{i}")).collect();
    let r = api(
        &emu,
        "POST",
        "/projects/85436/releases",
        Some(json!({ "tag": "v1", "start_point": "master", "labels": eleven.join(",") })),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("labels"));
    assert!(emu.tags(PID).is_empty(), "nothing was created");

    let r = api(
        &emu,
        "POST",
        "/projects/85436/releases",
        Some(json!({ "tag": "v1", "start_point": "master", "labels": eleven[..10] })),
    );
    assert_eq!(r.status, 201, "a JSON array of 10 is fine: {}", r.text());
    assert_eq!(emu.labels(PID, "v1").len(), 10);

    let r = api(
        &emu,
        "PUT",
        "/projects/85436/releases/v1",
        Some(json!({ "labels": eleven.join(",") })),
    );
    assert_eq!(r.status, 400);
    assert_eq!(emu.labels(PID, "v1").len(), 10);

    // The list filter wants every label given.
    create(&emu, "v2");
    let n = |q: &str| {
        get(&emu, &format!("/projects/85436/releases{q}"))
            .json()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(n("?labels=l1"), 1);
    assert_eq!(n("?labels=l1,l2"), 1);
    assert_eq!(n("?labels=l1,zz"), 0);
    assert_eq!(n("?author_id=1"), 2);
    assert_eq!(n("?author_id=2"), 0);
}

#[test]
fn start_point_creates_the_tag() {
    let emu = setup();
    emu.add_branch(PID, "dev", SHA);
    let post = |body: Value| api(&emu, "POST", "/projects/85436/releases", Some(body));

    let r = post(json!({ "tag": "v1" }));
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({ "message": "400 (Bad request) \"start_point\" not given" })
        )
    );
    let r = post(json!({ "tag": "v1", "start_point": "nope" }));
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "message": "Target nope is invalid" }))
    );
    let r = post(json!({ "tag": "bad tag", "start_point": "master" }));
    assert_eq!(
        (r.status, r.json()),
        (400, json!({ "message": "Tag name invalid" }))
    );
    assert!(emu.tags(PID).is_empty());

    let v = post(json!({ "tag": "v1", "start_point": "dev", "tag_message": "annotated" })).json();
    assert_eq!(
        (
            v["ref"]["commit"]["id"].as_str(),
            v["ref"]["message"].as_str()
        ),
        (Some(SHA), Some("annotated"))
    );
    let v = post(json!({ "tag": "v2", "start_point": "abcdef1234567" })).json();
    assert_eq!(v["ref"]["commit"]["id"], "abcdef1234567");
    let v = post(json!({ "tag": "v3", "start_point": "v1" })).json();
    assert_eq!(v["ref"]["commit"]["id"], SHA, "from an existing tag");

    // type=none only creates the tag; doing it twice conflicts.
    let r = post(json!({ "tag": "base", "start_point": "master", "type": "none" }));
    assert_eq!((r.status, r.json()["type"].as_str()), (201, Some("none")));
    assert!(emu.release(PID, "base").is_none());
    let r = post(json!({ "tag": "base", "start_point": "master", "type": "none" }));
    assert_eq!(
        (r.status, r.json()),
        (409, json!({ "message": "Tag base already exists" }))
    );
    assert_eq!(emu.tags(PID), ["v1", "v2", "v3", "base"]);
}

// ---------------------------------------------------------------------------------------------
// Attachments

#[test]
fn attachment_names_are_sanitised() {
    let emu = setup();
    create(&emu, "v1.0.0");
    assert_eq!(
        sanitize_attachment_name("my app (linux) v1+2.tar.gz"),
        "my_app__linux__v1_2.tar.gz"
    );
    assert_eq!(sanitize_attachment_name("ok-1.0_x.zip"), "ok-1.0_x.zip");
    assert_eq!(sanitize_attachment_name("发布 包.txt"), "____.txt");

    let data = b"hello attachment".to_vec();
    let r = upload(&emu, "v1.0.0", "my app (linux) v1+2.tar.gz", &data);
    assert_eq!(r.status, 201, "{}", r.text());
    let a = r.json();
    assert_eq!(keys(&a), ["created_at", "name", "size", "type"]);
    assert_eq!(a["name"], "my_app__linux__v1_2.tar.gz");
    assert_eq!(
        (a["size"].as_u64(), a["type"].as_str()),
        (Some(data.len() as u64), Some("application/gzip"))
    );
    assert!(is_tgit_time(&a["created_at"]));

    // Quotes and backslashes in the multipart file name survive the parser, then get rewritten.
    let r = upload(&emu, "v1.0.0", r#"a"b\c.txt"#, b"x");
    assert_eq!(r.json()["name"], "a_b_c.txt");

    let rel = get(&emu, "/projects/85436/releases/v1.0.0").json();
    assert_eq!(rel["attachments"][0], a);
    assert_eq!(rel["attachments"][1]["name"], "a_b_c.txt");
    let stored = emu.attachments(PID, "v1.0.0");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].name, "my_app__linux__v1_2.tar.gz");
    assert_eq!(stored[0].sha256, hex::encode(Sha256::digest(&data)));
    assert_eq!(stored[0].content, data);

    // Download by the stored name; the original name is unknown.
    let r = get(
        &emu,
        "/projects/85436/releases/v1.0.0/attachments/my_app__linux__v1_2.tar.gz",
    );
    assert_eq!((r.status, r.body.clone()), (200, data.clone()));
    assert_eq!(r.header("Content-Type"), Some("application/gzip"));
    assert!(
        r.header("Content-Disposition")
            .unwrap()
            .contains("my_app__linux__v1_2.tar.gz")
    );
    let r = get(
        &emu,
        "/projects/85436/releases/v1.0.0/attachments/my%20app%20(linux)%20v1%2B2.tar.gz",
    );
    assert_eq!(
        (r.status, r.json()),
        (404, json!({ "message": "404 Attachment Not Found" }))
    );

    // Same (sanitised) name again: 409 by default, replaced when so configured.
    let r = upload(&emu, "v1.0.0", "my app (linux) v1+2.tar.gz", b"other");
    assert_eq!(r.status, 409, "{}", r.text());
    emu.set_duplicate_attachments(DuplicateAttachments::Replace);
    let r = upload(&emu, "v1.0.0", "my_app__linux__v1_2.tar.gz", b"other");
    assert_eq!(r.status, 201);
    let names: Vec<String> = emu
        .attachments(PID, "v1.0.0")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["a_b_c.txt", "my_app__linux__v1_2.tar.gz"]);
    assert_eq!(emu.attachments(PID, "v1.0.0")[1].content, b"other");

    // Delete.
    let r = api(
        &emu,
        "DELETE",
        "/projects/85436/releases/v1.0.0/attachments/a_b_c.txt",
        None,
    );
    assert_eq!(r.status, 200);
    let r = api(
        &emu,
        "DELETE",
        "/projects/85436/releases/v1.0.0/attachments/a_b_c.txt",
        None,
    );
    assert_eq!(r.status, 404);

    // Wrong field, no multipart, unknown tag.
    let r = upload_raw(
        &emu,
        "/projects/85436/releases/v1.0.0/attachments",
        "attachment",
        "x.bin",
        b"x",
    )
    .unwrap();
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({ "message": "400 (Bad request) \"file\" not given" })
        )
    );
    let r = api(
        &emu,
        "POST",
        "/projects/85436/releases/v1.0.0/attachments",
        Some(json!({ "file": "x" })),
    );
    assert_eq!(r.status, 400);
    assert_eq!(upload(&emu, "v9", "x.bin", b"x").status, 404);

    // Plain tags take attachments too (the seed: all but DELETE apply to tags).
    emu.add_tag(PID, "base", SHA);
    assert_eq!(upload(&emu, "base", "x.bin", b"x").status, 201);
    assert_eq!(
        emu.add_attachment_by_hand(PID, "base", "by hand.txt", b"h"),
        "by_hand.txt"
    );
    assert_eq!(emu.attachments(PID, "base").len(), 2);
}

#[test]
fn attachment_size_limit() {
    let emu = setup();
    create(&emu, "v1");
    // The default limit (200 MiB) lets an ordinary file through.
    assert_eq!(
        upload(&emu, "v1", "one-mib.bin", &vec![7u8; 1 << 20]).status,
        201
    );
    emu.set_max_attachment_size(10);
    let r = upload(&emu, "v1", "big.bin", &[0u8; 11]);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().starts_with("413"));
    assert_eq!(upload(&emu, "v1", "fits.bin", &[0u8; 10]).status, 201);
    let names: Vec<String> = emu
        .attachments(PID, "v1")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["one-mib.bin", "fits.bin"]);
}

// ---------------------------------------------------------------------------------------------
// Lists, encoding, auth

#[test]
fn pagination_headers() {
    let emu = setup();
    for i in 0..25 {
        create(&emu, &format!("v1.{i:02}"));
    }
    let r = get(&emu, "/projects/85436/releases");
    let h = |r: &Resp, n: &str| r.header(n).map(str::to_string);
    assert_eq!(r.json().as_array().unwrap().len(), 20);
    assert_eq!(h(&r, "X-Total").as_deref(), Some("25"));
    assert_eq!(h(&r, "X-Total-Pages").as_deref(), Some("2"));
    assert_eq!(h(&r, "X-Per-Page").as_deref(), Some("20"));
    assert_eq!(h(&r, "X-Page").as_deref(), Some("1"));
    assert_eq!(h(&r, "X-Next-Page").as_deref(), Some("2"));
    assert_eq!(h(&r, "X-Prev-Page").as_deref(), Some(""));
    assert!(r.header("Link").is_none());
    assert_eq!(r.json()[0]["tag"], "v1.24", "newest first");

    let r = get(&emu, "/projects/85436/releases?page=2");
    assert_eq!(r.json().as_array().unwrap().len(), 5);
    assert_eq!(h(&r, "X-Next-Page").as_deref(), Some(""));
    assert_eq!(h(&r, "X-Prev-Page").as_deref(), Some("1"));

    let r = get(&emu, "/projects/85436/releases?per_page=500");
    assert_eq!(h(&r, "X-Per-Page").as_deref(), Some("100"));
    assert_eq!(r.json().as_array().unwrap().len(), 25);

    let r = get(
        &emu,
        "/projects/85436/releases?per_page=10&page=3&order_by=name&sort=asc",
    );
    let tags: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["tag"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tags, ["v1.20", "v1.21", "v1.22", "v1.23", "v1.24"]);
    assert_eq!(
        get(&emu, "/projects/85436/releases?page=9").json(),
        json!([])
    );
    assert_eq!(
        get(&emu, "/projects/85436/releases?order_by=size").status,
        400
    );
    assert_eq!(get(&emu, "/projects/85436/releases?page=x").status, 400);
}

#[test]
fn encoded_project_path_and_tags_with_slashes() {
    let emu = setup();
    let r = api(
        &emu,
        "POST",
        "/projects/tencent%2Fcode/releases",
        Some(json!({ "tag": "release/1.0", "start_point": "master" })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(emu.tags(PID), ["release/1.0"]);
    assert_eq!(
        get(&emu, "/projects/tencent%2Fcode/releases/release%2F1.0").json()["tag"],
        "release/1.0"
    );
    assert_eq!(
        get(&emu, "/projects/85436/releases/release%2F1.0").status,
        200
    );
    assert_eq!(
        get(&emu, "/projects/TENCENT%2FCODE/releases/release%2F1.0").status,
        200
    );
    // A raw `/` splits the segment: no such route.
    let r = get(&emu, "/projects/85436/releases/release/1.0");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({ "message": "404 Not Found" }))
    );
    assert_eq!(get(&emu, "/projects/tencent/code/releases").status, 404);
    let r = get(&emu, "/projects/other%2Fcode/releases");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({ "message": "404 Project Not Found" }))
    );

    assert_eq!(upload(&emu, "release%2F1.0", "a b.txt", b"ab").status, 201);
    let r = get(
        &emu,
        "/projects/tencent%2Fcode/releases/release%2F1.0/attachments/a_b.txt",
    );
    assert_eq!(r.body, b"ab");
    assert_eq!(
        api(
            &emu,
            "PATCH",
            "/projects/85436/releases/release%2F1.0",
            None
        )
        .status,
        405
    );
}

#[test]
fn unauthorized_and_token_echo() {
    let emu = setup();
    let path = "/api/v3/projects/85436/releases";
    let unauthorized = json!({ "message": "401 Unauthorized" });
    let r = send(&emu, "GET", path, &[], b"").unwrap();
    assert_eq!((r.status, r.json()), (401, unauthorized.clone()));
    let r = send(&emu, "GET", path, &[("PRIVATE-TOKEN", "wrong-secret")], b"").unwrap();
    assert_eq!((r.status, r.json()), (401, unauthorized.clone()));
    assert!(!r.text().contains("wrong-secret"));
    let bearer = format!("Bearer {TOKEN}");
    let r = send(&emu, "GET", path, &[("Authorization", &bearer)], b"").unwrap();
    assert_eq!(r.status, 401, "Bearer is not 工蜂's header");
    let r = send(
        &emu,
        "GET",
        &format!("{path}?private_token={TOKEN}"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let r = send(
        &emu,
        "GET",
        &format!("{path}?access_token={TOKEN}"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);

    emu.echo_token_in_errors(true);
    let r = send(&emu, "GET", path, &[("PRIVATE-TOKEN", "wrong-secret")], b"").unwrap();
    assert_eq!(r.status, 401);
    assert!(r.text().contains("wrong-secret"), "{}", r.text());
    let r = get(&emu, "/projects/85436/releases/v9");
    assert_eq!(r.status, 404);
    assert!(r.text().contains(TOKEN));
    create(&emu, "v1");
    assert!(
        !get(&emu, "/projects/85436/releases/v1")
            .text()
            .contains(TOKEN),
        "success bodies are untouched"
    );
}

// ---------------------------------------------------------------------------------------------
// Accounting and faults

#[test]
fn request_accounting_and_human_edits() {
    let emu = setup();
    create(&emu, "v1");
    get(&emu, "/projects/85436/releases/v1?x=1");
    upload(&emu, "v1", "f.bin", b"binary");
    assert_eq!(emu.write_count(), 2);
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!((reqs[0].method.as_str(), reqs[0].status), ("POST", 201));
    assert_eq!(reqs[0].body, r#"{"start_point":"master","tag":"v1"}"#);
    assert_eq!(reqs[0].header("private-token"), Some(TOKEN));
    assert_eq!(
        (reqs[1].path.as_str(), reqs[1].query.as_str()),
        ("/api/v3/projects/85436/releases/v1", "x=1")
    );
    assert_eq!(
        (reqs[2].status, reqs[2].body.as_str()),
        (201, ""),
        "upload bodies are not logged"
    );
    emu.reset_requests();
    assert_eq!((emu.requests().len(), emu.write_count()), (0, 0));

    emu.set_release_description(PID, "v1", "edited by hand");
    assert_eq!(
        get(&emu, "/projects/85436/releases/v1").json()["description"],
        "edited by hand"
    );
    assert_eq!(emu.releases(PID).len(), 1);
    assert_eq!(emu.write_count(), 0, "UI edits are not API requests");
}

#[test]
fn scripted_faults_include_423_and_429() {
    let emu = setup();
    create(&emu, "v1");
    let list = "/projects/85436/releases";

    emu.fail_next(Fault::Locked423, 1);
    let r = get(&emu, list);
    assert_eq!(
        (r.status, r.json()),
        (423, json!({ "message": "423 Locked" }))
    );
    assert!(r.header("Retry-After").is_none());
    assert_eq!(get(&emu, list).status, 200);

    emu.fail_next(
        Fault::RateLimit {
            retry_after_secs: 2,
        },
        1,
    );
    let r = get(&emu, list);
    assert_eq!((r.status, r.header("Retry-After")), (429, Some("2")));
    assert_eq!(r.json(), json!({ "message": "429 Too Many Requests" }));

    emu.fail_next(Fault::Status(503), 1);
    let r = get(&emu, list);
    assert_eq!(
        (r.status, r.header("Content-Type")),
        (503, Some("text/html"))
    );
    emu.fail_next(Fault::Status(500), 1);
    assert_eq!(
        get(&emu, list).json(),
        json!({ "message": "500 Internal Server Error" })
    );

    emu.fail_next(Fault::Drop, 1);
    assert!(
        send(
            &emu,
            "GET",
            &format!("/api/v3{list}"),
            &[("PRIVATE-TOKEN", TOKEN)],
            b""
        )
        .is_err()
    );
    assert_eq!(emu.requests().last().unwrap().status, 0);

    // Applied, then 502: the attachment exists although the client saw a failure.
    emu.fail_next_on("POST", "/attachments", Fault::AppliedThen502, 1);
    assert_eq!(get(&emu, list).status, 200, "a GET does not match the rule");
    assert_eq!(upload(&emu, "v1", "a.bin", b"a").status, 502);
    assert_eq!(emu.attachments(PID, "v1").len(), 1);
    assert_eq!(
        upload(&emu, "v1", "a.bin", b"a").status,
        409,
        "a blind retry conflicts"
    );

    emu.fail_next(Fault::AppliedThenDrop, 1);
    assert!(
        upload_raw(
            &emu,
            "/projects/85436/releases/v1/attachments",
            "file",
            "b.bin",
            b"b"
        )
        .is_err()
    );
    assert_eq!(emu.attachments(PID, "v1").len(), 2);

    emu.fail_next(Fault::Status(502), 5);
    emu.clear_faults();
    assert_eq!(get(&emu, list).status, 200);
}

/// Runs a fixed request script and returns the statuses the emulator recorded.
fn fault_script(seed: u64) -> (Vec<u16>, usize) {
    let emu = setup();
    create(&emu, "v1");
    emu.reset_requests();
    emu.inject_faults(0.4, seed);
    for i in 0..48 {
        let _ = if i % 3 == 0 {
            upload_raw(
                &emu,
                "/projects/85436/releases/v1/attachments",
                "file",
                &format!("f{i}.bin"),
                b"x",
            )
        } else {
            send(
                &emu,
                "GET",
                "/api/v3/projects/85436/releases/v1",
                &[("PRIVATE-TOKEN", TOKEN)],
                b"",
            )
        };
    }
    emu.clear_faults();
    let statuses = emu.requests().iter().map(|r| r.status).collect();
    (statuses, emu.attachments(PID, "v1").len())
}

#[test]
fn fault_injection_is_deterministic() {
    let (a, n_a) = fault_script(7);
    let (b, n_b) = fault_script(7);
    assert_eq!(a, b);
    assert_eq!(n_a, n_b);
    assert_eq!(a.len(), 48);
    for s in [0, 423, 429, 500, 502, 503] {
        assert!(a.contains(&s), "status {s} never injected: {a:?}");
    }
    assert!(a.contains(&200) && a.contains(&201));
    let (c, _) = fault_script(8);
    assert_ne!(a, c, "another seed gives another sequence");
}

/// reqwest's multipart writer (streamed, non-ASCII file name) and keep-alive pool against the
/// emulator: what relsync will send.
#[test]
fn works_with_reqwest_multipart_and_a_pooled_client() {
    let emu = setup();
    create(&emu, "v1");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = format!("{}/projects/tencent%2Fcode/releases/v1", emu.api_url());
    rt.block_on(async {
        let client = reqwest::Client::new();
        let chunks: Vec<Result<Vec<u8>, io::Error>> =
            (0..8).map(|i| Ok(vec![i as u8; 8 * 1024])).collect();
        let whole: Vec<u8> = chunks
            .iter()
            .flat_map(|c| c.as_ref().unwrap().clone())
            .collect();
        let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(
            futures_util::stream::iter(chunks),
        ))
        .file_name("relsync 1.0 (x86_64) 版.tar.gz");
        let r = client
            .post(format!("{base}/attachments"))
            .header("PRIVATE-TOKEN", TOKEN)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["name"], "relsync_1.0__x86_64___.tar.gz");
        assert_eq!(v["size"].as_u64(), Some(whole.len() as u64));

        emu.fail_next(Fault::Drop, 1);
        assert!(
            client
                .get(&base)
                .header("PRIVATE-TOKEN", TOKEN)
                .send()
                .await
                .is_err()
        );
        let r = client
            .get(format!("{base}/attachments/relsync_1.0__x86_64___.tar.gz"))
            .header("PRIVATE-TOKEN", TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.bytes().await.unwrap().to_vec(), whole);
    });
    assert_eq!(emu.attachments(PID, "v1")[0].sha256.len(), 64);
}

#[test]
fn emulator_can_be_shared_across_threads() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<TgitEmulator>();
    let emu = setup();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| assert_eq!(get(&emu, "/projects/85436/releases").status, 200));
        }
    });
    assert_eq!(emu.requests().len(), 2);
}
