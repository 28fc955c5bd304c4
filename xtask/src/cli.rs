//! The command line: task names, their one-line descriptions, and argument parsing.
//!
//! Parsing is hand-written rather than derived: every task either takes no arguments or passes
//! all of them through to cargo (or to the `crypto-exchange` binary) untouched, so there are no
//! options of our own to declare, and a passed-through `--quick` must not be read as ours.

use std::ffi::OsString;
use std::fmt::{self, Write as _};

/// A task named on the command line, with the arguments it passes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Print the usage.
    Help,
    /// Everything CI checks: fmt, clippy, tests, doctests, docs, layering.
    Ci,
    /// fmt check and clippy.
    Lint,
    /// The layering check over `cargo metadata`.
    Layering,
    /// `cargo bench --workspace --bench '*'`, followed by these cargo-bench arguments verbatim.
    Bench(Vec<OsString>),
    /// `crypto-exchange demo`, followed by these arguments.
    Demo(Vec<OsString>),
    /// `crypto-exchange chaos`, followed by these arguments.
    Chaos(Vec<OsString>),
    /// `cargo doc --workspace --no-deps`, followed by these cargo-doc arguments (e.g. `--open`).
    Docs(Vec<OsString>),
}

/// Every task name with its one-line description, in the order the usage lists them.
pub const TASKS: &[(&str, &str)] = &[
    (
        "ci",
        "everything CI runs, in order: fmt check, clippy, tests, doctests, docs, layering",
    ),
    (
        "lint",
        "cargo fmt --all --check, then clippy with -D warnings",
    ),
    (
        "layering",
        "check workspace dependencies against the layering rules (xtask/src/layering.rs)",
    ),
    (
        "bench",
        "cargo bench --workspace --bench '*' [ARGS] (e.g. `bench -- --quick`, `bench <filter>`)",
    ),
    (
        "demo",
        "cargo run --release -p crypto-exchange -- demo [ARGS]",
    ),
    (
        "chaos",
        "cargo run --release -p crypto-exchange -- chaos [ARGS] (e.g. `chaos --seeds 5`: the suite, five seeds)",
    ),
    (
        "docs",
        "cargo doc --workspace --no-deps with RUSTDOCFLAGS=\"-D warnings\" [ARGS] (e.g. --open)",
    ),
    ("help", "print this message"),
];

/// Why the command line could not be parsed; the caller prints it with the usage and exits 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The usage text: one line per task, built from [`TASKS`] so it cannot miss one.
#[must_use]
pub fn usage() -> String {
    let width = TASKS.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::from(
        "cargo xtask: workspace chores, run from the workspace root\n\n\
         Usage: cargo xtask <TASK> [ARGS...]\n\nTasks:\n",
    );
    for (name, about) in TASKS {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "  {name:<width$}  {about}");
    }
    out.push_str(
        "\nArguments after `demo` and `chaos` go to the crypto-exchange subcommand (a leading `--` \
         is dropped);\narguments after `bench` and `docs` go to cargo as written.\n\
         Exit codes: 0 success, 1 a task or step failed, 2 bad usage.\n",
    );
    out
}

/// Parses the arguments that follow `cargo xtask`.
///
/// No arguments, `help`, `-h` and `--help` all mean [`Task::Help`].
///
/// # Errors
///
/// A [`UsageError`] for an unknown or non-UTF-8 task name, or for arguments given to a task that
/// takes none.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Task, UsageError> {
    let mut args = args.into_iter();
    let Some(name) = args.next() else {
        return Ok(Task::Help);
    };
    let Some(name) = name.to_str().map(str::to_owned) else {
        return Err(UsageError(format!(
            "task name {} is not valid UTF-8",
            name.to_string_lossy()
        )));
    };
    let rest: Vec<OsString> = args.collect();
    let no_args = |task: Task| {
        if let Some(first) = rest.first() {
            Err(UsageError(format!(
                "`{name}` takes no arguments, but got `{}`",
                first.to_string_lossy()
            )))
        } else {
            Ok(task)
        }
    };
    match name.as_str() {
        "help" | "-h" | "--help" => Ok(Task::Help),
        "ci" => no_args(Task::Ci),
        "lint" => no_args(Task::Lint),
        "layering" => no_args(Task::Layering),
        "bench" => Ok(Task::Bench(rest)),
        "demo" => Ok(Task::Demo(drop_separator(rest))),
        "chaos" => Ok(Task::Chaos(drop_separator(rest))),
        "docs" => Ok(Task::Docs(rest)),
        other => Err(UsageError(format!("unknown task `{other}`"))),
    }
}

/// Drops one leading `--`, so `cargo xtask demo -- --flag` and `cargo xtask demo --flag` agree.
fn drop_separator(mut args: Vec<OsString>) -> Vec<OsString> {
    if args.first().is_some_and(|first| first == "--") {
        args.remove(0);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Task, UsageError> {
        parse(args.iter().map(OsString::from))
    }

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn no_arguments_and_help_mean_help() {
        for args in [&[][..], &["help"], &["-h"], &["--help"]] {
            assert_eq!(parse_strs(args), Ok(Task::Help), "{args:?}");
        }
    }

    #[test]
    fn every_listed_task_parses_and_appears_in_the_usage() {
        let usage = usage();
        for (name, about) in TASKS {
            assert!(
                parse_strs(&[name]).is_ok(),
                "`{name}` is listed but does not parse"
            );
            assert!(usage.contains(about), "usage misses `{name}`");
        }
    }

    #[test]
    fn unknown_task_is_a_usage_error_naming_it() {
        let err = parse_strs(&["deploy"]).unwrap_err();
        assert_eq!(err.to_string(), "unknown task `deploy`");
    }

    #[test]
    fn tasks_without_arguments_reject_extra_ones() {
        let err = parse_strs(&["ci", "--fast"]).unwrap_err();
        assert_eq!(err.to_string(), "`ci` takes no arguments, but got `--fast`");
        assert!(parse_strs(&["layering", "x"]).is_err());
        assert!(parse_strs(&["lint", "x"]).is_err());
    }

    #[test]
    fn bench_and_docs_pass_arguments_verbatim() {
        assert_eq!(
            parse_strs(&["bench", "--", "--quick"]),
            Ok(Task::Bench(os(&["--", "--quick"])))
        );
        assert_eq!(
            parse_strs(&["bench", "decode"]),
            Ok(Task::Bench(os(&["decode"])))
        );
        assert_eq!(
            parse_strs(&["docs", "--open"]),
            Ok(Task::Docs(os(&["--open"])))
        );
    }

    #[test]
    fn demo_and_chaos_drop_one_leading_separator() {
        assert_eq!(
            parse_strs(&["demo", "--", "--duration", "10s"]),
            Ok(Task::Demo(os(&["--duration", "10s"])))
        );
        assert_eq!(
            parse_strs(&["chaos", "--json"]),
            Ok(Task::Chaos(os(&["--json"])))
        );
        assert_eq!(
            parse_strs(&["chaos", "--", "--", "x"]),
            Ok(Task::Chaos(os(&["--", "x"])))
        );
    }
}
