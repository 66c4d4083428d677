//! Links: what the release should link, and the fewest writes that get there without ever
//! breaking GitLab's uniqueness of link names, URLs and paths per release.

use std::collections::{HashMap, HashSet};

use super::{Action, Context, State, guard, scope};
use crate::desired::{Desired, DesiredFile};
use crate::forge::{Link, NewLink};
use crate::manifest::raw::Prune;

/// The declared links, plus one per file where the forge links files.
pub(super) fn wanted(desired: &Desired, cx: &Context<'_>) -> Vec<NewLink> {
    let mut want: Vec<NewLink> = Vec::new();
    if cx.caps.links_api {
        want.extend(desired.links.iter().map(|l| NewLink {
            name: l.name.clone(),
            url: l.url.clone(),
            link_type: l.link_type,
            direct_asset_path: l.direct_asset_path.clone(),
        }));
    }
    if cx.caps.files_linked {
        want.extend(desired.files.iter().map(|f: &DesiredFile| NewLink {
            name: f.name.clone(),
            url: (cx.file_url)(&f.name),
            link_type: f.link_type,
            direct_asset_path: f.direct_asset_path.clone(),
        }));
    }
    want
}

/// Names of the wanted links that differ on the forge only in fields it ignored with the very
/// values wanted now: they are left as they are.
pub(super) fn ignored(
    want: &[NewLink],
    have: &[Link],
    skips: &mut guard::Skips<'_>,
) -> HashSet<String> {
    want.iter()
        .filter_map(|w| {
            let h = have.iter().find(|l| l.name == w.name)?;
            (!same_link(h, w) && skips.link_unchanged(h, w)).then(|| w.name.clone())
        })
        .collect()
}

/// Links: reach `want` from `have` with the fewest writes, ordered so that GitLab's
/// uniqueness of names, URLs and paths per release never fails: deletes, then updates,
/// then creates; an update whose new URL or path is still held by another changing link
/// becomes a delete and a create.
/// Returns why the links cannot be reached, when a link relsync may not touch holds a URL or
/// path a wanted link needs (writing anyway would fail on every run).
pub(super) fn diff_links(
    want: &[NewLink],
    have: &[Link],
    state: &State,
    prune: Prune,
    job_scope: Option<&str>,
    ignored: &HashSet<String>,
    actions: &mut Vec<Action>,
) -> Option<String> {
    let sorted = sort(want, have, state, prune, job_scope, ignored);
    if let Some(why) = conflict(&sorted, prune) {
        return Some(why);
    }
    order(have, sorted, actions);
    None
}

/// The links sorted by what becomes of them.
struct Sorted<'a> {
    /// Links to change, with their new state.
    updates: Vec<(&'a Link, NewLink)>,
    /// Links to create.
    creates: Vec<NewLink>,
    /// Names of the links already as they should be.
    unchanged: Vec<String>,
    /// Links nobody asked for that the prune policy lets relsync delete.
    removable: Vec<&'a Link>,
    /// Links nobody asked for that stay.
    kept: Vec<&'a Link>,
}

/// Pairs wanted links with the forge's by name; links nobody asked for are removable or kept,
/// and a removable one holding a create's URL is renamed into it.
fn sort<'a>(
    want: &[NewLink],
    have: &'a [Link],
    state: &State,
    prune: Prune,
    job_scope: Option<&str>,
    ignored: &HashSet<String>,
) -> Sorted<'a> {
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
    Sorted {
        updates,
        creates,
        unchanged,
        removable,
        kept,
    }
}

/// Why the links cannot be reached: a kept link holds the URL or path a wanted link needs.
fn conflict(sorted: &Sorted<'_>, prune: Prune) -> Option<String> {
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
    let (k, w, what) = sorted.kept.iter().find_map(|k| {
        sorted
            .creates
            .iter()
            .chain(sorted.updates.iter().map(|(_, w)| w))
            .find_map(|w| held(k, w).map(|what| (k, w, what)))
    })?;
    let policy = match prune {
        Prune::Managed => "managed",
        Prune::All => "all",
        Prune::None => "none",
    };
    Some(format!(
        "the link `{}` needs the {what}, which the link `{}` holds; GitLab keeps link names, URLs and paths unique per release, and `prune: {policy}` keeps `{}`: delete or change that link on the release page, or declare it in the manifest",
        w.name, k.name, k.name
    ))
}

/// Orders the writes: deletes, updates, creates, then the unchanged links.
///
/// GitLab keeps URLs and paths unique per release. Simulate who holds which value: deletes
/// run first, then updates in order, so an update waits until its new URL and path are
/// free; when only a cycle (a swap) is left, one of its links is deleted and recreated.
fn order(have: &[Link], sorted: Sorted<'_>, actions: &mut Vec<Action>) {
    let Sorted {
        updates,
        mut creates,
        unchanged,
        removable,
        kept: _,
    } = sorted;
    let mut deletes: Vec<&Link> = removable;
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
}

/// Whether the forge's link already is the wanted one.
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
