//! `crypto-exchange chaos` as a user runs it: bad input is refused with the
//! rule and the valid choices (exit 2) before anything runs; a real run prints
//! the seed first and writes the report; `--json` keeps stdout pure JSON.

mod cli_common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use cli_common::{run, run_within};

/// A fresh directory path under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("crypto-exchange-cli-chaos-{}-{name}", std::process::id()))
}

#[tokio::test]
async fn an_unknown_scenario_is_refused_listing_the_valid_names() -> Result<()> {
    let out = run(&["chaos", "--scenario", "partition"]).await?;
    let transcript = out.transcript();
    ensure!(out.code() == Some(2), "{transcript}");
    for name in [
        "\"partition\"",
        "connection-failure",
        "network-partition",
        "rate-limiting",
        "circuit-breaker",
        "stall",
        "server-errors",
        "rotation",
        "endpoint-failover",
        "slow-consumer",
        "or all",
    ] {
        ensure!(out.stderr.contains(name), "{name} missing: {transcript}");
    }
    ensure!(out.stdout.is_empty(), "{transcript}");
    Ok(())
}

#[tokio::test]
async fn bad_durations_and_seeds_are_refused_with_the_rule() -> Result<()> {
    for (args, says) in [
        (["--duration", "soon"], "write a duration such as 30s"),
        (["--duration", "2s"], "outside 8s to 1h"),
        (["--duration", "2h"], "outside 8s to 1h"),
        (["--seed", "-1"], "write a whole number from 0 to 18446744073709551615"),
        (["--seed", "ten"], "is not a seed"),
    ] {
        let mut all = vec!["chaos"];
        all.extend(args);
        let out = run(&all).await?;
        let transcript = out.transcript();
        ensure!(out.code() == Some(2), "{args:?}: {transcript}");
        ensure!(out.stderr.contains(says), "{args:?} should say {says:?}: {transcript}");
    }
    Ok(())
}

#[tokio::test]
async fn an_unwritable_report_directory_is_refused_before_anything_runs() -> Result<()> {
    let file = scratch("a-file");
    std::fs::write(&file, b"in the way")?;
    let dir = file.join("reports");
    let dir_text = dir.to_string_lossy().into_owned();
    let started = Instant::now();
    let out = run(&["chaos", "--scenario", "stall", "--report", &dir_text]).await?;
    let _ = std::fs::remove_file(&file);
    let transcript = out.transcript();
    ensure!(out.code() == Some(2), "{transcript}");
    ensure!(
        out.stderr.contains("cannot write the report to directory")
            && out.stderr.contains(&dir_text)
            && out.stderr.contains("choose another --report directory"),
        "{transcript}"
    );
    ensure!(started.elapsed() < Duration::from_secs(10), "refused only after running");
    ensure!(out.stdout.is_empty(), "nothing ran: {transcript}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_run_prints_the_seed_first_and_writes_the_report() -> Result<()> {
    let dir = scratch("report");
    let dir_text = dir.to_string_lossy().into_owned();
    let out = run_within(
        Duration::from_secs(120),
        &["chaos", "--scenario", "rotation", "--seed", "5", "--duration", "8s", "--json", "--report", &dir_text],
    )
    .await?;
    let transcript = out.transcript();
    ensure!(out.code() == Some(0), "{transcript}");
    let first = out.stderr.lines().next().unwrap_or_default();
    ensure!(first.starts_with("seed 5 (replay: crypto-exchange chaos --seed 5"), "{transcript}");
    ensure!(out.stderr.lines().any(|l| l.starts_with("rotation") && l.contains("passed")), "{transcript}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).context("stdout is the suite's JSON")?;
    ensure!(json["seed"] == 5, "{json}");
    ensure!(json["outcomes"][0]["scenario"] == "rotation", "{json}");
    ensure!(json["outcomes"][0]["status"] == "passed", "{json}");
    ensure!(json["outcomes"][0]["report"]["measures"]["overall"]["lost"] == 0, "{json}");
    for file in ["summary.md", "suite.json", "rotation/report.md", "rotation/report.json", "rotation/timeline.svg"] {
        ensure!(dir.join(file).is_file(), "{file} not written: {transcript}");
    }
    let summary = std::fs::read_to_string(dir.join("summary.md"))?;
    ensure!(summary.contains("# Chaos suite, seed 5"), "{summary}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
