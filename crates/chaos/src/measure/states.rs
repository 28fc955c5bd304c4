//! The states drawn in the timeline's lanes: the same vocabulary as the
//! workspace's policy crates, restated here because this crate depends on
//! none of them (the facade maps one onto the other).

use std::fmt;

macro_rules! states {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => ($label:literal, $severity:literal), )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $( $(#[$vmeta])* $variant, )+ }

        impl $name {
            /// The stable label (snake case).
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $label, )+ }
            }

            /// How bad the state is, 0 (fine) to 4 (worst), for colouring.
            #[must_use]
            pub fn severity(self) -> u8 {
                match self { $( Self::$variant => $severity, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

states! {
    /// Where a connection is (as `health::ConnectionState`).
    pub enum ConnState {
        /// Registered; no attempt yet.
        Idle => ("idle", 1),
        /// An attempt is under way.
        Connecting => ("connecting", 2),
        /// Open: the only state that counts as up.
        Connected => ("connected", 0),
        /// Ended; no next attempt yet.
        Disconnected => ("disconnected", 3),
        /// Waiting for the next attempt.
        Reconnecting => ("reconnecting", 3),
        /// Given up.
        Abandoned => ("abandoned", 4),
        /// Closed on purpose (rotation, shutdown): not a failure.
        Closed => ("closed", 1),
    }
}

states! {
    /// A circuit breaker's state (as `circuit_breaker::State`).
    pub enum BreakerState {
        /// Calls pass.
        Closed => ("closed", 0),
        /// A few probes pass.
        HalfOpen => ("half_open", 2),
        /// Calls fail fast.
        Open => ("open", 3),
        /// Held open by hand.
        ForcedOpen => ("forced_open", 4),
        /// Switched off.
        Disabled => ("disabled", 1),
    }
}

states! {
    /// The system's health level (as `health::Level`), best first.
    pub enum HealthLevel {
        /// Everything works.
        Healthy => ("healthy", 0),
        /// Unusual, but data flows.
        Warning => ("warning", 1),
        /// Part of the service is impaired.
        Degraded => ("degraded", 2),
        /// The service is not doing its job.
        Unhealthy => ("unhealthy", 3),
        /// It cannot recover by itself soon.
        Critical => ("critical", 4),
    }
}

/// Which kind of state a timeline lane shows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LaneKind {
    /// A connection's [`ConnState`].
    Connection,
    /// A breaker's [`BreakerState`].
    Breaker,
    /// The system's [`HealthLevel`].
    Health,
}

impl LaneKind {
    /// The stable label (`connection`, `breaker`, `health`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Breaker => "breaker",
            Self::Health => "health",
        }
    }
}
