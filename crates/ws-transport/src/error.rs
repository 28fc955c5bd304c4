//! The crate's error type: misuse and configuration, plus a failed connect.

use crate::cause::CloseCause;

/// Everything that can go wrong when using this crate.
///
/// How a connection *ends* is not an error but a value, [`CloseCause`],
/// delivered as [`Event::Closed`](crate::Event::Closed); a connect that fails
/// carries the same classification in [`Error::Connect`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a usable `ws://` or `wss://` URL. Permanent: fix the URL.
    #[error("invalid websocket url {url:?}: {problem}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A [`TransportConfig`](crate::TransportConfig) field is out of range. Permanent.
    #[error("invalid transport config: {field} {problem}")]
    InvalidConfig {
        /// The field, as spelled in the struct (`pacing.window`).
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// Certificate checks were turned off for a host that is not loopback. Permanent.
    #[error(
        "tls verification can only be turned off for a loopback host, not {host:?}: use \
         TlsPolicy::Verify, or TlsPolicy::VerifyWithExtraRoots to trust a private CA"
    )]
    InsecureTlsNotLoopback {
        /// The host that was refused.
        host: String,
    },
    /// A handshake header is malformed or reserved. Permanent.
    #[error("invalid handshake header {name:?}: {problem}")]
    InvalidHeader {
        /// The header name as given.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A certificate given in [`TlsPolicy::VerifyWithExtraRoots`](crate::TlsPolicy) could not
    /// be used. Permanent.
    #[error("extra tls root certificate #{index} is unusable: {detail}")]
    InvalidRootCertificate {
        /// Position in the list, from 0.
        index: usize,
        /// Why it was rejected.
        detail: String,
    },
    /// The connection could not be opened; the cause says why and whether a retry may help.
    #[error("could not connect: {0}")]
    Connect(CloseCause),
    /// The outbound queue already holds `capacity` frames waiting for the pacer. Transient:
    /// the queue drains at the configured pace while [`Connection::next`](crate::Connection::next)
    /// is polled.
    #[error(
        "outbound queue is full ({capacity} frames wait for the pacer): keep polling next() so \
         the queue drains, or send fewer, larger frames"
    )]
    QueueFull {
        /// The configured `max_queued_frames`.
        capacity: usize,
    },
    /// The connection is closed or closing; nothing more can be sent. Open a new connection.
    #[error("connection is closed or closing: open a new connection to send more")]
    Closed,
    /// A close code or reason that the WebSocket protocol does not allow us to send. Permanent.
    #[error("invalid close request (code {code}): {problem}")]
    InvalidClose {
        /// The code asked for.
        code: u16,
        /// What is wrong.
        problem: &'static str,
    },
}

impl Error {
    /// Whether trying again (later, or with a new connection) may succeed without changing
    /// the code or the configuration.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect(cause) => cause.is_retryable(),
            Self::QueueFull { .. } | Self::Closed => true,
            Self::InvalidUrl { .. }
            | Self::InvalidConfig { .. }
            | Self::InsecureTlsNotLoopback { .. }
            | Self::InvalidHeader { .. }
            | Self::InvalidRootCertificate { .. }
            | Self::InvalidClose { .. } => false,
        }
    }

    /// The classification of a failed connect, for policies (backoff, circuit breaker).
    #[must_use]
    pub fn cause(&self) -> Option<&CloseCause> {
        match self {
            Self::Connect(cause) => Some(cause),
            _ => None,
        }
    }
}
