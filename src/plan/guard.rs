//! The convergence guard: a field relsync wrote that reads back unchanged was ignored by the
//! server (Tencent Git may ignore `title` on PUT; GitLab before 15.9 drops a link's
//! `direct_asset_path`). Writing it again would change nothing, on every run. `apply` notices
//! it after the write (the next round wants to write the same value again), says so once, and
//! records the field with the value it tried in relsync's state (`"ignored":
//! {"release.name": "App 1.0"}`). From then on the plan leaves that field as the forge holds
//! it while the manifest asks for that same value; a new value is tried once.
//!
//! Keys: `release.name`, `release.milestones`, `release.released_at`, `release.labels`,
//! `release.prerelease`, `release.draft`, `release.description`, and for GitLab links
//! `link.<name>.url`, `link.<name>.link_type`, `link.<name>.direct_asset_path`. The description
//! holds the state, so an ignored description is only remembered for the run.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::Action;
use crate::forge::{Link, NewLink, ReleasePatch};

/// The key of the description, which is never recorded in the state (it holds the state).
pub const DESCRIPTION: &str = "release.description";

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The fields a release patch writes, keyed as in the state, with the value written.
#[must_use]
pub fn release_fields(patch: &ReleasePatch) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut push = |k: &str, v: String| out.push((k.to_owned(), v));
    if let Some(v) = &patch.name {
        push("release.name", v.clone());
    }
    if let Some(v) = &patch.description {
        push(DESCRIPTION, digest(v));
    }
    if let Some(v) = &patch.milestones {
        let set: BTreeSet<&String> = v.iter().collect();
        push("release.milestones", json(&set));
    }
    if let Some(v) = &patch.released_at {
        push("release.released_at", v.to_rfc3339());
    }
    if let Some(v) = &patch.labels {
        let set: BTreeSet<&String> = v.iter().collect();
        push("release.labels", json(&set));
    }
    if let Some(v) = patch.prerelease {
        push("release.prerelease", v.to_string());
    }
    if let Some(v) = patch.draft {
        push("release.draft", v.to_string());
    }
    out
}

/// The fields a link update changes (those that differ from the link as it is), keyed as in
/// the state, with the value written.
#[must_use]
pub fn link_fields(from: &Link, to: &NewLink) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let key = |f: &str| format!("link.{}.{f}", to.name);
    if from.url != to.url {
        out.push((key("url"), to.url.clone()));
    }
    if from.link_type.is_some_and(|t| t != to.link_type) {
        out.push((key("link_type"), to.link_type.as_str().to_owned()));
    }
    let path = |p: Option<&str>| p.map(|p| p.trim_start_matches('/').to_owned());
    if path(from.direct_asset_path.as_deref()) != path(to.direct_asset_path.as_deref()) {
        out.push((
            key("direct_asset_path"),
            to.direct_asset_path.clone().unwrap_or_default(),
        ));
    }
    out
}

/// The description's value in the guard: a digest, as it can be long.
#[must_use]
pub fn digest(description: &str) -> String {
    let normal = description.replace("\r\n", "\n");
    format!("sha256:{}", hex::encode(Sha256::digest(normal.trim())))
}

/// The fields an action writes that the guard watches: those of release and link updates.
#[must_use]
pub fn action_fields(action: &Action) -> Vec<(String, String)> {
    match action {
        Action::UpdateRelease { patch, .. } => release_fields(patch),
        Action::UpdateLink { from, to } => link_fields(from, to),
        _ => Vec::new(),
    }
}

/// Every field the plan's updates would write.
#[must_use]
pub fn writes(actions: &[Action]) -> Vec<(String, String)> {
    actions.iter().flat_map(action_fields).collect()
}

/// The fields that were written (`sent`, by the last round) and that the next plan wants to
/// write again with the same value: the server ignored them.
#[must_use]
pub fn ignored(sent: &[(String, String)], next: &[Action]) -> BTreeMap<String, String> {
    let again: BTreeSet<(String, String)> = writes(next).into_iter().collect();
    sent.iter()
        .filter(|f| again.contains(*f))
        .cloned()
        .collect()
}

/// Which fields the plan leaves as the forge holds them.
#[derive(Debug, Default)]
pub struct Skips<'a> {
    recorded: Option<&'a BTreeMap<String, String>>,
    run: Option<&'a BTreeMap<String, String>>,
    /// The entries in effect, to record in the new state.
    pub kept: BTreeMap<String, String>,
}

impl<'a> Skips<'a> {
    /// Skips from the state's record and from what this run found.
    #[must_use]
    pub fn new(recorded: &'a BTreeMap<String, String>, run: &'a BTreeMap<String, String>) -> Self {
        Self {
            recorded: Some(recorded),
            run: Some(run),
            kept: BTreeMap::new(),
        }
    }

    /// Whether `key`, which differs on the forge, is left as it is: the forge ignored this very
    /// `value` before.
    pub fn skip(&mut self, key: &str, value: &str) -> bool {
        let held = |m: Option<&BTreeMap<String, String>>| {
            m.and_then(|m| m.get(key)).is_some_and(|v| v == value)
        };
        if !(held(self.run) || held(self.recorded)) {
            return false;
        }
        if key != DESCRIPTION {
            self.kept.insert(key.to_owned(), value.to_owned());
        }
        true
    }

    /// Removes from `patch` the fields the forge ignored with the same value.
    pub fn filter(&mut self, patch: &mut ReleasePatch) {
        for (key, value) in release_fields(patch) {
            if self.skip(&key, &value) {
                match key.as_str() {
                    "release.name" => patch.name = None,
                    DESCRIPTION => patch.description = None,
                    "release.milestones" => patch.milestones = None,
                    "release.released_at" => patch.released_at = None,
                    "release.labels" => patch.labels = None,
                    "release.prerelease" => patch.prerelease = None,
                    "release.draft" => patch.draft = None,
                    _ => {}
                }
            }
        }
    }

    /// Whether the update from `from` to `to` changes only fields the forge ignored with the
    /// same values.
    pub fn link_unchanged(&mut self, from: &Link, to: &NewLink) -> bool {
        let fields = link_fields(from, to);
        if fields.is_empty() || !fields.iter().all(|(k, v)| self.held(k, v)) {
            return false;
        }
        fields.iter().all(|(k, v)| self.skip(k, v))
    }

    fn held(&self, key: &str, value: &str) -> bool {
        [self.run, self.recorded]
            .into_iter()
            .flatten()
            .any(|m| m.get(key).is_some_and(|v| v == value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::raw::LinkType;

    fn patch_name(name: &str) -> ReleasePatch {
        ReleasePatch {
            name: Some(name.into()),
            ..ReleasePatch::default()
        }
    }

    #[test]
    fn a_field_written_and_wanted_again_with_the_same_value_was_ignored() {
        let sent = release_fields(&ReleasePatch {
            name: Some("App 1.0".into()),
            description: Some("notes".into()),
            ..ReleasePatch::default()
        });
        let next = [Action::UpdateRelease {
            tag: "v1".into(),
            patch: patch_name("App 1.0"),
        }];
        let found = ignored(&sent, &next);
        assert_eq!(
            found,
            BTreeMap::from([("release.name".to_owned(), "App 1.0".to_owned())])
        );
        // Another value wanted next is no sign of an ignored field.
        let next = [Action::UpdateRelease {
            tag: "v1".into(),
            patch: patch_name("App 1.1"),
        }];
        assert!(ignored(&sent, &next).is_empty());
    }

    #[test]
    fn skips_hold_only_for_the_value_tried_and_are_kept_for_the_state() {
        let recorded = BTreeMap::from([("release.name".to_owned(), "App 1.0".to_owned())]);
        let run = BTreeMap::new();
        let mut skips = Skips::new(&recorded, &run);
        let mut same = patch_name("App 1.0");
        skips.filter(&mut same);
        assert!(same.is_empty(), "the ignored value is not written again");
        let mut new = patch_name("App 2.0");
        skips.filter(&mut new);
        assert_eq!(new.name.as_deref(), Some("App 2.0"), "a new value is tried");
        assert_eq!(skips.kept, recorded);
    }

    #[test]
    fn an_ignored_description_is_skipped_but_never_recorded() {
        let recorded = BTreeMap::new();
        let run = BTreeMap::from([(DESCRIPTION.to_owned(), digest("text\r\n"))]);
        let mut skips = Skips::new(&recorded, &run);
        let mut p = ReleasePatch {
            description: Some("text".into()),
            ..ReleasePatch::default()
        };
        skips.filter(&mut p);
        assert!(p.is_empty());
        assert!(skips.kept.is_empty());
    }

    #[test]
    fn a_link_update_is_skipped_only_when_every_changed_field_was_ignored() {
        let from = Link {
            id: 1,
            name: "app".into(),
            url: "https://a".into(),
            link_type: Some(LinkType::Package),
            direct_asset_path: None,
        };
        let to = NewLink {
            name: "app".into(),
            url: "https://a".into(),
            link_type: LinkType::Package,
            direct_asset_path: Some("/bin/app".into()),
        };
        assert_eq!(
            link_fields(&from, &to),
            [(
                "link.app.direct_asset_path".to_owned(),
                "/bin/app".to_owned()
            )]
        );
        let recorded = BTreeMap::from([(
            "link.app.direct_asset_path".to_owned(),
            "/bin/app".to_owned(),
        )]);
        let run = BTreeMap::new();
        let mut skips = Skips::new(&recorded, &run);
        assert!(skips.link_unchanged(&from, &to));
        let moved = NewLink {
            url: "https://b".into(),
            ..to.clone()
        };
        let mut skips = Skips::new(&recorded, &run);
        assert!(!skips.link_unchanged(&from, &moved), "the URL must change");
        assert!(skips.kept.is_empty());
    }
}
