//! What a connection hands to its owner: events, text payloads, unsent frames and counters.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::cause::CloseCause;

/// One thing that happened on a connection, from [`Connection::next`](crate::Connection::next).
///
/// Pings, pongs and close handshakes are handled inside the connection and
/// show up only in [`Stats`] and, at the end, in [`Event::Closed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A text message.
    Text(Text),
    /// A binary message.
    Binary(Bytes),
    /// The connection has ended; every later call returns the same cause again.
    Closed(CloseCause),
}

/// The payload of a text message: UTF-8 checked once, shared without copying.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Utf8Bytes);

impl Text {
    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The UTF-8 bytes, without copying.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0.into()
    }

    pub(crate) fn from_utf8_bytes(text: Utf8Bytes) -> Self {
        Self(text)
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Self(text.into())
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Self(text.into())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A data frame that was queued but never sent, from
/// [`Connection::take_unsent`](crate::Connection::take_unsent).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outgoing {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Bytes),
}

/// Per-connection counters, updated inline as frames pass (reading them is a copy).
///
/// "Frames" count every WebSocket frame, control frames included; "bytes" are
/// payload bytes (for a close frame, its reason; headers and TLS overhead are
/// not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// When the connection opened.
    pub opened_at: Instant,
    /// When the last frame of any kind arrived (`opened_at` until one does).
    pub last_frame_at: Instant,
    /// Frames received.
    pub frames_in: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Frames sent (data, pings, pongs, close).
    pub frames_out: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// Pings received from the peer.
    pub pings_in: u64,
    /// Pongs sent (answers to the peer's pings).
    pub pongs_out: u64,
    /// Our own pings sent.
    pub pings_out: u64,
    /// Pongs received.
    pub pongs_in: u64,
    /// Round trip of our latest ping that was answered, if any.
    pub last_rtt: Option<Duration>,
    /// Data frames waiting for the pacer now.
    pub queued: usize,
}

impl Stats {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            opened_at: now,
            last_frame_at: now,
            frames_in: 0,
            bytes_in: 0,
            frames_out: 0,
            bytes_out: 0,
            pings_in: 0,
            pongs_out: 0,
            pings_out: 0,
            pongs_in: 0,
            last_rtt: None,
            queued: 0,
        }
    }
}
