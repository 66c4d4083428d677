//! relsync: a CI release step that makes the forge's release match `release.yml`.
//!
//! Data flow: `cli` → `settings` (manifest + env + CI) → `changelog` → `render` →
//! `desired` → `forge` observe → `plan::diff` → (`plan`: print and stop) → `apply` → `output`.

pub mod apply;
pub mod assets;
pub mod block;
pub mod changelog;
pub mod ci;
pub mod cli;
pub mod desired;
pub mod env_vars;
pub mod error;
pub mod forge;
pub mod forge_path;
pub mod manifest;
pub mod output;
pub mod plan;
pub mod render;
pub mod settings;
mod suggest;

use std::io::Write;

use crate::cli::{Cli, Command, OutputFormat};
use crate::desired::Desired;
use crate::env_vars::Env;
pub use crate::error::ExitStatus;
use crate::settings::Settings;

/// Runs one invocation with the given environment snapshot, writing results to `stdout`.
///
/// # Errors
/// Any failure; map it to an exit code with [`ExitStatus::of_error`].
pub fn run(cli: &Cli, env: Env, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Schema => {
            stdout.write_all(manifest::schema_json().as_bytes())?;
            return Ok(ExitStatus::Success);
        }
        Command::Completions(args) => {
            cli::write_completions(args.shell, stdout)?;
            return Ok(ExitStatus::Success);
        }
        Command::Man => {
            cli::write_man(stdout)?;
            return Ok(ExitStatus::Success);
        }
        _ => {}
    }
    let settings = Settings::resolve(&cli.global, env)?;
    match &cli.command {
        Command::Schema | Command::Completions(_) | Command::Man => Ok(ExitStatus::Success),
        Command::Check => {
            let d = build_offline(&settings)?;
            writeln!(
                stdout,
                "ok: {} is valid ({} link(s), {} file(s), {} commit(s) for {})",
                settings.manifest.source.as_ref().map_or_else(
                    || "built-in defaults".to_owned(),
                    |p| p.display().to_string()
                ),
                d.links.len(),
                d.files.len(),
                d.commit_count,
                if d.unreleased {
                    "the unreleased changes"
                } else {
                    &d.tag
                }
            )?;
            Ok(ExitStatus::Success)
        }
        Command::Notes => {
            let d = build_offline(&settings)?;
            stdout.write_all(d.notes.as_bytes())?;
            Ok(ExitStatus::Success)
        }
        Command::Plan(args) => {
            let status = if settings.offline {
                let d = build_offline(&settings)?;
                let uploaded = std::collections::BTreeMap::new();
                let cx = plan::Context {
                    caps: offline_capabilities(settings.forge),
                    file_url: Box::new(|_| String::new()),
                    uploaded: &uploaded,
                    ignored: &std::collections::BTreeMap::new(),
                };
                let plan = plan::diff(&d, None, &cx);
                print_plan(&settings, &d, &plan, true, stdout)?;
                plan.has_changes()
            } else {
                apply::run(&settings, false, stdout)?
            };
            Ok(if args.detailed_exitcode && status {
                ExitStatus::ChangesPending
            } else {
                ExitStatus::Success
            })
        }
        Command::Apply => {
            apply::run(&settings, true, stdout)?;
            Ok(ExitStatus::Success)
        }
    }
}

/// What an offline plan assumes of the forge: the named one's shape, GitLab's otherwise.
fn offline_capabilities(kind: Option<manifest::raw::ForgeKind>) -> forge::Capabilities {
    match kind {
        Some(k) => forge::Capabilities::of(k),
        None => forge::Capabilities::GITLAB,
    }
}

/// Builds the desired release with no forge (asset URLs unknown).
fn build_offline(settings: &Settings) -> anyhow::Result<Desired> {
    let d = desired::build(settings, &|_, _, _| None)?;
    if let Some(w) = &d.shallow_warning {
        tracing::warn!("{w}");
    }
    Ok(d)
}

/// Prints a plan as text or JSON.
///
/// # Errors
/// Writing to stdout failed.
pub fn print_plan(
    settings: &Settings,
    d: &Desired,
    plan: &plan::Plan,
    offline: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let forge = settings.forge.map(manifest::raw::ForgeKind::as_str);
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &output::report(d, plan, forge, offline))?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            out.write_all(output::plan_text(d, plan, forge, offline).as_bytes())?
        }
    }
    Ok(())
}
