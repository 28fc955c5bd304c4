//! The socket side of a connection: the queue of frames to write, one poll function
//! that drives writes and reads together, and the ways a socket is wound down.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Sink, Stream, StreamExt};
use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::gate::Gated;

/// A server-side stream connection.
pub(super) type Ws = WebSocketStream<Gated>;

/// Frames waiting to be written, and whether written ones still need a flush.
///
/// Each frame carries a flag marking the last frame of an event batch, so the
/// connection knows how many batches it is behind: the measure of a slow consumer.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    pub(super) queue: VecDeque<(Message, bool)>,
    /// Event batches with at least one frame not yet handed to tungstenite.
    pub(super) pending_batches: usize,
    unflushed: bool,
}

impl Outbox {
    /// True when everything queued has been written and flushed.
    pub(super) fn is_idle(&self) -> bool {
        self.queue.is_empty() && !self.unflushed
    }

    pub(super) fn push(&mut self, message: Message) {
        self.queue.push_back((message, false));
    }

    /// Marks the frames queued since the previous batch as one event batch.
    pub(super) fn end_batch(&mut self) {
        if let Some((_, last)) = self.queue.back_mut()
            && !*last
        {
            *last = true;
            self.pending_batches += 1;
        }
    }

    pub(super) fn clear(&mut self) {
        self.queue.clear();
        self.pending_batches = 0;
    }
}

/// What the socket produced.
#[derive(Debug)]
pub(super) enum IoEvent {
    Message(Message),
    ReadError(WsError),
    WriteError(WsError),
    Ended,
}

/// Drives queued writes (fed one by one, then one flush) and, if `read`, the next read.
///
/// Cancel-safe: a message leaves the queue only when the sink has accepted it, and
/// tungstenite keeps partial reads buffered.
pub(super) fn poll_io(
    ws: &mut Ws,
    out: &mut Outbox,
    read: bool,
    cx: &mut Context<'_>,
) -> Poll<IoEvent> {
    while !out.queue.is_empty() {
        match Pin::new(&mut *ws).poll_ready(cx) {
            Poll::Ready(Ok(())) => {
                if let Some((message, ends_batch)) = out.queue.pop_front() {
                    if ends_batch {
                        out.pending_batches -= 1;
                    }
                    if let Err(error) = Pin::new(&mut *ws).start_send(message) {
                        return Poll::Ready(IoEvent::WriteError(error));
                    }
                    out.unflushed = true;
                }
            }
            Poll::Ready(Err(error)) => return Poll::Ready(IoEvent::WriteError(error)),
            Poll::Pending => break,
        }
    }
    if out.queue.is_empty() && out.unflushed {
        match Pin::new(&mut *ws).poll_flush(cx) {
            Poll::Ready(Ok(())) => out.unflushed = false,
            Poll::Ready(Err(error)) => return Poll::Ready(IoEvent::WriteError(error)),
            Poll::Pending => {}
        }
    }
    if read {
        return match Pin::new(&mut *ws).poll_next(cx) {
            Poll::Ready(Some(Ok(message))) => Poll::Ready(IoEvent::Message(message)),
            Poll::Ready(Some(Err(error))) => Poll::Ready(IoEvent::ReadError(error)),
            Poll::Ready(None) => Poll::Ready(IoEvent::Ended),
            Poll::Pending => Poll::Pending,
        };
    }
    Poll::Pending
}

/// Reads (and drops) frames until the client ends the connection or `deadline`.
pub(super) async fn drain_frames(ws: &mut Ws, deadline: Instant) {
    let _ = timeout_at(deadline, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// Sends FIN, then reads and drops raw bytes until the client closes or `deadline`:
/// closing with unread input would make the kernel answer with a reset that can
/// destroy the close frame in flight.
pub(super) async fn drain_raw(socket: &mut Gated, deadline: Instant) {
    let _ = timeout_at(deadline, async {
        let _ = socket.shutdown().await;
        let mut sink = [0_u8; 4096];
        while let Ok(1..) = socket.read(&mut sink).await {}
    })
    .await;
}

/// Makes the coming close of `stream` a TCP reset (SO_LINGER 0).
pub(super) fn reset(stream: &TcpStream) {
    if let Err(error) = SockRef::from(stream).set_linger(Some(Duration::ZERO)) {
        tracing::debug!(%error, "cannot set SO_LINGER 0; the connection closes normally");
    }
}
