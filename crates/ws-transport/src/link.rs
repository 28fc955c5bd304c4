//! The seam under [`Connection`](crate::Connection): a socket-backed WebSocket or an
//! in-memory one, behind one small interface.
//!
//! The interface follows tungstenite's model so the socket case is a thin
//! adapter: after a ping arrives the link owes a pong, after a close arrives it
//! owes a close reply, and `queue_pong` / `queue_close_reply` say "send it now".
//! tungstenite has already queued both itself (a pong with the ping's payload,
//! the echoed close), so for a socket those calls only ask for a flush; the
//! in-memory link queues them explicitly. The caller must not poll the link for
//! anything else between receiving a ping and calling `queue_pong`: any read or
//! flush would let tungstenite's queued pong out before the pacer agreed.

use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Sink, Stream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::http::{Response, header};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::cause::CloseCause;
use crate::memory::ClientLink;
use crate::tls::Socket;

/// The configured size limits, to tell a too-big frame from a too-big message
/// (tungstenite reports both as `MessageTooLong`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_frame_size: usize,
    pub(crate) max_message_size: usize,
}

pub(crate) enum Link {
    Ws {
        ws: Box<WebSocketStream<Socket>>,
        limits: Limits,
    },
    Memory(ClientLink),
}

impl Link {
    /// The next frame; `None` once the connection has closed cleanly after a close handshake.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, CloseCause>>> {
        match self {
            Self::Ws { ws, limits } => std::pin::Pin::new(ws.as_mut())
                .poll_next(cx)
                .map(|item| item.map(|result| result.map_err(|err| classify(err, *limits)))),
            Self::Memory(link) => link.poll_recv(cx),
        }
    }

    /// Buffers a data frame, a ping or our close frame; call `poll_flush` to push it out.
    pub(crate) fn start_send(&mut self, message: Message) -> Result<(), CloseCause> {
        match self {
            // `poll_ready` is skipped on purpose: tokio-tungstenite accepts a frame at any time
            // (it buffers it), and its `poll_ready` may flush, which would release a queued pong.
            Self::Ws { ws, limits } => std::pin::Pin::new(ws.as_mut())
                .start_send(message)
                .map_err(|err| classify(err, *limits)),
            Self::Memory(link) => {
                link.send(message);
                Ok(())
            }
        }
    }

    /// Queues the pong owed for the last ping (tungstenite queued it already).
    pub(crate) fn queue_pong(&mut self, payload: Bytes) {
        if let Self::Memory(link) = self {
            link.send(Message::Pong(payload));
        }
    }

    /// Queues the echo of the peer's close frame (tungstenite queued it already).
    pub(crate) fn queue_close_reply(&mut self, frame: Option<CloseFrame>) {
        if let Self::Memory(link) = self {
            link.reply_close(frame);
        }
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), CloseCause>> {
        match self {
            Self::Ws { ws, limits } => std::pin::Pin::new(ws.as_mut())
                .poll_flush(cx)
                .map_err(|err| classify(err, *limits)),
            Self::Memory(_) => Poll::Ready(Ok(())),
        }
    }
}

/// Classifies a tungstenite error, during the handshake or on an open connection.
pub(crate) fn classify(err: WsError, limits: Limits) -> CloseCause {
    match err {
        WsError::Io(err) => CloseCause::from_io(&err),
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            // Equal limits cannot be told apart; the frame check runs first, so say frame.
            if max_size == limits.max_message_size && max_size != limits.max_frame_size {
                CloseCause::MessageTooBig {
                    size,
                    max: max_size,
                }
            } else {
                CloseCause::FrameTooBig {
                    size,
                    max: max_size,
                }
            }
        }
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)
        | WsError::ConnectionClosed
        | WsError::AlreadyClosed => CloseCause::Eof,
        WsError::Utf8(detail) => CloseCause::Protocol {
            detail: format!("invalid utf-8: {detail}"),
        },
        WsError::Http(response) => rejected(&response),
        WsError::Tls(err) => CloseCause::Tls {
            detail: err.to_string(),
        },
        other => CloseCause::Protocol {
            detail: other.to_string(),
        },
    }
}

/// Longest part of an error response body kept for the log.
const BODY_EXCERPT: usize = 256;

fn rejected(response: &Response<Option<Vec<u8>>>) -> CloseCause {
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    let body = response.body().as_deref().map_or_else(String::new, |body| {
        let excerpt = &body[..body.len().min(BODY_EXCERPT)];
        String::from_utf8_lossy(excerpt).trim().to_owned()
    });
    CloseCause::HandshakeRejected {
        status: response.status().as_u16(),
        retry_after,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_frame_size: 10,
        max_message_size: 20,
    };

    #[test]
    fn capacity_errors_name_the_limit() {
        let frame = WsError::Capacity(CapacityError::MessageTooLong {
            size: 11,
            max_size: 10,
        });
        assert_eq!(
            classify(frame, LIMITS),
            CloseCause::FrameTooBig { size: 11, max: 10 }
        );
        let message = WsError::Capacity(CapacityError::MessageTooLong {
            size: 21,
            max_size: 20,
        });
        assert_eq!(
            classify(message, LIMITS),
            CloseCause::MessageTooBig { size: 21, max: 20 }
        );
    }

    #[test]
    fn handshake_rejection_keeps_status_retry_after_and_body() {
        let response = Response::builder()
            .status(429)
            .header("Retry-After", "30")
            .body(Some(b"{\"code\":-1003}".to_vec()))
            .unwrap();
        let cause = classify(WsError::Http(Box::new(response)), LIMITS);
        assert_eq!(
            cause,
            CloseCause::HandshakeRejected {
                status: 429,
                retry_after: Some(std::time::Duration::from_secs(30)),
                body: "{\"code\":-1003}".into(),
            }
        );
        assert!(cause.is_rate_limit());
    }

    #[test]
    fn eof_without_close_is_eof() {
        let err = WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake);
        assert_eq!(classify(err, LIMITS), CloseCause::Eof);
    }
}
