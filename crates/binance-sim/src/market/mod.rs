//! The simulated market: one seeded [`SymbolMarket`] per symbol, advanced by time.
//!
//! The market is sans-IO: it is told the time and answers with the events of the
//! streams someone listens to. The server's tokio task calls [`Market::advance`]
//! every few milliseconds; tests call it with any time they like.

mod book;
mod history;
mod symbol;

use std::sync::Arc;

pub use book::{OrderBook, Side};
pub use history::{
    AggTradeRecord, Candle, Candles, IdRing, Record, TradeRecord, WindowStats, interval_len,
    interval_start, next_start,
};
pub use symbol::{DepthFault, Everything, Interest, SymbolMarket, SymbolSpec};

use crate::payload::{Body, MiniTickerEvent, Published, RollingTickerEvent};
use crate::stream::{StreamKind, StreamName, TickerWindow};

/// Every symbol's market.
#[derive(Debug)]
pub struct Market {
    symbols: Vec<SymbolMarket>,
    last_second: u64,
}

/// How the market is created.
#[derive(Debug, Clone)]
pub struct MarketConfig {
    /// The symbols and how they trade.
    pub symbols: Vec<SymbolSpec>,
    /// The seed: the same seed gives the same sequence of orders, trades and ids.
    pub seed: u64,
    /// Trades and aggregate trades kept per symbol for REST queries.
    pub retention: usize,
    /// Market actions replayed before start, so REST has history from the first request.
    pub warmup_actions: u64,
    /// The span of time the warm-up history covers, ending at start.
    pub warmup_span_ms: u64,
}

impl Market {
    /// Opens every symbol's market at `now` (ms since the epoch).
    #[must_use]
    pub fn new(config: &MarketConfig, now: u64) -> Self {
        Market {
            symbols: config
                .symbols
                .iter()
                .map(|spec| {
                    SymbolMarket::new(
                        spec.clone(),
                        config.seed,
                        config.retention,
                        config.warmup_actions,
                        config.warmup_span_ms,
                        now,
                    )
                })
                .collect(),
            last_second: now / 1000,
        }
    }

    /// Every symbol's market.
    #[must_use]
    pub fn symbols(&self) -> &[SymbolMarket] {
        &self.symbols
    }

    /// One symbol's market, by its uppercase or lowercase name.
    #[must_use]
    pub fn symbol(&self, symbol: &str) -> Option<&SymbolMarket> {
        self.symbols
            .iter()
            .find(|m| m.symbol().eq_ignore_ascii_case(symbol))
    }

    /// Every symbol's market, mutable.
    pub(crate) fn symbols_mut(&mut self) -> &mut [SymbolMarket] {
        &mut self.symbols
    }

    /// One symbol's market, mutable.
    pub fn symbol_mut(&mut self, symbol: &str) -> Option<&mut SymbolMarket> {
        self.symbols
            .iter_mut()
            .find(|m| m.symbol().eq_ignore_ascii_case(symbol))
    }

    /// Runs every market up to `now`, appending the events of wanted streams to `out`.
    pub fn advance(&mut self, now: u64, interest: &dyn Interest, out: &mut Vec<Arc<Published>>) {
        for market in &mut self.symbols {
            market.advance(now, interest, out);
        }
        if now / 1000 > self.last_second {
            self.last_second = now / 1000;
            self.publish_market_wide(now, interest, out);
        }
    }

    /// `!miniTicker@arr` and `!ticker_<w>@arr`: only the symbols that traded in the last second.
    fn publish_market_wide(
        &mut self,
        now: u64,
        interest: &dyn Interest,
        out: &mut Vec<Arc<Published>>,
    ) {
        let changed: Vec<usize> = self
            .symbols
            .iter_mut()
            .enumerate()
            .filter_map(|(i, m)| m.take_traded_flag().then_some(i))
            .collect();
        if changed.is_empty() {
            return;
        }
        let all_mini = StreamName {
            symbol: None,
            kind: StreamKind::AllMiniTickers,
        };
        if interest.wants(&all_mini) {
            let tickers: Vec<MiniTickerEvent> = changed
                .iter()
                .map(|&i| self.symbols[i].mini_ticker(now))
                .collect();
            out.push(Arc::new(Published::new(
                all_mini,
                Body::MiniTickers(tickers),
            )));
        }
        for window in [TickerWindow::H1, TickerWindow::H4, TickerWindow::D1] {
            let stream = StreamName {
                symbol: None,
                kind: StreamKind::AllRollingTickers(window),
            };
            if interest.wants(&stream) {
                let tickers: Vec<RollingTickerEvent> = changed
                    .iter()
                    .map(|&i| self.symbols[i].rolling_ticker(window, now))
                    .collect();
                out.push(Arc::new(Published::new(
                    stream,
                    Body::RollingTickers(tickers),
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::decimal::Fixed;
    use crate::payload::Body;
    use crate::stream::DepthSpeed;

    const T0: u64 = 1_767_225_600_000;

    fn config(seed: u64) -> MarketConfig {
        MarketConfig {
            symbols: crate::config::default_symbols(),
            seed,
            retention: 100_000,
            warmup_actions: 2_000,
            warmup_span_ms: 600_000,
        }
    }

    /// Runs the market for `millis` in 10 ms steps, collecting every event.
    fn run(market: &mut Market, from: u64, millis: u64) -> Vec<Arc<Published>> {
        let mut out = Vec::new();
        for t in (from..from + millis).step_by(10) {
            market.advance(t, &Everything, &mut out);
        }
        out
    }

    fn fingerprint(events: &[Arc<Published>]) -> Vec<String> {
        events
            .iter()
            .map(|e| e.json(crate::payload::TimeUnit::Millisecond).to_owned())
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_market() {
        let mut a = Market::new(&config(7), T0);
        let mut b = Market::new(&config(7), T0);
        let mut c = Market::new(&config(8), T0);
        let (ea, eb, ec) = (
            run(&mut a, T0, 3_000),
            run(&mut b, T0, 3_000),
            run(&mut c, T0, 3_000),
        );
        assert!(ea.len() > 100, "only {} events", ea.len());
        assert_eq!(fingerprint(&ea), fingerprint(&eb));
        assert_ne!(fingerprint(&ea), fingerprint(&ec));
    }

    #[test]
    fn trade_and_agg_trade_ids_are_contiguous() {
        let mut market = Market::new(&config(1), T0);
        let events = run(&mut market, T0, 5_000);
        let mut last_agg: BTreeMap<String, u64> = BTreeMap::new();
        let mut last_trade: BTreeMap<String, u64> = BTreeMap::new();
        for e in &events {
            match &e.body {
                Body::AggTrade(a) => {
                    if let Some(prev) = last_agg.insert(a.s.to_string(), a.a) {
                        assert_eq!(a.a, prev + 1);
                    }
                    assert!(a.f <= a.l);
                }
                Body::Trade(t) => {
                    if let Some(prev) = last_trade.insert(t.s.to_string(), t.t) {
                        assert_eq!(t.t, prev + 1);
                    }
                }
                _ => {}
            }
        }
        assert_eq!(last_agg.len(), 3, "every symbol traded");
        // The history holds the same contiguous ids, ending at the last one streamed.
        for m in market.symbols() {
            let ids: Vec<u64> = m
                .agg_trades()
                .recent(usize::MAX)
                .iter()
                .map(|a| a.id)
                .collect();
            assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
            assert_eq!(ids.last(), last_agg.get(m.symbol()));
        }
    }

    /// A book kept from a snapshot plus the diff stream (PROTOCOL.md §5) equals the
    /// market's own book after every diff.
    #[test]
    fn diffs_replay_the_book_exactly() {
        let mut market = Market::new(&config(3), T0);
        let symbol = "BTCUSDT";
        let snapshot = |m: &Market| {
            let s = m.symbol(symbol).map(|s| {
                let book = s.book();
                let side = |side| {
                    book.top(side, usize::MAX)
                        .into_iter()
                        .collect::<BTreeMap<_, _>>()
                };
                (s.update_id(), side(Side::Bid), side(Side::Ask))
            });
            s.unwrap_or_default()
        };
        let (mut book_id, mut bids, mut asks) = snapshot(&market);
        let mut applied = 0;
        for t in (T0..T0 + 4_000).step_by(10) {
            let mut out = Vec::new();
            market.advance(t, &Everything, &mut out);
            for e in &out {
                let Body::DepthUpdate(d) = &e.body else {
                    continue;
                };
                if d.s.as_ref() != symbol || e.stream.kind != StreamKind::Depth(DepthSpeed::Ms100) {
                    continue;
                }
                assert!(d.u >= book_id);
                assert_eq!(d.U, book_id + 1, "contiguous diffs");
                for (side, levels) in [(&mut bids, &d.b), (&mut asks, &d.a)] {
                    for &(price, qty) in levels {
                        if qty == Fixed::ZERO {
                            side.remove(&price);
                        } else {
                            side.insert(price, qty);
                        }
                    }
                }
                book_id = d.u;
                applied += 1;
                let (id, real_bids, real_asks) = snapshot(&market);
                assert_eq!(id, book_id);
                assert_eq!(bids, real_bids);
                assert_eq!(asks, real_asks);
            }
        }
        assert!(applied > 30, "only {applied} diffs");
    }

    fn eth_diffs(events: &[Arc<Published>]) -> Vec<(u64, u64)> {
        events
            .iter()
            .filter(|e| &*e.stream_name == "ethusdt@depth@100ms")
            .filter_map(|e| match &e.body {
                Body::DepthUpdate(d) => Some((d.U, d.u)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn depth_faults_make_a_gap_or_a_duplicate() {
        let mut market = Market::new(&config(4), T0);
        let before = eth_diffs(&run(&mut market, T0, 1_000));
        let last_u = before.last().map(|d| d.1).unwrap_or_default();
        assert!(last_u > 0, "diffs before the fault");

        if let Some(m) = market.symbol_mut("ETHUSDT") {
            m.inject_depth_fault(DepthFault::Gap);
        }
        let after = eth_diffs(&run(&mut market, T0 + 1_000, 1_000));
        assert!(after[0].0 > last_u + 1, "a gap: {after:?} after u={last_u}");
        assert!(
            after.windows(2).all(|w| w[1].0 == w[0].1 + 1),
            "contiguous again"
        );

        if let Some(m) = market.symbol_mut("ETHUSDT") {
            m.inject_depth_fault(DepthFault::Duplicate);
        }
        let dup = eth_diffs(&run(&mut market, T0 + 2_000, 1_000));
        assert_eq!(
            dup[0], dup[1],
            "the first diff after the fault is sent twice"
        );
        assert!(dup[2..].windows(2).all(|w| w[1].0 == w[0].1 + 1));
    }
}
