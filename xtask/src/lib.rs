//! Workspace chores behind one command, `cargo xtask <task>` (matklad's cargo-xtask pattern).
//!
//! The `.cargo/config.toml` alias `xtask = "run --quiet --package xtask --"` runs this crate's
//! binary, which is a thin wrapper around [`run`]. Every task runs from the workspace root, finds
//! cargo through the `CARGO` environment variable (falling back to `cargo` on `PATH`), and leaves
//! the target directory to cargo, so `CARGO_TARGET_DIR` and `.cargo/config.toml` are honoured.
//!
//! ## Design
//!
//! `cargo xtask ci` is exactly what CI runs (`.ci/run` calls nothing else), so a contributor who
//! runs it locally sees what CI will see. The layering check ([`layering`]) is a pure function over
//! a small dependency graph read from `cargo metadata`; it runs in-process and as a unit test.
//! xtask does no work of its own beyond that: it composes cargo invocations and reports on them.
//!
//! Exit codes: `0` success, `1` a task or one of its steps failed, `2` bad usage.

pub mod cli;
pub mod layering;
pub mod shell;
pub mod steps;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Task;
use crate::shell::CargoCommand;

/// Exit code for bad usage: an unknown task or arguments a task does not take.
pub const EXIT_USAGE: u8 = 2;

/// Parses `args` (without the program name), runs the task they name and returns the exit code.
///
/// Errors are printed to stderr here, so the caller only has to return the code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let task = match cli::parse(args) {
        Ok(task) => task,
        Err(err) => {
            eprintln!("error: {err}\n");
            eprint!("{}", cli::usage());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match execute(task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one parsed task from the workspace root.
fn execute(task: Task) -> Result<()> {
    let root = shell::workspace_root()?;
    match task {
        Task::Help => {
            print!("{}", cli::usage());
            Ok(())
        }
        Task::Ci => steps::run_steps("ci", &root, &steps::ci_steps()),
        Task::Lint => steps::run_steps("lint", &root, &steps::lint_steps()),
        Task::Layering => layering::run(&root),
        Task::Docs(args) => steps::run_steps("docs", &root, &[steps::docs_step(args)]),
        Task::Bench(args) => bench(&root, args),
        Task::Demo(args) => facade_subcommand(&root, "demo", args),
        Task::Chaos(args) => facade_subcommand(&root, "chaos", args),
    }
}

/// `cargo bench` over every bench target of the workspace, then where to record the figures.
fn bench(root: &Path, args: Vec<OsString>) -> Result<()> {
    // `--bench '*'` runs bench targets only. Plain `cargo bench` (and `--benches`) also runs the
    // libtest harness of every library and binary, which rejects criterion's options:
    // `-- --quick` would fail with "Unrecognized option: 'quick'".
    let command = CargoCommand::new(["bench", "--workspace", "--bench", "*"]).args(args);
    eprintln!("==> bench: {}", command.display());
    command.run(root)?;
    eprintln!(
        "==> bench: done. Record the figures (with the machine, toolchain and commit) in docs/benchmarks.md"
    );
    Ok(())
}

/// Runs a subcommand of the `crypto-exchange` binary in release mode, replacing this process.
fn facade_subcommand(root: &Path, subcommand: &str, args: Vec<OsString>) -> Result<()> {
    let command = CargoCommand::new([
        "run",
        "--release",
        "-p",
        "crypto-exchange",
        "--",
        subcommand,
    ])
    .args(args);
    eprintln!("==> {subcommand}: {}", command.display());
    command.exec(root)
}
