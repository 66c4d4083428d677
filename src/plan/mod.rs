//! Desired vs actual → a `Plan` of actions. Pure: no I/O, so every case is a unit test.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::desired::Desired;
use crate::forge::{Actual, Capabilities, Link, NewLink, NewRelease, ReleasePatch, StoredFile};

mod files;
pub mod guard;
mod links;
mod notes_limit;
mod release;
pub mod scope;
mod state;
mod stored_links;

pub use crate::block::{BEGIN, Parsed, State, StateFile, compose_description, managed_block};

pub mod kept;
pub mod milestones;

/// One step of a plan.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Upload a file (index into the desired files).
    UploadFile {
        /// Asset name.
        name: String,
        /// Size.
        size: u64,
        /// sha256.
        sha256: String,
        /// Index into `Desired::files`.
        #[serde(skip)]
        index: usize,
    },
    /// Create the release (with its links).
    CreateRelease {
        /// The release to create.
        release: NewRelease,
    },
    /// Update fields of the release.
    UpdateRelease {
        /// Tag.
        tag: String,
        /// Changed fields.
        patch: ReleasePatch,
    },
    /// Delete a link.
    DeleteLink {
        /// The link.
        link: Link,
    },
    /// Update a link.
    UpdateLink {
        /// Current state.
        from: Link,
        /// New state.
        to: NewLink,
    },
    /// Create a link.
    CreateLink {
        /// The link.
        link: NewLink,
    },
    /// Delete a duplicate draft release that relsync created in a lost race.
    DeleteRelease {
        /// The draft.
        release: crate::forge::Release,
    },
    /// Delete a stored file (superseded or pruned).
    DeleteFile {
        /// The file.
        file: StoredFile,
        /// Why.
        reason: String,
    },
    /// Something already as it should be.
    Unchanged {
        /// `release`, `link` or `file`.
        kind: String,
        /// Its name.
        name: String,
    },
}

impl Action {
    /// The one-character marker of the text plan.
    #[must_use]
    pub fn marker(&self) -> &'static str {
        match self {
            Self::UploadFile { .. } => "↑",
            Self::CreateRelease { .. } | Self::CreateLink { .. } => "+",
            Self::UpdateRelease { .. } | Self::UpdateLink { .. } => "~",
            Self::DeleteLink { .. } | Self::DeleteFile { .. } | Self::DeleteRelease { .. } => "-",
            Self::Unchanged { .. } => "=",
        }
    }

    /// Whether it writes to the forge.
    #[must_use]
    pub fn is_write(&self) -> bool {
        !matches!(self, Self::Unchanged { .. })
    }
}

/// Counts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Creations.
    pub create: usize,
    /// Updates.
    pub update: usize,
    /// Deletions.
    pub delete: usize,
    /// Uploads.
    pub upload: usize,
    /// Unchanged items.
    pub unchanged: usize,
}

/// The actions that make the forge match the desired release, in the order `apply` runs them.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Ordered actions.
    pub actions: Vec<Action>,
    /// Counts.
    pub summary: Summary,
    /// The description the release will have.
    pub description: String,
    /// Why the plan cannot be applied, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// What the user should know, e.g. that the state could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Fields left as the forge holds them, because it ignored the value wanted when relsync
    /// wrote it (see [`guard`]), with that value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ignored: BTreeMap<String, String>,
}

impl Plan {
    /// Whether anything would be written.
    #[must_use]
    pub fn has_changes(&self) -> bool {
        self.actions.iter().any(Action::is_write)
    }
}

/// What `diff` needs to know besides the desired and actual states.
pub struct Context<'a> {
    /// The forge's capabilities.
    pub caps: Capabilities,
    /// The download URL of a file by asset name, where the forge links files.
    pub file_url: Box<dyn Fn(&str) -> String + 'a>,
    /// Files uploaded during this run, by asset name: what was sent and the name the forge
    /// stored it under. Newer than the state in the description, which is written later.
    pub uploaded: &'a BTreeMap<String, StateFile>,
    /// Ids of stored files whose deletion the forge refused during this run.
    pub refused: &'a BTreeSet<u64>,
    /// Fields this run found the forge ignores, with the value tried (see [`guard`]).
    pub ignored: &'a BTreeMap<String, String>,
}

/// Computes the plan. `actual` is `None` offline (nothing is known of the forge, so
/// everything is shown as to be created).
///
/// The phases run in order: the state the description holds ([`state`]), the files
/// ([`files`]), the links wanted ([`links`]), the release's changed fields, the state this run
/// records, then the release's create or update ([`release`]), which orders all the writes.
#[must_use]
pub fn diff(desired: &Desired, actual: Option<&Actual>, cx: &Context<'_>) -> Plan {
    let empty = Actual::default();
    let actual = actual.unwrap_or(&empty);
    let read = state::read(desired, actual);
    let mut files = files::plan(desired, actual, cx, &read);
    let want = links::wanted(desired, cx);
    // Fields the forge ignored with the very values wanted now are left as they are.
    let mut skips = guard::Skips::new(&read.old.ignored, cx.ignored);
    let early = actual
        .release
        .as_ref()
        .map(|r| release::early_patch(r, desired, cx.caps, &read.old, &mut skips));
    let ignored_links = links::ignored(&want, &actual.links, &mut skips);
    let new_state = state::record(
        desired,
        cx.caps,
        &read,
        actual,
        &want,
        &mut files,
        skips.kept.clone(),
    );
    let parts = release::Parts {
        want,
        ignored_links,
        files,
        skips,
        early,
        block: release::block(desired, cx, read.kept_notes.clone(), &new_state),
        warnings: read.warnings.clone(),
    };
    match &actual.release {
        None => release::create(desired, cx.caps, parts),
        Some(r) => release::update(desired, cx.caps, actual, r, &read, parts),
    }
}

fn finish(
    actions: Vec<Action>,
    description: String,
    blocked: Option<String>,
    warnings: Vec<String>,
) -> Plan {
    let mut summary = Summary::default();
    for a in &actions {
        match a {
            Action::UploadFile { .. } => summary.upload += 1,
            Action::CreateRelease { release } => summary.create += 1 + release.links.len(),
            Action::CreateLink { .. } => summary.create += 1,
            Action::UpdateRelease { .. } | Action::UpdateLink { .. } => summary.update += 1,
            Action::DeleteLink { .. }
            | Action::DeleteFile { .. }
            | Action::DeleteRelease { .. } => {
                summary.delete += 1;
            }
            Action::Unchanged { .. } => summary.unchanged += 1,
        }
    }
    Plan {
        actions,
        summary,
        description,
        blocked,
        warnings,
        ignored: BTreeMap::new(),
    }
}
