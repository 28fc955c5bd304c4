//! An in-memory WebSocket, so code that drives a [`Connection`] can be tested
//! without sockets, deterministically, under paused tokio time.
//!
//! [`pair`] gives a real [`Connection`] (same pacing, keepalive, silence and
//! close logic as over a socket) and a [`Server`] handle that plays the peer:
//! it pushes frames, pings, closes, fails the link with any [`CloseCause`], and
//! observes every frame the client sent with its send time on tokio's clock.
//! [`MemoryConnector`] plays a server endpoint for code written against
//! [`Connector`]: it scripts failures and hands out servers.
//!
//! A stalled server is one that sends nothing: the client's silence timeout
//! then fires, at an exact time under `tokio::time::pause`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ws_transport::Error> {
//! use ws_transport::{Event, TransportConfig, memory::{self, SentFrame}};
//!
//! let (mut conn, mut server) = memory::pair(&TransportConfig::default())?;
//! server.send_text("hello");
//! assert!(matches!(conn.next().await, Event::Text(t) if t == "hello"));
//! conn.send_text("hi")?;
//! server.close(1000, "bye");
//! assert!(matches!(conn.next().await, Event::Closed(_)));
//! assert_eq!(server.recv().await.map(|sent| sent.frame), Some(SentFrame::Text("hi".into())));
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::cause::CloseCause;
use crate::config::TransportConfig;
use crate::connection::Connection;
use crate::connector::Connector;
use crate::error::Error;
use crate::link::Link;
use crate::url::WsUrl;

/// Opens an in-memory connection: the client side and the server handle.
///
/// # Errors
///
/// [`Error::InvalidConfig`] when `config` does not validate.
pub fn pair(config: &TransportConfig) -> Result<(Connection, Server), Error> {
    config.validate()?;
    let (to_client, inbound) = mpsc::unbounded_channel();
    let (outbound, from_client) = mpsc::unbounded_channel();
    let ignore_close = Arc::new(AtomicBool::new(false));
    let link = ClientLink {
        inbound,
        outbound,
        loopback: to_client.downgrade(),
        ignore_close: Arc::clone(&ignore_close),
        max_frame_size: config.max_frame_size,
        state: State::Open,
    };
    let server = Server {
        to_client,
        from_client,
        ignore_close,
    };
    Ok((
        Connection::new(Link::Memory(link), config, "memory".into()),
        server,
    ))
}

/// What the server pushes into the client's inbound queue.
#[derive(Debug)]
enum Inbound {
    Frame(Message),
    Fail(CloseCause),
}

/// Close-handshake state of the client side, mirroring tungstenite's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    ClosedByUs,
    ClosedByPeer,
    /// The handshake is complete (or the link failed): the "socket" is gone.
    Done,
}

/// The client half of an in-memory link.
pub(crate) struct ClientLink {
    inbound: mpsc::UnboundedReceiver<Inbound>,
    outbound: mpsc::UnboundedSender<Sent>,
    /// Lets the link answer our own close on the peer's behalf without keeping the
    /// channel open (a strong sender would hide the server's drop, i.e. EOF).
    loopback: mpsc::WeakUnboundedSender<Inbound>,
    ignore_close: Arc<AtomicBool>,
    max_frame_size: usize,
    state: State,
}

impl ClientLink {
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, CloseCause>>> {
        if self.state == State::Done {
            return Poll::Ready(None);
        }
        let Some(item) = std::task::ready!(self.inbound.poll_recv(cx)) else {
            // The server handle was dropped: like a TCP close, clean only after a close.
            let open = self.state == State::Open;
            self.state = State::Done;
            return Poll::Ready(if open {
                Some(Err(CloseCause::Eof))
            } else {
                None
            });
        };
        let message = match item {
            Inbound::Fail(cause) => {
                self.state = State::Done;
                return Poll::Ready(Some(Err(cause)));
            }
            Inbound::Frame(message) => message,
        };
        if let Message::Text(_) | Message::Binary(_) = &message {
            let size = message.len();
            if size > self.max_frame_size {
                self.state = State::Done;
                return Poll::Ready(Some(Err(CloseCause::FrameTooBig {
                    size,
                    max: self.max_frame_size,
                })));
            }
        }
        if let Message::Close(_) = &message {
            self.state = match self.state {
                State::Open => State::ClosedByPeer,
                _ => State::Done,
            };
        }
        Poll::Ready(Some(Ok(message)))
    }

    pub(crate) fn send(&mut self, message: Message) {
        let frame = match message {
            Message::Text(text) => SentFrame::Text(text.as_str().to_owned()),
            Message::Binary(data) => SentFrame::Binary(data),
            Message::Ping(data) => SentFrame::Ping(data),
            Message::Pong(data) => SentFrame::Pong(data),
            Message::Close(frame) => {
                self.state = State::ClosedByUs;
                if !self.ignore_close.load(Ordering::SeqCst)
                    && let Some(peer) = self.loopback.upgrade()
                {
                    // The peer echoes our close, after whatever it had already sent.
                    let _ = peer.send(Inbound::Frame(Message::Close(frame.clone())));
                }
                close_frame(frame)
            }
            Message::Frame(_) => return,
        };
        // A send to a dropped server is lost like bytes to a closed socket; the drop shows
        // up on the read side as EOF.
        let _ = self.outbound.send(Sent {
            at: Instant::now(),
            frame,
        });
    }

    pub(crate) fn reply_close(&mut self, frame: Option<CloseFrame>) {
        let _ = self.outbound.send(Sent {
            at: Instant::now(),
            frame: close_frame(frame),
        });
        // The server closes the "socket" once its close is answered.
        self.state = State::Done;
    }
}

fn close_frame(frame: Option<CloseFrame>) -> SentFrame {
    match frame {
        Some(frame) => SentFrame::Close {
            code: Some(frame.code.into()),
            reason: frame.reason.as_str().to_owned(),
        },
        None => SentFrame::Close {
            code: None,
            reason: String::new(),
        },
    }
}

/// A frame the client sent, with the time it was handed to the link (tokio's clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// When the connection handed it over (after pacing).
    pub at: Instant,
    /// The frame.
    pub frame: SentFrame,
}

/// The frames a client can send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SentFrame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Bytes),
    /// Our own ping.
    Ping(Bytes),
    /// An answer to the server's ping.
    Pong(Bytes),
    /// A close frame (our own close, or the echo of the server's).
    Close {
        /// The close code, if any.
        code: Option<u16>,
        /// The close reason.
        reason: String,
    },
}

/// The peer of an in-memory [`Connection`]. Dropping it ends the connection like a
/// TCP close (EOF, or a clean end after a close handshake).
#[derive(Debug)]
pub struct Server {
    to_client: mpsc::UnboundedSender<Inbound>,
    from_client: mpsc::UnboundedReceiver<Sent>,
    ignore_close: Arc<AtomicBool>,
}

impl Server {
    /// Sends a text message. Frames sent after the client is gone are dropped silently.
    pub fn send_text(&self, text: impl Into<String>) {
        self.push(Message::Text(text.into().into()));
    }

    /// Sends a binary message.
    pub fn send_binary(&self, data: impl Into<Bytes>) {
        self.push(Message::Binary(data.into()));
    }

    /// Sends a ping; the client answers with a pong carrying the same payload.
    pub fn ping(&self, payload: impl Into<Bytes>) {
        self.push(Message::Ping(payload.into()));
    }

    /// Sends a pong (unsolicited or answering the client's ping).
    pub fn pong(&self, payload: impl Into<Bytes>) {
        self.push(Message::Pong(payload.into()));
    }

    /// Starts a close handshake with this code and reason.
    pub fn close(&self, code: u16, reason: &str) {
        self.push(Message::Close(Some(CloseFrame {
            code: code.into(),
            reason: reason.into(),
        })));
    }

    /// Ends the link with this cause, after the frames already sent: any failure a socket
    /// can have (reset, TLS, protocol error, …) without needing one.
    pub fn fail(&self, cause: CloseCause) {
        let _ = self.to_client.send(Inbound::Fail(cause));
    }

    /// Stops answering the client's close frames (by default the server echoes them at once),
    /// to exercise the client's `close_timeout`.
    pub fn ignore_close_requests(&self) {
        self.ignore_close.store(true, Ordering::SeqCst);
    }

    /// The next frame the client sent; `None` once the client is gone and all were read.
    pub async fn recv(&mut self) -> Option<Sent> {
        self.from_client.recv().await
    }

    /// A frame the client already sent, without waiting.
    pub fn try_recv(&mut self) -> Option<Sent> {
        self.from_client.try_recv().ok()
    }

    fn push(&self, message: Message) {
        let _ = self.to_client.send(Inbound::Frame(message));
    }
}

/// How a scripted connection attempt of a [`MemoryConnector`] ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attempt {
    /// The connection opens; its [`Server`] goes to the [`Acceptor`].
    Accept,
    /// The attempt fails with this cause, as [`Error::Connect`].
    Fail(CloseCause),
}

/// A [`Connector`] that opens in-memory connections, following a script of attempt
/// outcomes (when the script runs out, every attempt is accepted).
#[derive(Debug)]
pub struct MemoryConnector {
    config: TransportConfig,
    script: Mutex<VecDeque<Attempt>>,
    accepted: mpsc::UnboundedSender<(WsUrl, Server)>,
}

/// Receives the server side of each connection a [`MemoryConnector`] accepted.
#[derive(Debug)]
pub struct Acceptor(mpsc::UnboundedReceiver<(WsUrl, Server)>);

impl Acceptor {
    /// The next accepted connection's URL and server; `None` once the connector is dropped.
    pub async fn accept(&mut self) -> Option<(WsUrl, Server)> {
        self.0.recv().await
    }

    /// An already accepted connection, without waiting.
    pub fn try_accept(&mut self) -> Option<(WsUrl, Server)> {
        self.0.try_recv().ok()
    }
}

impl MemoryConnector {
    /// A connector whose connections use `config`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `config` does not validate.
    pub fn new(config: TransportConfig) -> Result<(Self, Acceptor), Error> {
        config.validate()?;
        let (accepted, rx) = mpsc::unbounded_channel();
        Ok((
            Self {
                config,
                script: Mutex::new(VecDeque::new()),
                accepted,
            },
            Acceptor(rx),
        ))
    }

    /// Appends outcomes for the next attempts.
    pub fn script(&self, attempts: impl IntoIterator<Item = Attempt>) {
        self.lock().extend(attempts);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Attempt>> {
        // The script is a plain queue: a panic elsewhere cannot leave it inconsistent.
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Connector for MemoryConnector {
    async fn connect(&self, url: &WsUrl) -> Result<Connection, Error> {
        let next = self.lock().pop_front().unwrap_or(Attempt::Accept);
        match next {
            Attempt::Fail(cause) => Err(Error::Connect(cause)),
            Attempt::Accept => {
                let (connection, server) = pair(&self.config)?;
                let _ = self.accepted.send((url.clone(), server));
                Ok(connection)
            }
        }
    }
}
