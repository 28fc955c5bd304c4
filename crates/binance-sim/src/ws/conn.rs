//! One market-stream connection: the handshake, then a single task that reads client
//! frames, fans out events, answers control requests and enforces the connection
//! rules until the connection ends.
//!
//! The task owns the socket and waits in one `tokio::select!` on: the simulator's
//! shutdown, fault commands, one timer (the earliest of keepalive, lifetime and
//! shutdown notice), the socket (reads and queued writes driven by one poll
//! function, so a slow client never blocks the rest), the event bus and stall
//! changes. Every way out goes through [`Conn::finish`], which records how the
//! connection ended.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::accept_hdr_async_with_config;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::api::ApiSession;
use super::control::Session;
use super::gate::Gated;
use super::handshake::{Refusal, Service, Target, parse_target};
use super::outbox::{IoEvent, Outbox, Ws, drain_frames, drain_raw, poll_io, reset};
use super::registered::{CloseGuard, Registered};
use super::rules::{Keepalive, KeepaliveAction, RateWindow, later};
use crate::account::UserEvent;
use crate::payload::{ServerShutdownEvent, TimeUnit, Ts, to_json};
use crate::state::{Batch, CloseRecord, ConnCommand, ConnCounters, DropKind, Shared, lock, now_ms};

/// How long a client has to send its HTTP upgrade request.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server waits for the client's answer after sending a close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// The longest close reason a close frame can carry (125 bytes minus the code).
const MAX_REASON: usize = 123;

/// Runs one accepted TCP connection to its end. `limited` is set when the attempt
/// broke the per-IP limit; it then gets HTTP 429 with this `Retry-After`.
pub(super) async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    limited: Option<Duration>,
) {
    let Some((ws, target, path)) = handshake(&shared, stream, limited).await else {
        return;
    };
    // Subscribe before the connection is listed: a test that sees it listed and
    // then sends a command or publishes must reach it.
    if let Some(hose) = super::firehose::for_target(&shared, &target) {
        let counters = shared.counters.open(peer, path);
        super::firehose::run(shared, ws, target, hose, counters).await;
        return;
    }
    let api = (target.service == Service::Api).then(|| ApiSession::new(shared.clone(), peer.ip()));
    let bus = Bus::subscribe(&shared, api.is_some());
    let counters = shared.counters.open(peer, path);
    let mut conn = Conn::new(shared, ws, target, counters);
    conn.api = api;
    conn.run(bus).await;
}

/// The connection's receivers of the simulator's signals.
#[derive(Debug)]
struct Bus {
    shutdown: watch::Receiver<bool>,
    commands: broadcast::Receiver<ConnCommand>,
    /// Market events; `None` on a WebSocket API connection.
    events: Option<broadcast::Receiver<Batch>>,
    /// User data events; `Some` only on a WebSocket API connection.
    user: Option<broadcast::Receiver<UserEvent>>,
    stall: watch::Receiver<()>,
}

impl Bus {
    fn subscribe(shared: &Shared, api: bool) -> Self {
        Bus {
            shutdown: shared.shutdown_signal(),
            commands: shared.commands.subscribe(),
            events: (!api).then(|| shared.events.subscribe()),
            user: api.then(|| shared.user_events.subscribe()),
            stall: shared.faults.stall_changed.subscribe(),
        }
    }
}

/// The next message of an optional receiver; never ready without one.
async fn recv<T: Clone>(rx: &mut Option<broadcast::Receiver<T>>) -> Result<T, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Performs the handshake; `None` when it was refused or failed (counted in the stats).
async fn handshake(
    shared: &Arc<Shared>,
    stream: TcpStream,
    limited: Option<Duration>,
) -> Option<(Ws, Target, String)> {
    let rules = &shared.config.rules;
    let config = WebSocketConfig::default()
        .max_message_size(Some(rules.max_message_size))
        .max_frame_size(Some(rules.max_message_size));
    let mut decision: Option<(Result<Target, Refusal>, String)> = None;
    #[allow(
        clippy::result_large_err,
        reason = "the signature is tungstenite's handshake callback"
    )]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let uri = request.uri();
        let path = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let result = match limited {
            Some(retry_after) => Err(Refusal::RateLimited {
                retry_after,
                max_attempts: rules.max_attempts,
                window: rules.attempt_window,
            }),
            None => parse_target(uri.path(), uri.query(), rules.max_streams),
        };
        let reply = match &result {
            Ok(_) => Ok(response),
            Err(refusal) => Err(refusal.response()),
        };
        decision = Some((result, path));
        reply
    };
    let mut shutdown = shared.shutdown_signal();
    let accepted = tokio::select! {
        result = timeout(
            HANDSHAKE_TIMEOUT,
            accept_hdr_async_with_config(Gated::new(stream, shared.clone()), callback, Some(config)),
        ) => result,
        _ = shutdown.wait_for(|stop| *stop) => return None,
    };
    let mut stats = lock(&shared.counters.handshakes);
    match (accepted, decision) {
        (Ok(Ok(mut ws)), Some((Ok(target), path))) => {
            stats.accepted += 1;
            ws.get_mut().arm(true);
            Some((ws, target, path))
        }
        (_, Some((Err(refusal), path))) => {
            if matches!(refusal, Refusal::RateLimited { .. }) {
                stats.rejected_rate_limited += 1;
            } else {
                stats.rejected_bad_request += 1;
            }
            tracing::debug!(%path, ?refusal, "stream handshake refused");
            None
        }
        (result, _) => {
            // Not a WebSocket upgrade, a broken request or a client that went quiet.
            tracing::debug!(?result, "stream handshake failed");
            None
        }
    }
}

/// How a connection ends.
#[derive(Debug)]
enum Ending {
    /// The server closes with this code and reason.
    Close {
        code: u16,
        reason: String,
        /// The socket can no longer be read as WebSocket frames (an oversized or
        /// malformed frame): after the close frame, raw bytes are drained instead.
        read_broken: bool,
        /// Drop queued frames first (a slow consumer would never read them).
        discard_queued: bool,
    },
    /// The server resets the TCP connection (no close frame).
    Reset,
    /// The client sent a close frame; tungstenite has queued the answer.
    ClientClosed { code: u16, reason: String },
    /// The TCP connection ended without a close handshake.
    Lost,
}

impl Ending {
    fn close(code: u16, reason: impl Into<String>) -> Self {
        Ending::Close {
            code,
            reason: reason.into(),
            read_broken: false,
            discard_queued: false,
        }
    }
}

/// One open stream connection.
#[derive(Debug)]
struct Conn {
    shared: Arc<Shared>,
    ws: Ws,
    out: Outbox,
    subs: Registered,
    unit: TimeUnit,
    counters: Arc<ConnCounters>,
    rate: RateWindow,
    keepalive: Keepalive,
    lifetime_end: Instant,
    notice_at: Option<Instant>,
    /// The WebSocket API state, on a `/ws-api/v3` connection.
    api: Option<ApiSession>,
    _guard: CloseGuard,
}

impl Conn {
    fn new(shared: Arc<Shared>, ws: Ws, target: Target, counters: Arc<ConnCounters>) -> Self {
        let rules = &shared.config.rules;
        let opened = Instant::now();
        let lifetime_end = later(opened, rules.max_lifetime);
        let notice_at = rules
            .shutdown_notice
            .map(|notice| later(opened, rules.max_lifetime.saturating_sub(notice)));
        let session = Session::new(target.streams, target.combined, rules.max_streams);
        Conn {
            rate: RateWindow::new(rules.max_incoming_frames, rules.rate_window),
            keepalive: Keepalive::new(rules.ping_interval, rules.pong_timeout, opened),
            subs: Registered::new(session, shared.clone(), counters.clone()),
            _guard: CloseGuard(counters.clone()),
            shared,
            ws,
            out: Outbox::default(),
            unit: target.unit,
            counters,
            lifetime_end,
            notice_at,
            api: None,
        }
    }

    fn stalled(&self) -> bool {
        self.shared.faults.stalled.load(Ordering::SeqCst)
    }

    /// The earliest timer: keepalive, shutdown notice or end of lifetime.
    fn next_deadline(&self) -> Instant {
        let mut deadline = self.lifetime_end.min(self.keepalive.poll_timeout());
        if let Some(at) = self.notice_at {
            deadline = deadline.min(at);
        }
        deadline
    }

    /// Queues a frame for the client and counts it.
    fn send(&mut self, message: Message) {
        self.counters.frames_out.fetch_add(1, Ordering::Relaxed);
        self.out.push(message);
    }

    /// The `serverShutdown` event, raw or combined as the connection is now.
    fn send_shutdown_event(&mut self) {
        let event = ServerShutdownEvent {
            e: "serverShutdown",
            E: Ts(now_ms()),
        };
        // A two-field struct always serialises; the fallback only avoids a panic path.
        let raw =
            to_json(&event, self.unit).unwrap_or_else(|_| r#"{"e":"serverShutdown"}"#.to_owned());
        let text = if self.api.is_some() {
            format!(r#"{{"event":{raw}}}"#)
        } else if self.subs.session.combined() {
            format!(r#"{{"stream":"!serverShutdown","data":{raw}}}"#)
        } else {
            raw
        };
        self.send(Message::text(text));
    }

    async fn run(mut self, bus: Bus) {
        let Bus {
            mut shutdown,
            mut commands,
            mut events,
            mut user,
            mut stall,
        } = bus;
        let (mut commands_open, mut events_open, mut stall_open) = (true, true, true);
        let mut user_open = true;
        let timer = tokio::time::sleep_until(self.next_deadline());
        tokio::pin!(timer);
        let ending = loop {
            timer.as_mut().reset(self.next_deadline());
            let stalled = self.stalled();
            let step = tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => {
                    break Ending::close(1001, "server shutdown");
                }
                command = commands.recv(), if commands_open => match command {
                    Ok(ConnCommand::Drop(DropKind::Close { code, reason })) => {
                        break Ending::close(code, reason);
                    }
                    Ok(ConnCommand::Drop(DropKind::Reset)) => break Ending::Reset,
                    Ok(ConnCommand::ServerShutdown) => {
                        self.send_shutdown_event();
                        continue;
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => {
                        commands_open = false;
                        continue;
                    }
                },
                () = &mut timer => None,
                io = poll_fn(|cx| poll_io(&mut self.ws, &mut self.out, true, cx)) => Some(io),
                event = recv(&mut user), if user_open => {
                    match event {
                        Ok(event) => {
                            let frames = self
                                .api
                                .as_mut()
                                .map(|api| api.on_user_event(&event, stalled))
                                .unwrap_or_default();
                            for frame in frames {
                                self.send(Message::text(frame));
                            }
                            self.out.end_batch();
                            self.counters.subscriptions.store(
                                self.api.as_ref().map_or(0, ApiSession::subscription_count),
                                Ordering::Relaxed,
                            );
                            if self.out.pending_batches > self.shared.config.rules.send_buffer {
                                break slow_consumer();
                            }
                        }
                        Err(RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, "WebSocket API connection lagged behind the user data bus");
                            break slow_consumer();
                        }
                        Err(RecvError::Closed) => user_open = false,
                    }
                    continue;
                }
                batch = recv(&mut events), if events_open => {
                    match batch {
                        Ok(batch) if !stalled => {
                            let combined = self.subs.session.combined();
                            for event in batch.iter() {
                                if self.subs.session.wants(&event.stream) {
                                    self.send(Message::text(event.frame(self.unit, combined)));
                                }
                            }
                            self.out.end_batch();
                            if self.out.pending_batches > self.shared.config.rules.send_buffer {
                                break slow_consumer();
                            }
                        }
                        // While stalled, batches are taken and dropped.
                        Ok(_) => {}
                        // The task itself fell behind the bus (a starved runtime).
                        Err(RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, "stream connection lagged behind the bus");
                            break slow_consumer();
                        }
                        Err(RecvError::Closed) => events_open = false,
                    }
                    continue;
                }
                changed = stall.changed(), if stall_open => {
                    // Only wakes the loop: held writes are retried on the next poll.
                    stall_open = changed.is_ok();
                    continue;
                }
            };
            let outcome = match step {
                None => self.on_timer(Instant::now()),
                Some(IoEvent::Message(message)) => self.on_message(message),
                Some(IoEvent::ReadError(error)) => Some(read_error_ending(&error)),
                Some(IoEvent::WriteError(error)) => {
                    tracing::debug!(%error, "writing to a stream connection failed");
                    Some(Ending::Lost)
                }
                Some(IoEvent::Ended) => Some(Ending::Lost),
            };
            if let Some(ending) = outcome {
                break ending;
            }
        };
        self.finish(ending).await;
    }

    fn on_timer(&mut self, now: Instant) -> Option<Ending> {
        if now >= self.lifetime_end {
            return Some(Ending::close(1001, "Connection lifetime expired"));
        }
        if self.notice_at.is_some_and(|at| now >= at) {
            self.notice_at = None;
            self.send_shutdown_event();
        }
        if now >= self.keepalive.poll_timeout() {
            match self.keepalive.on_timer(now, now_ms(), !self.stalled()) {
                KeepaliveAction::Ping(payload) => self.send(Message::Ping(payload)),
                KeepaliveAction::TimedOut => return Some(Ending::close(1001, "Pong timeout")),
                KeepaliveAction::Idle => {}
            }
        }
        None
    }

    fn on_message(&mut self, message: Message) -> Option<Ending> {
        if matches!(
            message,
            Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_)
        ) {
            self.counters.frames_in.fetch_add(1, Ordering::Relaxed);
            let verdict = self.rate.record(Instant::now());
            self.counters.max_in_window.fetch_max(
                u64::try_from(verdict.in_window).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            if verdict.over {
                return Some(Ending::close(1008, "Too many requests"));
            }
        }
        match message {
            Message::Text(_) | Message::Binary(_) => {
                if let Some(api) = self.api.as_mut() {
                    let text = match &message {
                        Message::Text(text) => text.as_str().to_owned(),
                        _ => String::from_utf8_lossy(&message.clone().into_data()).into_owned(),
                    };
                    let handled = api.handle_text(&text);
                    let count = api.subscription_count();
                    self.counters.subscriptions.store(count, Ordering::Relaxed);
                    for frame in handled.frames {
                        self.send(Message::text(frame));
                    }
                    if handled.close {
                        return Some(Ending::close(1008, "IP banned"));
                    }
                } else if let Some(reply) = self.subs.handle(&message) {
                    self.send(Message::text(reply));
                }
            }
            // tungstenite has queued the pong echoing the payload; the next poll sends it.
            Message::Ping(_) => {
                self.counters.frames_out.fetch_add(1, Ordering::Relaxed);
            }
            Message::Pong(payload) => {
                self.keepalive.on_pong(&payload);
            }
            Message::Close(frame) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.as_str().to_owned())
                });
                return Some(Ending::ClientClosed { code, reason });
            }
            Message::Frame(_) => {}
        }
        None
    }

    /// Ends the connection as decided, recording how.
    async fn finish(mut self, ending: Ending) {
        // A deliberate end always gets out, stall or not.
        self.ws.get_mut().arm(false);
        match ending {
            Ending::Close {
                code,
                reason,
                read_broken,
                discard_queued,
            } => {
                self.counters.record_close(CloseRecord {
                    code,
                    reason: reason.clone(),
                    by_server: true,
                });
                if discard_queued {
                    self.out.clear();
                }
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: truncate(&reason, MAX_REASON).into(),
                };
                self.out.push(Message::Close(Some(frame)));
                let deadline = Instant::now() + CLOSE_GRACE;
                let ws = &mut self.ws;
                let out = &mut self.out;
                let _ = timeout_at(
                    deadline,
                    poll_fn(|cx| match poll_io(ws, out, false, cx) {
                        Poll::Ready(_) => Poll::Ready(()),
                        Poll::Pending if out.is_idle() => Poll::Ready(()),
                        Poll::Pending => Poll::Pending,
                    }),
                )
                .await;
                if read_broken {
                    drain_raw(self.ws.get_mut(), deadline).await;
                } else {
                    drain_frames(&mut self.ws, deadline).await;
                }
            }
            Ending::Reset => {
                self.counters.record_close(CloseRecord {
                    code: 1006,
                    reason: "connection reset by server".to_owned(),
                    by_server: true,
                });
                reset(&self.ws.get_ref().inner);
            }
            Ending::ClientClosed { code, reason } => {
                self.counters.record_close(CloseRecord {
                    code,
                    reason,
                    by_server: false,
                });
                // Nothing may follow the close; reading on sends tungstenite's answer.
                self.out.clear();
                drain_frames(&mut self.ws, Instant::now() + CLOSE_GRACE).await;
            }
            Ending::Lost => {
                self.counters.record_close(CloseRecord {
                    code: 1006,
                    reason: String::new(),
                    by_server: false,
                });
            }
        }
    }
}

/// The close for a client that falls `send_buffer` event batches behind.
fn slow_consumer() -> Ending {
    Ending::Close {
        code: 1013,
        reason: "Slow consumer".to_owned(),
        read_broken: false,
        discard_queued: true,
    }
}

/// The close for a read that failed.
fn read_error_ending(error: &WsError) -> Ending {
    let broken = |code: u16, reason: &str| Ending::Close {
        code,
        reason: reason.to_owned(),
        read_broken: true,
        discard_queued: false,
    };
    match error {
        WsError::Capacity(_) => broken(1009, "Message too big"),
        WsError::Utf8(_) => broken(1007, "Invalid UTF-8"),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) | WsError::Io(_) => {
            Ending::Lost
        }
        WsError::Protocol(_) => broken(1002, "Protocol error"),
        _ => Ending::Lost,
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
