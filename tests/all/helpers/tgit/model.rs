//! The Tencent Git emulator's state and the JSON entities in the shapes seed 004 shows.
//!
//! Every tag has one row: a plain tag ("基线", `type: "none"`) or a release (`type: "release"`).
//! The row keeps its id when a tag is promoted to a release or a release is deleted back to a
//! plain tag. Times come from a logical clock (a fixed epoch plus one second per event), so that
//! answers are deterministic and ordering by time is stable.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub(super) use super::super::emu_common::git_tag_name_ok as tag_name_ok;
use super::super::emu_common::{Seq, added_project, impl_id_path, project_index};

pub(super) type Time = DateTime<Utc>;

/// At most this many labels per release (seed 004: "最多:10").
pub(super) const MAX_LABELS: usize = 10;
/// The attachment size limit (seed 004: "大小不超过 200M"), read as 200 MiB.
pub(super) const DEFAULT_MAX_ATTACHMENT: u64 = 200 * 1024 * 1024;
/// The commit the default branch `master` points at.
pub(super) const MASTER_SHA: &str = "1111111111111111111111111111111111111111";

/// 工蜂's timestamp format in seed 004: `2016-12-20T03:21:31+0000`.
pub(super) fn ts(t: &Time) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

/// What happens when an attachment is uploaded under a (sanitised) name the tag already has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicateAttachments {
    /// 409 `{"message": "Attachment <name> already exists"}` (the default; assumed).
    Reject,
    /// The new file replaces the old one (new content, size and `created_at`).
    Replace,
}

#[derive(Debug)]
pub struct State {
    pub(super) base_url: String,
    pub(super) projects: Vec<Project>,
    pub(super) private_tokens: Vec<String>,
    pub(super) max_attachment_size: u64,
    pub(super) labels_in_json: bool,
    /// Whether `PUT /releases/:tag` takes `title`. Seed 004 and the PyTgit client list only
    /// `type`, `description` and `labels` for PUT, so a real server may ignore `title` there;
    /// on by default as before (unverified either way), off to model a server that ignores it.
    pub(super) title_on_put: bool,
    pub(super) duplicates: DuplicateAttachments,
    pub(super) row_ids: Seq,
    pub(super) attachment_ids: Seq,
    clock: i64,
}

#[derive(Debug)]
pub(super) struct Project {
    pub id: u64,
    pub path: String,
    pub branches: Vec<(String, String)>,
    pub tags: Vec<Tag>,
}

/// A tag and its release row.
#[derive(Debug, Clone)]
pub(super) struct Tag {
    /// The row id (`id` in the JSON), for plain tags as well as releases.
    pub id: u64,
    pub name: String,
    pub sha: String,
    /// Annotated tags have a message (`ref.message`); lightweight ones do not.
    pub message: Option<String>,
    /// The tagged commit's date (`order_by=created_at` sorts by it, as the seed says).
    pub committed_at: Time,
    /// When the row became what it is (tag creation, or promotion to a release).
    pub created_at: Time,
    pub updated_at: Option<Time>,
    pub is_release: bool,
    pub title: String,
    pub description: Option<String>,
    pub labels: Vec<String>,
    pub author_id: Option<u64>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone)]
pub(super) struct Attachment {
    pub id: u64,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub content: Vec<u8>,
    pub created_at: Time,
}

impl_id_path!(Project);

impl State {
    pub(super) fn new(base_url: String) -> State {
        State {
            base_url,
            projects: Vec::new(),
            private_tokens: Vec::new(),
            max_attachment_size: DEFAULT_MAX_ATTACHMENT,
            labels_in_json: false,
            title_on_put: true,
            duplicates: DuplicateAttachments::Reject,
            row_ids: Seq::after(2760),
            attachment_ids: Seq::default(),
            clock: 0,
        }
    }

    /// The logical clock: 2024-01-01T00:00:00Z plus one second per call.
    pub(super) fn tick(&mut self) -> Time {
        self.clock += 1;
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .expect("epoch")
            + chrono::Duration::seconds(self.clock)
    }

    /// A project by numeric id or (case-insensitive) full path.
    pub(super) fn project_index(&self, id_or_path: &str) -> Option<usize> {
        project_index(&self.projects, id_or_path)
    }

    pub(super) fn project(&self, id: u64) -> &Project {
        &self.projects[added_project(&self.projects, id)]
    }

    pub(super) fn project_mut(&mut self, id: u64) -> &mut Project {
        let i = added_project(&self.projects, id);
        &mut self.projects[i]
    }

    /// A new plain-tag row.
    pub(super) fn new_tag(&mut self, name: &str, sha: &str, message: Option<String>) -> Tag {
        let now = self.tick();
        Tag {
            id: self.row_ids.next(),
            name: name.to_string(),
            sha: sha.to_string(),
            message,
            committed_at: now,
            created_at: now,
            updated_at: None,
            is_release: false,
            title: name.to_string(),
            description: None,
            labels: Vec::new(),
            author_id: None,
            attachments: Vec::new(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // JSON entities

    pub(super) fn commit_json(&self, t: &Tag) -> Value {
        let when = ts(&t.committed_at);
        json!({
            "id": t.sha,
            "message": "Release commit\n",
            "parent_ids": [],
            "authored_date": when,
            "author_name": "Administrator",
            "author_email": "admin@example.com",
            "committed_date": when,
            "committer_name": "Administrator",
            "committer_email": "admin@example.com",
            "title": "Release commit",
            "created_at": when,
            "short_id": &t.sha[..t.sha.len().min(8)],
        })
    }

    pub(super) fn attachment_json(a: &Attachment) -> Value {
        json!({
            "name": a.name,
            "type": a.content_type,
            "size": a.size,
            "created_at": ts(&a.created_at),
        })
    }

    /// The release (or plain tag) as `GET /projects/:id/releases/:tag_name` answers it. The
    /// seed's samples carry no `labels` field; [`State::labels_in_json`] adds one.
    pub(super) fn release_json(&self, p: &Project, t: &Tag) -> Value {
        let mut v = json!({
            "ref": {
                "name": t.name,
                "message": t.message,
                "commit": self.commit_json(t),
            },
            "id": t.id,
            "project_id": p.id,
            "tag": t.name,
            "title": t.title,
            "type": if t.is_release { "release" } else { "none" },
            "attachments": t.attachments.iter().map(Self::attachment_json).collect::<Vec<_>>(),
            "description": t.description,
            "created_at": ts(&t.created_at),
            "updated_at": t.updated_at.as_ref().map(ts),
            "author": null,
        });
        if self.labels_in_json {
            v["labels"] = json!(t.labels);
        }
        v
    }

    /// Rows in list order: `order_by` `created_at` (the commit date, the default) or `name`,
    /// `sort` `desc` (default) or `asc`.
    pub(super) fn sorted_tags<'a>(p: &'a Project, order_by: &str, asc: bool) -> Vec<&'a Tag> {
        let mut v: Vec<&Tag> = p.tags.iter().collect();
        if order_by == "name" {
            v.sort_by(|a, b| a.name.cmp(&b.name));
        } else {
            v.sort_by(|a, b| a.committed_at.cmp(&b.committed_at).then(a.id.cmp(&b.id)));
        }
        if !asc {
            v.reverse();
        }
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Rules

/// The attachment name as stored: every character outside `[A-Za-z0-9._-]` (spaces, `+`, `/`,
/// non-ASCII letters, ...) becomes one `_`. The exact rule of the real server is not documented
/// ("工蜂会对文件名进行特殊字符的过滤"); this one is an assumption.
pub fn sanitize_attachment_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A hex string that looks like a commit id.
pub(super) fn looks_like_sha(s: &str) -> bool {
    (7..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// A media type for a stored attachment: from the name's extension, else what the client sent,
/// else `application/octet-stream`.
pub(super) fn guess_type(name: &str, declared: Option<&str>) -> String {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let by_ext = match ext.as_deref() {
        Some("txt" | "sha256" | "sha512" | "md5" | "asc" | "sig") => Some("text/plain"),
        Some("md") => Some("text/markdown"),
        Some("json") => Some("application/json"),
        Some("svg") => Some("image/svg+xml"),
        Some("png") => Some("image/png"),
        Some("jpg" | "jpeg") => Some("image/jpeg"),
        Some("gz" | "tgz") => Some("application/gzip"),
        Some("zip") => Some("application/zip"),
        Some("tar") => Some("application/x-tar"),
        Some("xz") => Some("application/x-xz"),
        Some("zst") => Some("application/zstd"),
        Some("deb") => Some("application/vnd.debian.binary-package"),
        Some("rpm") => Some("application/x-rpm"),
        _ => None,
    };
    by_ext
        .map(str::to_string)
        .or_else(|| {
            declared
                .filter(|d| !d.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "application/octet-stream".into())
}
