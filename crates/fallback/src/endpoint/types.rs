//! The endpoint set's vocabulary: breaker reports in; health, selections,
//! events and snapshots out.

use std::time::{Duration, Instant};

/// What the caller's circuit breaker for an endpoint says, in this crate's
/// own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls run.
    Closed,
    /// Probes run: the endpoint may be tried.
    HalfOpen,
    /// Calls are rejected until `retry_at` (`None`: until reported closed or
    /// half-open).
    Open {
        /// When the breaker admits probes again, if known.
        retry_at: Option<Instant>,
    },
}

/// How an endpoint stands, from its score and its breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointHealth {
    /// Usable, scoring at least `healthy_score`.
    Healthy,
    /// Usable, scoring below `healthy_score`.
    Unhealthy,
    /// Not usable: its breaker is open, or it failed `down_after` times in a
    /// row less than `down_for` ago.
    Down {
        /// When it may be tried again (`None`: when its breaker is reported
        /// closed or half-open).
        until: Option<Instant>,
    },
}

impl EndpointHealth {
    /// A stable lower-case name, for metric labels and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Down { .. } => "down",
        }
    }

    /// Whether the endpoint may be tried (healthy or unhealthy).
    #[must_use]
    pub fn is_usable(self) -> bool {
        !matches!(self, Self::Down { .. })
    }
}

/// Why a switch away from the current endpoint happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailoverCause {
    /// The current endpoint is down. The only switch `min_dwell` does not
    /// hold back.
    Down,
    /// The current endpoint is unhealthy and another is healthy.
    Unhealthy,
    /// The current endpoint is unhealthy, none is healthy, and another
    /// scores at least `switch_margin` more.
    BetterScore,
}

/// Why [`EndpointSet::select`](crate::EndpointSet::select) chose what it
/// chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SelectReason {
    /// The first choice: the primary if healthy, else the best alternative.
    Initial,
    /// The current endpoint is fine: no switch wanted.
    Stay,
    /// A switch is wanted, but the last one was less than `min_dwell` ago:
    /// the current endpoint is kept until `until`.
    Held {
        /// When the switch may happen (select again then).
        until: Instant,
    },
    /// Moved away from endpoint `from`.
    Failover {
        /// The index of the endpoint left.
        from: usize,
        /// Why.
        cause: FailoverCause,
    },
    /// Moved back to the primary, healthy for `failback_after`.
    Failback {
        /// The index of the alternative left.
        from: usize,
    },
}

impl SelectReason {
    /// Whether this selection moved traffic to another endpoint (an initial
    /// choice is not a switch).
    #[must_use]
    pub fn is_switch(self) -> bool {
        matches!(self, Self::Failover { .. } | Self::Failback { .. })
    }
}

/// The endpoint to use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Selection<E> {
    /// The endpoint.
    pub endpoint: E,
    /// Its position in the set (0 is the primary).
    pub index: usize,
    /// Why it was chosen.
    pub reason: SelectReason,
}

/// Something that changed in an [`EndpointSet`](crate::EndpointSet), for
/// logs, metrics and alerts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EndpointEvent<E> {
    /// Traffic moved to `to` (`from` is `None` for the initial choice).
    Switched {
        /// The endpoint left.
        from: Option<E>,
        /// The endpoint chosen.
        to: E,
        /// Why.
        reason: SelectReason,
        /// When.
        at: Instant,
    },
    /// An endpoint's health changed.
    HealthChanged {
        /// The endpoint.
        endpoint: E,
        /// Before.
        from: EndpointHealth,
        /// After.
        to: EndpointHealth,
        /// Its score now.
        score: f64,
        /// When the change was observed.
        at: Instant,
    },
    /// No endpoint is usable: every one is down (reported once per episode,
    /// at the first selection that finds none).
    NoneUsable {
        /// When.
        at: Instant,
        /// When the first one may be tried again, if known.
        retry_at: Option<Instant>,
    },
}

/// One endpoint in an [`EndpointSnapshot`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EndpointStatus<E> {
    /// The endpoint.
    pub endpoint: E,
    /// Its score in `[0, 1]`.
    pub score: f64,
    /// Its health.
    pub health: EndpointHealth,
    /// The moving average of outcomes (1 success, 0 failure), in `[0, 1]`.
    pub success_rate: f64,
    /// The moving average of connect times, if any was reported.
    pub connect_time: Option<Duration>,
    /// The moving average of silences (1 a silence, 0 a success), in `[0, 1]`.
    pub silence: f64,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Since when it has been healthy with no failure or silence reported
    /// (set by a success).
    pub healthy_since: Option<Instant>,
    /// Successes reported.
    pub successes: u64,
    /// Failures reported.
    pub failures: u64,
    /// Silences reported.
    pub silences: u64,
}

/// A point-in-time copy of an [`EndpointSet`](crate::EndpointSet).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EndpointSnapshot<E> {
    /// Every endpoint, in priority order (the primary first).
    pub endpoints: Vec<EndpointStatus<E>>,
    /// The index of the endpoint in use.
    pub current: Option<usize>,
    /// When the set last switched (or made its initial choice).
    pub switched_at: Option<Instant>,
    /// Switches since the set was built, the initial choice not counted.
    pub switches: u64,
    /// Events dropped because nobody polled them.
    pub dropped_events: u64,
}
