//! The changelog model: what `collect` returns and templates receive as context.
//!
//! Field names are part of the template contract (PRODUCT.md "Template context"): renaming a
//! field breaks users' templates.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One release's changelog.
#[derive(Debug, Clone, Serialize)]
pub struct Changelog {
    /// The release tag; `None` for an unreleased preview.
    pub tag: Option<String>,
    /// Whether the tag exists in the local repository.
    pub tag_exists: bool,
    /// The tag with `tag_pattern`'s literal prefix removed; `unreleased` for a preview.
    pub version: String,
    /// The previous release tag (or `since`); `None` = the whole history.
    pub previous_tag: Option<String>,
    /// Full sha of the release commit.
    pub commit: String,
    /// Release date: the tagger date of an annotated tag, else the release commit's
    /// committer time. Never the current time, so runs are reproducible.
    pub date: DateTime<Utc>,
    /// The commits of the range, newest first, after filters.
    pub commits: Vec<Commit>,
    /// Non-empty groups in the configured order.
    pub groups: Vec<Group>,
    /// The breaking commits, newest first.
    pub breaking_changes: Vec<Commit>,
    /// Authors and co-authors, deduplicated by email, in first-appearance order.
    pub contributors: Vec<Person>,
    /// Set when the history is shallow, cuts the range and `on_shallow: warn`.
    pub shallow_warning: Option<String>,
}

/// One commit of the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    /// Full sha.
    pub id: String,
    /// First 7 characters of the sha.
    pub short_id: String,
    /// The first line of the message, as written (`feat(api): add x`).
    pub subject: String,
    /// The subject without the conventional `type(scope)!: ` header (`add x`); the whole
    /// subject when the commit is not conventional.
    pub description: String,
    /// The message after the subject, trimmed; footers and trailers included.
    pub body: String,
    /// Conventional type, lowercased (`feat`); `None` when not conventional.
    #[serde(rename = "type")]
    pub r#type: Option<String>,
    /// Conventional scope.
    pub scope: Option<String>,
    /// `!` in the header or a `BREAKING CHANGE:` footer.
    pub breaking: bool,
    /// The `BREAKING CHANGE:` footer's text, else the description when `!` marks it.
    pub breaking_description: Option<String>,
    /// Footers of the last paragraph (`Token: value`, `Token #value`), in order.
    pub footers: Vec<Footer>,
    /// The commit's author.
    pub author: Person,
    /// `Co-authored-by:` trailers.
    pub co_authors: Vec<Person>,
    /// Author time.
    pub date: DateTime<Utc>,
    /// Title of the group the commit landed in (empty if no group takes it).
    pub group: String,
    /// More than one parent.
    pub merge: bool,
    /// The sha this commit reverts (`This reverts commit <sha>.`).
    pub revert: Option<String>,
}

/// A footer (`Token: value` or `Token #value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Footer {
    /// `Refs`, `BREAKING CHANGE`, `Co-authored-by`...
    pub token: String,
    /// Everything after the separator; continuation lines joined with `\n`.
    pub value: String,
}

/// An author or co-author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// Email address, as written.
    pub email: String,
}

/// A titled group of commits, in the order the settings list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Heading in the notes.
    pub title: String,
    /// The group's commits, newest first.
    pub commits: Vec<Commit>,
}
