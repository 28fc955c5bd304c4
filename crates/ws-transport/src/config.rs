//! Connection settings: timeouts, size limits, keepalive, pacing, TLS and handshake headers.

use std::fmt;
use std::time::Duration;

use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use crate::error::Error;
use crate::url::WsUrl;

/// One MiB, for the size defaults below.
const MIB: usize = 1 << 20;

/// Everything a connection needs to know, with defaults fit for Binance market streams.
///
/// A plain struct: set the fields you care about and keep the rest from
/// [`Default`]. [`validate`](Self::validate) (called by every connect) names
/// the first field that is out of range.
///
/// | field | default | why |
/// |---|---|---|
/// | `handshake_timeout` | 10 s | DNS + TCP + TLS + HTTP upgrade; the official connector uses 10 s |
/// | `max_frame_size` | 4 MiB | Binance sends each message as one frame; the largest (`!ticker_1d@arr`, every symbol changed) is about 1.3 MB |
/// | `max_message_size` | 8 MiB | room for a server that fragments; still bounds memory per connection |
/// | `silence_timeout` | 30 s | Binance pings every 20 s, so 30 s without any frame means the link is dead |
/// | `ping_interval` | `None` | Binance pings us; our own pings are for servers that do not |
/// | `pacing` | 4 frames per rolling 1 s | Binance disconnects above 5 incoming frames per second, pongs included |
/// | `close_timeout` | 5 s | how long a graceful close waits for the peer's answer |
/// | `max_queued_frames` | 64 | about 16 s of backlog at the default pace |
/// | `tls` | [`TlsPolicy::Verify`] | certificate checks are always on unless turned off for loopback |
/// | `headers` | none | extra handshake headers, e.g. an API key; values never appear in `Debug` |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportConfig {
    /// Upper bound for the whole opening: name resolution, TCP connect, TLS and the HTTP upgrade.
    pub handshake_timeout: Duration,
    /// Largest incoming frame payload accepted, in bytes; a bigger frame ends the connection
    /// with [`CloseCause::FrameTooBig`](crate::CloseCause::FrameTooBig).
    pub max_frame_size: usize,
    /// Largest incoming message (all fragments together), in bytes; must be at least
    /// `max_frame_size`.
    pub max_message_size: usize,
    /// A connection that receives no frame at all (data, ping, pong or close) for this long is
    /// declared dead with [`CloseCause::Silence`](crate::CloseCause::Silence).
    pub silence_timeout: Duration,
    /// Send our own ping this often; `None` sends none. Must be shorter than `silence_timeout`,
    /// so that the peer's pong can arrive before the connection is judged silent.
    pub ping_interval: Option<Duration>,
    /// Limit on outbound frames (data, pings, pongs and our close frame).
    pub pacing: Pacing,
    /// How long a graceful close (ours or the peer's) may take before the socket is dropped.
    pub close_timeout: Duration,
    /// Outbound frames that may wait for the pacer; one more is refused with
    /// [`Error::QueueFull`].
    pub max_queued_frames: usize,
    /// Certificate checking for `wss://`.
    pub tls: TlsPolicy,
    /// Extra headers sent with the HTTP upgrade request.
    pub headers: Headers,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            max_frame_size: 4 * MIB,
            max_message_size: 8 * MIB,
            silence_timeout: Duration::from_secs(30),
            ping_interval: None,
            pacing: Pacing::default(),
            close_timeout: Duration::from_secs(5),
            max_queued_frames: 64,
            tls: TlsPolicy::Verify,
            headers: Headers::new(),
        }
    }
}

impl TransportConfig {
    /// Checks every field, returning [`Error::InvalidConfig`] naming the first bad one.
    ///
    /// # Errors
    ///
    /// A zero timeout, a zero size, a message limit below the frame limit, a ping
    /// interval not below the silence timeout, an empty pacing window, or a zero queue.
    pub fn validate(&self) -> Result<(), Error> {
        non_zero("handshake_timeout", self.handshake_timeout)?;
        non_zero("silence_timeout", self.silence_timeout)?;
        non_zero("close_timeout", self.close_timeout)?;
        if self.max_frame_size == 0 {
            return Err(invalid(
                "max_frame_size",
                "must be greater than zero".into(),
            ));
        }
        if self.max_message_size < self.max_frame_size {
            return Err(invalid(
                "max_message_size",
                format!(
                    "must be at least max_frame_size ({} < {})",
                    self.max_message_size, self.max_frame_size
                ),
            ));
        }
        if let Some(ping) = self.ping_interval {
            non_zero("ping_interval", ping)?;
            if ping >= self.silence_timeout {
                return Err(invalid(
                    "ping_interval",
                    format!(
                        "must be shorter than silence_timeout ({ping:?} >= {:?}), or the pong \
                         cannot arrive before the connection is judged silent",
                        self.silence_timeout
                    ),
                ));
            }
        }
        self.pacing.validate()?;
        if self.max_queued_frames == 0 {
            return Err(invalid(
                "max_queued_frames",
                "must be greater than zero".into(),
            ));
        }
        Ok(())
    }

    /// [`validate`](Self::validate), plus the rules that depend on the URL: with
    /// [`TlsPolicy::InsecureLoopbackOnly`] the host must be loopback. Every connect
    /// checks this before any I/O; call it at start-up to fail early.
    ///
    /// # Errors
    ///
    /// As for `validate`, and [`Error::InsecureTlsNotLoopback`].
    pub fn validate_for(&self, url: &WsUrl) -> Result<(), Error> {
        self.validate()?;
        if self.tls == TlsPolicy::InsecureLoopbackOnly && !url.is_loopback() {
            return Err(Error::InsecureTlsNotLoopback {
                host: url.host().to_owned(),
            });
        }
        Ok(())
    }
}

/// At most `max_frames` outbound frames in any rolling window of length `window`.
///
/// "Any rolling window" is meant literally: for every instant `t`, the frames
/// handed to the socket in `[t, t + window)` number at most `max_frames`. The
/// pacer enforces it by spacing frames at least `window / max_frames` apart
/// (see the crate docs for why no burst is allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    /// Frames allowed per window; at least 1.
    pub max_frames: u32,
    /// The window length; greater than zero.
    pub window: Duration,
}

impl Default for Pacing {
    /// Four frames per rolling second: one below Binance's limit of five, as margin for
    /// network jitter that can bunch frames up on the way.
    fn default() -> Self {
        Self {
            max_frames: 4,
            window: Duration::from_secs(1),
        }
    }
}

impl Pacing {
    /// The minimum spacing between two frames, rounded up to whole nanoseconds so
    /// that rounding can never let an extra frame into a window.
    #[must_use]
    pub fn spacing(&self) -> Duration {
        let nanos = self
            .window
            .as_nanos()
            .div_ceil(u128::from(self.max_frames.max(1)));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn validate(&self) -> Result<(), Error> {
        if self.max_frames == 0 {
            return Err(invalid("pacing.max_frames", "must be at least 1".into()));
        }
        if self.window.is_zero() {
            return Err(invalid("pacing.window", "must be greater than zero".into()));
        }
        Ok(())
    }
}

/// How `wss://` certificates are checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// Check the certificate chain against the Mozilla roots (`webpki-roots`) and the host name.
    #[default]
    Verify,
    /// Like [`Verify`](Self::Verify), and also trust these DER-encoded root certificates
    /// (a private CA, or a test server's CA).
    VerifyWithExtraRoots(Vec<Vec<u8>>),
    /// Accept any certificate, for a local test server only. A config with this policy
    /// only ever talks to loopback (`localhost`, `127.0.0.0/8`, `::1`): connecting to any
    /// other host, by name or by resolved address, `ws://` included, is refused with
    /// [`Error::InsecureTlsNotLoopback`] before any data is sent. Handshake signatures are
    /// still checked.
    InsecureLoopbackOnly,
}

/// Extra HTTP headers for the WebSocket upgrade request.
///
/// Values may be secrets (an API key), so they are marked sensitive and
/// `Debug` prints only the names.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(HeaderName, HeaderValue)>);

/// Headers the WebSocket handshake writes itself; setting them would corrupt the upgrade.
const RESERVED_HEADERS: [&str; 6] = [
    "host",
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
];

impl Headers {
    /// No headers.
    #[must_use]
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds a header (an existing one with the same name stays: both are sent).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHeader`] when the name or value is not valid HTTP, or the name is
    /// one the handshake sets itself (`Host`, `Upgrade`, `Sec-WebSocket-Key`, …).
    pub fn insert(&mut self, name: &str, value: &str) -> Result<&mut Self, Error> {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::InvalidHeader {
            name: name.to_owned(),
            problem: "not a valid header name",
        })?;
        if RESERVED_HEADERS.contains(&header.as_str()) {
            return Err(Error::InvalidHeader {
                name: name.to_owned(),
                problem: "set by the websocket handshake itself",
            });
        }
        let mut value = HeaderValue::from_str(value).map_err(|_| Error::InvalidHeader {
            name: name.to_owned(),
            problem: "value has characters not allowed in a header",
        })?;
        value.set_sensitive(true);
        self.0.push((header, value));
        Ok(self)
    }

    /// Number of headers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Header names, lowercase, in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(HeaderName, HeaderValue)> {
        self.0.iter()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name.as_str(), "<redacted>")))
            .finish()
    }
}

fn non_zero(field: &'static str, value: Duration) -> Result<(), Error> {
    if value.is_zero() {
        Err(invalid(field, "must be greater than zero".into()))
    } else {
        Ok(())
    }
}

fn invalid(field: &'static str, problem: String) -> Error {
    Error::InvalidConfig { field, problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        TransportConfig::default().validate().unwrap();
    }

    #[test]
    fn each_bad_field_is_named() {
        type Mutate = Box<dyn Fn(&mut TransportConfig)>;
        let cases: Vec<(&str, Mutate)> = vec![
            (
                "handshake_timeout",
                Box::new(|c| c.handshake_timeout = Duration::ZERO),
            ),
            (
                "silence_timeout",
                Box::new(|c| c.silence_timeout = Duration::ZERO),
            ),
            (
                "close_timeout",
                Box::new(|c| c.close_timeout = Duration::ZERO),
            ),
            ("max_frame_size", Box::new(|c| c.max_frame_size = 0)),
            (
                "max_message_size",
                Box::new(|c| c.max_message_size = c.max_frame_size - 1),
            ),
            (
                "ping_interval",
                Box::new(|c| c.ping_interval = Some(Duration::ZERO)),
            ),
            (
                "ping_interval",
                Box::new(|c| c.ping_interval = Some(c.silence_timeout)),
            ),
            ("pacing.max_frames", Box::new(|c| c.pacing.max_frames = 0)),
            (
                "pacing.window",
                Box::new(|c| c.pacing.window = Duration::ZERO),
            ),
            ("max_queued_frames", Box::new(|c| c.max_queued_frames = 0)),
        ];
        for (expected, mutate) in cases {
            let mut config = TransportConfig::default();
            mutate(&mut config);
            match config.validate() {
                Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, expected),
                other => panic!("{expected}: expected InvalidConfig, got {other:?}"),
            }
        }
    }

    #[test]
    fn insecure_tls_is_for_loopback_only() {
        let config = TransportConfig {
            tls: TlsPolicy::InsecureLoopbackOnly,
            ..TransportConfig::default()
        };
        for url in ["wss://127.0.0.1:1/", "wss://localhost/", "ws://[::1]:9/"] {
            config.validate_for(&url.parse().unwrap()).unwrap();
        }
        for url in [
            "wss://stream.binance.com:9443/",
            "ws://192.168.1.1/",
            "wss://localhost.evil/",
        ] {
            assert!(
                matches!(
                    config.validate_for(&url.parse().unwrap()),
                    Err(Error::InsecureTlsNotLoopback { .. })
                ),
                "{url}"
            );
        }
        TransportConfig::default()
            .validate_for(&"wss://stream.binance.com/".parse().unwrap())
            .unwrap();
    }

    #[test]
    fn spacing_rounds_up() {
        let pacing = Pacing {
            max_frames: 3,
            window: Duration::from_secs(1),
        };
        assert_eq!(pacing.spacing(), Duration::from_nanos(333_333_334));
        assert_eq!(Pacing::default().spacing(), Duration::from_millis(250));
    }

    #[test]
    fn header_values_are_redacted_in_debug() {
        let mut headers = Headers::new();
        headers.insert("X-MBX-APIKEY", "very-secret-key").unwrap();
        let config = TransportConfig {
            headers,
            ..TransportConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(printed.contains("x-mbx-apikey"), "{printed}");
        assert!(!printed.contains("very-secret-key"), "{printed}");
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused() {
        let mut headers = Headers::new();
        for (name, value) in [
            ("Host", "x"),
            ("Sec-WebSocket-Key", "x"),
            ("bad name", "x"),
            ("x-ok", "a\nb"),
        ] {
            assert!(
                matches!(
                    headers.insert(name, value),
                    Err(Error::InvalidHeader { .. })
                ),
                "{name}"
            );
        }
        assert!(headers.is_empty());
    }
}
