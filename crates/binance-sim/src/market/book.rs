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
    /// The order id of a simulated account's order; `None` for the market's own orders.
    pub(crate) owner: Option<u64>,
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
    /// The resting order's owner (an account's order id), if any.
    pub(crate) owner: Option<u64>,
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
        self.add_owned(side, price, qty, None)
    }

    /// Adds a resting order of `owner` (or the market's, for `None`) at the back of its
    /// level's queue. Returns the level's new total.
    pub(crate) fn add_owned(
        &mut self,
        side: Side,
        price: Fixed,
        qty: Fixed,
        owner: Option<u64>,
    ) -> Fixed {
        let level = self.side_mut(side).entry(price).or_default();
        level.total = Fixed(level.total.0 + qty.0);
        level.orders.push_back(Resting { qty, owner });
        level.total
    }

    /// Removes `owner`'s resting order from a level. Returns the quantity it still had
    /// and the level's new total, or `None` when the order is not there.
    pub(crate) fn remove_owned(
        &mut self,
        side: Side,
        price: Fixed,
        owner: u64,
    ) -> Option<(Fixed, Fixed)> {
        let book_side = self.side_mut(side);
        let level = book_side.get_mut(&price)?;
        let index = level.orders.iter().position(|o| o.owner == Some(owner))?;
        let removed = level.orders.remove(index)?.qty;
        level.total = Fixed(level.total.0 - removed.0);
        let total = level.total;
        if level.orders.is_empty() {
            book_side.remove(&price);
        }
        Some((removed, total))
    }

    /// Cancels (part of) the `order`-th resting order of a level. Returns the level's new total.
    ///
    /// The market never cancels an account's order: when the chosen order has an owner,
    /// nothing changes.
    pub(crate) fn cancel(&mut self, side: Side, price: Fixed, order: usize, qty: Fixed) -> Fixed {
        let book_side = self.side_mut(side);
        let Some(level) = book_side.get_mut(&price) else {
            return Fixed::ZERO;
        };
        let index = order % level.orders.len().max(1);
        if let Some(resting) = level.orders.get_mut(index)
            && resting.owner.is_none()
        {
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
    /// Only prices no worse than `limit` for the taker are taken (at most `limit` when
    /// taking asks, at least `limit` when taking bids; `None` takes any price).
    pub(crate) fn take_to(
        &mut self,
        maker: Side,
        mut qty: Fixed,
        limit: Option<Fixed>,
        fills: &mut Vec<Fill>,
        touched: &mut Vec<(Fixed, Fixed)>,
    ) {
        while qty.0 > 0 {
            let Some(price) = self.nth_price(maker, 0) else {
                break;
            };
            if !within(maker, price, limit) {
                break;
            }
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
                fills.push(Fill {
                    price,
                    qty: fill,
                    owner: front.owner,
                });
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

/// True when a taker with `limit` may trade at `price` against the `maker` side.
fn within(maker: Side, price: Fixed, limit: Option<Fixed>) -> bool {
    match (maker, limit) {
        (_, None) => true,
        (Side::Ask, Some(limit)) => price <= limit,
        (Side::Bid, Some(limit)) => price >= limit,
    }
}

impl OrderBook {
    /// The fills a taker of `qty` with `limit` would get, without changing the book.
    pub(crate) fn preview(&self, maker: Side, mut qty: Fixed, limit: Option<Fixed>) -> Vec<Fill> {
        let mut fills = Vec::new();
        let levels: Box<dyn Iterator<Item = (&Fixed, &Level)>> = match maker {
            Side::Bid => Box::new(self.bids.iter().rev()),
            Side::Ask => Box::new(self.asks.iter()),
        };
        for (&price, level) in levels {
            if qty.0 <= 0 || !within(maker, price, limit) {
                break;
            }
            for resting in &level.orders {
                if qty.0 <= 0 {
                    break;
                }
                let fill = Fixed(resting.qty.0.min(qty.0));
                qty = Fixed(qty.0 - fill.0);
                fills.push(Fill {
                    price,
                    qty: fill,
                    owner: resting.owner,
                });
            }
        }
        fills
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
        book.take_to(Side::Ask, f(7), None, &mut fills, &mut touched);
        assert_eq!(
            fills,
            vec![
                Fill {
                    price: f(100),
                    qty: f(2),
                    owner: None
                },
                Fill {
                    price: f(100),
                    qty: f(3),
                    owner: None
                },
                Fill {
                    price: f(101),
                    qty: f(2),
                    owner: None
                },
            ]
        );
        assert_eq!(touched, vec![(f(100), f(0)), (f(101), f(3))]);
        assert_eq!(book.best_ask(), Some((f(101), f(3))));
    }

    #[test]
    fn owned_orders_fill_in_queue_and_are_never_cancelled_by_the_market() {
        let mut book = OrderBook::default();
        book.add(Side::Ask, f(100), f(2));
        book.add_owned(Side::Ask, f(100), f(3), Some(7));
        book.add(Side::Ask, f(102), f(5));
        // The market's random cancel that lands on the account's order does nothing.
        assert_eq!(book.cancel(Side::Ask, f(100), 1, f(10)), f(5));
        let preview = book.preview(Side::Ask, f(4), Some(f(101)));
        let (mut fills, mut touched) = (Vec::new(), Vec::new());
        book.take_to(Side::Ask, f(9), Some(f(101)), &mut fills, &mut touched);
        assert_eq!(fills.len(), 2, "stops at the limit: {fills:?}");
        assert_eq!(fills[1].owner, Some(7));
        assert_eq!(preview.iter().map(|x| x.qty.0).sum::<i64>(), 4);
        assert_eq!(book.best_ask(), Some((f(102), f(5))));
        // Removing an order that is not there changes nothing.
        assert_eq!(book.remove_owned(Side::Ask, f(102), 7), None);
        book.add_owned(Side::Bid, f(90), f(4), Some(9));
        book.add(Side::Bid, f(90), f(1));
        assert_eq!(book.remove_owned(Side::Bid, f(90), 9), Some((f(4), f(1))));
        assert_eq!(book.best_bid(), Some((f(90), f(1))));
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
