//! Matrix builds: several jobs sync parts of one release's assets, each under its own *scope*.
//!
//! The state in the description records, per scope, the names of the assets (links and
//! files) that scope's jobs declared. An asset in no scope belongs to the job without a scope,
//! which owns every scope. So:
//!
//! - a scoped job deletes (under `prune: managed`, and also `all`) only assets of its own
//!   scope that no other scope declares; assets of other scopes, assets relsync recorded
//!   without a scope and assets added by hand are never touched;
//! - a job without a scope prunes as usual, and records what it declares without a scope;
//! - a scoped job keeps the notes already in the block (the job without a scope writes them,
//!   with every asset listed); it writes notes only into a description that has no block yet;
//! - writing the description, a scoped job carries over every entry of the other scopes from
//!   the description it read just before (see `apply`), so jobs merge, not overwrite.

use std::collections::{BTreeMap, BTreeSet};

use crate::block::{BEGIN, END, STATE_PREFIX, State};
use crate::desired::Desired;
use crate::env_vars::Env;
use crate::manifest::raw::Prune;

/// The variable that sets the scope, over `assets.scope`.
pub const SCOPE_VAR: &str = crate::env_vars::RELSYNC_SCOPE;

/// The longest scope.
const MAX_LEN: usize = 64;

/// Whether `scope` is a usable scope: 1 to 64 letters, digits, `-`, `_`, `.`.
///
/// # Errors
/// Why it is not.
pub fn check(scope: &str) -> Result<(), String> {
    if scope.is_empty() || scope.len() > MAX_LEN {
        return Err(format!(
            "the scope `{}` must have 1 to {MAX_LEN} characters",
            scope.escape_debug()
        ));
    }
    if let Some(c) = scope
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "the scope `{}` has `{}`; a scope takes letters, digits, `-`, `_` and `.`",
            scope.escape_debug(),
            c.escape_debug()
        ));
    }
    Ok(())
}

/// Letters and digits kept, every other run of characters made one `-`; at most 64.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_end_matches('-').to_owned();
    out.truncate(MAX_LEN);
    out.trim_end_matches('-').to_owned()
}

/// The scope GitLab's `parallel:` gives a job: its matrix values, which GitLab appends to
/// the job's name (`build: [linux, amd64]` → `linux-amd64`, as
/// `lib/gitlab/ci/config/normalizer/matrix_strategy.rb` names matrix jobs), or
/// `node-<CI_NODE_INDEX>` for `parallel: N` (`build 2/3`). GitLab sets `CI_NODE_TOTAL` above
/// 1 only for jobs made by `parallel:` (`lib/gitlab/ci/variables/builder.rb`).
#[must_use]
pub fn gitlab_default(env: &Env) -> Option<String> {
    let total: u32 = env
        .get(crate::env_vars::CI_NODE_TOTAL)?
        .trim()
        .parse()
        .ok()?;
    if total < 2 {
        return None;
    }
    let from_name = env.get(crate::env_vars::CI_JOB_NAME).and_then(|n| {
        let n = n.trim_end();
        let open = n.rfind('[')?;
        n.ends_with(']')
            .then(|| slug(&n[open + 1..n.len() - 1]))
            .filter(|s| !s.is_empty())
    });
    from_name.or_else(|| {
        let index: u32 = env
            .get(crate::env_vars::CI_NODE_INDEX)?
            .trim()
            .parse()
            .ok()?;
        Some(format!("node-{index}"))
    })
}

/// The checksums file a scoped job writes over its own files: the scope goes before the
/// extension (`SHA256SUMS` → `SHA256SUMS-linux`, `sums.txt` → `sums-linux.txt`), so jobs
/// never replace each other's.
#[must_use]
pub fn checksums_name(name: &str, scope: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => {
            format!("{stem}-{scope}.{ext}")
        }
        _ => format!("{name}-{scope}"),
    }
}

/// The pruning policy a job applies: with a scope, `all` deletes only what `managed` does,
/// since the other assets on the release may be other jobs'.
#[must_use]
pub fn prune(d: &Desired) -> Prune {
    match (&d.scope, d.prune) {
        (Some(_), Prune::All) => Prune::Managed,
        (_, p) => p,
    }
}

/// Whether a job of `scope` may delete the asset `name` that relsync manages and the job no
/// longer declares. Without a scope, yes: that job owns every scope. With one: only when its
/// own scope declared it and no other scope does.
#[must_use]
pub fn may_prune(scope: Option<&str>, old: &State, name: &str) -> bool {
    let Some(scope) = scope else {
        return true;
    };
    old.scopes.get(scope).is_some_and(|n| n.contains(name))
        && !old
            .scopes
            .iter()
            .any(|(s, names)| s != scope && names.contains(name))
}

/// The scopes to record, once the new state's links and files are known. `declared`: the
/// names this job declares.
#[must_use]
pub fn record(
    scope: Option<&str>,
    old: &State,
    declared: &BTreeSet<String>,
    new: &State,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut scopes = old.scopes.clone();
    match scope {
        // Everything it declares is the unscoped job's now.
        None => {
            for names in scopes.values_mut() {
                names.retain(|n| !declared.contains(n));
            }
        }
        Some(scope) => {
            // What the job without a scope already recorded stays its: recording it again
            // under this scope would only change the state back and forth between the jobs.
            let unscoped = |n: &String| {
                (old.links.contains(n) || old.files.contains_key(n))
                    && !old.scopes.values().any(|s| s.contains(n))
            };
            let mine: BTreeSet<String> =
                declared.iter().filter(|n| !unscoped(n)).cloned().collect();
            scopes.insert(scope.to_owned(), mine);
        }
    }
    for names in scopes.values_mut() {
        names.retain(|n| new.links.contains(n) || new.files.contains_key(n));
    }
    scopes.retain(|_, names| !names.is_empty());
    scopes
}

/// Why a scoped job cannot upload a file: another scope declared the same name with other
/// content, so the two jobs would replace each other's file on every run.
#[must_use]
pub fn conflict(d: &Desired, old: &State) -> Option<String> {
    let scope = d.scope.as_deref()?;
    d.files.iter().find_map(|f| {
        let recorded = old.files.get(&f.name)?;
        let other = old
            .scopes
            .iter()
            .find(|(s, names)| s.as_str() != scope && names.contains(&f.name))?;
        (recorded.sha256 != f.sha256).then(|| {
            format!(
                "the file `{}` is already on the release from the job of scope `{}`, with other content; two jobs of one release cannot upload one name: give each job's files distinct names (e.g. with the target in `name:`)",
                f.name, other.0
            )
        })
    })
}

/// The notes a scoped job writes: those already in the release's block, when it has one
/// (`trusted`); `None`: render them.
#[must_use]
pub fn kept_notes(scope: Option<&str>, description: Option<&str>, trusted: bool) -> Option<String> {
    scope?;
    if !trusted {
        return None;
    }
    let text = description?.replace("\r\n", "\n");
    let start = text.find(BEGIN)? + BEGIN.len();
    let inner = text[start..].strip_prefix('\n')?;
    let inner = &inner[..inner.find(END)?];
    let cut = inner.rfind(&format!("\n{STATE_PREFIX}"))?;
    Some(inner[..cut].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{StateFile, managed_block};

    fn state(links: &[&str], files: &[&str], scopes: &[(&str, &[&str])]) -> State {
        State {
            links: links.iter().map(|s| (*s).to_owned()).collect(),
            files: files
                .iter()
                .map(|f| {
                    (
                        (*f).to_owned(),
                        StateFile {
                            sha256: format!("sha-{f}"),
                            stored: None,
                        },
                    )
                })
                .collect(),
            scopes: scopes
                .iter()
                .map(|(s, n)| ((*s).to_owned(), n.iter().map(|x| (*x).to_owned()).collect()))
                .collect(),
            ..State::default()
        }
    }

    fn names(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_scoped_job_prunes_only_what_its_scope_alone_declared() {
        let old = state(
            &["a.tgz", "b.tgz", "shared", "full", "hand"],
            &["a.tgz", "b.tgz", "shared", "full"],
            &[("a", &["a.tgz", "shared"]), ("b", &["b.tgz", "shared"])],
        );
        assert!(may_prune(Some("a"), &old, "a.tgz"));
        assert!(!may_prune(Some("a"), &old, "b.tgz"), "another scope's");
        assert!(!may_prune(Some("a"), &old, "shared"), "still declared by b");
        assert!(!may_prune(Some("a"), &old, "full"), "the unscoped job's");
        assert!(
            !may_prune(Some("c"), &old, "a.tgz"),
            "a scope owns nothing yet"
        );
        for n in ["a.tgz", "b.tgz", "shared", "full"] {
            assert!(
                may_prune(None, &old, n),
                "the job without a scope owns all: {n}"
            );
        }
    }

    #[test]
    fn scopes_recorded_merge_each_job_into_the_others() {
        // Job a on an empty release.
        let declared = names(&["a.tgz"]);
        let new = state(&["a.tgz"], &["a.tgz"], &[]);
        let after_a = record(Some("a"), &State::default(), &declared, &new);
        assert_eq!(
            after_a,
            BTreeMap::from([("a".to_owned(), names(&["a.tgz"]))])
        );
        // Then job b: a's entry is carried over.
        let old = state(&["a.tgz"], &["a.tgz"], &[("a", &["a.tgz"])]);
        let new = state(&["a.tgz", "b.tgz"], &["a.tgz", "b.tgz"], &[]);
        let after_b = record(Some("b"), &old, &names(&["b.tgz"]), &new);
        assert_eq!(
            after_b,
            BTreeMap::from([
                ("a".to_owned(), names(&["a.tgz"])),
                ("b".to_owned(), names(&["b.tgz"]))
            ])
        );
        // Job a drops its file: its scope empties and disappears; b's stays.
        let old = state(
            &["a.tgz", "b.tgz"],
            &["a.tgz", "b.tgz"],
            &[("a", &["a.tgz"]), ("b", &["b.tgz"])],
        );
        let new = state(&["b.tgz"], &["b.tgz"], &[]);
        assert_eq!(
            record(Some("a"), &old, &BTreeSet::new(), &new),
            BTreeMap::from([("b".to_owned(), names(&["b.tgz"]))])
        );
        // The job without a scope takes over what it declares.
        assert_eq!(
            record(None, &old, &names(&["a.tgz", "b.tgz"]), &old),
            BTreeMap::new()
        );
    }

    #[test]
    fn what_the_unscoped_job_recorded_stays_unscoped() {
        let old = state(&["a.tgz", "b.tgz"], &["a.tgz", "b.tgz"], &[]);
        assert_eq!(
            record(Some("a"), &old, &names(&["a.tgz"]), &old),
            BTreeMap::new(),
            "a rerun of a matrix job after the final job changes nothing"
        );
    }

    #[test]
    fn same_name_other_content_in_another_scope_is_a_conflict() {
        let old = state(&["x"], &["x"], &[("b", &["x"])]);
        let mut d = crate::apply::faults::desired("R", &[], &[("x", b"new content")]);
        d.scope = Some("a".into());
        let why = conflict(&d, &old).expect("conflict");
        assert!(why.contains("`x`") && why.contains("scope `b`"), "{why}");
        // Same content, or no other scope: no conflict.
        let mut same = old.clone();
        same.files.get_mut("x").unwrap().sha256 = d.files[0].sha256.clone();
        assert_eq!(conflict(&d, &same), None);
        assert_eq!(conflict(&d, &state(&["x"], &["x"], &[("a", &["x"])])), None);
        d.scope = None;
        assert_eq!(conflict(&d, &old), None);
    }

    #[test]
    fn notes_in_the_block_are_kept_by_scoped_jobs() {
        let block = managed_block("### Assets\n\n- a.tgz\n", &state(&[], &[], &[]));
        let description = format!("hand text\n\n{block}\n\nmore hand text");
        assert_eq!(
            kept_notes(Some("a"), Some(&description), true).as_deref(),
            Some("### Assets\n\n- a.tgz")
        );
        assert_eq!(kept_notes(None, Some(&description), true), None);
        assert_eq!(kept_notes(Some("a"), Some(&description), false), None);
        assert_eq!(kept_notes(Some("a"), None, true), None);
        // Kept notes make the same block again.
        let again = managed_block(
            &kept_notes(Some("a"), Some(&block), true).unwrap(),
            &state(&[], &[], &[]),
        );
        assert_eq!(again, block);
        let crlf = block.replace('\n', "\r\n");
        assert_eq!(
            kept_notes(Some("a"), Some(&crlf), true).as_deref(),
            Some("### Assets\n\n- a.tgz")
        );
    }

    #[test]
    fn scopes_are_plain_names() {
        for ok in ["linux-x86_64", "node-2", "a.b", "x"] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a/b", "ä", &"x".repeat(65)] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn gitlab_parallel_jobs_get_a_scope_from_their_matrix_values() {
        let env = |pairs: &[(&str, &str)]| {
            Env::from_pairs(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            )
        };
        assert_eq!(
            gitlab_default(&env(&[
                ("CI_NODE_TOTAL", "4"),
                ("CI_NODE_INDEX", "2"),
                ("CI_JOB_NAME", "build: [linux, x86_64]")
            ]))
            .as_deref(),
            Some("linux-x86_64")
        );
        assert_eq!(
            gitlab_default(&env(&[
                ("CI_NODE_TOTAL", "3"),
                ("CI_NODE_INDEX", "2"),
                ("CI_JOB_NAME", "build 2/3")
            ]))
            .as_deref(),
            Some("node-2")
        );
        assert_eq!(
            gitlab_default(&env(&[("CI_NODE_TOTAL", "1"), ("CI_JOB_NAME", "release")])),
            None
        );
        assert_eq!(gitlab_default(&env(&[])), None);
        for name in ["b: [a b/c, d]", "b: [ ,, ]"] {
            if let Some(s) = gitlab_default(&env(&[
                ("CI_NODE_TOTAL", "2"),
                ("CI_NODE_INDEX", "1"),
                ("CI_JOB_NAME", name),
            ])) {
                assert!(check(&s).is_ok(), "{name} → {s}");
            }
        }
    }

    #[test]
    fn checksums_of_a_scope_have_their_own_name() {
        assert_eq!(checksums_name("SHA256SUMS", "linux"), "SHA256SUMS-linux");
        assert_eq!(checksums_name("sums.txt", "linux"), "sums-linux.txt");
        assert_eq!(checksums_name(".sums", "linux"), ".sums-linux");
    }

    /// The file names on the fake forge.
    fn stored(fake: &crate::forge::fake::Fake) -> BTreeSet<String> {
        fake.snapshot()
            .files
            .into_iter()
            .map(|(_, n, _)| n)
            .collect()
    }

    #[test]
    fn matrix_jobs_share_one_release_and_a_final_job_prunes_on_every_forge() {
        use crate::apply::faults::{FORGES, desired, run};
        use crate::forge::fake::Fake;
        let job = |scope: Option<&str>, files: &[(&str, &[u8])]| {
            let mut d = desired("App 1.0.0", &[("Docs", "https://docs.example.com")], files);
            d.scope = scope.map(str::to_owned);
            d
        };
        let a = job(Some("a"), &[("a.tgz", b"linux build")]);
        let b = job(Some("b"), &[("b.tgz", b"macos build")]);
        for (forge, caps) in FORGES {
            let fake = Fake::new(caps);
            for (i, d) in [&a, &b, &a].into_iter().enumerate() {
                run(&fake, d).unwrap_or_else(|e| panic!("{forge}: run {i}: {e:#}"));
                assert!(stored(&fake).contains("a.tgz"), "{forge}: run {i}");
            }
            assert_eq!(stored(&fake), names(&["a.tgz", "b.tgz"]), "{forge}");
            for d in [&a, &b] {
                let again = run(&fake, d).expect("again");
                assert!(again.done.is_empty(), "{forge}: {:?}", again.done);
            }
            // Job a renames its file: only its old one goes.
            let a2 = job(Some("a"), &[("a2.tgz", b"linux build")]);
            run(&fake, &a2).expect("a2");
            assert_eq!(stored(&fake), names(&["a2.tgz", "b.tgz"]), "{forge}");
            // The final job, with the full manifest, owns every scope: b.tgz is dropped.
            let full = job(None, &[("a2.tgz", b"linux build")]);
            run(&fake, &full).expect("final");
            assert_eq!(stored(&fake), names(&["a2.tgz"]), "{forge}");
            let description = &fake.world().releases[0].release.description;
            assert!(
                !description.contains("\"scopes\""),
                "{forge}: {description}"
            );
            for d in [&full, &a2] {
                let again = run(&fake, d).expect("again");
                assert!(again.done.is_empty(), "{forge}: {:?}", again.done);
            }
        }
    }

    #[test]
    fn a_scoped_job_reads_the_release_again_just_before_writing_its_description() {
        use crate::apply::faults::{FORGES, desired, run};
        use crate::forge::fake::Fake;
        let job = |scope: &str, file: &str| {
            let mut d = desired("App 1.0.0", &[], &[(file, b"build")]);
            d.scope = Some(scope.to_owned());
            d
        };
        for (forge, caps) in FORGES {
            let fake = Fake::new(caps);
            run(&fake, &job("a", "a.tgz")).expect("a");
            let from = fake.world().log.len();
            run(&fake, &job("b", "b.tgz")).expect("b");
            let log = fake.world().log[from..].to_vec();
            let put = log
                .iter()
                .position(|r| r.method == "PUT" && r.what.starts_with("release"))
                .unwrap_or_else(|| panic!("{forge}: no description written: {log:?}"));
            let before = log[..put]
                .iter()
                .rposition(crate::forge::fake::Request::is_write)
                .unwrap_or_else(|| panic!("{forge}: nothing uploaded first: {log:?}"));
            assert!(
                log[before + 1..put].iter().any(|r| r.method == "GET"),
                "{forge}: the description is written from the read made before the uploads: {log:?}"
            );
        }
    }
}
