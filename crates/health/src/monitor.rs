//! The sans-IO monitor: registration and inputs. Evaluation (levels and
//! alerts) is in `rules.rs`, statistics in `stats.rs`, diagnostics in
//! `diagnose.rs`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::alert::AlertBook;
use crate::input::{ConnectionEvent, ConnectionId, ConnectionState, ErrorClass, StreamId};
use crate::sanitize::sanitize_name;
use crate::track::{
    BreakerTrack, ConnTrack, Failure, LagTrack, RECENT_FAILURES, RECENT_RECOVERIES, RestTrack,
    StreamTrack,
};
use crate::window::Ring;
use crate::{Error, HealthConfig};

/// Buckets of the trend ring: 15 minutes of complete buckets and the one
/// filling.
pub(crate) const TREND_BUCKETS: usize = 91;

/// Totals since the monitor started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Totals {
    /// Messages received.
    pub messages: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Errors reported, every class.
    pub errors: u64,
    /// Connection failures (disconnects that were not planned).
    pub failures: u64,
    /// Successful reconnects after a failure.
    pub recoveries: u64,
    /// Events missed by slow subscribers.
    pub lagged: u64,
    /// Gaps detected.
    pub gaps: u64,
    /// Gaps closed, by outcome: recovered, resynced, lost.
    pub backfills: [u64; 3],
    /// REST bans (418) begun.
    pub rest_bans: u64,
}

/// The health model: told what happened and what time it is, it keeps
/// statistics, evaluates levels, raises and resolves alerts and derives
/// diagnostics. It does no IO and never reads the clock.
///
/// Feed it from the client's tasks (or one task that owns it):
/// [`on_connection`](Self::on_connection), [`on_message`](Self::on_message)
/// (O(1), no allocation), [`on_error`](Self::on_error),
/// [`on_breaker`](Self::on_breaker), [`on_rest`](Self::on_rest),
/// [`on_lag`](Self::on_lag), [`on_gap`](Self::on_gap),
/// [`on_backfill`](Self::on_backfill); once a second or so call
/// [`evaluate`](Self::evaluate) or [`report`](Self::report) and drain
/// [`poll_alert_event`](Self::poll_alert_event).
#[derive(Debug)]
pub struct Monitor {
    pub(crate) config: HealthConfig,
    /// `rate_half_life` in seconds, cached for the hot path.
    pub(crate) half_life: f64,
    pub(crate) origin: Instant,
    /// A wall-clock anchor: `(instant, epoch milliseconds)` at one moment.
    pub(crate) clock: Option<(Instant, u64)>,
    pub(crate) connections: Vec<ConnTrack>,
    pub(crate) connection_names: HashMap<String, u32>,
    pub(crate) streams: Vec<StreamTrack>,
    pub(crate) stream_names: HashMap<String, u32>,
    pub(crate) breakers: Vec<BreakerTrack>,
    pub(crate) rest: RestTrack,
    pub(crate) lag: LagTrack,
    pub(crate) trend: Ring<TREND_BUCKETS>,
    pub(crate) totals: Totals,
    pub(crate) errors_by_class: [u64; ErrorClass::ALL.len()],
    pub(crate) alerts: AlertBook,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: Option<crate::metrics::Sink>,
}

impl Monitor {
    /// A monitor with nothing registered, started at `now`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`HealthConfig::validate`].
    pub fn new(config: HealthConfig, now: Instant) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            half_life: config.rate_half_life.as_secs_f64(),
            alerts: AlertBook::new(config.alerts.clone()),
            config,
            origin: now,
            clock: None,
            connections: Vec::new(),
            connection_names: HashMap::new(),
            streams: Vec::new(),
            stream_names: HashMap::new(),
            breakers: Vec::new(),
            rest: RestTrack::new(now),
            lag: LagTrack {
                seen: false,
                window: Ring::new(now),
                total: 0,
            },
            trend: Ring::new(now),
            totals: Totals::default(),
            errors_by_class: [0; ErrorClass::ALL.len()],
            #[cfg(feature = "metrics")]
            metrics: None,
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    /// Anchors the wall clock: at `now` it was `epoch_ms` milliseconds since
    /// the Unix epoch. Event latency (event time → receive time) is measured
    /// against this anchor, so call it every evaluation tick from the
    /// adapter that reads the clocks; without it no latency is measured.
    pub fn sync_clock(&mut self, now: Instant, epoch_ms: u64) {
        self.clock = Some((now, epoch_ms));
    }

    /// The wall-clock time of `now` in epoch milliseconds, if anchored.
    #[must_use]
    pub fn epoch_ms(&self, now: Instant) -> Option<u64> {
        let (anchor, epoch) = self.clock?;
        let since = now.saturating_duration_since(anchor).as_millis();
        Some(epoch.saturating_add(u64::try_from(since).unwrap_or(u64::MAX)))
    }

    /// Registers a connection (or finds the one of the same name) at `now`.
    ///
    /// The name appears in JSON and as a metric label: keep it short and
    /// bounded (`conn-1`); it is cleaned of anything that looks secret.
    pub fn register_connection(&mut self, name: &str, now: Instant) -> ConnectionId {
        let name = sanitize_name(name);
        if let Some(&index) = self.connection_names.get(&name) {
            return ConnectionId(index);
        }
        let index = u32::try_from(self.connections.len()).unwrap_or(u32::MAX);
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &mut self.metrics {
            metrics.register_connection(&name);
        }
        self.connection_names.insert(name.clone(), index);
        self.connections.push(ConnTrack::new(name, now));
        ConnectionId(index)
    }

    /// Registers a subscribed stream on `connection` (or reactivates the one
    /// of the same name, keeping its statistics) at `now`.
    ///
    /// `expected_interval` is the stream's normal interval between messages
    /// when it has a fixed cadence (`depth@100ms`: 100 ms; a 1 s ticker:
    /// 1 s); `None` learns it from traffic. The name is a metric label: one
    /// per subscription, so the label set is bounded by the subscriptions.
    pub fn register_stream(
        &mut self,
        name: &str,
        connection: ConnectionId,
        expected_interval: Option<Duration>,
        now: Instant,
    ) -> StreamId {
        let name = sanitize_name(name);
        if let Some(&index) = self.stream_names.get(&name) {
            let id = StreamId(index);
            if let Some(stream) = self.streams.get_mut(index as usize) {
                stream.expected = expected_interval;
                if !stream.active || stream.connection != connection.0 {
                    stream.active = true;
                    stream.connection = connection.0;
                    stream.assigned = now;
                    stream.delivered = false;
                }
            }
            return id;
        }
        let index = u32::try_from(self.streams.len()).unwrap_or(u32::MAX);
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &mut self.metrics {
            metrics.register_stream(&name);
        }
        self.stream_names.insert(name.clone(), index);
        self.streams
            .push(StreamTrack::new(name, connection.0, expected_interval, now));
        StreamId(index)
    }

    /// Moves a stream to another connection (pool rebalancing): it must
    /// deliver there before the monitor is ready again.
    pub fn move_stream(&mut self, stream: StreamId, connection: ConnectionId, now: Instant) {
        if let Some(track) = self.streams.get_mut(stream.index())
            && track.connection != connection.0
        {
            track.connection = connection.0;
            track.assigned = now;
            track.delivered = false;
        }
    }

    /// The stream was unsubscribed: it is no longer judged nor awaited. Its
    /// handle and statistics stay; registering the name again reactivates it.
    pub fn unregister_stream(&mut self, stream: StreamId) {
        if let Some(track) = self.streams.get_mut(stream.index()) {
            track.active = false;
        }
    }

    /// The handle of a registered stream, by name (as given or as cleaned).
    #[must_use]
    pub fn stream_id(&self, name: &str) -> Option<StreamId> {
        self.stream_names
            .get(name)
            .or_else(|| self.stream_names.get(&sanitize_name(name)))
            .map(|&index| StreamId(index))
    }

    /// The handle of a registered connection, by name.
    #[must_use]
    pub fn connection_id(&self, name: &str) -> Option<ConnectionId> {
        self.connection_names
            .get(name)
            .or_else(|| self.connection_names.get(&sanitize_name(name)))
            .map(|&index| ConnectionId(index))
    }

    /// Something happened to a connection at `now`.
    pub fn on_connection(&mut self, id: ConnectionId, event: ConnectionEvent, now: Instant) {
        let Some(conn) = self.connections.get_mut(id.index()) else {
            return;
        };
        let mut reset_streams = false;
        let mut recovered = None;
        let mut failed = None;
        match event {
            ConnectionEvent::Connecting => {
                conn.end_session(now);
                conn.state = ConnectionState::Connecting;
                conn.down_since.get_or_insert(now);
            }
            ConnectionEvent::Connected => {
                conn.end_session(now);
                conn.state = ConnectionState::Connected;
                conn.session_start = Some(now);
                conn.down_since = None;
                conn.connects += 1;
                if let Some(start) = conn.outage_start.take() {
                    let took = now.saturating_duration_since(start);
                    conn.recoveries += 1;
                    conn.recovery_total += took;
                    if conn.recent_recoveries.len() == RECENT_RECOVERIES {
                        conn.recent_recoveries.pop_front();
                    }
                    conn.recent_recoveries.push_back(took);
                    recovered = Some(took);
                }
                reset_streams = true;
            }
            ConnectionEvent::Disconnected(cause) => {
                let session = conn.end_session(now);
                conn.state = ConnectionState::Disconnected;
                conn.down_since.get_or_insert(now);
                conn.causes[cause.index()] += 1;
                conn.last_cause = Some(cause);
                if cause.is_failure() {
                    conn.failures += 1;
                    conn.outage_start.get_or_insert(now);
                    if conn.recent_failures.len() == RECENT_FAILURES {
                        conn.recent_failures.pop_front();
                    }
                    conn.recent_failures.push_back(Failure {
                        at: now,
                        cause,
                        session,
                    });
                    failed = Some(cause);
                }
                reset_streams = true;
            }
            ConnectionEvent::Reconnecting { .. } => {
                conn.end_session(now);
                conn.state = ConnectionState::Reconnecting;
                conn.down_since.get_or_insert(now);
            }
            ConnectionEvent::Rotated => {
                // Make-before-break: a new session, no outage, streams keep
                // delivering, so readiness is kept.
                conn.end_session(now);
                conn.session_start = Some(now);
                conn.state = ConnectionState::Connected;
                conn.down_since = None;
                conn.rotations += 1;
            }
            ConnectionEvent::Abandoned => {
                conn.end_session(now);
                conn.state = ConnectionState::Abandoned;
                conn.down_since.get_or_insert(now);
            }
            ConnectionEvent::Closed => {
                conn.end_session(now);
                conn.state = ConnectionState::Closed;
                conn.down_since = None;
                conn.outage_start = None;
                reset_streams = true;
            }
        }
        if reset_streams {
            for stream in self.streams.iter_mut().filter(|s| s.connection == id.0) {
                stream.delivered = false;
            }
        }
        if failed.is_some() {
            self.totals.failures += 1;
            self.trend.at(now).failures += 1;
        }
        if recovered.is_some() {
            self.totals.recoveries += 1;
        }
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            if let ConnectionEvent::Disconnected(cause) = event {
                metrics.disconnect(cause);
            }
            if let Some(took) = recovered {
                metrics.recovered(took);
            }
        }
    }

    /// A message of `bytes` bytes arrived on `stream` at `now`, carrying the
    /// event time `event_time_ms` (epoch milliseconds) if it has one.
    ///
    /// O(1) and allocation-free: an index, a few additions and comparisons;
    /// averages are folded once a second. Latency is measured when the wall
    /// clock is anchored ([`sync_clock`](Self::sync_clock)); an event time
    /// ahead of the receive time (clock skew) counts as zero latency.
    #[inline]
    pub fn on_message(
        &mut self,
        stream: StreamId,
        bytes: usize,
        event_time_ms: Option<u64>,
        now: Instant,
    ) {
        let Some(track) = self.streams.get_mut(stream.index()) else {
            return;
        };
        let latency_ms = match (event_time_ms, self.clock) {
            (Some(event), Some((anchor, epoch))) => {
                let since = now.saturating_duration_since(anchor).as_millis();
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "ms since the anchor fit in u64"
                )]
                let received = epoch.wrapping_add(since as u64);
                Some(received.saturating_sub(event))
            }
            _ => None,
        };
        let bytes = bytes as u64;
        let gap = track
            .last_message
            .map(|last| now.saturating_duration_since(last));
        track
            .meter
            .record(bytes, gap, latency_ms, now, self.half_life);
        track.messages += 1;
        track.bytes = track.bytes.saturating_add(bytes);
        if let Some(latency) = latency_ms {
            track.latency_sum_ms = track.latency_sum_ms.saturating_add(latency);
            track.latency_count += 1;
        }
        track.last_message = Some(now);
        track.delivered = true;
        let bucket = self.trend.at(now);
        bucket.messages += 1;
        bucket.bytes = bucket.bytes.saturating_add(bytes);
        self.totals.messages += 1;
        self.totals.bytes = self.totals.bytes.saturating_add(bytes);
    }

    /// Totals since the monitor started.
    #[must_use]
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Errors reported since the start, by class, in [`ErrorClass::ALL`]
    /// order.
    #[must_use]
    pub fn errors_by_class(&self) -> &[u64] {
        &self.errors_by_class
    }

    /// Reconnect causes of `connection` since the start, in
    /// [`DisconnectCause::ALL`](crate::DisconnectCause::ALL) order.
    #[must_use]
    pub fn causes(&self, connection: ConnectionId) -> Option<&[u64]> {
        self.connections
            .get(connection.index())
            .map(|c| &c.causes[..])
    }
}
