//! Issue 7, polling: every WebSocket address resets its connections while
//! REST answers → within `fallback.connection.failed_after` every stream is
//! served by REST polling (events `source: poll`), within the REST weight
//! budget (the simulator's own counters say so), trade ids continuing from
//! the last live one; the WebSocket comes back → live again, ids continuous,
//! nothing repeated.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use binance_sim::SimHandle;
use chaos::Fault;
use crypto_exchange::fallback::{ServiceLevel, StreamStatus};
use crypto_exchange::rest::BudgetConfig;
use crypto_exchange::{Lifecycle, Source};
use e2e::fallback::{Exchange, subscribed, until, until_signal, until_tracked};

const STREAMS: [&str; 7] = [
    "btcusdt@aggTrade",
    "ethusdt@aggTrade",
    "btcusdt@trade",
    "btcusdt@bookTicker",
    "ethusdt@ticker",
    "bnbbtc@kline_1m",
    "btcusdt@depth5",
];

/// The REST weight window of the simulator and the client: short, so that
/// a test sees many windows.
const WINDOW: Duration = Duration::from_secs(2);
/// The simulator's limit per window, which the client is told.
const LIMIT: u32 = 200;

fn sim_weight(sim: &SimHandle) -> u32 {
    sim.rest_stats()
        .weight_used_1m
        .values()
        .copied()
        .max()
        .unwrap_or(0)
}

fn all_polled(statuses: &[(crypto_exchange::domain::StreamName, StreamStatus)]) -> bool {
    statuses.len() == STREAMS.len() && statuses.iter().all(|(_, s)| *s == StreamStatus::Polled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_websockets_every_stream_is_polled_within_the_budget_then_live_again() -> Result<()>
{
    let exchange = Exchange::start(|c| {
        c.rest.weight_per_minute = LIMIT;
        c.rest.weight_window = WINDOW;
    })
    .await?;
    let failed_after = Duration::from_secs(2);
    let config = exchange.config(|c| {
        c.rest.budget = BudgetConfig {
            limit: LIMIT,
            window: WINDOW,
            ..BudgetConfig::default()
        };
        c.fallback.connection.failed_after = failed_after;
    });
    // The client's allowance (80 %) and polling's half of it, per window.
    let allowance = config.rest.budget.allowance();
    let poll_budget = config.fallback.poll_budget(&config.rest).polling_weight();
    let (client, mut sub, mut lifecycle, mut tracker) = subscribed(config, &STREAMS).await?;
    until_tracked(&mut sub, &mut tracker, |t| t.ids.len() == 3).await?;
    let live_before = tracker.last.clone();

    // Every WebSocket address goes down; REST still answers.
    let faults = [
        exchange.primary.set_fault(Fault::Reset)?,
        exchange.secondary.set_fault(Fault::Reset)?,
    ];
    let down_at = Instant::now();
    until(&mut sub, &mut tracker, "every stream polled", |_| {
        all_polled(&client.stream_status())
    })
    .await?;
    let polled_after = down_at.elapsed();
    eprintln!(
        "every stream polled {:.2} s after the WebSockets went down (failed_after {failed_after:?})",
        polled_after.as_secs_f64()
    );
    ensure!(
        polled_after < failed_after + Duration::from_millis(1500),
        "polling took {polled_after:?}"
    );
    ensure!(client.service_level() == ServiceLevel::Degraded);

    // The plan: the trade stream (25 a poll) is polled slower than normal,
    // and health says so.
    let polled = client.polled_streams();
    let slowed: Vec<String> = polled
        .iter()
        .filter(|p| p.slower_than_normal)
        .map(|p| p.stream.to_string())
        .collect();
    ensure!(slowed == ["btcusdt@trade"], "slowed: {slowed:?}");
    let planned: f64 = polled
        .iter()
        .map(|p| f64::from(p.weight) * WINDOW.as_secs_f64() / p.interval.as_secs_f64())
        .sum();
    ensure!(planned <= poll_budget + 1e-9, "planned {planned} of {poll_budget}");
    // The most one window can see if the polls line up: one extra poll each.
    let peak: u64 = polled
        .iter()
        .map(|p| u64::from(p.weight) * WINDOW.as_nanos().div_ceil(p.interval.as_nanos()) as u64)
        .sum();
    let reasons = client.system_health().reasons.join("; ");
    ensure!(
        reasons.contains("REST polling") && reasons.contains("slower than normal"),
        "{reasons}"
    );

    // Serve by polling for a few windows; every stream gets polled values.
    let polling_from = tracker.counts.clone();
    let mut max_window = 0;
    until(&mut sub, &mut tracker, "every stream delivered by polling", |t| {
        max_window = max_window.max(sim_weight(&exchange.sim));
        STREAMS.iter().all(|s| {
            let key = ((*s).to_owned(), "poll");
            let before = polling_from.get(&key).copied().unwrap_or(0);
            t.counts.get(&key).copied().unwrap_or(0) >= before + 2
        })
    })
    .await?;
    // Polling continued every trade stream from its last live id (the
    // tracker checks each id follows the previous one).
    for (stream, last) in &live_before {
        let now = tracker.last.get(stream).copied().unwrap_or(0);
        ensure!(now > *last, "{stream}: no polled trades after {last}");
    }
    let stats = client.stats();
    eprintln!(
        "polling: {} polls, {} events; REST weight per {WINDOW:?} window: at most {max_window} \
         (planned {planned:.1}, peak bound {peak}; polling budget {poll_budget}, client allowance \
         {allowance}, simulator limit {LIMIT})",
        stats.polls, stats.polled_events
    );
    ensure!(max_window <= u32::try_from(peak)?.max(1), "{max_window} above {peak}");
    ensure!(u64::from(max_window) <= u64::from(allowance));

    // The WebSockets come back: live again, no gap, no repeat.
    for fault in faults {
        exchange.primary.clear_fault(fault);
        exchange.secondary.clear_fault(fault);
    }
    until_signal(&mut sub, &mut lifecycle, &mut tracker, |l| {
        matches!(l, Lifecycle::PollingStopped { .. })
    })
    .await?;
    until(&mut sub, &mut tracker, "every stream live", |_| {
        client
            .stream_status()
            .iter()
            .all(|(_, s)| *s == StreamStatus::Live)
    })
    .await?;
    let live_from = tracker.of(Source::Live);
    until_tracked(&mut sub, &mut tracker, |t| t.of(Source::Live) >= live_from + 200).await?;
    ensure!(client.service_level() == ServiceLevel::Full);
    let rest = exchange.sim.rest_stats();
    ensure!(
        !rest.by_status.contains_key(&429) && !rest.by_status.contains_key(&418),
        "{:?}",
        rest.by_status
    );
    let reasons = client.system_health().reasons.join("; ");
    ensure!(!reasons.contains("REST polling"), "{reasons}");
    eprintln!("events: {:?}", tracker.counts);
    client.shutdown().await;
    exchange.shutdown().await;
    Ok(())
}
