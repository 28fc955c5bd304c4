//! The ops endpoint's health paths against `binance-sim`: `/health` turns 503
//! while the exchange refuses connections and 200 after recovery, with a
//! connection alert raised and resolved on `/alerts`; `/health/ready` waits
//! for every stream; unknown paths and methods; the facade's health calls.

mod client_common;
mod ops_common;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use binance_sim::DropKind;
use client_common::{client_for, next_event, sim_with};
use crypto_exchange::health::Level;
use crypto_exchange::{ClientConfig, OpsConfig};
use ops_common::{get, http, poll, wait_status};
use serde_json::Value;

/// Health thresholds short enough for a test in real time.
fn quick_health(config: &mut ClientConfig) {
    config.health.down_grace = Duration::from_secs(1);
    config.health.alerts.clear_after = Duration::from_secs(1);
    // The outage below is a handful of refused attempts: the breaker must
    // not keep the client away for 30 s afterwards.
    config.breaker.open_duration = Duration::from_millis(500);
    config.breaker.max_open_duration = Duration::from_secs(1);
}

/// Whether `alerts` (a JSON array) has an alert of `kind` on a connection.
fn has_connection_alert(alerts: &Value) -> bool {
    alerts.as_array().is_some_and(|list| {
        list.iter()
            .any(|a| a["kind"] == "connection" && a["cause"] == "connection_down")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_while_refused_and_200_after_recovery() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, quick_health)?;
    let ops = client.serve_ops(OpsConfig::default()).await?;
    let base = ops.base_url();
    let http = http()?;
    let mut sub = client.subscribe(["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    next_event(&mut sub).await?;

    // The endpoint serves the report of the last tick (about a second old).
    wait_status(
        &http,
        &format!("{base}/health/ready"),
        200,
        Duration::from_secs(15),
    )
    .await?;
    let live = wait_status(
        &http,
        &format!("{base}/health"),
        200,
        Duration::from_secs(15),
    )
    .await?;
    let body = live.json()?;
    ensure!(body["status"] == "ok", "{body}");
    ensure!(body["readiness"]["ready"] == true, "{body}");
    ensure!(client.health_check().is_ok());

    // The exchange refuses every connection for a while.
    sim.refuse_connections(Duration::from_secs(4));
    sim.drop_connections(DropKind::Reset);
    let down = wait_status(
        &http,
        &format!("{base}/health"),
        503,
        Duration::from_secs(10),
    )
    .await?;
    let body = down.json()?;
    ensure!(body["status"] == "failing", "{body}");
    let level = body["level"].as_str().unwrap_or_default();
    ensure!(level == "unhealthy" || level == "critical", "{body}");
    let reasons = body["reasons"].to_string();
    ensure!(reasons.contains("no connected WebSocket"), "{body}");
    let failed = client
        .health_check()
        .err()
        .context("health_check passes while down")?;
    ensure!(failed.level >= Level::Unhealthy, "{failed}");
    ensure!(
        failed.to_string().contains("no connected WebSocket"),
        "{failed}"
    );

    // /alerts lists the connection alert while it lasts ...
    let alerts_url = format!("{base}/alerts");
    poll(Duration::from_secs(10), "a connection alert", || async {
        let answer = get(&http, &alerts_url).await?;
        ensure!(answer.status == 200);
        Ok(has_connection_alert(&answer.json()?["active"]).then_some(()))
    })
    .await?;
    ensure!(
        client
            .active_alerts()
            .iter()
            .any(|a| a.cause == "connection_down"),
        "the facade lists it too"
    );

    // ... and the endpoint is healthy again after recovery, the alert resolved.
    let back = wait_status(
        &http,
        &format!("{base}/health"),
        200,
        Duration::from_secs(30),
    )
    .await?;
    ensure!(back.json()?["status"] == "ok");
    poll(
        Duration::from_secs(15),
        "the connection alert resolved",
        || async {
            let body = get(&http, &alerts_url).await?.json()?;
            let resolved =
                !has_connection_alert(&body["active"]) && has_connection_alert(&body["history"]);
            Ok(resolved.then_some(()))
        },
    )
    .await?;
    let stats = client.metrics().health;
    let conn = stats.connections.first().context("a connection")?;
    ensure!(
        conn.failures >= 1 && !conn.recoveries.is_empty(),
        "{conn:?}"
    );

    client.shutdown().await;
    ops.shutdown().await?;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_waits_for_every_stream() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    // ETHUSDT trades nothing until told to.
    sim.set_symbol_rate("ETHUSDT", 0.0)?;
    let client = client_for(&sim, |_| {})?;
    let ops = client.serve_ops(OpsConfig::default()).await?;
    let ready_url = format!("{}/health/ready", ops.base_url());
    let http = http()?;

    // Nothing subscribed: vacuously ready.
    ensure!(get(&http, &ready_url).await?.status == 200);
    let mut sub = client.subscribe(["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    next_event(&mut sub).await?;
    // BTCUSDT delivered, ETHUSDT has not: still 503, naming the stream.
    let waiting = poll(Duration::from_secs(10), "btcusdt counted", || async {
        let answer = get(&http, &ready_url).await?;
        let body = answer.json()?;
        let only_eth = body["waiting_streams"] == serde_json::json!(["ethusdt@aggTrade"]);
        Ok((answer.status == 503 && only_eth).then_some(body))
    })
    .await?;
    ensure!(
        waiting["ready"] == false && waiting["streams"] == 2,
        "{waiting}"
    );
    ensure!(!client.readiness().ready);

    sim.set_symbol_rate("ETHUSDT", 200.0)?;
    let ready = wait_status(&http, &ready_url, 200, Duration::from_secs(15)).await?;
    let body = ready.json()?;
    ensure!(body["ready"] == true && body["waiting"] == 0, "{body}");
    ensure!(client.readiness().ready);

    // After a reconnect every stream must deliver again: with ETHUSDT frozen,
    // not ready until it trades.
    sim.set_symbol_rate("ETHUSDT", 0.0)?;
    sim.drop_connections(DropKind::Reset);
    poll(
        Duration::from_secs(15),
        "not ready after the reconnect",
        || async {
            let answer = get(&http, &ready_url).await?;
            let body = answer.json()?;
            let eth = body["waiting_streams"] == serde_json::json!(["ethusdt@aggTrade"]);
            Ok((answer.status == 503 && eth).then_some(()))
        },
    )
    .await?;
    sim.set_symbol_rate("ETHUSDT", 200.0)?;
    wait_status(&http, &ready_url, 200, Duration::from_secs(15)).await?;

    client.shutdown().await;
    ops.shutdown().await?;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_methods_and_the_facade_calls() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let ops = client.serve_ops(OpsConfig::default()).await?;
    let base = ops.base_url();
    let http = http()?;
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    next_event(&mut sub).await?;

    let live = get(&http, &format!("{base}/health/live")).await?;
    ensure!(live.status == 200 && live.json()?["status"] == "live");
    let missing = get(&http, &format!("{base}/nope")).await?;
    ensure!(missing.status == 404, "{missing:?}");
    ensure!(
        missing.body.contains("/health/ready"),
        "the 404 lists the paths"
    );
    let post = http.post(format!("{base}/health")).send().await?;
    ensure!(
        post.status().as_u16() == 405,
        "POST /health: {}",
        post.status()
    );
    let alerts = get(&http, &format!("{base}/alerts")).await?.json()?;
    ensure!(alerts["active"].is_array() && alerts["history"].is_array());

    let report = client.system_health();
    ensure!(
        report
            .components
            .iter()
            .any(|c| c.name == "btcusdt@aggTrade")
    );
    ensure!(report.trends.is_some());
    let metrics = client.metrics();
    ensure!(metrics.health.streams[0].name == "btcusdt@aggTrade");
    ensure!(serde_json::to_value(&metrics)?["client"]["events_delivered"].is_u64());

    // A non-loopback address is refused unless exposure says otherwise.
    let remote = OpsConfig {
        bind: "0.0.0.0:0".parse()?,
        ..OpsConfig::default()
    };
    let refused = client.serve_ops(remote).await;
    ensure!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("loopback")),
        "{refused:?}"
    );

    client.shutdown().await;
    ops.shutdown().await?;
    sim.shutdown().await;
    Ok(())
}
