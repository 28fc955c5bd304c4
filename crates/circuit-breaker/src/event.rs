//! Events: every transition of a [`Breaker`](crate::Breaker) as a value, for
//! the facade to turn into logs, metrics and alerts.

use std::time::{Duration, Instant};

use crate::State;

/// Why a breaker opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpenReason {
    /// `consecutive_failures` failures in a row while closed.
    ConsecutiveFailures {
        /// Failures in the run that tripped it.
        failures: u32,
    },
    /// The failure rate over the window reached the threshold.
    FailureRate {
        /// Failures in the window.
        failures: u64,
        /// Calls in the window.
        calls: u64,
    },
    /// A half-open probe failed (or was slow).
    ProbeFailed,
    /// Half-open with probes out, nothing was heard of them for
    /// `probe_timeout`.
    ProbeTimedOut,
}

/// One transition of a [`Breaker`](crate::Breaker).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerEvent {
    /// The breaker opened (tripped while closed, or re-opened from
    /// half-open): calls are rejected until `retry_at`.
    Opened {
        /// When.
        at: Instant,
        /// When it goes half-open.
        retry_at: Instant,
        /// How long it stays open: `retry_at − at`.
        open_for: Duration,
        /// Why.
        reason: OpenReason,
        /// Re-openings since it was last closed: 0 when it trips while
        /// closed, 1 after the first failed probe, …
        reopens: u32,
    },
    /// The open period ended: the breaker admits probes.
    HalfOpened {
        /// When the transition was observed (an admission or
        /// [`handle_timeout`](crate::Breaker::handle_timeout) at or after
        /// `retry_at`).
        at: Instant,
    },
    /// Enough probes succeeded: the breaker closed.
    Closed {
        /// When.
        at: Instant,
        /// The successful probes that closed it.
        successes: u32,
    },
    /// [`Breaker::force_open`](crate::Breaker::force_open): rejects every
    /// call until [`reset`](crate::Breaker::reset).
    ForcedOpen {
        /// When.
        at: Instant,
    },
    /// [`Breaker::disable`](crate::Breaker::disable): admits every call and
    /// never trips until [`reset`](crate::Breaker::reset).
    Disabled,
    /// [`Breaker::reset`](crate::Breaker::reset): closed, with every count
    /// forgotten.
    Reset {
        /// When.
        at: Instant,
        /// The state it was reset from.
        from: State,
    },
}

impl BreakerEvent {
    /// The state the breaker is in after this event.
    #[must_use]
    pub fn state(&self) -> State {
        match self {
            Self::Opened { .. } => State::Open,
            Self::HalfOpened { .. } => State::HalfOpen,
            Self::Closed { .. } | Self::Reset { .. } => State::Closed,
            Self::ForcedOpen { .. } => State::ForcedOpen,
            Self::Disabled => State::Disabled,
        }
    }
}
