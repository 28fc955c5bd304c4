//! How a connection ended, or why it never opened: one classification for policies.

use std::fmt;
use std::io;
use std::time::Duration;

/// Every way a connection can end (or fail to open), classified so that a
/// policy (backoff, circuit breaker, endpoint fallback) can decide what to do.
///
/// Display messages name the problem and, where there is one, the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// The peer closed with 1000 (normal closure).
    Normal {
        /// The peer's close reason (often empty).
        reason: String,
    },
    /// The peer closed with 1001 (going away: server restart, planned maintenance).
    GoingAway {
        /// The peer's close reason.
        reason: String,
    },
    /// The peer closed with 1008 (policy violation); Binance uses it for "Too many requests".
    PolicyViolation {
        /// The peer's close reason.
        reason: String,
    },
    /// The peer closed with another code (1005 stands for a close frame without a code).
    OtherClose {
        /// The close code.
        code: u16,
        /// The peer's close reason.
        reason: String,
    },
    /// We closed the connection ([`Connection::close`](crate::Connection::close)).
    ClosedLocally {
        /// The code we sent.
        code: u16,
        /// The reason we sent.
        reason: String,
        /// Whether the peer answered our close frame before `close_timeout`.
        acknowledged: bool,
    },
    /// The server answered the HTTP upgrade with an error status (429 and 418 are rate limits).
    HandshakeRejected {
        /// HTTP status code.
        status: u16,
        /// The `Retry-After` header, when it held a number of seconds.
        retry_after: Option<Duration>,
        /// The start of the response body, lossily decoded, for the log.
        body: String,
    },
    /// Nothing listens at the address (TCP connection refused).
    Refused,
    /// The connection was reset or aborted by the peer or the network.
    Reset,
    /// The host name could not be resolved.
    Dns {
        /// The host name.
        host: String,
        /// The resolver's message.
        detail: String,
    },
    /// The server's certificate was rejected (unknown issuer, wrong name, expired, …).
    TlsCertificate {
        /// What rustls found wrong.
        detail: String,
    },
    /// Another TLS failure (no common protocol version, alert from the peer, not TLS at all, …).
    Tls {
        /// What rustls reported.
        detail: String,
    },
    /// Opening (DNS, TCP, TLS and HTTP upgrade together) took longer than `handshake_timeout`.
    HandshakeTimeout {
        /// The configured limit.
        after: Duration,
    },
    /// No frame at all arrived for `silence_timeout`: the connection is presumed dead.
    Silence {
        /// The configured limit.
        after: Duration,
    },
    /// The peer broke the WebSocket protocol (bad framing, invalid UTF-8 in a text frame, …).
    Protocol {
        /// What was wrong.
        detail: String,
    },
    /// An incoming frame was larger than `max_frame_size`.
    FrameTooBig {
        /// The frame's payload length.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// An incoming message (all fragments together) was larger than `max_message_size`.
    MessageTooBig {
        /// The message size reached.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The peer closed the TCP connection without a WebSocket close frame.
    Eof,
    /// Another I/O error.
    Io {
        /// The error kind.
        kind: io::ErrorKind,
        /// The error message.
        detail: String,
    },
}

impl CloseCause {
    /// Whether the peer is telling us to slow down: close 1008, or HTTP 429 / 418 at the
    /// handshake. A policy should back off longer than usual.
    #[must_use]
    pub fn is_rate_limit(&self) -> bool {
        match self {
            Self::PolicyViolation { .. } => true,
            Self::HandshakeRejected { status, .. } => matches!(status, 418 | 429),
            _ => false,
        }
    }

    /// How long the server asked us to wait, if it said (`Retry-After` at the handshake).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::HandshakeRejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether a new connection attempt may succeed without changing the configuration.
    ///
    /// Not retryable: a rejected certificate, an HTTP 4xx at the handshake other than
    /// 408, 418 and 429 (a wrong path or missing credentials will not fix themselves), and
    /// a close we asked for ourselves. Everything else, rate limits included, is worth
    /// retrying after a backoff.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::TlsCertificate { .. } | Self::ClosedLocally { .. } => false,
            Self::HandshakeRejected { status, .. } => {
                !(400..500).contains(status) || matches!(status, 408 | 418 | 429)
            }
            _ => true,
        }
    }

    /// The close code, for causes that came with (or sent) a close frame.
    #[must_use]
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::Normal { .. } => Some(1000),
            Self::GoingAway { .. } => Some(1001),
            Self::PolicyViolation { .. } => Some(1008),
            Self::OtherClose { code, .. } | Self::ClosedLocally { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A short, stable, lowercase name for metrics labels and structured logs.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Normal { .. } => "normal",
            Self::GoingAway { .. } => "going_away",
            Self::PolicyViolation { .. } => "policy_violation",
            Self::OtherClose { .. } => "other_close",
            Self::ClosedLocally { .. } => "closed_locally",
            Self::HandshakeRejected { .. } => "handshake_rejected",
            Self::Refused => "refused",
            Self::Reset => "reset",
            Self::Dns { .. } => "dns",
            Self::TlsCertificate { .. } => "tls_certificate",
            Self::Tls { .. } => "tls",
            Self::HandshakeTimeout { .. } => "handshake_timeout",
            Self::Silence { .. } => "silence",
            Self::Protocol { .. } => "protocol",
            Self::FrameTooBig { .. } => "frame_too_big",
            Self::MessageTooBig { .. } => "message_too_big",
            Self::Eof => "eof",
            Self::Io { .. } => "io",
        }
    }

    /// Classifies a peer's close frame (`None`: a close frame without a code).
    pub(crate) fn from_close(code: Option<u16>, reason: &str) -> Self {
        let reason = reason.to_owned();
        match code {
            Some(1000) => Self::Normal { reason },
            Some(1001) => Self::GoingAway { reason },
            Some(1008) => Self::PolicyViolation { reason },
            Some(code) => Self::OtherClose { code, reason },
            None => Self::OtherClose { code: 1005, reason },
        }
    }

    /// Classifies an I/O error from the socket (TLS errors arrive wrapped in I/O errors).
    pub(crate) fn from_io(err: &io::Error) -> Self {
        if let Some(tls) = err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Self::from_tls(tls);
        }
        match err.kind() {
            io::ErrorKind::ConnectionRefused => Self::Refused,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Self::Reset,
            io::ErrorKind::UnexpectedEof => Self::Eof,
            kind => Self::Io {
                kind,
                detail: err.to_string(),
            },
        }
    }

    pub(crate) fn from_tls(err: &rustls::Error) -> Self {
        match err {
            rustls::Error::InvalidCertificate(_) => Self::TlsCertificate {
                detail: err.to_string(),
            },
            _ => Self::Tls {
                detail: err.to_string(),
            },
        }
    }
}

impl fmt::Display for CloseCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal { reason } => {
                write!(
                    f,
                    "peer closed the connection normally (1000{})",
                    Reason(reason)
                )
            }
            Self::GoingAway { reason } => write!(
                f,
                "peer is going away (1001{}): the server is restarting; reconnect",
                Reason(reason)
            ),
            Self::PolicyViolation { reason } => write!(
                f,
                "peer closed for a policy violation (1008{}): usually too many frames per \
                 second; back off before reconnecting and send fewer frames",
                Reason(reason)
            ),
            Self::OtherClose { code, reason } => {
                write!(
                    f,
                    "peer closed the connection with code {code}{}",
                    Reason(reason)
                )
            }
            Self::ClosedLocally {
                code,
                reason,
                acknowledged,
            } => write!(
                f,
                "we closed the connection with code {code}{}{}",
                Reason(reason),
                if *acknowledged {
                    ""
                } else {
                    "; the peer did not answer before close_timeout"
                }
            ),
            Self::HandshakeRejected {
                status,
                retry_after,
                body,
            } => {
                write!(
                    f,
                    "server rejected the websocket upgrade with http {status}"
                )?;
                match status {
                    429 => f.write_str(" (too many requests): too many connection attempts; wait before reconnecting")?,
                    418 => f.write_str(" (ip banned after rate-limit violations): wait for the ban to expire")?,
                    401 | 403 => f.write_str(": check the credentials sent in the handshake headers")?,
                    404 => f.write_str(": check the url path")?,
                    _ => {}
                }
                if let Some(wait) = retry_after {
                    write!(f, "; retry after {}s", wait.as_secs())?;
                }
                if !body.is_empty() {
                    write!(f, "; body: {body:?}")?;
                }
                Ok(())
            }
            Self::Refused => f.write_str(
                "connection refused: nothing listens at that address and port; check the url",
            ),
            Self::Reset => f.write_str("connection reset by the peer or the network"),
            Self::Dns { host, detail } => write!(
                f,
                "could not resolve host {host:?} ({detail}): check the host name and the network"
            ),
            Self::TlsCertificate { detail } => write!(
                f,
                "tls certificate rejected ({detail}): check the url's host name and the system \
                 clock; for a private CA use TlsPolicy::VerifyWithExtraRoots"
            ),
            Self::Tls { detail } => write!(
                f,
                "tls failed ({detail}): is the server speaking tls? use ws:// for a plain server"
            ),
            Self::HandshakeTimeout { after } => write!(
                f,
                "connection not open after {after:?} (handshake_timeout): the server or network \
                 is slow or unreachable"
            ),
            Self::Silence { after } => write!(
                f,
                "no frame received for {after:?} (silence_timeout): the connection is dead or \
                 the server stalled; reconnect"
            ),
            Self::Protocol { detail } => {
                write!(f, "websocket protocol error from the peer: {detail}")
            }
            Self::FrameTooBig { size, max } => write!(
                f,
                "incoming frame of {size} bytes exceeds max_frame_size ({max}); raise \
                 TransportConfig::max_frame_size if the server legitimately sends frames this big"
            ),
            Self::MessageTooBig { size, max } => write!(
                f,
                "incoming message of {size} bytes exceeds max_message_size ({max}); raise \
                 TransportConfig::max_message_size if the server legitimately sends messages this big"
            ),
            Self::Eof => {
                f.write_str("peer closed the tcp connection without a websocket close frame")
            }
            Self::Io { kind, detail } => write!(f, "i/o error ({kind}): {detail}"),
        }
    }
}

/// Formats a close reason as `, "reason"`, or nothing when it is empty.
struct Reason<'a>(&'a str);

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, ", {:?}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_are_classified() {
        assert_eq!(
            CloseCause::from_close(Some(1000), ""),
            CloseCause::Normal {
                reason: String::new()
            }
        );
        assert!(matches!(
            CloseCause::from_close(Some(1001), "bye"),
            CloseCause::GoingAway { .. }
        ));
        let limit = CloseCause::from_close(Some(1008), "Too many requests");
        assert!(limit.is_rate_limit());
        assert!(limit.to_string().contains("Too many requests"), "{limit}");
        assert_eq!(CloseCause::from_close(None, "").close_code(), Some(1005));
        assert_eq!(
            CloseCause::from_close(Some(4000), "x").label(),
            "other_close"
        );
    }

    #[test]
    fn io_errors_are_classified() {
        let cases = [
            (io::ErrorKind::ConnectionRefused, "refused"),
            (io::ErrorKind::ConnectionReset, "reset"),
            (io::ErrorKind::ConnectionAborted, "reset"),
            (io::ErrorKind::BrokenPipe, "reset"),
            (io::ErrorKind::UnexpectedEof, "eof"),
            (io::ErrorKind::PermissionDenied, "io"),
        ];
        for (kind, label) in cases {
            assert_eq!(
                CloseCause::from_io(&io::Error::from(kind)).label(),
                label,
                "{kind:?}"
            );
        }
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(CloseCause::from_io(&tls).label(), "tls");
        let cert = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(CloseCause::from_io(&cert).label(), "tls_certificate");
    }

    #[test]
    fn handshake_statuses_are_classified() {
        let rejected = |status| CloseCause::HandshakeRejected {
            status,
            retry_after: Some(Duration::from_secs(7)),
            body: String::new(),
        };
        assert!(rejected(429).is_rate_limit());
        assert!(rejected(418).is_rate_limit());
        assert!(rejected(429).is_retryable());
        assert!(!rejected(404).is_retryable());
        assert!(rejected(503).is_retryable());
        assert!(!rejected(503).is_rate_limit());
        assert_eq!(rejected(429).retry_after(), Some(Duration::from_secs(7)));
        assert!(rejected(429).to_string().contains("retry after 7s"));
    }
}
