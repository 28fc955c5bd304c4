//! Observation: tasks that feed a [`Recorder`] (the `chaos` crate's) from what
//! the client delivers and signals, and keep what the scenarios' expectations
//! and the demo's view need (lifecycle signals, REST events, live id
//! continuity, the health level, the REST weight).
//!
//! Every observation is made under one lock with the instant read inside it,
//! so the recorder is told things in time order, as it requires.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ::chaos::{
    BreakerState, ConnState, Delivered, FaultMark, HealthLevel, Recorder, RecorderConfig,
    Recording, StreamSpec,
};
use tokio::sync::{broadcast, watch};

use super::testbed::Tasks;
use crate::domain::Event;
use crate::rest::RestEvent;
use crate::{Client, Lifecycle, Lifecycles, Subscription, Update};

/// One stream's live tally, from id continuity.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamTally {
    pub(crate) events: u64,
    pub(crate) first: Option<u64>,
    pub(crate) last: Option<u64>,
    pub(crate) last_at: Option<Instant>,
    /// Ids skipped between two deliveries (holes in the id sequence).
    pub(crate) missing: u64,
    /// Deliveries of an id not above the last one.
    pub(crate) repeated: u64,
    /// Ids are contiguous (aggTrade), so holes are counted.
    pub(crate) contiguous: bool,
}

/// What a second, slow subscriber saw.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SlowTally {
    pub(crate) received: u64,
    pub(crate) missed: u64,
    pub(crate) lag_notices: u64,
}

/// Everything observed, behind one lock.
pub(crate) struct Observed {
    pub(crate) recorder: Recorder,
    pub(crate) streams: BTreeMap<String, StreamTally>,
    pub(crate) lifecycle: Vec<(Instant, Lifecycle)>,
    pub(crate) rest: Vec<(Instant, RestEvent)>,
    pub(crate) gaps: Vec<(String, u64, u64)>,
    pub(crate) lagged: u64,
    pub(crate) backfilled: u64,
    pub(crate) health: Option<health::Level>,
    pub(crate) weight_max: u64,
    pub(crate) slow: SlowTally,
    /// Endpoint (`ws://127.0.0.1:PORT`) to lane name.
    endpoints: Vec<(String, String)>,
}

impl Observed {
    /// Lifecycle signals at or after `since` that match `pred`.
    pub(crate) fn count(&self, since: Instant, pred: impl Fn(&Lifecycle) -> bool) -> usize {
        self.lifecycle
            .iter()
            .filter(|(at, l)| *at >= since && pred(l))
            .count()
    }

    /// True when every declared stream delivered at or after `since`.
    pub(crate) fn all_delivered_since(&self, since: Instant) -> bool {
        !self.streams.is_empty()
            && self
                .streams
                .values()
                .all(|t| t.last_at.is_some_and(|at| at >= since))
    }

    fn endpoint_name(&self, endpoint: &str) -> String {
        self.endpoints
            .iter()
            .find(|(url, _)| url == endpoint)
            .map_or_else(|| endpoint.to_owned(), |(_, name)| name.clone())
    }
}

/// The shared observation state.
#[derive(Clone)]
pub(crate) struct Watch(Arc<Mutex<Observed>>);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Watch {
    /// A recorder that starts now, with `streams` declared (one event per
    /// `interval` expected; `aggTrade` ids contiguous, others increasing) and
    /// endpoint lane names.
    pub(crate) fn new(
        config: RecorderConfig,
        streams: &[String],
        interval: Duration,
        endpoints: Vec<(String, String)>,
    ) -> Result<Watch, ::chaos::Error> {
        let start = Instant::now();
        let mut recorder = Recorder::new(config, start)?;
        let mut tallies = BTreeMap::new();
        for stream in streams {
            let contiguous = stream.ends_with("@aggTrade");
            let spec = StreamSpec::every(interval);
            let spec = if contiguous { spec.contiguous() } else { spec };
            recorder.declare_stream(stream, spec, start);
            tallies.insert(
                stream.clone(),
                StreamTally {
                    contiguous,
                    ..StreamTally::default()
                },
            );
        }
        Ok(Watch(Arc::new(Mutex::new(Observed {
            recorder,
            streams: tallies,
            lifecycle: Vec::new(),
            rest: Vec::new(),
            gaps: Vec::new(),
            lagged: 0,
            backfilled: 0,
            health: None,
            weight_max: 0,
            slow: SlowTally::default(),
            endpoints,
        }))))
    }

    /// The observations, locked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Observed> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Polls `cond` every 20 ms until it holds, for at most `limit`; whether
    /// it held.
    pub(crate) async fn until(&self, limit: Duration, cond: impl Fn(&Observed) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if cond(&self.lock()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Opens a fault window now.
    pub(crate) fn fault_start(&self, label: &str) -> FaultMark {
        self.lock().recorder.on_fault_start(label, Instant::now())
    }

    /// Closes a fault window now.
    pub(crate) fn fault_end(&self, mark: FaultMark) {
        self.lock().recorder.on_fault_end(mark, Instant::now());
    }

    /// The recording so far.
    pub(crate) fn finish(&self) -> Recording {
        self.lock().recorder.finish(Instant::now())
    }

    /// Starts the observers of the client itself: lifecycle, REST events,
    /// and a sampler of health and REST weight. Call it before the first
    /// subscription, so the first connection's signals are seen.
    pub(crate) fn attach(&self, client: &Client, tasks: &mut Tasks) {
        tasks.push(tokio::spawn(self.clone().lifecycle(client.lifecycle())));
        tasks.push(tokio::spawn(self.clone().rest_events(client.rest().events())));
        tasks.push(tokio::spawn(self.clone().sample(client.clone())));
    }

    /// Records everything `subscription` delivers.
    pub(crate) async fn consume(self, mut subscription: Subscription) {
        while let Some(update) = subscription.next().await {
            let mut o = self.lock();
            let now = Instant::now();
            match update {
                Update::Event(event) => {
                    let (id, time) = match &event.event {
                        Event::AggTrade(trade) => (trade.agg_trade_id, trade.trade_time),
                        Event::DepthUpdate(diff) => (diff.final_update_id, diff.event_time),
                        _ => continue,
                    };
                    let stream = event.stream.to_string();
                    let age = Duration::from_millis(now_ms().saturating_sub(time.as_millis()));
                    o.recorder.on_event(&stream, Delivered::id(id).aged(age), now);
                    let tally = o.streams.entry(stream).or_default();
                    tally.events += 1;
                    tally.first.get_or_insert(id);
                    match tally.last {
                        Some(last) if id <= last => tally.repeated += 1,
                        Some(last) => {
                            if tally.contiguous {
                                tally.missing += id - last - 1;
                            }
                            tally.last = Some(id);
                        }
                        None => tally.last = Some(id),
                    }
                    tally.last_at = Some(now);
                }
                Update::Gap { stream, from, to } => {
                    o.recorder.on_gap_reported(&stream.to_string(), now);
                    o.gaps.push((stream.to_string(), from, to));
                }
                Update::Backfilled { count, .. } => o.backfilled += count,
                Update::Lagged { missed } => o.lagged += missed,
            }
        }
    }

    async fn lifecycle(self, mut lifecycle: Lifecycles) {
        while let Some(signal) = lifecycle.next().await {
            let mut o = self.lock();
            let now = Instant::now();
            let conn = |id: u64| format!("connection {id}");
            match &signal {
                Lifecycle::Connecting { connection, .. } => {
                    o.recorder.on_connection_attempt(now);
                    o.recorder.on_connection_state(&conn(*connection), ConnState::Connecting, now);
                }
                Lifecycle::Restarted { connection, .. } => {
                    o.recorder.on_connection_state(&conn(*connection), ConnState::Connecting, now);
                }
                Lifecycle::Connected { connection, .. } => {
                    o.recorder.on_connection_state(&conn(*connection), ConnState::Connected, now);
                }
                Lifecycle::Disconnected { connection, .. } => {
                    o.recorder.on_connection_state(&conn(*connection), ConnState::Disconnected, now);
                }
                Lifecycle::Reconnecting { connection, .. } => {
                    o.recorder.on_connection_state(&conn(*connection), ConnState::Reconnecting, now);
                }
                Lifecycle::Abandoned { connection, .. } | Lifecycle::Escalated { connection, .. } => {
                    o.recorder.on_connection_state(&conn(*connection), ConnState::Abandoned, now);
                }
                Lifecycle::Breaker { endpoint, state } => {
                    let state = match state.as_str() {
                        "open" => Some(BreakerState::Open),
                        "half_open" => Some(BreakerState::HalfOpen),
                        "closed" | "reset" => Some(BreakerState::Closed),
                        "forced_open" => Some(BreakerState::ForcedOpen),
                        "disabled" => Some(BreakerState::Disabled),
                        _ => None,
                    };
                    if let Some(state) = state {
                        let name = format!("breaker {}", o.endpoint_name(endpoint));
                        o.recorder.on_breaker(&name, state, now);
                    }
                }
                _ => {}
            }
            o.lifecycle.push((now, signal));
        }
    }

    async fn rest_events(self, mut events: broadcast::Receiver<RestEvent>) {
        loop {
            match events.recv().await {
                Ok(event) => self.lock().rest.push((Instant::now(), event)),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    }

    async fn sample(self, client: Client) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            let level = client.system_health().level;
            let weight = u64::from(client.rest().used_weight());
            let mut o = self.lock();
            o.weight_max = o.weight_max.max(weight);
            if o.health != Some(level) {
                o.health = Some(level);
                o.recorder.on_health(health_level(level), Instant::now());
            }
        }
    }

    /// A second subscriber that sleeps `pace` after each event it reads (while
    /// `pace` is not zero), counting what it receives and what it is told it
    /// missed.
    pub(crate) async fn slow_reader(self, mut subscription: Subscription, pace: watch::Receiver<Duration>) {
        while let Some(update) = subscription.next().await {
            match update {
                Update::Event(event) if matches!(event.event, Event::AggTrade(_)) => {
                    self.lock().slow.received += 1;
                }
                Update::Lagged { missed } => {
                    let mut o = self.lock();
                    o.slow.missed += missed;
                    o.slow.lag_notices += 1;
                }
                _ => {}
            }
            let wait = *pace.borrow();
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The health crate's level as the chaos crate draws it.
pub(crate) fn health_level(level: health::Level) -> HealthLevel {
    match level {
        health::Level::Healthy => HealthLevel::Healthy,
        health::Level::Warning => HealthLevel::Warning,
        health::Level::Degraded => HealthLevel::Degraded,
        health::Level::Unhealthy => HealthLevel::Unhealthy,
        _ => HealthLevel::Critical,
    }
}
