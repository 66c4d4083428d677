//! The release: create it or update its changed fields, and compose its description from the
//! notes and the managed block.

use std::collections::{BTreeSet, HashSet};

use super::{
    Action, BEGIN, Context, Plan, State, compose_description, files::Files, finish, guard, links,
    managed_block, notes_limit, state::Read, stored_links,
};
use crate::desired::Desired;
use crate::forge::{Actual, Capabilities, NewLink, NewRelease, Release, ReleasePatch};

/// What the earlier phases decided, for the release's own.
pub(super) struct Parts<'a> {
    /// The links the release should have.
    pub want: Vec<NewLink>,
    /// Wanted links left as the forge holds them (see [`links::ignored`]).
    pub ignored_links: HashSet<String>,
    /// The file uploads and deletions.
    pub files: Files,
    /// Fields left as the forge holds them.
    pub skips: guard::Skips<'a>,
    /// The release's changed fields but the description.
    pub early: Option<ReleasePatch>,
    /// The managed block: notes and state.
    pub block: String,
    /// What the user should know.
    pub warnings: Vec<String>,
}

/// The release's changed fields but the description, which holds the state built later.
pub(super) fn early_patch(
    release: &Release,
    desired: &Desired,
    caps: Capabilities,
    old: &State,
    skips: &mut guard::Skips<'_>,
) -> ReleasePatch {
    let mut patch = ReleasePatch {
        name: (release.name != desired.name).then(|| desired.name.clone()),
        description: None,
        milestones: {
            let a: BTreeSet<_> = release.milestones.iter().collect();
            let b: BTreeSet<_> = desired.milestones.iter().collect();
            (caps.milestones && a != b).then(|| desired.milestones.clone())
        },
        released_at: desired
            .released_at
            .filter(|d| caps.milestones && release.released_at != Some(*d)),
        labels: {
            // Where the forge does not report labels, the state says what relsync set.
            let current = release.labels.as_ref().unwrap_or(&old.labels);
            let a: BTreeSet<_> = current.iter().collect();
            let b: BTreeSet<_> = desired.labels.iter().collect();
            (caps.labels && a != b).then(|| desired.labels.clone())
        },
        prerelease: (caps.prerelease && release.prerelease != desired.prerelease)
            .then_some(desired.prerelease),
        draft: (caps.prerelease && release.draft != desired.draft).then_some(desired.draft),
    };
    skips.filter(&mut patch);
    patch
}

/// The managed block: the notes (those a matrix job keeps, or the rendered ones with their
/// links), cut to the forge's limit, and the state.
pub(super) fn block(
    desired: &Desired,
    cx: &Context<'_>,
    kept_notes: Option<String>,
    state: &State,
) -> String {
    // A matrix job keeps the notes already in the block (see `scope`).
    let notes = kept_notes.unwrap_or_else(|| {
        stored_links::relink(
            &notes_with_links(desired, cx.caps),
            desired,
            cx.caps,
            &cx.file_url,
            &state.files,
        )
    });
    let notes = notes_limit::fit(&notes, state, cx.caps.max_description);
    managed_block(&notes, state)
}

/// Where the forge has no links API, the declared links go into the notes: those the
/// template did not already show are listed in a section of their own.
fn notes_with_links(desired: &Desired, caps: Capabilities) -> String {
    if caps.links_api {
        return desired.notes.clone();
    }
    let missing: Vec<_> = desired
        .links
        .iter()
        .filter(|l| !desired.notes.contains(&l.url))
        .collect();
    if missing.is_empty() {
        return desired.notes.clone();
    }
    let mut notes = desired.notes.trim_end().to_owned();
    notes.push_str("\n\n### Links\n\n");
    for l in missing {
        notes.push_str(&format!("- [{}]({})\n", l.name, l.url));
    }
    notes
}

fn normalise(s: &str) -> String {
    s.replace("\r\n", "\n").trim().to_owned()
}

/// No release yet: create it (with its links) around the files, publishing it last where
/// assets go onto a draft first.
pub(super) fn create(desired: &Desired, caps: Capabilities, parts: Parts<'_>) -> Plan {
    let Parts {
        want,
        files:
            Files {
                uploads,
                unchanged,
                deletes: mut file_deletes,
                ..
            },
        block,
        warnings,
        ..
    } = parts;
    let mut actions = Vec::new();
    let create = Action::CreateRelease {
        release: NewRelease {
            tag: desired.tag.clone(),
            name: desired.name.clone(),
            description: block.clone(),
            git_ref: desired.git_ref.clone(),
            tag_message: desired.tag_message.clone(),
            milestones: if caps.milestones {
                desired.milestones.clone()
            } else {
                Vec::new()
            },
            released_at: desired.released_at.filter(|_| caps.milestones),
            links: want,
            // Assets go onto a draft first; the release is published last.
            draft: caps.drafts || desired.draft,
            prerelease: desired.prerelease,
            labels: if caps.labels {
                desired.labels.clone()
            } else {
                Vec::new()
            },
        },
    };
    if caps.files_linked {
        actions.extend(uploads);
        actions.push(create);
    } else {
        // Attachments need the release first; stale same-name files go before uploads.
        actions.push(create);
        actions.append(&mut file_deletes);
        actions.extend(uploads);
    }
    actions.extend(unchanged);
    actions.append(&mut file_deletes);
    if caps.drafts && !desired.draft {
        actions.push(Action::UpdateRelease {
            tag: desired.tag.clone(),
            patch: ReleasePatch {
                draft: Some(false),
                ..ReleasePatch::default()
            },
        });
    }
    finish(actions, block, None, warnings)
}

/// The release exists: files, links and the release's changed fields, in an order that leaves
/// nothing the next run cannot recognise if this one dies part way.
pub(super) fn update(
    desired: &Desired,
    caps: Capabilities,
    actual: &Actual,
    release: &Release,
    read: &Read<'_>,
    parts: Parts<'_>,
) -> Plan {
    let Parts {
        want,
        ignored_links,
        files:
            Files {
                uploads,
                unchanged,
                deletes: mut file_deletes,
                ..
            },
        mut skips,
        early,
        block,
        warnings,
    } = parts;
    let conflict = super::scope::conflict(desired, &read.old);
    let blocked = (release.immutable && !release.draft && (!uploads.is_empty() || !file_deletes.is_empty())).then(|| {
        format!(
            "release {} is immutable (published with GitHub's immutable releases): its assets cannot change; publish a new tag instead",
            desired.tag
        )
    });
    let mut actions = Vec::new();
    if !caps.files_linked {
        // Attachments: remove the old file first; forges refuse (or, on Gitea, duplicate)
        // a second file of the same name, and no download should pick a stale one.
        actions.append(&mut file_deletes);
    }
    actions.extend(uploads);
    actions.extend(unchanged);
    let description = compose_description(desired.notes_mode, Some(&release.description), &block);
    let mut patch = early.unwrap_or_default();
    let publish = patch.draft.take();
    if normalise(&release.description) != normalise(&description)
        && !skips.skip(guard::DESCRIPTION, &guard::digest(&description))
    {
        patch.description = Some(description.clone());
    }
    let blocked = blocked.or_else(|| crate::desired::limits::over_limit(desired, &description));
    let blocked = conflict.or(blocked).or(links::diff_links(
        &want,
        &actual.links,
        &read.old,
        read.prune,
        read.job_scope,
        &ignored_links,
        &mut actions,
    ));
    actions.append(&mut file_deletes);
    // Drafts that a racing job of relsync left for the same tag (never one made by hand).
    actions.extend(
        actual
            .duplicates
            .iter()
            .filter(|d| d.draft && d.description.contains(BEGIN))
            .map(|d| Action::DeleteRelease { release: d.clone() }),
    );
    // The description (and the state in it) is written after the links and files it no
    // longer lists are gone: until then the old state still names them as relsync's, so a
    // run that dies part way leaves nothing the next run cannot recognise.
    push_release(&mut actions, desired, patch, publish);
    let mut plan = finish(actions, description, blocked, warnings);
    plan.ignored = skips.kept;
    plan
}

/// The release's update (or that it is unchanged), then its publication.
fn push_release(
    actions: &mut Vec<Action>,
    desired: &Desired,
    patch: ReleasePatch,
    publish: Option<bool>,
) {
    if patch.is_empty() {
        actions.push(Action::Unchanged {
            kind: "release".into(),
            name: desired.tag.clone(),
        });
    } else {
        actions.push(Action::UpdateRelease {
            tag: desired.tag.clone(),
            patch,
        });
    }
    if let Some(draft) = publish {
        actions.push(Action::UpdateRelease {
            tag: desired.tag.clone(),
            patch: ReleasePatch {
                draft: Some(draft),
                ..ReleasePatch::default()
            },
        });
    }
}
