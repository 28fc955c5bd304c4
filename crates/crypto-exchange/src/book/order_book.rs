//! [`OrderBook`]: one symbol's price levels, changed by PROTOCOL.md §5's apply rule.
//!
//! Each side is a `BTreeMap<Decimal, Decimal>` (price → quantity). Diffs touch a
//! handful of levels, mostly near the top; a B-tree finds and changes any level in
//! `O(log n)` without moving the others, keeps both sides ordered for `top(n)`, and
//! costs well under the 200 ns per level change the issue allows (see
//! `docs/benchmarks.md`). A sorted vector would win for changes at the very top
//! but pays a memmove for every change deeper down, and Binance's diffs do reach
//! deep levels (the snapshot holds up to 5000 of them).

use std::collections::{BTreeMap, btree_map};

use rust_decimal::Decimal;

use crate::domain::rest::DepthSnapshot;
use crate::domain::{DepthUpdate, Level};

/// A side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Buy orders; the best is the highest price.
    Bid,
    /// Sell orders; the best is the lowest price.
    Ask,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Bid => "bid",
            Side::Ask => "ask",
        })
    }
}

/// Why a diff or a snapshot cannot be used at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// A diff whose final update id is below its first (`u < U`).
    Reversed {
        /// `U`.
        first_update_id: u64,
        /// `u`.
        final_update_id: u64,
    },
    /// A level with a negative quantity (a quantity is absolute: zero or more).
    NegativeQuantity {
        /// The side.
        side: Side,
        /// The level's price.
        price: Decimal,
    },
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::Reversed {
                first_update_id,
                final_update_id,
            } => write!(
                f,
                "final update id {final_update_id} is below the first {first_update_id}"
            ),
            Malformed::NegativeQuantity { side, price } => {
                write!(f, "negative quantity at {side} {price}")
            }
        }
    }
}

/// What [`OrderBook::apply_diff`] did with a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applied {
    /// The changes are in the book; its update id is the diff's `u`.
    Applied,
    /// `u ≤ bookId`: everything in the diff is already in the book (a duplicate,
    /// or an event older than the snapshot); the book is unchanged.
    Stale,
    /// `U > bookId + 1`: diffs were missed; the book is unchanged and must be
    /// rebuilt.
    Gap {
        /// The first update id the book needed (`bookId + 1`).
        expected: u64,
        /// The diff's first update id.
        got: u64,
    },
    /// The diff cannot be applied; the book is unchanged.
    Malformed(Malformed),
}

/// One symbol's order book: price levels with exact decimal prices and
/// quantities, and the id of the last update in it.
///
/// It does no IO and keeps no time: [`BookSync`](super::BookSync) decides when
/// it may be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderBook {
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
    update_id: u64,
}

impl OrderBook {
    /// An empty book at update id 0.
    #[must_use]
    pub fn new() -> Self {
        OrderBook::default()
    }

    /// The book of a REST snapshot (`bookId = lastUpdateId`). Levels with a zero
    /// quantity are left out.
    ///
    /// # Errors
    /// [`Malformed::NegativeQuantity`] for a level with a negative quantity.
    pub fn from_snapshot(snapshot: &DepthSnapshot) -> Result<Self, Malformed> {
        let mut book = OrderBook {
            update_id: snapshot.last_update_id,
            ..OrderBook::default()
        };
        for (side, levels) in [(Side::Bid, &snapshot.bids), (Side::Ask, &snapshot.asks)] {
            check_levels(side, levels)?;
            let map = book.side_mut(side);
            for level in levels {
                if !level.quantity.is_zero() {
                    map.insert(level.price, level.quantity);
                }
            }
        }
        Ok(book)
    }

    /// Applies one `depthUpdate` by PROTOCOL.md §5, checking in this order:
    ///
    /// 1. `u < U` → [`Applied::Malformed`];
    /// 2. `u ≤ bookId` → [`Applied::Stale`] (§5 says "`u < bookId`, ignore"; an
    ///    event with `u == bookId` is the one the book ends with, or is inside the
    ///    snapshot, so applying its absolute quantities again would change
    ///    nothing: ignoring it is the same book, cheaper, and names a duplicate
    ///    for what it is);
    /// 3. `U > bookId + 1` → [`Applied::Gap`] (the rule since 2025-11-12);
    /// 4. a negative quantity → [`Applied::Malformed`];
    /// 5. otherwise every level is set (quantity zero removes it; removing a level
    ///    the book does not have is normal) and `bookId = u`.
    ///
    /// The book is unchanged unless the result is [`Applied::Applied`].
    pub fn apply_diff(&mut self, diff: &DepthUpdate) -> Applied {
        let (first, last) = (diff.first_update_id, diff.final_update_id);
        if last < first {
            return Applied::Malformed(Malformed::Reversed {
                first_update_id: first,
                final_update_id: last,
            });
        }
        if last <= self.update_id {
            return Applied::Stale;
        }
        let expected = self.update_id.saturating_add(1);
        if first > expected {
            return Applied::Gap {
                expected,
                got: first,
            };
        }
        if let Err(problem) =
            check_levels(Side::Bid, &diff.bids).and_then(|()| check_levels(Side::Ask, &diff.asks))
        {
            return Applied::Malformed(problem);
        }
        set_levels(&mut self.bids, &diff.bids);
        set_levels(&mut self.asks, &diff.asks);
        self.update_id = last;
        Applied::Applied
    }

    /// The id of the last update in the book (`bookId`).
    #[must_use]
    pub const fn update_id(&self) -> u64 {
        self.update_id
    }

    /// The best bid (highest price).
    #[must_use]
    pub fn best_bid(&self) -> Option<Level> {
        self.bids
            .iter()
            .next_back()
            .map(|(&p, &q)| Level::new(p, q))
    }

    /// The best ask (lowest price).
    #[must_use]
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.iter().next().map(|(&p, &q)| Level::new(p, q))
    }

    /// The best level of a side.
    #[must_use]
    pub fn best(&self, side: Side) -> Option<Level> {
        match side {
            Side::Bid => self.best_bid(),
            Side::Ask => self.best_ask(),
        }
    }

    /// A side's levels, best first.
    #[must_use]
    pub fn levels(&self, side: Side) -> Levels<'_> {
        Levels(match side {
            Side::Bid => Walk::Bids(self.bids.iter().rev()),
            Side::Ask => Walk::Asks(self.asks.iter()),
        })
    }

    /// The best `n` levels of a side, best first.
    #[must_use]
    pub fn top(&self, side: Side, n: usize) -> Vec<Level> {
        self.levels(side).take(n).collect()
    }

    /// The quantity at a price, if the side has that level.
    #[must_use]
    pub fn quantity(&self, side: Side, price: Decimal) -> Option<Decimal> {
        self.side(side).get(&price).copied()
    }

    /// The number of levels on a side.
    #[must_use]
    pub fn depth(&self, side: Side) -> usize {
        self.side(side).len()
    }

    /// Empties the book and sets its update id to 0.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.update_id = 0;
    }

    fn side(&self, side: Side) -> &BTreeMap<Decimal, Decimal> {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Decimal, Decimal> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }
}

/// A side's levels, best first: see [`OrderBook::levels`].
#[derive(Debug, Clone)]
pub struct Levels<'a>(Walk<'a>);

#[derive(Debug, Clone)]
enum Walk<'a> {
    Bids(std::iter::Rev<btree_map::Iter<'a, Decimal, Decimal>>),
    Asks(btree_map::Iter<'a, Decimal, Decimal>),
}

impl Iterator for Levels<'_> {
    type Item = Level;

    fn next(&mut self) -> Option<Level> {
        let (&price, &quantity) = match &mut self.0 {
            Walk::Bids(walk) => walk.next()?,
            Walk::Asks(walk) => walk.next()?,
        };
        Some(Level::new(price, quantity))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            Walk::Bids(walk) => walk.size_hint(),
            Walk::Asks(walk) => walk.size_hint(),
        }
    }
}

/// Refuses negative quantities before anything changes, so a bad diff never
/// leaves half of its levels applied.
fn check_levels(side: Side, levels: &[Level]) -> Result<(), Malformed> {
    match levels
        .iter()
        .find(|l| l.quantity.is_sign_negative() && !l.quantity.is_zero())
    {
        Some(level) => Err(Malformed::NegativeQuantity {
            side,
            price: level.price,
        }),
        None => Ok(()),
    }
}

fn set_levels(side: &mut BTreeMap<Decimal, Decimal>, levels: &[Level]) {
    for level in levels {
        if level.quantity.is_zero() {
            side.remove(&level.price);
        } else {
            side.insert(level.price, level.quantity);
        }
    }
}
