//! A plan's actions as phases whose actions commute, so that `apply` can run each phase's
//! actions at once (up to the concurrency bound) and still keep the orders that matter:
//!
//! - the release is created, updated or deleted alone, between phases;
//! - link deletes commute, and run before the updates and creates that may need their names
//!   and URLs (the plan orders them so);
//! - link updates run in waves: an update joins a wave only when the URL and direct asset path
//!   it takes are free when the wave starts, so a swap or a chain of renames keeps GitLab's
//!   uniqueness rules at every step;
//! - link creates commute once the updates before them are done;
//! - uploads commute, except GitLab's package uploads, which go one at a time as GitLab asks
//!   (its generic package API creates the package on the first file);
//! - file deletes commute.
//!
//! The phases keep the plan's order; only what is inside a phase runs at once.

use std::collections::HashMap;

use crate::forge::{Capabilities, Link};
use crate::plan::Action;

/// Indices into the plan's actions that may run at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// The actions, in plan order.
    pub actions: Vec<usize>,
    /// Whether they may run concurrently (else one after the other).
    pub concurrent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Release,
    DeleteLink,
    UpdateLink,
    CreateLink,
    Upload,
    DeleteFile,
}

fn kind(a: &Action) -> Option<Kind> {
    Some(match a {
        Action::Unchanged { .. } => return None,
        Action::CreateRelease { .. }
        | Action::UpdateRelease { .. }
        | Action::DeleteRelease { .. } => Kind::Release,
        Action::DeleteLink { .. } => Kind::DeleteLink,
        Action::UpdateLink { .. } => Kind::UpdateLink,
        Action::CreateLink { .. } => Kind::CreateLink,
        Action::UploadFile { .. } => Kind::Upload,
        Action::DeleteFile { .. } => Kind::DeleteFile,
    })
}

/// Splits `actions` into phases. `links` are the release's links as observed, which the link
/// update waves start from.
#[must_use]
pub fn phases(actions: &[Action], links: &[Link], caps: Capabilities) -> Vec<Phase> {
    // Who holds which URL and path, as the phases run.
    let mut urls: HashMap<String, u64> = links.iter().map(|l| (l.url.clone(), l.id)).collect();
    let mut paths: HashMap<String, u64> = links
        .iter()
        .filter_map(|l| Some((l.direct_asset_path.clone()?, l.id)))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < actions.len() {
        let Some(k) = kind(&actions[i]) else {
            i += 1;
            continue;
        };
        let mut run = vec![i];
        let mut j = i + 1;
        while k != Kind::Release && j < actions.len() {
            match kind(&actions[j]) {
                None => {}
                Some(next) if next == k => run.push(j),
                Some(_) => break,
            }
            j += 1;
        }
        i = j;
        match k {
            Kind::Release => out.push(Phase {
                actions: run,
                concurrent: false,
            }),
            Kind::DeleteLink => {
                for &a in &run {
                    if let Action::DeleteLink { link } = &actions[a] {
                        urls.retain(|_, id| *id != link.id);
                        paths.retain(|_, id| *id != link.id);
                    }
                }
                out.push(Phase {
                    actions: run,
                    concurrent: true,
                });
            }
            Kind::UpdateLink => update_waves(actions, run, &mut urls, &mut paths, &mut out),
            Kind::Upload => out.push(Phase {
                actions: run,
                concurrent: !caps.files_linked,
            }),
            Kind::CreateLink | Kind::DeleteFile => out.push(Phase {
                actions: run,
                concurrent: true,
            }),
        }
    }
    out
}

/// Link updates in waves: each wave takes every pending update whose new URL and path are
/// free (or its own) when the wave starts; what they give up is free for the next wave.
fn update_waves(
    actions: &[Action],
    mut pending: Vec<usize>,
    urls: &mut HashMap<String, u64>,
    paths: &mut HashMap<String, u64>,
    out: &mut Vec<Phase>,
) {
    let free = |held: &HashMap<String, u64>, value: Option<&str>, id: u64| {
        value.is_none_or(|v| held.get(v).is_none_or(|h| *h == id))
    };
    while !pending.is_empty() {
        let (ready, waiting): (Vec<usize>, Vec<usize>) = pending.iter().partition(|&&a| {
            let Action::UpdateLink { from, to } = &actions[a] else {
                return true;
            };
            free(urls, Some(&to.url), from.id)
                && free(paths, to.direct_asset_path.as_deref(), from.id)
        });
        // The plan never leaves a cycle here (it breaks swaps into delete and create); should
        // one appear, the rest runs one at a time in plan order, as the plan was checked.
        if ready.is_empty() {
            out.push(Phase {
                actions: waiting,
                concurrent: false,
            });
            return;
        }
        for &a in &ready {
            if let Action::UpdateLink { from, to } = &actions[a] {
                urls.retain(|_, id| *id != from.id);
                paths.retain(|_, id| *id != from.id);
                urls.insert(to.url.clone(), from.id);
                if let Some(p) = &to.direct_asset_path {
                    paths.insert(p.clone(), from.id);
                }
            }
        }
        out.push(Phase {
            actions: ready,
            concurrent: true,
        });
        pending = waiting;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::NewLink;

    fn link(id: u64, name: &str, url: &str) -> Link {
        Link {
            id,
            name: name.into(),
            url: url.into(),
            link_type: Default::default(),
            direct_asset_path: None,
        }
    }

    fn new_link(name: &str, url: &str) -> NewLink {
        NewLink {
            name: name.into(),
            url: url.into(),
            link_type: Default::default(),
            direct_asset_path: None,
        }
    }

    fn update(from: &Link, name: &str, url: &str) -> Action {
        Action::UpdateLink {
            from: from.clone(),
            to: new_link(name, url),
        }
    }

    #[test]
    fn independent_updates_run_together_and_a_chain_waits_for_its_url() {
        let a = link(1, "a", "https://x/1");
        let b = link(2, "b", "https://x/2");
        let c = link(3, "c", "https://x/3");
        // b takes a's URL, which a gives up in the same plan; c is independent.
        let actions = vec![
            update(&a, "a", "https://x/9"),
            update(&c, "c", "https://x/8"),
            update(&b, "b", "https://x/1"),
        ];
        let p = phases(&actions, &[a, b, c], Capabilities::GITLAB);
        assert_eq!(
            p,
            vec![
                Phase {
                    actions: vec![0, 1],
                    concurrent: true
                },
                Phase {
                    actions: vec![2],
                    concurrent: true
                },
            ]
        );
    }

    #[test]
    fn the_release_is_a_barrier_and_gitlab_uploads_go_one_at_a_time() {
        let upload = |i: usize| Action::UploadFile {
            name: format!("f{i}"),
            size: 1,
            sha256: String::new(),
            index: i,
        };
        let actions = vec![
            upload(0),
            upload(1),
            Action::Unchanged {
                kind: "link".into(),
                name: "x".into(),
            },
            Action::UpdateRelease {
                tag: "v1".into(),
                patch: Default::default(),
            },
            Action::CreateLink {
                link: new_link("a", "https://x/a"),
            },
            Action::CreateLink {
                link: new_link("b", "https://x/b"),
            },
        ];
        let gitlab = phases(&actions, &[], Capabilities::GITLAB);
        assert_eq!(gitlab.len(), 3);
        assert_eq!(gitlab[0].actions, vec![0, 1]);
        assert!(!gitlab[0].concurrent, "GitLab package uploads are serial");
        assert_eq!(gitlab[1].actions, vec![3]);
        assert_eq!(gitlab[2].actions, vec![4, 5]);
        assert!(gitlab[2].concurrent);
        let github = phases(&actions, &[], Capabilities::GITHUB);
        assert!(github[0].concurrent, "GitHub assets upload at once");
    }

    #[test]
    fn a_cycle_left_in_the_updates_runs_in_plan_order() {
        let a = link(1, "a", "https://x/1");
        let b = link(2, "b", "https://x/2");
        let actions = vec![
            update(&a, "a", "https://x/2"),
            update(&b, "b", "https://x/1"),
        ];
        let p = phases(&actions, &[a, b], Capabilities::GITLAB);
        assert_eq!(
            p,
            vec![Phase {
                actions: vec![0, 1],
                concurrent: false
            }]
        );
    }
}
