//! The changelog model: what `collect` returns and templates receive as context.
//!
//! Field names are part of the template contract (PRODUCT.md "Template context"): renaming a
//! field breaks users' templates.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::first_time::FirstTime;

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
    /// Authors and co-authors in first-appearance order: one per person (same name or
    /// email), `.mailmap` applied, bots and `contributors.exclude` left out.
    pub contributors: Vec<Contributor>,
    /// Which of `contributors` are new, computed on first read. `collect` has copied it
    /// into each contributor's `first_time`; `collect_deferred` has not (they are `false`).
    #[serde(skip)]
    pub first_time: FirstTime,
    /// Set when the history is shallow, cuts the range and `on_shallow: warn`.
    pub shallow_warning: Option<String>,
    /// The configuration selects nothing: a `tag_pattern` that matches no tag or looks
    /// like a regex, `paths` that filter out every commit. Warnings, or errors with
    /// `--strict`.
    #[serde(skip)]
    pub warnings: Vec<Notice>,
}

/// A problem with the configuration that does not stop the run by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What is wrong, naming the key.
    pub message: String,
    /// How to fix it.
    pub remedy: String,
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
    /// The sha this commit reverts (`This reverts commit <sha>.`): the first of `reverts`.
    pub revert: Option<String>,
    /// Every sha this commit reverts.
    pub reverts: Vec<String>,
    /// The commit's web page, when the forge is known.
    pub url: Option<String>,
    /// Issues, merge requests and pull requests the commit names, in its subject
    /// (`(#123)`, `!12`, `group/app#12`) and in `Closes`/`Fixes`/`Resolves`/`Refs`/
    /// `Related to`/`See merge request` lines of any paragraph.
    pub refs: Vec<Ref>,
    /// The merge request (pull request) that brought the commit in, read from the message
    /// of its merge commit.
    pub mr: Option<MergeRequest>,
}

/// What a reference points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefKind {
    /// A GitHub or Gitea pull request.
    Pr,
    /// A GitLab or Tencent Git merge request.
    Mr,
    /// An issue.
    Issue,
}

/// A reference to an issue, merge request or pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ref {
    /// `pr`, `mr` or `issue`.
    pub kind: RefKind,
    /// The number (`123` of `#123`).
    pub number: u64,
    /// The project it belongs to, when not this one (`group/app` of `group/app#12`).
    pub project: Option<String>,
    /// As written: `#123`, `!12`, `group/app#12`.
    pub text: String,
    /// Its web page, when the forge is known.
    pub url: Option<String>,
    /// Named by a closing keyword (`Closes`, `Fixes`, `Resolves`).
    #[serde(skip)]
    pub closes: bool,
    /// A `(#N)` at the end of the subject: the pull request of a squash merge on GitHub
    /// and Gitea.
    #[serde(skip)]
    pub squash: bool,
}

/// A merge request or pull request, read from a merge commit's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeRequest {
    /// `pr` (GitHub, Gitea) or `mr` (GitLab, Tencent Git).
    pub kind: RefKind,
    /// Its number (`!12` -> 12, `#7` -> 7).
    pub number: u64,
    /// Its title.
    pub title: String,
    /// `!12` or `#7`.
    pub text: String,
    /// The project it was merged in, when the message names it (`group/app`).
    pub project: Option<String>,
    /// Its web page, when the forge is known.
    pub url: Option<String>,
    /// The sha of the merge commit.
    pub merge_commit: String,
    /// What the merge commit's message references besides the merge request itself
    /// (GitLab's `Closes #3`).
    pub refs: Vec<Ref>,
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

/// A contributor of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contributor {
    /// Display name (after `.mailmap`).
    pub name: String,
    /// Email address (after `.mailmap`).
    pub email: String,
    /// No commit reachable from the previous release was written by them.
    pub first_time: bool,
}

impl PartialEq<Person> for Contributor {
    /// The same name and email.
    fn eq(&self, other: &Person) -> bool {
        self.name == other.name && self.email == other.email
    }
}

/// A titled group of commits, in the order the settings list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Heading in the notes.
    pub title: String,
    /// Shown folded (`<details>`) by the default template.
    pub collapsed: bool,
    /// The group's commits, newest first.
    pub commits: Vec<Commit>,
}
