//! GitLab refuses a release that names a milestone the project (or its groups) lacks, with
//! `400 Milestone(s) not found: …` (`app/services/releases/create_service.rb`), and it does so
//! only when the release is written, after the files were uploaded. relsync reads the
//! milestones first: `plan` warns, `apply` stops before any write.

use crate::error::InputError;
use crate::manifest::Manifest;

/// The manifest key that declares milestones.
pub const KEY: &str = "release.milestones";

fn listed(missing: &[String]) -> String {
    missing
        .iter()
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

const REMEDY: &str = "create the milestone in the project or one of its groups (Plan > Milestones), or remove it from `release.milestones`";

/// The error `apply` stops with (exit 2): nothing was written.
#[must_use]
pub fn missing_error(manifest: &Manifest, missing: &[String]) -> InputError {
    manifest.error(
        KEY,
        format!(
            "milestone(s) {} do not exist in the project: GitLab would refuse the release after the files were uploaded",
            listed(missing)
        ),
        REMEDY,
    )
}

/// The warning `plan` shows.
#[must_use]
pub fn missing_warning(missing: &[String]) -> String {
    format!(
        "`{KEY}`: milestone(s) {} do not exist in the project, so `apply` will stop before writing anything: {REMEDY}",
        listed(missing)
    )
}

/// The warning `plan` shows when the token may not read milestones.
#[must_use]
pub fn unchecked_warning() -> String {
    format!(
        "`{KEY}`: the token may not read the project's milestones (`CI_JOB_TOKEN` cannot), so they were not checked; GitLab refuses a release naming a milestone that does not exist"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_key_the_titles_and_the_remedy() {
        let w = missing_warning(&["v2.0".into(), "Q3".into()]);
        assert!(
            w.contains("release.milestones")
                && w.contains("`v2.0`, `Q3`")
                && w.contains("Plan > Milestones"),
            "{w}"
        );
        assert!(unchecked_warning().contains("CI_JOB_TOKEN"));
    }
}
