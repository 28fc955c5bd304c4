//! [`Connection`]: one open WebSocket, owned by one task, driven by `next()`.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::debug;

use crate::cause::CloseCause;
use crate::config::TransportConfig;
use crate::error::Error;
use crate::event::{Event, Outgoing, Stats};
use crate::link::Link;
use crate::pacer::Pacer;

/// Longest close reason: a close frame's payload is at most 125 bytes, 2 of them the code.
const MAX_CLOSE_REASON: usize = 123;

/// One open WebSocket connection.
///
/// A single owner drives it by awaiting [`next`](Self::next) in a loop (for
/// instance in a `tokio::select!` next to its command channel): while `next`
/// is pending the connection answers pings, sends its own pings, drains the
/// outbound queue at the configured pace and watches for silence. Nothing
/// happens between calls, so a driver must keep calling `next` (a paused
/// driver lets pings go unanswered, as a stalled process would).
///
/// Dropping a connection closes the socket without a close frame; use
/// [`close`](Self::close) to end it gracefully.
pub struct Connection {
    /// `None` once closed: dropping the link closes the socket.
    pub(crate) link: Option<Link>,
    pub(crate) settings: Settings,
    pub(crate) pacer: Pacer,
    /// Data frames waiting for the pacer, oldest first.
    pub(crate) outbox: VecDeque<Message>,
    /// Payload of a ping we must answer before touching the link again (see `link`).
    pub(crate) pong_owed: Option<Bytes>,
    pub(crate) ping_due: bool,
    pub(crate) ping_seq: u64,
    /// Our latest ping: its sequence number and send time, for the round trip.
    pub(crate) ping_in_flight: Option<(u64, Instant)>,
    /// A frame was handed to the link and not yet flushed.
    pub(crate) flush_pending: bool,
    pub(crate) phase: Phase,
    /// Fires at or before the silence deadline; re-armed lazily so a frame costs no timer update.
    pub(crate) silence: Pin<Box<Sleep>>,
    pub(crate) pacer_wait: Pin<Box<Sleep>>,
    pub(crate) ping_timer: Option<Interval>,
    pub(crate) close_deadline: Pin<Box<Sleep>>,
    pub(crate) stats: Stats,
    /// `host:port` (or `memory`), for logs.
    pub(crate) peer: String,
}

/// The config values the connection reads after opening.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) silence_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) max_queued_frames: usize,
}

/// Where the connection is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    Open,
    /// We asked to close: send our close frame (paced), then wait for the peer's echo and EOF.
    Closing {
        code: u16,
        reason: String,
        sent: bool,
        acknowledged: bool,
    },
    /// Ending for `cause`: send what is owed (the echo of the peer's close, or our close frame
    /// after a protocol failure), then report. `close_code` is our unsent close, if any.
    Ending {
        cause: CloseCause,
        close_code: Option<u16>,
        wait_for_eof: bool,
    },
    Closed(CloseCause),
}

impl Connection {
    pub(crate) fn new(link: Link, config: &TransportConfig, peer: String) -> Self {
        let now = Instant::now();
        let ping_timer = config.ping_interval.map(|every| {
            let mut timer = tokio::time::interval_at(now + every, every);
            // After a stall, one ping is enough; a catch-up burst would only eat pacing budget.
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
            timer
        });
        Self {
            link: Some(link),
            settings: Settings {
                silence_timeout: config.silence_timeout,
                close_timeout: config.close_timeout,
                max_queued_frames: config.max_queued_frames,
            },
            pacer: Pacer::new(config.pacing, crate::pacer::TokioClock),
            outbox: VecDeque::new(),
            pong_owed: None,
            ping_due: false,
            ping_seq: 0,
            ping_in_flight: None,
            flush_pending: false,
            phase: Phase::Open,
            silence: Box::pin(tokio::time::sleep_until(now + config.silence_timeout)),
            pacer_wait: Box::pin(tokio::time::sleep_until(now)),
            ping_timer,
            close_deadline: Box::pin(tokio::time::sleep_until(now + config.close_timeout)),
            stats: Stats::new(now),
            peer,
        }
    }

    /// Waits for the next message or the end of the connection, doing all the
    /// connection's housekeeping meanwhile.
    ///
    /// Cancel-safe: all state lives in the connection, so dropping this future (a
    /// losing `select!` branch) loses nothing. After [`Event::Closed`] every call
    /// returns the same `Closed` again at once.
    pub async fn next(&mut self) -> Event {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The poll form of [`next`](Self::next), for hand-written futures and streams.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        if let Phase::Closed(cause) = &self.phase {
            return Poll::Ready(Event::Closed(cause.clone()));
        }
        match self.drive(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(event)) => Poll::Ready(event),
            Poll::Ready(Err(cause)) => {
                self.finish(cause.clone());
                Poll::Ready(Event::Closed(cause))
            }
        }
    }

    /// Queues a text frame; it leaves when the pacer allows, while `next` is polled.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once closing has begun, [`Error::QueueFull`] when
    /// `max_queued_frames` frames already wait.
    pub fn send_text(&mut self, text: impl Into<String>) -> Result<(), Error> {
        self.enqueue(Message::Text(text.into().into()))
    }

    /// Queues a binary frame, like [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.enqueue(Message::Binary(data.into()))
    }

    fn enqueue(&mut self, message: Message) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Open) {
            return Err(Error::Closed);
        }
        if self.outbox.len() >= self.settings.max_queued_frames {
            return Err(Error::QueueFull {
                capacity: self.settings.max_queued_frames,
            });
        }
        self.outbox.push_back(message);
        Ok(())
    }

    /// Starts a graceful close; keep calling [`next`](Self::next), which still delivers
    /// messages that arrive meanwhile and returns [`Event::Closed`] with
    /// [`CloseCause::ClosedLocally`] when done (or after `close_timeout`).
    ///
    /// The close frame goes out ahead of queued data frames (pongs still come first);
    /// data never sent can be recovered with [`take_unsent`](Self::take_unsent). Does
    /// nothing if the connection is already closing or closed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidClose`] for a code the protocol forbids sending (below 1000,
    /// 1004–1006, 1015, 1016–2999, above 4999) or a reason over 123 bytes.
    pub fn begin_close(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        if !CloseCode::from(code).is_allowed() || !(1000..=4999).contains(&code) {
            return Err(Error::InvalidClose {
                code,
                problem: "this code may not be sent",
            });
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(Error::InvalidClose {
                code,
                problem: "reason is longer than 123 bytes",
            });
        }
        if matches!(self.phase, Phase::Open) {
            self.phase = Phase::Closing {
                code,
                reason: reason.to_owned(),
                sent: false,
                acknowledged: false,
            };
            self.arm_close_deadline();
        }
        Ok(())
    }

    /// Closes gracefully and waits until the connection has ended, returning how it ended.
    /// Messages that arrive meanwhile are discarded; use [`begin_close`](Self::begin_close)
    /// and [`next`](Self::next) to keep them.
    ///
    /// # Errors
    ///
    /// As for [`begin_close`](Self::begin_close).
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<CloseCause, Error> {
        self.begin_close(code, reason)?;
        loop {
            if let Event::Closed(cause) = self.next().await {
                return Ok(cause);
            }
        }
    }

    /// Counters for this connection.
    #[must_use]
    pub fn stats(&self) -> Stats {
        Stats {
            queued: self.outbox.len(),
            ..self.stats
        }
    }

    /// Whether the connection has ended.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed(_))
    }

    /// How the connection ended, once it has.
    #[must_use]
    pub fn close_cause(&self) -> Option<&CloseCause> {
        match &self.phase {
            Phase::Closed(cause) => Some(cause),
            _ => None,
        }
    }

    /// `host:port` of the peer (`memory` for an in-memory connection).
    #[must_use]
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Removes and returns the data frames still waiting to be sent, oldest first, so a
    /// driver can send them on its next connection.
    pub fn take_unsent(&mut self) -> Vec<Outgoing> {
        self.outbox
            .drain(..)
            .filter_map(|message| match message {
                Message::Text(text) => Some(Outgoing::Text(text.as_str().to_owned())),
                Message::Binary(data) => Some(Outgoing::Binary(data)),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn arm_close_deadline(&mut self) {
        let deadline = Instant::now() + self.settings.close_timeout;
        self.close_deadline.as_mut().reset(deadline);
    }

    fn finish(&mut self, cause: CloseCause) {
        debug!(peer = %self.peer, cause = cause.label(), detail = %cause, "websocket closed");
        self.link = None;
        self.pong_owed = None;
        self.phase = Phase::Closed(cause);
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .field("phase", &self.phase)
            .field("queued", &self.outbox.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
