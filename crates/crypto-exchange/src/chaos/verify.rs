//! After the injection phase: recovery, the frozen market as truth, the book
//! and limit checks, the end-state expectations, and each scenario's
//! guarantees.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ::chaos::{BookCheck, Guarantees, ObservedLimits, StreamSpec};
use binance_sim::market::Side as SimSide;

use super::config::Timings;
use super::outcome::Expectation;
use super::scenario::Scenario;
use super::testbed::{BOOK, BOOK_STREAM, SYMBOLS, Testbed, agg_stream};
use super::watch::Watch;
use crate::Lifecycle;
use crate::domain::{Decimal, Level, Symbol};

/// How long delivered events may keep arriving after the catch-up (a late
/// duplicate would show in this window).
const SETTLE: Duration = Duration::from_millis(300);

/// Five minutes: the window of Binance's connection-attempt limit.
const ATTEMPT_WINDOW: Duration = Duration::from_secs(300);

impl Scenario {
    /// What the scenario holds the client to: the integrity contract
    /// (nothing lost, duplicated or out of order; no wrong book; Binance's
    /// limits respected), every fault recovered, each stream's next event at
    /// most `longest_fault + timings.recovery_bound` after a fault began; and
    /// for `rotation` and `slow-consumer`, where no stream should stop, at
    /// least 90 % availability.
    #[must_use]
    pub fn guarantees(self, timings: &Timings, longest_fault: Duration) -> Guarantees {
        let mut guarantees = Guarantees {
            max_mttr: Some(longest_fault + timings.recovery_bound),
            min_recovery_success: Some(1.0),
            ..Guarantees::default()
        };
        if matches!(self, Scenario::Rotation | Scenario::SlowConsumer) {
            guarantees.min_availability = Some(0.9);
        }
        guarantees
    }
}

/// Recovery, truth, checks. Appends to `expectations`.
pub(crate) async fn settle(
    scenario: Scenario,
    bed: &Testbed,
    watch: &Watch,
    timings: &Timings,
    last_clear: Instant,
    start_ids: &BTreeMap<&'static str, u64>,
    expectations: &mut Vec<Expectation>,
) {
    let back = watch.until(timings.recovery_bound, |o| o.all_delivered_since(last_clear)).await;
    expectations.push(Expectation::new(
        "every stream delivering again after the last fault",
        back,
        if back { "yes".to_owned() } else { format!("not within {:?}", timings.recovery_bound) },
    ));
    let book = bed.books.as_ref().and_then(|b| Symbol::new(BOOK).ok().and_then(|s| b.book(&s)));
    if let Some(book) = &book {
        let live = book.wait_live(timings.recovery_bound).await.is_ok();
        if !live {
            expectations.push(Expectation::new("the book live before the market is frozen", false, format!("{:?}", book.state())));
        }
    }
    let frozen = Instant::now();
    let caught_up = freeze_and_set_truth(bed, watch, timings, start_ids).await;
    expectations.push(Expectation::new(
        "the client delivered the frozen market's last ids",
        caught_up,
        if caught_up { "yes".to_owned() } else { format!("not within {:?}", timings.catch_up) },
    ));
    if let Some(book) = &book {
        expectations.push(check_book(bed, watch, book, timings.catch_up).await);
    }
    limits(bed, watch, frozen);
    end_state(scenario, bed, watch, expectations).await;
}

/// Freezes the market, waits (at most `timings.catch_up`) until the client
/// delivered every symbol's last `aggTrade` id, lets late deliveries land,
/// and gives the recorder the simulator's history as each stream's truth:
/// from the first id delivered (or the first traded after the start, when
/// none was) to the last. Whether the client caught up.
pub(crate) async fn freeze_and_set_truth(
    bed: &Testbed,
    watch: &Watch,
    timings: &Timings,
    start_ids: &BTreeMap<&'static str, u64>,
) -> bool {
    bed.freeze();
    let frozen = Instant::now();
    {
        // Silence is expected from now on: it is not an outage.
        let mut o = watch.lock();
        let quiet = StreamSpec::every(timings.catch_up + Duration::from_secs(5));
        let names: Vec<String> = o.streams.keys().cloned().collect();
        for name in names {
            let spec = if name.ends_with("@aggTrade") { quiet.contiguous() } else { quiet };
            o.recorder.declare_stream(&name, spec, frozen);
        }
    }
    let last_ids: BTreeMap<String, u64> = SYMBOLS
        .iter()
        .filter_map(|&s| bed.last_agg_id(s).map(|id| (agg_stream(s), id)))
        .collect();
    let caught_up = watch
        .until(timings.catch_up, |o| {
            last_ids.iter().all(|(name, last)| o.streams.get(name).and_then(|t| t.last).is_some_and(|id| id >= *last))
        })
        .await;
    tokio::time::sleep(SETTLE).await;
    for &symbol in &SYMBOLS {
        let name = agg_stream(symbol);
        let Some(&last) = last_ids.get(&name) else { continue };
        let first = watch
            .lock()
            .streams
            .get(&name)
            .and_then(|t| t.first)
            .unwrap_or_else(|| start_ids.get(symbol).copied().unwrap_or(0));
        let truth = bed.agg_ids(symbol, first, last);
        watch.lock().recorder.set_truth(&name, truth);
    }
    caught_up
}

/// Compares the client's book with the simulator's frozen one.
async fn check_book(bed: &Testbed, watch: &Watch, book: &crate::book::BookHandle, limit: Duration) -> Expectation {
    let (frozen, bids, asks) = bed.sim.with_market(|m| {
        m.symbol(BOOK).map_or((0, Vec::new(), Vec::new()), |s| {
            let side = |side| -> Vec<Level> {
                s.book()
                    .top(side, usize::MAX)
                    .into_iter()
                    .map(|(p, q)| Level::new(Decimal::new(p.0, 8), Decimal::new(q.0, 8)))
                    .collect()
            };
            (s.update_id(), side(SimSide::Bid), side(SimSide::Ask))
        })
    });
    let what = "the book equal to the simulator's at the end";
    if let Err(error) = book.wait_until(frozen, limit).await {
        return Expectation::new(what, false, error.to_string());
    }
    match book.top(usize::MAX) {
        Ok(local) => {
            let equal = local.update_id == frozen && local.bids == bids && local.asks == asks;
            let check = if equal { BookCheck::Consistent } else { BookCheck::Mismatch };
            watch.lock().recorder.on_book_check(BOOK_STREAM, check, Instant::now());
            Expectation::new(
                what,
                equal,
                format!(
                    "update {} vs {frozen}; {} / {} bid and ask levels vs {} / {}",
                    local.update_id,
                    local.bids.len(),
                    local.asks.len(),
                    bids.len(),
                    asks.len()
                ),
            )
        }
        Err(not_live) => Expectation::new(what, false, not_live.to_string()),
    }
}

/// What the simulator counted: frames per second per connection, connection
/// attempts (the run is shorter than five minutes, so all of them fall in
/// one window), and the REST weight the client saw in the exchange's header.
pub(crate) fn limits(bed: &Testbed, watch: &Watch, frozen: Instant) {
    let connections = bed.sim.connections();
    let frames = connections.iter().map(|c| c.max_frames_in_window).max();
    let attempts = bed.sim.handshakes().attempts;
    let mut o = watch.lock();
    let short = frozen.duration_since(o.recorder.start()) <= ATTEMPT_WINDOW;
    let weight = o.weight_max;
    o.recorder.on_limits(ObservedLimits {
        frames_per_sec_max: frames,
        connection_attempts_5min_max: short.then_some(attempts),
        rest_weight_1m_max: Some(weight),
    });
}

/// Expectations about the whole run.
async fn end_state(scenario: Scenario, bed: &Testbed, watch: &Watch, expectations: &mut Vec<Expectation>) {
    let lagged = watch.lock().lagged;
    expectations.push(Expectation::new(
        "the recording subscriber never lagged",
        lagged == 0,
        format!("{lagged} events missed"),
    ));
    match scenario {
        Scenario::Rotation => {
            let o = watch.lock();
            let since = o.recorder.start();
            let lifetime = o.count(since, |l| matches!(l, Lifecycle::Rotated { reason, .. } if reason == "lifetime"));
            let drops = o.count(since, |l| matches!(l, Lifecycle::Disconnected { .. }));
            drop(o);
            let expired = bed
                .sim
                .connections()
                .iter()
                .filter(|c| c.close.as_ref().is_some_and(|r| r.by_server && r.reason.contains("lifetime")))
                .count();
            expectations.push(Expectation::new("rotations before the connection lifetime ran out", lifetime > 0 && expired == 0, format!("{lifetime} lifetime rotations; {expired} connections closed by the server for their lifetime")));
            expectations.push(Expectation::new("no disconnect: every rotation make-before-break", drops == 0, format!("{drops} disconnects")));
        }
        Scenario::SlowConsumer => {
            let delivered = |o: &super::watch::Observed| {
                o.streams.iter().filter(|(n, _)| n.ends_with("@aggTrade")).map(|(_, t)| t.events).sum::<u64>()
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let done = {
                    let o = watch.lock();
                    o.slow.received + o.slow.missed >= delivered(&o)
                };
                if done || Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let o = watch.lock();
            let (slow, total) = (o.slow, delivered(&o));
            expectations.push(Expectation::new("the slow subscriber was told Lagged", slow.lag_notices > 0, format!("{} Lagged notices, {} events missed", slow.lag_notices, slow.missed)));
            expectations.push(Expectation::new(
                "every event accounted for: received + missed = delivered",
                slow.received + slow.missed == total,
                format!("{} received + {} missed vs {total} delivered to the other subscriber", slow.received, slow.missed),
            ));
        }
        _ => {}
    }
}
