//! The plan: text for people, JSON for machines.

use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::desired::{Desired, DesiredLink};
use crate::plan::{Action, Plan, Summary};
use crate::settings::Settings;

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
            super::human_size(*size),
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
            super::human_size(f.size),
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

/// Prints a plan as text or JSON; `current` is the release as the forge holds it, whose changed
/// fields the text shows old → new.
///
/// # Errors
/// Writing to stdout failed.
pub(crate) fn write(
    settings: &Settings,
    d: &Desired,
    plan: &Plan,
    offline: bool,
    current: Option<&crate::forge::Release>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let forge = settings.forge.map(crate::manifest::raw::ForgeKind::as_str);
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report(d, plan, forge, offline))?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            out.write_all(plan_text(d, plan, forge, offline, current).as_bytes())?;
        }
    }
    Ok(())
}
