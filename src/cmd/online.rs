//! What `plan` (online) and `apply` share: connect, build the desired release, read the
//! forge; then print the plan, or converge and report.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use crate::desired::Desired;
use crate::forge::Forge;
use crate::plan;
use crate::settings::Settings;

/// `plan` (online) and `apply`. Returns whether changes were (or are) pending.
///
/// # Errors
/// Bad input (exit 2) or a forge failure (exit 1).
#[allow(
    clippy::too_many_lines,
    reason = "`plan` and `apply` share the reading of the forge; their two branches read side by side"
)]
pub(super) fn run(settings: &Settings, apply: bool, out: &mut dyn Write) -> anyhow::Result<bool> {
    let forge = crate::forge::connect(settings)?;
    let desired = crate::desired::build(settings, &|tag, p, n| Some(forge.file_url(tag, p, n)))?;
    if let Some(w) = &desired.shallow_warning {
        tracing::warn!("{w}");
    }
    if desired.unreleased {
        if apply {
            return Err(crate::error::input_with(
                "no release tag: HEAD has no tag matching the tag pattern, and none was given",
                "run in a tag pipeline, pass `--tag TAG`, or set `RELSYNC_TAG`",
            ));
        }
        let (uploaded, refused, ignored) = (BTreeMap::new(), BTreeSet::new(), BTreeMap::new());
        let plan = plan::diff(
            &desired,
            None,
            &crate::apply::plan_context(&forge, &desired, &uploaded, &refused, &ignored),
        );
        crate::output::plan::write(settings, &desired, &plan, true, None, out)?;
        return Ok(plan.has_changes());
    }
    if apply && settings.token.is_none() {
        return Err(crate::error::input_with(
            "no token: `apply` needs one to write to the forge",
            crate::settings::token_hint(settings.forge),
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        // Milestones GitLab lacks: `apply` stops before any write, `plan` warns.
        let milestones = if forge.capabilities().milestones && !desired.milestones.is_empty() {
            forge.missing_milestones(&desired.milestones).await?
        } else {
            Some(Vec::new())
        };
        if apply && let Some(missing) = milestones.as_ref().filter(|m| !m.is_empty()) {
            return Err(plan::milestones::missing_error(&settings.manifest, missing).into());
        }
        let milestone_warning = match &milestones {
            None => Some(plan::milestones::unchecked_warning()),
            Some(m) if !m.is_empty() => Some(plan::milestones::missing_warning(m)),
            Some(_) => None,
        };
        if apply {
            let pace = crate::apply::Pace {
                interrupt: Some(crate::apply::on_signal()?),
                concurrency: settings.concurrency,
                progress: Arc::new(crate::output::progress::ProgressBars),
                budget: total_budget(settings),
                ..crate::apply::Pace::default()
            };
            let done = crate::apply::converge(&forge, &desired, &pace).await?;
            report(
                settings,
                &desired,
                &done.first_plan,
                &done.done,
                &done.url,
                out,
            )?;
            Ok(!done.done.is_empty())
        } else {
            let actual = forge.observe(&desired.spec()).await?;
            let (uploaded, refused, ignored) = (BTreeMap::new(), BTreeSet::new(), BTreeMap::new());
            let mut plan = plan::diff(
                &desired,
                Some(&actual),
                &crate::apply::plan_context(&forge, &desired, &uploaded, &refused, &ignored),
            );
            plan.warnings.extend(milestone_warning);
            crate::output::plan::write(
                settings,
                &desired,
                &plan,
                false,
                actual.release.as_ref(),
                out,
            )?;
            Ok(plan.has_changes())
        }
    })
}

/// Prints what `apply` did, then records the release in the dotenv file and the GitHub
/// Actions outputs, as `output` renders them.
fn report(
    settings: &Settings,
    d: &Desired,
    first: &plan::Plan,
    done: &[String],
    url: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let changed = !done.is_empty();
    let forge = settings.forge.map(crate::manifest::raw::ForgeKind::as_str);
    let text =
        crate::output::apply::report(settings.output, settings.quiet, d, first, forge, done, url)?;
    out.write_all(text.as_bytes())?;
    if let Some(path) = &settings.dotenv {
        std::fs::write(
            path,
            crate::output::ci::dotenv(&d.tag, &d.version, url, changed)?,
        )
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    crate::output::ci::github_outputs(&settings.env, d, url, changed, done)
}

/// How long `apply` may go on reading the forge again after failed writes: five minutes, or
/// `RELSYNC_RETRY_BUDGET` when it is set, so that one setting bounds every retry of a run.
fn total_budget(settings: &Settings) -> std::time::Duration {
    if settings
        .env
        .get(crate::env_vars::RELSYNC_RETRY_BUDGET)
        .is_some()
    {
        settings.retry_budget
    } else {
        crate::apply::Pace::default().budget
    }
}
