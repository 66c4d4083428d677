//! What relsync prints: logs (tracing, stderr), the text and JSON results (stdout), the
//! dotenv file and GitHub Actions outputs.

use std::fmt::Write as _;
use std::io::IsTerminal;

use serde::Serialize;

use crate::desired::{Desired, DesiredLink};
use crate::plan::{Action, Plan, Summary};

/// Sets up logging to stderr. `RELSYNC_LOG` overrides the level from `-v`/`-q`.
pub fn init_logging(verbose: u8, quiet: bool, filter: Option<&str>, color: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = filter.map_or_else(|| format!("relsync={level},warn"), str::to_owned);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Whether to colour stderr: a terminal, and no `NO_COLOR`.
#[must_use]
pub fn use_color(env: &crate::env_vars::Env) -> bool {
    if env.get(crate::env_vars::NO_COLOR).is_some() {
        return false;
    }
    if env
        .get(crate::env_vars::FORCE_COLOR)
        .is_some_and(|v| v != "0")
    {
        return true;
    }
    std::io::stderr().is_terminal()
}

/// The JSON document of `plan` (and, with results, of `apply`).
#[derive(Debug, Serialize)]
pub struct PlanReport<'a> {
    /// Tag.
    pub tag: &'a str,
    /// Version.
    pub version: &'a str,
    /// Title.
    pub name: &'a str,
    /// Previous release.
    pub previous_tag: Option<&'a str>,
    /// Release commit.
    pub commit: &'a str,
    /// No tag: preview.
    pub unreleased: bool,
    /// Forge kind, when known.
    pub forge: Option<&'a str>,
    /// The forge was not read.
    pub offline: bool,
    /// Commits in the changelog.
    pub commit_count: usize,
    /// Rendered notes.
    pub notes: &'a str,
    /// How the notes were cut to fit the forge's description limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes_cut: Option<&'a crate::desired::limits::Cut>,
    /// Declared links.
    pub links: &'a [DesiredLink],
    /// Files with size and sha256.
    pub files: &'a [crate::desired::DesiredFile],
    /// Ordered actions.
    pub actions: &'a [Action],
    /// Counts.
    pub summary: Summary,
    /// Whether `apply` would write.
    pub changes_pending: bool,
    /// What the user should know about this plan.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub warnings: &'a [String],
    /// Fields left as the forge holds them because it ignored them, with the value tried.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub ignored: &'a std::collections::BTreeMap<String, String>,
    /// Release URL (apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    /// Actions done (apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<&'a [String]>,
}

/// Builds the JSON report.
#[must_use]
pub fn report<'a>(
    d: &'a Desired,
    plan: &'a Plan,
    forge: Option<&'a str>,
    offline: bool,
) -> PlanReport<'a> {
    PlanReport {
        tag: &d.tag,
        version: &d.version,
        name: &d.name,
        previous_tag: d.previous_tag.as_deref(),
        commit: &d.commit,
        unreleased: d.unreleased,
        forge,
        offline,
        commit_count: d.commit_count,
        notes: &d.notes,
        notes_cut: d.limits.cut.as_ref(),
        links: &d.links,
        files: &d.files,
        actions: &plan.actions,
        summary: plan.summary,
        changes_pending: plan.has_changes(),
        warnings: &plan.warnings,
        ignored: &plan.ignored,
        url: None,
        done: None,
    }
}

/// One line per action.
#[must_use]
pub fn describe_action(a: &Action) -> String {
    let m = a.marker();
    match a {
        Action::UploadFile {
            name, size, sha256, ..
        } => format!(
            "{m} upload  {name} ({}, sha256 {})",
            human_size(*size),
            short(sha256)
        ),
        Action::CreateRelease { release } => format!(
            "{m} release {} \"{}\"{}",
            if release.tag.is_empty() {
                "(unreleased: `apply` needs a tag)"
            } else {
                &release.tag
            },
            release.name,
            if release.links.is_empty() {
                String::new()
            } else {
                format!(" with {} link(s)", release.links.len())
            }
        ),
        Action::UpdateRelease { tag, patch } => {
            format!("{m} release {tag}: {}", patch.fields().join(", "))
        }
        Action::DeleteLink { link } => format!("{m} link    {} ({})", link.name, link.url),
        Action::UpdateLink { from, to } => {
            format!("{m} link    {} → {} ({})", from.name, to.name, to.url)
        }
        Action::CreateLink { link } => format!("{m} link    {} ({})", link.name, link.url),
        Action::DeleteRelease { release } => format!(
            "{m} release {} (duplicate draft {})",
            release.tag,
            release.id.unwrap_or_default()
        ),
        Action::DeleteFile { file, reason } => format!("{m} file    {} ({reason})", file.name),
        Action::Unchanged { kind, name } => format!("{m} {kind:<7} {name}"),
    }
}

/// Each field a patch changes, old → new; the description as a unified diff (`-` the forge's,
/// `+` relsync's), a few lines of context around each change.
#[must_use]
pub fn patch_detail(current: &crate::forge::Release, patch: &crate::forge::ReleasePatch) -> String {
    let mut s = String::new();
    let mut field = |name: &str, old: String, new: String| {
        let _ = writeln!(s, "    {name}: {old} → {new}");
    };
    if let Some(n) = &patch.name {
        field("name", format!("{:?}", current.name), format!("{n:?}"));
    }
    if let Some(m) = &patch.milestones {
        field(
            "milestones",
            format!("{:?}", current.milestones),
            format!("{m:?}"),
        );
    }
    if let Some(at) = &patch.released_at {
        let old = current
            .released_at
            .map_or_else(|| "(none)".to_owned(), |t| t.to_rfc3339());
        field("released_at", old, at.to_rfc3339());
    }
    if let Some(l) = &patch.labels {
        field(
            "labels",
            format!("{:?}", current.labels.clone().unwrap_or_default()),
            format!("{l:?}"),
        );
    }
    if let Some(p) = patch.prerelease {
        field("prerelease", current.prerelease.to_string(), p.to_string());
    }
    if let Some(dr) = patch.draft {
        field("draft", current.draft.to_string(), dr.to_string());
    }
    if let Some(desc) = &patch.description {
        let _ = writeln!(s, "    description:");
        let old = current.description.replace("\r\n", "\n");
        let new = desc.replace("\r\n", "\n");
        let diff = similar::TextDiff::from_lines(&old, &new);
        let unified = diff
            .unified_diff()
            .context_radius(2)
            .header("forge", "relsync")
            .to_string();
        for line in unified.lines().filter(|l| !l.starts_with("\\ No newline")) {
            let _ = writeln!(s, "      {line}");
        }
    }
    s
}

/// The text plan.
#[must_use]
pub fn plan_text(
    d: &Desired,
    plan: &Plan,
    forge: Option<&str>,
    offline: bool,
    current: Option<&crate::forge::Release>,
) -> String {
    let mut s = String::new();
    let tag = if d.unreleased {
        "(unreleased)"
    } else {
        d.tag.as_str()
    };
    let _ = writeln!(s, "release  {tag}");
    let _ = writeln!(s, "name     {}", d.name);
    let _ = writeln!(s, "version  {}", d.version);
    let _ = writeln!(
        s,
        "previous {}",
        d.previous_tag.as_deref().unwrap_or("(none: whole history)")
    );
    let _ = writeln!(s, "commits  {}", d.commit_count);
    let _ = writeln!(
        s,
        "forge    {}{}",
        forge.unwrap_or("(not set)"),
        if offline { " (offline: not read)" } else { "" }
    );
    let first = d.notes.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let _ = writeln!(s, "notes    {} line(s): {first}", d.notes.lines().count());
    if let Some(cut) = &d.limits.cut {
        let _ = writeln!(s, "notes    {}", crate::desired::limits::describe_cut(cut));
    }
    for f in &d.files {
        let _ = writeln!(
            s,
            "file     {} {} ({}, sha256 {})",
            f.name,
            f.path,
            human_size(f.size),
            f.sha256
        );
    }
    s.push('\n');
    for a in &plan.actions {
        let _ = writeln!(s, "{}", describe_action(a));
        if let (Action::UpdateRelease { patch, .. }, Some(current)) = (a, current) {
            s.push_str(&patch_detail(current, patch));
        }
    }
    for w in &plan.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    for (field, value) in &plan.ignored {
        let _ = writeln!(
            s,
            "note: `{field}` is left as the forge holds it: the forge ignored {value:?} when relsync wrote it"
        );
    }
    let sm = plan.summary;
    let _ = writeln!(
        s,
        "\nPlan: {} to create, {} to update, {} to delete, {} to upload, {} unchanged.",
        sm.create, sm.update, sm.delete, sm.upload, sm.unchanged
    );
    s
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// `1.5 MiB`.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

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

/// Wraps an upload stream with a progress bar when stderr is a terminal outside CI.
pub fn progress_stream<S>(
    stream: S,
    name: &str,
    size: u64,
) -> impl futures_util::Stream<Item = S::Item> + Send + 'static
where
    S: futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static,
{
    use futures_util::StreamExt;
    let bar = if std::io::stderr().is_terminal()
        && crate::env_vars::Env::from_process()
            .get(crate::env_vars::CI)
            .is_none()
    {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(name.to_owned());
        Some(bar)
    } else {
        None
    };
    stream.map(move |chunk| {
        if let (Some(bar), Ok(c)) = (&bar, &chunk) {
            bar.inc(c.len() as u64);
            if bar.position() >= size {
                bar.finish_and_clear();
            }
        }
        chunk
    })
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

/// A GitHub Actions `::error::` annotation for a failure (newlines escaped as the runner
/// requires), or `None` outside Actions.
#[must_use]
pub fn error_annotation(env: &crate::env_vars::Env, message: &str) -> Option<String> {
    if !env.is_true(crate::env_vars::GITHUB_ACTIONS) {
        return None;
    }
    let escaped = message
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    Some(format!("::error title=relsync::{escaped}"))
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
