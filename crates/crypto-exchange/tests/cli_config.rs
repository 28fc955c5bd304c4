//! The binary's configuration: `config check` passes the example file and
//! lists every problem of a bad one (exit code 2); `stream --config` with a bad
//! file starts nothing; `config show` names each value's origin and redacts
//! the admin token; flags beat the environment, which beats the file.

mod cli_common;

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, Result, ensure};
use binance_sim::{Sim, SimConfig};
use cli_common::{BIN, Run, WAIT};
use tokio::process::Command;
use tokio::time::timeout;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/config.example.toml"
);

/// Runs the binary with `env` added (and no inherited CRYPTO_EXCHANGE_*).
async fn run_env(args: &[&str], env: &[(&str, &str)]) -> Result<Run> {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("CRYPTO_EXCHANGE_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = timeout(WAIT, command.output())
        .await
        .context("the command did not end in time")??;
    Ok(Run {
        status: output.status,
        stdout: String::from_utf8(output.stdout)?,
        stderr: String::from_utf8(output.stderr)?,
    })
}

/// A file in the temporary directory, unique to this test.
fn temp_file(name: &str, text: &str) -> Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("crypto-exchange-{}-{name}", std::process::id()));
    std::fs::write(&path, text)?;
    Ok(path)
}

fn as_str(path: &std::path::Path) -> Result<&str> {
    path.to_str().context("temporary path is not UTF-8")
}

#[tokio::test]
async fn the_example_file_passes_config_check() -> Result<()> {
    let out = run_env(&["config", "check", EXAMPLE], &[]).await?;
    ensure!(out.code() == Some(0), "{}", out.transcript());
    ensure!(
        out.stdout.contains("ok (4 streams)"),
        "{}",
        out.transcript()
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_file_lists_every_problem_and_starts_nothing() -> Result<()> {
    let bad = temp_file(
        "bad.toml",
        "[reconnect]\ninitial_delay = \"30s\"\nmax_delay = \"10s\"\n\
         [streams]\nper_connection = 5000\nsymbols = [\"btcusdt\"]\ntypes = [\"aggTrade\"]\n\
         [ops]\nenabled = true\naddr = \"0.0.0.0:9898\"\n[tracing]\nlevel = \"info\"\n",
    )?;
    let path = as_str(&bad)?;
    let check = run_env(&["config", "check", path], &[]).await?;
    let stream = run_env(
        &["stream", "--config", path, "--ws-url", "ws://127.0.0.1:9"],
        &[],
    )
    .await?;
    let _ = std::fs::remove_file(&bad);
    for out in [&check, &stream] {
        ensure!(out.code() == Some(2), "{}", out.transcript());
        ensure!(out.stdout.is_empty(), "{}", out.transcript());
        for needle in [
            "invalid configuration (4 problems)",
            "unknown key `tracing`",
            "reconnect.max_delay = 10s must not be below reconnect.initial_delay = 30s",
            "streams.per_connection = 5000 must be between 1 and 1024",
            "ops.addr = 0.0.0.0:9898 is not a loopback address",
        ] {
            ensure!(
                out.stderr.contains(needle),
                "{needle:?} missing: {}",
                out.transcript()
            );
        }
    }
    let unreadable = run_env(&["config", "check", "/nonexistent/gateway.toml"], &[]).await?;
    ensure!(unreadable.code() == Some(2), "{}", unreadable.transcript());
    ensure!(
        unreadable
            .stderr
            .contains("cannot read the configuration file"),
        "{}",
        unreadable.transcript()
    );
    let bad_env = run_env(
        &["config", "check", EXAMPLE],
        &[("CRYPTO_EXCHANGE_REST_TIMEOUT", "soon")],
    )
    .await?;
    ensure!(bad_env.code() == Some(2), "{}", bad_env.transcript());
    ensure!(
        bad_env.stderr.contains(
            "rest.timeout = \"soon\" (from CRYPTO_EXCHANGE_REST_TIMEOUT) must be a duration"
        ),
        "{}",
        bad_env.transcript()
    );
    Ok(())
}

#[tokio::test]
async fn show_names_origins_and_redacts_the_token() -> Result<()> {
    let token = "a-very-secret-admin-token-42";
    let out = run_env(
        &["config", "show", "--config", EXAMPLE],
        &[
            ("CRYPTO_EXCHANGE_OPS_ADMIN_TOKEN", token),
            ("CRYPTO_EXCHANGE_RECONNECT_MAX_DELAY", "20s"),
        ],
    )
    .await?;
    ensure!(out.code() == Some(0), "{}", out.transcript());
    ensure!(
        !out.stdout.contains(token) && !out.stderr.contains(token),
        "{}",
        out.transcript()
    );
    for needle in [
        "admin_token = \"<redacted>\"  # env",
        "max_delay = \"20s\"  # env",
        "initial_delay = \"1s\"  # file",
        "symbols = [\"btcusdt\", \"ethusdt\"]  # file",
    ] {
        ensure!(
            out.stdout.contains(needle),
            "{needle:?} missing: {}",
            out.stdout
        );
    }
    let defaults = run_env(&["config", "show"], &[]).await?;
    ensure!(
        defaults.stdout.contains("max_delay = \"30s\"  # default"),
        "{}",
        defaults.stdout
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_beat_the_environment_which_beats_the_file() -> Result<()> {
    let sim = Sim::start(SimConfig::default()).await?;
    let file = temp_file(
        "layers.toml",
        &format!(
            "[endpoints]\nws = [\"ws://127.0.0.1:9\"]\nrest = [\"{}\"]\n[streams]\nsymbols = [\"btcusdt\"]\ntypes = [\"trade\"]\n",
            sim.rest_url()
        ),
    )?;
    let ws = sim.ws_url();
    // The file's endpoint refuses; the environment's is the simulator. The
    // file's and the environment's stream types lose to the flag's.
    let out = run_env(
        &[
            "stream",
            "--config",
            as_str(&file)?,
            "--streams",
            "aggTrade",
            "--duration",
            "3s",
        ],
        &[
            ("CRYPTO_EXCHANGE_ENDPOINTS_WS", ws.as_str()),
            ("CRYPTO_EXCHANGE_STREAMS_TYPES", "bookTicker"),
        ],
    )
    .await?;
    let _ = std::fs::remove_file(&file);
    ensure!(out.code() == Some(0), "{}", out.transcript());
    let events: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("\"stream\":"))
        .collect();
    ensure!(!events.is_empty(), "no events: {}", out.transcript());
    ensure!(
        events
            .iter()
            .all(|l| l.contains("\"stream\":\"btcusdt@aggTrade\"")),
        "only the flag's stream type: {}",
        out.transcript()
    );
    sim.shutdown().await;
    Ok(())
}
