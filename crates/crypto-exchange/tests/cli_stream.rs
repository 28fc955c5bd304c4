//! `crypto-exchange stream` as a user runs it: against an in-process `binance-sim`,
//! in both output formats, and with bad arguments.

mod cli_common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use binance_sim::{Sim, SimConfig, SimHandle};
use cli_common::{Run, run};
use serde_json::{Map, Value};

/// A simulator with busy markets, so a few seconds hold many trades.
async fn busy_sim() -> Result<SimHandle> {
    let mut config = SimConfig {
        admin_listen: None,
        ..SimConfig::default()
    };
    for spec in &mut config.symbols {
        spec.actions_per_sec = 400.0;
    }
    Ok(Sim::start(config).await?)
}

/// The keys of Binance's `aggTrade` payload, from the official example.
fn agg_trade_keys() -> Result<BTreeSet<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../binance-sim/tests/fixtures/ws_aggTrade.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    let fixture: Map<String, Value> = serde_json::from_str(&text)?;
    Ok(fixture.keys().cloned().collect())
}

fn keys(object: &Map<String, Value>) -> BTreeSet<&str> {
    object.keys().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_against_the_simulator_is_binance_shaped_and_contiguous() -> Result<()> {
    let sim = busy_sim().await?;
    let (ws, rest) = (sim.ws_url(), sim.rest_url());
    let out = run(&[
        "stream",
        "--ws-url",
        &ws,
        "--rest-url",
        &rest,
        "--symbols",
        "btcusdt",
        "--streams",
        "aggTrade",
        "--output",
        "jsonl",
        "--duration",
        "3s",
    ])
    .await?;
    sim.shutdown().await;
    let transcript = out.transcript();
    ensure!(out.code() == Some(0), "{transcript}");

    let expected_data_keys = agg_trade_keys()?;
    let mut lifecycle = Vec::new();
    let mut last_id: Option<u64> = None;
    let mut events = 0;
    for line in out.stdout.lines() {
        let value: Value = serde_json::from_str(line)
            .with_context(|| format!("stdout line is not JSON: {line:?}\n{transcript}"))?;
        let object = value
            .as_object()
            .with_context(|| format!("not a JSON object: {line}"))?;
        if let Some(kind) = object.get("lifecycle") {
            lifecycle.push(kind.as_str().unwrap_or_default().to_owned());
            continue;
        }
        ensure!(
            keys(object) == BTreeSet::from(["stream", "data", "source"]),
            "an event line has exactly stream, data and source: {line}"
        );
        ensure!(object["stream"] == "btcusdt@aggTrade", "{line}");
        ensure!(object["source"] == "live", "{line}");
        let data = object["data"]
            .as_object()
            .with_context(|| format!("data is not an object: {line}"))?;
        let data_keys: BTreeSet<String> = data.keys().cloned().collect();
        ensure!(
            data_keys == expected_data_keys,
            "data keys {data_keys:?} differ from Binance's aggTrade {expected_data_keys:?}: {line}"
        );
        ensure!(data["e"] == "aggTrade" && data["s"] == "BTCUSDT", "{line}");
        let id = data["a"]
            .as_u64()
            .with_context(|| format!("no id: {line}"))?;
        if let Some(last) = last_id {
            ensure!(
                id == last + 1,
                "aggTrade id {id} after {last}: gap or duplicate"
            );
        }
        last_id = Some(id);
        events += 1;
    }
    ensure!(events >= 5, "only {events} events in 3 s\n{transcript}");
    for expected in ["connecting", "connected", "subscribed"] {
        ensure!(
            lifecycle.iter().any(|l| l == expected),
            "no {expected:?} lifecycle line in {lifecycle:?}"
        );
    }
    // Logs and the banner go to stderr, events never do.
    ensure!(
        !out.stderr.contains("aggTrade\"") && !out.stderr.contains("\"data\""),
        "events leaked to stderr:\n{}",
        out.stderr
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_is_for_people() -> Result<()> {
    let sim = busy_sim().await?;
    let (ws, rest) = (sim.ws_url(), sim.rest_url());
    let out = run(&[
        "stream",
        "--ws-url",
        &ws,
        "--rest-url",
        &rest,
        "--symbols",
        "BTCUSDT",
        "--streams",
        "aggTrade,bookTicker",
        "--output",
        "text",
        "--duration",
        "2s",
    ])
    .await?;
    sim.shutdown().await;
    let transcript = out.transcript();
    ensure!(out.code() == Some(0), "{transcript}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    ensure!(
        lines.iter().all(|l| !l.starts_with('{')),
        "JSON in text output\n{transcript}"
    );
    ensure!(
        lines
            .iter()
            .any(|l| l.starts_with("# connection 1: connected to ws://")),
        "no lifecycle comment line\n{transcript}"
    );
    ensure!(
        lines
            .iter()
            .any(|l| l.starts_with("btcusdt@aggTrade") && l.contains("aggTrade #")),
        "no aggTrade line\n{transcript}"
    );
    ensure!(
        lines.iter().any(|l| l.starts_with("btcusdt@bookTicker")
            && l.contains(" bid ")
            && l.contains(" ask ")),
        "no bookTicker line\n{transcript}"
    );
    Ok(())
}

/// Runs a command that must be refused with exit code 2 and a message containing
/// every one of `needles`, without any output on stdout.
async fn refused(args: &[&str], needles: &[&str]) -> Result<Run> {
    let out = run(args).await?;
    let transcript = out.transcript();
    ensure!(out.code() == Some(2), "exit code 2 expected: {transcript}");
    ensure!(out.stdout.is_empty(), "nothing on stdout: {transcript}");
    for needle in needles {
        ensure!(
            out.stderr.contains(needle),
            "stderr should name {needle:?}: {transcript}"
        );
    }
    Ok(out)
}

#[tokio::test]
async fn bad_arguments_are_refused_with_the_problem_named() -> Result<()> {
    let stream = |extra: &'static [&'static str]| {
        let mut args = vec!["stream", "--symbols", "btcusdt", "--streams", "aggTrade"];
        args.extend_from_slice(extra);
        args
    };
    // Every case runs at once; none of them connects anywhere.
    let streams_case = ["stream", "--symbols", "btcusdt", "--streams", "aggtrade"];
    let symbol_case = ["stream", "--symbols", "btc usdt", "--streams", "aggTrade"];
    let ws_case = stream(&["--ws-url", "http://x"]);
    let rest_case = stream(&["--rest-url", "ftp://x"]);
    let duration_case = stream(&["--duration", "soon"]);
    let missing_case = ["stream", "--symbols", "btcusdt"];
    let no_symbols_case = ["stream", "--streams", "aggTrade"];
    let results = tokio::join!(
        refused(&streams_case, &["aggtrade", "did you mean `aggTrade`"]),
        refused(&symbol_case, &["btc usdt", "symbol"]),
        refused(&ws_case, &["--ws-url", "http://x", "ws://"]),
        refused(&rest_case, &["--rest-url", "ftp://x", "http"]),
        refused(&duration_case, &["--duration", "soon", "30s"]),
        refused(&missing_case, &["--streams"]),
        refused(&no_symbols_case, &["--symbols"]),
    );
    results.0?;
    results.1?;
    results.2?;
    results.3?;
    results.4?;
    results.5?;
    results.6?;
    Ok(())
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried_until_the_duration_ends() -> Result<()> {
    // Port 1 on loopback refuses connections: the command reports the failures as
    // lifecycle lines, keeps retrying and still ends cleanly at --duration.
    let out = run(&[
        "stream",
        "--ws-url",
        "ws://127.0.0.1:1",
        "--symbols",
        "btcusdt",
        "--streams",
        "aggTrade",
        "--duration",
        "1500ms",
    ])
    .await?;
    let transcript = out.transcript();
    ensure!(out.code() == Some(0), "{transcript}");
    ensure!(
        out.stdout.contains(r#""lifecycle":"disconnected""#)
            && out.stdout.contains(r#""lifecycle":"reconnecting""#),
        "{transcript}"
    );
    Ok(())
}
