//! The connection machine's vocabulary: signals in, states and transitions
//! out.

use std::fmt;
use std::time::{Duration, Instant};

/// What an error or a drop says about the connection, in this crate's own
/// words (the caller maps its transport's causes onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ErrorClass {
    /// May go away by itself: a reset, a timeout, a refused connect.
    Transient,
    /// The server asked us to slow down (HTTP 429/418, close 1008).
    RateLimited,
    /// Will not go away by retrying: a rejected symbol, bad credentials, a
    /// certificate that does not verify.
    Permanent,
    /// A planned close (rotation, server shutdown): no fault at all.
    Planned,
}

impl ErrorClass {
    /// A stable lower-case name, for metric labels and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::RateLimited => "rate_limited",
            Self::Permanent => "permanent",
            Self::Planned => "planned",
        }
    }
}

/// Something the connection driver observed, fed to
/// [`ConnectionMachine::on_signal`](crate::ConnectionMachine::on_signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// The transport is open (handshake done).
    Connected,
    /// The connection's subscriptions are confirmed: it serves its streams.
    /// Implies [`Connected`](Self::Connected).
    Subscribed,
    /// An open connection ended.
    Dropped {
        /// Why, classified.
        class: ErrorClass,
    },
    /// A connection attempt failed before the transport opened.
    AttemptFailed {
        /// Why, classified.
        class: ErrorClass,
    },
    /// An error on a live connection that did not end it (a bad frame, a
    /// rejected subscription, a rate-limit warning).
    Error {
        /// What kind.
        class: ErrorClass,
    },
    /// A stream of the live connection is silent far beyond its normal
    /// rate. Report it at each check that finds a stall: it is trouble at
    /// that instant, and the connection is degraded until `stable_after`
    /// passes without any.
    Silence,
    /// The circuit breaker of the connection's endpoint opened.
    BreakerOpen,
    /// The circuit breaker of the connection's endpoint closed.
    BreakerClosed,
    /// The connection's streams are now served by polling.
    PollingStarted,
    /// Polling for the connection's streams stopped.
    PollingStopped,
}

/// The state of one connection.
///
/// Up (connected): `Healthy`, `Degraded`, `Recovering`, and `Unstable` or
/// `Connecting` when the transport is open. Down: `Failing`, `Failed`,
/// `Fallback`, and `Unstable` or `Connecting` when it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ConnState {
    /// The first connection is being made; nothing has gone wrong yet.
    Connecting,
    /// Up and serving, with no recent trouble.
    Healthy,
    /// Up and serving, with recent trouble: errors, a silent stream, the
    /// endpoint's breaker open.
    Degraded,
    /// Dropped `unstable_drops` times within `unstable_window`: it flaps.
    Unstable,
    /// Down and reconnecting.
    Failing,
    /// Down beyond the thresholds: `failed_attempts` failed attempts in a
    /// row, down for `failed_after`, a permanent error, or the breaker open.
    Failed,
    /// Up again after trouble, on probation for `stable_after`.
    Recovering,
    /// Failed, and its streams are served another way (polling).
    Fallback,
}

impl ConnState {
    /// Every state, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Connecting,
        Self::Healthy,
        Self::Degraded,
        Self::Unstable,
        Self::Failing,
        Self::Failed,
        Self::Recovering,
        Self::Fallback,
    ];

    /// A stable lower-case name, for metric labels and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unstable => "unstable",
            Self::Failing => "failing",
            Self::Failed => "failed",
            Self::Recovering => "recovering",
            Self::Fallback => "fallback",
        }
    }
}

impl fmt::Display for ConnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transition happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The first connection subscribed.
    Ready,
    /// The connection is up again after trouble.
    Reconnected,
    /// The open connection dropped.
    Dropped {
        /// Why.
        class: ErrorClass,
    },
    /// The drop made `drops` within `unstable_window`.
    Flapping {
        /// Drops in the window, this one included.
        drops: u32,
    },
    /// A connection attempt failed.
    AttemptFailed {
        /// Why.
        class: ErrorClass,
    },
    /// `attempts` failed attempts in a row reached `failed_attempts`.
    TooManyFailures {
        /// Failed attempts in a row.
        attempts: u32,
    },
    /// A drop, failed attempt or error classed permanent.
    Permanent,
    /// Down for `failed_after`.
    DownTooLong {
        /// How long it has been down.
        down_for: Duration,
    },
    /// The endpoint's breaker opened.
    BreakerOpen,
    /// Errors on the live connection: a rate-limited or permanent one, or
    /// `degraded_errors` transient ones within `error_window`.
    Errors {
        /// The class of the error that tipped it.
        class: ErrorClass,
        /// Errors in the window, this one included.
        count: u32,
    },
    /// A stream of the live connection went silent.
    Silence,
    /// Up (or trouble-free) for `stable_after`.
    Stable {
        /// How long.
        after: Duration,
    },
    /// The streams are served by polling.
    PollingStarted,
    /// Polling stopped while still down.
    PollingStopped,
    /// [`ConnectionMachine::reset`](crate::ConnectionMachine::reset).
    Reset,
}

/// One state change of a [`ConnectionMachine`](crate::ConnectionMachine):
/// the event the facade turns into logs, metrics and alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The state left.
    pub from: ConnState,
    /// The state entered.
    pub to: ConnState,
    /// When.
    pub at: Instant,
    /// Why.
    pub reason: Reason,
}

/// Whether the transport is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Link {
    /// Connected.
    Up,
    /// Not connected.
    Down,
}

/// What a connection means for the streams it carries: the input a
/// [`DegradationPlan`](crate::DegradationPlan) takes per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Feed {
    /// Delivering over the WebSocket.
    Live,
    /// Not delivering, expected back soon (connecting, reconnecting): not
    /// worth polling yet.
    Interrupted,
    /// Not delivering and not expected back soon (failed, fallback, or
    /// down while unstable): poll.
    Failed,
}

/// A point-in-time copy of a [`ConnectionMachine`](crate::ConnectionMachine).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionSnapshot {
    /// The state.
    pub state: ConnState,
    /// When it was entered; `None` before the first transition.
    pub since: Option<Instant>,
    /// Whether the transport is open.
    pub link: Link,
    /// What the state means for the streams.
    pub feed: Feed,
    /// Since when the connection has been down, if it is.
    pub down_since: Option<Instant>,
    /// Failed attempts in a row since it was last up.
    pub failed_attempts: u32,
    /// Drops within `unstable_window` of the last signal or timeout.
    pub recent_drops: u32,
    /// Transient errors within `error_window` of the last signal or timeout.
    pub recent_errors: u32,
    /// Whether the endpoint's breaker was last reported open.
    pub breaker_open: bool,
    /// Whether the streams were last reported polled.
    pub polling: bool,
    /// The next instant time alone may change the state.
    pub deadline: Option<Instant>,
    /// Transitions since the machine was built.
    pub transitions: u64,
}
