//! Events: every transition of a [`Reconnector`](crate::Reconnector) as a
//! value, for the facade to turn into logs, metrics and alerts.

use std::time::{Duration, Instant};

use crate::{AbandonReason, Cause, CauseClass};

/// Which rule chose a delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DelayKind {
    /// The ordinary exponential schedule.
    Schedule,
    /// The longer rate-limit backoff (or a `Retry-After`).
    RateLimit,
    /// A planned end of a healthy connection: reconnect at once.
    Planned,
}

/// One transition of a [`Reconnector`](crate::Reconnector).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconnectEvent {
    /// A connection opened.
    Connected {
        /// When.
        at: Instant,
        /// Failed attempts in the outage this connection ends (0 if none).
        after_failures: u32,
    },
    /// A connection stayed open for `healthy_after`: the schedule reset.
    Healthy {
        /// When the connection became healthy (`opened + healthy_after`).
        at: Instant,
        /// Failed attempts the reset forgot.
        reset_failures: u32,
    },
    /// A connection ended or an attempt failed.
    Disconnected {
        /// When.
        at: Instant,
        /// Why.
        cause: Cause,
        /// How the cause was classified.
        class: CauseClass,
        /// How long the connection had been open; `None` for a failed attempt.
        connected_for: Option<Duration>,
    },
    /// The next attempt is scheduled.
    Scheduled {
        /// When the decision was made.
        at: Instant,
        /// The attempt number in this outage, from 1 (0 for a planned
        /// reconnect, which is not a failure).
        attempt: u32,
        /// Which rule chose the delay.
        kind: DelayKind,
        /// The delay, jitter included.
        delay: Duration,
        /// When the attempt may start.
        retry_at: Instant,
    },
    /// The machine gave up; only [`Reconnector::reset`](crate::Reconnector::reset) revives it.
    Abandoned {
        /// When.
        at: Instant,
        /// Why.
        reason: AbandonReason,
    },
}
