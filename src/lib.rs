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
pub mod matchers;
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
#[allow(
    clippy::too_many_lines,
    reason = "the command table: one arm per command"
)]
pub fn run(cli: &Cli, env: Env, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    check_flags(cli)?;
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
    let mut settings = Settings::resolve(&cli.global, env)?;
    // `check` and `notes` preview a release before its files are built, as `plan --offline`
    // does: a glob that matches nothing yet is named, not an error.
    if matches!(cli.command, Command::Check | Command::Notes) && !cli.global.strict {
        settings.offline = true;
    }
    match &cli.command {
        Command::Schema | Command::Completions(_) | Command::Man => Ok(ExitStatus::Success),
        Command::Check => {
            let d = build_offline(&settings)?;
            let missing = if cli.global.strict {
                Vec::new()
            } else {
                not_built(&settings)
            };
            let manifest = settings.manifest.source.as_ref().map_or_else(
                || "built-in defaults".to_owned(),
                |p| p.display().to_string(),
            );
            let note = (settings.forge == Some(manifest::raw::ForgeKind::Tgit))
                .then(|| forge::tgit::name_note(&d.tag, &d.name))
                .flatten();
            match settings.output {
                OutputFormat::Json => {
                    let doc = serde_json::json!({
                        "ok": true,
                        "manifest": manifest,
                        "tag": (!d.unreleased).then_some(&d.tag),
                        "links": d.links.len(),
                        "files": d.files.len(),
                        "commits": d.commit_count,
                        "notes": note.iter().collect::<Vec<_>>(),
                        "not_built": missing,
                    });
                    serde_json::to_writer_pretty(&mut *stdout, &doc)?;
                    writeln!(stdout)?;
                }
                OutputFormat::Text => {
                    writeln!(
                        stdout,
                        "ok: {manifest} is valid ({} link(s), {} file(s), {} commit(s) for {}){}",
                        d.links.len(),
                        d.files.len(),
                        d.commit_count,
                        if d.unreleased {
                            "the unreleased changes"
                        } else {
                            &d.tag
                        },
                        if missing.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "; not built yet: {} (`check --strict` and `apply` require them)",
                                missing.join(", ")
                            )
                        }
                    )?;
                    if let Some(note) = &note {
                        writeln!(stdout, "  note: {note}")?;
                    }
                }
            }
            Ok(ExitStatus::Success)
        }
        Command::Notes => {
            let d = build_offline(&settings)?;
            match settings.output {
                // Everything the template could read, to write or debug a custom template.
                OutputFormat::Json => {
                    serde_json::to_writer_pretty(&mut *stdout, &d.context)?;
                    writeln!(stdout)?;
                }
                OutputFormat::Text => stdout.write_all(d.notes.as_bytes())?,
            }
            Ok(ExitStatus::Success)
        }
        Command::Plan(args) => {
            let status = if settings.offline {
                let d = build_offline(&settings)?;
                let uploaded = std::collections::BTreeMap::new();
                let forge = offline_forge(&settings);
                let cx = plan::Context {
                    caps: offline_capabilities(settings.forge),
                    file_url: Box::new(|n| {
                        forge.as_ref().map_or_else(String::new, |f| {
                            forge::Forge::file_url(f, &d.tag, &d.package, n)
                        })
                    }),
                    uploaded: &uploaded,
                    ignored: &std::collections::BTreeMap::new(),
                    refused: &std::collections::BTreeSet::new(),
                };
                let plan = plan::diff(&d, None, &cx);
                print_plan(&settings, &d, &plan, true, None, stdout)?;
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

/// Refuses options that would do nothing for the command, so that a mistyped pipeline fails
/// loudly instead of silently ignoring what it asked for (exit 2).
fn check_flags(cli: &Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    let (name, reading) = match &cli.command {
        Command::Plan(_) => ("plan", true),
        Command::Apply => ("apply", true),
        Command::Notes => ("notes", true),
        Command::Check => ("check", true),
        Command::Schema => ("schema", false),
        Command::Completions(_) => ("completions", false),
        Command::Man => ("man", false),
    };
    let refuse = |flag: &str, why: &str, fix: &str| -> anyhow::Result<()> {
        Err(error::input_with(
            format!("`{flag}` does nothing for `{name}`: {why}"),
            fix.to_owned(),
        ))
    };
    if !reading {
        let given = [
            ("--file", g.file.is_some()),
            ("--tag", g.tag.is_some()),
            ("--forge", g.forge.is_some()),
            ("--server", g.server.is_some()),
            ("--project", g.project.is_some()),
            ("--output", g.output != OutputFormat::Text),
            ("--dotenv", g.dotenv.is_some()),
            ("--offline", g.offline),
            ("--strict", g.strict),
            ("--asset", !g.assets.is_empty()),
            ("--concurrency", g.concurrency.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, on)| *on) {
            return refuse(
                flag,
                "it reads no manifest, repository or forge",
                "drop the option",
            );
        }
        return Ok(());
    }
    if g.offline && !matches!(cli.command, Command::Plan(_)) {
        return match cli.command {
            Command::Apply => refuse(
                "--offline",
                "`apply` writes to the forge",
                "preview without the forge with `relsync plan --offline`",
            ),
            _ => refuse("--offline", "it never reads the forge", "drop `--offline`"),
        };
    }
    if g.strict && !matches!(cli.command, Command::Check | Command::Notes) {
        return refuse(
            "--strict",
            "only `check` and `notes` warn where `apply` would fail or the configuration selects nothing",
            "run `relsync check --strict` before this step",
        );
    }
    if g.concurrency.is_some() && !matches!(cli.command, Command::Apply) {
        return refuse(
            "--concurrency",
            "only `apply` writes",
            "pass `--concurrency N` to `relsync apply`",
        );
    }
    if g.dotenv.is_some() && !matches!(cli.command, Command::Apply) {
        return refuse(
            "--dotenv",
            "the dotenv file records a release that `apply` made",
            "pass `--dotenv FILE` to `relsync apply`",
        );
    }
    Ok(())
}

/// What an offline plan assumes of the forge: the named one's shape, GitLab's otherwise.
fn offline_capabilities(kind: Option<manifest::raw::ForgeKind>) -> forge::Capabilities {
    match kind {
        Some(k) => forge::Capabilities::of(k),
        None => forge::Capabilities::GITLAB,
    }
}

/// The declared file globs that match nothing yet, each as `` `glob` (key) ``.
fn not_built(settings: &Settings) -> Vec<String> {
    let m = &settings.manifest;
    m.assets
        .files
        .iter()
        .filter(|spec| {
            assets::expand(&settings.repo, &spec.glob, m.assets.follow_symlinks)
                .is_ok_and(|found| found.is_empty())
        })
        .map(|spec| format!("`{}` ({})", spec.path, spec.key))
        .collect()
}

/// The forge's client when its kind, server and project are known, to build URLs with; it
/// sends nothing.
fn offline_forge(settings: &Settings) -> Option<forge::AnyForge> {
    let known = settings.forge.is_some() && settings.server.is_some() && settings.project.is_some();
    known.then(|| forge::connect(settings).ok()).flatten()
}

/// Builds the desired release without reading the forge. When the forge, its server and the
/// project are known, uploaded files get the URLs `apply` will write, from the same client
/// code (which makes no request to build them); otherwise they have none.
fn build_offline(settings: &Settings) -> anyhow::Result<Desired> {
    let forge = offline_forge(settings);
    let d = desired::build(settings, &|tag, package, name| {
        forge
            .as_ref()
            .map(|f| forge::Forge::file_url(f, tag, package, name))
    })?;
    if let Some(w) = &d.shallow_warning {
        tracing::warn!("{w}");
    }
    Ok(d)
}

/// Prints a plan as text or JSON; `current` is the release as the forge holds it, whose changed
/// fields the text shows old → new.
///
/// # Errors
/// Writing to stdout failed.
pub fn print_plan(
    settings: &Settings,
    d: &Desired,
    plan: &plan::Plan,
    offline: bool,
    current: Option<&forge::Release>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let forge = settings.forge.map(manifest::raw::ForgeKind::as_str);
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &output::report(d, plan, forge, offline))?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            out.write_all(output::plan_text(d, plan, forge, offline, current).as_bytes())?;
        }
    }
    Ok(())
}
