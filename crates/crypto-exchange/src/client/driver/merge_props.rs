//! Property tests of the merge of backfilled and live trade ids (issue 6).
//!
//! The merge lives in the driver (`backfill.rs` on top of `routes.rs`): a live
//! event that skips ids holds the stream back and starts a backfill; backfilled
//! pages are delivered through the stream's high-water mark; when the backfill is
//! done, the held live events are offered again. These tests drive the real
//! driver code (`Driver::offer`, `Driver::on_backfill`, the routes underneath)
//! without a connection: live events come from the production decoder, and a
//! scripted [`Backfill`] serves pages exactly when the generated interleaving says
//! so, arbitrarily split, overlapping, repeated, with ids below the range and ids
//! past it, and with holes the exchange no longer has.
//!
//! What must hold for every scenario: the subscriber receives ids strictly
//! ascending (so never twice); every id from the first one delivered to the
//! highest one seen live is either delivered or inside exactly one `Gap`
//! notice; a `Gap` only ever covers ids the exchange does not have; and the
//! backfills end: no range is requested twice, and everything held is released.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use proptest::prelude::*;
use reconnect::AttemptBudget;
use tokio::sync::{broadcast, mpsc};

use super::decode::{Backfill, BackfillMsg, Decode, Incoming, Span};
use super::{Command, Delivery, Driver, DriverSpec};
use crate::client::live::{LiveDecoder, Source, StreamEvent};
use crate::client::stats::Counters;
use crate::client::test_support::{Memory, agg_id, agg_trade, config, endpoints};
use crate::domain::StreamName;

/// The first id of every scenario (Binance-sized).
const BASE: u64 = 2_000_000_000;
/// The subscriber id.
const SINK: u64 = 1;
/// Known issue (`docs/data-integrity.md`): when a backfill ends short of its
/// range (the exchange lacks its last ids, or REST fails for good), the driver
/// reports the rest lost with a `Gap` but leaves the stream's high-water mark
/// below it; the released live events then skip the same ids again, so the same
/// range is backfilled again, and again, each time with a new `Gap`, until the
/// held events overflow.
///
/// While this is false, `lost_at_the_end_of_the_range_*` asserts that the issue
/// is still there (fixing it fails that test: turn this on then), and the
/// property test gives every range its last ids. With it on, both demand the
/// documented behaviour: one `Gap`, no second backfill.
const LOST_TAIL_FIXED: bool = true;

type Msg = BackfillMsg<StreamName, StreamEvent>;

/// One backfill the driver asked for.
#[derive(Debug)]
struct Request {
    from: u64,
    to: u64,
    out: mpsc::UnboundedSender<Msg>,
}

/// A [`Backfill`] that only records what it is asked; the test answers.
#[derive(Debug, Default)]
struct Scripted {
    requests: Mutex<VecDeque<Request>>,
}

impl Scripted {
    fn take(&self) -> Option<Request> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

impl Backfill<StreamName, StreamEvent> for Scripted {
    fn supports(&self, _: &StreamName) -> bool {
        true
    }

    fn start(&self, _: StreamName, from: u64, to: u64, out: mpsc::UnboundedSender<Msg>) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(Request { from, to, out });
    }
}

/// One driver, not connected, with a scripted backfill and one subscriber.
struct Merge {
    driver: Driver<Memory, LiveDecoder>,
    backfill: Arc<Scripted>,
    decoder: LiveDecoder,
    stream: StreamName,
    events: crate::client::sink::Receiver<Delivery<StreamName, StreamEvent>>,
    counters: Arc<Counters>,
    _commands: mpsc::UnboundedSender<Command<StreamName, StreamEvent>>,
}

impl Merge {
    fn new() -> Result<Self> {
        let config = config(|_| {});
        let (connector, _acceptor) = Memory::new(&config.transport)?;
        let backfill = Arc::new(Scripted::default());
        let counters = Arc::new(Counters::default());
        let spec = DriverSpec {
            id: 1,
            endpoints: endpoints(&config)?,
            budget: AttemptBudget::new(config.attempt_budget.clone())?,
            config: Arc::new(config),
            connector,
            lifecycle: broadcast::channel(16).0,
            counters: Arc::clone(&counters),
            decoder: LiveDecoder::new(),
            seed: 7,
            backfill: Some(backfill.clone()),
            refresh: None,
            poll: None,
            degrade: None,
            health: None,
        };
        let (commands, rx) = mpsc::unbounded_channel();
        let mut driver = Driver::new(spec, rx);
        let stream: StreamName = "btcusdt@aggTrade".parse()?;
        let (sender, events) = crate::client::sink::channel(1 << 16);
        driver.routes.add(&stream, SINK, sender);
        Ok(Merge {
            driver,
            backfill,
            decoder: LiveDecoder::new(),
            stream,
            events,
            counters,
            _commands: commands,
        })
    }

    /// An `aggTrade` event with id `id`, as the production decoder makes it.
    fn event(&mut self, id: u64, source: Source) -> Result<StreamEvent> {
        match self.decoder.decode(&agg_trade("btcusdt", id)) {
            Incoming::Event { mut event, .. } => {
                event.source = source;
                Ok(event)
            }
            other => bail!("the test frame did not decode as an event: {other:?}"),
        }
    }

    /// A live event arrives.
    fn live(&mut self, id: u64) -> Result<()> {
        let event = self.event(id, Source::Live)?;
        self.driver.offer(self.stream.clone(), event);
        Ok(())
    }

    /// A backfill message, built from ids, with its events in the order given.
    fn message(&mut self, ids: &[u64], lost: Option<(u64, u64)>, done: bool) -> Result<Msg> {
        let mut events = Vec::with_capacity(ids.len());
        for &id in ids {
            let span = Span {
                first: id,
                last: id,
                contiguous: true,
            };
            events.push((Some(span), self.event(id, Source::Backfill)?));
        }
        Ok(BackfillMsg {
            stream: self.stream.clone(),
            events,
            lost,
            done,
        })
    }

    /// Sends a message on a backfill's channel and lets the driver handle it the
    /// way its loop does (through the tagging task the driver spawned).
    async fn answer(&mut self, out: &mpsc::UnboundedSender<Msg>, msg: Msg) -> Result<()> {
        out.send(msg)
            .ok()
            .context("the driver dropped the backfill")?;
        let (id, msg) =
            tokio::time::timeout(Duration::from_secs(5), self.driver.backfill_rx.recv())
                .await
                .context("the backfill message never reached the driver")?
                .context("the driver's backfill channel closed")?;
        self.driver.on_backfill(id, msg);
        Ok(())
    }

    /// Everything delivered so far.
    fn delivered(&mut self) -> Result<Vec<Delivery<StreamName, StreamEvent>>> {
        let mut all = Vec::new();
        // What the driver's loop does at the end of each burst.
        self.driver.routes.flush();
        loop {
            match self.events.try_recv() {
                Some(crate::client::sink::Recv::Item(delivery)) => all.push(delivery),
                None => return Ok(all),
                Some(crate::client::sink::Recv::Lagged(missed)) => {
                    bail!("subscriber channel: lagged, {missed} missed")
                }
            }
        }
    }

    fn held(&self) -> bool {
        self.driver.routes.is_held(&self.stream)
    }
}

/// What the subscriber saw, split up.
#[derive(Debug, Default)]
struct Outcome {
    /// Event ids in delivery order, with their source.
    ids: Vec<(u64, Source)>,
    /// Gap notices, in order.
    gaps: Vec<(u64, u64)>,
    /// Backfilled notices' counts, in order.
    backfilled: Vec<u64>,
    /// The client's counters: ids reported lost, events backfilled.
    lost_ids: u64,
    backfilled_events: u64,
}

fn split(deliveries: Vec<Delivery<StreamName, StreamEvent>>) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    for delivery in deliveries {
        match delivery {
            Delivery::Event(event) => {
                let id = agg_id(&event).context("a delivered event is not an aggTrade")?;
                outcome.ids.push((id, event.source));
            }
            Delivery::Gap { from, to, .. } => outcome.gaps.push((from, to)),
            Delivery::Backfilled { count, .. } => outcome.backfilled.push(count),
        }
    }
    Ok(outcome)
}

/// How one page of a backfill is cut.
#[derive(Debug, Clone, Copy)]
struct Page {
    /// New records in the page.
    len: usize,
    /// Records of the previous page sent again at its start (an overlap).
    back: usize,
    /// The page is sent twice.
    repeat: bool,
    /// Ids just below the requested range put in front (already delivered).
    below: u64,
}

/// One generated scenario.
#[derive(Debug, Clone)]
struct Scenario {
    /// The live feed as runs: `(delivered, then missed)` ids.
    runs: Vec<(u64, u64)>,
    /// Adjacent live events delivered the other way round.
    swaps: Vec<prop::sample::Index>,
    /// Live events sent again later: `(where, how far back)`.
    repeats: Vec<(prop::sample::Index, usize)>,
    /// Ids the exchange no longer has: `(offset from BASE, how many)`.
    lost: Vec<(u64, u64)>,
    /// Ids past the requested range a backfill also returns.
    beyond: u64,
    /// How backfill pages are cut, in turn.
    pages: Vec<Page>,
    /// The interleaving: at each step, a live event (true) or a backfill message.
    steps: Vec<bool>,
}

impl Scenario {
    /// The live feed, in arrival order.
    fn feed(&self) -> Vec<u64> {
        let mut feed = Vec::new();
        let mut next = BASE;
        for &(delivered, missed) in &self.runs {
            feed.extend(next..next + delivered);
            next += delivered + missed;
        }
        for swap in &self.swaps {
            if feed.len() >= 2 {
                let i = swap.index(feed.len() - 1);
                feed.swap(i, i + 1);
            }
        }
        for &(at, back) in &self.repeats {
            let i = at.index(feed.len());
            let repeated = feed[i.saturating_sub(back)];
            feed.insert(i, repeated);
        }
        feed
    }

    /// The ids the exchange no longer has.
    fn lost(&self) -> BTreeSet<u64> {
        self.lost
            .iter()
            .flat_map(|&(offset, len)| BASE + offset..BASE + offset + len)
            .collect()
    }
}

/// One backfill message, as ids (made into events when it is sent).
#[derive(Debug, Clone)]
struct Planned {
    ids: Vec<u64>,
    lost: Option<(u64, u64)>,
    done: bool,
}

/// What the scripted exchange has, and how it answers.
#[derive(Debug)]
struct Exchange<'a> {
    /// Ids it no longer has.
    lost: BTreeSet<u64>,
    /// The highest id traded.
    highest: u64,
    /// Ids past a requested range a backfill also returns.
    beyond: u64,
    /// How pages are cut, taken in turn.
    pages: &'a [Page],
    /// The next page plan to use.
    page: usize,
    /// Whether a backfill may end short of its range (see `LOST_TAIL_FIXED`).
    tail_holes: bool,
}

impl Exchange<'_> {
    /// The messages a backfill of `from..=to` sends, shaped like `trades.rs`
    /// sends them: a hole is a `lost` range in front of the events after it, and
    /// the last message (`done`) carries the part of the range not found.
    fn messages(&mut self, from: u64, to: u64) -> Vec<Planned> {
        let mut records: Vec<u64> = (from..=to).filter(|id| !self.lost.contains(id)).collect();
        // Ids past the range, as a page that runs on would return them (contiguous).
        let past = to + 1..=(to + self.beyond).min(self.highest);
        if !past.is_empty() && past.clone().all(|id| !self.lost.contains(&id)) {
            records.extend(past);
        }
        let mut out = Vec::new();
        let mut next = from;
        let mut cursor = 0;
        while cursor < records.len() {
            let plan = self
                .pages
                .get(self.page % self.pages.len().max(1))
                .copied()
                .unwrap_or(Page {
                    len: 1000,
                    back: 0,
                    repeat: false,
                    below: 0,
                });
            self.page += 1;
            let end = (cursor + plan.len.max(1)).min(records.len());
            let start = cursor.saturating_sub(plan.back);
            let mut ids: Vec<u64> = (from.saturating_sub(plan.below)..from).collect();
            ids.extend(&records[start..cursor]);
            let mut lost = None;
            let mut sent = Vec::new();
            for &id in &records[cursor..end] {
                if id > next {
                    // A hole: what came before it goes first, the hole leads the rest.
                    if !ids.is_empty() || lost.is_some() {
                        sent.push(Planned {
                            ids: std::mem::take(&mut ids),
                            lost: lost.take(),
                            done: false,
                        });
                    }
                    lost = Some((next, id - 1));
                }
                ids.push(id);
                next = id + 1;
            }
            sent.push(Planned {
                ids,
                lost,
                done: false,
            });
            if plan.repeat {
                // The same records again (a repeated page repeats records, not holes).
                let again: Vec<Planned> = sent
                    .iter()
                    .map(|p| Planned {
                        lost: None,
                        ..p.clone()
                    })
                    .collect();
                sent.extend(again);
            }
            out.extend(sent);
            cursor = end;
        }
        let mut tail = (next <= to).then_some((next, to));
        if !self.tail_holes
            && let Some((first, last)) = tail.take()
        {
            // See `LOST_TAIL_FIXED`: the exchange is made to have the end of every range.
            out.push(Planned {
                ids: (first..=last).collect(),
                lost: None,
                done: false,
            });
        }
        out.push(Planned {
            ids: Vec::new(),
            lost: tail,
            done: true,
        });
        out
    }
}

/// Plays a scenario through a driver; returns what the subscriber saw and how
/// many backfills were requested, or why the merge is wrong.
async fn play(scenario: &Scenario, tail_holes: bool) -> Result<(Outcome, usize)> {
    let feed = scenario.feed();
    let mut exchange = Exchange {
        lost: scenario.lost(),
        highest: feed.iter().copied().max().context("an empty feed")?,
        beyond: scenario.beyond,
        pages: &scenario.pages,
        page: 0,
        tail_holes,
    };
    let mut merge = Merge::new()?;
    let mut live = feed.iter().copied();
    let mut pending: VecDeque<Planned> = VecDeque::new();
    let mut current: Option<mpsc::UnboundedSender<Msg>> = None;
    let mut requested: Vec<(u64, u64)> = Vec::new();
    let mut steps = scenario.steps.iter().copied();
    // Every live event and every backfill message is one step; a merge that
    // keeps asking for backfills runs out of this budget.
    let budget = 4 * (feed.len() + 64) * 8;
    for _ in 0..budget {
        if current.is_none()
            && let Some(request) = merge.backfill.take()
        {
            ensure!(
                request.from <= request.to,
                "an empty backfill {}..={}",
                request.from,
                request.to
            );
            ensure!(
                !requested
                    .iter()
                    .any(|&(f, t)| request.from <= t && f <= request.to),
                "{}..={} requested again (before: {requested:?}); feed {feed:?}, lost {:?}",
                request.from,
                request.to,
                exchange.lost
            );
            requested.push((request.from, request.to));
            pending.extend(exchange.messages(request.from, request.to));
            current = Some(request.out);
        }
        let prefer_live = steps.next().unwrap_or(true);
        let mut next_live = || live.next();
        let backfill_ready = current.is_some() && !pending.is_empty();
        if (prefer_live || !backfill_ready)
            && let Some(id) = next_live()
        {
            merge.live(id)?;
            continue;
        }
        match (current.clone(), pending.pop_front()) {
            (Some(out), Some(planned)) => {
                let msg = merge.message(&planned.ids, planned.lost, planned.done)?;
                merge.answer(&out, msg).await?;
                if planned.done {
                    current = None;
                }
            }
            _ => {
                // Nothing live left and no backfill in flight: the end.
                ensure!(
                    merge.backfill.take().is_none(),
                    "a backfill was requested after the last one ended"
                );
                ensure!(!merge.held(), "live events are still held back");
                let mut outcome = split(merge.delivered()?)?;
                let stats = merge.counters.snapshot();
                outcome.lost_ids = stats.lost_ids;
                outcome.backfilled_events = stats.backfilled_events;
                return Ok((outcome, requested.len()));
            }
        }
    }
    bail!(
        "the merge did not end within {budget} steps: backfills requested {requested:?}; feed {feed:?}, lost {:?}",
        exchange.lost
    )
}

/// Checks the merge's promise for one scenario.
fn check(scenario: &Scenario, outcome: &Outcome, backfills: usize) -> Result<()> {
    let feed = scenario.feed();
    let lost = scenario.lost();
    let first = *feed.first().context("an empty feed")?;
    let highest = feed.iter().copied().max().context("an empty feed")?;
    // Strictly ascending: in order, and never twice.
    for pair in outcome.ids.windows(2) {
        ensure!(
            pair[0].0 < pair[1].0,
            "{:?} delivered after {:?}: {:?}",
            pair[1],
            pair[0],
            outcome.ids
        );
    }
    ensure!(
        outcome.ids.first().map(|&(id, _)| id) == Some(first),
        "the first id delivered is not the first one seen live"
    );
    // Every id from the first to the highest: delivered, or in exactly one gap of
    // ids the exchange does not have.
    let mut covered: BTreeSet<u64> = outcome.ids.iter().map(|&(id, _)| id).collect();
    for &(from, to) in &outcome.gaps {
        ensure!(from <= to, "an empty gap {from}..={to}");
        for id in from..=to {
            ensure!(
                lost.contains(&id),
                "gap {from}..={to} covers {id}, which the exchange has"
            );
            ensure!(
                covered.insert(id),
                "{id} both delivered or reported lost twice (gaps {:?})",
                outcome.gaps
            );
        }
    }
    let expected: BTreeSet<u64> = (first..=highest).collect();
    ensure!(
        covered == expected,
        "missing without a gap: {:?}; beyond the feed: {:?}",
        expected.difference(&covered).collect::<Vec<_>>(),
        covered.difference(&expected).collect::<Vec<_>>()
    );
    // One `Backfilled` per backfill, announcing exactly the events it delivered.
    ensure!(
        outcome.backfilled.len() == backfills,
        "{} Backfilled notices for {backfills} backfills",
        outcome.backfilled.len()
    );
    let from_rest = outcome
        .ids
        .iter()
        .filter(|&&(_, source)| source == Source::Backfill)
        .count() as u64;
    ensure!(
        outcome.backfilled.iter().sum::<u64>() == from_rest,
        "Backfilled notices announce {:?}, {from_rest} events came from REST",
        outcome.backfilled
    );
    // The counters agree with what the subscriber saw.
    let gap_ids: u64 = outcome.gaps.iter().map(|&(from, to)| to - from + 1).sum();
    ensure!(
        outcome.lost_ids == gap_ids && outcome.backfilled_events == from_rest,
        "counters: {} lost, {} backfilled; the subscriber saw {gap_ids} and {from_rest}",
        outcome.lost_ids,
        outcome.backfilled_events
    );
    Ok(())
}

/// Runs one scenario on a fresh current-thread runtime.
fn run(scenario: &Scenario) -> Result<(Outcome, usize)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let (outcome, backfills) = runtime.block_on(play(scenario, LOST_TAIL_FIXED))?;
    check(scenario, &outcome, backfills)?;
    Ok((outcome, backfills))
}

fn page() -> impl Strategy<Value = Page> {
    (1usize..40, 0usize..4, prop::bool::weighted(0.2), 0u64..3).prop_map(
        |(len, back, repeat, below)| Page {
            len,
            back,
            repeat,
            below,
        },
    )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec((1u64..30, 0u64..40), 1..8),
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        prop::collection::vec((any::<prop::sample::Index>(), 1usize..8), 0..4),
        prop::collection::vec((0u64..300, 1u64..12), 0..3),
        0u64..4,
        prop::collection::vec(page(), 1..6),
        prop::collection::vec(any::<bool>(), 0..400),
    )
        .prop_map(
            |(runs, swaps, repeats, lost, beyond, pages, steps)| Scenario {
                runs,
                swaps,
                repeats,
                lost,
                beyond,
                pages,
                steps,
            },
        )
}

/// A scenario without the perturbations, for the hand-written cases.
fn plain(runs: Vec<(u64, u64)>) -> Scenario {
    Scenario {
        runs,
        swaps: Vec::new(),
        repeats: Vec::new(),
        lost: Vec::new(),
        beyond: 0,
        pages: vec![Page {
            len: 3,
            back: 1,
            repeat: true,
            below: 1,
        }],
        steps: Vec::new(),
    }
}

#[test]
fn a_missed_range_is_backfilled_between_the_live_events() -> Result<()> {
    // 10 live, 25 missed, 10 live: one backfill of 25, in overlapping, repeated pages.
    let (outcome, backfills) = run(&plain(vec![(10, 25), (10, 0)]))?;
    assert_eq!(backfills, 1);
    assert_eq!(outcome.ids.len(), 45);
    assert!(outcome.gaps.is_empty());
    assert_eq!(outcome.backfilled, vec![25]);
    Ok(())
}

#[test]
fn a_hole_inside_the_range_is_one_gap_and_the_rest_is_recovered() -> Result<()> {
    // Ids 12..=16 of the missed 10..=34 are gone: a gap for them, 20 backfilled.
    let mut scenario = plain(vec![(10, 25), (10, 0)]);
    scenario.lost = vec![(12, 5)];
    let (outcome, backfills) = run(&scenario)?;
    assert_eq!(backfills, 1);
    assert_eq!(outcome.gaps, vec![(BASE + 12, BASE + 16)]);
    assert_eq!(outcome.ids.len(), 40);
    assert_eq!(outcome.backfilled, vec![20]);
    Ok(())
}

#[test]
fn lost_at_the_end_of_the_range_is_one_gap_and_no_second_backfill() -> Result<()> {
    // Ids 30..=34 of the missed 10..=34 are gone: the backfill ends short of its
    // range. The gap must be reported once and the live events released, not the
    // same range asked for again.
    let mut scenario = plain(vec![(10, 25), (10, 0)]);
    scenario.lost = vec![(30, 5)];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let played = runtime.block_on(play(&scenario, true));
    if LOST_TAIL_FIXED {
        let (outcome, backfills) = played?;
        check(&scenario, &outcome, backfills)?;
        assert_eq!(outcome.gaps, vec![(BASE + 30, BASE + 34)]);
        assert_eq!(backfills, 1);
    } else {
        // The known issue, still there: the lost tail is asked for again.
        let Err(error) = played else {
            bail!(
                "the lost tail was not asked for again: the known issue is fixed, turn LOST_TAIL_FIXED on"
            );
        };
        let error = format!("{error:#}");
        assert!(
            error.contains(&format!("{}..={} requested again", BASE + 30, BASE + 34)),
            "{error}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_id_once_in_order_whatever_the_interleaving(scenario in scenario()) {
        if let Err(error) = run(&scenario) {
            return Err(TestCaseError::fail(format!("{error:#}")));
        }
    }
}
