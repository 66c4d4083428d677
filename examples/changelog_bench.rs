//! Times the changelog engine alone: `relsync::changelog::collect` with settings from the
//! command line, printing the commit count. Used by `scripts/bench.sh`.
//!
//! ```text
//! cargo run --release --example changelog_bench -- REPO [--tag TAG] [--commit REV]
//!     [--since TAG] [--tag-pattern GLOB] [--ignore-tags GLOB]... [--paths GLOB]...
//!     [--include-merges] [--warn-shallow]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use relsync::changelog::{ChangelogSettings, OnShallow, Target, collect};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut repo: Option<PathBuf> = None;
    let mut settings = ChangelogSettings::default();
    let mut target = Target::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match arg.as_str() {
            "--tag" => target.tag = Some(value("--tag")),
            "--commit" => target.commit = Some(value("--commit")),
            "--since" => settings.since = Some(value("--since")),
            "--tag-pattern" => settings.tag_pattern = value("--tag-pattern"),
            "--ignore-tags" => settings.ignore_tags.push(value("--ignore-tags")),
            "--paths" => settings.paths.push(value("--paths")),
            "--include-merges" => settings.include_merges = true,
            "--warn-shallow" => settings.on_shallow = OnShallow::Warn,
            "-h" | "--help" => {
                println!(
                    "usage: changelog_bench REPO [--tag TAG] [--commit REV] [--since TAG] \
                     [--tag-pattern GLOB] [--ignore-tags GLOB]... [--paths GLOB]... \
                     [--include-merges] [--warn-shallow]"
                );
                return ExitCode::SUCCESS;
            }
            other if repo.is_none() && !other.starts_with('-') => repo = Some(other.into()),
            other => {
                eprintln!("changelog_bench: unexpected argument `{other}`");
                return ExitCode::from(2);
            }
        }
    }
    let repo = repo.unwrap_or_else(|| PathBuf::from("."));
    match collect(&repo, &settings, &target) {
        Ok(log) => {
            println!(
                "{} commits, {} groups, {} contributors; {} <- {}",
                log.commits.len(),
                log.groups.len(),
                log.contributors.len(),
                log.tag.as_deref().unwrap_or("unreleased"),
                log.previous_tag.as_deref().unwrap_or("(start of history)")
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("changelog_bench: {err:#}");
            ExitCode::from(relsync::error::ExitStatus::of_error(&err).code())
        }
    }
}
