//! The monitor's input vocabulary: handles, connection events, causes, error
//! classes, breaker states, REST status and backfill outcomes.
//!
//! Every enum here is the crate's own, so the caller translates its transport
//! errors into them; each has a stable snake_case [`as_str`](DisconnectCause::as_str)
//! used as a metric label and in JSON, which keeps label sets bounded.

use std::fmt;
use std::time::{Duration, Instant};

/// A registered connection: an index into the monitor, cheap to copy.
///
/// Obtained from [`Monitor::register_connection`](crate::Monitor::register_connection);
/// a handle from another monitor is ignored, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub(crate) u32);

impl ConnectionId {
    /// The handle's index (registration order, from 0).
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A registered stream: an index into the monitor, so the per-message path
/// needs no string lookup.
///
/// Obtained from [`Monitor::register_stream`](crate::Monitor::register_stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub(crate) u32);

impl StreamId {
    /// The handle's index (registration order, from 0).
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Something that happened to a connection, for
/// [`Monitor::on_connection`](crate::Monitor::on_connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// An attempt to connect starts.
    Connecting,
    /// The connection is open: a new session starts, and its streams must
    /// deliver again before the monitor is ready.
    Connected,
    /// The connection ended, or an attempt failed, for this cause.
    Disconnected(DisconnectCause),
    /// The next attempt is scheduled after `delay`.
    Reconnecting {
        /// Time until the attempt.
        delay: Duration,
    },
    /// The connection was replaced make-before-break (before a lifetime
    /// cut-off or on a server's shutdown notice): a new session starts with
    /// no outage.
    Rotated,
    /// The connection was given up for good (a permanent cause or a limit).
    Abandoned,
    /// The connection was closed on purpose and is no longer expected to be
    /// up (client shutdown, connection retired by the pool).
    Closed,
}

/// Where a connection is, as the monitor last heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ConnectionState {
    /// Registered; no attempt reported yet.
    Idle,
    /// An attempt is under way.
    Connecting,
    /// Open.
    Connected,
    /// Ended; no next attempt reported yet.
    Disconnected,
    /// Waiting for the next attempt.
    Reconnecting,
    /// Given up.
    Abandoned,
    /// Closed on purpose; not expected to be up.
    Closed,
}

impl ConnectionState {
    /// Every state, in metric order.
    pub const ALL: [Self; 7] = [
        Self::Idle,
        Self::Connecting,
        Self::Connected,
        Self::Disconnected,
        Self::Reconnecting,
        Self::Abandoned,
        Self::Closed,
    ];

    /// The stable label (`connected`, `reconnecting`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::Reconnecting => "reconnecting",
            Self::Abandoned => "abandoned",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! labelled_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $label:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        #[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
        #[non_exhaustive]
        pub enum $name { $( $(#[$vmeta])* $variant, )+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[ $( Self::$variant, )+ ];

            /// The stable snake_case label, used in metrics and JSON.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $label, )+ }
            }

            /// The position in [`Self::ALL`].
            #[allow(dead_code, reason = "used for some enums, or only with the metrics feature")]
            pub(crate) fn index(self) -> usize {
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

labelled_enum! {
    /// Why a connection ended or an attempt failed: the crate's own
    /// vocabulary, so it knows no transport.
    pub enum DisconnectCause {
        /// The peer closed with 1000.
        Normal => "normal",
        /// The peer closed with 1001 (going away).
        GoingAway => "going_away",
        /// The peer closed with 1008; Binance's "too many requests".
        PolicyViolation => "policy_violation",
        /// The peer closed with another code.
        OtherClose => "other_close",
        /// Reset or aborted by the peer or the network; EOF without a close frame.
        Reset => "reset",
        /// Nothing listens at the address.
        Refused => "refused",
        /// The host name did not resolve.
        Dns => "dns",
        /// A TLS failure other than the certificate.
        Tls => "tls",
        /// The server's certificate was rejected.
        Certificate => "certificate",
        /// Opening took too long.
        Timeout => "timeout",
        /// No frame arrived for the silence timeout: presumed dead.
        Silence => "silence",
        /// The peer broke the protocol.
        Protocol => "protocol",
        /// A frame or message over the size limit.
        TooBig => "too_big",
        /// The handshake was refused with 429 (too many attempts).
        RateLimited => "rate_limited",
        /// The handshake was refused with 418 (IP banned).
        Banned => "banned",
        /// The handshake was refused with another status.
        HandshakeRejected => "handshake_rejected",
        /// The server announced a shutdown (planned).
        ServerShutdown => "server_shutdown",
        /// Replaced before its lifetime cut-off (planned).
        Rotation => "rotation",
        /// Closed by us on purpose (planned).
        Local => "local",
        /// Anything else.
        Other => "other",
    }
}

impl DisconnectCause {
    /// Whether the end counts as a failure (for MTBF, MTTR, reconnect
    /// loops): everything but the planned `ServerShutdown`, `Rotation` and
    /// `Local`.
    #[must_use]
    pub fn is_failure(self) -> bool {
        !matches!(self, Self::ServerShutdown | Self::Rotation | Self::Local)
    }

    /// Whether the server is telling us to slow down (1008, 429, 418).
    #[must_use]
    pub fn is_rate_limit(self) -> bool {
        matches!(
            self,
            Self::PolicyViolation | Self::RateLimited | Self::Banned
        )
    }
}

labelled_enum! {
    /// The class of an error reported with
    /// [`Monitor::on_error`](crate::Monitor::on_error).
    pub enum ErrorClass {
        /// Network trouble (reset, refused, DNS).
        Network => "network",
        /// Something took too long.
        Timeout => "timeout",
        /// The server asked us to slow down.
        RateLimited => "rate_limited",
        /// The server failed (5xx, internal error codes).
        Server => "server",
        /// A frame or body could not be decoded.
        Decode => "decode",
        /// The peer broke the protocol, or a request was refused.
        Protocol => "protocol",
        /// Credentials were rejected.
        Authentication => "authentication",
        /// Our configuration is wrong (unknown symbol, bad stream name).
        Configuration => "configuration",
        /// Anything else.
        Other => "other",
    }
}

labelled_enum! {
    /// A circuit breaker's state, for
    /// [`Monitor::on_breaker`](crate::Monitor::on_breaker).
    pub enum BreakerState {
        /// Calls pass.
        Closed => "closed",
        /// A few probe calls pass.
        HalfOpen => "half_open",
        /// Calls fail fast.
        Open => "open",
        /// Held open by hand.
        ForcedOpen => "forced_open",
        /// Switched off: every call passes, nothing protects the endpoint.
        Disabled => "disabled",
    }
}

impl BreakerState {
    /// Whether the endpoint behind the breaker is refused (open or forced
    /// open).
    #[must_use]
    pub fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::ForcedOpen)
    }
}

labelled_enum! {
    /// How a gap was closed, for
    /// [`Monitor::on_backfill`](crate::Monitor::on_backfill).
    pub enum BackfillOutcome {
        /// Every missing event was fetched and delivered.
        Recovered => "recovered",
        /// The state was rebuilt from a snapshot (an order book): consistent
        /// again, the missed updates folded in.
        Resynced => "resynced",
        /// The missing events could not be recovered: data was lost.
        Lost => "lost",
    }
}

/// What was reported about an error, for
/// [`Monitor::on_error`](crate::Monitor::on_error): which component it
/// belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorSource {
    /// A connection (its frames, its requests).
    Connection(ConnectionId),
    /// One stream (an undecodable event, a sequence error).
    Stream(StreamId),
    /// The REST client.
    Rest,
    /// Anything else (counted for the system only).
    Other,
}

/// A REST rate-limit restriction in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RestLimit {
    /// No restriction.
    #[default]
    Clear,
    /// A 429 asked us to wait until `until` (`Retry-After`).
    RetryAfter {
        /// When requests may resume.
        until: Instant,
    },
    /// A 418: the IP is banned until `until`.
    Banned {
        /// When the ban ends.
        until: Instant,
    },
}

/// The REST client's rate-limit status, for
/// [`Monitor::on_rest`](crate::Monitor::on_rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestStatus {
    /// Weight used in the current window (`X-MBX-USED-WEIGHT-1M`).
    pub used_weight: u32,
    /// The window's weight limit (Binance: 6000 per minute).
    pub weight_limit: u32,
    /// A 429 or 418 restriction in force.
    pub limit: RestLimit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_stable_and_indexed() {
        for (i, cause) in DisconnectCause::ALL.iter().enumerate() {
            assert_eq!(cause.index(), i);
            assert!(
                cause
                    .as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
        }
        assert_eq!(
            DisconnectCause::PolicyViolation.to_string(),
            "policy_violation"
        );
        assert!(!DisconnectCause::Rotation.is_failure());
        assert!(DisconnectCause::Reset.is_failure());
        assert!(DisconnectCause::Banned.is_rate_limit());
        assert_eq!(ErrorClass::ALL.len(), 9);
        assert!(BreakerState::ForcedOpen.is_open());
        assert!(!BreakerState::HalfOpen.is_open());
        assert_eq!(ConnectionState::ALL.len(), 7);
        assert_eq!(BackfillOutcome::Lost.as_str(), "lost");
    }
}
