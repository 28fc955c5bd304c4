//! The binary's JSON logs: `--log-format json stream` against `binance-sim`
//! with a forced connection reset writes one JSON object per line to stderr,
//! and every line of the connection's story, from the fault to the recovery,
//! carries the connection's span with its id and endpoint.

mod cli_common;

use std::process::Stdio;

use anyhow::{Context, Result, bail, ensure};
use binance_sim::{DropKind, Sim, SimConfig};
use cli_common::{BIN, WAIT};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

/// The lifecycle event a log line reports (`Disconnected`, `Reconnecting`, …).
fn event_kind(line: &Value) -> Option<String> {
    let event = line["fields"]["event"].as_str()?;
    Some(event.split([' ', '{']).next()?.to_owned())
}

/// The `connection` span in a line's span list.
fn connection_span(line: &Value) -> Option<&Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "connection")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_reads_as_one_story_in_the_json_logs() -> Result<()> {
    let sim = Sim::start(SimConfig::default()).await?;
    let ws = sim.ws_url();
    let mut child = Command::new(BIN)
        .args([
            "--log-format",
            "json",
            "stream",
            "--ws-url",
            &ws,
            "--rest-url",
            &sim.rest_url(),
            "--symbols",
            "btcusdt",
            "--streams",
            "aggTrade",
            "--duration",
            "60s",
        ])
        .env("RUST_LOG", "crypto_exchange=info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the binary")?;
    let stderr = child.stderr.take().context("stderr")?;
    let logs = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut all = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push(line);
        }
        all
    });
    let mut stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
    // The first event, then the reset, then the stream's recovery.
    timeout(WAIT, async {
        while let Some(line) = stdout.next_line().await? {
            if line.contains("\"stream\":\"btcusdt@aggTrade\"") {
                return Ok(());
            }
        }
        bail!("stdout ended before the first event")
    })
    .await
    .context("no event in time")??;
    ensure!(
        sim.drop_connections(DropKind::Reset) > 0,
        "nothing to reset"
    );
    timeout(WAIT, async {
        let mut disconnected = false;
        while let Some(line) = stdout.next_line().await? {
            disconnected |= line.contains(r#""lifecycle":"disconnected""#);
            if disconnected && line.contains(r#""lifecycle":"subscribed""#) {
                return Ok(());
            }
        }
        bail!("stdout ended before the recovery")
    })
    .await
    .context("no recovery in time")??;
    child.kill().await?;
    let lines = timeout(WAIT, logs).await??;

    let mut parsed = Vec::new();
    for line in &lines {
        let value: Value = serde_json::from_str(line)
            .with_context(|| format!("a stderr line is not JSON: {line}"))?;
        parsed.push(value);
    }
    let story: Vec<(String, &Value)> = parsed
        .iter()
        .filter_map(|l| event_kind(l).map(|k| (k, l)))
        .collect();
    let fault = story
        .iter()
        .position(|(k, _)| k == "Disconnected")
        .with_context(|| format!("no Disconnected line in {lines:#?}"))?;
    let after: Vec<&str> = story[fault..].iter().map(|(k, _)| k.as_str()).collect();
    for step in [
        "Disconnected",
        "Reconnecting",
        "Connecting",
        "Connected",
        "Subscribed",
    ] {
        ensure!(
            after.contains(&step),
            "{step} missing after the fault: {after:?}"
        );
    }
    let id = story[fault].1["fields"]["connection"]
        .as_u64()
        .context("connection id")?;
    for (kind, line) in &story[fault..] {
        let span = connection_span(line)
            .with_context(|| format!("{kind} without its connection span: {line}"))?;
        ensure!(span["connection"].as_u64() == Some(id), "{kind}: {span}");
        ensure!(
            span["endpoint"].as_str() == Some(ws.as_str()),
            "{kind}: {span} (endpoint {ws})"
        );
    }
    let reconnecting = story[fault..]
        .iter()
        .find(|(k, _)| k == "Reconnecting")
        .map(|(_, l)| *l)
        .context("Reconnecting")?;
    ensure!(reconnecting["fields"]["connection"].as_u64() == Some(id));
    let connecting = story[fault..]
        .iter()
        .find(|(k, _)| k == "Connecting")
        .map(|(_, l)| *l)
        .context("Connecting")?;
    ensure!(connecting["span"]["name"] == "connection", "{connecting}");
    ensure!(
        connecting["span"]["streams"].as_u64() == Some(1),
        "{connecting}"
    );
    sim.shutdown().await;
    Ok(())
}
