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
