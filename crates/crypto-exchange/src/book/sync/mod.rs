//! [`BookSync`]: PROTOCOL.md §5's procedure for one symbol, as a sans-IO state
//! machine.
//!
//! It is told what happened (a diff, a snapshot, a failed fetch, a lost
//! connection) and what time it is; it answers with [`Action`]s (fetch a
//! snapshot) and [`BookEvent`]s, and never sleeps, spawns or reads the clock.
//!
//! The procedure:
//!
//! 1. Buffer diffs (at most `buffer_capacity`; one more starts over). The first
//!    diff asks for a snapshot; with no diff within `first_diff_timeout` a
//!    snapshot is fetched anyway and held until the first diff, so a symbol the
//!    exchange does not know is found.
//! 2. A snapshot the buffered diffs do not continue (`lastUpdateId + 1 < U` of the
//!    first) is too old: fetch again after a doubling backoff; after
//!    `max_refetches` of them drop the buffer and start over (the backoff goes
//!    on, so this never spins).
//! 3. Otherwise book = snapshot, then replay the buffer through
//!    [`OrderBook::apply_diff`]: diffs with `u ≤ lastUpdateId` are stale and
//!    dropped; a gap inside the buffer starts over from the diff after the gap.
//! 4. Live: apply each diff; a stale one is ignored (with an event); a gap or a
//!    malformed diff (`u < U`, a negative quantity) throws the book away and
//!    starts over from step 1, keeping the gap's diff as the first buffered one.
//!
//! §5 step 3 calls a snapshot too old when `lastUpdateId < U`; this machine
//! accepts `lastUpdateId == U − 1` as well, because the book then continues
//! exactly into the first diff, which is what the apply rule (`U > bookId + 1`
//! is a gap) accepts everywhere else; the only difference is one snapshot less.

mod check;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::config::BookConfig;
use super::event::{BookEvent, BookState, NotLive, ResyncReason, SnapshotError};
use super::order_book::{Applied, OrderBook};
use crate::domain::rest::DepthSnapshot;
use crate::domain::{DepthUpdate, Symbol};

use self::check::Check;

/// Something the machine needs done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Fetch `GET /api/v3/depth?symbol=…&limit=…` and report the answer with this
    /// request id to [`BookSync::on_snapshot`] or [`BookSync::on_snapshot_failed`].
    FetchSnapshot {
        /// Identifies the answer.
        request: u64,
        /// Levels per side.
        limit: u32,
    },
}

/// The snapshot the sync waits for.
#[derive(Debug)]
enum Slot {
    /// Nothing asked for.
    Idle,
    /// Asked for; the answer to `request` is awaited.
    InFlight { request: u64 },
    /// A failed or too-old snapshot: ask again at `at`.
    RetryAt { at: Instant },
    /// Fetched before any diff was buffered: checked against the first one.
    Held(DepthSnapshot),
}

/// One symbol's book and the procedure that keeps it.
#[derive(Debug)]
pub struct BookSync {
    symbol: Symbol,
    config: BookConfig,
    state: BookState,
    book: OrderBook,
    buffer: VecDeque<DepthUpdate>,
    slot: Slot,
    check: Check,
    /// When a syncing book with an empty buffer fetches a snapshot anyway.
    probe_at: Option<Instant>,
    next_request: u64,
    /// Failed or too-old snapshots in a row (the backoff's exponent); zero once live.
    failures: u32,
    /// Too-old snapshots for the current buffer.
    too_old: u32,
    actions: VecDeque<Action>,
    events: VecDeque<BookEvent>,
}

impl BookSync {
    /// A book for `symbol`, syncing from `now`. `config` is expected to be valid
    /// ([`BookConfig::problems`] empty); the tokio layer checks it.
    #[must_use]
    pub fn new(symbol: Symbol, config: BookConfig, now: Instant) -> Self {
        let probe_at = Some(now + config.first_diff_timeout);
        BookSync {
            symbol,
            config,
            state: BookState::Syncing,
            book: OrderBook::new(),
            buffer: VecDeque::new(),
            slot: Slot::Idle,
            check: Check::Off,
            probe_at,
            next_request: 1,
            failures: 0,
            too_old: 0,
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The symbol.
    #[must_use]
    pub fn symbol(&self) -> &Symbol {
        &self.symbol
    }

    /// The book's state.
    #[must_use]
    pub fn state(&self) -> &BookState {
        &self.state
    }

    /// The book, when it is live.
    ///
    /// # Errors
    /// [`NotLive`] with the state otherwise: its levels would be stale or partial.
    pub fn book(&self) -> Result<&OrderBook, NotLive> {
        if self.state.is_live() {
            Ok(&self.book)
        } else {
            Err(NotLive {
                symbol: self.symbol.clone(),
                state: self.state.clone(),
            })
        }
    }

    /// Diffs buffered while syncing.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next action to carry out.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event to report.
    pub fn poll_event(&mut self) -> Option<BookEvent> {
        self.events.pop_front()
    }

    /// When [`BookSync::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let retry = match self.slot {
            Slot::RetryAt { at } => Some(at),
            _ => None,
        };
        let check = match self.check {
            Check::Due { at } => Some(at),
            _ => None,
        };
        [self.probe_at, retry, check].into_iter().flatten().min()
    }

    /// Does what is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.probe_at.is_some_and(|at| at <= now) {
            self.probe_at = None;
            if matches!(self.slot, Slot::Idle) && !self.state.is_live() {
                self.fetch();
            }
        }
        if matches!(self.slot, Slot::RetryAt { at } if at <= now) {
            self.fetch();
        }
        if matches!(self.check, Check::Due { at } if at <= now) && self.state.is_live() {
            let request = self.request(self.config.self_check_limit);
            self.check = Check::InFlight { request };
        }
    }

    /// A diff from the stream.
    pub fn on_diff(&mut self, diff: DepthUpdate, now: Instant) {
        match self.state {
            BookState::Unavailable { .. } => {}
            BookState::Live => self.apply_live(diff, now),
            BookState::Syncing | BookState::Resyncing { .. } => self.buffer_diff(diff, now),
        }
    }

    /// The answer to a [`Action::FetchSnapshot`].
    pub fn on_snapshot(&mut self, request: u64, snapshot: DepthSnapshot, now: Instant) {
        if matches!(self.check, Check::InFlight { request: r } if r == request) {
            self.check = Check::Off;
            self.self_check_arrived(snapshot, now);
            return;
        }
        if !matches!(self.slot, Slot::InFlight { request: r } if r == request) {
            // An answer to a request the machine has since given up on.
            return;
        }
        self.slot = Slot::Idle;
        if self.buffer.is_empty() {
            self.slot = Slot::Held(snapshot);
        } else {
            self.try_sync(snapshot, now);
        }
    }

    /// A [`Action::FetchSnapshot`] that failed.
    pub fn on_snapshot_failed(&mut self, request: u64, error: SnapshotError, now: Instant) {
        let for_check = matches!(self.check, Check::InFlight { request: r } if r == request);
        let for_sync = matches!(self.slot, Slot::InFlight { request: r } if r == request);
        if !for_check && !for_sync {
            return;
        }
        match error {
            SnapshotError::UnknownSymbol { message } | SnapshotError::Refused { message } => {
                self.become_unavailable(message);
            }
            SnapshotError::Transient {
                message,
                retry_after,
            } if for_check => {
                // A failed self-check says nothing about the book: try next time.
                let every = self.config.self_check.unwrap_or_default();
                let retry_in = retry_after.unwrap_or_default().max(every);
                self.check = Check::Due { at: now + retry_in };
                self.event(|symbol| BookEvent::SnapshotFailed {
                    symbol,
                    error: message,
                    retry_in,
                });
            }
            SnapshotError::Transient {
                message,
                retry_after,
            } => {
                self.failures = self.failures.saturating_add(1);
                let retry_in = self.retry_in(retry_after);
                self.slot = Slot::RetryAt { at: now + retry_in };
                self.event(|symbol| BookEvent::SnapshotFailed {
                    symbol,
                    error: message,
                    retry_in,
                });
            }
        }
    }

    /// The connection carrying the stream ended (or its driver restarted): diffs
    /// may be missed, so a live book is rebuilt (PROTOCOL.md §5). A syncing book
    /// drops what it buffered; a held or awaited snapshot stays, as the first diff
    /// after the reconnect is checked against it anyway.
    pub fn on_disconnected(&mut self, detail: &str, now: Instant) {
        let reason = || ResyncReason::Disconnected {
            detail: detail.to_owned(),
        };
        match self.state {
            BookState::Unavailable { .. } => {}
            BookState::Live => self.restart(reason(), now),
            BookState::Syncing | BookState::Resyncing { .. } => {
                if !self.buffer.is_empty() {
                    self.restart(reason(), now);
                }
            }
        }
    }

    /// Rebuilds the book now, whatever its state (an unavailable symbol is tried
    /// again).
    pub fn resync(&mut self, now: Instant) {
        if matches!(self.state, BookState::Unavailable { .. }) {
            self.slot = Slot::Idle;
            self.failures = 0;
        }
        self.restart(ResyncReason::Requested, now);
    }

    fn apply_live(&mut self, diff: DepthUpdate, now: Instant) {
        match self.book.apply_diff(&diff) {
            Applied::Applied => self.after_applied(&diff, now),
            Applied::Stale => {
                let update_id = self.book.update_id();
                self.event(|symbol| BookEvent::StaleDiff {
                    symbol,
                    first_update_id: diff.first_update_id,
                    final_update_id: diff.final_update_id,
                    update_id,
                });
            }
            Applied::Gap { expected, got } => {
                self.restart(ResyncReason::Gap { expected, got }, now);
                // The diff after the gap is a valid first diff of the new sync.
                self.buffer_diff(diff, now);
            }
            Applied::Malformed(problem) => self.restart(ResyncReason::Malformed(problem), now),
        }
    }

    fn buffer_diff(&mut self, diff: DepthUpdate, now: Instant) {
        if diff.final_update_id < diff.first_update_id {
            let problem = super::order_book::Malformed::Reversed {
                first_update_id: diff.first_update_id,
                final_update_id: diff.final_update_id,
            };
            self.restart(ResyncReason::Malformed(problem), now);
            return;
        }
        if self.buffer.len() >= self.config.buffer_capacity {
            let capacity = self.config.buffer_capacity;
            self.restart(ResyncReason::BufferOverflow { capacity }, now);
        }
        self.buffer.push_back(diff);
        self.probe_at = None;
        match std::mem::replace(&mut self.slot, Slot::Idle) {
            Slot::Idle => self.fetch(),
            Slot::Held(snapshot) => self.try_sync(snapshot, now),
            waiting @ (Slot::InFlight { .. } | Slot::RetryAt { .. }) => self.slot = waiting,
        }
    }

    /// Steps 3–5 with a snapshot and a non-empty buffer.
    fn try_sync(&mut self, snapshot: DepthSnapshot, now: Instant) {
        let Some(first) = self.buffer.front().map(|d| d.first_update_id) else {
            self.slot = Slot::Held(snapshot);
            return;
        };
        let last_update_id = snapshot.last_update_id;
        if first > last_update_id.saturating_add(1) {
            self.too_old += 1;
            self.failures = self.failures.saturating_add(1);
            let attempt = self.too_old;
            let retry_in = self.retry_in(None);
            self.slot = Slot::RetryAt { at: now + retry_in };
            self.event(|symbol| BookEvent::SnapshotTooOld {
                symbol,
                last_update_id,
                first_update_id: first,
                attempt,
                retry_in,
            });
            if attempt >= self.config.max_refetches {
                self.restart(ResyncReason::SnapshotsTooOld { attempts: attempt }, now);
            }
            return;
        }
        let mut book = match OrderBook::from_snapshot(&snapshot) {
            Ok(book) => book,
            Err(problem) => {
                self.failures = self.failures.saturating_add(1);
                let retry_in = self.retry_in(None);
                self.slot = Slot::RetryAt { at: now + retry_in };
                self.event(|symbol| BookEvent::SnapshotFailed {
                    symbol,
                    error: format!("malformed snapshot: {problem}"),
                    retry_in,
                });
                return;
            }
        };
        while let Some(diff) = self.buffer.pop_front() {
            match book.apply_diff(&diff) {
                Applied::Applied | Applied::Stale => {}
                Applied::Gap { expected, got } => {
                    // The buffered stream itself has a hole: start over from the
                    // diff after it, which the diffs behind it continue.
                    let rest = std::mem::take(&mut self.buffer);
                    self.restart(ResyncReason::Gap { expected, got }, now);
                    self.buffer.push_back(diff);
                    self.buffer.extend(rest);
                    self.probe_at = None;
                    self.fetch();
                    return;
                }
                Applied::Malformed(problem) => {
                    self.restart(ResyncReason::Malformed(problem), now);
                    return;
                }
            }
        }
        self.book = book;
        let update_id = self.book.update_id();
        let previous = std::mem::replace(&mut self.state, BookState::Live);
        self.failures = 0;
        self.too_old = 0;
        self.probe_at = None;
        self.schedule_check(now);
        match previous {
            BookState::Resyncing { reason } => {
                self.event(|symbol| BookEvent::Resynced {
                    symbol,
                    reason,
                    update_id,
                });
            }
            _ => self.event(|symbol| BookEvent::Synced { symbol, update_id }),
        }
    }

    /// Throws the book and the buffer away and starts the procedure over. An
    /// awaited, held or scheduled snapshot stays: the next first diff is checked
    /// against it like any other.
    fn restart(&mut self, reason: ResyncReason, now: Instant) {
        self.book.clear();
        self.buffer.clear();
        self.check = Check::Off;
        self.too_old = 0;
        if matches!(self.slot, Slot::Idle) {
            self.probe_at = Some(now + self.config.first_diff_timeout);
        }
        self.state = BookState::Resyncing {
            reason: reason.clone(),
        };
        self.event(|symbol| BookEvent::Resyncing { symbol, reason });
    }

    fn become_unavailable(&mut self, reason: String) {
        self.book.clear();
        self.buffer.clear();
        self.slot = Slot::Idle;
        self.check = Check::Off;
        self.probe_at = None;
        self.state = BookState::Unavailable {
            reason: reason.clone(),
        };
        self.event(|symbol| BookEvent::Unavailable { symbol, reason });
    }

    fn fetch(&mut self) {
        let request = self.request(self.config.depth_limit);
        self.slot = Slot::InFlight { request };
    }

    fn request(&mut self, limit: u32) -> u64 {
        let request = self.next_request;
        self.next_request += 1;
        self.actions
            .push_back(Action::FetchSnapshot { request, limit });
        request
    }

    fn retry_in(&self, retry_after: Option<Duration>) -> Duration {
        let delay = self.config.retry_delay(self.failures);
        retry_after.map_or(delay, |after| after.max(delay))
    }

    fn event(&mut self, make: impl FnOnce(Symbol) -> BookEvent) {
        self.events.push_back(make(self.symbol.clone()));
    }
}
