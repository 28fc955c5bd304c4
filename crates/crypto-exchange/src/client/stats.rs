//! The client's counters: cheap atomics bumped on the hot path, read as a
//! [`ClientStats`] snapshot. Oddities (unknown events, undecodable frames, events
//! for streams not subscribed) are counted always and logged at most once per
//! second, so a flood of them cannot flood the log.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// A snapshot of the client's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientStats {
    /// Events delivered to subscribers.
    pub events_delivered: u64,
    /// Events dropped because their id was already delivered (rotation overlap, server repeats).
    pub duplicates_removed: u64,
    /// Events for a stream no subscriber asked for.
    pub unrouted_events: u64,
    /// Well-formed frames of a kind the client does not know.
    pub unknown_frames: u64,
    /// Frames that could not be decoded.
    pub invalid_frames: u64,
    /// Binary or other unexpected frames.
    pub unexpected_frames: u64,
    /// Failed connection attempts.
    pub connect_failures: u64,
    /// Connections replaced make-before-break.
    pub rotations: u64,
    /// Events dropped for subscribers that fell behind their buffer.
    pub lagged_events: u64,
    /// Events recovered from REST after a gap in ids (`source: backfill`).
    pub backfilled_events: u64,
    /// Ids that could not be recovered (reported as `Gap`).
    pub lost_ids: u64,
    /// Latest values refreshed from REST after reconnects (`source: refresh`).
    pub refreshed_values: u64,
    /// Events delivered by REST polling while no WebSocket served their stream
    /// (`source: poll`).
    pub polled_events: u64,
    /// REST polls made (each one request).
    pub polls: u64,
    /// Streams per connection slot.
    pub streams_per_connection: BTreeMap<u64, usize>,
}

/// The live counters behind [`ClientStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    delivered: AtomicU64,
    duplicates: AtomicU64,
    unrouted: AtomicU64,
    unknown: AtomicU64,
    invalid: AtomicU64,
    unexpected: AtomicU64,
    connect_failures: AtomicU64,
    rotations: AtomicU64,
    lagged: AtomicU64,
    backfilled: AtomicU64,
    lost: AtomicU64,
    refreshed: AtomicU64,
    polled: AtomicU64,
    polls: AtomicU64,
    streams: Mutex<BTreeMap<u64, usize>>,
    last_log: Mutex<Option<Instant>>,
}

const LOG_EVERY: Duration = Duration::from_secs(1);

impl Counters {
    pub(crate) fn delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn unrouted(&self, stream: &str) {
        let n = self.unrouted.fetch_add(1, Ordering::Relaxed) + 1;
        self.log(|| {
            tracing::warn!(
                stream,
                total = n,
                "event for a stream nobody subscribed to; ignored"
            );
        });
    }

    pub(crate) fn unknown(&self, what: &str) {
        let n = self.unknown.fetch_add(1, Ordering::Relaxed) + 1;
        self.log(|| tracing::warn!(what, total = n, "unknown frame ignored"));
    }

    pub(crate) fn invalid(&self, problem: &str) {
        let n = self.invalid.fetch_add(1, Ordering::Relaxed) + 1;
        self.log(|| tracing::warn!(problem, total = n, "undecodable frame ignored"));
    }

    pub(crate) fn unexpected_frame(&self) {
        self.unexpected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connect_failed(&self) {
        self.connect_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rotated(&self) {
        self.rotations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn backfilled(&self) {
        self.backfilled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn refreshed(&self) {
        self.refreshed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn polled(&self) {
        self.polled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn poll(&self) {
        self.polls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn gap(&self, ids: u64) {
        self.lost.fetch_add(ids, Ordering::Relaxed);
    }

    pub(crate) fn lagged(&self, missed: u64) {
        let total = self.lagged.fetch_add(missed, Ordering::Relaxed) + missed;
        self.log(|| {
            tracing::warn!(
                missed,
                total,
                "a subscriber fell behind its buffer; events skipped for it"
            );
        });
    }

    pub(crate) fn set_streams(&self, connection: u64, streams: usize) {
        let mut map = self
            .streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if streams == 0 {
            map.remove(&connection);
        } else {
            map.insert(connection, streams);
        }
    }

    /// Runs `log` unless something was logged less than a second ago.
    fn log(&self, log: impl FnOnce()) {
        let mut last = self
            .last_log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if last.is_none_or(|at| now.duration_since(at) >= LOG_EVERY) {
            *last = Some(now);
            log();
        }
    }

    pub(crate) fn snapshot(&self) -> ClientStats {
        ClientStats {
            events_delivered: self.delivered.load(Ordering::Relaxed),
            duplicates_removed: self.duplicates.load(Ordering::Relaxed),
            unrouted_events: self.unrouted.load(Ordering::Relaxed),
            unknown_frames: self.unknown.load(Ordering::Relaxed),
            invalid_frames: self.invalid.load(Ordering::Relaxed),
            unexpected_frames: self.unexpected.load(Ordering::Relaxed),
            connect_failures: self.connect_failures.load(Ordering::Relaxed),
            rotations: self.rotations.load(Ordering::Relaxed),
            lagged_events: self.lagged.load(Ordering::Relaxed),
            backfilled_events: self.backfilled.load(Ordering::Relaxed),
            lost_ids: self.lost.load(Ordering::Relaxed),
            refreshed_values: self.refreshed.load(Ordering::Relaxed),
            polled_events: self.polled.load(Ordering::Relaxed),
            polls: self.polls.load(Ordering::Relaxed),
            streams_per_connection: self
                .streams
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        }
    }
}
