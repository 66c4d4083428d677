//! Superseded stored files that the forge refused to delete.
//!
//! On GitLab, deleting a package file needs the Maintainer role
//! (`authorize_destroy_package!` in `lib/api/package_files.rb`); a pipeline started by a
//! Developer uploads a changed file (the link then serves the new one) but may not delete the
//! old one. The refusal is reported once, as a warning, and the file's id is recorded in the
//! state (`kept`), so no later run tries again.

use std::collections::BTreeSet;

use super::Action;
use crate::forge::StoredFile;

/// The forge refused to delete a stored file for lack of a role: a warning, not a failure.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeleteRefused {
    /// Forge id of the file.
    pub id: u64,
    /// What was refused and what to do about it.
    pub message: String,
}

/// Drops the deletes of files whose deletion was refused before (recorded in the state) or
/// during this run.
pub fn skip_refused(deletes: &mut Vec<Action>, kept: &BTreeSet<u64>) {
    deletes.retain(|a| !matches!(a, Action::DeleteFile { file, .. } if kept.contains(&file.id)));
}

/// The ids to record as kept: refused earlier or now, and still stored.
#[must_use]
pub fn still_stored(kept: &BTreeSet<u64>, files: &[StoredFile]) -> BTreeSet<u64> {
    files
        .iter()
        .map(|f| f.id)
        .filter(|id| kept.contains(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: u64) -> StoredFile {
        StoredFile {
            id,
            parent_id: Some(1),
            name: "app.tgz".into(),
            size: 1,
            sha256: None,
            complete: true,
        }
    }

    fn desired(bytes: &[u8]) -> crate::desired::Desired {
        use crate::desired::{Desired, DesiredFile, FileSource, Package};
        use crate::manifest::raw::{LinkType, NotesMode, Prune};
        Desired {
            tag: "v1".into(),
            unreleased: false,
            version: "1".into(),
            name: "v1".into(),
            previous_tag: None,
            commit: "0".repeat(40),
            git_ref: "0".repeat(40),
            tag_message: None,
            notes: "notes".into(),
            notes_mode: NotesMode::Managed,
            milestones: Vec::new(),
            released_at: None,
            labels: Vec::new(),
            draft: false,
            prerelease: false,
            links: Vec::new(),
            files: vec![DesiredFile {
                name: "app.tgz".into(),
                source: FileSource::Memory(bytes.to_vec()),
                path: "generated".into(),
                size: bytes.len() as u64,
                sha256: crate::forge::fake::sha256_hex(bytes),
                link_type: LinkType::Package,
                direct_asset_path: None,
            }],
            package: Package {
                name: "app".into(),
                version: "1".into(),
            },
            prune: Prune::Managed,
            scope: None,
            commit_count: 1,
            shallow_warning: None,
            limits: crate::desired::limits::Limits::default(),
            context: crate::render::Context::default(),
        }
    }

    /// A GitLab release holding an old and a new copy of `app.tgz`, whose state records
    /// `kept`; the plan with `refused` ids from this run.
    fn plan(kept: &[u64], refused: &[u64]) -> crate::plan::Plan {
        use crate::forge::{Actual, Capabilities, Link, Release};
        use crate::manifest::raw::LinkType;
        use crate::plan::{Context, State, StateFile, diff, managed_block};
        let want = desired(b"new");
        let url = "https://gl/api/v4/projects/1/packages/generic/app/1/app.tgz";
        let state = State {
            links: ["app.tgz".to_owned()].into_iter().collect(),
            files: [(
                "app.tgz".to_owned(),
                StateFile {
                    sha256: want.files[0].sha256.clone(),
                    stored: None,
                },
            )]
            .into_iter()
            .collect(),
            kept: kept.iter().copied().collect(),
            ..State::default()
        };
        let mut old = file(7);
        old.sha256 = Some(crate::forge::fake::sha256_hex(b"old"));
        let mut new = file(8);
        new.sha256 = Some(want.files[0].sha256.clone());
        let actual = Actual {
            release: Some(Release::basic(
                "v1".into(),
                "v1".into(),
                managed_block("notes", &state),
                "https://gl/g/app/-/releases/v1".into(),
            )),
            links: vec![Link {
                id: 1,
                name: "app.tgz".into(),
                url: url.into(),
                link_type: Some(LinkType::Package),
                direct_asset_path: None,
            }],
            files: vec![old, new],
            duplicates: Vec::new(),
        };
        let uploaded = std::collections::BTreeMap::new();
        let refused: BTreeSet<u64> = refused.iter().copied().collect();
        diff(
            &want,
            Some(&actual),
            &Context {
                caps: Capabilities::GITLAB,
                file_url: Box::new(move |_| url.to_owned()),
                uploaded: &uploaded,
                refused: &refused,
                ignored: &std::collections::BTreeMap::new(),
            },
        )
    }

    #[test]
    fn a_refused_delete_is_recorded_in_the_state_and_never_planned_again() {
        // Without a refusal the old copy is deleted.
        let p = plan(&[], &[]);
        assert!(
            p.actions
                .iter()
                .any(|a| matches!(a, Action::DeleteFile { file, .. } if file.id == 7)),
            "{:?}",
            p.actions
        );
        // Refused in this run: no delete; the description now records it.
        let p = plan(&[], &[7]);
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a, Action::DeleteFile { .. })),
            "{:?}",
            p.actions
        );
        assert!(p.description.contains(r#""kept":[7]"#), "{}", p.description);
        assert!(p.has_changes(), "the state is written");
        // Recorded in the state: nothing to do.
        let p = plan(&[7], &[]);
        assert!(!p.has_changes(), "{:?}", p.actions);
        // A kept id that is no longer stored is dropped from the state.
        let p = plan(&[7, 99], &[]);
        assert!(p.description.contains(r#""kept":[7]"#), "{}", p.description);
    }

    #[test]
    fn refused_deletes_are_skipped_and_only_stored_ids_are_kept() {
        let mut deletes = vec![
            Action::DeleteFile {
                file: file(7),
                reason: "superseded".into(),
            },
            Action::DeleteFile {
                file: file(8),
                reason: "superseded".into(),
            },
        ];
        let kept: BTreeSet<u64> = [7, 99].into_iter().collect();
        skip_refused(&mut deletes, &kept);
        assert!(
            matches!(deletes.as_slice(), [Action::DeleteFile { file, .. }] if file.id == 8),
            "{deletes:?}"
        );
        let stored = still_stored(&kept, &[file(7), file(8)]);
        assert_eq!(stored.into_iter().collect::<Vec<_>>(), [7]);
    }
}
