//! References to issues, merge requests and pull requests in commit messages, and the
//! merge requests that merge commits record. Pure text functions; URLs come from the forge
//! layout in [`link`].

use std::sync::LazyLock;

use regex::Regex;

use super::model::{Changelog, Commit, MergeRequest, Ref, RefKind};
use crate::forge::layout::Layout;
use crate::manifest::raw::ForgeKind;

/// `#12`, `!12`, `group/app#12`, `group/sub/app!12`, not inside a word (`C#1`) or a URL.
static REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\w/#!.&-])(?P<proj>[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+)?(?P<sig>[#!])(?P<num>[0-9]{1,9})\b")
        .expect("valid ref regex")
});

/// A line that names references: `Closes #1`, `Fixes: #2, #3`, `Resolves group/app#4`,
/// `Refs #5`, `Related to #6`, `See merge request group/app!7`.
static REF_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:[-*]\s+)?(?P<kw>close[sd]?|fix(?:e[sd])?|resolve[sd]?|refs?|related[ -]to|see merge request)\b:?\s+(?P<rest>.*)$")
        .expect("valid ref line regex")
});

/// GitLab's merge commit subject: `Merge branch 'x' into 'main'`.
static GITLAB_MERGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Merge branch '[^']*' into '[^']*'$").expect("valid merge regex")
});

/// GitLab's trailer: `See merge request group/app!12`.
static SEE_MR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^See merge request (?P<proj>\S+?)?!(?P<num>[0-9]{1,9})\s*$")
        .expect("valid see-merge-request regex")
});

/// GitHub's merge commit subject: `Merge pull request #7 from owner/branch`.
static GITHUB_MERGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Merge pull request #(?P<num>[0-9]{1,9}) from \S+").expect("valid merge regex")
});

/// Gitea's merge commit subject: `Merge pull request 'Title' (#7) from branch into main`.
static GITEA_MERGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Merge pull request '(?P<title>.*)' \(#(?P<num>[0-9]{1,9})\) from .+ into .+$")
        .expect("valid merge regex")
});

fn push_refs(text: &str, closes: bool, out: &mut Vec<Ref>) {
    if !text.contains(['#', '!']) {
        return;
    }
    for c in REF.captures_iter(text) {
        let Ok(number) = c["num"].parse::<u64>() else {
            continue;
        };
        let project = c.name("proj").map(|m| m.as_str().to_string());
        let sigil = &c["sig"];
        let kind = if sigil == "!" {
            RefKind::Mr
        } else {
            RefKind::Issue
        };
        let text = format!("{}{sigil}{number}", project.as_deref().unwrap_or(""));
        if let Some(known) = out.iter_mut().find(|r| r.text == text) {
            known.closes |= closes;
            continue;
        }
        out.push(Ref {
            kind,
            number,
            project,
            text,
            url: None,
            closes,
            squash: false,
        });
    }
}

/// The references a commit names: in its subject, then in the reference lines of its body
/// (any paragraph). Kinds are GitLab's until [`link`] knows the forge: `#` an issue, `!` a
/// merge request.
#[must_use]
pub fn parse_refs(subject: &str, body: &str) -> Vec<Ref> {
    let mut out = Vec::new();
    push_refs(subject, false, &mut out);
    // GitHub and Gitea squash merges end the subject with `(#N)`.
    if let Some(open) = subject
        .trim_end()
        .strip_suffix(')')
        .and_then(|s| s.rfind("(#"))
    {
        let inner = &subject.trim_end()[open + 2..subject.trim_end().len() - 1];
        if let Some(r) = out
            .iter_mut()
            .find(|r| r.project.is_none() && r.text == format!("#{inner}"))
        {
            r.squash = true;
        }
    }
    for line in body.lines() {
        // Every keyword starts with one of these letters, after an optional bullet.
        let first = line
            .trim_start()
            .trim_start_matches(['-', '*', ' '])
            .bytes()
            .next()
            .map(|b| b.to_ascii_lowercase());
        if !matches!(first, Some(b'c' | b'f' | b'r' | b's')) || !line.contains(['#', '!']) {
            continue;
        }
        if let Some(c) = REF_LINE.captures(line) {
            let kw = c["kw"].to_ascii_lowercase();
            let closes = kw.starts_with("clos") || kw.starts_with("fix") || kw.starts_with("resol");
            push_refs(&c["rest"], closes, &mut out);
        }
    }
    out
}

/// The merge request a merge commit's message records, with the `kind` of forge that wrote
/// it: GitLab's `Merge branch 'x' into 'main'` with `See merge request group/app!12` (the
/// title is the body's first paragraph), GitHub's `Merge pull request #7 from owner/branch`
/// (the title is the body's first line), Gitea's `Merge pull request 'Title' (#7) from x
/// into main`. `None` for any other message.
#[must_use]
pub fn parse_merge(subject: &str, body: &str, merge_commit: &str) -> Option<MergeRequest> {
    if let Some(c) = GITHUB_MERGE.captures(subject) {
        let number = c["num"].parse().ok()?;
        let title = body.lines().next().unwrap_or("").trim().to_string();
        return Some(MergeRequest {
            kind: RefKind::Pr,
            number,
            title,
            text: format!("#{number}"),
            project: None,
            url: None,
            merge_commit: merge_commit.to_string(),
            refs: Vec::new(),
        });
    }
    if let Some(c) = GITEA_MERGE.captures(subject) {
        let number = c["num"].parse().ok()?;
        return Some(MergeRequest {
            kind: RefKind::Pr,
            number,
            title: c["title"].to_string(),
            text: format!("#{number}"),
            project: None,
            url: None,
            merge_commit: merge_commit.to_string(),
            refs: Vec::new(),
        });
    }
    if GITLAB_MERGE.is_match(subject) {
        let c = SEE_MR.captures(body)?;
        let number = c["num"].parse().ok()?;
        let title = body
            .split("\n\n")
            .map(str::trim)
            .find(|p| !p.is_empty())
            .filter(|p| !REF_LINE.is_match(p.lines().next().unwrap_or("")))
            .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let project = c.name("proj").map(|m| m.as_str().to_string());
        let own = format!("{}!{number}", project.as_deref().unwrap_or(""));
        let mut refs = parse_refs("", body);
        refs.retain(|r| r.text != own);
        return Some(MergeRequest {
            kind: RefKind::Mr,
            number,
            title,
            text: format!("!{number}"),
            project,
            url: None,
            merge_commit: merge_commit.to_string(),
            refs,
        });
    }
    None
}

/// Sets the kinds and web URLs of the commits, references and merge requests of `cl` for
/// the forge `layout` describes; without a layout, only the kinds of `(#N)` squash
/// references are left as GitLab reads them (issues).
///
/// A `#N` on GitHub and Gitea is a pull request or an issue: both forges redirect
/// `/issues/N` to the pull request when it is one, so it is linked as an issue, except the
/// `(#N)` that ends a squash-merge subject, which is the pull request (`/pull/N`). A `!N`
/// names nothing there and is dropped.
pub fn link(cl: &mut Changelog, layout: Option<&Layout>) {
    let each = |c: &mut Commit| link_commit(c, layout);
    cl.commits.iter_mut().for_each(each);
    cl.breaking_changes.iter_mut().for_each(each);
    for g in &mut cl.groups {
        g.commits.iter_mut().for_each(each);
    }
}

fn link_commit(c: &mut Commit, layout: Option<&Layout>) {
    let Some(layout) = layout else {
        return;
    };
    let pulls = matches!(layout.kind(), ForgeKind::Github | ForgeKind::Gitea);
    c.url = Some(layout.commit(&c.id));
    if pulls {
        // `!N` names nothing on GitHub and Gitea.
        c.refs.retain(|r| r.kind != RefKind::Mr);
    }
    // `group/app!12` in group/app is `!12`.
    let own = layout.path();
    let mut seen: Vec<String> = Vec::new();
    c.refs.retain_mut(|r| {
        if r.project.as_deref() == Some(own) {
            r.project = None;
            r.text = r.text[own.len()..].to_string();
        }
        let unique = !seen.contains(&r.text);
        seen.push(r.text.clone());
        unique
    });
    if let Some(mr) = &mut c.mr {
        if mr.project.as_deref() == Some(own) {
            mr.project = None;
        }
        for r in &mut mr.refs {
            r.url = Some(match r.kind {
                RefKind::Issue => layout.issue(r.project.as_deref(), r.number),
                RefKind::Mr | RefKind::Pr => layout.merge_request(r.project.as_deref(), r.number),
            });
        }
    }
    for r in &mut c.refs {
        if pulls && r.squash {
            r.kind = RefKind::Pr;
        }
        let project = r.project.as_deref();
        r.url = Some(match r.kind {
            RefKind::Issue => layout.issue(project, r.number),
            RefKind::Mr | RefKind::Pr => layout.merge_request(project, r.number),
        });
    }
    if let Some(mr) = &mut c.mr {
        mr.url = Some(layout.merge_request(mr.project.as_deref(), mr.number));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(refs: &[Ref]) -> Vec<(&str, RefKind, bool)> {
        refs.iter()
            .map(|r| (r.text.as_str(), r.kind, r.closes))
            .collect()
    }

    #[test]
    fn subject_refs() {
        let refs = parse_refs("fix: crash on start (#123)", "");
        assert_eq!(texts(&refs), vec![("#123", RefKind::Issue, false)]);
        assert!(refs[0].squash);
        let refs = parse_refs("feat: x !12 and group/app#7, see C#1 or a#b", "");
        assert_eq!(
            texts(&refs),
            vec![
                ("!12", RefKind::Mr, false),
                ("group/app#7", RefKind::Issue, false)
            ]
        );
        assert!(!refs[0].squash);
        assert!(parse_refs("feat!: no refs here", "").is_empty());
        assert!(parse_refs("see https://x.org/a#12", "").is_empty());
    }

    #[test]
    fn body_ref_lines_in_any_paragraph() {
        let body = "Closes #1\n\nSome prose mentions #99 in passing.\n\nFixes: #2, group/lib#3\nRelated to #4\nSee merge request group/app!5\nRefs: 676104e";
        let refs = parse_refs("fix: x", body);
        assert_eq!(
            texts(&refs),
            vec![
                ("#1", RefKind::Issue, true),
                ("#2", RefKind::Issue, true),
                ("group/lib#3", RefKind::Issue, true),
                ("#4", RefKind::Issue, false),
                ("group/app!5", RefKind::Mr, false),
            ]
        );
    }

    #[test]
    fn gitlab_merge_commit() {
        let body = "Add the list endpoint\n\nCloses #3\n\nSee merge request group/app!12";
        let mr = parse_merge("Merge branch 'list' into 'main'", body, "abc").unwrap();
        assert_eq!(mr.kind, RefKind::Mr);
        assert_eq!(mr.number, 12);
        assert_eq!(mr.title, "Add the list endpoint");
        assert_eq!(mr.project.as_deref(), Some("group/app"));
        assert_eq!(mr.text, "!12");
        let refs: Vec<&str> = mr.refs.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(refs, vec!["#3"], "the merge request itself is not listed");
        // A local merge without the trailer is no merge request.
        assert_eq!(parse_merge("Merge branch 'x' into 'main'", "", "abc"), None);
        // No title paragraph: an empty title.
        let mr = parse_merge(
            "Merge branch 'x' into 'main'",
            "Closes #3\n\nSee merge request g/a!4",
            "abc",
        )
        .unwrap();
        assert_eq!(mr.title, "");
    }

    #[test]
    fn github_and_gitea_merge_commits() {
        let mr = parse_merge(
            "Merge pull request #7 from octo/feature",
            "feat: add the thing\n\nmore",
            "abc",
        )
        .unwrap();
        assert_eq!(
            (mr.kind, mr.number, mr.title.as_str()),
            (RefKind::Pr, 7, "feat: add the thing")
        );
        let mr = parse_merge(
            "Merge pull request 'fix: x' (#9) from fix-x into main",
            "",
            "abc",
        )
        .unwrap();
        assert_eq!((mr.number, mr.title.as_str()), (9, "fix: x"));
        assert_eq!(
            parse_merge("Merge branch 'main' into feature", "", "abc"),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn any_message_parses_without_a_panic(
            subject in "(Merge (branch|pull request) |Revert \"|[a-zé#!(/ 0-9')\"]){0,12}",
            body in "(See merge request |Closes |Fixes: |\n|[a-zé#!(/ 0-9'-]){0,24}",
        ) {
            let refs = parse_refs(&subject, &body);
            for r in &refs {
                proptest::prop_assert!(r.text.ends_with(&r.number.to_string()));
            }
            let _ = parse_merge(&subject, &body, "abc");
        }
    }
}
