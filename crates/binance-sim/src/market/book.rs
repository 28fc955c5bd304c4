//! A price-level order book with resting orders in time priority.
//!
//! Prices and quantities are [`Fixed`]. Each level keeps its resting orders in a
//! queue, so a taker that sweeps a level fills several orders (several trades,
//! one aggregate trade), as on a real matching engine.

use std::collections::{BTreeMap, VecDeque};

use crate::decimal::Fixed;

/// A side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Buy orders.
    Bid,
    /// Sell orders.
    Ask,
}

impl Side {
    /// The other side.
    #[must_use]
    pub const fn opposite(self) -> Side {
        match self {
            Side::Bid => Side::Ask,
            Side::Ask => Side::Bid,
        }
    }
}

/// A resting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resting {
    pub(crate) qty: Fixed,
}

/// One price level: its total and its queue of resting orders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Level {
    pub(crate) total: Fixed,
    pub(crate) orders: VecDeque<Resting>,
}

/// One fill of a taker against a resting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fill {
    pub(crate) price: Fixed,
    pub(crate) qty: Fixed,
}

/// The order book of one symbol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderBook {
    bids: BTreeMap<Fixed, Level>,
    asks: BTreeMap<Fixed, Level>,
}

impl OrderBook {
    fn side(&self, side: Side) -> &BTreeMap<Fixed, Level> {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Fixed, Level> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    /// The best (highest) bid and its total quantity.
    #[must_use]
    pub fn best_bid(&self) -> Option<(Fixed, Fixed)> {
        self.bids.iter().next_back().map(|(p, l)| (*p, l.total))
    }

    /// The best (lowest) ask and its total quantity.
    #[must_use]
    pub fn best_ask(&self) -> Option<(Fixed, Fixed)> {
        self.asks.iter().next().map(|(p, l)| (*p, l.total))
    }

    /// The best level of a side.
    #[must_use]
    pub fn best(&self, side: Side) -> Option<(Fixed, Fixed)> {
        match side {
            Side::Bid => self.best_bid(),
            Side::Ask => self.best_ask(),
        }
    }

    /// The total quantity at a price, zero when there is no level.
    #[must_use]
    pub fn qty_at(&self, side: Side, price: Fixed) -> Fixed {
        self.side(side).get(&price).map_or(Fixed::ZERO, |l| l.total)
    }

    /// The number of levels on a side.
    #[must_use]
    pub fn depth(&self, side: Side) -> usize {
        self.side(side).len()
    }

    /// The top `n` levels of a side, best first, as (price, total quantity).
    #[must_use]
    pub fn top(&self, side: Side, n: usize) -> Vec<(Fixed, Fixed)> {
        match side {
            Side::Bid => self
                .bids
                .iter()
                .rev()
                .take(n)
                .map(|(p, l)| (*p, l.total))
                .collect(),
            Side::Ask => self
                .asks
                .iter()
                .take(n)
                .map(|(p, l)| (*p, l.total))
                .collect(),
        }
    }

    /// The price of the `index`-th level from the top of a side.
    pub(crate) fn nth_price(&self, side: Side, index: usize) -> Option<Fixed> {
        match side {
            Side::Bid => self.bids.keys().rev().nth(index).copied(),
            Side::Ask => self.asks.keys().nth(index).copied(),
        }
    }

    /// Adds a resting order at the back of its level's queue. Returns the level's new total.
    pub(crate) fn add(&mut self, side: Side, price: Fixed, qty: Fixed) -> Fixed {
        let level = self.side_mut(side).entry(price).or_default();
        level.total = Fixed(level.total.0 + qty.0);
        level.orders.push_back(Resting { qty });
        level.total
    }

    /// Cancels (part of) the `order`-th resting order of a level. Returns the level's new total.
    pub(crate) fn cancel(&mut self, side: Side, price: Fixed, order: usize, qty: Fixed) -> Fixed {
        let book_side = self.side_mut(side);
        let Some(level) = book_side.get_mut(&price) else {
            return Fixed::ZERO;
        };
        let index = order % level.orders.len().max(1);
        if let Some(resting) = level.orders.get_mut(index) {
            let cut = Fixed(qty.0.min(resting.qty.0));
            resting.qty = Fixed(resting.qty.0 - cut.0);
            level.total = Fixed(level.total.0 - cut.0);
            if resting.qty.is_zero() {
                level.orders.remove(index);
            }
        }
        let total = level.total;
        if level.orders.is_empty() {
            book_side.remove(&price);
        }
        total
    }

    /// Sweeps the `maker` side with a taker quantity, best price first, in time priority.
    ///
    /// Fills are appended to `fills`; the levels touched (with their new totals) to
    /// `touched`. Stops when the quantity is filled or the side is empty.
    pub(crate) fn take(
        &mut self,
        maker: Side,
        mut qty: Fixed,
        fills: &mut Vec<Fill>,
        touched: &mut Vec<(Fixed, Fixed)>,
    ) {
        while qty.0 > 0 {
            let Some(price) = self.nth_price(maker, 0) else {
                break;
            };
            let book_side = self.side_mut(maker);
            let Some(level) = book_side.get_mut(&price) else {
                break;
            };
            while qty.0 > 0 {
                let Some(front) = level.orders.front_mut() else {
                    break;
                };
                let fill = Fixed(front.qty.0.min(qty.0));
                front.qty = Fixed(front.qty.0 - fill.0);
                level.total = Fixed(level.total.0 - fill.0);
                qty = Fixed(qty.0 - fill.0);
                fills.push(Fill { price, qty: fill });
                if front.qty.is_zero() {
                    level.orders.pop_front();
                }
            }
            touched.push((price, level.total));
            if level.orders.is_empty() {
                book_side.remove(&price);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(units: i64) -> Fixed {
        Fixed(units)
    }

    #[test]
    fn taker_fills_in_price_then_time_priority() {
        let mut book = OrderBook::default();
        book.add(Side::Ask, f(101), f(5));
        book.add(Side::Ask, f(100), f(2));
        book.add(Side::Ask, f(100), f(3));
        let (mut fills, mut touched) = (Vec::new(), Vec::new());
        book.take(Side::Ask, f(7), &mut fills, &mut touched);
        assert_eq!(
            fills,
            vec![
                Fill {
                    price: f(100),
                    qty: f(2)
                },
                Fill {
                    price: f(100),
                    qty: f(3)
                },
                Fill {
                    price: f(101),
                    qty: f(2)
                },
            ]
        );
        assert_eq!(touched, vec![(f(100), f(0)), (f(101), f(3))]);
        assert_eq!(book.best_ask(), Some((f(101), f(3))));
    }

    #[test]
    fn cancel_removes_empty_levels() {
        let mut book = OrderBook::default();
        book.add(Side::Bid, f(99), f(4));
        assert_eq!(book.cancel(Side::Bid, f(99), 0, f(1)), f(3));
        assert_eq!(book.cancel(Side::Bid, f(99), 0, f(10)), f(0));
        assert_eq!(book.best_bid(), None);
        assert_eq!(book.cancel(Side::Bid, f(98), 0, f(1)), f(0));
    }

    #[test]
    fn top_is_best_first() {
        let mut book = OrderBook::default();
        for p in [97, 99, 98] {
            book.add(Side::Bid, f(p), f(1));
        }
        for p in [103, 101, 102] {
            book.add(Side::Ask, f(p), f(1));
        }
        assert_eq!(book.top(Side::Bid, 2), vec![(f(99), f(1)), (f(98), f(1))]);
        assert_eq!(book.top(Side::Ask, 2), vec![(f(101), f(1)), (f(102), f(1))]);
    }
}
