//! What a book is doing ([`BookState`]), why it rebuilds ([`ResyncReason`]), what
//! it tells ([`BookEvent`]), and what a reader gets while it is not live
//! ([`NotLive`]).

use std::fmt;
use std::time::Duration;

use rust_decimal::Decimal;

use super::order_book::{Malformed, Side};
use crate::domain::Symbol;

/// The visible state of one symbol's book.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BookState {
    /// Being built for the first time: diffs are buffered until a snapshot that
    /// they continue arrives. Reads answer [`NotLive`].
    Syncing,
    /// Consistent with the diff stream: reads answer levels.
    Live,
    /// Being rebuilt after a problem, this one. Reads answer [`NotLive`].
    Resyncing {
        /// Why the book is rebuilt.
        reason: ResyncReason,
    },
    /// The exchange refuses the symbol's snapshot for good (REST -1121: the
    /// symbol does not exist, or was removed). Nothing is fetched until a resync
    /// is asked for. Reads answer [`NotLive`].
    Unavailable {
        /// Why, from the exchange's answer.
        reason: String,
    },
}

impl BookState {
    /// True for [`BookState::Live`].
    #[must_use]
    pub const fn is_live(&self) -> bool {
        matches!(self, BookState::Live)
    }

    /// A stable short name: `syncing`, `live`, `resyncing`, `unavailable`.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            BookState::Syncing => "syncing",
            BookState::Live => "live",
            BookState::Resyncing { .. } => "resyncing",
            BookState::Unavailable { .. } => "unavailable",
        }
    }
}

impl fmt::Display for BookState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BookState::Resyncing { reason } => write!(f, "resyncing ({reason})"),
            BookState::Unavailable { reason } => write!(f, "unavailable ({reason})"),
            other => f.write_str(other.name()),
        }
    }
}

/// Why a book is rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResyncReason {
    /// A diff did not continue the book: `U > bookId + 1`.
    Gap {
        /// The first update id the book needed.
        expected: u64,
        /// The diff's first update id.
        got: u64,
    },
    /// A diff could not be applied at all (`u < U`, a negative quantity).
    Malformed(Malformed),
    /// The stream's connection ended (or its driver restarted), so diffs may have
    /// been missed (PROTOCOL.md §5: rebuild after any reconnect).
    Disconnected {
        /// The client's lifecycle signal, for people.
        detail: String,
    },
    /// More diffs arrived while waiting for a snapshot than the buffer holds.
    BufferOverflow {
        /// The buffer's capacity, in diffs.
        capacity: usize,
    },
    /// Snapshot after snapshot was older than the first buffered diff.
    SnapshotsTooOld {
        /// Snapshots fetched for the abandoned buffer.
        attempts: u32,
    },
    /// The self-check found the book different from a snapshot at the same
    /// update id.
    SelfCheckMismatch {
        /// The update id compared at.
        update_id: u64,
        /// The side.
        side: Side,
        /// The first price that differs.
        price: Decimal,
    },
    /// Someone asked for it.
    Requested,
}

impl ResyncReason {
    /// A stable short name: `gap`, `malformed`, `disconnected`, `buffer_overflow`,
    /// `snapshots_too_old`, `self_check_mismatch`, `requested`.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            ResyncReason::Gap { .. } => "gap",
            ResyncReason::Malformed(_) => "malformed",
            ResyncReason::Disconnected { .. } => "disconnected",
            ResyncReason::BufferOverflow { .. } => "buffer_overflow",
            ResyncReason::SnapshotsTooOld { .. } => "snapshots_too_old",
            ResyncReason::SelfCheckMismatch { .. } => "self_check_mismatch",
            ResyncReason::Requested => "requested",
        }
    }
}

impl fmt::Display for ResyncReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResyncReason::Gap { expected, got } => {
                write!(f, "gap: expected update {expected}, got {got}")
            }
            ResyncReason::Malformed(problem) => write!(f, "malformed diff: {problem}"),
            ResyncReason::Disconnected { detail } => write!(f, "disconnected: {detail}"),
            ResyncReason::BufferOverflow { capacity } => {
                write!(f, "more than {capacity} diffs buffered while syncing")
            }
            ResyncReason::SnapshotsTooOld { attempts } => {
                write!(f, "{attempts} snapshots older than the buffered diffs")
            }
            ResyncReason::SelfCheckMismatch {
                update_id,
                side,
                price,
            } => write!(
                f,
                "self-check at update {update_id}: {side} {price} differs"
            ),
            ResyncReason::Requested => f.write_str("requested"),
        }
    }
}

/// Why a snapshot could not be had, as the book's procedure needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The exchange does not know the symbol (REST -1121): permanent.
    UnknownSymbol {
        /// The exchange's message.
        message: String,
    },
    /// Refused for another permanent reason (another 4xx, a bad configuration).
    Refused {
        /// What was refused and why.
        message: String,
    },
    /// Worth trying again (5xx, transport, rate limit, ban, open circuit breaker,
    /// an undecodable or malformed body).
    Transient {
        /// What failed.
        message: String,
        /// Not before this long, when the server or the budget says so.
        retry_after: Option<Duration>,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::UnknownSymbol { message } => write!(f, "unknown symbol: {message}"),
            SnapshotError::Refused { message } | SnapshotError::Transient { message, .. } => {
                f.write_str(message)
            }
        }
    }
}

/// Something that happened to a book, as a value (for logs, metrics, alerts).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BookEvent {
    /// The book is live for the first time.
    Synced {
        /// The symbol.
        symbol: Symbol,
        /// The book's update id.
        update_id: u64,
    },
    /// The book left [`BookState::Live`] (or started its sync over) and is being
    /// rebuilt.
    Resyncing {
        /// The symbol.
        symbol: Symbol,
        /// Why.
        reason: ResyncReason,
    },
    /// The book is live again after a resync (the issue's `BookResynced`).
    Resynced {
        /// The symbol.
        symbol: Symbol,
        /// Why it had to be rebuilt.
        reason: ResyncReason,
        /// The book's update id.
        update_id: u64,
    },
    /// A snapshot was older than the first buffered diff (`lastUpdateId + 1 <
    /// U`); another is fetched after a backoff.
    SnapshotTooOld {
        /// The symbol.
        symbol: Symbol,
        /// The snapshot's `lastUpdateId`.
        last_update_id: u64,
        /// The first buffered diff's `U`.
        first_update_id: u64,
        /// Too-old snapshots for this buffer so far.
        attempt: u32,
        /// When the next snapshot is fetched.
        retry_in: Duration,
    },
    /// A snapshot fetch failed for a reason worth retrying; it is retried.
    SnapshotFailed {
        /// The symbol.
        symbol: Symbol,
        /// What failed.
        error: String,
        /// When the next fetch goes.
        retry_in: Duration,
    },
    /// A live book ignored a diff it already had (`u ≤ bookId`: a duplicate).
    StaleDiff {
        /// The symbol.
        symbol: Symbol,
        /// The diff's `U`.
        first_update_id: u64,
        /// The diff's `u`.
        final_update_id: u64,
        /// The book's update id.
        update_id: u64,
    },
    /// The exchange refused the symbol for good; the book is
    /// [`BookState::Unavailable`] and fetches nothing more.
    Unavailable {
        /// The symbol.
        symbol: Symbol,
        /// The exchange's answer.
        reason: String,
    },
    /// The self-check compared the book with a snapshot at the same update id and
    /// found them equal.
    SelfChecked {
        /// The symbol.
        symbol: Symbol,
        /// The update id compared at.
        update_id: u64,
        /// Levels compared (both sides).
        levels: usize,
    },
    /// The self-check's snapshot was older than the book already was, so it could
    /// not be compared; the next check is at the usual interval.
    SelfCheckSkipped {
        /// The symbol.
        symbol: Symbol,
        /// The snapshot's `lastUpdateId`.
        snapshot_update_id: u64,
        /// The book's update id.
        update_id: u64,
    },
    /// The self-check found a difference; a [`BookEvent::Resyncing`] follows.
    SelfCheckMismatch {
        /// The symbol.
        symbol: Symbol,
        /// The update id compared at.
        update_id: u64,
        /// The side.
        side: Side,
        /// The first price that differs.
        price: Decimal,
        /// The book's quantity there (`None`: no such level).
        local: Option<Decimal>,
        /// The snapshot's quantity there (`None`: no such level).
        remote: Option<Decimal>,
    },
    /// The books' task fell behind its subscription and this many diffs (of any
    /// symbol) were dropped for it; every book that lost one sees a gap at its
    /// next diff and resyncs.
    Lagged {
        /// Diffs missed.
        missed: u64,
    },
}

impl BookEvent {
    /// The symbol the event is about (`None` for [`BookEvent::Lagged`]).
    #[must_use]
    pub fn symbol(&self) -> Option<&Symbol> {
        match self {
            BookEvent::Synced { symbol, .. }
            | BookEvent::Resyncing { symbol, .. }
            | BookEvent::Resynced { symbol, .. }
            | BookEvent::SnapshotTooOld { symbol, .. }
            | BookEvent::SnapshotFailed { symbol, .. }
            | BookEvent::StaleDiff { symbol, .. }
            | BookEvent::Unavailable { symbol, .. }
            | BookEvent::SelfChecked { symbol, .. }
            | BookEvent::SelfCheckSkipped { symbol, .. }
            | BookEvent::SelfCheckMismatch { symbol, .. } => Some(symbol),
            BookEvent::Lagged { .. } => None,
        }
    }
}

/// A read of a book that is not live: the levels would be stale or partial, so
/// they are not returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {symbol} order book is not live: {state}")]
pub struct NotLive {
    /// The symbol.
    pub symbol: Symbol,
    /// Its state.
    pub state: BookState,
}
