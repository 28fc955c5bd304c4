//! Reads of a book: [`BookHandle`] and what it returns, and [`BookEvents`].
//!
//! Reads take the symbol's `RwLock` for as long as they copy what they return (a
//! few levels: well under a microsecond); the feed task takes the write lock only
//! to apply one diff. Readers therefore always see the latest applied diff and
//! never a half-applied one, and neither side waits on the other for long. A
//! `watch` channel per symbol carries the state and update id, so waiting for a
//! book to be live (or to reach an update id) needs no polling.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use super::event::{BookEvent, BookState, NotLive};
use super::order_book::{OrderBook, Side};
use super::sync::BookSync;
use crate::domain::{Level, Symbol};

/// One symbol's book, shared by the task and the readers.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) symbol: Symbol,
    pub(super) sync: RwLock<BookSync>,
    /// The state and the live book's update id (0 when not live).
    pub(super) status: watch::Sender<(BookState, u64)>,
}

impl Shared {
    pub(super) fn read(&self) -> RwLockReadGuard<'_, BookSync> {
        self.sync.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, BookSync> {
        self.sync.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The best bid and ask of a live book, read together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestBidAsk {
    /// The highest bid (`None` when the side is empty).
    pub bid: Option<Level>,
    /// The lowest ask (`None` when the side is empty).
    pub ask: Option<Level>,
    /// The book's update id.
    pub update_id: u64,
}

/// The top levels of a live book, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookLevels {
    /// Bids, best (highest) first.
    pub bids: Vec<Level>,
    /// Asks, best (lowest) first.
    pub asks: Vec<Level>,
    /// The book's update id.
    pub update_id: u64,
}

/// Reads one symbol's book. Cheap to clone; reads never wait for the network.
#[derive(Debug, Clone)]
pub struct BookHandle {
    pub(super) shared: Arc<Shared>,
}

impl BookHandle {
    /// The symbol.
    #[must_use]
    pub fn symbol(&self) -> &Symbol {
        &self.shared.symbol
    }

    /// The book's state now.
    #[must_use]
    pub fn state(&self) -> BookState {
        self.shared.read().state().clone()
    }

    /// Runs `read` on the live book, under its read lock (keep it short: the
    /// book's diffs wait meanwhile).
    ///
    /// # Errors
    /// [`NotLive`] when the book is not live.
    pub fn with_book<R>(&self, read: impl FnOnce(&OrderBook) -> R) -> Result<R, NotLive> {
        let sync = self.shared.read();
        sync.book().map(read)
    }

    /// The best bid and ask.
    ///
    /// # Errors
    /// [`NotLive`] when the book is not live.
    pub fn best_bid_ask(&self) -> Result<BestBidAsk, NotLive> {
        self.with_book(|book| BestBidAsk {
            bid: book.best_bid(),
            ask: book.best_ask(),
            update_id: book.update_id(),
        })
    }

    /// The best `n` levels of each side.
    ///
    /// # Errors
    /// [`NotLive`] when the book is not live.
    pub fn top(&self, n: usize) -> Result<BookLevels, NotLive> {
        self.with_book(|book| BookLevels {
            bids: book.top(Side::Bid, n),
            asks: book.top(Side::Ask, n),
            update_id: book.update_id(),
        })
    }

    /// The book's update id.
    ///
    /// # Errors
    /// [`NotLive`] when the book is not live.
    pub fn update_id(&self) -> Result<u64, NotLive> {
        self.with_book(OrderBook::update_id)
    }

    /// Waits until the book is live, at most `timeout`; returns its update id.
    ///
    /// # Errors
    /// [`WaitTimeout`] when `timeout` passed first.
    pub async fn wait_live(&self, timeout: Duration) -> Result<u64, WaitTimeout> {
        self.wait_until(0, timeout).await
    }

    /// Waits until the book is live at update id `update_id` or later, at most
    /// `timeout`; returns the update id reached.
    ///
    /// # Errors
    /// [`WaitTimeout`] when `timeout` passed first.
    pub async fn wait_until(&self, update_id: u64, timeout: Duration) -> Result<u64, WaitTimeout> {
        let mut status = self.shared.status.subscribe();
        let reached = tokio::time::timeout(
            timeout,
            status.wait_for(|(state, id)| state.is_live() && *id >= update_id),
        )
        .await;
        if let Ok(Ok(seen)) = reached {
            return Ok(seen.1);
        }
        let (state, reached) = self.shared.status.borrow().clone();
        Err(WaitTimeout {
            symbol: self.shared.symbol.clone(),
            wanted: update_id,
            state,
            reached,
            timeout,
        })
    }
}

/// A wait for a book that did not end in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the {symbol} order book was not live at update {wanted} or later within {timeout:?}: \
     it is {state}, at update {reached}"
)]
pub struct WaitTimeout {
    /// The symbol.
    pub symbol: Symbol,
    /// The update id waited for (0: any, live).
    pub wanted: u64,
    /// The book's state at the end of the wait.
    pub state: BookState,
    /// The live book's update id at the end of the wait (0 when not live).
    pub reached: u64,
    /// How long the wait was.
    pub timeout: Duration,
}

/// Book events; a reader that falls far behind skips the oldest.
#[derive(Debug)]
pub struct BookEvents(pub(super) broadcast::Receiver<BookEvent>);

impl BookEvents {
    /// The next event; `None` once the books have stopped.
    pub async fn next(&mut self) -> Option<BookEvent> {
        loop {
            match self.0.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a book-event reader fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
