//! Lifecycle signals: what the client's connections are doing, as values.

use std::time::Duration;

use serde::Serialize;

/// Identifies one connection slot of the client (stable across its reconnects).
pub type ConnectionId = u64;

/// One thing that happened to a connection.
///
/// Serialises as `{"lifecycle":"reconnecting","connection":1,"delay_ms":1000,…}`
/// for line-oriented output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "lifecycle", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Lifecycle {
    /// An attempt to connect starts.
    Connecting {
        /// The connection slot.
        connection: ConnectionId,
        /// The endpoint (scheme, host and port only).
        endpoint: String,
        /// Attempts in this outage, starting at 1.
        attempt: u32,
    },
    /// The connection is open.
    Connected {
        /// The connection slot.
        connection: ConnectionId,
        /// The endpoint.
        endpoint: String,
    },
    /// Every stream assigned to the connection was confirmed by the server.
    Subscribed {
        /// The connection slot.
        connection: ConnectionId,
        /// Streams confirmed.
        streams: usize,
    },
    /// The connection ended or an attempt failed.
    Disconnected {
        /// The connection slot.
        connection: ConnectionId,
        /// A stable name of the cause (`reset`, `policy_violation`, `silence`, …).
        cause: String,
        /// The cause, for people.
        detail: String,
    },
    /// The next attempt is scheduled.
    Reconnecting {
        /// The connection slot.
        connection: ConnectionId,
        /// Milliseconds until the attempt.
        delay_ms: u64,
        /// True for the longer backoff after a rate-limit cause.
        rate_limited: bool,
    },
    /// The connection was replaced (before the 24 h cut-off, or on `serverShutdown`)
    /// without a gap.
    Rotated {
        /// The connection slot.
        connection: ConnectionId,
        /// Why (`lifetime` or `server_shutdown`).
        reason: String,
    },
    /// The server refused a request (for example an invalid stream name).
    RequestFailed {
        /// The connection slot.
        connection: ConnectionId,
        /// Binance's error code.
        code: i64,
        /// Binance's message.
        message: String,
    },
    /// The connection's driver task failed (a panic) and was restarted by the
    /// supervisor with its subscriptions.
    Restarted {
        /// The connection slot.
        connection: ConnectionId,
        /// The incarnation now starting (1 for the first restart).
        incarnation: u32,
    },
    /// The connection's driver failed more often than the supervisor allows; it
    /// stays stopped.
    Escalated {
        /// The connection slot.
        connection: ConnectionId,
        /// Why.
        reason: String,
    },
    /// The endpoint's circuit breaker is open: no connection attempt until then.
    CircuitOpen {
        /// The connection slot that was refused.
        connection: ConnectionId,
        /// The endpoint.
        endpoint: String,
        /// Milliseconds until the breaker admits a probe.
        retry_in_ms: u64,
    },
    /// An endpoint's circuit breaker changed state (`open`, `half_open`, `closed`,
    /// `forced_open`, `disabled`).
    Breaker {
        /// The endpoint.
        endpoint: String,
        /// The new state.
        state: String,
    },
    /// Traffic moved to another market-stream endpoint (fail-over, fail-back,
    /// or an operator's [`trigger_fallback`](crate::Client::trigger_fallback)).
    EndpointSwitched {
        /// The endpoint left, if any.
        from: Option<String>,
        /// The endpoint chosen.
        to: String,
        /// Why: `failover_down`, `failover_unhealthy`, `failover_better_score`,
        /// `failback` or `requested`.
        reason: String,
    },
    /// The connection's state changed (`fallback` crate: connecting, healthy,
    /// degraded, unstable, failing, failed, recovering, fallback).
    State {
        /// The connection slot.
        connection: ConnectionId,
        /// The state left.
        from: String,
        /// The state entered.
        to: String,
    },
    /// The connection's streams (some or all) are served by REST polling, or
    /// their poll intervals changed.
    Polling {
        /// The connection slot.
        connection: ConnectionId,
        /// Streams polled.
        streams: usize,
        /// Of which, polled slower than their normal interval to stay within
        /// the REST weight budget.
        slowed: usize,
    },
    /// Polling of the connection's streams stopped (a WebSocket serves them
    /// again, or they are unsubscribed).
    PollingStopped {
        /// The connection slot.
        connection: ConnectionId,
    },
    /// The connection gave up for good (a permanent cause or a configured limit).
    Abandoned {
        /// The connection slot.
        connection: ConnectionId,
        /// Why.
        reason: String,
    },
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
