//! Issue 7, endpoint failover: the primary stops accepting and resets its
//! connections → the client fails over to the secondary within its reconnect
//! schedule, streams continue with every trade id once; the primary recovers
//! and stays healthy → the client fails back make-before-break, again without
//! a missing or repeated id. The failover time is printed (the figures in
//! `docs/benchmarks.md` come from this test, run with `--nocapture`).

use std::time::Instant;

use anyhow::{Result, ensure};
use chaos::Fault;
use crypto_exchange::{Lifecycle, Source};
use e2e::fallback::{Exchange, until_signal, until_tracked, subscribed};

const STREAMS: [&str; 3] = ["btcusdt@aggTrade", "ethusdt@trade", "btcusdt@bookTicker"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_fails_over_and_back_without_a_gap_or_a_duplicate() -> Result<()> {
    let exchange = Exchange::start(|_| {}).await?;
    let (primary, secondary) = (exchange.primary_url(), exchange.secondary_url());
    let (client, mut sub, mut lifecycle, mut tracker) =
        subscribed(exchange.config(|_| {}), &STREAMS).await?;
    ensure!(client.best_endpoint() == Some(primary.clone()));
    until_tracked(&mut sub, &mut tracker, |t| t.ids.values().sum::<u64>() >= 50).await?;

    // The primary goes down hard: open connections reset, new ones too.
    let fault = exchange.primary.set_fault(Fault::Reset)?;
    let down_at = Instant::now();
    let mut delays = Vec::new();
    let mut switched_at = None;
    let mut connected = None;
    let mut failed_attempt_at = None;
    until_signal(&mut sub, &mut lifecycle, &mut tracker, |signal| {
        match signal {
            Lifecycle::Reconnecting { delay_ms, .. } => delays.push(*delay_ms),
            Lifecycle::Disconnected { .. } => failed_attempt_at = Some(Instant::now()),
            Lifecycle::EndpointSwitched { to, .. } if *to == secondary => {
                switched_at.get_or_insert_with(Instant::now);
            }
            Lifecycle::Connected { endpoint, .. } => connected = Some(endpoint.clone()),
            _ => {}
        }
        matches!(signal, Lifecycle::Subscribed { .. })
            && connected.as_deref() == Some(secondary.as_str())
    })
    .await?;
    let subscribed_at = Instant::now();
    let failover = subscribed_at - down_at;
    let from_decision = subscribed_at - failed_attempt_at.unwrap_or(down_at);
    eprintln!(
        "failover: {:.0} ms from the reset to Subscribed on the secondary; {:.0} ms from the \
         failed attempt that moved traffic; reconnect delays announced {delays:?} ms",
        failover.as_secs_f64() * 1e3,
        from_decision.as_secs_f64() * 1e3,
    );
    ensure!(switched_at.is_some(), "no switch to the secondary was signalled");
    // The schedule's first delays (100, 200 ms ±10 %) and handshakes on loopback.
    ensure!(
        delays.len() <= 3,
        "failed over within the schedule's first attempts: {delays:?}"
    );
    ensure!(client.endpoint_status().current == Some(1));
    let before = tracker.ids.values().sum::<u64>();
    until_tracked(&mut sub, &mut tracker, |t| {
        t.ids.values().sum::<u64>() >= before + 100
    })
    .await?;

    // The primary recovers and stays healthy: probes earn it the fail-back,
    // and the connection moves back make-before-break.
    exchange.primary.clear_fault(fault);
    let recovered_at = Instant::now();
    let mut failback_signalled = false;
    until_signal(&mut sub, &mut lifecycle, &mut tracker, |signal| {
        if matches!(signal, Lifecycle::EndpointSwitched { to, reason, .. } if *to == primary && reason == "failback")
        {
            failback_signalled = true;
        }
        matches!(signal, Lifecycle::Rotated { reason, .. } if reason == "endpoint_switch")
    })
    .await?;
    eprintln!(
        "failback: {:.1} s after the primary recovered (failback_after 2 s, probes every 300 ms)",
        recovered_at.elapsed().as_secs_f64()
    );
    ensure!(failback_signalled, "the fail-back was not signalled");
    ensure!(client.endpoint_status().current == Some(0));
    ensure!(client.best_endpoint() == Some(primary.clone()));
    let before = tracker.ids.values().sum::<u64>();
    until_tracked(&mut sub, &mut tracker, |t| {
        t.ids.values().sum::<u64>() >= before + 100
    })
    .await?;
    // Nothing was polled: a WebSocket endpoint was usable throughout.
    ensure!(tracker.of(Source::Poll) == 0, "{:?}", tracker.counts);
    ensure!(exchange.primary.counters().active >= 1, "serving on the primary");
    eprintln!("events: {:?}", tracker.counts);
    client.shutdown().await;
    exchange.shutdown().await;
    Ok(())
}
