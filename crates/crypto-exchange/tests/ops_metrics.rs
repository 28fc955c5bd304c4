//! `/metrics` of a client's ops endpoint against `binance-sim`: every metric
//! of docs/metrics.md is exposed after traffic, with sane values.
//!
//! One test in this binary: the Prometheus recorder is process-global, so a
//! second client in the same process would add to the same series.

mod client_common;
mod ops_common;

use std::time::Duration;

use anyhow::{Result, ensure};
use binance_sim::DropKind;
use client_common::{client_for, next_event, sim_with, wait_for};
use crypto_exchange::domain::Symbol;
use crypto_exchange::{Lifecycle, OpsConfig};
use ops_common::{Exposition, documented_metrics, get, http, poll};

const STREAMS: [&str; 3] = [
    "btcusdt@aggTrade",
    "btcusdt@depth@100ms",
    "ethusdt@bookTicker",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_metric_is_exposed_with_sane_values() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let ops = client.serve_ops(OpsConfig::default()).await?;
    ensure!(ops.local_addr().ip().is_loopback(), "loopback by default");
    let metrics_url = format!("{}/metrics", ops.base_url());
    let http = http()?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(STREAMS)?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { streams: 3, .. })
    })
    .await?;
    next_event(&mut sub).await?;

    // Traffic for the rarer metrics: a REST call (weight), a dropped
    // connection (a reconnect and its recovery time).
    client.rest().depth(&Symbol::new("BTCUSDT")?, 100).await?;
    sim.drop_connections(DropKind::Reset);
    wait_for(&mut lifecycle, |l| matches!(l, Lifecycle::Connected { .. })).await?;

    let p = "crypto_exchange";
    let exposition = poll(Duration::from_secs(20), "metrics after traffic", || {
        let http = http.clone();
        let url = metrics_url.clone();
        async move {
            let answer = get(&http, &url).await?;
            ensure!(answer.status == 200, "status {}", answer.status);
            let e = Exposition::parse(&answer.body)?;
            let flowed = STREAMS.iter().all(|s| {
                e.value(&format!("{p}_messages_total"), &[("stream", s)])
                    .is_ok_and(|v| v > 0.0)
            });
            let recovered = e
                .value(&format!("{p}_reconnect_duration_seconds_count"), &[])
                .is_ok_and(|v| v >= 1.0);
            let ready = e.value(&format!("{p}_ready"), &[]).is_ok_and(|v| v == 1.0);
            let rest = e
                .value(&format!("{p}_rest_weight_used"), &[])
                .is_ok_and(|v| v > 0.0);
            Ok((flowed && recovered && ready && rest).then_some(e))
        }
    })
    .await?;

    // Every documented metric is there, with its documented type.
    let documented = documented_metrics()?;
    ensure!(
        documented.len() >= 20,
        "docs/metrics.md lists {documented:?}"
    );
    for (name, kind) in &documented {
        let exposed = exposition.types.get(name);
        ensure!(
            exposed == Some(kind),
            "{name}: documented as {kind}, exposed as {exposed:?}"
        );
        let series = if kind == "histogram" {
            format!("{name}_count")
        } else {
            name.clone()
        };
        ensure!(
            exposition.find(&series, &[]).next().is_some(),
            "{name}: no sample"
        );
    }

    // Sane values.
    let value =
        |name: &str, labels: &[(&str, &str)]| exposition.value(&format!("{p}_{name}"), labels);
    for stream in STREAMS {
        let messages = value("messages_total", &[("stream", stream)])?;
        let bytes = value("message_bytes_total", &[("stream", stream)])?;
        ensure!(
            bytes > messages * 20.0,
            "{stream}: {bytes} bytes for {messages} messages"
        );
        let age = value("stream_last_message_age_seconds", &[("stream", stream)])?;
        ensure!(
            (0.0..60.0).contains(&age),
            "{stream}: last message {age} s ago"
        );
    }
    ensure!(value("connections", &[("state", "connected")])? >= 1.0);
    ensure!(value("connection_up", &[("connection", "conn-1")])? == 1.0);
    ensure!(value("event_latency_seconds_count", &[])? >= 1.0);
    let latency_sum = value("event_latency_seconds_sum", &[])?;
    ensure!(
        (0.0..60.0).contains(&latency_sum),
        "latency sum {latency_sum}"
    );
    ensure!(value("reconnects_total", &[("cause", "reset")])? >= 1.0);
    for (cause, count) in exposition
        .find(&format!("{p}_reconnects_total"), &[])
        .map(|s| (s.labels.get("cause"), s.value))
    {
        ensure!(count >= 0.0 && count.fract() == 0.0, "{cause:?}: {count}");
    }
    ensure!(value("rest_weight_limit", &[])? == 6000.0);
    ensure!(value("rest_banned", &[])? == 0.0);
    ensure!(value("rest_ban_remaining_seconds", &[])? == 0.0);
    ensure!(value("rest_bans_total", &[])? == 0.0);
    let level = value("health_level", &[])?;
    ensure!(
        (0.0..=4.0).contains(&level) && level.fract() == 0.0,
        "level {level}"
    );
    ensure!(level < 3.0, "healthy enough after recovery: level {level}");
    let components: f64 = exposition
        .find(&format!("{p}_components"), &[])
        .map(|s| s.value)
        .sum();
    ensure!(components >= 4.0, "components: {components}");
    let breakers: Vec<f64> = exposition
        .find(&format!("{p}_breaker_state"), &[])
        .map(|s| s.value)
        .collect();
    ensure!(
        !breakers.is_empty() && breakers.iter().all(|v| (0.0..=4.0).contains(v)),
        "breakers {breakers:?}"
    );
    for kind in ["connection", "performance", "system", "recovery"] {
        ensure!(value("alerts_active", &[("kind", kind)])? >= 0.0);
        ensure!(value("alerts_raised_total", &[("kind", kind)])? >= 0.0);
    }
    ensure!(value("subscriber_lagged_events_total", &[])? >= 0.0);
    ensure!(value("gaps_total", &[])? >= 0.0);
    for outcome in ["recovered", "resynced", "lost"] {
        ensure!(value("backfills_total", &[("outcome", outcome)])? >= 0.0);
    }
    // The upkeep runs: histogram buckets are cumulative and end at +Inf = count.
    let count = value("event_latency_seconds_count", &[])?;
    let inf = value("event_latency_seconds_bucket", &[("le", "+Inf")])?;
    ensure!(inf == count, "+Inf bucket {inf} != count {count}");

    // The facade's snapshot agrees.
    let snapshot = client.metrics();
    ensure!(snapshot.client.events_delivered > 0);
    ensure!(snapshot.health.totals.messages > 0);
    ensure!(snapshot.health.streams.len() == 3);

    client.shutdown().await;
    ops.shutdown().await?;
    sim.shutdown().await;
    Ok(())
}
