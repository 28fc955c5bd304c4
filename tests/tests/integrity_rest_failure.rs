//! Issue 6, bad input end to end: REST fails (HTTP 500 on every call) while the
//! client backfills the ids a reconnect missed. The documented rule: the
//! backfill asks the failing host again (each time with the client's own
//! retries) until the host's circuit breaker opens for longer than the
//! backfill's patience; then the missed range is reported lost with one
//! `Update::Gap { from, to }`, and the live stream goes on right after it.
//!
//! Known issue (`docs/data-integrity.md`): today the driver leaves the stream's
//! high-water mark below a range it reported lost, so the released live events
//! skip it again and the same range is backfilled again, and again: the
//! subscriber gets the same `Gap` thousands of times and no live event until the
//! held events overflow. While `LOST_TAIL_FIXED` is false this test asserts that
//! signature (so the fix fails it; turn the constant on with the fix).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use binance_sim::{DropKind, RestFault, Sim, SimConfig};
use crypto_exchange::domain::Event;
use crypto_exchange::{Client, ClientConfig, Lifecycle, Source, Update};
use tokio::time::timeout;

/// See the module documentation and `crates/crypto-exchange/src/client/driver/merge_props.rs`.
const LOST_TAIL_FIXED: bool = true;
/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(15);
/// How long the stream is watched after the first `Gap`.
const WATCH: Duration = Duration::from_secs(2);
/// Live events after the `Gap` that show the stream went on.
const GOING_ON: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_failing_during_a_backfill_is_one_gap_and_the_stream_goes_on() -> Result<()> {
    let mut config = SimConfig::default();
    config.symbols.truncate(1);
    config.symbols[0].actions_per_sec = 2_000.0;
    let sim = Sim::start(config).await?;
    let mut client_config = ClientConfig::with_endpoints(sim.ws_url(), sim.rest_url());
    client_config.reconnect.initial_delay = Duration::from_millis(100);
    client_config.reconnect.max_delay = Duration::from_millis(800);
    client_config.rest.retry_backoff = Duration::from_millis(20);
    // While the backfill asks the failing host (until its breaker opens) the
    // stream's live events are held, at 2,000 a second; released at once
    // after the gap, they must fit the subscriber's buffer, or the test would
    // see an (exact, explicit) `Lagged` instead of the ids it checks.
    client_config.subscriber_buffer = 1 << 15;
    let max_retries = u64::from(client_config.rest.max_retries);
    // Failed calls (after retries) that open the REST host's breaker, which
    // then stays open (30 s) beyond the backfill's patience.
    let to_open = u64::from(
        client_config
            .rest
            .breaker
            .consecutive_failures
            .context("the default breaker counts consecutive failures")?,
    );
    let client = Client::new(client_config)?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    timeout(WAIT, async {
        while !matches!(
            lifecycle.next().await,
            Some(Lifecycle::Subscribed { .. }) | None
        ) {}
    })
    .await
    .context("never subscribed")?;

    // Some live ids first, so the client knows where it stands.
    let mut last = None;
    while last.is_none_or(|(count, _)| count < 200) {
        if let Some(Update::Event(event)) = timeout(WAIT, sub.next()).await? {
            let id = agg_id(&event.event).context("not an aggTrade")?;
            last = Some((last.map_or(0, |(count, _)| count) + 1, id));
        }
    }
    let (_, mut last_live) = last.context("no live id")?;

    sim.set_rest_fault(RestFault::ServerError(500), None);
    ensure!(
        sim.drop_connections(DropKind::Reset) > 0,
        "no connection to drop"
    );

    // Watch: gaps, and the live ids after the first one.
    let mut gaps: Vec<(u64, u64)> = Vec::new();
    let mut after: Vec<u64> = Vec::new();
    let mut first_gap_at = None;
    let started = Instant::now();
    loop {
        ensure!(
            started.elapsed() < WAIT * 2,
            "no gap reported: {:?}",
            client.stats()
        );
        if first_gap_at.is_some_and(|at: Instant| at.elapsed() > WATCH) || after.len() >= GOING_ON {
            break;
        }
        let update = match timeout(Duration::from_millis(100), sub.next()).await {
            Ok(Some(update)) => update,
            Ok(None) => bail!("the subscription ended"),
            Err(_) => continue,
        };
        match update {
            Update::Gap { from, to, .. } => {
                first_gap_at.get_or_insert_with(Instant::now);
                gaps.push((from, to));
            }
            Update::Event(event) if gaps.is_empty() => {
                // Delivered before the drop, still in the subscription's buffer.
                last_live = agg_id(&event.event).context("not an aggTrade")?;
            }
            Update::Event(event) => {
                ensure!(
                    event.source == Source::Live,
                    "an event from REST while REST fails"
                );
                after.push(agg_id(&event.event).context("not an aggTrade")?);
            }
            Update::Lagged { missed } => bail!("lagged by {missed}"),
            _ => {}
        }
    }
    let stats = client.stats();
    let rest = sim.rest_stats();
    client.shutdown().await;
    sim.shutdown().await;

    let (from, to) = *gaps.first().context("no gap")?;
    ensure!(
        from == last_live + 1 && to >= from,
        "the gap {from}..={to} does not start after the last live id {last_live}"
    );
    let distinct: BTreeSet<(u64, u64)> = gaps.iter().copied().collect();
    if LOST_TAIL_FIXED {
        ensure!(
            gaps.len() == 1,
            "the range was reported lost {} times",
            gaps.len()
        );
        ensure!(
            after.first() == Some(&(to + 1)),
            "the live stream does not go on right after the gap: {:?}",
            after.first()
        );
        ensure!(
            after.windows(2).all(|w| w[1] == w[0] + 1),
            "live ids after the gap are not contiguous"
        );
        ensure!(
            after.len() >= GOING_ON,
            "only {} live events after the gap",
            after.len()
        );
        ensure!(
            stats.lost_ids == to - from + 1,
            "lost_ids {} for a gap of {}",
            stats.lost_ids,
            to - from + 1
        );
        ensure!(
            rest.requests <= to_open * (1 + max_retries),
            "{} REST calls for one failing backfill (at most {} until the breaker opens)",
            rest.requests,
            to_open * (1 + max_retries)
        );
    } else {
        // The known issue, still there: the same range again and again, and the
        // live stream held back behind it.
        ensure!(
            distinct.len() == 1 && gaps.len() > 10 && after.len() < GOING_ON,
            "the known issue is gone ({} gaps, {} distinct, {} live events after): turn LOST_TAIL_FIXED on",
            gaps.len(),
            distinct.len(),
            after.len()
        );
        eprintln!(
            "known issue: {from}..={to} reported lost {} times in {WATCH:?}; {} live events after it; lost_ids {}; REST calls {}",
            gaps.len(),
            after.len(),
            stats.lost_ids,
            rest.requests
        );
    }
    Ok(())
}

fn agg_id(event: &Event) -> Option<u64> {
    match event {
        Event::AggTrade(trade) => Some(trade.agg_trade_id),
        _ => None,
    }
}
