//! The error taxonomy: every failure the client can meet, in this crate's own
//! words ([`Failure`]), and the class it maps to ([`Classification`]).
//!
//! The vocabulary is independent of any WebSocket or HTTP library: the
//! caller translates its errors into a [`Failure`] (or lets
//! [`classify_http`] read a raw REST response). The mapping itself is data,
//! the tables in `tables.rs`, which also render `docs/error-classes.md`
//! ([`taxonomy_markdown`]); a test keeps the two identical.

mod doc;
mod http;
mod tables;

use std::fmt;
use std::time::Duration;

pub use doc::taxonomy_markdown;
pub use http::{MAX_BODY_PARSED, MAX_EXCERPT, MAX_RETRY_AFTER, classify_http, parse_http};

/// The five classes of failure; each chooses a recovery strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// A passing fault (a reset, a timeout, a crash): trying again soon is
    /// likely to succeed.
    Transient,
    /// The server asked us to slow down (HTTP 429, 418 ban, close 1008):
    /// wait at least its `retry_after`.
    RateLimited,
    /// Credentials were rejected: retrying the same request cannot help
    /// until someone fixes the key, its permissions or its IP whitelist.
    Authentication,
    /// The server failed (HTTP 5xx, Binance -1006/-1007): the outcome of the
    /// request may be unknown, so query before re-sending anything that is
    /// not idempotent; retry on a growing schedule.
    Server,
    /// The request itself is wrong (unknown symbol, bad parameter): it fails
    /// the same way every time. Permanent until the configuration changes.
    Configuration,
}

impl ErrorClass {
    /// Every class, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::Transient,
        Self::RateLimited,
        Self::Authentication,
        Self::Server,
        Self::Configuration,
    ];

    /// The class's name as the docs write it: `transient`, `rate-limited`,
    /// `authentication`, `server`, `configuration`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::RateLimited => "rate-limited",
            Self::Authentication => "authentication",
            Self::Server => "server",
            Self::Configuration => "configuration",
        }
    }

    /// Whether an automatic retry can help. `false` for
    /// [`Authentication`](Self::Authentication) and
    /// [`Configuration`](Self::Configuration), which need a person.
    #[must_use]
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Transient | Self::RateLimited | Self::Server)
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a [`Failure`] means for recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Classification {
    /// The class, which chooses the strategy.
    pub class: ErrorClass,
    /// How long the server asked us to wait (`Retry-After`), clamped to
    /// [`MAX_RETRY_AFTER`]. No retry is scheduled before it.
    pub retry_after: Option<Duration>,
    /// The request may have been executed (HTTP 5xx, Binance -1006/-1007):
    /// query to confirm before re-sending anything that is not idempotent.
    pub outcome_unknown: bool,
    /// The IP is banned (HTTP 418, or -1003 saying "banned"): stop every
    /// request to that host until `retry_after`, not only this one.
    pub banned: bool,
    /// The Binance error code, when the failure carried one.
    pub code: Option<i64>,
    /// Why: the note of the table row that matched, for logs.
    pub reason: &'static str,
}

impl Classification {
    /// A classification of `class` with nothing else known.
    #[must_use]
    pub fn new(class: ErrorClass) -> Self {
        Self {
            class,
            retry_after: None,
            outcome_unknown: false,
            banned: false,
            code: None,
            reason: "",
        }
    }

    /// The same classification with `retry_after` (clamped to
    /// [`MAX_RETRY_AFTER`]).
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after.map(|after| after.min(MAX_RETRY_AFTER));
        self
    }

    /// The same classification with `reason` as its explanation.
    #[must_use]
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }
}

/// How opening a connection failed, or an open one died, when no close frame
/// or HTTP status says more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ConnectFailure {
    /// The TCP connection was refused.
    Refused,
    /// The connection was reset or aborted by the peer or the network.
    Reset,
    /// The peer closed the TCP connection without a WebSocket close frame.
    Eof,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed for a reason other than the certificate.
    Tls,
    /// The server's certificate was rejected (untrusted, expired, wrong name).
    Certificate,
    /// Connecting or the handshake took too long.
    Timeout,
    /// The connection stayed open but no frame arrived within the keepalive
    /// limit: it is dead.
    Silence,
    /// The peer broke the WebSocket protocol.
    Protocol,
    /// The peer sent a frame or message above the configured size limit.
    FrameTooBig,
}

impl ConnectFailure {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::Refused,
        Self::Reset,
        Self::Eof,
        Self::Dns,
        Self::Tls,
        Self::Certificate,
        Self::Timeout,
        Self::Silence,
        Self::Protocol,
        Self::FrameTooBig,
    ];

    /// The kind's name as the docs write it (`Refused`, `FrameTooBig`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refused => "Refused",
            Self::Reset => "Reset",
            Self::Eof => "Eof",
            Self::Dns => "Dns",
            Self::Tls => "Tls",
            Self::Certificate => "Certificate",
            Self::Timeout => "Timeout",
            Self::Silence => "Silence",
            Self::Protocol => "Protocol",
            Self::FrameTooBig => "FrameTooBig",
        }
    }
}

/// Every failure the client can meet, in this crate's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The peer sent a WebSocket close frame.
    Close {
        /// The close code (RFC 6455 §7.4), e.g. 1008.
        code: u16,
        /// The close reason, possibly empty.
        reason: String,
    },
    /// A connection could not be opened, or died without a close frame.
    Connect(ConnectFailure),
    /// An HTTP response with a failing status (a REST call, or a rejected
    /// WebSocket upgrade). [`parse_http`] builds one from a raw response.
    Http {
        /// The HTTP status, e.g. 429.
        status: u16,
        /// The `Retry-After` header, as a duration.
        retry_after: Option<Duration>,
        /// The Binance error code from the body (`{"code":-1121,…}`), if any.
        binance_code: Option<i64>,
        /// The start of the body, for logs (at most [`MAX_EXCERPT`] bytes,
        /// control characters replaced).
        body_excerpt: String,
    },
    /// A Binance error outside an HTTP response: a WebSocket API error or a
    /// market-stream control reply (`{"code":2,"msg":"Invalid request…"}`).
    Binance {
        /// The error code.
        code: i64,
        /// The message (messages vary; codes are stable).
        msg: String,
    },
    /// A task panicked, with the panic message when it was a string.
    Panic(String),
    /// An operation took longer than its deadline.
    Timeout,
    /// A failure the caller has already classified.
    Other {
        /// The class the caller chose.
        class: ErrorClass,
        /// What happened, for logs.
        reason: String,
    },
}

impl Failure {
    /// The classification of this failure, from the tables in
    /// `docs/error-classes.md`. Total: every value has a class.
    #[must_use]
    pub fn classify(&self) -> Classification {
        match self {
            Self::Close { code, .. } => tables::close_code(*code),
            Self::Connect(kind) => tables::connect(*kind),
            Self::Http {
                status,
                retry_after,
                binance_code,
                ..
            } => tables::http(*status, *binance_code).with_retry_after(*retry_after),
            Self::Binance { code, msg } => {
                let mut class = tables::binance_code(*code);
                // A WebSocket API ban reply is -1003 "… IP banned until …"; the
                // code alone cannot tell it from an ordinary 429.
                class.banned = *code == -1003 && msg.to_ascii_lowercase().contains("banned");
                class
            }
            Self::Panic(_) => tables::PANIC.classification(),
            Self::Timeout => tables::TIMEOUT.classification(),
            Self::Other { class, .. } => {
                Classification::new(*class).with_reason("classified by the caller")
            }
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Close { code, reason } if reason.is_empty() => {
                write!(f, "closed by peer with code {code}")
            }
            Self::Close { code, reason } => write!(f, "closed by peer with code {code} ({reason})"),
            Self::Connect(kind) => write!(f, "connection failed: {}", kind.as_str()),
            Self::Http {
                status,
                binance_code,
                ..
            } => match binance_code {
                Some(code) => write!(f, "http {status} with binance code {code}"),
                None => write!(f, "http {status}"),
            },
            Self::Binance { code, msg } => write!(f, "binance error {code}: {msg}"),
            Self::Panic(message) => write!(f, "task panicked: {message}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Other { class, reason } => write!(f, "{class} failure: {reason}"),
        }
    }
}
