//! The client's health feed: one [`health::Monitor`] per client, told what the
//! connections, streams, subscribers, REST client and circuit breakers do, and
//! read by [`Client::system_health`](crate::Client::system_health), the other
//! facade calls of `api.rs` and the ops endpoint (`ops.rs`).
//!
//! Who feeds it:
//! - the drivers, synchronously: every lifecycle signal as it is emitted (so a
//!   `Connected` is never counted after the first message of the session it
//!   opened), each stream's registration when its route is added, the
//!   received events once per burst of frames ([`HealthFeed::on_messages`]:
//!   one short critical section per burst, no allocation), gaps and backfills
//!   as they happen;
//! - the pool's supervisor forwarder: restarts and escalations;
//! - a task (`task.rs`), once a second: the REST client's weight, 429 and 418
//!   state, the circuit breakers' states, subscriber lag and undecodable frames
//!   from the client's counters; it evaluates the monitor, publishes the report
//!   to any ops endpoint and logs alert notifications.
//!
//! Every time the monitor sees comes from `tokio::time::Instant`, so paused-time
//! tests see one clock.

pub(crate) mod api;
mod causes;
pub(crate) mod ops;
pub(crate) mod task;

pub(crate) use causes::expected_interval;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use health::metrics::MetricsConfig;
use health::ops::ReportPublisher;
use health::{
    BackfillOutcome, BreakerState, ConnectionEvent, ErrorClass, ErrorSource, HealthConfig, Monitor,
    Report, StreamId,
};

use super::lifecycle::{ConnectionId, Lifecycle};

/// The monitor and what the feed keeps beside it, behind one lock.
struct State {
    monitor: Monitor,
    /// The monitor's handle of each connection slot.
    connections: HashMap<ConnectionId, health::ConnectionId>,
    /// Slots closed on purpose (retired, shut down).
    closed: HashSet<ConnectionId>,
    /// Streams with a gap being backfilled.
    open_gaps: HashSet<StreamId>,
    /// The recorder generation the monitor's metric handles were bound under.
    metrics_generation: u64,
}

/// The health monitor of one client, shared by its drivers, its task and the
/// facade calls.
pub(crate) struct HealthFeed {
    state: Mutex<State>,
    /// Ops endpoints fed by the task, each with its own report channel.
    publishers: Mutex<Vec<(u64, ReportPublisher)>>,
    /// What REST polling is doing, when anything is polled: the monitor has
    /// no input for it, so reports carry it as one more reason.
    polling: Mutex<Option<String>>,
}

impl std::fmt::Debug for HealthFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthFeed").finish_non_exhaustive()
    }
}

/// Bumped each time this process installs a metrics recorder, so that every
/// monitor binds its handles again on its next tick.
static RECORDER_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Tells every monitor that a recorder was installed.
pub(crate) fn recorder_installed() {
    RECORDER_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The monitor's clock: tokio's (paused in tests), as a std instant.
#[inline]
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Milliseconds since the Unix epoch.
fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The monitor's name of a connection slot.
fn connection_name(slot: ConnectionId) -> String {
    format!("conn-{slot}")
}

impl HealthFeed {
    /// A feed with an empty monitor; metric handles bind to the recorder
    /// installed now, if any.
    pub(crate) fn new(config: HealthConfig) -> Result<Self, health::Error> {
        let mut monitor = Monitor::new(config, now())?;
        monitor.sync_clock(now(), epoch_ms());
        monitor.enable_metrics(&MetricsConfig::default());
        Ok(HealthFeed {
            state: Mutex::new(State {
                monitor,
                connections: HashMap::new(),
                closed: HashSet::new(),
                open_gaps: HashSet::new(),
                metrics_generation: RECORDER_GENERATION.load(Ordering::Relaxed),
            }),
            publishers: Mutex::new(Vec::new()),
            polling: Mutex::new(None),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the monitor.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Monitor) -> R) -> R {
        f(&mut self.state().monitor)
    }

    /// One event of `bytes` bytes arrived on `stream` (drivers report bursts
    /// with [`on_messages`](Self::on_messages)).
    #[cfg(test)]
    pub(crate) fn on_message(&self, stream: StreamId, bytes: usize, event_time_ms: Option<u64>) {
        let now = now();
        self.state()
            .monitor
            .on_message(stream, bytes, event_time_ms, now);
    }

    /// The events of a burst: one lock and one clock read for all of them
    /// (they arrived together); `batch` is emptied, its capacity kept.
    pub(crate) fn on_messages(&self, batch: &mut Vec<(StreamId, usize, Option<u64>)>) {
        if batch.is_empty() {
            return;
        }
        let now = now();
        let mut state = self.state();
        for (stream, bytes, event_time_ms) in batch.drain(..) {
            state.monitor.on_message(stream, bytes, event_time_ms, now);
        }
    }

    /// Registers (or reactivates) a stream served by connection `slot`.
    pub(crate) fn register_stream(&self, name: &str, slot: ConnectionId) -> StreamId {
        let now = now();
        let expected = causes::expected_interval(name);
        let mut state = self.state();
        let connection = state.connection(slot, now);
        state
            .monitor
            .register_stream(name, connection, expected, now)
    }

    /// The stream was unsubscribed.
    pub(crate) fn unregister_stream(&self, stream: StreamId) {
        let mut state = self.state();
        state.open_gaps.remove(&stream);
        state.monitor.unregister_stream(stream);
    }

    /// A gap was found on `stream`; a backfill starts.
    pub(crate) fn on_gap(&self, stream: StreamId) {
        let now = now();
        let mut state = self.state();
        state.open_gaps.insert(stream);
        state.monitor.on_gap(stream, now);
    }

    /// Ids of `stream` could not be recovered.
    pub(crate) fn on_lost(&self, stream: StreamId) {
        let now = now();
        let mut state = self.state();
        if !state.open_gaps.remove(&stream) {
            state.monitor.on_gap(stream, now);
        }
        state
            .monitor
            .on_backfill(stream, BackfillOutcome::Lost, now);
    }

    /// The backfill of `stream` finished; recovered unless its loss was
    /// already reported.
    pub(crate) fn on_backfilled(&self, stream: StreamId) {
        let now = now();
        let mut state = self.state();
        if state.open_gaps.remove(&stream) {
            state
                .monitor
                .on_backfill(stream, BackfillOutcome::Recovered, now);
        }
    }

    /// A lifecycle signal, as it is emitted.
    pub(crate) fn on_lifecycle(&self, signal: &Lifecycle) {
        let now = now();
        let mut state = self.state();
        match signal {
            Lifecycle::Connecting { connection, .. } => {
                state.event(*connection, ConnectionEvent::Connecting, now);
            }
            Lifecycle::Connected { connection, .. } => {
                state.event(*connection, ConnectionEvent::Connected, now);
            }
            Lifecycle::Disconnected {
                connection,
                cause,
                detail,
            } => {
                let cause = causes::disconnect_cause(cause, detail);
                state.event(*connection, ConnectionEvent::Disconnected(cause), now);
            }
            Lifecycle::Reconnecting {
                connection,
                delay_ms,
                ..
            } => {
                let delay = Duration::from_millis(*delay_ms);
                state.event(*connection, ConnectionEvent::Reconnecting { delay }, now);
            }
            Lifecycle::Rotated { connection, .. } => {
                state.event(*connection, ConnectionEvent::Rotated, now);
            }
            Lifecycle::RequestFailed {
                connection, code, ..
            } => {
                let id = state.connection(*connection, now);
                let class = causes::request_error_class(*code);
                state
                    .monitor
                    .on_error(ErrorSource::Connection(id), class, now);
            }
            Lifecycle::Restarted { connection, .. } => {
                // The driver panicked: its connection went with it.
                let id = state.connection(*connection, now);
                state
                    .monitor
                    .on_error(ErrorSource::Connection(id), ErrorClass::Other, now);
                let cause = health::DisconnectCause::Other;
                state.event(*connection, ConnectionEvent::Disconnected(cause), now);
            }
            Lifecycle::Escalated { connection, .. } | Lifecycle::Abandoned { connection, .. } => {
                state.event(*connection, ConnectionEvent::Abandoned, now);
            }
            Lifecycle::Breaker {
                endpoint,
                state: to,
            } => {
                if let Some(to) = causes::breaker_state_label(to) {
                    state.monitor.on_breaker(endpoint, to, now);
                }
            }
            // The monitor has no input for these: endpoint switches and the
            // connection's fallback state show in `Client::stream_status`, the
            // lifecycle stream and the polling reason of the report.
            Lifecycle::Subscribed { .. }
            | Lifecycle::CircuitOpen { .. }
            | Lifecycle::EndpointSwitched { .. }
            | Lifecycle::State { .. }
            | Lifecycle::Polling { .. }
            | Lifecycle::PollingStopped { .. } => {}
        }
    }

    /// Connection `slot` was closed on purpose (retired, or the client shut down).
    pub(crate) fn close(&self, slot: ConnectionId) {
        let now = now();
        let mut state = self.state();
        if state.connections.contains_key(&slot) && !state.closed.contains(&slot) {
            state.event(slot, ConnectionEvent::Closed, now);
            state.closed.insert(slot);
        }
    }

    /// A breaker's state, by name.
    pub(crate) fn on_breaker(&self, name: &str, to: BreakerState) {
        let now = now();
        self.state().monitor.on_breaker(name, to, now);
    }

    /// Binds the monitor's metric handles again if a recorder was installed
    /// since they were bound.
    pub(crate) fn rebind_metrics(&self) {
        let generation = RECORDER_GENERATION.load(Ordering::Relaxed);
        let mut state = self.state();
        if state.metrics_generation != generation {
            state.metrics_generation = generation;
            state.monitor.enable_metrics(&MetricsConfig::default());
        }
    }

    /// Evaluates now and gathers the report (alerts are updated; their
    /// notifications wait for the task). While streams are polled, the
    /// report's reasons say so (and whether any is polled slower than normal).
    pub(crate) fn report(&self) -> Report {
        let now = now();
        let mut report = {
            let mut state = self.state();
            state.monitor.sync_clock(now, epoch_ms());
            state.monitor.report(now)
        };
        if let Some(note) = self
            .polling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            report.reasons.push(note);
        }
        report
    }

    /// What REST polling is doing (`None`: nothing is polled).
    pub(crate) fn set_polling_note(&self, note: Option<String>) {
        *self.polling.lock().unwrap_or_else(PoisonError::into_inner) = note;
    }

    /// Publishes `report` to every ops endpoint.
    pub(crate) fn publish(&self, report: &Report) {
        let publishers = self
            .publishers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (_, publisher) in publishers.iter() {
            publisher.publish(report.clone());
        }
    }
}

impl State {
    /// The monitor's handle of `slot`, registered on first use.
    fn connection(&mut self, slot: ConnectionId, now: Instant) -> health::ConnectionId {
        if let Some(&id) = self.connections.get(&slot) {
            return id;
        }
        let id = self
            .monitor
            .register_connection(&connection_name(slot), now);
        self.connections.insert(slot, id);
        id
    }

    /// A connection event; none after the slot was closed (slots are never
    /// reused).
    fn event(&mut self, slot: ConnectionId, event: ConnectionEvent, now: Instant) {
        if self.closed.contains(&slot) && event != ConnectionEvent::Closed {
            return;
        }
        let id = self.connection(slot, now);
        self.monitor.on_connection(id, event, now);
    }
}

#[cfg(test)]
mod tests;
