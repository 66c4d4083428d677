//! Command-line arguments (clap derive), shell completions and the man page.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::manifest::raw::ForgeKind;

/// Make the forge's release match release.yml: create or update it and sync its assets,
/// idempotently. Exit codes: 0 converged, 1 run-time failure, 2 bad input, 4 changes pending
/// (`plan --detailed-exitcode`).
#[derive(Debug, Parser)]
#[command(
    name = "relsync",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Exit codes: 0 converged, 1 run-time failure (forge, network, git), 2 bad input (nothing was sent), 4 changes pending (plan --detailed-exitcode)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `apply` would change (read-only; `--offline` needs no forge and no token).
    Plan(PlanArgs),
    /// Create or update the release and sync its assets.
    Apply,
    /// Print the rendered release description.
    Notes,
    /// Validate release.yml, its templates and globs, without touching the forge.
    Check,
    /// Print the JSON Schema of release.yml.
    Schema,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(
        after_help = "Install, for example:\n  bash: relsync completions bash > ~/.local/share/bash-completion/completions/relsync\n  zsh:  relsync completions zsh > \"${fpath[1]}/_relsync\"\n  fish: relsync completions fish > ~/.config/fish/completions/relsync.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff): `relsync man > relsync.1`.
    Man,
}

/// `completions` options.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Writes the completion script for `shell`.
///
/// # Errors
/// When `out` fails.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "relsync", &mut buf);
    out.write_all(&buf)
}

/// Writes the man page, `relsync(1)`, as roff.
///
/// # Errors
/// When `out` fails.
pub fn write_man(out: &mut dyn Write) -> std::io::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    out.write_all(&buf)
}

/// `plan` options.
#[derive(Debug, Args, Default)]
pub struct PlanArgs {
    /// Exit 4 when changes are pending, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

/// Global options, accepted before or after the subcommand.
#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
    /// The manifest (default: release.yml, then .release.yml, else built-in defaults).
    #[arg(short = 'f', long = "file", global = true, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The git repository.
    #[arg(
        short = 'C',
        long = "repo",
        global = true,
        value_name = "DIR",
        default_value = "."
    )]
    pub repo: PathBuf,
    /// The release tag (default: the CI tag, or a matching tag at HEAD).
    #[arg(long, global = true, value_name = "TAG")]
    pub tag: Option<String>,
    /// The forge (default: detected from CI).
    #[arg(long, global = true, value_name = "KIND")]
    pub forge: Option<ForgeKind>,
    /// The forge's web root (API root for GitHub).
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// The project: numeric id or full path.
    #[arg(long, global = true, value_name = "ID|PATH")]
    pub project: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Write RELEASE_TAG, RELEASE_VERSION, RELEASE_URL and RELEASE_CHANGED to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub dotenv: Option<PathBuf>,
    /// Plan without reading the forge.
    #[arg(long, global = true)]
    pub offline: bool,
    /// `check`, `notes`: fail (exit 2) instead of warning when the configuration selects
    /// nothing (a `tag_pattern` matching no tag or written as a regex, `paths` leaving out
    /// every commit).
    #[arg(long, global = true)]
    pub strict: bool,
    /// How many writes `apply` sends at once (default 8, or `forge.concurrency`); 1 sends
    /// them one at a time.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: Option<u16>,
    /// Also upload the files matching this glob, as if listed under `assets.files`
    /// (repeatable).
    #[arg(long = "asset", global = true, value_name = "GLOB")]
    pub assets: Vec<String>,
    /// More logs (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}
