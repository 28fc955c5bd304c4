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
