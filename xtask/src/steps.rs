//! Named steps (`ci`, `lint`, `docs`): each step is a cargo command or the in-process layering
//! check, run in order with a header and a timing per step, stopping at the first failure.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::layering;
use crate::shell::{self, CargoCommand};

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Runs a cargo command; the step fails if it exits unsuccessfully.
    Cargo(CargoCommand),
    /// Runs the layering check in this process.
    Layering,
}

/// One named step of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Short name shown in headers, errors and the summary, e.g. `clippy`.
    pub name: &'static str,
    /// What the step does.
    pub action: Action,
}

impl Step {
    fn cargo(name: &'static str, command: CargoCommand) -> Self {
        Self {
            name,
            action: Action::Cargo(command),
        }
    }

    /// What the step runs, as shown in its header.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.action {
            Action::Cargo(command) => command.display(),
            Action::Layering => "layering check over `cargo metadata` (in-process)".to_owned(),
        }
    }

    fn run(&self, root: &Path) -> Result<()> {
        match &self.action {
            Action::Cargo(command) => command.run(root),
            Action::Layering => layering::run(root),
        }
    }
}

/// `cargo xtask lint`: the fmt check, then clippy over every target with warnings denied.
#[must_use]
pub fn lint_steps() -> Vec<Step> {
    vec![
        Step::cargo("fmt", CargoCommand::new(["fmt", "--all", "--check"])),
        Step::cargo(
            "clippy",
            CargoCommand::new([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]),
        ),
    ]
}

/// `cargo xtask docs`: the workspace's documentation, warnings denied, with extra cargo-doc args.
#[must_use]
pub fn docs_step(args: Vec<OsString>) -> Step {
    Step::cargo(
        "docs",
        CargoCommand::new(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", shell::rustdocflags_deny_warnings())
            .args(args),
    )
}

/// `cargo xtask ci`: lint, tests, doctests, docs and the layering check, in that order.
#[must_use]
pub fn ci_steps() -> Vec<Step> {
    let mut steps = lint_steps();
    steps.extend([
        Step::cargo(
            "test",
            CargoCommand::new(["test", "--workspace", "--all-targets", "--all-features"]),
        ),
        Step::cargo(
            "doctest",
            CargoCommand::new(["test", "--workspace", "--doc", "--all-features"]),
        ),
        docs_step(Vec::new()),
        Step {
            name: "layering",
            action: Action::Layering,
        },
    ]);
    steps
}

/// How a step ended, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed(Duration),
    Failed(Duration),
    Skipped,
}

/// Runs `steps` in order in `root`, printing a header and the elapsed time for each, and a
/// summary at the end; stops at the first step that fails.
///
/// # Errors
///
/// If a step fails; the error names the step and what went wrong.
pub fn run_steps(task: &str, root: &Path, steps: &[Step]) -> Result<()> {
    let started = Instant::now();
    let mut outcomes = vec![Outcome::Skipped; steps.len()];
    let mut failure = None;
    for (index, step) in steps.iter().enumerate() {
        eprintln!(
            "==> [{}/{}] {}: {}",
            index + 1,
            steps.len(),
            step.name,
            step.describe()
        );
        let step_started = Instant::now();
        let result = step.run(root);
        let elapsed = step_started.elapsed();
        match result {
            Ok(()) => {
                eprintln!("    {} ok in {}", step.name, format_duration(elapsed));
                outcomes[index] = Outcome::Passed(elapsed);
            }
            Err(err) => {
                eprintln!(
                    "    {} FAILED after {}",
                    step.name,
                    format_duration(elapsed)
                );
                outcomes[index] = Outcome::Failed(elapsed);
                failure = Some((step.name, err));
                break;
            }
        }
    }
    eprint!("{}", summary(task, steps, &outcomes, started.elapsed()));
    if let Some((name, err)) = failure {
        bail!("{task}: step `{name}` failed: {err:#}");
    }
    Ok(())
}

/// The end-of-task summary: one line per step, then the verdict and total time.
fn summary(task: &str, steps: &[Step], outcomes: &[Outcome], total: Duration) -> String {
    let width = steps.iter().map(|step| step.name.len()).max().unwrap_or(0);
    let mut out = format!("\n{task} summary:\n");
    for (step, outcome) in steps.iter().zip(outcomes) {
        let name = step.name;
        // Writing to a String cannot fail.
        let _ = match outcome {
            Outcome::Passed(elapsed) => {
                writeln!(out, "  ok    {name:<width$}  {}", format_duration(*elapsed))
            }
            Outcome::Failed(elapsed) => {
                writeln!(out, "  FAIL  {name:<width$}  {}", format_duration(*elapsed))
            }
            Outcome::Skipped => writeln!(out, "  skip  {name:<width$}  (not run)"),
        };
    }
    let passed = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Passed(_)))
        .count();
    let verdict = if passed == steps.len() {
        format!("all {} steps ok", steps.len())
    } else {
        format!("{passed} of {} steps ok", steps.len())
    };
    let _ = writeln!(out, "{task}: {verdict} in {}", format_duration(total));
    out
}

/// `0.4s`, `12.3s`, `3m 05.2s`: rounded to tenths of a second.
fn format_duration(elapsed: Duration) -> String {
    let tenths = elapsed.as_millis().saturating_add(50) / 100;
    if tenths < 600 {
        format!("{}.{}s", tenths / 10, tenths % 10)
    } else {
        let (minutes, rest) = (tenths / 600, tenths % 600);
        format!("{minutes}m {:02}.{}s", rest / 10, rest % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_runs_the_documented_steps_in_order() {
        let steps = ci_steps();
        let names: Vec<_> = steps.iter().map(|step| step.name).collect();
        assert_eq!(
            names,
            ["fmt", "clippy", "test", "doctest", "docs", "layering"]
        );
        let shown: Vec<_> = steps.iter().map(Step::describe).collect();
        assert_eq!(shown[0], "cargo fmt --all --check");
        assert_eq!(
            shown[1],
            "cargo clippy --workspace --all-targets --all-features -- -D warnings"
        );
        assert_eq!(
            shown[2],
            "cargo test --workspace --all-targets --all-features"
        );
        assert_eq!(shown[3], "cargo test --workspace --doc --all-features");
        assert!(shown[4].ends_with("cargo doc --workspace --no-deps --all-features"));
        assert!(shown[4].contains("-D warnings"));
        assert_eq!(steps[5].action, Action::Layering);
    }

    #[test]
    fn lint_is_the_first_two_ci_steps() {
        assert_eq!(lint_steps(), ci_steps()[..2]);
    }

    #[test]
    fn summary_marks_passed_failed_and_skipped_steps() {
        let steps = lint_steps();
        let text = summary(
            "lint",
            &steps,
            &[
                Outcome::Failed(Duration::from_millis(1500)),
                Outcome::Skipped,
            ],
            Duration::from_secs(2),
        );
        assert!(text.contains("FAIL  fmt     1.5s"), "{text}");
        assert!(text.contains("skip  clippy  (not run)"), "{text}");
        assert!(text.contains("lint: 0 of 2 steps ok in 2.0s"), "{text}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_millis(420)), "0.4s");
        assert_eq!(format_duration(Duration::from_millis(59_960)), "1m 00.0s");
        assert_eq!(format_duration(Duration::from_millis(185_200)), "3m 05.2s");
    }
}
