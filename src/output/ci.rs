//! What a CI job reads after `apply`: GitLab's dotenv report, GitHub Actions' step outputs
//! (`$GITHUB_OUTPUT`) and step summary (`$GITHUB_STEP_SUMMARY`). Every value is checked to be
//! one clean line (or an http(s) URL) first, so the forge cannot add variables or lines.

use std::fmt::Write as _;

use crate::desired::Desired;

/// A value the forge reported that cannot be written to the job's outputs as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the {what} `{shown}` is {why}, so it is not written to the job's outputs (it could add variables or lines to them)"
)]
pub struct UnsafeOutput {
    /// Which value.
    pub what: &'static str,
    /// The value, escaped.
    pub shown: String,
    /// What is wrong.
    pub why: &'static str,
}

/// Checks a URL before it is written to the outputs: http(s), no space or control character.
///
/// # Errors
/// What is wrong.
pub fn check_output_url(what: &'static str, url: &str) -> Result<(), UnsafeOutput> {
    let bad = |why| UnsafeOutput {
        what,
        shown: url.escape_debug().to_string(),
        why,
    };
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(
            "not a URL: it contains a space, a newline or a control character",
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("not an http(s) URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("not an http(s) URL with a host"));
    }
    Ok(())
}

/// Checks a one-line value (tag, version): no newline or other control character.
///
/// # Errors
/// What is wrong.
pub fn check_output_line(what: &'static str, value: &str) -> Result<(), UnsafeOutput> {
    if value.chars().any(char::is_control) {
        return Err(UnsafeOutput {
            what,
            shown: value.escape_debug().to_string(),
            why: "not one line: it contains a newline or a control character",
        });
    }
    Ok(())
}

/// The dotenv lines for GitLab's `artifacts:reports:dotenv`, after checking that every value
/// is one clean line (the format has no quoting for newlines).
///
/// # Errors
/// A value that would break out of its line.
pub fn dotenv(tag: &str, version: &str, url: &str, changed: bool) -> Result<String, UnsafeOutput> {
    check_output_line("tag", tag)?;
    check_output_line("version", version)?;
    check_output_url("release URL", url)?;
    Ok(format!(
        "RELEASE_TAG={tag}\nRELEASE_VERSION={version}\nRELEASE_URL={url}\nRELEASE_CHANGED={changed}\n"
    ))
}

/// `name<<DELIM` … `DELIM` entries for `$GITHUB_OUTPUT`, each with a random delimiter that
/// the value does not contain, as GitHub documents for multi-line values.
#[must_use]
pub fn github_output_entries(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        let delim = loop {
            let d = format!("ghadelimiter_{:016x}", rand::random::<u64>());
            if !value.contains(&d) {
                break d;
            }
        };
        let _ = write!(out, "{name}<<{delim}\n{value}\n{delim}\n");
    }
    out
}

/// Text shown inside a markdown code span, whatever it contains: control characters become
/// spaces and the fence is longer than any run of backticks inside.
fn code_span(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let longest = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 {
        format!("{fence} {clean} {fence}")
    } else {
        format!("{fence}{clean}{fence}")
    }
}

/// In GitHub (and Gitea) Actions: the step's outputs to `$GITHUB_OUTPUT` and a markdown
/// summary to `$GITHUB_STEP_SUMMARY`, each appended as the runner expects.
///
/// # Errors
/// A file cannot be written.
pub fn github_outputs(
    env: &crate::env_vars::Env,
    d: &Desired,
    url: &str,
    changed: bool,
    done: &[String],
) -> anyhow::Result<()> {
    use crate::env_vars as ev;
    let append = |path: &str, text: &str| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| anyhow::anyhow!("cannot open {path}: {e}"))?;
        std::io::Write::write_all(&mut f, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {path}: {e}"))
    };
    let outputs = env.get(ev::GITHUB_OUTPUT);
    let summary = env.get(ev::GITHUB_STEP_SUMMARY);
    if outputs.is_some() || summary.is_some() {
        check_output_line("tag", &d.tag)?;
        check_output_line("version", &d.version)?;
        check_output_url("release URL", url)?;
    }
    if let Some(path) = outputs {
        let changed = changed.to_string();
        append(
            path,
            &github_output_entries(&[
                ("tag", &d.tag),
                ("version", &d.version),
                ("url", url),
                ("changed", &changed),
            ]),
        )?;
    }
    if let Some(path) = summary {
        let mut md = format!(
            "### Release [{}](<{url}>)\n\n",
            d.tag.replace(['[', ']'], "")
        );
        if done.is_empty() {
            md.push_str("Already up to date: nothing changed.\n");
        } else {
            md.push_str(&format!("{} change(s):\n\n", done.len()));
            for line in done {
                md.push_str(&format!("- {}\n", code_span(line)));
            }
        }
        append(path, &md)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_refuses_a_url_with_a_newline() {
        let err = dotenv(
            "v1.0.0",
            "1.0.0",
            "https://x.example/r\nINJECTED=1\nPATH=/tmp",
            true,
        )
        .unwrap_err();
        assert_eq!(err.what, "release URL");
        assert!(err.to_string().contains("\\nINJECTED=1"), "{err}");
        assert!(dotenv("v1\n", "1", "https://x.example/r", true).is_err());
        assert!(dotenv("v1", "1", "javascript:alert(1)", true).is_err());
        assert!(dotenv("v1", "1", "https:///nohost", true).is_err());
        let ok = dotenv("v1.0.0", "1.0.0", "https://x.example/r", false).unwrap();
        assert_eq!(
            ok,
            "RELEASE_TAG=v1.0.0\nRELEASE_VERSION=1.0.0\nRELEASE_URL=https://x.example/r\nRELEASE_CHANGED=false\n"
        );
    }

    /// Reads `$GITHUB_OUTPUT` as the runner does: `name=value` lines and `name<<D` heredocs.
    fn parse_github_output(text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if let Some((name, delim)) = line.split_once("<<") {
                let mut value = Vec::new();
                for l in lines.by_ref() {
                    if l == delim {
                        break;
                    }
                    value.push(l);
                }
                out.push((name.to_owned(), value.join("\n")));
            } else if let Some((k, v)) = line.split_once('=') {
                out.push((k.to_owned(), v.to_owned()));
            }
        }
        out
    }

    #[test]
    fn github_output_uses_heredocs_with_fresh_delimiters() {
        let hostile = "a\nextra=1\nghadelimiter_0000000000000000";
        let text = github_output_entries(&[("tag", "v1"), ("url", hostile)]);
        let parsed = parse_github_output(&text);
        assert_eq!(
            parsed,
            vec![
                ("tag".to_owned(), "v1".to_owned()),
                ("url".to_owned(), hostile.to_owned())
            ]
        );
        let first_delims: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once("<<").map(|(_, d)| d))
            .collect();
        assert_eq!(first_delims.len(), 2);
        assert_ne!(first_delims[0], first_delims[1]);
    }

    #[test]
    fn github_outputs_refuse_unsafe_values_and_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let sum = dir.path().join("sum");
        let env = crate::env_vars::Env::from_pairs([
            ("GITHUB_OUTPUT", out.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", sum.to_str().unwrap()),
        ]);
        let d = sample_desired();
        let err = github_outputs(&env, &d, "https://x.example/r\nextra=1", true, &[]).unwrap_err();
        assert!(err.to_string().contains("release URL"), "{err}");
        assert!(!out.exists() && !sum.exists());
        github_outputs(
            &env,
            &d,
            "https://x.example/r",
            true,
            &["+ upload  a`b.tar".to_owned()],
        )
        .unwrap();
        let parsed = parse_github_output(&std::fs::read_to_string(&out).unwrap());
        assert_eq!(parsed.len(), 4);
        assert_eq!(parsed[2], ("url".into(), "https://x.example/r".into()));
        let md = std::fs::read_to_string(&sum).unwrap();
        assert!(md.contains("- `` + upload  a`b.tar ``"), "{md}");
    }

    #[test]
    fn code_spans_hold_any_text() {
        assert_eq!(code_span("plain"), "`plain`");
        assert_eq!(code_span("a\nb"), "`a b`");
        assert_eq!(code_span("x``y"), "``` x``y ```");
    }

    fn sample_desired() -> Desired {
        Desired {
            tag: "v1.0.0".into(),
            unreleased: false,
            version: "1.0.0".into(),
            name: "v1.0.0".into(),
            previous_tag: None,
            commit: "0".repeat(40),
            git_ref: "0".repeat(40),
            tag_message: None,
            notes: String::new(),
            notes_mode: crate::manifest::raw::NotesMode::Managed,
            milestones: Vec::new(),
            released_at: None,
            labels: Vec::new(),
            draft: false,
            prerelease: false,
            links: Vec::new(),
            files: Vec::new(),
            package: crate::desired::Package {
                name: "app".into(),
                version: "1.0.0".into(),
            },
            prune: crate::manifest::raw::Prune::Managed,
            scope: None,
            commit_count: 0,
            shallow_warning: None,
            limits: crate::desired::limits::Limits::default(),
            context: crate::render::Context::default(),
        }
    }
}
