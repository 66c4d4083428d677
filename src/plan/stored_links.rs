//! Links to uploaded files name the file as the forge stored it. GitHub and Tencent Git rename
//! some uploads (GitHub: a space or other special character becomes `.`; Tencent Git filters
//! special characters, and its upload answer gives the name it kept), so a download URL built
//! from the manifest's name would be a broken link. The notes are rendered before anything is
//! uploaded; once the stored name is known (from this run's upload or from the state in the
//! description), each URL built from the declared name is replaced by the one built from the
//! stored name.

use std::collections::BTreeMap;

use crate::block::StateFile;
use crate::desired::Desired;
use crate::forge::Capabilities;

/// `notes` with the download URL of every renamed file pointing at its stored name.
pub(super) fn relink(
    notes: &str,
    desired: &Desired,
    caps: Capabilities,
    file_url: &dyn Fn(&str) -> String,
    files: &BTreeMap<String, StateFile>,
) -> String {
    if !caps.renames_files {
        return notes.to_owned();
    }
    let renames: Vec<(String, String)> = desired
        .files
        .iter()
        .filter_map(|f| {
            let stored = files.get(&f.name)?.stored.as_deref()?;
            let (from, to) = (file_url(&f.name), file_url(stored));
            (stored != f.name && !from.is_empty() && from != to).then_some((from, to))
        })
        .collect();
    replace_urls(notes, &renames)
}

/// Replaces each whole occurrence of a `from` URL by its `to`, in one pass (a replacement is
/// never replaced again). An occurrence is whole when the URL does not go on after it, so the
/// URL of `app` is not found inside the URL of `app.tar.gz`.
fn replace_urls(text: &str, renames: &[(String, String)]) -> String {
    if renames.is_empty() {
        return text.to_owned();
    }
    let mut sorted: Vec<&(String, String)> = renames.iter().collect();
    sorted.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (from, to) in &sorted {
            if let Some(after) = rest.strip_prefix(from.as_str())
                && !continues_url(after)
            {
                out.push_str(to);
                rest = after;
                continue 'scan;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Whether `after` continues a URL path: a character of a path segment, or a `.` followed by
/// one (a `.` that ends a sentence does not).
fn continues_url(after: &str) -> bool {
    let mut chars = after.chars();
    let part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '%' | '-' | '_' | '~' | '/');
    match chars.next() {
        Some('.') => chars.next().is_some_and(part),
        Some(c) => part(c),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::replace_urls;

    fn r(from: &str, to: &str) -> (String, String) {
        (from.to_owned(), to.to_owned())
    }

    #[test]
    fn replaces_whole_urls_only() {
        let renames = [
            r("https://h/d/my%20app", "https://h/d/my.app"),
            r(
                "https://h/d/my%20app%2Etar%2Egz",
                "https://h/d/my.app.tar.gz",
            ),
        ];
        let text = "- [my app](https://h/d/my%20app)\n- [my app.tar.gz](https://h/d/my%20app%2Etar%2Egz)\nSee https://h/d/my%20app.";
        assert_eq!(
            replace_urls(text, &renames),
            "- [my app](https://h/d/my.app)\n- [my app.tar.gz](https://h/d/my.app.tar.gz)\nSee https://h/d/my.app."
        );
    }

    #[test]
    fn a_url_that_goes_on_is_left_alone() {
        let renames = [r("https://h/d/a", "https://h/d/b")];
        assert_eq!(
            replace_urls("https://h/d/a.tar https://h/d/ab https://h/d/a", &renames),
            "https://h/d/a.tar https://h/d/ab https://h/d/b"
        );
    }

    #[test]
    fn a_replacement_is_not_replaced_again() {
        let renames = [
            r("https://h/x", "https://h/y"),
            r("https://h/y", "https://h/z"),
        ];
        assert_eq!(replace_urls("(https://h/x)", &renames), "(https://h/y)");
    }
}
