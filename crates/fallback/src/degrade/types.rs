//! The degradation plan's vocabulary.

use std::fmt;
use std::time::{Duration, Instant};

/// Whether a stream can be served by REST polling, and at what cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Polling {
    /// It can: each poll costs `weight`, ideally every `normal_interval`.
    Supported {
        /// The REST weight of one poll.
        weight: u32,
        /// How often it would be polled with budget to spare.
        normal_interval: Duration,
    },
    /// It cannot (no REST equivalent, or not worth it): without its
    /// WebSocket it is stale or unavailable.
    Unsupported,
}

/// Whether any WebSocket endpoint is usable
/// ([`EndpointSet::any_usable`](crate::EndpointSet::any_usable)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WsAvailability {
    /// At least one endpoint may be tried.
    Usable,
    /// Every endpoint is down (breakers open, or failing beyond the
    /// threshold): streams not live are polled at once.
    Unusable,
}

/// Whether REST requests may be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RestAvailability {
    /// Requests may be made.
    Available,
    /// They may not (a 429 `Retry-After` or a 418 ban in force, the REST
    /// host down): polled streams fall back to their last values.
    Unavailable,
}

/// How one stream is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum StreamStatus {
    /// Over its WebSocket.
    Live,
    /// By REST polling, at the interval in the
    /// [`poll_plan`](crate::DegradationPlan::poll_plan).
    Polled,
    /// Not served: its last-known value is all there is.
    Stale,
    /// Not served, and no value was ever received.
    Unavailable,
}

impl StreamStatus {
    /// A stable lower-case name, for metric labels and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Polled => "polled",
            Self::Stale => "stale",
            Self::Unavailable => "unavailable",
        }
    }

    /// Whether new values arrive (live or polled).
    #[must_use]
    pub fn is_served(self) -> bool {
        matches!(self, Self::Live | Self::Polled)
    }
}

impl fmt::Display for StreamStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the whole set of streams is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ServiceLevel {
    /// Every stream is live (or there are none).
    Full,
    /// Every stream is served, some by polling.
    Degraded,
    /// Some streams are served, some are not: partial service.
    Partial,
    /// No stream is served.
    Down,
}

impl ServiceLevel {
    /// A stable lower-case name, for metric labels and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Degraded => "degraded",
            Self::Partial => "partial",
            Self::Down => "down",
        }
    }
}

/// Something that changed in a [`DegradationPlan`](crate::DegradationPlan).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanEvent<K> {
    /// A stream's status changed.
    StatusChanged {
        /// The stream.
        stream: K,
        /// Before.
        from: StreamStatus,
        /// After.
        to: StreamStatus,
        /// When.
        at: Instant,
    },
    /// The set of polled streams or their intervals changed: read
    /// [`poll_plan`](crate::DegradationPlan::poll_plan) and reschedule.
    PollPlanChanged {
        /// When.
        at: Instant,
        /// Streams polled.
        polled: usize,
        /// Of which, polled slower than normal.
        slowed: usize,
    },
    /// The service level changed.
    ServiceChanged {
        /// Before.
        from: ServiceLevel,
        /// After.
        to: ServiceLevel,
        /// When.
        at: Instant,
    },
}

/// Counts of a [`DegradationPlan`](crate::DegradationPlan) at one instant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PlanSnapshot {
    /// The service level.
    pub service: ServiceLevel,
    /// Streams live.
    pub live: usize,
    /// Streams polled.
    pub polled: usize,
    /// Of which, polled slower than normal.
    pub polled_slower: usize,
    /// Streams stale.
    pub stale: usize,
    /// Streams unavailable.
    pub unavailable: usize,
    /// Whether any WebSocket endpoint is usable, as last reported.
    pub websocket: WsAvailability,
    /// Whether REST is available, as last reported.
    pub rest: RestAvailability,
    /// Weight polling spends per window, on average.
    pub poll_weight_per_window: f64,
    /// Weight polling may spend per window.
    pub poll_budget_per_window: f64,
    /// Events dropped because nobody polled them.
    pub dropped_events: u64,
}
