//! Point-in-time views of a breaker, for health checks and dashboards.

use std::fmt;
use std::time::{Duration, Instant};

/// Which state a breaker is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum State {
    /// Calls run; failures are counted against the trip rules.
    Closed,
    /// Calls are rejected until the open period ends.
    Open,
    /// A limited number of probes run; their results close or re-open it.
    HalfOpen,
    /// Opened by hand: calls are rejected until a reset.
    ForcedOpen,
    /// Switched off by hand: calls run and are never judged until a reset.
    Disabled,
}

impl State {
    /// A stable lower-case name, for metric labels and logs (`half_open`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
            Self::ForcedOpen => "forced_open",
            Self::Disabled => "disabled",
        }
    }

    /// Whether calls are being turned away (open or forced open).
    #[must_use]
    pub fn is_rejecting(self) -> bool {
        matches!(self, Self::Open | Self::ForcedOpen)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Running totals since the breaker was built (a reset keeps them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Totals {
    /// Calls admitted (permits handed out).
    pub admitted: u64,
    /// Calls rejected.
    pub rejected: u64,
    /// Results recorded as successes.
    pub successes: u64,
    /// Results recorded as failures, slow calls included.
    pub failures: u64,
    /// Successes recorded as failures because they were slow.
    pub slow_calls: u64,
    /// Results reported as [`Outcome::Ignored`](crate::Outcome::Ignored).
    pub ignored: u64,
    /// Permits given back with [`on_cancel`](crate::Breaker::on_cancel).
    pub cancelled: u64,
    /// Results and cancellations of permits issued before the breaker last
    /// changed state: counted here, judged nowhere.
    pub late: u64,
}

/// A point-in-time copy of a [`Breaker`](crate::Breaker)'s state, for health.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// The state.
    pub state: State,
    /// When the breaker entered it; `None` before the first transition and
    /// after [`disable`](crate::Breaker::disable), which takes no time.
    pub since: Option<Instant>,
    /// When the breaker may admit again, if it is rejecting: the end of the
    /// open period, or the probe deadline when half-open with every probe
    /// slot taken. `None` otherwise (a forced-open breaker waits for a reset).
    pub retry_at: Option<Instant>,
    /// Failures in a row while closed.
    pub consecutive_failures: u32,
    /// Calls in the failure-rate window, as of the last recorded call (0
    /// without a failure-rate rule).
    pub window_calls: u64,
    /// Failures in the failure-rate window, as of the last recorded call.
    pub window_failures: u64,
    /// `window_failures / window_calls`; `None` when the window is empty.
    pub failure_rate: Option<f64>,
    /// Half-open probes admitted and not yet given back.
    pub probes_in_flight: u32,
    /// Successful probes in the current half-open period.
    pub probe_successes: u32,
    /// Re-openings since the breaker was last closed.
    pub reopens: u32,
    /// The length of the current (or last) open period.
    pub open_duration: Duration,
    /// Running totals.
    pub totals: Totals,
    /// Events dropped because nobody polled them.
    pub dropped_events: u64,
}
