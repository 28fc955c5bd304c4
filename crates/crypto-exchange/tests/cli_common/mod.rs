//! Shared helpers for the binary-level tests: run `crypto-exchange` as a child
//! process, with every wait bounded and the child killed on every path.
//!
//! Children are spawned with `kill_on_drop`, so a failing assertion (which drops
//! the `Child`, or the future that owns it) kills the process too.

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

/// The binary under test, built by cargo for this test run.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_crypto-exchange");

/// How long a command that should end by itself may run before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// A finished run: exit status and everything written.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The exit code (`None` when killed by a signal).
    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Everything the run wrote, for failure messages.
    pub(crate) fn transcript(&self) -> String {
        format!(
            "status {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `crypto-exchange args…` to its end, within `limit`; the child is killed
/// if it runs longer.
pub(crate) async fn run_within(limit: Duration, args: &[&str]) -> Result<Run> {
    let child = command(args)
        .spawn()
        .with_context(|| format!("cannot start {BIN}"))?;
    // On a timeout the future, and with it the child, is dropped: killed.
    let output = timeout(limit, child.wait_with_output())
        .await
        .with_context(|| {
            format!(
                "`crypto-exchange {}` still running after {limit:?}",
                args.join(" ")
            )
        })?
        .context("cannot collect the output")?;
    Ok(Run {
        status: output.status,
        stdout: String::from_utf8(output.stdout).context("stdout is not UTF-8")?,
        stderr: String::from_utf8(output.stderr).context("stderr is not UTF-8")?,
    })
}

/// Runs `crypto-exchange args…`, which must end by itself within [`WAIT`].
pub(crate) async fn run(args: &[&str]) -> Result<Run> {
    run_within(WAIT, args).await
}

/// A long-running child whose stdout is read line by line, each read bounded.
pub(crate) struct Running {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Running {
    /// Starts `crypto-exchange args…`; stderr is discarded.
    pub(crate) fn start(args: &[&str]) -> Result<Self> {
        let mut child = command(args)
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {BIN}"))?;
        let stdout = child.stdout.take().context("stdout is not piped")?;
        Ok(Running {
            child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// The next stdout line, waiting at most `limit`.
    pub(crate) async fn line(&mut self, limit: Duration) -> Result<String> {
        match timeout(limit, self.lines.next_line()).await {
            Err(_) => bail!("no output line within {limit:?}"),
            Ok(Err(error)) => Err(error).context("cannot read stdout"),
            Ok(Ok(None)) => {
                let status = timeout(limit, self.child.wait()).await;
                bail!("stdout ended; the child exited: {status:?}")
            }
            Ok(Ok(Some(line))) => Ok(line),
        }
    }

    /// Kills the child and reaps it.
    pub(crate) async fn kill(mut self) -> Result<()> {
        self.child.kill().await.context("cannot kill the child")
    }
}
