//! The state machine behind [`Connection::poll_next`]: deadlines, outbound pacing,
//! and reading, interleaved in one poll so a single owner drives everything.

use std::future::Future;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::cause::CloseCause;
use crate::connection::{Connection, Phase};
use crate::event::{Event, Text};

/// Control frames handled in one poll before yielding, so a peer flooding pongs cannot
/// starve the other tasks on this thread.
const FRAMES_PER_POLL: usize = 64;

/// The next frame the outbound side wants to send, in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Pong,
    OurClose,
    /// Our close after a protocol failure: not paced, the connection is being dropped.
    FailureClose,
    Ping,
    Data,
}

impl Connection {
    /// One poll: `Ok(event)` to deliver, `Err(cause)` when the connection has ended.
    pub(crate) fn drive(&mut self, cx: &mut Context<'_>) -> Poll<Result<Event, CloseCause>> {
        for _ in 0..FRAMES_PER_POLL {
            if let Some(cause) = self.poll_deadlines(cx) {
                return Poll::Ready(Err(cause));
            }
            self.poll_ping_timer(cx);
            if let Err(cause) = self.poll_outbound(cx) {
                return Poll::Ready(Err(self.cause_after_failure(cause)));
            }
            if let Phase::Ending {
                cause,
                close_code,
                wait_for_eof: false,
            } = &self.phase
            {
                // Ending after a failure: done once our close frame is out (or could not go).
                return if close_code.is_none() && !self.flush_pending {
                    Poll::Ready(Err(cause.clone()))
                } else {
                    Poll::Pending
                };
            }
            // A ping is waiting for its pong: reading would release tungstenite's queued pong
            // before the pacer agreed, so wait for the pacer timer instead.
            if self.pong_owed.is_some() {
                return Poll::Pending;
            }
            let Some(link) = self.link.as_mut() else {
                return Poll::Ready(Err(CloseCause::Eof));
            };
            match ready!(link.poll_recv(cx)) {
                None => return Poll::Ready(Err(self.cause_at_end())),
                Some(Err(cause)) => {
                    if let (Some(code), Phase::Open) = (failure_close_code(&cause), &self.phase) {
                        // Tell the peer why before dropping it (RFC 6455 §7.1.7); nothing more
                        // is read, so everything received so far has been delivered.
                        self.phase = Phase::Ending {
                            cause,
                            close_code: Some(code),
                            wait_for_eof: false,
                        };
                        self.arm_close_deadline();
                        continue;
                    }
                    return Poll::Ready(Err(self.cause_after_failure(cause)));
                }
                Some(Ok(message)) => {
                    if let Some(event) = self.on_message(message) {
                        return Poll::Ready(Ok(event));
                    }
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Silence in the open phase, the close deadline while closing.
    fn poll_deadlines(&mut self, cx: &mut Context<'_>) -> Option<CloseCause> {
        match &self.phase {
            Phase::Open => {
                if self.silence.as_mut().poll(cx).is_pending() {
                    return None;
                }
                // The timer was armed for an older frame; move it to the real deadline.
                let due = self.stats.last_frame_at + self.settings.silence_timeout;
                if Instant::now() >= due {
                    return Some(CloseCause::Silence {
                        after: self.settings.silence_timeout,
                    });
                }
                self.silence.as_mut().reset(due);
                // Registers the waker for the new deadline (it is in the future, so pending).
                let _ = self.silence.as_mut().poll(cx);
                None
            }
            Phase::Closing { .. } | Phase::Ending { .. } => {
                if self.close_deadline.as_mut().poll(cx).is_ready() {
                    Some(self.cause_after_failure(CloseCause::Eof))
                } else {
                    None
                }
            }
            Phase::Closed(cause) => Some(cause.clone()),
        }
    }

    fn poll_ping_timer(&mut self, cx: &mut Context<'_>) {
        if !matches!(self.phase, Phase::Open) {
            return;
        }
        if let Some(timer) = self.ping_timer.as_mut() {
            while timer.poll_tick(cx).is_ready() {
                self.ping_due = true;
            }
        }
    }

    /// Sends as many owed and queued frames as the pacer allows; returns when the
    /// pacer, the socket or the queue says wait (with a waker registered for it).
    fn poll_outbound(&mut self, cx: &mut Context<'_>) -> Result<(), CloseCause> {
        loop {
            let Some(link) = self.link.as_mut() else {
                return Ok(());
            };
            // A pong may join frames still being flushed (the flush would send it anyway);
            // anything else waits until the socket took the previous frame, so admission
            // times are close to the times frames actually leave.
            if self.flush_pending && self.pong_owed.is_none() {
                match link.poll_flush(cx) {
                    Poll::Pending => return Ok(()),
                    Poll::Ready(Err(cause)) => return Err(cause),
                    Poll::Ready(Ok(())) => self.flush_pending = false,
                }
            }
            let Some(next) = self.next_outgoing() else {
                return Ok(());
            };
            let paced = next != Next::FailureClose;
            if let (true, Err(at)) = (paced, self.pacer.try_acquire()) {
                if self.pacer_wait.deadline() != at.0 {
                    self.pacer_wait.as_mut().reset(at.0);
                }
                if self.pacer_wait.as_mut().poll(cx).is_pending() {
                    return Ok(());
                }
                continue;
            }
            self.send(next)?;
        }
    }

    fn next_outgoing(&self) -> Option<Next> {
        match &self.phase {
            Phase::Open | Phase::Closing { sent: false, .. } if self.pong_owed.is_some() => {
                Some(Next::Pong)
            }
            Phase::Open if self.ping_due => Some(Next::Ping),
            Phase::Open if !self.outbox.is_empty() => Some(Next::Data),
            Phase::Closing { sent: false, .. } => Some(Next::OurClose),
            Phase::Ending {
                close_code: Some(_),
                ..
            } => Some(Next::FailureClose),
            _ => None,
        }
    }

    fn send(&mut self, next: Next) -> Result<(), CloseCause> {
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        let now = Instant::now();
        let sent_bytes = match next {
            Next::Pong => {
                let payload = self.pong_owed.take().unwrap_or_default();
                let len = payload.len();
                link.queue_pong(payload);
                self.stats.pongs_out += 1;
                len
            }
            Next::Ping => {
                self.ping_due = false;
                self.ping_seq += 1;
                link.start_send(Message::Ping(Bytes::copy_from_slice(
                    &self.ping_seq.to_be_bytes(),
                )))?;
                self.ping_in_flight = Some((self.ping_seq, now));
                self.stats.pings_out += 1;
                8
            }
            Next::Data => {
                // Removed only once the link took it, so a failed send stays recoverable.
                let Some(message) = self.outbox.front().cloned() else {
                    return Ok(());
                };
                let len = message.len();
                link.start_send(message)?;
                self.outbox.pop_front();
                len
            }
            Next::OurClose => {
                let Phase::Closing {
                    code, reason, sent, ..
                } = &mut self.phase
                else {
                    return Ok(());
                };
                *sent = true;
                let len = reason.len();
                let frame = CloseFrame {
                    code: (*code).into(),
                    reason: reason.as_str().into(),
                };
                link.start_send(Message::Close(Some(frame)))?;
                len
            }
            Next::FailureClose => {
                let Phase::Ending { close_code, .. } = &mut self.phase else {
                    return Ok(());
                };
                let Some(code) = close_code.take() else {
                    return Ok(());
                };
                // The link may already be broken; the close is a courtesy, so a failure to
                // send it only means there is nothing left to flush.
                if link
                    .start_send(Message::Close(Some(CloseFrame {
                        code: code.into(),
                        reason: "".into(),
                    })))
                    .is_err()
                {
                    return Ok(());
                }
                0
            }
        };
        self.stats.frames_out += 1;
        self.stats.bytes_out += sent_bytes as u64;
        self.flush_pending = true;
        Ok(())
    }

    /// Handles one frame; returns the event to deliver, if it is one.
    fn on_message(&mut self, message: Message) -> Option<Event> {
        let now = Instant::now();
        self.stats.last_frame_at = now;
        self.stats.frames_in += 1;
        self.stats.bytes_in += message.len() as u64;
        match message {
            Message::Text(text) => Some(Event::Text(Text::from_utf8_bytes(text))),
            Message::Binary(data) => Some(Event::Binary(data)),
            Message::Ping(payload) => {
                self.stats.pings_in += 1;
                // After our close frame the protocol forbids further pongs.
                if matches!(self.phase, Phase::Open | Phase::Closing { sent: false, .. }) {
                    self.pong_owed = Some(payload);
                }
                None
            }
            Message::Pong(payload) => {
                self.stats.pongs_in += 1;
                if let Some((seq, sent_at)) = self.ping_in_flight
                    && payload.as_ref() == seq.to_be_bytes()
                {
                    self.stats.last_rtt = Some(now.saturating_duration_since(sent_at));
                    self.ping_in_flight = None;
                }
                None
            }
            Message::Close(frame) => {
                self.on_close(frame);
                None
            }
            Message::Frame(_) => None,
        }
    }

    fn on_close(&mut self, frame: Option<CloseFrame>) {
        let cause = match &mut self.phase {
            Phase::Open => {
                let (code, reason) = frame
                    .as_ref()
                    .map_or((None, ""), |f| (Some(f.code.into()), f.reason.as_str()));
                CloseCause::from_close(code, reason)
            }
            Phase::Closing {
                sent: true,
                acknowledged,
                ..
            } => {
                // The echo of our close: keep reading until the peer closes the socket, so
                // the TIME_WAIT state stays on the server's side (RFC 6455 §7.1.1).
                *acknowledged = true;
                return;
            }
            // Both sides closed at once; ours never left, so the peer's close answers it.
            Phase::Closing { code, reason, .. } => CloseCause::ClosedLocally {
                code: *code,
                reason: std::mem::take(reason),
                acknowledged: true,
            },
            Phase::Ending { .. } | Phase::Closed(_) => return,
        };
        self.pong_owed = None;
        self.ping_due = false;
        self.stats.frames_out += 1;
        self.stats.bytes_out += frame.as_ref().map_or(0, |f| f.reason.len() as u64);
        if let Some(link) = self.link.as_mut() {
            link.queue_close_reply(frame);
        }
        self.flush_pending = true;
        self.phase = Phase::Ending {
            cause,
            close_code: None,
            wait_for_eof: true,
        };
        self.arm_close_deadline();
    }

    /// The cause to report when the link ends cleanly (`None` from the link).
    fn cause_at_end(&self) -> CloseCause {
        self.cause_after_failure(CloseCause::Eof)
    }

    /// What to report when the link fails with `cause`: once closing has begun, the reason
    /// for closing wins over how the socket went away.
    fn cause_after_failure(&self, cause: CloseCause) -> CloseCause {
        match &self.phase {
            Phase::Open => cause,
            Phase::Closing {
                code,
                reason,
                acknowledged,
                ..
            } => CloseCause::ClosedLocally {
                code: *code,
                reason: reason.clone(),
                acknowledged: *acknowledged,
            },
            Phase::Ending { cause, .. } | Phase::Closed(cause) => cause.clone(),
        }
    }
}

/// The close code to send the peer before dropping it for its own fault, if any.
fn failure_close_code(cause: &CloseCause) -> Option<u16> {
    match cause {
        CloseCause::Protocol { .. } => Some(1002),
        CloseCause::FrameTooBig { .. } | CloseCause::MessageTooBig { .. } => Some(1009),
        _ => None,
    }
}
