//! What passed through the proxy, counted so tests can assert on it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::proxy::fault::Way;

/// A snapshot of the proxy's counters, from
/// [`Proxy::counters`](crate::Proxy::counters).
///
/// A write is counted right after it completes, so on a multi-threaded
/// runtime the receiver can hold the bytes an instant before the count
/// shows them; [`Proxy::wait_for`](crate::Proxy::wait_for) waits for a
/// figure without guessing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProxyCounters {
    /// TCP connections accepted from clients, refused ones included.
    pub accepted: u64,
    /// Connections reset on accept because [`Fault::Refuse`] or
    /// [`Fault::Reset`] was active.
    ///
    /// [`Fault::Refuse`]: crate::Fault::Refuse
    /// [`Fault::Reset`]: crate::Fault::Reset
    pub refused: u64,
    /// Connections being proxied now.
    pub active: u64,
    /// Connections whose upstream could not be reached (refused, timed
    /// out); the client was reset.
    pub upstream_failures: u64,
    /// Open connections reset by [`Proxy::reset_all`] or [`Fault::Reset`].
    ///
    /// [`Proxy::reset_all`]: crate::Proxy::reset_all
    /// [`Fault::Reset`]: crate::Fault::Reset
    pub resets: u64,
    /// Write halves shut down by [`Fault::HalfClose`](crate::Fault::HalfClose).
    pub half_closes: u64,
    /// Client to server.
    pub upstream: DirectionCounters,
    /// Server to client.
    pub downstream: DirectionCounters,
}

/// What passed one way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirectionCounters {
    /// Bytes written to the receiver.
    pub bytes: u64,
    /// Writes to the receiver (a sliced chunk counts once per piece).
    pub chunks: u64,
    /// Reads from the sender that returned data.
    pub reads: u64,
}

#[derive(Debug, Default)]
pub(crate) struct WayCounters {
    bytes: AtomicU64,
    chunks: AtomicU64,
    reads: AtomicU64,
}

impl WayCounters {
    pub(crate) fn read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn wrote(&self, bytes: usize) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.chunks.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> DirectionCounters {
        DirectionCounters {
            bytes: self.bytes.load(Ordering::Relaxed),
            chunks: self.chunks.load(Ordering::Relaxed),
            reads: self.reads.load(Ordering::Relaxed),
        }
    }
}

/// The live counters, shared by the accept loop and every connection.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) active: AtomicU64,
    pub(crate) upstream_failures: AtomicU64,
    pub(crate) resets: AtomicU64,
    pub(crate) half_closes: AtomicU64,
    up: WayCounters,
    down: WayCounters,
}

impl Counters {
    pub(crate) fn way(&self, way: Way) -> &WayCounters {
        match way {
            Way::Up => &self.up,
            Way::Down => &self.down,
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ProxyCounters {
        ProxyCounters {
            accepted: self.accepted.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            active: self.active.load(Ordering::Relaxed),
            upstream_failures: self.upstream_failures.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
            half_closes: self.half_closes.load(Ordering::Relaxed),
            upstream: self.up.snapshot(),
            downstream: self.down.snapshot(),
        }
    }
}
