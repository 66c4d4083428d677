//! Files: upload what the forge lacks; delete (at the end) what is superseded, duplicated or
//! no longer declared; record the name the forge stored each file under.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Action, Context, State, StateFile, kept, scope, state::Read};
use crate::desired::{Desired, DesiredFile};
use crate::forge::{Actual, StoredFile};
use crate::manifest::raw::Prune;

/// What the plan does with the files.
pub(super) struct Files {
    /// Uploads, in the order of the desired files.
    pub uploads: Vec<Action>,
    /// Files already as they should be.
    pub unchanged: Vec<Action>,
    /// Stored files to delete.
    pub deletes: Vec<Action>,
    /// The files to record in the new state, by asset name.
    pub recorded: BTreeMap<String, StateFile>,
    /// Ids of stored files the forge refused to delete (earlier, as the state says, or in
    /// this run): they stay.
    pub refused: BTreeSet<u64>,
}

/// Stored files by name, as the forge lists them.
type ByName<'a> = HashMap<&'a str, Vec<&'a StoredFile>>;

/// Decides the uploads and deletions of files.
pub(super) fn plan(desired: &Desired, actual: &Actual, cx: &Context<'_>, read: &Read<'_>) -> Files {
    let mut by_name: ByName<'_> = HashMap::new();
    for f in &actual.files {
        by_name.entry(f.name.as_str()).or_default().push(f);
    }
    let matched = match_stored(desired, cx, &read.old, &mut by_name);
    let mut files = compare(desired, cx, &read.old, matched);
    files.refused = read.old.kept.union(cx.refused).copied().collect();
    kept::skip_refused(&mut files.deletes, &files.refused);
    leftovers(by_name, cx, read, &mut files);
    files
}

/// The name the forge stored a file under: as uploaded in this run, as the state recorded,
/// or the asset name.
fn stored_name(cx: &Context<'_>, old: &State, name: &str) -> String {
    cx.uploaded
        .get(name)
        .and_then(|u| u.stored.clone())
        .or_else(|| old.files.get(name).and_then(|f| f.stored.clone()))
        .unwrap_or_else(|| name.to_owned())
}

/// The letters and digits of a name, lower-cased: what survives a forge's renaming of
/// special characters.
fn shape(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Stored files of each desired file, taken out of `by_name`: first under the name relsync
/// recorded (or the desired name); then, where the forge renames uploads, under any name of
/// the same shape and size, which is an upload whose answer (or whose record in the state)
/// was lost.
fn match_stored<'a>(
    desired: &Desired,
    cx: &Context<'_>,
    old: &State,
    by_name: &mut ByName<'a>,
) -> Vec<Vec<&'a StoredFile>> {
    let mut matched: Vec<Vec<&StoredFile>> = desired
        .files
        .iter()
        .map(|f| {
            by_name
                .remove(stored_name(cx, old, &f.name).as_str())
                .unwrap_or_default()
        })
        .collect();
    if cx.caps.renames_files {
        for (f, found) in desired.files.iter().zip(matched.iter_mut()) {
            let key = shape(&f.name);
            let mut names: Vec<&str> = by_name
                .keys()
                .copied()
                .filter(|n| shape(n) == key)
                .collect();
            names.sort_unstable();
            for n in names {
                let Some(list) = by_name.get_mut(n) else {
                    continue;
                };
                let (mine, other): (Vec<&StoredFile>, Vec<&StoredFile>) =
                    list.iter().partition(|s| {
                        !s.complete
                            || s.sha256
                                .as_ref()
                                .map_or(s.size == f.size, |h| *h == f.sha256)
                    });
                found.extend(mine);
                if other.is_empty() {
                    by_name.remove(n);
                } else {
                    *list = other;
                }
            }
        }
    }
    matched
}

/// Whether the stored file `s` holds the content of `f`.
fn same(s: &StoredFile, f: &DesiredFile, cx: &Context<'_>, old: &State) -> bool {
    s.complete
        && match &s.sha256 {
            Some(sha) => *sha == f.sha256,
            // The forge does not say: trust the state relsync wrote when it uploaded it.
            None => {
                (s.size == 0 || s.size == f.size)
                    && cx
                        .uploaded
                        .get(&f.name)
                        .or_else(|| old.files.get(&f.name))
                        .is_some_and(|st| st.sha256 == f.sha256)
            }
        }
}

/// Each desired file against its stored ones: one kept (or an upload), the others deleted.
fn compare(
    desired: &Desired,
    cx: &Context<'_>,
    old: &State,
    matched: Vec<Vec<&StoredFile>>,
) -> Files {
    let mut files = Files {
        uploads: Vec::new(),
        unchanged: Vec::new(),
        deletes: Vec::new(),
        recorded: BTreeMap::new(),
        refused: BTreeSet::new(),
    };
    for ((index, f), stored) in desired.files.iter().enumerate().zip(matched) {
        let kept = stored.iter().find(|s| same(s, f, cx, old)).copied();
        let keep = kept.map(|s| s.id);
        if keep.is_some() {
            files.unchanged.push(Action::Unchanged {
                kind: "file".into(),
                name: f.name.clone(),
            });
        } else {
            files.uploads.push(Action::UploadFile {
                name: f.name.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
                index,
            });
        }
        for s in &stored {
            if keep == Some(s.id) {
                continue;
            }
            let reason = if same(s, f, cx, old) {
                "duplicate"
            } else {
                "superseded"
            };
            files.deletes.push(Action::DeleteFile {
                file: (*s).clone(),
                reason: reason.into(),
            });
        }
        let name = kept.map_or_else(|| stored_name(cx, old, &f.name), |s| s.name.clone());
        files.recorded.insert(
            f.name.clone(),
            StateFile {
                sha256: f.sha256.clone(),
                stored: (name != f.name).then_some(name),
            },
        );
    }
    files
}

/// Stored files no desired file claims: deleted as the prune policy allows, or kept in the
/// state while still relsync's.
fn leftovers(by_name: ByName<'_>, cx: &Context<'_>, read: &Read<'_>, files: &mut Files) {
    let old = &read.old;
    let managed_stored: HashMap<String, (&String, &StateFile)> = old
        .files
        .iter()
        .map(|(n, st)| (st.stored.clone().unwrap_or_else(|| n.clone()), (n, st)))
        .collect();
    let mut leftover: Vec<&StoredFile> = by_name.into_values().flatten().collect();
    leftover.sort_by_key(|f| f.id);
    for s in leftover {
        let prune = match read.prune {
            Prune::All => true,
            // Files in relsync's own package version are relsync's, recorded or not; a
            // scoped job's are only those its scope recorded.
            Prune::Managed => match read.job_scope {
                None => cx.caps.files_linked || managed_stored.contains_key(&s.name),
                Some(_) => managed_stored
                    .get(&s.name)
                    .is_some_and(|(n, _)| scope::may_prune(read.job_scope, old, n)),
            },
            Prune::None => false,
        };
        if prune && !files.refused.contains(&s.id) {
            files.deletes.push(Action::DeleteFile {
                file: s.clone(),
                reason: "no longer declared".into(),
            });
        } else if let Some((name, st)) = managed_stored.get(&s.name) {
            // Kept under `prune: none`: still relsync's, for a later `managed` run.
            files
                .recorded
                .entry((*name).clone())
                .or_insert_with(|| (*st).clone());
        }
    }
}
