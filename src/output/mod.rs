//! What relsync prints, in one place: logs (tracing, stderr), the plan as text or JSON
//! (`plan`), the apply report (`apply`), `check` and `notes` results, the dotenv file, GitHub
//! Actions outputs and step summary (`ci`), upload progress bars (`progress`) and error
//! annotations. Commands call these; nothing else formats what a person reads, except
//! `error::render` for failures.

use std::io::IsTerminal;

pub(crate) mod apply;
pub(crate) mod check;
pub(crate) mod ci;
pub(crate) mod notes;
pub(crate) mod plan;
pub(crate) mod progress;

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

/// `1.5 MiB`.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub(crate) fn human_size(n: u64) -> String {
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
