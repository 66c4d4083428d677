//! Desired vs actual → a `Plan` of actions. Pure: no I/O, so every case is a unit test.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::desired::{Desired, DesiredFile};
use crate::forge::{Actual, Capabilities, Link, NewLink, NewRelease, ReleasePatch, StoredFile};
use crate::manifest::raw::Prune;

pub mod guard;
mod notes_limit;
pub mod scope;
mod stored_links;

pub use crate::block::{BEGIN, END, Parsed, State, StateFile, compose_description, managed_block};

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

/// The letters and digits of a name, lower-cased: what survives a forge's renaming of
/// special characters.
fn shape(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn normalise(s: &str) -> String {
    s.replace("\r\n", "\n").trim().to_owned()
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
#[must_use]
#[allow(
    clippy::too_many_lines,
    reason = "release, links, files and state in the order the plan runs them; to be split into `plan/` modules"
)]
pub fn diff(desired: &Desired, actual: Option<&Actual>, cx: &Context<'_>) -> Plan {
    let caps = cx.caps;
    let empty = Actual::default();
    let actual = actual.unwrap_or(&empty);
    let parsed = actual
        .release
        .as_ref()
        .map(|r| State::parse(&r.description))
        .unwrap_or_default();
    let prune = scope::prune(desired);
    let job_scope = desired.scope.as_deref();
    let warnings = state_warning(&parsed, prune).into_iter().collect();
    let kept_notes = scope::kept_notes(
        job_scope,
        actual.release.as_ref().map(|r| r.description.as_str()),
        parsed.trusted,
    );
    let old_state = parsed.state;
    let stored_name = |name: &str| -> String {
        cx.uploaded
            .get(name)
            .and_then(|u| u.stored.clone())
            .or_else(|| old_state.files.get(name).and_then(|f| f.stored.clone()))
            .unwrap_or_else(|| name.to_owned())
    };

    // Files: upload what the forge lacks; delete (at the end) what is superseded.
    let mut uploads = Vec::new();
    let mut unchanged = Vec::new();
    let mut file_deletes = Vec::new();
    let mut by_name: HashMap<&str, Vec<&StoredFile>> = HashMap::new();
    for f in &actual.files {
        by_name.entry(f.name.as_str()).or_default().push(f);
    }
    // Stored files of each desired file: first under the name relsync recorded (or the
    // desired name); then, where the forge renames uploads, under any name of the same shape
    // and size, which is an upload whose answer (or whose record in the state) was lost.
    let mut matched: Vec<Vec<&StoredFile>> = desired
        .files
        .iter()
        .map(|f| {
            by_name
                .remove(stored_name(&f.name).as_str())
                .unwrap_or_default()
        })
        .collect();
    if caps.renames_files {
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
    let mut new_files = BTreeMap::new();
    for ((index, f), stored) in desired.files.iter().enumerate().zip(matched) {
        let same = |s: &StoredFile| {
            s.complete
                && match &s.sha256 {
                    Some(sha) => *sha == f.sha256,
                    // The forge does not say: trust the state relsync wrote when it uploaded it.
                    None => {
                        (s.size == 0 || s.size == f.size)
                            && cx
                                .uploaded
                                .get(&f.name)
                                .or_else(|| old_state.files.get(&f.name))
                                .is_some_and(|st| st.sha256 == f.sha256)
                    }
                }
        };
        let kept = stored.iter().find(|s| same(s)).copied();
        let keep = kept.map(|s| s.id);
        if keep.is_some() {
            unchanged.push(Action::Unchanged {
                kind: "file".into(),
                name: f.name.clone(),
            });
        } else {
            uploads.push(Action::UploadFile {
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
            let reason = if same(s) { "duplicate" } else { "superseded" };
            file_deletes.push(Action::DeleteFile {
                file: (*s).clone(),
                reason: reason.into(),
            });
        }
        let name = kept.map_or_else(|| stored_name(&f.name), |s| s.name.clone());
        new_files.insert(
            f.name.clone(),
            StateFile {
                sha256: f.sha256.clone(),
                stored: (name != f.name).then_some(name),
            },
        );
    }
    // Files the forge refused to delete (earlier, as the state says, or in this run) stay.
    let refused: BTreeSet<u64> = old_state.kept.union(cx.refused).copied().collect();
    kept::skip_refused(&mut file_deletes, &refused);
    let managed_stored: HashMap<String, (&String, &StateFile)> = old_state
        .files
        .iter()
        .map(|(n, st)| (st.stored.clone().unwrap_or_else(|| n.clone()), (n, st)))
        .collect();
    let mut leftover: Vec<&StoredFile> = by_name.into_values().flatten().collect();
    leftover.sort_by_key(|f| f.id);
    for s in leftover {
        let prune = match prune {
            Prune::All => true,
            // Files in relsync's own package version are relsync's, recorded or not; a
            // scoped job's are only those its scope recorded.
            Prune::Managed => match job_scope {
                None => caps.files_linked || managed_stored.contains_key(&s.name),
                Some(_) => managed_stored
                    .get(&s.name)
                    .is_some_and(|(n, _)| scope::may_prune(job_scope, &old_state, n)),
            },
            Prune::None => false,
        };
        if prune && !refused.contains(&s.id) {
            file_deletes.push(Action::DeleteFile {
                file: s.clone(),
                reason: "no longer declared".into(),
            });
        } else if let Some((name, st)) = managed_stored.get(&s.name) {
            // Kept under `prune: none`: still relsync's, for a later `managed` run.
            new_files
                .entry((*name).clone())
                .or_insert_with(|| (*st).clone());
        }
    }

    // Links: declared links, plus one per file where the forge links files.
    let mut want: Vec<NewLink> = Vec::new();
    if caps.links_api {
        want.extend(desired.links.iter().map(|l| NewLink {
            name: l.name.clone(),
            url: l.url.clone(),
            link_type: l.link_type,
            direct_asset_path: l.direct_asset_path.clone(),
        }));
    }
    if caps.files_linked {
        want.extend(desired.files.iter().map(|f: &DesiredFile| NewLink {
            name: f.name.clone(),
            url: (cx.file_url)(&f.name),
            link_type: f.link_type,
            direct_asset_path: f.direct_asset_path.clone(),
        }));
    }
    let kept_links = actual
        .links
        .iter()
        .filter(|l| {
            old_state.links.contains(&l.name)
                && (prune == Prune::None || !scope::may_prune(job_scope, &old_state, &l.name))
        })
        .map(|l| l.name.clone());
    let declared: BTreeSet<String> = want
        .iter()
        .map(|l| l.name.clone())
        .chain(desired.files.iter().map(|f| f.name.clone()))
        .collect();
    // Fields the forge ignored with the very values wanted now are left as they are.
    let mut skips = guard::Skips::new(&old_state.ignored, cx.ignored);
    // The release's changed fields but the description, which holds the state built below.
    let early = actual.release.as_ref().map(|release| {
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
                let current = release.labels.as_ref().unwrap_or(&old_state.labels);
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
    });
    let ignored_links: HashSet<String> = want
        .iter()
        .filter_map(|w| {
            let h = actual.links.iter().find(|l| l.name == w.name)?;
            (!same_link(h, w) && skips.link_unchanged(h, w)).then(|| w.name.clone())
        })
        .collect();
    let mut new_state = State {
        links: want
            .iter()
            .map(|l| l.name.clone())
            .chain(kept_links)
            .collect(),
        files: new_files,
        labels: if caps.labels {
            desired.labels.clone()
        } else {
            Vec::new()
        },
        kept: kept::still_stored(&refused, &actual.files),
        scopes: BTreeMap::new(),
        ignored: skips.kept.clone(),
    };
    new_state.scopes = scope::record(job_scope, &old_state, &declared, &new_state);
    // A matrix job keeps the notes already in the block (see `scope`).
    let notes = kept_notes.unwrap_or_else(|| {
        stored_links::relink(
            &notes_with_links(desired, caps),
            desired,
            caps,
            &cx.file_url,
            &new_state.files,
        )
    });
    let notes = notes_limit::fit(&notes, &new_state, caps.max_description);
    let block = managed_block(&notes, &new_state);

    let Some(release) = &actual.release else {
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
        return finish(actions, block, None, warnings);
    };

    let conflict = scope::conflict(desired, &old_state);
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
    let blocked = conflict.or(blocked).or(diff_links(
        &want,
        &actual.links,
        &old_state,
        prune,
        job_scope,
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
    let mut plan = finish(actions, description, blocked, warnings);
    plan.ignored = skips.kept;
    plan
}

/// Why the state in the description cannot be relied on, and what that means this run.
fn state_warning(parsed: &Parsed, prune: Prune) -> Option<String> {
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

/// Links: reach `want` from `have` with the fewest writes, ordered so that GitLab's
/// uniqueness of names, URLs and paths per release never fails: deletes, then updates,
/// then creates; an update whose new URL or path is still held by another changing link
/// becomes a delete and a create.
/// Returns why the links cannot be reached, when a link relsync may not touch holds a URL or
/// path a wanted link needs (writing anyway would fail on every run).
#[allow(
    clippy::too_many_lines,
    reason = "GitLab's uniqueness simulation needs its whole state in one place"
)]
fn diff_links(
    want: &[NewLink],
    have: &[Link],
    state: &State,
    prune: Prune,
    job_scope: Option<&str>,
    ignored: &HashSet<String>,
    actions: &mut Vec<Action>,
) -> Option<String> {
    let mut have_by_name: HashMap<&str, &Link> =
        have.iter().map(|l| (l.name.as_str(), l)).collect();
    let mut updates: Vec<(&Link, NewLink)> = Vec::new();
    let mut creates: Vec<NewLink> = Vec::new();
    let mut unchanged = Vec::new();
    for w in want {
        match have_by_name.remove(w.name.as_str()) {
            Some(h) if same_link(h, w) || ignored.contains(&w.name) => {
                unchanged.push(w.name.clone());
            }
            Some(h) => updates.push((h, w.clone())),
            None => creates.push(w.clone()),
        }
    }
    // Links nobody asked for: removable ones may be renamed into a create with the same URL.
    let mut removable: Vec<&Link> = Vec::new();
    let mut kept: Vec<&Link> = Vec::new();
    let mut rest: Vec<&Link> = have_by_name.into_values().collect();
    rest.sort_by_key(|l| l.id);
    for l in rest {
        let can = match prune {
            Prune::All => true,
            Prune::Managed => {
                state.links.contains(&l.name) && scope::may_prune(job_scope, state, &l.name)
            }
            Prune::None => false,
        };
        if can { removable.push(l) } else { kept.push(l) }
    }
    creates.retain(|c| {
        if let Some(pos) = removable.iter().position(|r| r.url == c.url) {
            updates.push((removable.remove(pos), c.clone()));
            false
        } else {
            true
        }
    });
    let held = |k: &Link, w: &NewLink| -> Option<String> {
        let path = |p: Option<&str>| p.map(|p| p.trim_start_matches('/').to_owned());
        if k.url == w.url {
            Some(format!("URL {}", w.url))
        } else if w.direct_asset_path.is_some()
            && path(k.direct_asset_path.as_deref()) == path(w.direct_asset_path.as_deref())
        {
            Some(format!(
                "direct asset path {}",
                w.direct_asset_path.as_deref().unwrap_or_default()
            ))
        } else {
            None
        }
    };
    let conflict = kept.iter().find_map(|k| {
        creates
            .iter()
            .chain(updates.iter().map(|(_, w)| w))
            .find_map(|w| held(k, w).map(|what| (k, w, what)))
    });
    if let Some((k, w, what)) = conflict {
        let policy = match prune {
            Prune::Managed => "managed",
            Prune::All => "all",
            Prune::None => "none",
        };
        return Some(format!(
            "the link `{}` needs the {what}, which the link `{}` holds; GitLab keeps link names, URLs and paths unique per release, and `prune: {policy}` keeps `{}`: delete or change that link on the release page, or declare it in the manifest",
            w.name, k.name, k.name
        ));
    }
    let mut deletes: Vec<&Link> = removable;
    // GitLab keeps URLs and paths unique per release. Simulate who holds which value: deletes
    // run first, then updates in order, so an update waits until its new URL and path are
    // free; when only a cycle (a swap) is left, one of its links is deleted and recreated.
    let deleted: HashSet<u64> = deletes.iter().map(|l| l.id).collect();
    let mut urls: HashMap<String, u64> = HashMap::new();
    let mut paths: HashMap<String, u64> = HashMap::new();
    for l in have.iter().filter(|l| !deleted.contains(&l.id)) {
        urls.insert(l.url.clone(), l.id);
        if let Some(p) = &l.direct_asset_path {
            paths.insert(p.clone(), l.id);
        }
    }
    let free = |held: &HashMap<String, u64>, value: Option<&str>, id: u64| {
        value.is_none_or(|v| held.get(v).is_none_or(|h| *h == id))
    };
    let mut pending = updates;
    let mut final_updates = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|(h, w)| {
            free(&urls, Some(w.url.as_str()), h.id)
                && free(&paths, w.direct_asset_path.as_deref(), h.id)
        });
        let (h, w) = pending.remove(ready.unwrap_or(0));
        urls.retain(|_, id| *id != h.id);
        paths.retain(|_, id| *id != h.id);
        if ready.is_some() {
            urls.insert(w.url.clone(), h.id);
            if let Some(p) = &w.direct_asset_path {
                paths.insert(p.clone(), h.id);
            }
            final_updates.push((h, w));
        } else {
            deletes.push(h);
            creates.push(w);
        }
    }
    for d in deletes {
        actions.push(Action::DeleteLink { link: d.clone() });
    }
    for (h, w) in final_updates {
        actions.push(Action::UpdateLink {
            from: h.clone(),
            to: w,
        });
    }
    for c in creates {
        actions.push(Action::CreateLink { link: c });
    }
    for name in unchanged {
        actions.push(Action::Unchanged {
            kind: "link".into(),
            name,
        });
    }
    None
}

fn same_link(h: &Link, w: &NewLink) -> bool {
    h.url == w.url
        // A forge without link types (Forgejo) reports none.
        && h.link_type.is_none_or(|t| t == w.link_type)
        && h.direct_asset_path
            .as_deref()
            .map(|p| p.trim_start_matches('/'))
            == w.direct_asset_path
                .as_deref()
                .map(|p| p.trim_start_matches('/'))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::raw::LinkType;

    fn want(name: &str, url: &str) -> NewLink {
        NewLink {
            name: name.into(),
            url: url.into(),
            link_type: LinkType::Other,
            direct_asset_path: None,
        }
    }

    fn have(id: u64, name: &str, url: &str) -> Link {
        Link {
            id,
            name: name.into(),
            url: url.into(),
            link_type: Some(LinkType::Other),
            direct_asset_path: None,
        }
    }

    fn run(want: &[NewLink], have: &[Link], managed: &[&str], prune: Prune) -> Vec<String> {
        let state = State {
            links: managed.iter().map(|s| (*s).to_owned()).collect(),
            ..State::default()
        };
        let mut actions = Vec::new();
        diff_links(
            want,
            have,
            &state,
            prune,
            None,
            &HashSet::new(),
            &mut actions,
        );
        actions
            .iter()
            .map(|a| match a {
                Action::DeleteLink { link } => format!("delete {}", link.name),
                Action::UpdateLink { from, to } => {
                    format!("update {} -> {} {}", from.name, to.name, to.url)
                }
                Action::CreateLink { link } => format!("create {} {}", link.name, link.url),
                Action::Unchanged { name, .. } => format!("keep {name}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn nothing_to_do_when_equal() {
        assert_eq!(
            run(
                &[want("a", "https://a")],
                &[have(1, "a", "https://a")],
                &["a"],
                Prune::Managed
            ),
            ["keep a"]
        );
    }

    #[test]
    fn swapping_urls_never_holds_one_url_twice() {
        let actions = run(
            &[want("A", "https://b"), want("B", "https://a")],
            &[have(1, "A", "https://a"), have(2, "B", "https://b")],
            &["A", "B"],
            Prune::Managed,
        );
        // One side is deleted first, the other updated, then the first recreated.
        assert_eq!(
            actions,
            ["delete A", "update B -> B https://a", "create A https://b"]
        );
    }

    #[test]
    fn a_chain_of_url_moves_is_ordered_not_recreated() {
        let actions = run(
            &[want("A", "https://y"), want("B", "https://z")],
            &[have(1, "A", "https://x"), have(2, "B", "https://y")],
            &["A", "B"],
            Prune::Managed,
        );
        assert_eq!(
            actions,
            ["update B -> B https://z", "update A -> A https://y"]
        );
    }

    #[test]
    fn a_rename_of_a_managed_link_is_one_update() {
        let actions = run(
            &[want("Documentation", "https://d")],
            &[have(1, "Docs", "https://d")],
            &["Docs"],
            Prune::Managed,
        );
        assert_eq!(actions, ["update Docs -> Documentation https://d"]);
    }

    #[test]
    fn prune_policies() {
        let hand = [
            have(1, "mine", "https://m"),
            have(2, "by hand", "https://h"),
        ];
        assert_eq!(run(&[], &hand, &["mine"], Prune::Managed), ["delete mine"]);
        assert_eq!(
            run(&[], &hand, &["mine"], Prune::All),
            ["delete mine", "delete by hand"]
        );
        assert!(run(&[], &hand, &["mine"], Prune::None).is_empty());
    }
}
