//! Trade ids survive reconnects: missed ids are backfilled from REST and every id
//! is delivered exactly once, in order; what the exchange no longer keeps becomes
//! an explicit `Gap`.

mod client_common;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Result, bail, ensure};
use binance_sim::DropKind;
use client_common::{WAIT, client_for, sim_with, wait_for};
use crypto_exchange::domain::Event;
use crypto_exchange::{Lifecycle, Source, Update};
use tokio::time::timeout;

/// The id of a trade event.
fn trade_id(event: &Event) -> Option<u64> {
    match event {
        Event::AggTrade(a) => Some(a.agg_trade_id),
        Event::Trade(t) => Some(t.trade_id),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_missed_during_reconnects_are_backfilled_exactly_once() -> Result<()> {
    let sim = sim_with(|c| {
        for s in &mut c.symbols {
            s.actions_per_sec = 1_000.0;
        }
    })
    .await?;
    let client = client_for(&sim, |_| {})?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade", "ethusdt@trade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    let mut last: HashMap<String, u64> = HashMap::new();
    let mut backfilled_events = 0;
    let mut backfills = 0;
    let mut drops = 0;
    let mut received = 0;
    while received < 6_000 || backfills < 2 {
        ensure!(received < 200_000, "no backfill seen in {received} events");
        let update = timeout(WAIT, sub.next()).await?;
        match update {
            Some(Update::Event(event)) => {
                let Some(id) = trade_id(&event.event) else {
                    continue;
                };
                let stream = event.stream.to_string();
                if let Some(&prev) = last.get(&stream) {
                    ensure!(
                        id == prev + 1,
                        "{stream}: {id} after {prev} (source {:?})",
                        event.source
                    );
                }
                last.insert(stream, id);
                if event.source == Source::Backfill {
                    backfilled_events += 1;
                }
                received += 1;
                // Drop the connection now and then, mid-stream.
                if received % 1_500 == 0 && drops < 3 {
                    drops += 1;
                    let how = if drops == 2 {
                        DropKind::Reset
                    } else {
                        DropKind::Close {
                            code: 1001,
                            reason: "going away".into(),
                        }
                    };
                    sim.drop_connections(how);
                }
            }
            Some(Update::Backfilled { count, .. }) => {
                backfills += 1;
                ensure!(count > 0);
            }
            Some(Update::Gap { stream, from, to }) => {
                bail!("unexpected gap on {stream}: {from}..={to}")
            }
            other => bail!("unexpected {other:?}"),
        }
    }
    ensure!(backfilled_events > 0 && backfills >= 2);
    ensure!(client.stats().backfilled_events >= backfilled_events);
    // Nothing was lost: the sim never had to throttle the backfill either.
    ensure!(!sim.rest_stats().by_status.contains_key(&429));
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_older_than_the_exchange_keeps_become_an_explicit_gap() -> Result<()> {
    let sim = sim_with(|c| {
        c.retention = 1_000;
        c.warmup_actions = 2_000;
        for s in &mut c.symbols {
            s.actions_per_sec = 4_000.0;
        }
    })
    .await?;
    let client = client_for(&sim, |c| {
        c.breaker.open_duration = Duration::from_millis(500);
    })?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    // Some ids delivered first, so that the client knows where it stands.
    let mut expected: Option<u64> = None;
    while expected.is_none() {
        if let Some(Update::Event(event)) = timeout(WAIT, sub.next()).await? {
            expected = trade_id(&event.event).map(|id| id + 1);
        }
    }
    // An outage long enough for the sim to trade more than it keeps.
    sim.refuse_connections(Duration::from_secs(3));
    sim.drop_connections(DropKind::Reset);
    let mut gap = None;
    let mut backfilled = 0;
    for _ in 0..100_000 {
        match timeout(WAIT, sub.next()).await? {
            Some(Update::Event(event)) => {
                let Some(id) = trade_id(&event.event) else {
                    continue;
                };
                ensure!(
                    expected.is_none_or(|e| id == e),
                    "{id}, expected {expected:?} (gap {gap:?})"
                );
                expected = Some(id + 1);
                if gap.is_some() && event.source == Source::Live {
                    break;
                }
            }
            Some(Update::Gap { from, to, .. }) => {
                ensure!(
                    expected == Some(from),
                    "the gap starts right after the last id delivered"
                );
                ensure!(to >= from);
                expected = Some(to + 1);
                gap = Some((from, to));
            }
            Some(Update::Backfilled { count, .. }) => backfilled += count,
            other => bail!("unexpected {other:?}"),
        }
    }
    ensure!(
        gap.is_some(),
        "no gap reported; {backfilled} backfilled, stats {:?}",
        client.stats()
    );
    ensure!(client.stats().lost_ids > 0);
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_values_are_refreshed_from_rest_after_a_reconnect() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let mut lifecycle = client.lifecycle();
    let streams = [
        "btcusdt@ticker",
        "btcusdt@miniTicker",
        "btcusdt@ticker_1h",
        "btcusdt@bookTicker",
        "btcusdt@kline_1m",
        "btcusdt@avgPrice",
    ];
    let mut sub = client.subscribe(streams)?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    // No refresh on the first connection: everything is live.
    let mut live = std::collections::HashSet::new();
    while live.len() < streams.len() {
        if let Some(Update::Event(event)) = timeout(WAIT, sub.next()).await? {
            ensure!(event.source == Source::Live, "{event:?}");
            live.insert(event.stream.to_string());
        }
    }
    sim.drop_connections(DropKind::Reset);
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    let mut refreshed = std::collections::HashSet::new();
    while refreshed.len() < streams.len() {
        if let Some(Update::Event(event)) = timeout(WAIT, sub.next()).await?
            && event.source == Source::Refresh
        {
            if let Event::BookTicker(book) = &event.event {
                ensure!(book.best_bid_price < book.best_ask_price, "{book:?}");
            }
            refreshed.insert(event.stream.to_string());
        }
    }
    // The driver counts a value right after handing it over: allow it that moment.
    let deadline = tokio::time::Instant::now() + WAIT;
    while client.stats().refreshed_values < 6 {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            client.stats()
        );
        tokio::task::yield_now().await;
    }
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
