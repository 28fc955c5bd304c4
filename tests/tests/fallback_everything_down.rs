//! Issue 7, everything down: every WebSocket address resets its connections
//! and REST answers 503 → `last()` still serves each stream's cached value,
//! marked stale with its age; health is critical and an alert is raised.
//! Everything comes back → streams live again, trade ids continuous (the
//! outage's trades backfilled), the values fresh, health healthy again and
//! the alerts resolved.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use binance_sim::RestFault;
use chaos::Fault;
use crypto_exchange::domain::StreamName;
use crypto_exchange::fallback::StreamStatus;
use crypto_exchange::health::Level;
use e2e::fallback::{Exchange, subscribed, until, until_tracked};

const STREAMS: [&str; 3] = ["btcusdt@aggTrade", "btcusdt@bookTicker", "ethusdt@ticker"];

fn names() -> Result<Vec<StreamName>> {
    STREAMS
        .iter()
        .map(|s| s.parse().with_context(|| format!("stream {s}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_everything_down_last_values_are_stale_and_health_critical_until_recovery()
-> Result<()> {
    let exchange = Exchange::start(|_| {}).await?;
    let config = exchange.config(|c| {
        c.fallback.connection.failed_after = Duration::from_secs(1);
        // Stale after 3 × 200 ms: a short outage is enough to see it.
        c.fallback.cache.default_interval = Duration::from_millis(200);
        // The monitor's windows shortened to the test's scale (by default a
        // reconnect loop is remembered 5 minutes, errors 1 minute, and a
        // cleared condition resolves its alert after 10 s).
        c.health.flap_window = Duration::from_secs(2);
        c.health.error_rate_warning = 600.0;
        c.health.error_rate_degraded = 6000.0;
        c.health.alerts.clear_after = Duration::from_millis(500);
    });
    let (client, mut sub, _lifecycle, mut tracker) = subscribed(config, &STREAMS).await?;
    let names = names()?;
    until(&mut sub, &mut tracker, "a value for every stream", |_| {
        names.iter().all(|n| client.last(n).is_some())
    })
    .await?;
    until(&mut sub, &mut tracker, "health healthy", |_| {
        client.system_health().level == Level::Healthy
    })
    .await?;
    let before: Vec<_> = names.iter().filter_map(|n| client.last(n)).collect();
    ensure!(before.iter().all(|v| !v.stale), "fresh while live");

    // Everything goes down: both WebSocket addresses and REST.
    let faults = [
        exchange.primary.set_fault(Fault::Reset)?,
        exchange.secondary.set_fault(Fault::Reset)?,
    ];
    exchange
        .sim
        .set_rest_fault(RestFault::ServerError(503), None);
    until(
        &mut sub,
        &mut tracker,
        "health critical with an alert",
        |_| {
            let report = client.system_health();
            report.level == Level::Critical && !report.alerts.is_empty()
        },
    )
    .await?;
    until(&mut sub, &mut tracker, "every value stale", |_| {
        names
            .iter()
            .all(|n| client.last(n).is_some_and(|v| v.stale))
    })
    .await?;
    for name in &names {
        let last = client.last(name).context("a cached value")?;
        ensure!(
            last.age >= 3 * last.expected_interval,
            "{name}: stale at age {:?} (interval {:?})",
            last.age,
            last.expected_interval
        );
    }
    let statuses = client.stream_status();
    ensure!(
        statuses
            .iter()
            .all(|(_, s)| matches!(s, StreamStatus::Stale | StreamStatus::Unavailable)),
        "nothing is served: {statuses:?}"
    );
    let report = client.system_health();
    let alerts: Vec<_> = report.alerts.iter().map(|a| a.key.clone()).collect();
    eprintln!(
        "everything down: level {:?}, alerts {alerts:?}, reasons {:?}",
        report.level, report.reasons
    );
    ensure!(client.health_check().is_err(), "the health check fails");

    // Everything comes back.
    exchange.sim.clear_rest_fault();
    for fault in faults {
        exchange.primary.clear_fault(fault);
        exchange.secondary.clear_fault(fault);
    }
    until(&mut sub, &mut tracker, "every stream live", |_| {
        client
            .stream_status()
            .iter()
            .all(|(_, s)| *s == StreamStatus::Live)
    })
    .await?;
    let ids = tracker.ids.values().sum::<u64>();
    until_tracked(&mut sub, &mut tracker, |t| {
        t.ids.values().sum::<u64>() >= ids + 50
    })
    .await?;
    let mut last_report = None;
    let healthy = until(
        &mut sub,
        &mut tracker,
        "health healthy, alerts resolved",
        |_| {
            let report = client.system_health();
            let done = report.level == Level::Healthy && report.alerts.iter().all(|a| !a.active);
            last_report = Some(report);
            done
        },
    )
    .await;
    if let (Err(error), Some(report)) = (&healthy, &last_report) {
        let active: Vec<_> = report
            .alerts
            .iter()
            .filter(|a| a.active)
            .map(|a| &a.key)
            .collect();
        eprintln!(
            "{error}: level {:?}, active {active:?}, reasons {:?}",
            report.level, report.reasons
        );
    }
    healthy?;
    until(&mut sub, &mut tracker, "every value fresh", |_| {
        names
            .iter()
            .all(|n| client.last(n).is_some_and(|v| !v.stale))
    })
    .await?;
    ensure!(client.health_check().is_ok());
    eprintln!("events: {:?}", tracker.counts);
    client.shutdown().await;
    exchange.shutdown().await;
    Ok(())
}
