//! The `relsync` binary: parse, run, print the error once, exit with its status.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use relsync::{ExitStatus, cli::Cli, env_vars::Env};

/// `relsync --version`: the version, the commit it was built from and the target triple
/// (both recorded by `build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("RELSYNC_BUILD_COMMIT"),
    ", ",
    env!("RELSYNC_BUILD_TARGET"),
    ")"
);

fn main() -> ExitCode {
    let env = Env::from_process();
    let parsed = Cli::command()
        .version(VERSION)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are successes; bad flags are bad input.
            return ExitCode::from(if e.use_stderr() {
                ExitStatus::BadInput.code()
            } else {
                0
            });
        }
    };
    let annotations_env = env.clone();
    let color = relsync::output::use_color(&env);
    relsync::output::init_logging(
        cli.global.verbose,
        cli.global.quiet,
        env.get(relsync::env_vars::RELSYNC_LOG),
        color,
    );
    let mut stdout = std::io::stdout().lock();
    match relsync::run(&cli, env, &mut stdout) {
        Ok(status) => ExitCode::from(status.code()),
        Err(err) => {
            let status = ExitStatus::of_error(&err);
            eprintln!("error: {err:#}");
            if let Some(line) =
                relsync::output::error_annotation(&annotations_env, &format!("{err:#}"))
            {
                println!("{line}");
            }
            ExitCode::from(status.code())
        }
    }
}
