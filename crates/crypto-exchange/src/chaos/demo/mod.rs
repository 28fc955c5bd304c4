//! The engine of `crypto-exchange demo`: the test bed (simulator, fault
//! proxies, a client with short timings) streaming several symbols, a fault
//! every 10–20 s (seeded) in rotation across network faults (the proxy) and
//! exchange faults (the simulator), live status for a view, and at the end the
//! lost and duplicated counts against the simulator's own history.
//!
//! The binary draws; this module decides what happens and counts.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

mod faults;

use ::chaos::{FaultId, FaultMark, Guarantees, RecorderConfig, Report};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use self::faults::{DemoFault, ROTATION};
use super::config::Timings;
use super::error::ChaosError;
use super::testbed::{BedSpec, SYMBOLS, Testbed, agg_stream};
use super::verify;
use super::watch::{Observed, Watch};
use crate::{Client, Lifecycle};

/// How the demo runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Seeds the market and the fault schedule.
    pub seed: u64,
    /// The shortest and longest time between two faults (default 10 s to
    /// 20 s); the first comes after the shortest or 5 s, whichever is less.
    pub fault_every: (Duration, Duration),
    /// Market actions per second per symbol (default 100).
    pub actions_per_sec: f64,
}

impl DemoConfig {
    /// The defaults with this seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        DemoConfig {
            seed,
            fault_every: (Duration::from_secs(10), Duration::from_secs(20)),
            actions_per_sec: 100.0,
        }
    }
}

/// Something that happened, for the view's log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DemoNote {
    /// A fault was switched on.
    Injected {
        /// Its number, from 1.
        number: u64,
        /// What it is.
        label: String,
    },
    /// A held fault was switched off.
    Cleared {
        /// Its number.
        number: u64,
    },
    /// Every stream delivered again after the fault began.
    Recovered {
        /// The fault's number.
        number: u64,
        /// From the fault's start to the last stream's first event after it ended.
        after: Duration,
    },
}

impl fmt::Display for DemoNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemoNote::Injected { number, label } => write!(f, "! fault {number}: {label}"),
            DemoNote::Cleared { number } => write!(f, "  fault {number} over"),
            DemoNote::Recovered { number, after } => write!(
                f,
                "  -> streams delivering again after {:.1}s (fault {number})",
                after.as_secs_f64()
            ),
        }
    }
}

/// One stream in the live view.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStatus {
    /// The stream's name.
    pub name: String,
    /// Events delivered so far.
    pub events: u64,
    /// Events per second since the previous status.
    pub rate: f64,
    /// The newest id delivered.
    pub last_id: Option<u64>,
}

/// The live view's figures.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DemoStatus {
    /// Since the demo started.
    pub elapsed: Duration,
    /// Each stream.
    pub streams: Vec<StreamStatus>,
    /// Each connection and what it is doing (`live`, `backing off 400 ms`, …).
    pub connections: Vec<(String, String)>,
    /// Each endpoint's breaker state.
    pub breakers: Vec<(String, String)>,
    /// The health level.
    pub health: health::Level,
    /// The active alerts (`cause:subject`).
    pub alerts: Vec<String>,
    /// Faults injected so far.
    pub faults: u64,
    /// Faults recovered from so far.
    pub recoveries: u64,
    /// The fault in force and how long it has left.
    pub active: Option<(String, Duration)>,
    /// Time until the next fault.
    pub next_fault_in: Duration,
    /// MTTR so far (mean, max), from each fault's start to each stream's next event.
    pub mttr: (Option<Duration>, Option<Duration>),
    /// `aggTrade` ids skipped so far (live, from id continuity).
    pub lost: u64,
    /// Events delivered twice or out of order so far (live).
    pub duplicated: u64,
    /// Trades recovered from REST after reconnects.
    pub backfilled: u64,
    /// Ids the client reported lost (`Gap`).
    pub gaps_reported: u64,
}

/// The end of a demo: the figures against the simulator's history.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DemoSummary {
    /// The last status.
    pub last: DemoStatus,
    /// The report: measures with the simulator's history as truth, timeline.
    pub report: Report,
    /// The client delivered every id the frozen market traded.
    pub caught_up: bool,
    /// Rotations (make-before-break).
    pub rotations: u64,
    /// Alerts resolved over the run.
    pub alerts_resolved: usize,
}

struct Active {
    number: u64,
    fault: DemoFault,
    ids: Vec<FaultId>,
    mark: FaultMark,
    started: Instant,
    until: Instant,
}

/// A running demo.
pub struct Demo {
    bed: Testbed,
    watch: Watch,
    timings: Timings,
    config: DemoConfig,
    rng: ChaCha8Rng,
    started: Instant,
    next_fault: Instant,
    injected: u64,
    active: Option<Active>,
    /// Faults cleared and waiting for every stream: number, start, clear.
    waiting: Vec<(u64, Instant, Instant)>,
    recoveries: u64,
    start_ids: BTreeMap<&'static str, u64>,
    previous: (Instant, BTreeMap<String, u64>),
}

/// What a connection is doing, from its latest lifecycle signal.
fn describe(signal: &Lifecycle) -> Option<(u64, String)> {
    Some(match signal {
        Lifecycle::Connecting { connection, attempt, .. } => (*connection, format!("connecting (attempt {attempt})")),
        Lifecycle::Connected { connection, .. } => (*connection, "connected".to_owned()),
        Lifecycle::Subscribed { connection, streams } => (*connection, format!("live ({streams} streams)")),
        Lifecycle::Disconnected { connection, cause, .. } => (*connection, format!("down ({cause})")),
        Lifecycle::Reconnecting { connection, delay_ms, rate_limited } => (
            *connection,
            format!("backing off {delay_ms} ms{}", if *rate_limited { " (rate limited)" } else { "" }),
        ),
        Lifecycle::Rotated { connection, reason } => (*connection, format!("live (rotated: {reason})")),
        Lifecycle::CircuitOpen { connection, retry_in_ms, .. } => (*connection, format!("breaker open, next try in {retry_in_ms} ms")),
        Lifecycle::Restarted { connection, .. } => (*connection, "restarted".to_owned()),
        Lifecycle::Escalated { connection, .. } | Lifecycle::Abandoned { connection, .. } => (*connection, "stopped".to_owned()),
        _ => return None,
    })
}

/// The latest disconnect at or after `since`, if any.
fn last_disconnect(o: &Observed, since: Instant) -> Option<Instant> {
    o.lifecycle
        .iter()
        .rev()
        .take_while(|(at, _)| *at >= since)
        .find(|(_, l)| matches!(l, Lifecycle::Disconnected { .. }))
        .map(|(at, _)| *at)
}

impl Demo {
    /// Starts the simulator, the proxies and the client, and subscribes to
    /// `aggTrade` and `depth@100ms` of three symbols.
    ///
    /// # Errors
    /// [`ChaosError::Config`] for a fault interval below 3 s or a range
    /// upside down; [`ChaosError::Setup`] when something cannot start.
    pub async fn start(config: DemoConfig) -> Result<Demo, ChaosError> {
        let (shortest, longest) = config.fault_every;
        if shortest < Duration::from_secs(3) || longest < shortest {
            return Err(ChaosError::Config(vec![format!(
                "fault_every = {}..{} must start at 3s or more and not end before it starts",
                humantime::format_duration(shortest),
                humantime::format_duration(longest)
            )]));
        }
        let timings = Timings {
            silence_timeout: Duration::from_secs(2),
            ..Timings::default()
        };
        let mut spec = BedSpec::new("demo", config.seed, timings.clone());
        spec.actions_per_sec = config.actions_per_sec;
        let mut bed = Testbed::start(spec).await?;
        let streams: Vec<String> = SYMBOLS
            .iter()
            .flat_map(|s| [agg_stream(s), format!("{}@depth@100ms", s.to_ascii_lowercase())])
            .collect();
        let endpoints = vec![(format!("ws://{}", bed.ws.addr()), "exchange".to_owned())];
        let recorder = RecorderConfig {
            recovery_deadline: timings.recovery_bound,
            ..RecorderConfig::default()
        };
        let watch = Watch::new(recorder, &streams, Duration::from_secs(1), endpoints)
            .map_err(|e| ChaosError::setup("demo", e))?;
        let start_ids = SYMBOLS
            .iter()
            .map(|&s| (s, bed.last_agg_id(s).map_or(0, |id| id + 1)))
            .collect();
        watch.attach(&bed.client, &mut bed.tasks);
        let subscription = bed.client.subscribe(&streams).map_err(|e| ChaosError::setup("demo", e))?;
        bed.tasks.push(tokio::spawn(watch.clone().consume(subscription)));
        let started = Instant::now();
        Ok(Demo {
            next_fault: started + shortest.min(Duration::from_secs(5)),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            bed,
            watch,
            timings,
            config,
            started,
            injected: 0,
            active: None,
            waiting: Vec::new(),
            recoveries: 0,
            start_ids,
            previous: (started, BTreeMap::new()),
        })
    }

    /// The client, for the ops endpoint.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.bed.client
    }

    /// Where the simulated exchange and the fault proxies listen.
    #[must_use]
    pub fn describe(&self) -> String {
        format!(
            "simulated Binance at {} (REST {}), reached through fault proxies at ws://{} and http://{}",
            self.bed.sim.ws_url(),
            self.bed.sim.rest_url(),
            self.bed.ws.addr(),
            self.bed.rest.addr()
        )
    }

    /// The streams the demo receives.
    #[must_use]
    pub fn streams(&self) -> Vec<String> {
        self.watch.lock().streams.keys().cloned().collect()
    }

    /// Injects and clears faults on schedule and notices recoveries; call it
    /// a few times a second.
    pub fn tick(&mut self) -> Vec<DemoNote> {
        let now = Instant::now();
        let mut notes = Vec::new();
        if self.active.as_ref().is_some_and(|a| now >= a.until) {
            if let Some(active) = self.active.take() {
                notes.push(DemoNote::Cleared { number: active.number });
                self.end(active, now);
            }
        }
        if self.active.is_none() && now >= self.next_fault {
            let fault = ROTATION[usize::try_from(self.injected).unwrap_or(0) % ROTATION.len()];
            self.injected += 1;
            let ids = fault.inject(&self.bed);
            let mark = self.watch.fault_start(fault.label());
            notes.push(DemoNote::Injected {
                number: self.injected,
                label: fault.label().to_owned(),
            });
            let active = Active {
                number: self.injected,
                fault,
                ids,
                mark,
                started: now,
                until: now + fault.hold(),
            };
            if fault.hold().is_zero() {
                self.end(active, now);
            } else {
                self.active = Some(active);
            }
            let (lo, hi) = self.config.fault_every;
            let gap = self.rng.random_range(lo.as_millis()..=hi.as_millis());
            self.next_fault = now + fault.hold() + Duration::from_millis(u64::try_from(gap).unwrap_or(10_000));
        }
        let o = self.watch.lock();
        let mut recovered = Vec::new();
        self.waiting.retain(|&(number, started, cleared)| {
            let since = last_disconnect(&o, started).map_or(cleared, |d| d.max(cleared));
            let done = now.duration_since(started) >= Duration::from_millis(500) && o.all_delivered_since(since);
            if done {
                recovered.push(DemoNote::Recovered { number, after: now.duration_since(started) });
            }
            !done
        });
        drop(o);
        self.recoveries += recovered.len() as u64;
        notes.extend(recovered);
        notes
    }

    fn end(&mut self, active: Active, now: Instant) {
        active.fault.clear(&self.bed, &active.ids);
        self.watch.fault_end(active.mark);
        self.waiting.push((active.number, active.started, now));
    }

    /// The live figures.
    pub fn status(&mut self) -> DemoStatus {
        let now = Instant::now();
        let health = self.bed.client.system_health();
        let breakers = self
            .bed
            .client
            .breakers()
            .into_iter()
            .map(|(endpoint, snapshot)| (endpoint, snapshot.state.as_str().to_owned()))
            .collect();
        let mttr = self.watch.finish().measures.overall.mttr;
        let o = self.watch.lock();
        let dt = now.duration_since(self.previous.0).as_secs_f64().max(1e-3);
        let mut counts = BTreeMap::new();
        let streams = o
            .streams
            .iter()
            .map(|(name, t)| {
                counts.insert(name.clone(), t.events);
                let before = self.previous.1.get(name).copied().unwrap_or(0);
                #[allow(clippy::cast_precision_loss, reason = "event counts are far below 2^52")]
                let rate = t.events.saturating_sub(before) as f64 / dt;
                StreamStatus {
                    name: name.clone(),
                    events: t.events,
                    rate,
                    last_id: t.last,
                }
            })
            .collect();
        let mut connections: BTreeMap<u64, String> = BTreeMap::new();
        for (_, signal) in &o.lifecycle {
            if let Some((id, state)) = describe(signal) {
                connections.insert(id, state);
            }
        }
        let status = DemoStatus {
            elapsed: now.duration_since(self.started),
            streams,
            connections: connections.into_iter().map(|(id, s)| (format!("connection {id}"), s)).collect(),
            breakers,
            health: health.level,
            alerts: health.alerts.iter().map(|a| a.key.clone()).collect(),
            faults: self.injected,
            recoveries: self.recoveries,
            active: self.active.as_ref().map(|a| (a.fault.label().to_owned(), a.until.saturating_duration_since(now))),
            next_fault_in: self.next_fault.saturating_duration_since(now),
            mttr: (mttr.mean, mttr.max),
            lost: o.streams.values().map(|t| t.missing).sum(),
            duplicated: o.streams.values().map(|t| t.repeated).sum(),
            backfilled: o.backfilled,
            gaps_reported: o.gaps.iter().map(|(_, from, to)| to - from + 1).sum(),
        };
        drop(o);
        self.previous = (now, counts);
        status
    }

    /// Ends the demo: clears any fault, waits for the streams, freezes the
    /// market, counts lost and duplicated events against the simulator's
    /// history, and stops everything.
    pub async fn finish(mut self) -> DemoSummary {
        let now = Instant::now();
        if let Some(active) = self.active.take() {
            self.end(active, now);
        }
        let last_clear = self.waiting.iter().map(|w| w.2).max().unwrap_or(now);
        let _ = self.watch.until(self.timings.recovery_bound, |o| o.all_delivered_since(last_clear)).await;
        let last = self.status();
        let frozen = Instant::now();
        let caught_up = verify::freeze_and_set_truth(&self.bed, &self.watch, &self.timings, &self.start_ids).await;
        verify::limits(&self.bed, &self.watch, frozen);
        let recording = self.watch.finish();
        let wall = std::time::SystemTime::now()
            .checked_sub(self.started.elapsed())
            .unwrap_or_else(std::time::SystemTime::now);
        let report = Report::new("demo", Some(self.config.seed), wall, recording, Guarantees::default());
        let rotations = self.bed.client.stats().rotations;
        let alerts_resolved = self.bed.client.system_health().history.len();
        self.bed.shutdown().await;
        DemoSummary {
            last,
            report,
            caught_up,
            rotations,
            alerts_resolved,
        }
    }
}
