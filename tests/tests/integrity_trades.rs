//! Issue 6, end to end: `aggTrade` ids survive a seeded schedule of faults exactly
//! once and in order.
//!
//! The simulator trades three symbols fast enough for more than 50,000 aggregate
//! trades to flow; a client subscribed to the three `aggTrade` streams is hit, at
//! seeded random moments, by several connection drops (close 1001 and TCP reset), a
//! stall (caught by the transport's silence timeout), a rotation (`serverShutdown`,
//! make-before-break) and a 1008 close (rate-limit backoff). Then the market is
//! frozen, the consumer catches up, and for every symbol the ids the consumer
//! received must be exactly the simulator's own history from the first id it saw to
//! the last one traded: ascending, no gap, no duplicate, every event equal to the
//! simulator's record. No `Gap` and no `Lagged` may occur, and the missed ids must
//! have come from REST (`Backfilled` notices that add up to the backfilled events).
//!
//! The seed comes from `INTEGRITY_SEED` (or is drawn at random); it is printed at the
//! start and in every failure message, so a failing run can be replayed:
//! `INTEGRITY_SEED=<seed> cargo test -p e2e --test integrity_trades`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use binance_sim::{DropKind, Sim, SimConfig, SimHandle};
use crypto_exchange::domain::Event;
use crypto_exchange::{Client, ClientConfig, Lifecycle, Source, Update};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The symbols traded, as the simulator lists them.
const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "BNBBTC"];
/// Market actions per second per symbol; about a fifth are takers, so the three
/// symbols trade a few thousand aggregate trades per second together.
const ACTIONS_PER_SEC: f64 = 4_000.0;
/// Aggregate trades the consumer must receive before the market is frozen.
const TARGET_EVENTS: usize = 50_000;
/// Faults fire at random moments in `FIRST_FAULT..LAST_FAULT` after the start.
const FIRST_FAULT: Duration = Duration::from_millis(1_500);
const LAST_FAULT: Duration = Duration::from_secs(14);
/// The longest any single condition may take to come true.
const WAIT: Duration = Duration::from_secs(20);
/// The longest the whole scenario may take before it fails.
const DEADLINE: Duration = Duration::from_secs(90);
/// How often conditions are polled.
const POLL: Duration = Duration::from_millis(20);

/// One fault of the schedule.
#[derive(Debug, Clone)]
enum Fault {
    /// Every stream connection is dropped this way.
    Drop(DropKind),
    /// The simulator sends nothing until the client declares the connection silent.
    Stall,
    /// The simulator announces `serverShutdown`; the client rotates make-before-break.
    Rotation,
    /// The simulator closes with 1008 (too many requests); the client backs off.
    PolicyClose,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Drop(DropKind::Close { code, .. }) => write!(f, "drop (close {code})"),
            Fault::Drop(DropKind::Reset) => write!(f, "drop (reset)"),
            Fault::Stall => write!(f, "stall"),
            Fault::Rotation => write!(f, "rotation (serverShutdown)"),
            Fault::PolicyClose => write!(f, "close 1008"),
        }
    }
}

/// The seeded schedule: every fault once, in a random order, at random moments.
fn schedule(rng: &mut ChaCha8Rng) -> Vec<(Duration, Fault)> {
    let going_away = || {
        Fault::Drop(DropKind::Close {
            code: 1001,
            reason: "going away".into(),
        })
    };
    let mut faults = vec![
        going_away(),
        Fault::Drop(DropKind::Reset),
        if rng.random_bool(0.5) {
            going_away()
        } else {
            Fault::Drop(DropKind::Reset)
        },
        Fault::Drop(DropKind::Reset),
        Fault::Stall,
        Fault::Rotation,
        Fault::PolicyClose,
    ];
    faults.shuffle(rng);
    let span = u64::try_from((LAST_FAULT - FIRST_FAULT).as_millis()).unwrap_or(10_000);
    let mut times: Vec<Duration> = (0..faults.len())
        .map(|_| FIRST_FAULT + Duration::from_millis(rng.random_range(0..=span)))
        .collect();
    times.sort();
    times.into_iter().zip(faults).collect()
}

/// One aggregate trade as the consumer received it.
#[derive(Debug, Clone, Copy)]
struct Received {
    id: u64,
    first_trade_id: u64,
    last_trade_id: u64,
    trade_time_ms: u64,
    buyer_is_maker: bool,
    source: Source,
}

/// Everything the consumer saw, by stream name (`btcusdt@aggTrade`).
#[derive(Debug, Default)]
struct Seen {
    events: HashMap<String, Vec<Received>>,
    /// `Backfilled` notices: how many, and the events they announce.
    backfilled: HashMap<String, (u64, u64)>,
    gaps: Vec<(String, u64, u64)>,
    lagged: u64,
    total: usize,
    /// Updates that were not aggregate trades (there must be none).
    other: Vec<String>,
}

/// Shared state between the consumer task and the test.
#[derive(Debug, Default)]
struct Shared {
    seen: Mutex<Seen>,
    lifecycle: Mutex<Vec<Lifecycle>>,
}

impl Shared {
    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lifecycle(&self) -> MutexGuard<'_, Vec<Lifecycle>> {
        self.lifecycle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The lifecycle signals from index `from` on.
    fn lifecycle_since(&self, from: usize) -> Vec<Lifecycle> {
        self.lifecycle().get(from..).unwrap_or_default().to_vec()
    }
}

/// Polls `condition` every [`POLL`] until it holds; fails after `limit`.
async fn until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !condition() {
        ensure!(start.elapsed() < limit, "{what}: not seen within {limit:?}");
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

/// The stream name of a symbol's aggregate trades.
fn stream_of(symbol: &str) -> String {
    format!("{}@aggTrade", symbol.to_lowercase())
}

/// A seed from `INTEGRITY_SEED`, or a random one.
fn seed() -> Result<u64> {
    match std::env::var("INTEGRITY_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .with_context(|| format!("INTEGRITY_SEED={text:?} is not a u64")),
        Err(_) => {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            Ok(hasher.finish())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agg_trade_ids_survive_a_seeded_fault_schedule_exactly_once_in_order() -> Result<()> {
    let seed = seed()?;
    eprintln!(
        "integrity seed: {seed} (replay: INTEGRITY_SEED={seed} cargo test -p e2e --test integrity_trades)"
    );
    match tokio::time::timeout(DEADLINE, scenario(seed)).await {
        Ok(Ok(report)) => {
            eprintln!("integrity seed {seed}: passed; {report}");
            Ok(())
        }
        Ok(Err(error)) => {
            bail!("integrity seed {seed} (replay with INTEGRITY_SEED={seed}): {error:#}")
        }
        Err(_) => bail!(
            "integrity seed {seed} (replay with INTEGRITY_SEED={seed}): the scenario took longer than {DEADLINE:?}"
        ),
    }
}

/// Runs the scenario; returns a one-line summary.
async fn scenario(seed: u64) -> Result<String> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut config = SimConfig {
        seed,
        retention: 200_000,
        ..SimConfig::default()
    };
    for spec in &mut config.symbols {
        spec.actions_per_sec = ACTIONS_PER_SEC;
    }
    let sim = Sim::start(config).await?;

    let mut client_config = ClientConfig::with_endpoints(sim.ws_url(), sim.rest_url());
    client_config.reconnect.initial_delay = Duration::from_millis(100);
    client_config.reconnect.max_delay = Duration::from_millis(800);
    client_config.reconnect.rate_limit_delay = Duration::from_millis(1_000);
    client_config.reconnect.rate_limit_max_delay = Duration::from_secs(2);
    client_config.reconnect.healthy_after = Duration::from_secs(1);
    client_config.transport.silence_timeout = Duration::from_millis(1_500);
    // A backfill delivers a burst; the consumer must never be dropped behind.
    client_config.subscriber_buffer = 1 << 17;
    let client = Client::new(client_config)?;

    let shared = Arc::new(Shared::default());
    let mut lifecycle = client.lifecycle();
    let recorder = {
        let shared = shared.clone();
        tokio::spawn(async move {
            while let Some(signal) = lifecycle.next().await {
                shared.lifecycle().push(signal);
            }
        })
    };
    let names: Vec<String> = SYMBOLS.iter().map(|s| stream_of(s)).collect();
    let mut sub = client.subscribe(&names)?;
    let consumer = {
        let shared = shared.clone();
        tokio::spawn(async move {
            while let Some(update) = sub.next().await {
                let mut seen = shared.seen();
                match update {
                    Update::Event(event) => {
                        let Event::AggTrade(trade) = &event.event else {
                            seen.other.push(format!("{event:?}"));
                            continue;
                        };
                        let received = Received {
                            id: trade.agg_trade_id,
                            first_trade_id: trade.first_trade_id,
                            last_trade_id: trade.last_trade_id,
                            trade_time_ms: trade.trade_time.value(),
                            buyer_is_maker: trade.buyer_is_maker,
                            source: event.source,
                        };
                        seen.events
                            .entry(event.stream.to_string())
                            .or_default()
                            .push(received);
                        seen.total += 1;
                    }
                    Update::Backfilled { stream, count } => {
                        let entry = seen.backfilled.entry(stream.to_string()).or_default();
                        entry.0 += 1;
                        entry.1 += count;
                    }
                    Update::Gap { stream, from, to } => {
                        seen.gaps.push((stream.to_string(), from, to));
                    }
                    Update::Lagged { missed } => seen.lagged += missed,
                    other => seen.other.push(format!("{other:?}")),
                }
            }
        })
    };

    // The faults, at their moments, each once a connection is there to hit.
    let plan = schedule(&mut rng);
    eprintln!(
        "integrity seed {seed}: schedule {}",
        plan.iter()
            .map(|(at, fault)| format!("{fault} at {:.1}s", at.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut fired = Vec::new();
    for (at, fault) in &plan {
        if let Some(wait) = at.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        until(WAIT, &format!("an open connection for the {fault}"), || {
            sim.connections()
                .iter()
                .any(|c| c.open && c.subscriptions == SYMBOLS.len())
        })
        .await?;
        let mark = shared.lifecycle().len();
        let before = shared.seen().total;
        let at = started.elapsed();
        fire(&sim, &shared, fault, mark).await?;
        fired.push(format!(
            "{fault} at {:.1}s after {before} events",
            at.as_secs_f64()
        ));
    }

    // Enough events, and every stream delivering live again after the last fault.
    until(DEADLINE, "the target number of events", || {
        shared.seen().total >= TARGET_EVENTS
    })
    .await
    .with_context(|| format!("faults: {fired:?}; lifecycle {:?}", shared.lifecycle()))?;
    let mark: BTreeMap<String, usize> = {
        let seen = shared.seen();
        names
            .iter()
            .map(|n| (n.clone(), seen.events.get(n).map_or(0, Vec::len)))
            .collect()
    };
    until(WAIT, "live events on every stream after the faults", || {
        let seen = shared.seen();
        mark.iter().all(|(name, &count)| {
            seen.events
                .get(name)
                .and_then(|events| events.get(count..))
                .is_some_and(|new| new.iter().any(|r| r.source == Source::Live))
        })
    })
    .await?;
    let traded_for = started.elapsed();

    // Freeze the market, then the consumer must reach each symbol's last id.
    for symbol in SYMBOLS {
        sim.set_symbol_rate(symbol, 0.0)?;
    }
    let last_ids: BTreeMap<String, u64> = SYMBOLS
        .iter()
        .map(|&symbol| {
            let last = sim.with_market(|m| {
                m.symbol(symbol)
                    .and_then(|s| s.agg_trades().last())
                    .map(|r| r.id)
            });
            last.map(|id| (stream_of(symbol), id))
                .with_context(|| format!("{symbol} has no aggregate trades"))
        })
        .collect::<Result<_>>()?;
    until(
        WAIT,
        "the consumer catching up to the frozen market",
        || {
            let seen = shared.seen();
            last_ids.iter().all(|(name, &last)| {
                seen.events
                    .get(name)
                    .and_then(|e| e.last())
                    .is_some_and(|r| r.id >= last)
            })
        },
    )
    .await
    .with_context(|| {
        let seen = shared.seen();
        let reached: BTreeMap<&String, Option<u64>> = names
            .iter()
            .map(|n| (n, seen.events.get(n).and_then(|e| e.last()).map(|r| r.id)))
            .collect();
        format!(
            "sim's last ids {last_ids:?}, consumer's {reached:?}, gaps {:?}, stats {:?}",
            seen.gaps,
            client.stats()
        )
    })?;
    // Anything still in flight (a duplicate, a late backfill) would show now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = client.stats();
    let rest = sim.rest_stats();
    client.shutdown().await;
    recorder.abort();
    let _ = consumer.await;

    let seen = std::mem::take(&mut *shared.seen());
    ensure!(
        seen.other.is_empty(),
        "updates that are not aggregate trades: {:?}",
        seen.other
    );
    ensure!(
        seen.gaps.is_empty(),
        "the client reported ids as lost: {:?}",
        seen.gaps
    );
    ensure!(
        seen.lagged == 0,
        "the consumer was dropped behind by {} events",
        seen.lagged
    );
    ensure!(seen.total >= TARGET_EVENTS, "only {} events", seen.total);
    let mut summary = Vec::new();
    for symbol in SYMBOLS {
        let name = stream_of(symbol);
        let events = seen
            .events
            .get(&name)
            .with_context(|| format!("no event on {name}"))?;
        let (first, last) = match (events.first(), last_ids.get(&name)) {
            (Some(first), Some(&last)) => (first.id, last),
            _ => bail!("{name}: nothing to compare"),
        };
        let history = sim.with_market(|m| {
            m.symbol(symbol).map(|s| {
                let count = usize::try_from(last - first + 1).unwrap_or(usize::MAX);
                s.agg_trades().from_id(first, count)
            })
        });
        let history = history.with_context(|| format!("{symbol} is not listed"))?;
        compare(&name, events, &history)?;
        let backfilled = events
            .iter()
            .filter(|r| r.source == Source::Backfill)
            .count();
        let (notices, announced) = seen.backfilled.get(&name).copied().unwrap_or_default();
        ensure!(
            notices > 0 && backfilled > 0,
            "{name}: no id was backfilled ({notices} Backfilled notices)"
        );
        ensure!(
            announced == u64::try_from(backfilled)?,
            "{name}: Backfilled notices announce {announced} events, {backfilled} came with source backfill"
        );
        summary.push(format!(
            "{name}: {} ids {first}..={last}, {backfilled} backfilled in {notices} backfills",
            events.len()
        ));
    }
    ensure!(
        !rest.by_status.contains_key(&429) && !rest.by_status.contains_key(&418) && rest.bans == 0,
        "the backfill exceeded the REST weight budget: {rest:?}"
    );
    ensure!(stats.rotations >= 1, "no rotation counted: {stats:?}");
    sim.shutdown().await;
    Ok(format!(
        "{} events in {:.1}s of trading ({:.1}s in all); faults: {}; {}; REST {} requests {:?}; client {} duplicates removed, {} rotations",
        seen.total,
        traded_for.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        fired.join(", "),
        summary.join("; "),
        rest.requests,
        rest.by_status,
        stats.duplicates_removed,
        stats.rotations,
    ))
}

/// Fires one fault and waits until the client has felt it.
async fn fire(sim: &SimHandle, shared: &Shared, fault: &Fault, mark: usize) -> Result<()> {
    let seen_since =
        |pred: &dyn Fn(&Lifecycle) -> bool| shared.lifecycle_since(mark).iter().any(pred);
    match fault {
        Fault::Drop(kind) => {
            let dropped = sim.drop_connections(kind.clone());
            ensure!(dropped > 0, "{fault}: no connection to drop");
            until(WAIT, &format!("a disconnect after the {fault}"), || {
                seen_since(&|l| matches!(l, Lifecycle::Disconnected { .. }))
            })
            .await
        }
        Fault::Stall => {
            sim.set_stalled(true);
            let silent = until(WAIT, "the stall detected as silence", || {
                seen_since(
                    &|l| matches!(l, Lifecycle::Disconnected { cause, .. } if cause == "silence"),
                )
            })
            .await;
            sim.set_stalled(false);
            silent
        }
        Fault::Rotation => {
            ensure!(
                sim.send_server_shutdown() > 0,
                "{fault}: no connection to notify"
            );
            until(WAIT, "a rotation after serverShutdown", || {
                seen_since(&|l| matches!(l, Lifecycle::Rotated { reason, .. } if reason == "server_shutdown"))
            })
            .await
        }
        Fault::PolicyClose => {
            let dropped = sim.drop_connections(DropKind::Close {
                code: 1008,
                reason: "Too many requests".into(),
            });
            ensure!(dropped > 0, "{fault}: no connection to close");
            until(WAIT, "a rate-limit backoff after the 1008 close", || {
                seen_since(&|l| {
                    matches!(
                        l,
                        Lifecycle::Reconnecting {
                            rate_limited: true,
                            ..
                        }
                    )
                })
            })
            .await
        }
    }
}

/// Checks that `events` are exactly `history`: same ids in the same order, and each
/// event equal to the simulator's record.
fn compare(
    name: &str,
    events: &[Received],
    history: &[binance_sim::market::AggTradeRecord],
) -> Result<()> {
    let mismatch = events.iter().zip(history).position(|(e, h)| {
        e.id != h.id
            || e.first_trade_id != h.first_trade_id
            || e.last_trade_id != h.last_trade_id
            || e.trade_time_ms != h.time
            || e.buyer_is_maker != h.buyer_maker
    });
    if let Some(at) = mismatch {
        let from = at.saturating_sub(3);
        let around: Vec<String> = events
            .iter()
            .skip(from)
            .take(8)
            .map(|e| format!("{}({:?})", e.id, e.source))
            .collect();
        let expected: Vec<u64> = history.iter().skip(from).take(8).map(|h| h.id).collect();
        bail!(
            "{name}: event {at} differs from the simulator's history: received {around:?}, history {expected:?}"
        );
    }
    ensure!(
        events.len() == history.len(),
        "{name}: received {} events, the simulator traded {} from the first one received ({:?}..={:?}); last received {:?}",
        events.len(),
        history.len(),
        history.first().map(|h| h.id),
        history.last().map(|h| h.id),
        events.last().map(|e| e.id),
    );
    Ok(())
}
