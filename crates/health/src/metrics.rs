//! Mirrors the monitor's inputs into the [`metrics`] facade (feature
//! `metrics`), under the names of `docs/metrics.md`.
//!
//! Call [`Monitor::enable_metrics`] once, after the application installed
//! its recorder (for Prometheus: `ops::install_prometheus` with the `http`
//! feature). Handles are registered once per stream, connection and breaker
//! and cached. The per-message path costs nothing extra:
//! [`Monitor::on_message`] only updates the monitor's own per-stream totals,
//! and [`Monitor::evaluate`] publishes what they gained since the last
//! evaluation into the cached counters (so `messages_total` and
//! `message_bytes_total` are as fresh as the last evaluation, about a
//! second) and records each stream's mean latency over the interval as one
//! `event_latency_seconds` sample. Every other input is rare and updates its
//! handle at once. Gauges that describe state (levels, alerts, connection
//! states, message ages, readiness) are set by [`Monitor::evaluate`].
//!
//! Label sets are bounded: `stream`, `connection` and `breaker` take the
//! registered names (bounded by the subscriptions and the pool); `cause`,
//! `class`, `state`, `kind`, `level` and `outcome` take the labels of this
//! crate's enums.
//!
//! Handles bind to the recorder in force when they are registered. A test
//! with a local recorder (`metrics::with_local_recorder`) must register
//! streams and connections inside it.

use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Unit};

use crate::alert::AlertKind;
use crate::input::{
    BackfillOutcome, BreakerState, ConnectionState, DisconnectCause, ErrorClass, RestLimit,
    RestStatus,
};
use crate::monitor::Monitor;
use crate::track::StreamTrack;
use crate::{ComponentKind, Level, SystemHealth};

/// The default prefix of every metric name.
pub const DEFAULT_PREFIX: &str = "crypto_exchange";

/// Bucket bounds of `event_latency_seconds`, in seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Bucket bounds of `reconnect_duration_seconds`, in seconds.
pub const RECONNECT_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Every metric, as `(suffix, type, labels, meaning)`; the full name is
/// `{prefix}_{suffix}`. `docs/metrics.md` lists the same table, and a test
/// checks the two agree.
pub const METRICS: &[(&str, &str, &str, &str)] = &[
    ("connections", "gauge", "state", "connections in each state"),
    (
        "connection_up",
        "gauge",
        "connection",
        "1 while connected, 0 while down, NaN once closed on purpose",
    ),
    ("messages_total", "counter", "stream", "messages received"),
    ("message_bytes_total", "counter", "stream", "bytes received"),
    (
        "stream_last_message_age_seconds",
        "gauge",
        "stream",
        "age of the stream's last message",
    ),
    (
        "event_latency_seconds",
        "histogram",
        "",
        "event time to receive time: each stream's mean per evaluation",
    ),
    (
        "reconnects_total",
        "counter",
        "cause",
        "connection ends, by cause",
    ),
    (
        "reconnect_duration_seconds",
        "histogram",
        "",
        "time to recover from a failure",
    ),
    (
        "errors_total",
        "counter",
        "class",
        "errors reported, by class",
    ),
    (
        "breaker_state",
        "gauge",
        "breaker",
        "0 closed, 1 half-open, 2 open, 3 forced open, 4 disabled",
    ),
    (
        "rest_weight_used",
        "gauge",
        "",
        "REST weight used in the current window",
    ),
    (
        "rest_weight_limit",
        "gauge",
        "",
        "REST weight limit of the window",
    ),
    (
        "rest_banned",
        "gauge",
        "",
        "1 while a REST ban (418) is in force",
    ),
    (
        "rest_ban_remaining_seconds",
        "gauge",
        "",
        "time left of the REST ban",
    ),
    ("rest_bans_total", "counter", "", "REST bans begun"),
    (
        "health_level",
        "gauge",
        "",
        "system level: 0 healthy, 1 warning, 2 degraded, 3 unhealthy, 4 critical",
    ),
    (
        "components",
        "gauge",
        "kind, level",
        "components at each level",
    ),
    (
        "ready",
        "gauge",
        "",
        "1 when every subscribed stream delivered since its connection's last (re)connect",
    ),
    ("alerts_active", "gauge", "kind", "active alerts"),
    ("alerts_raised_total", "counter", "kind", "alerts raised"),
    (
        "subscriber_lagged_events_total",
        "counter",
        "",
        "events missed by slow subscribers",
    ),
    ("gaps_total", "counter", "", "gaps detected"),
    (
        "backfills_total",
        "counter",
        "outcome",
        "gaps closed, by outcome",
    ),
];

/// Where metrics go: the prefix of every name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Prefix of every name, without the trailing underscore
    /// (default [`DEFAULT_PREFIX`]).
    pub prefix: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }
}

#[derive(Debug)]
struct StreamHandles {
    messages: Counter,
    bytes: Counter,
    age: Gauge,
    /// The stream's totals as of the last flush.
    flushed_messages: u64,
    flushed_bytes: u64,
    flushed_latency_sum_ms: u64,
    flushed_latency_count: u64,
}

/// The cached handles.
#[derive(Debug)]
pub(crate) struct Sink {
    prefix: String,
    streams: Vec<StreamHandles>,
    connection_up: Vec<Gauge>,
    breakers: Vec<Gauge>,
    states: Vec<Gauge>,
    reconnects: Vec<Counter>,
    errors: Vec<Counter>,
    latency: Histogram,
    recovery: Histogram,
    rest_used: Gauge,
    rest_limit: Gauge,
    rest_banned: Gauge,
    rest_ban_remaining: Gauge,
    rest_bans: Counter,
    level: Gauge,
    components: Vec<Gauge>,
    ready: Gauge,
    alerts_active: Vec<Gauge>,
    alerts_raised: Vec<Counter>,
    lagged: Counter,
    gaps: Counter,
    backfills: Vec<Counter>,
}

impl StreamHandles {
    /// Publishes what the stream counted since the last flush: counter
    /// increments, and one latency sample (the interval's mean) if any.
    fn flush(&mut self, stream: &StreamTrack, latency: &Histogram) {
        if stream.messages > self.flushed_messages {
            self.messages
                .increment(stream.messages - self.flushed_messages);
            self.bytes
                .increment(stream.bytes.saturating_sub(self.flushed_bytes));
            self.flushed_messages = stream.messages;
            self.flushed_bytes = stream.bytes;
        }
        let count = stream
            .latency_count
            .saturating_sub(self.flushed_latency_count);
        if count > 0 {
            let sum = stream
                .latency_sum_ms
                .saturating_sub(self.flushed_latency_sum_ms);
            #[allow(
                clippy::cast_precision_loss,
                reason = "latencies are far below 2^52 ms"
            )]
            latency.record(sum as f64 / count as f64 / 1000.0);
            self.flushed_latency_count = stream.latency_count;
            self.flushed_latency_sum_ms = stream.latency_sum_ms;
        }
    }
}

impl Sink {
    fn name(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.prefix)
    }

    fn new(config: &MetricsConfig) -> Self {
        let prefix = config.prefix.trim_end_matches('_').to_owned();
        let name = |suffix: &str| format!("{prefix}_{suffix}");
        for &(suffix, kind, _, help) in METRICS {
            let full = name(suffix);
            match kind {
                "counter" => metrics::describe_counter!(full, Unit::Count, help),
                "histogram" => metrics::describe_histogram!(full, Unit::Seconds, help),
                _ => metrics::describe_gauge!(full, help),
            }
        }
        Self {
            streams: Vec::new(),
            connection_up: Vec::new(),
            breakers: Vec::new(),
            states: ConnectionState::ALL
                .iter()
                .map(|s| metrics::gauge!(name("connections"), "state" => s.as_str()))
                .collect(),
            reconnects: DisconnectCause::ALL
                .iter()
                .map(|c| metrics::counter!(name("reconnects_total"), "cause" => c.as_str()))
                .collect(),
            errors: ErrorClass::ALL
                .iter()
                .map(|c| metrics::counter!(name("errors_total"), "class" => c.as_str()))
                .collect(),
            latency: metrics::histogram!(name("event_latency_seconds")),
            recovery: metrics::histogram!(name("reconnect_duration_seconds")),
            rest_used: metrics::gauge!(name("rest_weight_used")),
            rest_limit: metrics::gauge!(name("rest_weight_limit")),
            rest_banned: metrics::gauge!(name("rest_banned")),
            rest_ban_remaining: metrics::gauge!(name("rest_ban_remaining_seconds")),
            rest_bans: metrics::counter!(name("rest_bans_total")),
            level: metrics::gauge!(name("health_level")),
            components: ComponentKind::ALL
                .iter()
                .flat_map(|kind| Level::ALL.iter().map(move |level| (*kind, *level)))
                .map(|(kind, level)| {
                    metrics::gauge!(
                        name("components"),
                        "kind" => kind.as_str(),
                        "level" => level.as_str()
                    )
                })
                .collect(),
            ready: metrics::gauge!(name("ready")),
            alerts_active: AlertKind::ALL
                .iter()
                .map(|k| metrics::gauge!(name("alerts_active"), "kind" => k.as_str()))
                .collect(),
            alerts_raised: AlertKind::ALL
                .iter()
                .map(|k| metrics::counter!(name("alerts_raised_total"), "kind" => k.as_str()))
                .collect(),
            lagged: metrics::counter!(name("subscriber_lagged_events_total")),
            gaps: metrics::counter!(name("gaps_total")),
            backfills: BackfillOutcome::ALL
                .iter()
                .map(|o| metrics::counter!(name("backfills_total"), "outcome" => o.as_str()))
                .collect(),
            prefix,
        }
    }

    pub(crate) fn register_stream(&mut self, stream: &str) {
        let label = stream.to_owned();
        self.streams.push(StreamHandles {
            messages: metrics::counter!(self.name("messages_total"), "stream" => label.clone()),
            bytes: metrics::counter!(self.name("message_bytes_total"), "stream" => label.clone()),
            age: metrics::gauge!(self.name("stream_last_message_age_seconds"), "stream" => label),
            flushed_messages: 0,
            flushed_bytes: 0,
            flushed_latency_sum_ms: 0,
            flushed_latency_count: 0,
        });
    }

    pub(crate) fn register_connection(&mut self, connection: &str) {
        let up = metrics::gauge!(self.name("connection_up"), "connection" => connection.to_owned());
        self.connection_up.push(up);
    }

    pub(crate) fn register_breaker(&mut self, breaker: &str) {
        let gauge = metrics::gauge!(self.name("breaker_state"), "breaker" => breaker.to_owned());
        self.breakers.push(gauge);
    }

    pub(crate) fn disconnect(&self, cause: DisconnectCause) {
        self.reconnects[cause.index()].increment(1);
    }

    pub(crate) fn recovered(&self, took: Duration) {
        self.recovery.record(took.as_secs_f64());
    }

    pub(crate) fn error(&self, class: ErrorClass) {
        self.errors[class.index()].increment(1);
    }

    pub(crate) fn breaker(&self, index: usize, state: BreakerState) {
        if let Some(gauge) = self.breakers.get(index) {
            #[allow(clippy::cast_precision_loss, reason = "a small index")]
            gauge.set(state.index() as f64);
        }
    }

    pub(crate) fn rest(&self, status: &RestStatus, new_ban: bool, now: Instant) {
        self.rest_used.set(f64::from(status.used_weight));
        self.rest_limit.set(f64::from(status.weight_limit));
        self.rest_ban(status, now);
        if new_ban {
            self.rest_bans.increment(1);
        }
    }

    fn rest_ban(&self, status: &RestStatus, now: Instant) {
        let remaining = match status.limit {
            RestLimit::Banned { until } => until.saturating_duration_since(now),
            _ => Duration::ZERO,
        };
        self.rest_banned
            .set(if remaining.is_zero() { 0.0 } else { 1.0 });
        self.rest_ban_remaining.set(remaining.as_secs_f64());
    }

    pub(crate) fn lag(&self, missed: u64) {
        self.lagged.increment(missed);
    }

    pub(crate) fn gap(&self) {
        self.gaps.increment(1);
    }

    pub(crate) fn backfill(&self, outcome: BackfillOutcome) {
        self.backfills[outcome.index()].increment(1);
    }
}

impl Monitor {
    /// Mirrors every input from now on into the [`metrics`] facade, under
    /// `config.prefix`; registers handles for what is already registered.
    /// Install the recorder first: handles bind to the recorder in force.
    /// Calling it again re-registers every handle.
    pub fn enable_metrics(&mut self, config: &MetricsConfig) {
        let mut sink = Sink::new(config);
        for stream in &self.streams {
            sink.register_stream(&stream.name);
        }
        for conn in &self.connections {
            sink.register_connection(&conn.name);
        }
        for (index, breaker) in self.breakers.iter().enumerate() {
            sink.register_breaker(&breaker.name);
            sink.breaker(index, breaker.state);
        }
        self.metrics = Some(sink);
    }

    /// Whether [`enable_metrics`](Self::enable_metrics) was called.
    #[must_use]
    pub fn metrics_enabled(&self) -> bool {
        self.metrics.is_some()
    }

    /// Flushes the per-stream tallies and sets the state gauges after an
    /// evaluation.
    pub(crate) fn publish_metrics(&mut self, health: &SystemHealth, now: Instant) {
        let ready = self.readiness().ready;
        let Some(sink) = &mut self.metrics else {
            return;
        };
        for (stream, handles) in self.streams.iter().zip(&mut sink.streams) {
            handles.flush(stream, &sink.latency);
        }
        let sink = &*sink;
        sink.level.set(f64::from(health.level.as_u8()));
        let mut components = [[0u32; 5]; 5];
        for component in &health.components {
            let kind = ComponentKind::ALL
                .iter()
                .position(|k| *k == component.kind)
                .unwrap_or(0);
            components[kind][usize::from(component.level.as_u8())] += 1;
        }
        for (kind, levels) in components.iter().enumerate() {
            for (level, count) in levels.iter().enumerate() {
                sink.components[kind * 5 + level].set(f64::from(*count));
            }
        }
        let mut states = [0u32; ConnectionState::ALL.len()];
        for (conn, up) in self.connections.iter().zip(&sink.connection_up) {
            if let Some(i) = ConnectionState::ALL.iter().position(|s| *s == conn.state) {
                states[i] += 1;
            }
            // A connection closed on purpose is not expected up: NaN, which
            // no alert rule's comparison matches.
            up.set(match conn.state {
                ConnectionState::Connected => 1.0,
                ConnectionState::Closed => f64::NAN,
                _ => 0.0,
            });
        }
        for (gauge, count) in sink.states.iter().zip(states) {
            gauge.set(f64::from(count));
        }
        for (stream, handles) in self.streams.iter().zip(&sink.streams) {
            let age = stream
                .last_message
                .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
            handles.age.set(age);
        }
        sink.rest_ban(&self.rest.status, now);
        sink.ready.set(if ready { 1.0 } else { 0.0 });
        #[allow(clippy::cast_precision_loss, reason = "alert counts are small")]
        for (gauge, count) in sink.alerts_active.iter().zip(self.alerts.active_by_kind()) {
            gauge.set(count as f64);
        }
        for (counter, raised) in sink.alerts_raised.iter().zip(self.alerts.raised) {
            counter.absolute(raised);
        }
    }
}
