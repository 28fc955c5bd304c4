//! Bad input at the ops endpoint: HTTP clients that stall (a request never
//! finished, responses never read) cannot hold up the feed or other HTTP
//! clients; nothing secret configured on the client (an API-key header, a key
//! in the endpoint's query) appears in any output.

mod client_common;
mod ops_common;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use binance_sim::DropKind;
use client_common::{WAIT, client_for, next_event, sim_with, wait_for};
use crypto_exchange::{Lifecycle, OpsConfig};
use ops_common::{get, http, poll};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A made-up API key: 64 letters and digits, like Binance's.
const SECRET: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_http_clients_do_not_stop_the_feed() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let ops = client.serve_ops(OpsConfig::default()).await?;
    let addr = ops.local_addr();
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    next_event(&mut sub).await?;

    // One client sends half a request and stops; another pipelines many
    // requests for the largest page and never reads an answer, so the
    // server's writes to it fill the socket buffers and wait.
    let mut half = TcpStream::connect(addr).await?;
    half.write_all(b"GET /health HTTP/1.1\r\nHost: ops\r\n")
        .await?;
    let mut greedy = TcpStream::connect(addr).await?;
    let request = b"GET /metrics HTTP/1.1\r\nHost: ops\r\n\r\n".repeat(2000);
    // The write itself may stall once the server stops reading: bounded.
    let _ = tokio::time::timeout(Duration::from_secs(2), greedy.write_all(&request)).await;

    // Events keep flowing to the subscriber ...
    let before = client.stats().events_delivered;
    let mut received = 0;
    while client.stats().events_delivered < before + 200 {
        next_event(&mut sub).await?;
        received += 1;
        ensure!(received < 100_000, "the counter does not move");
    }
    // ... the feed keeps publishing, and other HTTP clients are answered.
    let http = http()?;
    let health_url = format!("{}/health", ops.base_url());
    let first = get(&http, &health_url).await?.json()?["generated_ms"]
        .as_u64()
        .context("generated_ms")?;
    poll(Duration::from_secs(10), "a newer report", || async {
        let body = get(&http, &health_url).await?.json()?;
        Ok(body["generated_ms"]
            .as_u64()
            .is_some_and(|t| t > first)
            .then_some(()))
    })
    .await?;

    drop(half);
    drop(greedy);
    client.shutdown().await;
    // Shutdown does not wait for the stalled connections beyond its grace.
    tokio::time::timeout(WAIT, ops.shutdown()).await??;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_any_output() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |config| {
        // A key in the endpoint's query (ignored by the simulator), and an
        // API-key header on the handshake.
        config.endpoints = vec![format!(
            "{}/stream?apiKey={SECRET}&then=/stream",
            sim.ws_url()
        )];
        let _ = config.transport.headers.insert("X-MBX-APIKEY", SECRET);
    })?;
    let ops = client.serve_ops(OpsConfig::default()).await?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade", "ethusdt@bookTicker"])?;
    next_event(&mut sub).await?;
    // A reconnect and a refusal put the endpoint in lifecycle signals,
    // breaker names and alerts.
    sim.drop_connections(DropKind::Reset);
    wait_for(&mut lifecycle, |l| matches!(l, Lifecycle::Connected { .. })).await?;
    next_event(&mut sub).await?;

    let http = http()?;
    let mut outputs = Vec::new();
    for path in [
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/alerts",
    ] {
        let answer = get(&http, &format!("{}{path}", ops.base_url())).await?;
        outputs.push((path.to_owned(), answer.body));
    }
    outputs.push((
        "system_health".into(),
        format!("{:?}", client.system_health()),
    ));
    outputs.push(("metrics".into(), serde_json::to_string(&client.metrics())?));
    outputs.push(("client".into(), format!("{client:?}")));
    let metrics = &outputs[3].1;
    ensure!(
        metrics.contains("crypto_exchange_messages_total"),
        "{metrics}"
    );
    for (name, text) in &outputs {
        ensure!(!text.contains(SECRET), "{name} shows the key: {text}");
        ensure!(!text.contains("apiKey="), "{name} shows the query: {text}");
        ensure!(
            !text.to_ascii_lowercase().contains("x-mbx-apikey"),
            "{name} shows the header: {text}"
        );
    }

    client.shutdown().await;
    ops.shutdown().await?;
    sim.shutdown().await;
    Ok(())
}
