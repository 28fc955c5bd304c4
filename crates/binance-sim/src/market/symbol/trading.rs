//! Taking liquidity, and the orders of simulated accounts on the book.
//!
//! Every taker, the market's own or an account's, goes through [`SymbolMarket::sweep`]:
//! it consumes book levels in price-time priority and publishes one `trade` per fill
//! and one `aggTrade` per price level, with contiguous ids, so the public streams
//! cannot tell an account's order from the market's. Fills of accounts' *resting*
//! orders are collected as [`MakerFill`]s for the account ledger to settle.

use std::sync::Arc;

use super::{SymbolMarket, TradeRecord};
use crate::decimal::Fixed;
use crate::market::book::{Fill, Side};
use crate::market::history::AggTradeRecord;
use crate::market::symbol::Interest;
use crate::payload::{AggTradeEvent, Body, Published, TradeEvent, Ts};
use crate::stream::{StreamKind, StreamName};

/// A fill of an account's resting order, by a taker (the market's or an account's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MakerFill {
    /// The resting order's id.
    pub(crate) order_id: u64,
    /// The trade's price.
    pub(crate) price: Fixed,
    /// The quantity filled.
    pub(crate) qty: Fixed,
    /// The public trade id.
    pub(crate) trade_id: u64,
    /// When it traded, ms since the epoch.
    pub(crate) time: u64,
}

/// One fill of an account's taker order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TakerFill {
    /// The trade's price.
    pub(crate) price: Fixed,
    /// The quantity filled.
    pub(crate) qty: Fixed,
    /// The public trade id.
    pub(crate) trade_id: u64,
}

impl SymbolMarket {
    /// Takes up to `qty` from the `maker` side at prices no worse than `limit`,
    /// publishing the trades. The fills are left in `self.fills`, in trade-id order
    /// starting at the `next_trade_id` before the call.
    pub(super) fn sweep(
        &mut self,
        maker: Side,
        qty: Fixed,
        limit: Option<Fixed>,
        now: u64,
        out: &mut Vec<Arc<Published>>,
        interest: &dyn Interest,
    ) {
        let mut fills = std::mem::take(&mut self.fills);
        let mut touched = std::mem::take(&mut self.touched);
        fills.clear();
        touched.clear();
        self.book
            .take_to(maker, qty, limit, &mut fills, &mut touched);
        for &(price, total) in &touched {
            self.record_change(maker, price, total);
        }
        self.publish_fills(&fills, maker == Side::Bid, now, out, interest);
        self.fills = fills;
        self.touched = touched;
    }

    fn publish_fills(
        &mut self,
        fills: &[Fill],
        buyer_maker: bool,
        now: u64,
        out: &mut Vec<Arc<Published>>,
        interest: &dyn Interest,
    ) {
        let trade_stream = StreamName::new(&self.lower, StreamKind::Trade);
        let agg_stream = StreamName::new(&self.lower, StreamKind::AggTrade);
        let want_trades = interest.wants(&trade_stream);
        let want_aggs = interest.wants(&agg_stream);
        let mut i = 0;
        while i < fills.len() {
            let price = fills[i].price;
            let first_trade_id = self.next_trade_id;
            let mut agg_qty = Fixed::ZERO;
            while i < fills.len() && fills[i].price == price {
                let fill = fills[i];
                let trade = TradeRecord {
                    id: self.next_trade_id,
                    price,
                    qty: fill.qty,
                    quote_qty: price.times(fill.qty),
                    time: now,
                    buyer_maker,
                };
                if let Some(order_id) = fill.owner {
                    self.maker_fills.push(MakerFill {
                        order_id,
                        price,
                        qty: fill.qty,
                        trade_id: trade.id,
                        time: now,
                    });
                }
                self.next_trade_id += 1;
                agg_qty = Fixed(agg_qty.0 + fill.qty.0);
                self.trades.push(trade);
                self.candles.record(&trade);
                if want_trades {
                    out.push(Arc::new(Published::new(
                        trade_stream.clone(),
                        Body::Trade(TradeEvent {
                            e: "trade",
                            E: Ts(now),
                            s: self.upper.clone(),
                            t: trade.id,
                            p: price,
                            q: fill.qty,
                            T: Ts(now),
                            m: buyer_maker,
                            M: true,
                        }),
                    )));
                }
                self.last_qty = fill.qty;
                i += 1;
            }
            let agg = AggTradeRecord {
                id: self.next_agg_id,
                price,
                qty: agg_qty,
                first_trade_id,
                last_trade_id: self.next_trade_id - 1,
                time: now,
                buyer_maker,
            };
            self.next_agg_id += 1;
            self.agg_trades.push(agg);
            if want_aggs {
                out.push(Arc::new(Published::new(
                    agg_stream.clone(),
                    Body::AggTrade(AggTradeEvent {
                        e: "aggTrade",
                        E: Ts(now),
                        s: self.upper.clone(),
                        a: agg.id,
                        p: price,
                        q: agg_qty,
                        f: agg.first_trade_id,
                        l: agg.last_trade_id,
                        T: Ts(now),
                        m: buyer_maker,
                        M: true,
                    }),
                )));
            }
            self.last_price = price;
            self.last_trade_time = now;
            self.traded_this_second = true;
        }
    }

    /// The fills an account's taker of `qty` with `limit` would get now, as
    /// (price, quantity) pairs, without changing anything.
    pub(crate) fn preview_take(
        &self,
        taker: Side,
        qty: Fixed,
        limit: Option<Fixed>,
    ) -> Vec<(Fixed, Fixed)> {
        self.book
            .preview(taker.opposite(), qty, limit)
            .into_iter()
            .map(|f| (f.price, f.qty))
            .collect()
    }

    /// An account's taker order: takes up to `qty` on the `taker` side (`Bid` buys)
    /// at prices no worse than `limit`, as one market action (one update id).
    pub(crate) fn account_take(
        &mut self,
        taker: Side,
        qty: Fixed,
        limit: Option<Fixed>,
        now: u64,
        out: &mut Vec<Arc<Published>>,
        interest: &dyn Interest,
    ) -> Vec<TakerFill> {
        self.changed = false;
        let first_trade_id = self.next_trade_id;
        self.sweep(taker.opposite(), qty, limit, now, out, interest);
        let fills = self
            .fills
            .iter()
            .zip(first_trade_id..)
            .map(|(f, trade_id)| TakerFill {
                price: f.price,
                qty: f.qty,
                trade_id,
            })
            .collect();
        self.end_action(out, interest);
        fills
    }

    /// Puts an account's order on the book, behind the orders already at its price.
    pub(crate) fn account_rest(
        &mut self,
        side: Side,
        price: Fixed,
        qty: Fixed,
        order_id: u64,
        out: &mut Vec<Arc<Published>>,
        interest: &dyn Interest,
    ) {
        self.changed = false;
        let total = self.book.add_owned(side, price, qty, Some(order_id));
        self.record_change(side, price, total);
        self.end_action(out, interest);
    }

    /// Takes an account's order off the book; returns the quantity it still had, or
    /// `None` when it is not on the book.
    pub(crate) fn account_cancel(
        &mut self,
        side: Side,
        price: Fixed,
        order_id: u64,
        out: &mut Vec<Arc<Published>>,
        interest: &dyn Interest,
    ) -> Option<Fixed> {
        self.changed = false;
        let (removed, total) = self.book.remove_owned(side, price, order_id)?;
        self.record_change(side, price, total);
        self.end_action(out, interest);
        Some(removed)
    }

    /// True when fills of accounts' resting orders wait to be settled.
    pub(crate) fn has_maker_fills(&self) -> bool {
        !self.maker_fills.is_empty()
    }

    /// The fills of accounts' resting orders since the last call, oldest first.
    pub(crate) fn take_maker_fills(&mut self) -> Vec<MakerFill> {
        std::mem::take(&mut self.maker_fills)
    }
}
