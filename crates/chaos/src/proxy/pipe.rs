//! One proxied connection: both directions, their faults, and how the
//! connection ends (closed in order, broken, or reset on request).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use socket2::SockRef;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::counters::Counters;
use super::fault::{Effect, Way};
use super::{Shared, State};

/// Counts a connection as active while it lives, however its task ends
/// (closed, reset, or aborted when the proxy stops).
pub(crate) struct ActiveGuard(Arc<Shared>);

impl ActiveGuard {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        shared.counters.active.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.counters.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Makes the socket's close send an RST instead of a FIN.
pub(crate) fn reset(socket: &TcpStream) {
    // If the option cannot be set the socket still closes, with a FIN; the
    // peer then sees an end of stream rather than a reset, which is the
    // best that can be done.
    let _ = SockRef::from(socket).set_linger(Some(Duration::ZERO));
}

/// The connection failed on one side (a read or write error): the other
/// side is reset too, as a router dropping the flow would.
#[derive(Debug)]
struct Broken;

/// A chunk read from the sender, and when it may be written.
struct Chunk {
    data: Bytes,
    due: Option<Instant>,
}

enum Ended {
    Closed,
    Broken,
    Reset,
}

/// Serves one accepted connection until both directions end or it is reset.
pub(crate) async fn serve(mut client: TcpStream, guard: ActiveGuard, id: u64) {
    let shared = Arc::clone(&guard.0);
    let counters = &shared.counters;
    let mut signals = shared.state.subscribe();
    let generation = signals.borrow_and_update().reset_generation;
    // Small writes (pongs, subscriptions, sliced pieces) must not wait for
    // Nagle; failing to set it only costs latency.
    let _ = client.set_nodelay(true);

    let connect = tokio::time::timeout(
        shared.config.connect_timeout,
        TcpStream::connect(shared.config.upstream),
    );
    let mut upstream = tokio::select! {
        connected = connect => match connected {
            Ok(Ok(upstream)) => upstream,
            Ok(Err(_)) | Err(_) => {
                Counters::bump(&counters.upstream_failures);
                reset(&client);
                return;
            }
        },
        () = reset_requested(signals.clone(), generation) => {
            Counters::bump(&counters.resets);
            reset(&client);
            return;
        }
    };
    let _ = upstream.set_nodelay(true);

    let ended = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let up = pump(client_read, upstream_write, Way::Up, &shared, id);
        let down = pump(upstream_read, client_write, Way::Down, &shared, id);
        tokio::select! {
            both = async { tokio::try_join!(up, down) } => match both {
                Ok(_) => Ended::Closed,
                Err(Broken) => Ended::Broken,
            },
            () = reset_requested(signals, generation) => Ended::Reset,
        }
    };
    match ended {
        Ended::Closed => {}
        Ended::Broken => {
            reset(&client);
            reset(&upstream);
        }
        Ended::Reset => {
            Counters::bump(&counters.resets);
            reset(&client);
            reset(&upstream);
        }
    }
    drop(guard);
}

/// Resolves when every open connection is to be reset.
async fn reset_requested(mut signals: watch::Receiver<State>, generation: u64) {
    loop {
        if signals.borrow_and_update().reset_generation != generation {
            return;
        }
        if signals.changed().await.is_err() {
            // The proxy is gone; its drop aborts this task anyway.
            std::future::pending::<()>().await;
        }
    }
}

/// One direction: a reader and a writer joined by a bounded queue.
async fn pump(
    src: ReadHalf<'_>,
    dst: WriteHalf<'_>,
    way: Way,
    shared: &Shared,
    id: u64,
) -> Result<(), Broken> {
    let (tx, rx) = mpsc::channel(shared.config.max_in_flight);
    let reader = read_side(src, tx, way, shared, id);
    let writer = write_side(dst, rx, way, shared);
    tokio::try_join!(reader, writer).map(|_| ())
}

async fn read_side(
    mut src: ReadHalf<'_>,
    tx: mpsc::Sender<Chunk>,
    way: Way,
    shared: &Shared,
    id: u64,
) -> Result<(), Broken> {
    let mut signals = shared.state.subscribe();
    let counters = shared.counters.way(way);
    let mut jitter_rng: Option<ChaCha8Rng> = None;
    let mut last_due: Option<Instant> = None;
    let mut buffer = BytesMut::new();
    loop {
        let effect = signals.borrow_and_update().effects.way(way);
        if effect.half_close {
            // The writer shuts the receiver's half down; nothing more is read.
            return Ok(());
        }
        if effect.blackhole {
            // Stop reading: the sender's buffers fill as on a dead route.
            if signals.changed().await.is_err() {
                return Ok(());
            }
            continue;
        }
        buffer.reserve(shared.config.buffer_size);
        let read = tokio::select! {
            biased;
            changed = signals.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                continue;
            }
            // `read_buf` is cancel-safe: when the other branch wins, nothing was read.
            read = src.read_buf(&mut buffer) => read,
        };
        match read {
            Ok(0) => return Ok(()),
            Ok(_) => counters.read(),
            Err(_) => return Err(Broken),
        }
        let due = effect.latency.map(|(base, jitter)| {
            let extra = if jitter.is_zero() {
                Duration::ZERO
            } else {
                let rng = jitter_rng.get_or_insert_with(|| seeded(shared.config.seed, id, way));
                let bound = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX);
                Duration::from_nanos(rng.random_range(0..=bound))
            };
            // TCP keeps order: a chunk is never due before the one ahead of it.
            let due = Instant::now() + base + extra;
            let due = last_due.map_or(due, |last| last.max(due));
            last_due = Some(due);
            due
        });
        let chunk = Chunk {
            data: buffer.split().freeze(),
            due,
        };
        if tx.send(chunk).await.is_err() {
            // The writer stopped (half-closed or failed): nothing to forward to.
            return Ok(());
        }
    }
}

async fn write_side(
    mut dst: WriteHalf<'_>,
    mut rx: mpsc::Receiver<Chunk>,
    way: Way,
    shared: &Shared,
) -> Result<(), Broken> {
    let mut signals = shared.state.subscribe();
    let mut free_at = Instant::now();
    loop {
        let effect = signals.borrow_and_update().effects.way(way);
        if effect.half_close {
            return half_close(&mut dst, &shared.counters).await;
        }
        let chunk = tokio::select! {
            biased;
            changed = signals.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                continue;
            }
            chunk = rx.recv() => chunk,
        };
        let Some(chunk) = chunk else {
            // The sender closed its side: pass the end of stream on. A
            // failure here means the receiver is gone already.
            let _ = dst.shutdown().await;
            return Ok(());
        };
        if let Some(due) = chunk.due {
            tokio::time::sleep_until(due).await;
        }
        // Hold the chunk while blackholed.
        let effect = loop {
            let effect = signals.borrow_and_update().effects.way(way);
            if effect.half_close {
                return half_close(&mut dst, &shared.counters).await;
            }
            if !effect.blackhole {
                break effect;
            }
            if signals.changed().await.is_err() {
                return Ok(());
            }
        };
        write_chunk(
            &mut dst,
            &chunk.data,
            effect,
            &mut free_at,
            shared.counters.way(way),
        )
        .await?;
    }
}

async fn half_close(dst: &mut WriteHalf<'_>, counters: &Counters) -> Result<(), Broken> {
    Counters::bump(&counters.half_closes);
    // A failure means the receiver is gone, which is as closed as it gets.
    let _ = dst.shutdown().await;
    Ok(())
}

/// Writes one chunk, sliced and paced as the effect says.
async fn write_chunk(
    dst: &mut WriteHalf<'_>,
    data: &[u8],
    effect: Effect,
    free_at: &mut Instant,
    counters: &super::counters::WayCounters,
) -> Result<(), Broken> {
    if effect.bytes_per_sec.is_none() && effect.slice.is_none() {
        dst.write_all(data).await.map_err(|_| Broken)?;
        counters.wrote(data.len());
        return Ok(());
    }
    let (slice_max, pause) = effect.slice.unwrap_or((usize::MAX, Duration::ZERO));
    // A bandwidth limit writes a twentieth of a second's worth at a time, so
    // the rate is smooth at that scale.
    let paced_max = effect.bytes_per_sec.map_or(usize::MAX, |rate| {
        usize::try_from(rate / 20).unwrap_or(usize::MAX).max(1)
    });
    let piece_max = slice_max.min(paced_max).max(1);
    let mut pieces = data.chunks(piece_max).peekable();
    while let Some(piece) = pieces.next() {
        if let Some(rate) = effect.bytes_per_sec {
            let now = Instant::now();
            let start = now.max(*free_at);
            if start > now {
                tokio::time::sleep_until(start).await;
            }
            #[allow(
                clippy::cast_precision_loss,
                reason = "a piece is far below 2^52 bytes"
            )]
            let cost = Duration::from_secs_f64(piece.len() as f64 / rate as f64);
            *free_at = start + cost;
        }
        dst.write_all(piece).await.map_err(|_| Broken)?;
        counters.wrote(piece.len());
        if !pause.is_zero() && pieces.peek().is_some() {
            tokio::time::sleep(pause).await;
        }
    }
    Ok(())
}

/// The jitter RNG of one connection's direction, from the proxy's seed.
fn seeded(seed: u64, connection: u64, way: Way) -> ChaCha8Rng {
    let way = match way {
        Way::Up => 0x5555_5555_5555_5555,
        Way::Down => 0xAAAA_AAAA_AAAA_AAAA,
    };
    let mixed = seed
        ^ connection
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ way;
    ChaCha8Rng::seed_from_u64(mixed)
}
