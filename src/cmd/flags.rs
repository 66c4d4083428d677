//! Options a command does not use are refused, not ignored.

use crate::cli::{Cli, Command, OutputFormat};

/// Refuses options that would do nothing for the command, so that a mistyped pipeline fails
/// loudly instead of silently ignoring what it asked for (exit 2).
pub(crate) fn check(cli: &Cli) -> anyhow::Result<()> {
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
        Err(crate::error::input_with(
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
