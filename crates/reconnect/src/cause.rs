//! Why a connection ended, in this crate's own words, and what kind of
//! cause it is.
//!
//! The vocabulary is deliberately independent of any WebSocket library: the
//! caller (the facade's connection driver) translates its transport errors
//! into a [`Cause`], and [`Cause::class`] decides how the schedule treats it.

use std::fmt;
use std::time::Duration;

/// Why a connection ended or a connection attempt failed.
///
/// See the crate docs for the table of how each cause is classified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The peer sent a WebSocket close frame.
    Closed {
        /// The close code (RFC 6455 §7.4), e.g. 1008.
        code: u16,
        /// The close reason, possibly empty.
        reason: String,
    },
    /// The connection ended without a close frame: EOF or a TCP reset
    /// (what RFC 6455 calls 1006).
    Reset,
    /// The HTTP upgrade was answered with a status other than 101.
    HandshakeRejected {
        /// The HTTP status, e.g. 429.
        status: u16,
        /// The `Retry-After` the server sent, if any, already converted to a
        /// duration (Binance sends seconds; its WS API sends an epoch-ms
        /// `retryAfter`, which the caller turns into the time left).
        retry_after: Option<Duration>,
    },
    /// The TCP connection was refused.
    Refused,
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
    /// The peer broke the WebSocket protocol (a bad frame, bad UTF-8 …).
    Protocol,
    /// The peer sent a frame or message above the configured size limit.
    FrameTooBig,
    /// The server announced a planned restart (Binance's `serverShutdown`).
    ServerShutdown,
    /// We closed the connection on purpose to replace it (the 24 h rotation).
    Rotation,
    /// The caller knows retrying cannot help (unknown symbol, rejected
    /// credentials …).
    Permanent {
        /// What the caller found, for logs and the abandon reason.
        reason: String,
    },
}

/// How the schedule treats a [`Cause`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CauseClass {
    /// Try again on the ordinary schedule.
    Transient,
    /// The server asked us to slow down: back off longer, honouring a known
    /// `Retry-After`.
    RateLimited,
    /// A planned end: reconnect at once if the connection had been healthy,
    /// otherwise treat as transient (so a server that keeps announcing
    /// shutdowns cannot cause a tight loop).
    Planned,
    /// Retrying cannot help: abandon.
    Permanent,
}

impl Cause {
    /// The class of this cause (see the crate docs for the table).
    #[must_use]
    pub fn class(&self) -> CauseClass {
        match self {
            Self::Closed { code, .. } => close_code_class(*code),
            Self::HandshakeRejected { status, .. } => handshake_status_class(*status),
            Self::Reset
            | Self::Refused
            | Self::Dns
            | Self::Tls
            | Self::Timeout
            | Self::Silence
            | Self::Protocol
            | Self::FrameTooBig => CauseClass::Transient,
            Self::ServerShutdown | Self::Rotation => CauseClass::Planned,
            Self::Certificate | Self::Permanent { .. } => CauseClass::Permanent,
        }
    }

    /// The server's `Retry-After`, if the cause carries one.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::HandshakeRejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Close codes: only 1008 (Binance's "Too many requests") and 1013 ("Try
/// Again Later") slow us down; no close code abandons, because a bad frame or
/// an unknown application code is no reason to give up a 24/7 feed and the
/// schedule already keeps retries slow.
fn close_code_class(code: u16) -> CauseClass {
    match code {
        1008 | 1013 => CauseClass::RateLimited,
        _ => CauseClass::Transient,
    }
}

/// Handshake statuses, after PROTOCOL.md §2 and §7.
fn handshake_status_class(status: u16) -> CauseClass {
    match status {
        // 429: too many connection attempts; 418: IP ban with Retry-After;
        // 403: Binance's WAF block ("rate or security"); 503: overloaded.
        403 | 418 | 429 | 503 => CauseClass::RateLimited,
        // Request timeout and "too early" are about this attempt only.
        408 | 425 => CauseClass::Transient,
        // Any other client error repeats on every attempt: wrong path,
        // unknown stream, rejected credentials, a restricted location (451).
        400..=499 => CauseClass::Permanent,
        // Server errors, and answers a proxy or misbehaving server gave in
        // place of 101 (1xx, 2xx, 3xx), say nothing lasting.
        _ => CauseClass::Transient,
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed { code, reason } if reason.is_empty() => {
                write!(f, "closed by peer with code {code}")
            }
            Self::Closed { code, reason } => {
                write!(f, "closed by peer with code {code} ({reason})")
            }
            Self::Reset => f.write_str("connection reset without a close frame"),
            Self::HandshakeRejected {
                status,
                retry_after: Some(after),
            } => write!(
                f,
                "handshake rejected with HTTP {status}, retry after {after:?}"
            ),
            Self::HandshakeRejected { status, .. } => {
                write!(f, "handshake rejected with HTTP {status}")
            }
            Self::Refused => f.write_str("connection refused"),
            Self::Dns => f.write_str("host name did not resolve"),
            Self::Tls => f.write_str("tls handshake failed"),
            Self::Certificate => f.write_str("server certificate rejected"),
            Self::Timeout => f.write_str("connect or handshake timed out"),
            Self::Silence => f.write_str("no frame within the keepalive limit"),
            Self::Protocol => f.write_str("peer broke the websocket protocol"),
            Self::FrameTooBig => f.write_str("frame above the size limit"),
            Self::ServerShutdown => f.write_str("server announced a shutdown"),
            Self::Rotation => f.write_str("rotated on purpose"),
            Self::Permanent { reason } => write!(f, "permanent: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CauseClass::{Permanent, Planned, RateLimited, Transient};

    fn closed(code: u16) -> Cause {
        Cause::Closed {
            code,
            reason: String::new(),
        }
    }

    fn rejected(status: u16) -> Cause {
        Cause::HandshakeRejected {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn classification_table() {
        let table = [
            (closed(1000), Transient),
            (closed(1001), Transient),
            (closed(1002), Transient),
            (closed(1006), Transient),
            (closed(1008), RateLimited),
            (closed(1009), Transient),
            (closed(1011), Transient),
            (closed(1012), Transient),
            (closed(1013), RateLimited),
            (closed(4000), Transient),
            (rejected(429), RateLimited),
            (rejected(418), RateLimited),
            (rejected(403), RateLimited),
            (rejected(503), RateLimited),
            (rejected(400), Permanent),
            (rejected(401), Permanent),
            (rejected(404), Permanent),
            (rejected(451), Permanent),
            (rejected(408), Transient),
            (rejected(500), Transient),
            (rejected(502), Transient),
            (rejected(200), Transient),
            (rejected(301), Transient),
            (Cause::Reset, Transient),
            (Cause::Refused, Transient),
            (Cause::Dns, Transient),
            (Cause::Tls, Transient),
            (Cause::Timeout, Transient),
            (Cause::Silence, Transient),
            (Cause::Protocol, Transient),
            (Cause::FrameTooBig, Transient),
            (Cause::Certificate, Permanent),
            (Cause::ServerShutdown, Planned),
            (Cause::Rotation, Planned),
            (
                Cause::Permanent {
                    reason: "unknown symbol".into(),
                },
                Permanent,
            ),
        ];
        for (cause, class) in table {
            assert_eq!(cause.class(), class, "{cause}");
        }
    }

    #[test]
    fn retry_after_only_from_handshake() {
        let after = Some(Duration::from_secs(120));
        let cause = Cause::HandshakeRejected {
            status: 418,
            retry_after: after,
        };
        assert_eq!(cause.retry_after(), after);
        assert_eq!(
            cause.to_string(),
            "handshake rejected with HTTP 418, retry after 120s"
        );
        assert_eq!(closed(1008).retry_after(), None);
        assert_eq!(closed(1008).to_string(), "closed by peer with code 1008");
    }
}
