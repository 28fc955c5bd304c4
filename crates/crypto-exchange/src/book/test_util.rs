//! Hand-made diffs and snapshots, and a harness driving a [`BookSync`] on a fake
//! clock, for the unit tests.

use std::time::{Duration, Instant};

use super::config::BookConfig;
use super::event::{BookEvent, BookState, SnapshotError};
use super::sync::{Action, BookSync};
use crate::domain::rest::DepthSnapshot;
use crate::domain::{DepthUpdate, Level, Symbol, Timestamp};

/// Levels from `(price, quantity)` strings.
pub(crate) fn levels(pairs: &[(&str, &str)]) -> Vec<Level> {
    pairs
        .iter()
        .map(|(p, q)| Level::new(p.parse().unwrap(), q.parse().unwrap()))
        .collect()
}

/// A `BTCUSDT` diff `U..=u`.
pub(crate) fn diff(
    first: u64,
    last: u64,
    bids: &[(&str, &str)],
    asks: &[(&str, &str)],
) -> DepthUpdate {
    DepthUpdate {
        event_time: Timestamp::from_millis(1_700_000_000_000),
        symbol: symbol(),
        first_update_id: first,
        final_update_id: last,
        bids: levels(bids),
        asks: levels(asks),
    }
}

/// A snapshot at `last_update_id`.
pub(crate) fn snapshot(
    last_update_id: u64,
    bids: &[(&str, &str)],
    asks: &[(&str, &str)],
) -> DepthSnapshot {
    DepthSnapshot {
        last_update_id,
        bids: levels(bids),
        asks: levels(asks),
    }
}

/// `BTCUSDT`.
pub(crate) fn symbol() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

/// A machine, its fake clock, and what it asked for.
pub(crate) struct Harness {
    pub(crate) sync: BookSync,
    pub(crate) now: Instant,
}

impl Harness {
    pub(crate) fn new(config: BookConfig) -> Self {
        let now = Instant::now();
        Harness {
            sync: BookSync::new(symbol(), config, now),
            now,
        }
    }

    pub(crate) fn diff(&mut self, d: DepthUpdate) {
        self.sync.on_diff(d, self.now);
    }

    /// The requests asked for since the last call.
    pub(crate) fn fetches(&mut self) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some(Action::FetchSnapshot { request, .. }) = self.sync.poll_action() {
            out.push(request);
        }
        out
    }

    /// The one request asked for since the last call.
    pub(crate) fn fetch(&mut self) -> u64 {
        let fetches = self.fetches();
        assert_eq!(fetches.len(), 1, "expected one fetch, got {fetches:?}");
        fetches[0]
    }

    pub(crate) fn events(&mut self) -> Vec<BookEvent> {
        std::iter::from_fn(|| self.sync.poll_event()).collect()
    }

    pub(crate) fn snapshot(&mut self, request: u64, s: DepthSnapshot) {
        self.sync.on_snapshot(request, s, self.now);
    }

    pub(crate) fn fail(&mut self, request: u64, error: SnapshotError) {
        self.sync.on_snapshot_failed(request, error, self.now);
    }

    /// Moves the clock forward, handling every timeout on the way (bounded, so a
    /// machine that keeps asking for `now` fails the test instead of hanging).
    pub(crate) fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        for _ in 0..1000 {
            match self.sync.poll_timeout() {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.sync.handle_timeout(self.now);
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
        panic!("the machine keeps asking for timeouts");
    }

    pub(crate) fn state(&self) -> &BookState {
        self.sync.state()
    }
}
