//! The managed state: what earlier runs recorded in the description, what to warn about when it
//! cannot be read, and what this run records.

use std::collections::{BTreeMap, BTreeSet};

use super::{Parsed, State, files::Files, kept, scope};
use crate::desired::Desired;
use crate::forge::{Actual, Capabilities, NewLink};
use crate::manifest::raw::Prune;

/// What the description says of earlier runs, and the job's settings that decide what this
/// run may touch.
pub(super) struct Read<'a> {
    /// The state earlier runs recorded (empty when it cannot be read).
    pub old: State,
    /// The job's prune policy.
    pub prune: Prune,
    /// The job's scope (matrix builds).
    pub job_scope: Option<&'a str>,
    /// What the user should know about the state.
    pub warnings: Vec<String>,
    /// The notes a matrix job keeps from the block (see `scope`).
    pub kept_notes: Option<String>,
}

/// Reads the state in the release's description, if there is a release.
pub(super) fn read<'a>(desired: &'a Desired, actual: &Actual) -> Read<'a> {
    let parsed = actual
        .release
        .as_ref()
        .map(|r| State::parse(&r.description))
        .unwrap_or_default();
    let prune = scope::prune(desired);
    let job_scope = desired.scope.as_deref();
    let warnings = warning(&parsed, prune).into_iter().collect();
    let kept_notes = scope::kept_notes(
        job_scope,
        actual.release.as_ref().map(|r| r.description.as_str()),
        parsed.trusted,
    );
    Read {
        old: parsed.state,
        prune,
        job_scope,
        warnings,
        kept_notes,
    }
}

/// Why the state in the description cannot be relied on, and what that means this run.
fn warning(parsed: &Parsed, prune: Prune) -> Option<String> {
    let problem = parsed.problem.as_deref()?;
    let prune = if prune == Prune::Managed {
        "; `prune: managed` deletes nothing this run (links or files relsync added earlier and no longer declared stay: delete them by hand, or run once with `prune: all`)"
    } else {
        ""
    };
    Some(format!(
        "cannot read relsync's state in the release description: {problem}; the block is repaired this run{prune}"
    ))
}

/// The state this run writes: the wanted links and the managed links kept on the forge, the
/// files as `files` recorded them, the labels set, the refused deletions still stored, the
/// fields the forge ignores (`ignored`) and, for matrix builds, what each scope declared.
pub(super) fn record(
    desired: &Desired,
    caps: Capabilities,
    read: &Read<'_>,
    actual: &Actual,
    want: &[NewLink],
    files: &mut Files,
    ignored: BTreeMap<String, String>,
) -> State {
    let old = &read.old;
    let kept_links = actual
        .links
        .iter()
        .filter(|l| {
            old.links.contains(&l.name)
                && (read.prune == Prune::None || !scope::may_prune(read.job_scope, old, &l.name))
        })
        .map(|l| l.name.clone());
    let declared: BTreeSet<String> = want
        .iter()
        .map(|l| l.name.clone())
        .chain(desired.files.iter().map(|f| f.name.clone()))
        .collect();
    let mut state = State {
        links: want
            .iter()
            .map(|l| l.name.clone())
            .chain(kept_links)
            .collect(),
        files: std::mem::take(&mut files.recorded),
        labels: if caps.labels {
            desired.labels.clone()
        } else {
            Vec::new()
        },
        kept: kept::still_stored(&files.refused, &actual.files),
        scopes: BTreeMap::new(),
        ignored,
    };
    state.scopes = scope::record(read.job_scope, old, &declared, &state);
    state
}
