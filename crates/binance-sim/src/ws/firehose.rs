//! Firehose connections: in firehose mode, a connection whose only stream is the
//! firehose symbol's `aggTrade` gets pre-rendered frames as fast as its socket
//! takes them (see [`crate::firehose`]), for client benchmarks.
//!
//! Such a connection is a benchmark pipe, not a Binance connection: the server
//! writes raw frames straight to the socket, reads only to notice the client
//! leaving, sends no pings and enforces no incoming-frame rules. Its ids continue
//! from the market's next aggregate-trade id but are not kept for REST.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::AsyncWriteExt;

use super::handshake::Target;
use super::outbox::Ws;
use super::registered::CloseGuard;
use crate::firehose::Firehose;
use crate::state::{CloseRecord, ConnCounters, Shared, lock, now_ms};
use crate::stream::{StreamKind, StreamName};

/// Frames rendered per socket write: large writes keep the syscall count low.
const FRAMES_PER_WRITE: usize = 4096;

/// The firehose for this connection, if firehose mode is on and the connection
/// asked for exactly the firehose symbol's `aggTrade` stream.
pub(super) fn for_target(shared: &Shared, target: &Target) -> Option<Firehose> {
    let symbol = &shared.config.firehose.as_ref()?.symbol;
    let wanted = StreamName::new(symbol, StreamKind::AggTrade);
    if target.streams != [wanted] {
        return None;
    }
    let market = lock(&shared.market);
    let m = market.symbol(symbol)?;
    let spec = m.spec();
    let next_agg = m.agg_trades().last().map_or(1, |a| a.id + 1);
    let next_trade = m.trades().last().map_or(1, |t| t.id + 1);
    Some(Firehose::new(
        &spec.symbol,
        m.last_price(),
        spec.tick_size,
        spec.step_size,
        next_agg,
        next_trade,
    ))
}

/// Pushes frames until the client leaves, the socket fails or the simulator stops.
pub(super) async fn run(
    shared: Arc<Shared>,
    mut ws: Ws,
    target: Target,
    mut hose: Firehose,
    counters: Arc<ConnCounters>,
) {
    let _guard = CloseGuard(counters.clone());
    let shutdown = shared.shutdown_signal();
    let socket = &mut ws.get_mut().inner;
    let mut buffer = Vec::with_capacity(FRAMES_PER_WRITE * 256);
    let mut scratch = [0_u8; 4096];
    let record = loop {
        if *shutdown.borrow() {
            break CloseRecord {
                code: 1001,
                reason: "server shutdown".into(),
                by_server: true,
            };
        }
        buffer.clear();
        hose.fill(
            &mut buffer,
            FRAMES_PER_WRITE,
            now_ms(),
            target.unit,
            target.combined,
        );
        if socket.write_all(&buffer).await.is_err() {
            break CloseRecord {
                code: 1006,
                reason: "socket closed".into(),
                by_server: false,
            };
        }
        counters
            .frames_out
            .fetch_add(FRAMES_PER_WRITE as u64, Ordering::Relaxed);
        // Anything the client sends is ignored; end of input means it left.
        match socket.try_read(&mut scratch) {
            Ok(0) => {
                break CloseRecord {
                    code: 1006,
                    reason: "client left".into(),
                    by_server: false,
                };
            }
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => {
                break CloseRecord {
                    code: 1006,
                    reason: "socket error".into(),
                    by_server: false,
                };
            }
        }
    };
    counters.record_close(record);
}
