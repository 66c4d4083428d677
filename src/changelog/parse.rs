//! Commit message parsing: conventional commit headers, footers, trailers and reverts.
//!
//! Pure functions, no git access: `parse_message` takes the whole message as text.
//!
//! The grammar is matched by hand rather than with regexes: it runs once per commit of the
//! range, and compiling the patterns took about as long as parsing a few thousand messages
//! with them. Each matcher documents the regex it implements; the tests check it against
//! that regex.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::model::{Footer, Person};

/// What a commit message says, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The first line, trimmed.
    pub subject: String,
    /// The subject without its conventional header; the whole subject if not conventional.
    pub description: String,
    /// Everything after the subject, trimmed (footers included).
    pub body: String,
    /// Conventional type, lowercased.
    pub r#type: Option<String>,
    /// Conventional scope (`None` when absent or empty).
    pub scope: Option<String>,
    /// `!` in the header or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer.
    pub breaking: bool,
    /// The breaking footer's text, else the description when only `!` marks the change.
    pub breaking_description: Option<String>,
    /// All footers of the footer block, in order (breaking and co-author footers included).
    pub footers: Vec<Footer>,
    /// `Co-authored-by: Name <email>` trailers.
    pub co_authors: Vec<Person>,
    /// The sha this commit reverts, lowercased, as written (may be abbreviated): the
    /// first of `reverts`.
    pub revert: Option<String>,
    /// Every sha this commit reverts, lowercased, in the order written. Empty unless the
    /// commit is a revert (see [`Reverts`]).
    pub reverts: Vec<String>,
    /// The subject a revert quotes (`Revert "feat: x"` -> `feat: x`), to pair it when no
    /// sha is given.
    pub reverted_subject: Option<String>,
}

/// What a revert commit undoes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reverts {
    /// The shas, lowercased, in the order written.
    pub shas: Vec<String>,
    /// The quoted subject of git's `Revert "…"`.
    pub subject: Option<String>,
}

/// The conventional types recognised whatever their case (`Fix:`, `FEAT:`). Any other
/// all-lowercase word is a type too; a capitalised unknown word (`Forgejo: links`) is
/// prose, and the subject stays whole.
pub const KNOWN_TYPES: &[&str] = &[
    "feat", "feature", "fix", "perf", "refactor", "docs", "doc", "style", "test", "tests", "build",
    "ci", "chore", "revert", "deps", "security", "release",
];

/// `This reverts commit <sha>` anywhere in the body (git's revert message). Compiled only
/// for a body that mentions `commit` (see [`mentions_commit`]).
static REVERTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)This reverts commit ([0-9a-f]{7,64})\b").expect("valid revert regex")
});

/// A conventional header, split: `type(scope)!: description`.
#[derive(Debug, PartialEq, Eq)]
struct Header<'a> {
    kind: &'a str,
    scope: Option<&'a str>,
    bang: bool,
    desc: &'a str,
}

/// Match a subject against
/// `^(?<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?<scope>[^()\r\n]*)\))?(?<bang>!)?:[ \t]+(?<desc>\S.*)$`.
///
/// Every part is deterministic (the type cannot contain `(`, `!` or `:`; the blanks before
/// the description are all taken, and what follows them must be a non-blank), so one pass
/// decides.
fn parse_header(subject: &str) -> Option<Header<'_>> {
    let b = subject.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let mut i = 1 + b[1..]
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        .count();
    let kind = &subject[..i];
    let mut scope = None;
    if b.get(i) == Some(&b'(') {
        let start = i + 1;
        let len = b[start..]
            .iter()
            .position(|&c| matches!(c, b'(' | b')' | b'\r' | b'\n'))?;
        if b[start + len] != b')' {
            return None;
        }
        scope = Some(&subject[start..start + len]);
        i = start + len + 1;
    }
    let bang = b.get(i) == Some(&b'!');
    if bang {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    let blanks = blank_run(&subject[i..]);
    if blanks == 0 {
        return None;
    }
    let desc = &subject[i + blanks..];
    let first = desc.chars().next()?;
    if first.is_whitespace() || desc.contains('\n') {
        return None;
    }
    Some(Header {
        kind,
        scope,
        bang,
        desc,
    })
}

/// The length of the run of spaces and tabs `text` starts with.
fn blank_run(text: &str) -> usize {
    text.bytes()
        .take_while(|&c| c == b' ' || c == b'\t')
        .count()
}

/// A footer line, split.
#[derive(Debug, PartialEq, Eq)]
struct FooterLine<'a> {
    token: &'a str,
    value: &'a str,
    /// Matched as a breaking-change footer (`BREAKING CHANGE:`), the first form below.
    breaking: bool,
}

/// Match one line (no `\n`) against
/// `^(?:(?<brk>BREAKING[ -]CHANGE):(?:[ \t]+(?<bval>.*))?[ \t]*|(?<token>[A-Za-z][A-Za-z0-9-]*)(?::[ \t]+(?<cval>.*)|[ \t]+(?<hval>#.*)))$`:
/// `Token: value`, `Token #value`, or a breaking token with its text (possibly none, on
/// the following lines).
fn parse_footer_line(line: &str) -> Option<FooterLine<'_>> {
    if line.contains('\n') {
        return None;
    }
    for token in ["BREAKING CHANGE", "BREAKING-CHANGE"] {
        if let Some(rest) = line.strip_prefix(token).and_then(|r| r.strip_prefix(':')) {
            // Nothing, or blanks then anything: the first form. Anything else matches no
            // form (the token form needs `: ` or ` #` right after the token).
            let blanks = blank_run(rest);
            if rest.is_empty() || blanks > 0 {
                return Some(FooterLine {
                    token,
                    value: &rest[blanks..],
                    breaking: true,
                });
            }
            return None;
        }
    }
    let b = line.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let end = 1 + b[1..]
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-')
        .count();
    let (token, rest) = line.split_at(end);
    let value = if let Some(after) = rest.strip_prefix(':') {
        let blanks = blank_run(after);
        if blanks == 0 {
            return None;
        }
        &after[blanks..]
    } else {
        let blanks = blank_run(rest);
        let value = &rest[blanks..];
        if blanks == 0 || !value.starts_with('#') {
            return None;
        }
        value
    };
    Some(FooterLine {
        token,
        value,
        breaking: false,
    })
}

/// Parse a commit message. With `conventional` false, the header is not interpreted (no
/// type, scope or breaking flag); footers, co-authors and reverts are read either way.
#[must_use]
pub fn parse_message(msg: &str, conventional: bool) -> Parsed {
    parse_message_with(msg, conventional, &[])
}

/// Whether `kind` is read as a conventional type: a [`KNOWN_TYPES`] entry or one of
/// `extra` (the types the groups list) in any case, or any all-lowercase word.
fn is_type(kind: &str, extra: &[String]) -> bool {
    KNOWN_TYPES.iter().any(|t| t.eq_ignore_ascii_case(kind))
        || extra.iter().any(|t| t.eq_ignore_ascii_case(kind))
        || !kind.bytes().any(|b| b.is_ascii_uppercase())
}

/// The conventional header of `subject`, when its type is one (see [`is_type`]).
fn conventional_header<'a>(subject: &'a str, extra: &[String]) -> Option<Header<'a>> {
    parse_header(subject).filter(|h| is_type(h.kind, extra))
}

/// [`parse_message`], reading the types in `extra` (those the groups list) as
/// conventional whatever their case.
#[must_use]
pub fn parse_message_with(msg: &str, conventional: bool, extra: &[String]) -> Parsed {
    let normalized = normalize(msg);
    let (subject, body) = split_message(&normalized);

    let header = if conventional {
        conventional_header(&subject, extra)
    } else {
        None
    };
    let mut parsed = Parsed {
        description: header
            .as_ref()
            .map_or(subject.as_ref(), |h| h.desc.trim())
            .to_string(),
        footers: parse_footers(body),
        ..Parsed::default()
    };
    let mut bang = false;
    if let Some(header) = header {
        let kind = header.kind.to_ascii_lowercase();
        // `feature` is an alias of `feat`.
        parsed.r#type = Some(if kind == "feature" {
            "feat".into()
        } else {
            kind
        });
        parsed.scope = header
            .scope
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        bang = header.bang;
    }

    if conventional {
        let footer_text = parsed
            .footers
            .iter()
            .find(|f| is_breaking_token(&f.token))
            .map(|f| f.value.clone());
        if let Some(text) = footer_text {
            parsed.breaking = true;
            parsed.breaking_description = Some(if text.is_empty() {
                parsed.description.clone()
            } else {
                text
            });
        } else if bang {
            parsed.breaking = true;
            parsed.breaking_description = Some(parsed.description.clone());
        }
    }

    parsed.co_authors = parsed
        .footers
        .iter()
        .filter(|f| f.token.eq_ignore_ascii_case("co-authored-by"))
        .filter_map(|f| parse_person(&f.value))
        .collect();

    let reverts = reverts_of(&subject, body, parsed.r#type.as_deref(), &parsed.footers);
    parsed.revert = reverts.shas.first().cloned();
    parsed.reverts = reverts.shas;
    parsed.reverted_subject = reverts.subject;

    parsed.subject = subject.into_owned();
    parsed.body = body.to_string();
    parsed
}

/// What `parse_message(msg, conventional)` says the commit reverts, without building the
/// rest: for the commits the filters drop, which still count for revert pairing.
pub(crate) fn revert_of(msg: &str, conventional: bool) -> Reverts {
    let normalized = normalize(msg);
    let (subject, body) = split_message(&normalized);
    let kind = conventional_header(&subject, &[])
        .filter(|_| conventional)
        .map(|h| h.kind.to_ascii_lowercase());
    if kind.as_deref() == Some("revert") || is_revert_subject(&subject) {
        reverts_of(&subject, body, kind.as_deref(), &parse_footers(body))
    } else {
        Reverts::default()
    }
}

/// The subject as [`parse_message`] reads it, alone: for the commits the filters drop,
/// which a revert may still name by subject.
pub(crate) fn subject_of(msg: &str) -> String {
    let normalized = normalize(msg);
    split_message(&normalized).0.into_owned()
}

/// The subject of a revert by its words: git's `Revert "…"`, or a revert verb first
/// (`Revert`, `Reverts`, `Reverted`, `Reverting`, `Back out`).
fn is_revert_subject(subject: &str) -> bool {
    let first = subject
        .split(|c: char| c.is_whitespace() || c == ':')
        .next()
        .unwrap_or("");
    ["revert", "reverts", "reverted", "reverting"]
        .iter()
        .any(|v| first.eq_ignore_ascii_case(v))
        || subject
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("back out"))
}

/// What a commit reverts. Only a real revert reverts: git's `Revert "…"` subject, the
/// `revert` type, or a revert verb. A squash body that quotes `This reverts commit …` of
/// one of its commits is not a revert. Every sha it lists counts (`This reverts commit
/// <sha>.` lines, then `Refs:` shas for the `revert` type); without any, git's quoted
/// subject.
fn reverts_of(subject: &str, body: &str, kind: Option<&str>, footers: &[Footer]) -> Reverts {
    let typed = kind == Some("revert");
    if !typed && !is_revert_subject(subject) {
        return Reverts::default();
    }
    let mut shas: Vec<String> = Vec::new();
    if mentions_commit(body) {
        for c in REVERTS.captures_iter(body) {
            let sha = c[1].to_ascii_lowercase();
            if !shas.contains(&sha) {
                shas.push(sha);
            }
        }
    }
    if typed {
        for sha in reverted_in_refs(footers) {
            if !shas.contains(&sha) {
                shas.push(sha);
            }
        }
    }
    let subject = quoted_subject(subject);
    Reverts { shas, subject }
}

/// `Revert "feat: x"` -> `feat: x` (git's revert subject; a revert of a revert nests the
/// quotes, which are kept).
fn quoted_subject(subject: &str) -> Option<String> {
    let rest = subject.strip_prefix("Revert \"")?;
    // GitHub's squash merge of a revert pull request: `Revert "feat: x" (#124)`.
    let rest = match rest.rfind(" (#") {
        Some(i)
            if rest.ends_with(')')
                && rest[i + 3..rest.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            &rest[..i]
        }
        _ => rest,
    };
    let inner = rest.strip_suffix('"')?;
    (!inner.is_empty()).then(|| inner.to_string())
}

/// The message without a leading byte order mark, with CRLF line ends made LF (borrowed
/// when there are none).
fn normalize(msg: &str) -> Cow<'_, str> {
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    if msg.contains("\r\n") {
        Cow::Owned(msg.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(msg)
    }
}

/// The subject and the body after it, both trimmed. The subject is what git calls it: the
/// first paragraph, its lines trimmed and joined with a space (borrowed when it is one
/// line).
fn split_message(text: &str) -> (Cow<'_, str>, &str) {
    let text = text.trim_start();
    let mut end = text.len();
    let mut body_start = text.len();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > 0 && line.trim().is_empty() {
            end = offset;
            body_start = offset;
            break;
        }
        offset += line.len();
    }
    let paragraph = &text[..end];
    let body = text[body_start..].trim();
    let first = paragraph.trim();
    if !first.contains('\n') {
        return (Cow::Borrowed(first), body);
    }
    let joined = first
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (Cow::Owned(joined), body)
}

/// A commit that `git rebase --autosquash` folds into another: `fixup!`, `squash!` or
/// `amend!` first.
#[must_use]
pub fn is_autosquash(msg: &str) -> bool {
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg).trim_start();
    ["fixup!", "squash!", "amend!"]
        .iter()
        .any(|p| msg.starts_with(p))
}

/// The conventional-commits way, `revert: subject` + `Refs: <sha>`: the sha-like values
/// of the `Refs` footers, lowercased.
fn reverted_in_refs(footers: &[Footer]) -> Vec<String> {
    footers
        .iter()
        .filter(|f| f.token.eq_ignore_ascii_case("refs"))
        .flat_map(|f| f.value.split([',', ' ', '\n']))
        .map(str::trim)
        .filter(|v| is_sha(v))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Whether `text` contains `commit` in any ASCII case: a necessary condition for a
/// [`REVERTS`] match (no character outside ASCII case-folds to one of `c`, `o`, `m`, `i`,
/// `t`), checked before running, or compiling, the regex.
fn mentions_commit(text: &str) -> bool {
    text.as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"commit"))
}

/// `^[0-9a-fA-F]{7,64}$`.
fn is_sha(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|c| c.is_ascii_hexdigit())
}

fn is_breaking_token(token: &str) -> bool {
    token == "BREAKING CHANGE" || token == "BREAKING-CHANGE"
}

/// `Name <email>`; `None` when there is no `<email>`. Implements
/// `^\s*(?<name>.*?)\s*<(?<email>[^<>]*)>\s*$` with both parts trimmed: the `>` is the
/// last non-blank, the `<` the last one before it, and the name may not span lines.
fn parse_person(value: &str) -> Option<Person> {
    let inner = value.trim_end().strip_suffix('>')?;
    let open = inner.rfind('<')?;
    let email = &inner[open + 1..];
    let name = inner[..open].trim();
    if email.contains('>') || name.contains('\n') {
        return None;
    }
    let email = email.trim();
    if email.is_empty() {
        return None;
    }
    Some(Person {
        name: name.to_string(),
        email: email.to_string(),
    })
}

/// Footers of a body: the last paragraph when its first line is a footer, or everything
/// from a paragraph that starts with a breaking-change footer (its text may span
/// paragraphs). Lines that are not footers continue the previous footer's value.
fn parse_footers(body: &str) -> Vec<Footer> {
    if body.is_empty() {
        return Vec::new();
    }
    let lines: Vec<&str> = body.lines().collect();
    let paragraph_starts = (0..lines.len())
        .filter(|&i| !lines[i].trim().is_empty() && (i == 0 || lines[i - 1].trim().is_empty()));

    let mut breaking_start = None;
    let mut last_start = None;
    for i in paragraph_starts {
        last_start = Some(i);
        if breaking_start.is_none() && parse_footer_line(lines[i]).is_some_and(|f| f.breaking) {
            breaking_start = Some(i);
        }
    }
    let last_start = last_start.filter(|&i| parse_footer_line(lines[i]).is_some());
    let start = match (breaking_start, last_start) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => match a.or(b) {
            Some(s) => s,
            None => return Vec::new(),
        },
    };

    let mut footers: Vec<Footer> = Vec::new();
    for line in &lines[start..] {
        if let Some(footer) = parse_footer_line(line) {
            footers.push(Footer {
                token: footer.token.to_string(),
                value: footer.value.trim_end().to_string(),
            });
        } else if let Some(last) = footers.last_mut() {
            if !last.value.is_empty() || !line.trim().is_empty() {
                last.value.push('\n');
            }
            last.value.push_str(line.trim());
        }
    }
    for footer in &mut footers {
        let trimmed = footer.value.trim();
        if trimmed.len() != footer.value.len() {
            footer.value = trimmed.to_string();
        }
    }
    footers
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The regexes the hand-written matchers implement, as the oracle.
    mod oracle {
        use std::sync::LazyLock;

        use regex::Regex;

        pub fn header(s: &str) -> Option<(String, Option<String>, bool, String)> {
            static RE: LazyLock<Regex> = LazyLock::new(|| {
                Regex::new(
                r"^(?<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?<scope>[^()\r\n]*)\))?(?<bang>!)?:[ \t]+(?<desc>\S.*)$",
            )
            .unwrap()
            });
            let re = &*RE;
            let c = re.captures(s)?;
            Some((
                c["type"].to_string(),
                c.name("scope").map(|m| m.as_str().to_string()),
                c.name("bang").is_some(),
                c["desc"].to_string(),
            ))
        }

        pub fn footer(s: &str) -> Option<(String, String, bool)> {
            static RE: LazyLock<Regex> = LazyLock::new(|| {
                Regex::new(
                r"^(?:(?<brk>BREAKING[ -]CHANGE):(?:[ \t]+(?<bval>.*))?[ \t]*|(?<token>[A-Za-z][A-Za-z0-9-]*)(?::[ \t]+(?<cval>.*)|[ \t]+(?<hval>#.*)))$",
            )
            .unwrap()
            });
            let re = &*RE;
            let c = re.captures(s)?;
            Some(if let Some(brk) = c.name("brk") {
                let value = c.name("bval").map_or("", |m| m.as_str());
                (brk.as_str().to_string(), value.to_string(), true)
            } else {
                let value = c
                    .name("cval")
                    .or_else(|| c.name("hval"))
                    .map_or("", |m| m.as_str());
                (c["token"].to_string(), value.to_string(), false)
            })
        }

        pub fn person(s: &str) -> Option<(String, String)> {
            static RE: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"^\s*(?<name>.*?)\s*<(?<email>[^<>]*)>\s*$").unwrap());
            let re = &*RE;
            let c = re.captures(s)?;
            let email = c["email"].trim().to_string();
            (!email.is_empty()).then(|| (c["name"].trim().to_string(), email))
        }

        pub fn reverts(s: &str) -> bool {
            static RE: LazyLock<Regex> = LazyLock::new(|| {
                Regex::new(r"(?i)This reverts commit ([0-9a-f]{7,64})\b").unwrap()
            });
            RE.is_match(s)
        }
    }

    /// Every sequence of up to four pieces: the grammar's tokens, blanks, line breaks,
    /// non-ASCII letters and blanks.
    fn samples(pieces: &[&str]) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            let next: Vec<String> = last
                .iter()
                .flat_map(|s| pieces.iter().map(move |p| format!("{s}{p}")))
                .collect();
            out.extend(next.iter().cloned());
            last = next;
        }
        out
    }

    #[test]
    fn header_matcher_agrees_with_its_regex() {
        let pieces = [
            "feat",
            "a",
            "B1",
            "_",
            "-",
            "(",
            ")",
            "!",
            ":",
            " ",
            "\t",
            "x y",
            "\r",
            "\n",
            "\u{3000}",
            "é",
            "(api)",
            ": ",
            "(a b)!",
            ": x",
            "( ",
            "feat(api)!",
            "a(",
        ];
        for s in samples(&pieces) {
            let ours = parse_header(&s).map(|h| {
                (
                    h.kind.to_string(),
                    h.scope.map(str::to_string),
                    h.bang,
                    h.desc.to_string(),
                )
            });
            assert_eq!(ours, oracle::header(&s), "{s:?}");
        }
    }

    #[test]
    fn footer_matcher_agrees_with_its_regex() {
        let pieces = [
            "BREAKING CHANGE",
            "BREAKING-CHANGE",
            "Refs",
            "a-1",
            "_",
            ":",
            " ",
            "\t",
            "#",
            "#12",
            "x",
            "\r",
            "\u{3000}",
            "é",
            "BREAKING",
            ": ",
            " #1",
            "BREAKING CHANGE:",
            "BREAKING-CHANGE: ",
            ": x",
            "Co-authored-by: ",
        ];
        for s in samples(&pieces) {
            if s.contains('\n') {
                continue;
            }
            let ours = parse_footer_line(&s)
                .map(|f| (f.token.to_string(), f.value.to_string(), f.breaking));
            assert_eq!(ours, oracle::footer(&s), "{s:?}");
        }
    }

    #[test]
    fn person_matcher_agrees_with_its_regex() {
        let pieces = [
            "Grace",
            " ",
            "\t",
            "<",
            ">",
            "g@x.org",
            "\n",
            "\u{3000}",
            "é",
            "a b",
            "\r",
            "<g@x.org>",
            "a\nb",
            "< g@x >",
            "\n<",
            "> ",
        ];
        for s in samples(&pieces) {
            let ours = parse_person(&s).map(|p| (p.name, p.email));
            assert_eq!(ours, oracle::person(&s), "{s:?}");
        }
    }

    #[test]
    fn revert_prefilter_is_necessary() {
        let pieces = [
            "This",
            "this",
            "THIS",
            " ",
            "reverts",
            "reverſ",
            "REVERTS",
            "commit",
            "COMMIT",
            "Commit",
            "0123456789abcdef",
            "0123456789ABCDEF",
            ".",
            "\n",
        ];
        for s in samples(&pieces) {
            if oracle::reverts(&s) {
                assert!(mentions_commit(&s), "{s:?}");
            }
        }
        for s in ["", "commi", "Why change 12 was needed."] {
            assert!(!mentions_commit(s), "{s:?}");
        }
    }

    #[test]
    fn revert_of_agrees_with_parse_message() {
        let messages = [
            "Revert \"feat: add x\"\n\nThis reverts commit 0123456789ABCDEF0123456789abcdef01234567.\n",
            "revert: let us never again speak of it\n\nRefs: 676104e, a215868",
            "Revert: x\n\nRefs: zzz 676104E",
            "revert(api)!: x\r\n\r\nRefs: #12\r\nRefs: 676104e",
            "fix: x\n\nRefs: 676104e",
            "revert: x\n\nthis REVERTS COMMIT abcdef0\n\nRefs: 1234567",
            "",
            "\n\nrevert: x\n\nRefs: 1234567",
            "feat: squash\n\n* Revert \"x\"\n\nThis reverts commit 1234567.",
            "Revert \"feat: x\"",
            "Reverts a and b\n\nThis reverts commit 1234567.\nThis reverts commit abcdef0.",
        ];
        for msg in messages {
            for conventional in [true, false] {
                let parsed = parse_message(msg, conventional);
                let fast = revert_of(msg, conventional);
                assert_eq!(fast.shas, parsed.reverts, "{msg:?}");
                assert_eq!(fast.subject, parsed.reverted_subject, "{msg:?}");
                assert_eq!(fast.shas.first(), parsed.revert.as_ref(), "{msg:?}");
            }
        }
    }

    #[test]
    fn sha_check() {
        assert!(is_sha("676104e"));
        assert!(is_sha("0123456789ABCDEF0123456789abcdef01234567"));
        assert!(!is_sha("676104"));
        assert!(!is_sha("676104g"));
        assert!(!is_sha(&"a".repeat(65)));
        assert!(is_sha(&"a".repeat(64)));
    }

    fn footer(token: &str, value: &str) -> Footer {
        Footer {
            token: token.into(),
            value: value.into(),
        }
    }

    #[test]
    fn conventional_header_with_scope() {
        let p = parse_message("feat(api): add the thing\n", true);
        assert_eq!(p.subject, "feat(api): add the thing");
        assert_eq!(p.description, "add the thing");
        assert_eq!(p.r#type.as_deref(), Some("feat"));
        assert_eq!(p.scope.as_deref(), Some("api"));
        assert!(!p.breaking);
        assert_eq!(p.breaking_description, None);
        assert_eq!(p.body, "");
        assert!(p.footers.is_empty());
    }

    #[test]
    fn type_is_lowercased_and_empty_scope_is_none() {
        let p = parse_message("Fix(): something", true);
        assert_eq!(p.r#type.as_deref(), Some("fix"));
        assert_eq!(p.scope, None);
        assert_eq!(p.description, "something");
    }

    #[test]
    fn bang_marks_breaking_with_description() {
        let p = parse_message("refactor(core)!: drop the old API", true);
        assert!(p.breaking);
        assert_eq!(p.r#type.as_deref(), Some("refactor"));
        assert_eq!(p.breaking_description.as_deref(), Some("drop the old API"));
    }

    #[test]
    fn breaking_footer_sets_description() {
        let msg = "feat: new config\n\nSome explanation.\n\nBREAKING CHANGE: the `x` key is gone\nRefs: #12\n";
        let p = parse_message(msg, true);
        assert!(p.breaking);
        assert_eq!(
            p.breaking_description.as_deref(),
            Some("the `x` key is gone")
        );
        assert_eq!(
            p.footers,
            vec![
                footer("BREAKING CHANGE", "the `x` key is gone"),
                footer("Refs", "#12")
            ]
        );
        assert_eq!(
            p.body,
            "Some explanation.\n\nBREAKING CHANGE: the `x` key is gone\nRefs: #12"
        );
    }

    #[test]
    fn breaking_change_with_hyphen_and_multiline() {
        let msg = "fix: x\n\nBREAKING-CHANGE: first line\n  second line\n\nthird paragraph\n";
        let p = parse_message(msg, true);
        assert!(p.breaking);
        assert_eq!(
            p.breaking_description.as_deref(),
            Some("first line\nsecond line\n\nthird paragraph")
        );
    }

    #[test]
    fn breaking_footer_wins_over_bang_description() {
        let p = parse_message("feat!: short\n\nBREAKING CHANGE: the long story", true);
        assert!(p.breaking);
        assert_eq!(p.breaking_description.as_deref(), Some("the long story"));
    }

    #[test]
    fn lowercase_breaking_change_is_not_a_breaking_footer() {
        let p = parse_message("feat: a\n\nbreaking change: nope", true);
        assert!(!p.breaking);
    }

    #[test]
    fn hash_separator_footer_keeps_hash() {
        let p = parse_message("fix: crash\n\nCloses #42\nReviewed-by: Bob", true);
        assert_eq!(
            p.footers,
            vec![footer("Closes", "#42"), footer("Reviewed-by", "Bob")]
        );
    }

    #[test]
    fn prose_last_paragraph_is_not_footers() {
        let p = parse_message(
            "fix: crash\n\nThis fixes a crash when: the input is empty.",
            true,
        );
        assert!(p.footers.is_empty());
    }

    #[test]
    fn footers_only_in_last_paragraph() {
        let p = parse_message(
            "fix: a\n\nNote: this looks like a footer\n\nand this is prose",
            true,
        );
        assert!(p.footers.is_empty());
    }

    #[test]
    fn co_authors_from_trailers() {
        let msg = "feat: pair work\n\nBody.\n\nCo-authored-by: Grace Hopper <grace@example.com>\nco-authored-by: Alan Turing <ALAN@example.com>\nCo-authored-by: no email here\n";
        let p = parse_message(msg, true);
        assert_eq!(
            p.co_authors,
            vec![
                Person {
                    name: "Grace Hopper".into(),
                    email: "grace@example.com".into()
                },
                Person {
                    name: "Alan Turing".into(),
                    email: "ALAN@example.com".into()
                },
            ]
        );
        assert_eq!(p.footers.len(), 3);
    }

    #[test]
    fn co_authors_parsed_without_conventional() {
        let p = parse_message(
            "Update stuff\n\nCo-authored-by: Grace <g@example.com>",
            false,
        );
        assert_eq!(p.co_authors.len(), 1);
        assert_eq!(p.r#type, None);
    }

    #[test]
    fn non_conventional_subject() {
        let p = parse_message("Update README", true);
        assert_eq!(p.r#type, None);
        assert_eq!(p.scope, None);
        assert_eq!(p.description, "Update README");
        assert!(!p.breaking);
    }

    #[test]
    fn conventional_disabled_ignores_header_and_breaking() {
        let p = parse_message("feat!: x\n\nBREAKING CHANGE: y", false);
        assert_eq!(p.r#type, None);
        assert!(!p.breaking);
        assert_eq!(p.breaking_description, None);
        assert_eq!(p.description, "feat!: x");
        assert_eq!(p.footers, vec![footer("BREAKING CHANGE", "y")]);
    }

    #[test]
    fn header_needs_space_and_text() {
        assert_eq!(parse_message("feat:", true).r#type, None);
        assert_eq!(parse_message("feat:nospace", true).r#type, None);
        assert_eq!(parse_message("see http://x.org", true).r#type, None);
        assert_eq!(parse_message("Merge branch 'dev'", true).r#type, None);
    }

    #[test]
    fn git_revert_message() {
        let msg = "Revert \"feat: add x\"\n\nThis reverts commit 0123456789ABCDEF0123456789abcdef01234567.\n";
        let p = parse_message(msg, true);
        assert_eq!(
            p.revert.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(p.r#type, None);
    }

    #[test]
    fn conventional_revert_with_refs() {
        let p = parse_message(
            "revert: let us never again speak of it\n\nRefs: 676104e, a215868",
            true,
        );
        assert_eq!(p.revert.as_deref(), Some("676104e"));
        let not = parse_message("fix: x\n\nRefs: 676104e", true);
        assert_eq!(not.revert, None);
    }

    #[test]
    fn crlf_and_leading_blank_lines() {
        let p = parse_message("\r\n\r\nfix(io): windows\r\n\r\nbody line\r\n", true);
        assert_eq!(p.subject, "fix(io): windows");
        assert_eq!(p.body, "body line");
        assert_eq!(p.scope.as_deref(), Some("io"));
    }

    #[test]
    fn empty_message() {
        let p = parse_message("", true);
        assert_eq!(p.subject, "");
        assert_eq!(p.body, "");
        assert_eq!(p.r#type, None);
    }

    #[test]
    fn leading_byte_order_mark_is_stripped() {
        let p = parse_message("\u{feff}feat(api): add x\n", true);
        assert_eq!(p.r#type.as_deref(), Some("feat"));
        assert_eq!(p.subject, "feat(api): add x");
    }

    #[test]
    fn subject_is_the_first_paragraph_joined() {
        let p = parse_message("fix: a long subject\n  wrapped here\n\nThe body.\n", true);
        assert_eq!(p.subject, "fix: a long subject wrapped here");
        assert_eq!(p.description, "a long subject wrapped here");
        assert_eq!(p.body, "The body.");
        let p = parse_message("one\r\ntwo\r\n", true);
        assert_eq!(p.subject, "one two");
        assert_eq!(p.body, "");
    }

    #[test]
    fn autosquash_commits_are_recognised() {
        assert!(is_autosquash("fixup! feat: x"));
        assert!(is_autosquash("\u{feff}squash! x\n\nbody"));
        assert!(is_autosquash("amend! fix: y"));
        assert!(!is_autosquash("fix: fixup! in the docs"));
        assert!(!is_autosquash("fixup: x"));
    }

    #[test]
    fn feature_is_an_alias_of_feat() {
        assert_eq!(
            parse_message("feature(ui): x", true).r#type.as_deref(),
            Some("feat")
        );
        assert_eq!(
            parse_message("Feature: x", true).r#type.as_deref(),
            Some("feat")
        );
    }

    #[test]
    fn capitalised_unknown_word_keeps_the_subject_whole() {
        let p = parse_message("Forgejo: links as external attachments", true);
        assert_eq!(p.r#type, None);
        assert_eq!(p.description, "Forgejo: links as external attachments");
        let p = parse_message("GitLab(api): retries", true);
        assert_eq!(p.r#type, None);
        // Known types in any case, any lowercase word, and the groups' own types stay types.
        assert_eq!(
            parse_message("Docs: x", true).r#type.as_deref(),
            Some("docs")
        );
        assert_eq!(
            parse_message("infra: x", true).r#type.as_deref(),
            Some("infra")
        );
        let extra = vec!["Security".to_string(), "UX".to_string()];
        assert_eq!(
            parse_message_with("UX: tidy", true, &extra)
                .r#type
                .as_deref(),
            Some("ux")
        );
    }

    #[test]
    fn squash_body_quoting_a_revert_is_not_a_revert() {
        let msg = "feat: the whole branch (#12)\n\n* feat: x\n\n* Revert \"feat: x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n";
        let p = parse_message(msg, true);
        assert_eq!(p.revert, None);
        assert!(p.reverts.is_empty());
    }

    #[test]
    fn revert_lists_every_sha() {
        let msg = "Revert the cache work\n\nThis reverts commit 1111111aaaa.\nThis reverts commit 2222222bbbb.\nThis reverts commit 1111111aaaa.\n";
        let p = parse_message(msg, true);
        assert_eq!(p.reverts, vec!["1111111aaaa", "2222222bbbb"]);
        let p = parse_message("revert: x\n\nRefs: 1234567, abcdef0", true);
        assert_eq!(p.reverts, vec!["1234567", "abcdef0"]);
    }

    #[test]
    fn revert_without_sha_keeps_the_quoted_subject() {
        let p = parse_message("Revert \"feat(api): add x\"\n\nIt broke the build.", true);
        assert!(p.reverts.is_empty());
        assert_eq!(p.reverted_subject.as_deref(), Some("feat(api): add x"));
        let p = parse_message("Revert \"feat: x\" (#124)\n\nReverts octo/app#123", true);
        assert_eq!(p.reverted_subject.as_deref(), Some("feat: x"));
        let p = parse_message("Revert \"Revert \"fix: y\"\"", true);
        assert_eq!(p.reverted_subject.as_deref(), Some("Revert \"fix: y\""));
    }
}
