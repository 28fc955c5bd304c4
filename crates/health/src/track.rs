//! What the monitor remembers about each connection, stream, breaker and the
//! REST client between evaluations.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::input::{BreakerState, ConnectionState, DisconnectCause, RestStatus};
use crate::window::{Meter, Ring};

/// Recovery durations kept per connection for statistics.
pub(crate) const RECENT_RECOVERIES: usize = 16;
/// Failures kept per connection for reconnect-loop rules and diagnostics.
pub(crate) const RECENT_FAILURES: usize = 64;
/// Buckets of a per-component error window: one minute.
pub(crate) const MINUTE_BUCKETS: u64 = 6;

/// One failure: when, why, and how long the session before it lasted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    pub(crate) at: Instant,
    pub(crate) cause: DisconnectCause,
    pub(crate) session: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(crate) struct ConnTrack {
    pub(crate) name: String,
    pub(crate) state: ConnectionState,
    pub(crate) registered: Instant,
    /// When it last stopped being connected (registration for a new one);
    /// `None` while connected or closed.
    pub(crate) down_since: Option<Instant>,
    pub(crate) session_start: Option<Instant>,
    /// Total time of the sessions that ended.
    pub(crate) uptime: Duration,
    /// The first failure of the outage under way.
    pub(crate) outage_start: Option<Instant>,
    pub(crate) connects: u64,
    pub(crate) rotations: u64,
    pub(crate) failures: u64,
    pub(crate) recoveries: u64,
    pub(crate) recovery_total: Duration,
    pub(crate) recent_recoveries: VecDeque<Duration>,
    pub(crate) recent_failures: VecDeque<Failure>,
    pub(crate) causes: [u64; DisconnectCause::ALL.len()],
    pub(crate) last_cause: Option<DisconnectCause>,
    pub(crate) errors: Ring<6>,
    pub(crate) error_total: u64,
}

impl ConnTrack {
    pub(crate) fn new(name: String, now: Instant) -> Self {
        Self {
            name,
            state: ConnectionState::Idle,
            registered: now,
            down_since: Some(now),
            session_start: None,
            uptime: Duration::ZERO,
            outage_start: None,
            connects: 0,
            rotations: 0,
            failures: 0,
            recoveries: 0,
            recovery_total: Duration::ZERO,
            recent_recoveries: VecDeque::with_capacity(RECENT_RECOVERIES),
            recent_failures: VecDeque::with_capacity(RECENT_FAILURES),
            causes: [0; DisconnectCause::ALL.len()],
            last_cause: None,
            errors: Ring::new(now),
            error_total: 0,
        }
    }

    /// Ends the session under way, if any, returning its length.
    pub(crate) fn end_session(&mut self, now: Instant) -> Option<Duration> {
        let start = self.session_start.take()?;
        let length = now.saturating_duration_since(start);
        self.uptime += length;
        Some(length)
    }

    /// Total time connected, the session under way included.
    pub(crate) fn uptime_at(&self, now: Instant) -> Duration {
        self.uptime
            + self
                .session_start
                .map_or(Duration::ZERO, |start| now.saturating_duration_since(start))
    }

    /// Failures within `window` before `now`.
    pub(crate) fn failures_within(
        &self,
        window: Duration,
        now: Instant,
    ) -> impl Iterator<Item = &Failure> {
        self.recent_failures
            .iter()
            .filter(move |f| now.saturating_duration_since(f.at) <= window)
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.state == ConnectionState::Connected
    }
}

/// `repr(C)` keeps the fields in this order: the ones `on_message` touches
/// come first and share a few cache lines; the rest follow.
#[derive(Debug, Clone)]
#[repr(C)]
pub(crate) struct StreamTrack {
    pub(crate) meter: Meter,
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    /// Latency totals, for the metrics flush.
    pub(crate) latency_sum_ms: u64,
    pub(crate) latency_count: u64,
    pub(crate) last_message: Option<Instant>,
    /// Delivered since its connection's last (re)connect.
    pub(crate) delivered: bool,
    pub(crate) active: bool,
    pub(crate) connection: u32,
    pub(crate) name: String,
    pub(crate) expected: Option<Duration>,
    /// When it was registered or moved to its connection: silence is never
    /// counted from before.
    pub(crate) assigned: Instant,
    pub(crate) errors: Ring<6>,
    pub(crate) error_total: u64,
    pub(crate) gap_since: Option<Instant>,
    pub(crate) gaps: u64,
    pub(crate) backfills: [u64; 3],
    pub(crate) last_loss: Option<Instant>,
}

impl StreamTrack {
    pub(crate) fn new(
        name: String,
        connection: u32,
        expected: Option<Duration>,
        now: Instant,
    ) -> Self {
        Self {
            name,
            connection,
            expected,
            active: true,
            assigned: now,
            messages: 0,
            bytes: 0,
            latency_sum_ms: 0,
            latency_count: 0,
            last_message: None,
            delivered: false,
            meter: Meter::new(),
            errors: Ring::new(now),
            error_total: 0,
            gap_since: None,
            gaps: 0,
            backfills: [0; 3],
            last_loss: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BreakerTrack {
    pub(crate) name: String,
    pub(crate) state: BreakerState,
    pub(crate) since: Instant,
    pub(crate) opens: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct RestTrack {
    /// Whether anything about REST was ever reported: the component exists
    /// only then.
    pub(crate) seen: bool,
    pub(crate) status: RestStatus,
    pub(crate) updated: Option<Instant>,
    pub(crate) bans: u64,
    pub(crate) retry_afters: u64,
    pub(crate) errors: Ring<6>,
    pub(crate) error_total: u64,
}

impl RestTrack {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            seen: false,
            status: RestStatus::default(),
            updated: None,
            bans: 0,
            retry_afters: 0,
            errors: Ring::new(now),
            error_total: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LagTrack {
    pub(crate) seen: bool,
    pub(crate) window: Ring<6>,
    pub(crate) total: u64,
}
