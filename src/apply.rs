//! Executes plans against the forge: the only module that writes. It re-reads the forge and
//! re-plans after every failed write or lost race, so a run converges from whatever state a
//! failed earlier run (or a concurrent job) left, and never repeats a write blindly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::desired::Desired;
use crate::forge::http::HttpError;
use crate::forge::spec::{NoProgress, Progress};
use crate::forge::{Actual, Created, Forge};
use crate::output;
use crate::plan::{self, Action, Plan};

/// How many observe → plan → execute rounds one run may take.
const MAX_ROUNDS: usize = 8;

/// Writes of one phase in flight at once, unless `--concurrency` or `forge.concurrency` says
/// otherwise.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How `converge` waits between rounds, and when it must stop.
#[derive(Debug, Clone)]
pub struct Pace {
    /// The total time a run may spend waiting and retrying.
    pub budget: Duration,
    /// Whether to sleep between rounds (backoff with jitter, `Retry-After`).
    pub sleep: bool,
    /// Set to the signal's number when the process is asked to stop: no new write starts.
    pub interrupt: Option<Arc<AtomicI32>>,
    /// How many writes of one phase may be in flight at once.
    pub concurrency: usize,
    /// Told how each upload advances.
    pub progress: Arc<dyn Progress>,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(300),
            sleep: true,
            interrupt: None,
            concurrency: DEFAULT_CONCURRENCY,
            progress: Arc::new(NoProgress),
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
pub(crate) fn on_signal() -> anyhow::Result<Arc<AtomicI32>> {
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
#[allow(
    clippy::too_many_lines,
    reason = "observe, plan and execute in rounds, with every exit of the loop in one place"
)]
pub async fn converge<F: Forge>(
    forge: &F,
    desired: &Desired,
    pace: &Pace,
) -> anyhow::Result<Converged> {
    let start = Instant::now();
    let mut done: Vec<String> = Vec::new();
    let mut first_plan: Option<Plan> = None;
    let mut last_err: Option<anyhow::Error> = None;
    let mut learnt = Learnt::default();
    for round in 0..MAX_ROUNDS {
        if let Err(i) = pace.check() {
            return Err(interrupted(i, &done));
        }
        let actual = forge.observe(&desired.spec()).await?;
        let mut plan = plan::diff(desired, Some(&actual), &learnt.context(forge, desired));
        // The convergence guard: what the last round wrote and this plan wants to write again
        // with the same value, the forge ignored.
        let found = plan::guard::ignored(&learnt.sent, &plan.actions);
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
            learnt.ignored.extend(found);
            plan = plan::diff(desired, Some(&actual), &learnt.context(forge, desired));
        }
        learnt.sent.clear();
        if let Some(why) = &plan.blocked {
            return Err(partial(anyhow::anyhow!("{why}"), &done));
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
        match execute(forge, desired, &actual, &plan, pace, &mut learnt, &mut done).await {
            Ok(()) => last_err = None,
            Err(e) if is_retryable(&e) => {
                let wait = crate::forge::http::backoff(round as u32, retry_after(&e));
                if start.elapsed() + wait > pace.budget {
                    return Err(partial(e, &done));
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
                    Err(e) => partial(e, &done),
                });
            }
        }
    }
    Err(partial(
        last_err.unwrap_or_else(|| {
            crate::error::hint(
                anyhow::anyhow!("the release did not converge after {MAX_ROUNDS} rounds"),
                "run the job again; if the forge keeps changing what relsync writes, run with `-vv` to see each request and its answer",
            )
        }),
        &done,
    ))
}

/// The interruption, with what was done before it.
fn interrupted(i: Interrupted, done: &[String]) -> anyhow::Error {
    let text = if done.is_empty() {
        "nothing was changed on the forge".to_owned()
    } else {
        format!(
            "{} change(s) were made before it:\n    {}",
            done.len(),
            done.join("\n    ")
        )
    };
    crate::error::note(anyhow::Error::new(i), text)
}

/// `err`, noting what the failed run changed.
fn partial(err: anyhow::Error, done: &[String]) -> anyhow::Error {
    let text = if done.is_empty() {
        "nothing was changed on the forge; running again is safe".to_owned()
    } else {
        format!(
            "{} change(s) were made before the failure:\n    {}\n  running again converges from here",
            done.len(),
            done.join("\n    ")
        )
    };
    crate::error::note(err, text)
}

/// A write failed in a way that re-reading and trying again may fix: transient errors, and
/// lost races (409, GitLab's 400 "has already been taken", GitHub's 422 `already_exists`).
fn is_retryable(e: &anyhow::Error) -> bool {
    if e.chain().any(<dyn std::error::Error>::is::<Raced>) {
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

/// What a run learnt from its own writes, newer than the state in the description.
#[derive(Debug, Default)]
struct Learnt {
    /// Files uploaded, by asset name: what was sent and the name the forge stored it under.
    uploaded: BTreeMap<String, plan::StateFile>,
    /// Stored files whose deletion the forge refused.
    refused: BTreeSet<u64>,
    /// Fields written by the last round, with their values (see [`plan::guard`]).
    sent: Vec<(String, String)>,
    /// Fields the forge ignored, with the value tried.
    ignored: BTreeMap<String, String>,
}

impl Learnt {
    fn context<'a, F: Forge>(&'a self, forge: &'a F, desired: &'a Desired) -> plan::Context<'a> {
        plan_context(forge, desired, &self.uploaded, &self.refused, &self.ignored)
    }
}

/// Runs the plan's actions phase by phase ([`phases`]): the actions of a phase at once, up to
/// the concurrency bound; phases in order. It stops early, to read the forge again, after
/// creating a release that files attach to and after uploads the forge may rename. After a
/// failure no new action starts; those in flight finish and are recorded.
async fn execute<F: Forge>(
    forge: &F,
    desired: &Desired,
    actual: &Actual,
    plan: &Plan,
    pace: &Pace,
    learnt: &mut Learnt,
    done: &mut Vec<String>,
) -> anyhow::Result<()> {
    let caps = forge.capabilities();
    let release = actual.release.as_ref();
    let done_before = done.len();
    for phase in phases::phases(&plan.actions, &actual.links, caps) {
        let actions: Vec<&Action> = phase.actions.iter().map(|&i| &plan.actions[i]).collect();
        // A matrix job writes the description (and the state in it) from a fresh read, so
        // that what other jobs recorded meanwhile is merged, not overwritten.
        if done.len() > done_before
            && desired.scope.is_some()
            && actions.iter().any(
                |a| matches!(a, Action::UpdateRelease { patch, .. } if patch.description.is_some()),
            )
        {
            return Ok(());
        }
        for action in &actions {
            if let Action::UploadFile { index, .. } = action {
                let file = &desired.files[*index];
                // Recorded before sending: should the answer be lost, the next round still
                // recognises what was sent, whatever name the forge gave it.
                learnt.uploaded.insert(
                    file.name.clone(),
                    plan::StateFile {
                        sha256: file.sha256.clone(),
                        stored: None,
                    },
                );
            }
        }
        let bound = if phase.concurrent {
            pace.concurrency.max(1)
        } else {
            1
        };
        let (outcomes, failure) = run_phase(forge, desired, release, &actions, bound, pace).await;
        let mut stop = false;
        for (action, outcome) in actions.iter().zip(outcomes) {
            let Some(outcome) = outcome else { continue };
            match (action, outcome) {
                // Reported once; the state records the file so no later run tries again.
                (_, Outcome::Refused(id)) => {
                    learnt.refused.insert(id);
                    continue;
                }
                (Action::UploadFile { index, .. }, Outcome::Stored(name)) => {
                    let file = &desired.files[*index];
                    learnt.uploaded.insert(
                        file.name.clone(),
                        plan::StateFile {
                            sha256: file.sha256.clone(),
                            stored: Some(name),
                        },
                    );
                    stop |= caps.renames_files;
                }
                (Action::CreateRelease { .. }, _) => stop |= !caps.files_linked,
                _ => {}
            }
            learnt.sent.extend(plan::guard::action_fields(action));
            record(action, done);
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if stop {
            return Ok(());
        }
    }
    Ok(())
}

/// What one action left behind.
enum Outcome {
    Done,
    /// An upload, and the name the forge stored it under.
    Stored(String),
    /// The forge refused to delete this stored file for lack of a role (reported once).
    Refused(u64),
}

/// Runs a phase's actions, at most `bound` at a time; no new one starts after a failure or a
/// stop signal. The outcomes are in the phase's order; `None` for those that did not run or
/// failed. The first failure is returned with them.
async fn run_phase<F: Forge>(
    forge: &F,
    desired: &Desired,
    release: Option<&crate::forge::Release>,
    actions: &[&Action],
    bound: usize,
    pace: &Pace,
) -> (Vec<Option<Outcome>>, Option<anyhow::Error>) {
    use futures_util::StreamExt as _;
    use futures_util::stream::FuturesUnordered;
    let mut outcomes: Vec<Option<Outcome>> = actions.iter().map(|_| None).collect();
    let mut failure: Option<anyhow::Error> = None;
    let mut next = actions.iter().enumerate();
    let mut inflight = FuturesUnordered::new();
    loop {
        while failure.is_none() && inflight.len() < bound {
            let Some((k, action)) = next.next() else {
                break;
            };
            if let Err(i) = pace.check() {
                failure = Some(i.into());
                break;
            }
            inflight.push(async move {
                (
                    k,
                    run_one(forge, desired, release, action, &*pace.progress).await,
                )
            });
        }
        match inflight.next().await {
            Some((k, Ok(outcome))) => outcomes[k] = Some(outcome),
            Some((_, Err(e))) => {
                failure.get_or_insert(e);
            }
            None => break,
        }
    }
    (outcomes, failure)
}

async fn run_one<F: Forge>(
    forge: &F,
    desired: &Desired,
    release: Option<&crate::forge::Release>,
    action: &Action,
    progress: &dyn Progress,
) -> anyhow::Result<Outcome> {
    match action {
        Action::Unchanged { .. } => {}
        Action::UploadFile { index, .. } => {
            let stored = forge
                .upload_file(&desired.spec(), release, &desired.files[*index], progress)
                .await?;
            return Ok(Outcome::Stored(stored.name));
        }
        Action::CreateRelease { release: new } => {
            if let Created::AlreadyExists = forge.create_release(new).await? {
                return Err(crate::error::hint(
                    Raced.into(),
                    "another job (a re-run, or a parallel pipeline) created this release after relsync read the forge, and the forge does not show it yet: run the job again once it does; relsync then reads the release and updates it",
                ));
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
        Action::DeleteFile { file, .. } => {
            if let Err(e) = forge.delete_file(release, file).await {
                return match e.downcast_ref::<plan::kept::DeleteRefused>() {
                    Some(r) => {
                        tracing::warn!("{}", r.message);
                        Ok(Outcome::Refused(r.id))
                    }
                    None => Err(e),
                };
            }
        }
        Action::DeleteRelease { release: dup } => forge.delete_release(dup).await?,
    }
    Ok(Outcome::Done)
}

fn record(action: &Action, done: &mut Vec<String>) {
    // Printed once, in the report; `-v` also shows when it happened among the requests.
    let line = output::plan::describe_action(action);
    tracing::debug!("{line}");
    done.push(line);
}

pub(crate) fn plan_context<'a, F: Forge>(
    forge: &'a F,
    desired: &'a Desired,
    uploaded: &'a BTreeMap<String, plan::StateFile>,
    refused: &'a BTreeSet<u64>,
    ignored: &'a BTreeMap<String, String>,
) -> plan::Context<'a> {
    plan::Context {
        caps: forge.capabilities(),
        file_url: Box::new(move |n: &str| forge.file_url(&desired.tag, &desired.package, n)),
        uploaded,
        refused,
        ignored,
    }
}

mod phases;

#[cfg(test)]
pub(crate) mod faults;

#[cfg(test)]
mod diff_table;

#[cfg(test)]
mod guard_seam;
