//! The market-stream WebSocket server: Binance's `/ws` and `/stream` endpoints with
//! the live subscription protocol and the connection rules (PROTOCOL.md §1–§4, §12).
//!
//! [`serve`] accepts TCP connections until the simulator shuts down. Each connection
//! runs in its own task (`conn.rs`); a failure of one never reaches another. The
//! policy parts are sans-IO and unit-tested: the URL (`handshake.rs`), the control
//! protocol (`control.rs`) and the rules (`rules.rs`). `outbox.rs` drives the socket,
//! `registered.rs` keeps the interest registry and close records right on every
//! path, and `gate.rs` holds writes during a stall.
//!
//! Every number comes from [`ConnectionRules`](crate::ConnectionRules), so tests can
//! shrink a 24 h lifetime to milliseconds without changing what is enforced.
//!
//! ## Behaviour Binance does not document, and what the simulator does
//!
//! Handshake (HTTP errors carry a JSON body in the style of Binance's stream errors):
//! - Invalid stream name in the URL, malformed `%` escape, or a path other than
//!   `/ws`, `/ws/<streams>`, `/stream`: **400** `{"code":2,"msg":"Invalid request: invalid stream"}`
//!   (`… unknown path` for the path). Binance's answer is unknown.
//! - More than `max_streams` streams in the URL: **400** `{"code":2,"msg":"Invalid request: too many streams"}`.
//! - Bad `timeUnit`: **400** `{"code":2,"msg":"Invalid request: invalid timeUnit"}`.
//! - Over the attempt limit: **429** with `Retry-After` (seconds) and
//!   `{"code":-1003,"msg":"Too many connection attempts; …"}` (community reports, PROTOCOL.md §2).
//!   Every accepted TCP connection is an attempt, including refused ones, so a client
//!   that keeps hammering stays refused until it slows down.
//! - Stream names in the URL are percent-decoded (Binance accepts URL-encoded stream
//!   URLs since 2025-12); `+` stays `+`, because `@+08:00` is part of kline names.
//! - While connections are refused (fault), the TCP connection is reset at once.
//!
//! Control protocol (`control.rs`):
//! - String ids: 1–36 ASCII letters, digits **or `-`** (36 is the length of a
//!   hyphenated UUID, which Binance's WebSocket API examples use as ids).
//! - Error frames carry no `id`, except code 0 ("Unknown property"), exactly as the
//!   documented ones. That includes `{"code":2,"msg":"Invalid request: invalid stream"}`
//!   for a SUBSCRIBE/UNSUBSCRIBE with a malformed name (the wording is from community
//!   reports; the 2023 capture has no id). One bad name refuses the whole request.
//! - A SUBSCRIBE that would take the connection past `max_streams` is refused whole
//!   with `{"code":2,"msg":"Invalid request: too many streams"}` and subscribes nothing.
//! - A well-formed name for a symbol that is not listed is accepted and stays silent.
//! - Binary frames are requests if they are UTF-8, else a code-3 "Invalid JSON" error.
//!
//! Closing (codes chosen so that clients such as Binance's own SDK reconnect, and so
//! that 1008 keeps meaning "rate limited"):
//! - over `max_incoming_frames` in `rate_window`: **1008** "Too many requests" (community reports, PROTOCOL.md §2);
//! - no pong echoing a ping within `pong_timeout`: **1001** "Pong timeout";
//! - lifetime reached: **1001** "Connection lifetime expired" (after a `serverShutdown`
//!   event `shutdown_notice` earlier, when configured);
//! - simulator shutdown: **1001** "server shutdown";
//! - the client falls `send_buffer` event batches behind (a slow consumer):
//!   **1013** "Slow consumer" (try again later), queued frames dropped;
//! - a frame over `max_message_size`: **1009** "Message too big"; invalid UTF-8 text:
//!   **1007**; other protocol errors: **1002**;
//! - a client close frame is answered and recorded with its code (1005 when it has
//!   none), `by_server = false`; a TCP end without a close frame is recorded as 1006.
//!
//! The server waits up to one second for the client's answer to its close frame.
//!
//! Stall (fault): nothing at all is written (no events, pings, replies or pongs;
//! see `gate.rs`), but frames are still read and counted, and requests still take
//! effect. Events published during the stall are dropped; replies and pongs are held
//! and go out when the stall ends. Pings are not sent, so none can time out. A
//! deliberate close (fault drop, lifetime, shutdown) still sends its close frame.

mod api;
mod conn;
mod control;
mod firehose;
mod gate;
mod handshake;
mod outbox;
mod registered;
mod rules;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::state::{Shared, lock};
use rules::AttemptLimiter;

/// How long open connections get to close after the simulator is told to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// The pause after a failed `accept` (such as too many open files) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts stream connections until shutdown, then waits (boundedly) for the open
/// connections to close with 1001.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown_signal();
    let rules = &shared.config.rules;
    let mut limiter = AttemptLimiter::new(rules.max_attempts, rules.attempt_window);
    let mut tasks = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(joined) = tasks.join_next() => {
                if let Err(error) = joined
                    && error.is_panic()
                {
                    tracing::error!(%error, "a stream connection task panicked");
                }
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting a stream connection failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let now = Instant::now();
        lock(&shared.counters.handshakes).attempts += 1;
        let limited = limiter.attempt(peer.ip(), now).err();
        if shared.faults.refusing(now) {
            lock(&shared.counters.handshakes).refused += 1;
            outbox::reset(&stream);
            drop(stream);
            continue;
        }
        // Events are small and latency matters more than packet count.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        tasks.spawn(conn::serve_connection(
            shared.clone(),
            stream,
            peer,
            limited,
        ));
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("stream connections still open after shutdown grace; aborting them");
        tasks.abort_all();
    }
}
