//! Executes plans against the forge: the only module that writes. It re-reads the forge and
//! re-plans after every failed write or lost race, so a run converges from whatever state a
//! failed earlier run (or a concurrent job) left, and never repeats a write blindly.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::cli::OutputFormat;
use crate::desired::Desired;
use crate::forge::http::HttpError;
use crate::forge::{Actual, Created, Forge};
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
        let none = BTreeMap::new();
        let plan = plan::diff(
            &desired,
            None,
            &plan_context(&forge, &desired, &uploaded, &none),
        );
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
            let pace = Pace {
                interrupt: Some(on_signal()?),
                ..Pace::default()
            };
            let done = converge(&forge, &desired, &pace).await?;
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
            let actual = forge.observe(&desired).await?;
            let (uploaded, none) = (BTreeMap::new(), BTreeMap::new());
            let plan = plan::diff(
                &desired,
                Some(&actual),
                &plan_context(&forge, &desired, &uploaded, &none),
            );
            crate::print_plan(settings, &desired, &plan, false, out)?;
            Ok(plan.has_changes())
        }
    })
}

/// How `converge` waits between rounds, and when it must stop.
#[derive(Debug, Clone)]
pub struct Pace {
    /// The total time a run may spend waiting and retrying.
    pub budget: Duration,
    /// Whether to sleep between rounds (backoff with jitter, `Retry-After`).
    pub sleep: bool,
    /// Set to the signal's number when the process is asked to stop: no new write starts.
    pub interrupt: Option<Arc<AtomicI32>>,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(300),
            sleep: true,
            interrupt: None,
        }
    }
}

impl Pace {
    fn check(&self) -> Result<(), Interrupted> {
        match self.interrupt.as_ref().map(|s| s.load(Ordering::SeqCst)) {
            Some(signal) if signal != 0 => Err(Interrupted { signal }),
            _ => Ok(()),
        }
    }
}

/// `apply` was asked to stop (SIGINT or SIGTERM): the write in flight was let finish, no new
/// one was started.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted by {}: no new write was started; running again is safe and converges from here",
    self.name()
)]
pub struct Interrupted {
    /// The signal's number.
    pub signal: i32,
}

impl Interrupted {
    /// `SIGINT` or `SIGTERM`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        if self.signal == 2 {
            "SIGINT"
        } else {
            "SIGTERM"
        }
    }

    /// 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if self.signal == 2 { 130 } else { 143 }
    }
}

/// From now on SIGINT and SIGTERM no longer end the process: they set the returned flag,
/// which `converge` reads before every write.
fn on_signal() -> anyhow::Result<Arc<AtomicI32>> {
    use tokio::signal::unix::{SignalKind, signal};
    let flag = Arc::new(AtomicI32::new(0));
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let set = Arc::clone(&flag);
    tokio::spawn(async move {
        let n = tokio::select! {
            _ = int.recv() => 2,
            _ = term.recv() => 15,
        };
        tracing::warn!("stopping: the write in flight finishes, no new one starts");
        set.store(n, Ordering::SeqCst);
    });
    Ok(flag)
}

/// What a converged run did.
#[derive(Debug, Clone)]
pub struct Converged {
    /// The plan of the first round (what was pending when the run started).
    pub first_plan: Plan,
    /// One line per write made.
    pub done: Vec<String>,
    /// The release's web URL.
    pub url: String,
}

/// Observe → plan → execute, in rounds, until the forge holds the desired release. Any
/// failed write is followed by a fresh read of the forge before anything else is written.
///
/// # Errors
/// A blocked plan, a failure that a new read cannot fix, or no convergence within the
/// rounds and time budget; the error says what was done before it.
pub async fn converge<F: Forge>(
    forge: &F,
    desired: &Desired,
    pace: &Pace,
) -> anyhow::Result<Converged> {
    let start = Instant::now();
    let mut done: Vec<String> = Vec::new();
    let mut first_plan: Option<Plan> = None;
    let mut last_err: Option<anyhow::Error> = None;
    let mut uploaded = BTreeMap::new();
    // The convergence guard: fields written last round, and those the forge ignored.
    let mut sent: Vec<(String, String)> = Vec::new();
    let mut ignored: BTreeMap<String, String> = BTreeMap::new();
    for round in 0..MAX_ROUNDS {
        if let Err(i) = pace.check() {
            return Err(interrupted(i, &done));
        }
        let actual = forge.observe(desired).await?;
        let mut plan = plan::diff(
            desired,
            Some(&actual),
            &plan_context(forge, desired, &uploaded, &ignored),
        );
        let found = plan::guard::ignored(&sent, &plan.actions);
        if !found.is_empty() {
            let forge_name = desired.limits.forge.unwrap_or("the forge");
            for (field, value) in &found {
                tracing::warn!(
                    "{forge_name} ignored `{field}`: it still reads back unchanged after relsync wrote {}; relsync stops rewriting it (recorded in its state; a new value in the manifest is tried once)",
                    if field == plan::guard::DESCRIPTION {
                        "it".to_owned()
                    } else {
                        format!("{value:?}")
                    }
                );
            }
            ignored.extend(found);
            plan = plan::diff(
                desired,
                Some(&actual),
                &plan_context(forge, desired, &uploaded, &ignored),
            );
        }
        sent.clear();
        if let Some(why) = &plan.blocked {
            return Err(anyhow::anyhow!("{why}").context(partial(&done)));
        }
        if first_plan.is_none() {
            for w in &plan.warnings {
                tracing::warn!("{w}");
            }
        }
        let first = first_plan.get_or_insert_with(|| plan.clone());
        if !plan.has_changes() {
            let url = actual
                .release
                .as_ref()
                .map_or_else(|| forge.release_url(&desired.tag), |r| r.url.clone());
            return Ok(Converged {
                first_plan: first.clone(),
                done,
                url,
            });
        }
        match execute(
            forge,
            desired,
            &actual,
            &plan,
            pace,
            &mut uploaded,
            &mut sent,
            &mut done,
        )
        .await
        {
            Ok(()) => last_err = None,
            Err(e) if is_retryable(&e) => {
                let wait = crate::forge::http::backoff(round as u32, retry_after(&e));
                if start.elapsed() + wait > pace.budget {
                    return Err(e.context(partial(&done)));
                }
                if pace.sleep {
                    tracing::warn!(
                        "{e:#}; reading the forge again in {:.1}s",
                        wait.as_secs_f64()
                    );
                    let until = Instant::now() + wait;
                    while Instant::now() < until && pace.check().is_ok() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                } else {
                    tracing::warn!("{e:#}; reading the forge again");
                }
                last_err = Some(e);
            }
            Err(e) => {
                return Err(match e.downcast::<Interrupted>() {
                    Ok(i) => interrupted(i, &done),
                    Err(e) => e.context(partial(&done)),
                });
            }
        }
    }
    Err(last_err
        .unwrap_or_else(|| {
            anyhow::anyhow!("the release did not converge after {MAX_ROUNDS} rounds")
        })
        .context(partial(&done)))
}

/// The interruption, with what was done before it.
fn interrupted(i: Interrupted, done: &[String]) -> anyhow::Error {
    if done.is_empty() {
        anyhow::Error::new(i).context("nothing was changed on the forge")
    } else {
        anyhow::Error::new(i).context(format!(
            "{} change(s) were made before it:\n  {}\n",
            done.len(),
            done.join("\n  ")
        ))
    }
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
#[allow(clippy::too_many_arguments)]
async fn execute<F: Forge>(
    forge: &F,
    desired: &Desired,
    actual: &Actual,
    plan: &Plan,
    pace: &Pace,
    uploaded: &mut BTreeMap<String, plan::StateFile>,
    sent: &mut Vec<(String, String)>,
    done: &mut Vec<String>,
) -> anyhow::Result<()> {
    let caps = forge.capabilities();
    let release = actual.release.as_ref();
    let mut uploads_done = false;
    for action in &plan.actions {
        if uploads_done && caps.renames_files && !matches!(action, Action::UploadFile { .. }) {
            return Ok(());
        }
        if action.is_write() {
            pace.check()?;
        }
        match action {
            Action::Unchanged { .. } => continue,
            Action::UploadFile { index, .. } => {
                let file = &desired.files[*index];
                // Recorded before sending: should the answer be lost, the next round still
                // recognises what was sent, whatever name the forge gave it.
                uploaded.insert(
                    file.name.clone(),
                    plan::StateFile {
                        sha256: file.sha256.clone(),
                        stored: None,
                    },
                );
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
                sent.extend(plan::guard::release_fields(patch));
            }
            Action::DeleteLink { link } => forge.delete_link(&desired.tag, link.id).await?,
            Action::UpdateLink { from, to } => {
                forge.update_link(&desired.tag, from.id, to).await?;
                sent.extend(plan::guard::link_fields(from, to));
            }
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

fn plan_context<'a, F: Forge>(
    forge: &'a F,
    desired: &'a Desired,
    uploaded: &'a BTreeMap<String, plan::StateFile>,
    ignored: &'a BTreeMap<String, String>,
) -> plan::Context<'a> {
    plan::Context {
        caps: forge.capabilities(),
        file_url: Box::new(move |n: &str| forge.file_url(&desired.tag, &desired.package, n)),
        uploaded,
        ignored,
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

#[cfg(test)]
mod faults;

#[cfg(test)]
mod diff_table;

#[cfg(test)]
mod guard_seam;
