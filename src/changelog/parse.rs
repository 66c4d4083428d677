//! Commit message parsing: conventional commit headers, footers, trailers and reverts.
//!
//! Pure functions, no git access: `parse_message` takes the whole message as text.

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
    /// The sha this commit reverts, lowercased, as written (may be abbreviated).
    pub revert: Option<String>,
}

static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?<scope>[^()\r\n]*)\))?(?<bang>!)?:[ \t]+(?<desc>\S.*)$",
    )
    .expect("valid header regex")
});

/// A footer line: `Token: value`, `Token #value`, or a breaking token with its text on the
/// following lines.
static FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?<brk>BREAKING[ -]CHANGE):(?:[ \t]+(?<bval>.*))?[ \t]*|(?<token>[A-Za-z][A-Za-z0-9-]*)(?::[ \t]+(?<cval>.*)|[ \t]+(?<hval>#.*)))$",
    )
    .expect("valid footer regex")
});

static REVERTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)This reverts commit ([0-9a-f]{7,64})\b").expect("valid revert regex")
});

static SHA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9a-fA-F]{7,64}$").expect("valid sha regex"));

static PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?<name>.*?)\s*<(?<email>[^<>]*)>\s*$").expect("valid person regex")
});

/// Parse a commit message. With `conventional` false, the header is not interpreted (no
/// type, scope or breaking flag); footers, co-authors and reverts are read either way.
#[must_use]
pub fn parse_message(msg: &str, conventional: bool) -> Parsed {
    let normalized = msg.replace("\r\n", "\n");
    let text = normalized.trim_start();
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let subject = first.trim().to_string();
    let body = rest.trim().to_string();

    let mut parsed = Parsed {
        description: subject.clone(),
        footers: parse_footers(&body),
        subject,
        body,
        ..Parsed::default()
    };

    let mut bang = false;
    if conventional && let Some(caps) = HEADER.captures(&parsed.subject) {
        parsed.r#type = Some(caps["type"].to_ascii_lowercase());
        parsed.scope = caps
            .name("scope")
            .map(|s| s.as_str().trim().to_string())
            .filter(|s| !s.is_empty());
        bang = caps.name("bang").is_some();
        parsed.description = caps["desc"].trim().to_string();
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

    parsed.revert = REVERTS
        .captures(&parsed.body)
        .map(|c| c[1].to_ascii_lowercase())
        .or_else(|| {
            // `revert: subject` + `Refs: <sha>` (the conventional-commits way).
            if parsed.r#type.as_deref() != Some("revert") {
                return None;
            }
            parsed
                .footers
                .iter()
                .filter(|f| f.token.eq_ignore_ascii_case("refs"))
                .flat_map(|f| f.value.split([',', ' ']))
                .map(str::trim)
                .find(|v| SHA.is_match(v))
                .map(str::to_ascii_lowercase)
        });

    parsed
}

fn is_breaking_token(token: &str) -> bool {
    token == "BREAKING CHANGE" || token == "BREAKING-CHANGE"
}

/// `Name <email>`; `None` when there is no `<email>`.
fn parse_person(value: &str) -> Option<Person> {
    let caps = PERSON.captures(value)?;
    let email = caps["email"].trim().to_string();
    if email.is_empty() {
        return None;
    }
    Some(Person {
        name: caps["name"].trim().to_string(),
        email,
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
    let paragraph_starts: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].trim().is_empty() && (i == 0 || lines[i - 1].trim().is_empty()))
        .collect();

    let breaking_start = paragraph_starts.iter().copied().find(|&i| {
        FOOTER
            .captures(lines[i])
            .is_some_and(|c| c.name("brk").is_some())
    });
    let last_start = paragraph_starts
        .last()
        .copied()
        .filter(|&i| FOOTER.is_match(lines[i]));
    let start = match (breaking_start, last_start) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => match a.or(b) {
            Some(s) => s,
            None => return Vec::new(),
        },
    };

    let mut footers: Vec<Footer> = Vec::new();
    for line in &lines[start..] {
        if let Some(caps) = FOOTER.captures(line) {
            let (token, value) = if let Some(brk) = caps.name("brk") {
                (brk.as_str(), caps.name("bval").map_or("", |m| m.as_str()))
            } else {
                let value = caps
                    .name("cval")
                    .or_else(|| caps.name("hval"))
                    .map_or("", |m| m.as_str());
                (&caps["token"], value)
            };
            footers.push(Footer {
                token: token.to_string(),
                value: value.trim_end().to_string(),
            });
        } else if let Some(last) = footers.last_mut() {
            if !last.value.is_empty() || !line.trim().is_empty() {
                last.value.push('\n');
            }
            last.value.push_str(line.trim());
        }
    }
    for footer in &mut footers {
        footer.value = footer.value.trim().to_string();
    }
    footers
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
