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
    let code = run();
    exit_now(code)
}

/// Ends the process with `code` once stdout and stderr are flushed, without the teardown
/// that `exit` runs: everything relsync opened is closed and dropped by now, and what is
/// left (the allocator's pages, libgit2's caches) the kernel takes back at once, where
/// returning them one by one took a few milliseconds of every run. A failed flush leaves
/// it to the usual return.
fn exit_now(code: u8) -> ExitCode {
    use std::io::Write as _;
    let flushed = std::io::stdout().flush().is_ok() && std::io::stderr().flush().is_ok();
    #[cfg(unix)]
    if flushed {
        // SAFETY: `_exit` takes no pointer; the buffered output is flushed above and no
        // file relsync writes is left open.
        unsafe { libc::_exit(i32::from(code)) }
    }
    let _ = flushed;
    ExitCode::from(code)
}

/// Parses the command line, runs the command and prints its error; the exit status.
fn run() -> u8 {
    // glibc's fast bins: the notes of a long history allocate and free millions of small
    // values, and with fast bins on glibc keeps consolidating them (about a fifth of the
    // time of a 27,000-commit release, see scripts/bench.sh). Off, as `mallopt(3)` allows.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: sets an allocator parameter before any thread exists; no pointer involved.
    unsafe {
        libc::mallopt(libc::M_MXFAST, 0);
    }
    let env = Env::from_process();
    let parsed = Cli::command()
        .version(VERSION)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        // Help and version are successes; bad flags are bad input, said in relsync's voice.
        Err(e) if e.use_stderr() => {
            eprintln!("{}", usage_error(&e.render().to_string()));
            return ExitStatus::BadInput.code();
        }
        Err(e) => {
            let _ = e.print();
            return 0;
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
        Ok(status) => status.code(),
        // The reader of a command that only reads went away (`relsync notes | head`):
        // what it wanted it has, as with git and other filters.
        Err(err) if !matches!(cli.command, relsync::cli::Command::Apply) && broken_pipe(&err) => 0,
        Err(err) => {
            let status = ExitStatus::of_error(&err);
            let default_note = match cli.command {
                relsync::cli::Command::Apply => "nothing was changed on the forge",
                _ => "this command only reads; nothing was changed on the forge",
            };
            let text = relsync::error::render(&err, default_note);
            eprintln!("{text}");
            let summary = text.strip_prefix("error: ").unwrap_or(&text);
            if let Some(line) = relsync::output::error_annotation(&annotations_env, summary) {
                use std::io::Write as _;
                let _ = writeln!(std::io::stdout(), "{line}");
            }
            status.code()
        }
    }
}

/// Whether `err` comes from writing to a pipe whose reader has closed it.
fn broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A command-line error from clap as `error:`, its details, `help:` (clap's tip, or where the
/// options are listed) and `note:`; clap's usage block is left out.
fn usage_error(clap: &str) -> String {
    let mut out = Vec::new();
    let mut helps = Vec::new();
    for line in clap.lines() {
        let t = line.trim();
        if t.starts_with("Usage:") || t.starts_with("For more information") {
            break;
        }
        if let Some(tip) = t.strip_prefix("tip: ") {
            helps.push(tip.to_owned());
        } else if !t.is_empty() {
            out.push(line.to_owned());
        }
    }
    if helps.is_empty() {
        helps.push("`relsync --help` lists the commands and options".to_owned());
    }
    for h in helps {
        out.push(format!("  help: {h}"));
    }
    out.push("  note: nothing was sent to the forge".to_owned());
    out.join("\n")
}
