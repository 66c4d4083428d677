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
        links: &d.links,
        files: &d.files,
        actions: &plan.actions,
        summary: plan.summary,
        changes_pending: plan.has_changes(),
        warnings: &plan.warnings,
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

/// The text plan.
#[must_use]
pub fn plan_text(d: &Desired, plan: &Plan, forge: Option<&str>, offline: bool) -> String {
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
    }
    for w in &plan.warnings {
        let _ = writeln!(s, "warning: {w}");
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

/// The dotenv lines for GitLab's `artifacts:reports:dotenv`.
#[must_use]
pub fn dotenv(tag: &str, version: &str, url: &str, changed: bool) -> String {
    format!(
        "RELEASE_TAG={tag}\nRELEASE_VERSION={version}\nRELEASE_URL={url}\nRELEASE_CHANGED={changed}\n"
    )
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
    if let Some(path) = env.get(ev::GITHUB_OUTPUT) {
        append(
            path,
            &format!(
                "tag={}\nversion={}\nurl={url}\nchanged={changed}\n",
                d.tag, d.version
            ),
        )?;
    }
    if let Some(path) = env.get(ev::GITHUB_STEP_SUMMARY) {
        let mut md = format!("### Release [{}]({url})\n\n", d.tag);
        if done.is_empty() {
            md.push_str("Already up to date: nothing changed.\n");
        } else {
            md.push_str(&format!("{} change(s):\n\n", done.len()));
            for line in done {
                md.push_str(&format!("- `{line}`\n"));
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
