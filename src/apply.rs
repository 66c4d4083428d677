//! Executes plans against the forge: the only module that writes. It re-reads the forge and
//! re-plans after every failed write or lost race, so a run converges from whatever state a
//! failed earlier run (or a concurrent job) left, and never repeats a write blindly.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::cli::OutputFormat;
use crate::desired::Desired;
use crate::forge::http::HttpError;
use crate::forge::{Actual, AnyForge, Created, Forge};
use crate::output;
use crate::plan::{self, Action, Plan};
use crate::settings::Settings;

/// How many observe → plan → execute rounds one run may take.
const MAX_ROUNDS: usize = 8;

/// `plan` (online) and `apply`. Returns whether changes were (or are) pending.
///
/// # Errors
/// Bad input (exit 2) or a forge failure (exit 1).
pub fn run(settings: &Settings, apply: bool, out: &mut dyn Write) -> anyhow::Result<bool> {
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
        let uploaded = BTreeMap::new();
        let plan = plan::diff(&desired, None, &plan_context(&forge, &desired, &uploaded));
        crate::print_plan(settings, &desired, &plan, true, out)?;
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
        if apply {
            converge(settings, &forge, &desired, out).await
        } else {
            let actual = forge.observe(&desired).await?;
            let uploaded = BTreeMap::new();
            let plan = plan::diff(
                &desired,
                Some(&actual),
                &plan_context(&forge, &desired, &uploaded),
            );
            crate::print_plan(settings, &desired, &plan, false, out)?;
            Ok(plan.has_changes())
        }
    })
}

async fn converge(
    settings: &Settings,
    forge: &AnyForge,
    desired: &Desired,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let start = Instant::now();
    let budget = Duration::from_secs(300);
    let mut done: Vec<String> = Vec::new();
    let mut first_plan: Option<Plan> = None;
    let mut last_err: Option<anyhow::Error> = None;
    let mut uploaded = BTreeMap::new();
    for round in 0..MAX_ROUNDS {
        let actual = forge.observe(desired).await?;
        let plan = plan::diff(
            desired,
            Some(&actual),
            &plan_context(forge, desired, &uploaded),
        );
        if let Some(why) = &plan.blocked {
            return Err(anyhow::anyhow!("{why}").context(partial(&done)));
        }
        if first_plan.is_none() {
            for w in &plan.warnings {
                tracing::warn!("{w}");
            }
            first_plan = Some(plan.clone());
        }
        if !plan.has_changes() {
            let url = actual
                .release
                .as_ref()
                .map_or_else(|| forge.release_url(&desired.tag), |r| r.url.clone());
            report(
                settings,
                desired,
                first_plan.as_ref().unwrap_or(&plan),
                &done,
                &url,
                out,
            )?;
            return Ok(!done.is_empty());
        }
        match execute(forge, desired, &actual, &plan, &mut uploaded, &mut done).await {
            Ok(()) => last_err = None,
            Err(e) if is_retryable(&e) => {
                let wait = crate::forge::http::backoff(round as u32, retry_after(&e));
                tracing::warn!(
                    "{e:#}; reading the forge again in {:.1}s",
                    wait.as_secs_f64()
                );
                if start.elapsed() + wait > budget {
                    return Err(e.context(partial(&done)));
                }
                tokio::time::sleep(wait).await;
                last_err = Some(e);
            }
            Err(e) => return Err(e.context(partial(&done))),
        }
    }
    Err(last_err
        .unwrap_or_else(|| {
            anyhow::anyhow!("the release did not converge after {MAX_ROUNDS} rounds")
        })
        .context(partial(&done)))
}

fn partial(done: &[String]) -> String {
    if done.is_empty() {
        "nothing was changed on the forge; running again is safe".to_owned()
    } else {
        format!(
            "{} change(s) were made before the failure (listed above); running again converges from here",
            done.len()
        )
    }
}

/// A write failed in a way that re-reading and trying again may fix: transient errors, and
/// lost races (409, GitLab's 400 "has already been taken", GitHub's 422 `already_exists`).
fn is_retryable(e: &anyhow::Error) -> bool {
    if matches!(e.downcast_ref::<Raced>(), Some(Raced)) {
        return true;
    }
    e.chain().filter_map(|c| c.downcast_ref::<HttpError>()).any(|h| {
        h.is_transient()
            || h.status().is_some_and(|s| s.as_u16() == 409)
            || matches!(h, HttpError::Status { status, message, .. }
                if matches!(status.as_u16(), 400 | 422)
                    && ["already been taken", "already exists", "already_exists"].iter().any(|m| message.contains(m)))
    })
}

fn retry_after(e: &anyhow::Error) -> Option<Duration> {
    e.chain()
        .filter_map(|c| c.downcast_ref::<HttpError>())
        .find_map(HttpError::retry_after)
}

/// Another job created the release first.
#[derive(Debug, thiserror::Error)]
#[error("the release was created by another job meanwhile")]
struct Raced;

/// Runs the plan's actions in order. It stops early, to read the forge again, after
/// creating a release that files attach to and after uploads the forge may rename.
async fn execute(
    forge: &AnyForge,
    desired: &Desired,
    actual: &Actual,
    plan: &Plan,
    uploaded: &mut BTreeMap<String, plan::StateFile>,
    done: &mut Vec<String>,
) -> anyhow::Result<()> {
    let caps = forge.capabilities();
    let release = actual.release.as_ref();
    let mut uploads_done = false;
    for action in &plan.actions {
        if uploads_done && caps.renames_files && !matches!(action, Action::UploadFile { .. }) {
            return Ok(());
        }
        match action {
            Action::Unchanged { .. } => continue,
            Action::UploadFile { index, .. } => {
                let file = &desired.files[*index];
                let stored = forge.upload_file(desired, release, file).await?;
                uploaded.insert(
                    file.name.clone(),
                    plan::StateFile {
                        sha256: file.sha256.clone(),
                        stored: Some(stored.name),
                    },
                );
                uploads_done = true;
            }
            Action::CreateRelease { release: new } => {
                if let Created::AlreadyExists = forge.create_release(new).await? {
                    return Err(Raced.into());
                }
                if !caps.files_linked {
                    record(action, done);
                    return Ok(());
                }
            }
            Action::UpdateRelease { patch, .. } => {
                let current = release.ok_or_else(|| {
                    anyhow::anyhow!("the release disappeared while it was being updated")
                })?;
                forge.update_release(current, patch).await?;
            }
            Action::DeleteLink { link } => forge.delete_link(&desired.tag, link.id).await?,
            Action::UpdateLink { from, to } => forge.update_link(&desired.tag, from.id, to).await?,
            Action::CreateLink { link } => forge.create_link(&desired.tag, link).await?,
            Action::DeleteFile { file, .. } => forge.delete_file(release, file).await?,
            Action::DeleteRelease { release: dup } => forge.delete_release(dup).await?,
        }
        record(action, done);
    }
    Ok(())
}

fn record(action: &Action, done: &mut Vec<String>) {
    let line = output::describe_action(action);
    tracing::info!("{line}");
    done.push(line);
}

fn plan_context<'a>(
    forge: &'a AnyForge,
    desired: &'a Desired,
    uploaded: &'a BTreeMap<String, plan::StateFile>,
) -> plan::Context<'a> {
    plan::Context {
        caps: forge.capabilities(),
        file_url: Box::new(move |n: &str| forge.file_url(&desired.tag, &desired.package, n)),
        uploaded,
    }
}

fn report(
    settings: &Settings,
    d: &Desired,
    first: &Plan,
    done: &[String],
    url: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let changed = !done.is_empty();
    match settings.output {
        OutputFormat::Json => {
            let mut r = output::report(
                d,
                first,
                settings.forge.map(crate::manifest::raw::ForgeKind::as_str),
                false,
            );
            r.url = Some(url);
            r.done = Some(done);
            serde_json::to_writer_pretty(&mut *out, &r)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for line in done {
                writeln!(out, "{line}")?;
            }
            if changed {
                writeln!(
                    out,
                    "release {} converged in {} change(s): {url}",
                    d.tag,
                    done.len()
                )?;
            } else {
                writeln!(out, "release {} unchanged: {url}", d.tag)?;
            }
        }
    }
    if let Some(path) = &settings.dotenv {
        std::fs::write(path, output::dotenv(&d.tag, &d.version, url, changed)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    output::github_outputs(&settings.env, d, url, changed, done)
}
