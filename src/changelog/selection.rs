//! Configurations that select nothing: a `tag_pattern` that matches no tag or is written as
//! a regex, `paths` that filter out every commit of the range.

use std::ops::ControlFlow;

use anyhow::Result;

use super::model::Notice;
use super::tags::TagRefs;

/// Whether a tag glob reads like a regex (`^v[0-9]+`, `v\d+\.\d+`, `(a|b)`): globs have
/// no anchors, escapes for classes, `.+` or `+` after a class. (`v1.*` is a fine glob.)
#[must_use]
pub fn looks_like_regex(pattern: &str) -> bool {
    pattern.starts_with('^')
        || pattern.ends_with('$')
        || ["\\d", "\\w", "\\.", ".+", "]+", ")+", "(?", "|"]
            .iter()
            .any(|p| pattern.contains(p))
}

/// A notice when `pattern` (the effective glob, compiled as `matcher`; `written` as in the
/// manifest) looks like a regex, or when the repository has tags and the pattern matches none
/// of them.
pub(crate) fn tag_pattern(
    tags: &TagRefs<'_>,
    pattern: &str,
    matcher: &globset::GlobMatcher,
    written: &str,
) -> Result<Vec<Notice>> {
    if looks_like_regex(written) {
        return Ok(vec![Notice {
            message: format!(
                "changelog.tag_pattern: `{written}` looks like a regex, but it is a glob, so it matches no ordinary tag"
            ),
            remedy:
                "write a glob: `v*` takes `v1.2.3`, `v[0-9]*` only tags with a digit after the `v`"
                    .into(),
        }]);
    }
    // Most often the pattern matches the first tag read: the tags are listed whole only to
    // say what the repository holds when it matches none.
    if tags.any_name(|name| matcher.is_match(name))? {
        return Ok(Vec::new());
    }
    let mut count = 0_usize;
    let mut example = None;
    let mut matched = false;
    tags.visit(|name, _| {
        if matcher.is_match(name) {
            matched = true;
            return ControlFlow::Break(());
        }
        count += 1;
        if example.is_none() {
            example = Some(name.to_string());
        }
        ControlFlow::Continue(())
    })?;
    if matched {
        return Ok(Vec::new());
    }
    Ok(match example {
        Some(example) => vec![Notice {
            message: format!(
                "changelog.tag_pattern: `{pattern}` matches none of the repository's {count} tag(s) (for example `{example}`), so no previous release is found and the whole history is listed"
            ),
            remedy: format!(
                "set `changelog.tag_pattern` to a glob the release tags match, e.g. `{}*`",
                example
                    .chars()
                    .take_while(|c| !c.is_ascii_digit())
                    .collect::<String>()
            ),
        }],
        None => Vec::new(),
    })
}

/// The notice for `paths` that kept none of the `checked` commits.
pub(crate) fn paths_select_nothing(paths: &[String], checked: usize) -> Notice {
    Notice {
        message: format!(
            "changelog.paths: [{}] filter out all {checked} commit(s) of the range, so the notes list no change",
            paths
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        remedy: "check the globs: they are relative to the repository root (`services/api/**`), and `!glob` leaves paths out".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_regex;

    #[test]
    fn regex_like_patterns() {
        for re in [
            "^v[0-9]+",
            "v\\d+",
            "v.+",
            "v[0-9]+\\.[0-9]+",
            "(v|ver)*",
            "v1$",
        ] {
            assert!(looks_like_regex(re), "{re}");
        }
        for glob in [
            "v*",
            "v[0-9]*",
            "release/*",
            "{v,ver}*",
            "app-v*.*",
            "v1.*",
            "*",
        ] {
            assert!(!looks_like_regex(glob), "{glob}");
        }
    }
}
