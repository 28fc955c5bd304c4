//! Statistics snapshots: per connection, per stream, trends over 1, 5 and
//! 15 minutes. Everything is computed at the instant asked for, from the
//! counters the inputs keep.

use std::time::{Duration, Instant};

use crate::input::{
    BreakerState, ConnectionId, ConnectionState, DisconnectCause, RestStatus, StreamId,
};
use crate::monitor::{Monitor, Totals};
use crate::track::{ConnTrack, MINUTE_BUCKETS, StreamTrack};

#[cfg(feature = "serde")]
pub(crate) mod ms {
    //! Durations as whole milliseconds in JSON.
    use std::time::Duration;

    #[allow(
        clippy::cast_possible_truncation,
        reason = "no duration here spans 584 million years"
    )]
    fn millis(d: Duration) -> u64 {
        d.as_millis() as u64
    }

    pub(crate) fn ser<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(millis(*d))
    }

    #[allow(
        clippy::ref_option,
        reason = "serde's serialize_with passes a reference"
    )]
    pub(crate) fn opt<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&millis(*d)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn list<S: serde::Serializer>(d: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(d.iter().map(|d| millis(*d)))
    }
}

/// Statistics of one connection.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ConnectionStats {
    /// Its name.
    pub name: String,
    /// Where it is.
    pub state: ConnectionState,
    /// Total time connected since registration.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "uptime_ms", serialize_with = "ms::ser")
    )]
    pub uptime: Duration,
    /// Share of the time since registration spent connected, 0 to 1.
    pub availability: f64,
    /// Age of the session under way, if connected.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "session_age_ms", serialize_with = "ms::opt")
    )]
    pub session_age: Option<Duration>,
    /// Length of the outage under way, if down after a failure.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "outage_ms", serialize_with = "ms::opt")
    )]
    pub outage: Option<Duration>,
    /// Messages per second over its streams (moving average).
    pub messages_per_sec: f64,
    /// Bytes per second over its streams (moving average).
    pub bytes_per_sec: f64,
    /// Errors in the last minute.
    pub errors_per_min: f64,
    /// Age of its streams' latest message.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "last_message_age_ms", serialize_with = "ms::opt")
    )]
    pub last_message_age: Option<Duration>,
    /// Sessions opened (first connect and every reconnect).
    pub connects: u64,
    /// Reconnects: sessions after the first.
    pub reconnects: u64,
    /// Make-before-break rotations.
    pub rotations: u64,
    /// Unplanned ends (failures).
    pub failures: u64,
    /// The last cause reported.
    pub last_cause: Option<DisconnectCause>,
    /// Mean time to recover: outage length averaged over recoveries.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "mttr_ms", serialize_with = "ms::opt")
    )]
    pub mttr: Option<Duration>,
    /// Mean time between failures: time connected per failure.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "mtbf_ms", serialize_with = "ms::opt")
    )]
    pub mtbf: Option<Duration>,
    /// The latest recovery times, oldest first (at most 16).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "recoveries_ms", serialize_with = "ms::list")
    )]
    pub recoveries: Vec<Duration>,
    /// Streams assigned to it.
    pub streams: usize,
}

/// Statistics of one stream.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct StreamStats {
    /// Its name.
    pub name: String,
    /// The name of its connection.
    pub connection: String,
    /// Whether it is subscribed (not unregistered).
    pub active: bool,
    /// Messages received.
    pub messages: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Messages per second (moving average).
    pub messages_per_sec: f64,
    /// Bytes per second (moving average).
    pub bytes_per_sec: f64,
    /// Errors in the last minute.
    pub errors_per_min: f64,
    /// Age of its last message.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "last_message_age_ms", serialize_with = "ms::opt")
    )]
    pub last_message_age: Option<Duration>,
    /// The normal interval the silence rule uses (expected or learned).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "normal_interval_ms", serialize_with = "ms::ser")
    )]
    pub normal_interval: Duration,
    /// Mean event latency (event time → receive time), if measured.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "latency_ms", serialize_with = "ms::opt")
    )]
    pub latency: Option<Duration>,
    /// Delivered since its connection's last (re)connect.
    pub delivered_since_connect: bool,
    /// Gaps detected.
    pub gaps: u64,
    /// Gaps closed, by outcome: recovered, resynced, lost.
    pub backfills: [u64; 3],
}

/// One trend window's rates.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct TrendWindow {
    /// The window: 1, 5 or 15 minutes.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "window_ms", serialize_with = "ms::ser")
    )]
    pub window: Duration,
    /// The time the figures cover: the window, or less while the monitor is
    /// younger.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "covered_ms", serialize_with = "ms::ser")
    )]
    pub covered: Duration,
    /// Messages per second.
    pub messages_per_sec: f64,
    /// Bytes per second.
    pub bytes_per_sec: f64,
    /// Errors per minute.
    pub errors_per_min: f64,
    /// Errors per message received (0 when nothing arrived).
    pub error_ratio: f64,
    /// Connection failures per minute.
    pub failures_per_min: f64,
    /// Events missed by slow subscribers per minute.
    pub lagged_per_min: f64,
}

/// Rates over the last 1, 5 and 15 minutes, in complete 10-second buckets
/// (so they lag by less than 10 s).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Trends {
    /// The last minute.
    pub m1: TrendWindow,
    /// The last 5 minutes.
    pub m5: TrendWindow,
    /// The last 15 minutes.
    pub m15: TrendWindow,
}

/// A breaker as last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BreakerStats {
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: BreakerState,
    /// Time in that state.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "for_ms", serialize_with = "ms::ser")
    )]
    pub for_: Duration,
    /// Times it opened.
    pub opens: u64,
}

/// Everything at once, for dashboards and the terminal view.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Stats {
    /// Time since the monitor started.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "age_ms", serialize_with = "ms::ser")
    )]
    pub age: Duration,
    /// Every connection, in registration order.
    pub connections: Vec<ConnectionStats>,
    /// Every stream, in registration order.
    pub streams: Vec<StreamStats>,
    /// Every breaker.
    pub breakers: Vec<BreakerStats>,
    /// The REST client's last status: used weight and limit.
    pub rest_weight: (u32, u32),
    /// REST bans begun.
    pub rest_bans: u64,
    /// Totals since the start.
    pub totals: Totals,
    /// Rates over 1, 5 and 15 minutes.
    pub trends: Trends,
}

#[allow(
    clippy::cast_precision_loss,
    reason = "statistics need no exact counts"
)]
fn ratio(count: u64, over: Duration, unit: f64) -> f64 {
    let secs = over.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        count as f64 * unit / secs
    }
}

impl Monitor {
    /// Rates over the last 1, 5 and 15 minutes at `now`.
    #[must_use]
    pub fn trends(&self, now: Instant) -> Trends {
        let window = |minutes: u64| {
            let (counts, covered) = self.trend.complete(now, minutes * MINUTE_BUCKETS);
            #[allow(clippy::cast_precision_loss, reason = "ratios need no exact counts")]
            let error_ratio = if counts.messages == 0 {
                0.0
            } else {
                counts.errors as f64 / counts.messages as f64
            };
            TrendWindow {
                window: Duration::from_secs(minutes * 60),
                covered,
                messages_per_sec: ratio(counts.messages, covered, 1.0),
                bytes_per_sec: ratio(counts.bytes, covered, 1.0),
                errors_per_min: ratio(counts.errors, covered, 60.0),
                error_ratio,
                failures_per_min: ratio(counts.failures, covered, 60.0),
                lagged_per_min: ratio(counts.lagged, covered, 60.0),
            }
        };
        Trends {
            m1: window(1),
            m5: window(5),
            m15: window(15),
        }
    }

    /// Statistics of one connection at `now`.
    #[must_use]
    pub fn connection_stats(&self, id: ConnectionId, now: Instant) -> Option<ConnectionStats> {
        let conn = self.connections.get(id.index())?;
        Some(self.conn_stats(id.0, conn, now))
    }

    /// Statistics of one stream at `now`.
    #[must_use]
    pub fn stream_stats(&self, id: StreamId, now: Instant) -> Option<StreamStats> {
        let stream = self.streams.get(id.index())?;
        Some(self.stream_stats_of(stream, now))
    }

    /// Everything at `now`.
    #[must_use]
    pub fn stats(&self, now: Instant) -> Stats {
        Stats {
            age: now.saturating_duration_since(self.origin),
            connections: (0u32..)
                .zip(&self.connections)
                .map(|(index, conn)| self.conn_stats(index, conn, now))
                .collect(),
            streams: self
                .streams
                .iter()
                .map(|s| self.stream_stats_of(s, now))
                .collect(),
            breakers: self
                .breakers
                .iter()
                .map(|b| BreakerStats {
                    name: b.name.clone(),
                    state: b.state,
                    for_: now.saturating_duration_since(b.since),
                    opens: b.opens,
                })
                .collect(),
            rest_weight: (self.rest.status.used_weight, self.rest.status.weight_limit),
            rest_bans: self.rest.bans,
            totals: self.totals,
            trends: self.trends(now),
        }
    }

    /// The REST status last reported.
    #[must_use]
    pub fn rest_status(&self) -> RestStatus {
        self.rest.status
    }

    fn conn_stats(&self, index: u32, conn: &ConnTrack, now: Instant) -> ConnectionStats {
        let mut messages_per_sec = 0.0;
        let mut bytes_per_sec = 0.0;
        let mut last_message: Option<Instant> = None;
        let mut streams = 0;
        for stream in self
            .streams
            .iter()
            .filter(|s| s.active && s.connection == index)
        {
            let reading = stream.meter.read(now, self.half_life);
            messages_per_sec += reading.messages_per_sec;
            bytes_per_sec += reading.bytes_per_sec;
            last_message = last_message.max(stream.last_message);
            streams += 1;
        }
        let uptime = conn.uptime_at(now);
        let lifetime = now.saturating_duration_since(conn.registered);
        let availability = if lifetime.is_zero() {
            0.0
        } else {
            (uptime.as_secs_f64() / lifetime.as_secs_f64()).min(1.0)
        };
        ConnectionStats {
            name: conn.name.clone(),
            state: conn.state,
            uptime,
            availability,
            session_age: conn.session_start.map(|s| now.saturating_duration_since(s)),
            outage: conn.outage_start.map(|s| now.saturating_duration_since(s)),
            messages_per_sec,
            bytes_per_sec,
            errors_per_min: ratio(
                conn.errors.recent(now, MINUTE_BUCKETS).errors,
                Duration::from_secs(60),
                60.0,
            ),
            last_message_age: last_message.map(|t| now.saturating_duration_since(t)),
            connects: conn.connects,
            reconnects: conn.connects.saturating_sub(1),
            rotations: conn.rotations,
            failures: conn.failures,
            last_cause: conn.last_cause,
            mttr: u32::try_from(conn.recoveries)
                .ok()
                .filter(|&n| n > 0)
                .map(|n| conn.recovery_total / n),
            mtbf: u32::try_from(conn.failures)
                .ok()
                .filter(|&n| n > 0)
                .map(|n| uptime / n),
            recoveries: conn.recent_recoveries.iter().copied().collect(),
            streams,
        }
    }

    fn stream_stats_of(&self, stream: &StreamTrack, now: Instant) -> StreamStats {
        let reading = stream.meter.read(now, self.half_life);
        StreamStats {
            name: stream.name.clone(),
            connection: self
                .connections
                .get(stream.connection as usize)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            active: stream.active,
            messages: stream.messages,
            bytes: stream.bytes,
            messages_per_sec: reading.messages_per_sec,
            bytes_per_sec: reading.bytes_per_sec,
            errors_per_min: ratio(
                stream.errors.recent(now, MINUTE_BUCKETS).errors,
                Duration::from_secs(60),
                60.0,
            ),
            last_message_age: stream
                .last_message
                .map(|t| now.saturating_duration_since(t)),
            normal_interval: self.normal_interval(stream, now),
            latency: reading.latency,
            delivered_since_connect: stream.delivered,
            gaps: stream.gaps,
            backfills: stream.backfills,
        }
    }
}
