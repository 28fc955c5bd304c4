//! One symbol's market: a seeded stream of orders, cancels and takers acting on a
//! real order book, and every stream derived from it.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod trading;

use trading::MakerFill;

use super::book::{Fill, OrderBook, Side};
use super::history::{AggTradeRecord, Candles, IdRing, TradeRecord, WindowStats};
use crate::decimal::Fixed;
use crate::payload::{
    AvgPriceEvent, Body, BookTickerEvent, DepthUpdateEvent, KlineBody, KlineEvent, MiniTickerEvent,
    PartialDepthEvent, Published, RollingTickerEvent, TickerEvent, Ts,
};
use crate::stream::{DepthSpeed, KlineInterval, StreamKind, StreamName, TickerWindow};

/// What one symbol trades like.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolSpec {
    /// The symbol, uppercase (`BTCUSDT`).
    pub symbol: String,
    /// The base asset (`BTC`).
    pub base_asset: String,
    /// The quote asset (`USDT`).
    pub quote_asset: String,
    /// The price the market starts around.
    pub start_price: Fixed,
    /// The price step.
    pub tick_size: Fixed,
    /// The quantity step.
    pub step_size: Fixed,
    /// Market actions (orders, cancels, takers) per second; about a fifth are takers.
    pub actions_per_sec: f64,
}

impl SymbolSpec {
    /// A spec with the given prices; assets are split off the symbol by a known quote asset.
    #[must_use]
    pub fn new(symbol: &str, start_price: Fixed, tick_size: Fixed, step_size: Fixed) -> Self {
        let symbol = symbol.to_uppercase();
        let quote = ["USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB", "EUR", "TRY"]
            .into_iter()
            .find(|q| symbol.len() > q.len() && symbol.ends_with(q))
            .unwrap_or("USDT");
        SymbolSpec {
            base_asset: symbol[..symbol.len() - quote.len()].to_owned(),
            quote_asset: quote.to_owned(),
            symbol,
            start_price,
            tick_size,
            step_size,
            actions_per_sec: 50.0,
        }
    }
}

/// The first ids the simulated market hands out: large, like Binance's.
const FIRST_UPDATE_ID: u64 = 40_000_000_000;
const FIRST_TRADE_ID: u64 = 3_000_000_000;
const FIRST_AGG_ID: u64 = 2_000_000_000;
/// Levels each side keeps at least; below this the market refills that side.
const MIN_LEVELS: usize = 25;
/// Actions one `advance` performs at most, so a stalled clock does not cause a burst.
const MAX_BURST: u64 = 50_000;

/// Changes to the book since the last depth diff of one speed.
#[derive(Debug, Clone, Default)]
struct DiffTracker {
    /// The last update id already covered by a published diff.
    last_u: u64,
    changes: BTreeMap<(Side, Fixed), Fixed>,
    last_event: Option<Arc<Published>>,
}

/// A price level as (price, total quantity).
type Level = (Fixed, Fixed);

/// A one-shot fault on the depth streams of a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthFault {
    /// Drop the next diff of each speed, so subscribers see a sequence gap.
    Gap,
    /// Send the previous diff of each speed again, so subscribers see a duplicate.
    Duplicate,
}

/// The market of one symbol.
#[derive(Debug)]
pub struct SymbolMarket {
    spec: SymbolSpec,
    upper: Arc<str>,
    lower: Box<str>,
    rng: ChaCha8Rng,
    book: OrderBook,
    update_id: u64,
    next_trade_id: u64,
    next_agg_id: u64,
    trades: IdRing<TradeRecord>,
    agg_trades: IdRing<AggTradeRecord>,
    candles: Candles,
    last_price: Fixed,
    last_qty: Fixed,
    last_trade_time: u64,
    diffs: [DiffTracker; 2],
    depth_faults: [Option<DepthFault>; 2],
    best: (Option<Level>, Option<Level>),
    rate_since: u64,
    actions_since: u64,
    actions_per_sec: f64,
    slots: Slots,
    kline_open: BTreeMap<(KlineInterval, bool), u64>,
    traded_this_second: bool,
    fills: Vec<Fill>,
    touched: Vec<(Fixed, Fixed)>,
    /// Whether the current action changed the book (and so takes an update id).
    changed: bool,
    /// Fills of accounts' resting orders, waiting for the account ledger.
    maker_fills: Vec<MakerFill>,
}

/// The last 100 ms, 1 s and 2 s slots that periodic streams were published for.
#[derive(Debug, Clone, Copy, Default)]
struct Slots {
    ms100: u64,
    ms1000: u64,
    ms2000: u64,
}

/// Which streams someone listens to; streams nobody listens to are not rendered.
pub trait Interest {
    /// True when at least one connection is subscribed to `stream`.
    fn wants(&self, stream: &StreamName) -> bool;
}

/// Every stream is wanted (tests of the market itself).
#[derive(Debug, Clone, Copy, Default)]
pub struct Everything;

impl Interest for Everything {
    fn wants(&self, _: &StreamName) -> bool {
        true
    }
}

impl SymbolMarket {
    /// A market seeded with `seed`, with an opening book around the start price and
    /// `warmup_actions` of history ending at `now` (ms since the epoch).
    #[must_use]
    pub fn new(
        spec: SymbolSpec,
        seed: u64,
        retention: usize,
        warmup_actions: u64,
        warmup_span_ms: u64,
        now: u64,
    ) -> Self {
        let mut symbol_seed = seed;
        for b in spec.symbol.bytes() {
            symbol_seed =
                symbol_seed.rotate_left(7) ^ u64::from(b).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        let mut market = SymbolMarket {
            upper: Arc::from(spec.symbol.as_str()),
            lower: spec.symbol.to_lowercase().into_boxed_str(),
            rng: ChaCha8Rng::seed_from_u64(symbol_seed),
            book: OrderBook::default(),
            update_id: FIRST_UPDATE_ID,
            next_trade_id: FIRST_TRADE_ID,
            next_agg_id: FIRST_AGG_ID,
            trades: IdRing::new(retention),
            agg_trades: IdRing::new(retention),
            candles: Candles::new(spec.start_price),
            last_price: spec.start_price,
            last_qty: Fixed::ZERO,
            last_trade_time: now.saturating_sub(warmup_span_ms),
            diffs: Default::default(),
            depth_faults: [None, None],
            best: (None, None),
            rate_since: now,
            actions_since: 0,
            actions_per_sec: spec.actions_per_sec,
            slots: Slots::default(),
            kline_open: BTreeMap::new(),
            traded_this_second: false,
            fills: Vec::new(),
            touched: Vec::new(),
            changed: false,
            maker_fills: Vec::new(),
            spec,
        };
        market.open_book();
        let start = now.saturating_sub(warmup_span_ms);
        for i in 0..warmup_actions {
            let at = start + warmup_span_ms * i / warmup_actions.max(1);
            market.act(at, &mut Vec::new(), &Nothing);
        }
        market.settle_diffs();
        market.best = (market.book.best_bid(), market.book.best_ask());
        market.slots = Slots {
            ms100: now / 100,
            ms1000: now / 1000,
            ms2000: now / 2000,
        };
        market
    }

    /// The symbol, uppercase.
    #[must_use]
    pub fn symbol(&self) -> &str {
        &self.upper
    }

    /// The symbol's spec.
    #[must_use]
    pub fn spec(&self) -> &SymbolSpec {
        &self.spec
    }

    /// The order book.
    #[must_use]
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    /// The id of the last change to the book.
    #[must_use]
    pub fn update_id(&self) -> u64 {
        self.update_id
    }

    /// Trades kept, oldest first.
    #[must_use]
    pub fn trades(&self) -> &IdRing<TradeRecord> {
        &self.trades
    }

    /// Aggregate trades kept, oldest first.
    #[must_use]
    pub fn agg_trades(&self) -> &IdRing<AggTradeRecord> {
        &self.agg_trades
    }

    /// Candles for klines and windows.
    #[must_use]
    pub fn candles(&self) -> &Candles {
        &self.candles
    }

    /// The last trade price.
    #[must_use]
    pub fn last_price(&self) -> Fixed {
        self.last_price
    }

    /// The current action rate.
    #[must_use]
    pub fn actions_per_sec(&self) -> f64 {
        self.actions_per_sec
    }

    /// Changes the action rate from `now` on (0 freezes the market).
    pub fn set_rate(&mut self, actions_per_sec: f64, now: u64) {
        self.actions_per_sec = actions_per_sec.max(0.0);
        self.rate_since = now;
        self.actions_since = 0;
    }

    /// Arms a one-shot fault on the depth diff streams.
    pub fn inject_depth_fault(&mut self, fault: DepthFault) {
        self.depth_faults = [Some(fault), Some(fault)];
    }

    /// Statistics of a rolling window ending at `now`.
    #[must_use]
    pub fn window(&self, window_ms: u64, now: u64) -> WindowStats {
        self.candles.window(window_ms, now)
    }

    /// The five-minute average price, as `avgPrice` reports it.
    #[must_use]
    pub fn avg_price(&self, now: u64) -> Fixed {
        let stats = self.candles.window(5 * 60_000, now);
        crate::decimal::ratio(stats.candle.quote_volume, i128::from(stats.candle.volume.0))
            .unwrap_or(self.last_price)
    }

    /// The time of the last trade.
    #[must_use]
    pub fn last_trade_time(&self) -> u64 {
        self.last_trade_time
    }

    /// Runs the market up to `now`, appending the events of wanted streams to `out`.
    pub fn advance(&mut self, now: u64, interest: &dyn Interest, out: &mut Vec<Arc<Published>>) {
        let elapsed = now.saturating_sub(self.rate_since);
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a non-negative count of actions well below 2^52"
        )]
        let due = (elapsed as f64 * self.actions_per_sec / 1000.0) as u64;
        let todo = due.saturating_sub(self.actions_since).min(MAX_BURST);
        for _ in 0..todo {
            self.act(now, out, interest);
        }
        self.actions_since = due;
        self.periodic(now, interest, out);
        self.candles.prune(now);
    }

    fn open_book(&mut self) {
        let tick = self.spec.tick_size.0.max(1);
        let mid = self.spec.start_price.0 - self.spec.start_price.0 % tick;
        for level in 1..=60_i64 {
            for side in [Side::Bid, Side::Ask] {
                let price = match side {
                    Side::Bid => mid - level * tick,
                    Side::Ask => mid + level * tick,
                };
                if price <= 0 {
                    continue;
                }
                for _ in 0..self.rng.random_range(1..=3) {
                    let qty = self.random_qty(40);
                    self.book.add(side, Fixed(price), qty);
                }
            }
        }
    }

    fn random_qty(&mut self, max_lots: i64) -> Fixed {
        Fixed(self.spec.step_size.0.max(1) * self.rng.random_range(1..=max_lots))
    }

    /// Geometric-ish distance in ticks from the top of the book: mostly near, sometimes far.
    fn random_depth(&mut self) -> i64 {
        let u: f64 = self.rng.random_range(0.0001..1.0);
        #[allow(clippy::cast_possible_truncation, reason = "bounded to 40")]
        let d = (-u.ln() * 4.0).min(40.0) as i64;
        d
    }

    fn record_change(&mut self, side: Side, price: Fixed, total: Fixed) {
        for diff in &mut self.diffs {
            diff.changes.insert((side, price), total);
        }
        self.changed = true;
    }

    /// One market action at time `now`.
    fn act(&mut self, now: u64, out: &mut Vec<Arc<Published>>, interest: &dyn Interest) {
        let roll: f64 = self.rng.random();
        let thin_bids = self.book.depth(Side::Bid) < MIN_LEVELS;
        let thin_asks = self.book.depth(Side::Ask) < MIN_LEVELS;
        self.changed = false;
        if thin_bids || thin_asks || roll < 0.5 {
            let side = if thin_bids && !thin_asks {
                Side::Bid
            } else if thin_asks && !thin_bids {
                Side::Ask
            } else if self.rng.random_bool(0.5) {
                Side::Bid
            } else {
                Side::Ask
            };
            self.add_order(side);
        } else if roll < 0.8 {
            self.cancel_order();
        } else {
            self.take(now, out, interest);
        }
        self.end_action(out, interest);
    }

    /// Gives the action that just changed the book its update id, and publishes
    /// `bookTicker` when the best prices moved.
    fn end_action(&mut self, out: &mut Vec<Arc<Published>>, interest: &dyn Interest) {
        if !self.changed {
            return;
        }
        self.update_id += 1;
        let best = (self.book.best_bid(), self.book.best_ask());
        if best != self.best {
            self.best = best;
            let stream = StreamName::new(&self.lower, StreamKind::BookTicker);
            if let (Some((bid, bid_qty)), Some((ask, ask_qty))) = best
                && interest.wants(&stream)
            {
                out.push(Arc::new(Published::new(
                    stream,
                    Body::BookTicker(BookTickerEvent {
                        u: self.update_id,
                        s: self.upper.clone(),
                        b: bid,
                        B: bid_qty,
                        a: ask,
                        A: ask_qty,
                    }),
                )));
            }
        }
    }

    fn add_order(&mut self, side: Side) {
        let tick = self.spec.tick_size.0.max(1);
        let depth = self.random_depth();
        // Passive: one or more ticks behind the opposite best, never crossing it.
        let price = match side {
            Side::Bid => {
                let ask = self
                    .book
                    .best_ask()
                    .map_or(self.last_price.0 + tick, |(p, _)| p.0);
                ask - tick * (1 + depth)
            }
            Side::Ask => {
                let bid = self
                    .book
                    .best_bid()
                    .map_or(self.last_price.0 - tick, |(p, _)| p.0);
                bid + tick * (1 + depth)
            }
        };
        if price <= 0 {
            return;
        }
        let qty = self.random_qty(60);
        let total = self.book.add(side, Fixed(price), qty);
        self.record_change(side, Fixed(price), total);
    }

    fn cancel_order(&mut self) {
        let side = if self.rng.random_bool(0.5) {
            Side::Bid
        } else {
            Side::Ask
        };
        let index = usize::try_from(self.random_depth()).unwrap_or(0);
        let Some(price) = self.book.nth_price(side, index) else {
            return;
        };
        let order = self.rng.random_range(0..8);
        let qty = if self.rng.random_bool(0.7) {
            Fixed(i64::MAX)
        } else {
            self.random_qty(20)
        };
        let total = self.book.cancel(side, price, order, qty);
        self.record_change(side, price, total);
    }

    fn take(&mut self, now: u64, out: &mut Vec<Arc<Published>>, interest: &dyn Interest) {
        let taker_buys = self.rng.random_bool(0.5);
        let maker = if taker_buys { Side::Ask } else { Side::Bid };
        // Never sweep more than half of the top five levels: the book stays deep.
        let available: i64 = self.book.top(maker, 5).iter().map(|(_, q)| q.0).sum();
        let wanted = self.random_qty(80).0.min(available / 2);
        if wanted <= 0 {
            return;
        }
        self.sweep(maker, Fixed(wanted), None, now, out, interest);
    }

    /// Marks every change so far as published (nothing to publish it to).
    fn settle_diffs(&mut self) {
        for diff in &mut self.diffs {
            diff.changes.clear();
            diff.last_u = self.update_id;
        }
    }

    fn periodic(&mut self, now: u64, interest: &dyn Interest, out: &mut Vec<Arc<Published>>) {
        if now / 100 > self.slots.ms100 {
            self.slots.ms100 = now / 100;
            self.publish_depth(DepthSpeed::Ms100, now, interest, out);
        }
        if now / 1000 > self.slots.ms1000 {
            self.slots.ms1000 = now / 1000;
            self.publish_depth(DepthSpeed::Ms1000, now, interest, out);
            self.publish_tickers(now, interest, out);
            self.publish_klines(now, true, interest, out);
        }
        if now / 2000 > self.slots.ms2000 {
            self.slots.ms2000 = now / 2000;
            self.publish_klines(now, false, interest, out);
        }
    }

    fn publish_depth(
        &mut self,
        speed: DepthSpeed,
        now: u64,
        interest: &dyn Interest,
        out: &mut Vec<Arc<Published>>,
    ) {
        let index = usize::from(speed == DepthSpeed::Ms100);
        let stream = StreamName::new(&self.lower, StreamKind::Depth(speed));
        let wanted = interest.wants(&stream);
        let fault = self.depth_faults[index].take();
        let diff = &mut self.diffs[index];
        if self.update_id > diff.last_u {
            let mut bids = Vec::new();
            let mut asks = Vec::new();
            for (&(side, price), &qty) in &diff.changes {
                match side {
                    Side::Bid => bids.push((price, qty)),
                    Side::Ask => asks.push((price, qty)),
                }
            }
            bids.reverse();
            let event = Arc::new(Published::new(
                stream,
                Body::DepthUpdate(DepthUpdateEvent {
                    e: "depthUpdate",
                    E: Ts(now),
                    s: self.upper.clone(),
                    U: diff.last_u + 1,
                    u: self.update_id,
                    b: bids,
                    a: asks,
                }),
            ));
            diff.changes.clear();
            diff.last_u = self.update_id;
            match fault {
                Some(DepthFault::Gap) => {}
                Some(DepthFault::Duplicate) => {
                    if wanted {
                        out.push(event.clone());
                        out.push(event.clone());
                    }
                }
                None => {
                    if wanted {
                        out.push(event.clone());
                    }
                }
            }
            diff.last_event = Some(event);
        } else if let Some(fault) = fault {
            // Nothing changed in this window: keep the fault for the next one.
            self.depth_faults[index] = Some(fault);
        }
        for levels in [5_u8, 10, 20] {
            let stream = StreamName::new(&self.lower, StreamKind::PartialDepth { levels, speed });
            if interest.wants(&stream) {
                out.push(Arc::new(Published::new(
                    stream,
                    Body::PartialDepth(PartialDepthEvent {
                        last_update_id: self.update_id,
                        bids: self.book.top(Side::Bid, usize::from(levels)),
                        asks: self.book.top(Side::Ask, usize::from(levels)),
                    }),
                )));
            }
        }
    }

    /// The miniTicker payload for the rolling 24 h window ending at `now`.
    #[must_use]
    pub fn mini_ticker(&self, now: u64) -> MiniTickerEvent {
        let w = self.window(24 * 3_600_000, now);
        MiniTickerEvent {
            e: "24hrMiniTicker",
            E: Ts(now),
            s: self.upper.clone(),
            c: w.candle.close,
            o: w.candle.open,
            h: w.candle.high,
            l: w.candle.low,
            v: w.candle.volume,
            q: wide(w.candle.quote_volume),
        }
    }

    /// The rolling-window ticker payload for `window` ending at `now`.
    #[must_use]
    pub fn rolling_ticker(&self, window: TickerWindow, now: u64) -> RollingTickerEvent {
        let w = self.window(window.millis(), now);
        let c = &w.candle;
        RollingTickerEvent {
            e: match window {
                TickerWindow::H1 => "1hTicker",
                TickerWindow::H4 => "4hTicker",
                TickerWindow::D1 => "1dTicker",
            },
            E: Ts(now),
            s: self.upper.clone(),
            p: Fixed(c.close.0 - c.open.0),
            P: crate::decimal::percent_change(c.open, c.close),
            o: c.open,
            h: c.high,
            l: c.low,
            c: c.close,
            w: w.weighted_avg(),
            v: c.volume,
            q: wide(c.quote_volume),
            O: Ts(w.open_time),
            C: Ts(w.close_time),
            F: id_or_minus_one(c.first_trade_id),
            L: id_or_minus_one(c.last_trade_id),
            n: c.count,
        }
    }

    /// The 24 h ticker payload ending at `now`.
    #[must_use]
    pub fn ticker(&self, now: u64) -> TickerEvent {
        let w = self.window(24 * 3_600_000, now);
        let c = &w.candle;
        let (b, bq) = self.book.best_bid().unwrap_or_default();
        let (a, aq) = self.book.best_ask().unwrap_or_default();
        TickerEvent {
            e: "24hrTicker",
            E: Ts(now),
            s: self.upper.clone(),
            p: Fixed(c.close.0 - c.open.0),
            P: crate::decimal::percent_change(c.open, c.close),
            w: w.weighted_avg(),
            x: w.prev_close,
            c: c.close,
            Q: self.last_qty,
            b,
            B: bq,
            a,
            A: aq,
            o: c.open,
            h: c.high,
            l: c.low,
            v: c.volume,
            q: wide(c.quote_volume),
            O: Ts(w.open_time),
            C: Ts(w.close_time),
            F: id_or_minus_one(c.first_trade_id),
            L: id_or_minus_one(c.last_trade_id),
            n: c.count,
        }
    }

    /// Whether the market traded since the last call; resets the flag.
    pub(crate) fn take_traded_flag(&mut self) -> bool {
        std::mem::take(&mut self.traded_this_second)
    }

    fn publish_tickers(
        &mut self,
        now: u64,
        interest: &dyn Interest,
        out: &mut Vec<Arc<Published>>,
    ) {
        let mut push = |stream: StreamName, body: fn(&Self, u64) -> Body| {
            if interest.wants(&stream) {
                out.push(Arc::new(Published::new(stream, body(self, now))));
            }
        };
        push(
            StreamName::new(&self.lower, StreamKind::MiniTicker),
            |m, now| Body::MiniTicker(m.mini_ticker(now)),
        );
        push(
            StreamName::new(&self.lower, StreamKind::Ticker),
            |m, now| Body::Ticker(m.ticker(now)),
        );
        push(
            StreamName::new(&self.lower, StreamKind::RollingTicker(TickerWindow::H1)),
            |m, now| Body::RollingTicker(m.rolling_ticker(TickerWindow::H1, now)),
        );
        push(
            StreamName::new(&self.lower, StreamKind::RollingTicker(TickerWindow::H4)),
            |m, now| Body::RollingTicker(m.rolling_ticker(TickerWindow::H4, now)),
        );
        push(
            StreamName::new(&self.lower, StreamKind::RollingTicker(TickerWindow::D1)),
            |m, now| Body::RollingTicker(m.rolling_ticker(TickerWindow::D1, now)),
        );
        push(
            StreamName::new(&self.lower, StreamKind::AvgPrice),
            |m, now| {
                Body::AvgPrice(AvgPriceEvent {
                    e: "avgPrice",
                    E: Ts(now),
                    s: m.upper.clone(),
                    i: "5m",
                    w: m.avg_price(now),
                    T: Ts(m.last_trade_time),
                })
            },
        );
    }

    fn publish_klines(
        &mut self,
        now: u64,
        one_second: bool,
        interest: &dyn Interest,
        out: &mut Vec<Arc<Published>>,
    ) {
        for interval in KlineInterval::ALL {
            if (interval == KlineInterval::S1) != one_second {
                continue;
            }
            for utc8 in [false, true] {
                let stream = StreamName::new(&self.lower, StreamKind::Kline { interval, utc8 });
                if !interest.wants(&stream) {
                    continue;
                }
                let offset = if utc8 { 8 * 3_600_000 } else { 0 };
                let current = self.candles.kline_at(interval, offset, now);
                let previous_open = self.kline_open.insert((interval, utc8), current.open_time);
                if let Some(open) = previous_open
                    && open < current.open_time
                {
                    // The candle we last reported has closed: send it once more, final.
                    let closed = self.candles.kline_at(interval, offset, open);
                    out.push(Arc::new(self.kline_event(
                        stream.clone(),
                        interval,
                        &closed,
                        true,
                        now,
                    )));
                }
                out.push(Arc::new(
                    self.kline_event(stream, interval, &current, false, now),
                ));
            }
        }
    }

    fn kline_event(
        &self,
        stream: StreamName,
        interval: KlineInterval,
        c: &super::history::Candle,
        closed: bool,
        now: u64,
    ) -> Published {
        Published::new(
            stream,
            Body::Kline(KlineEvent {
                e: "kline",
                E: Ts(now),
                s: self.upper.clone(),
                k: KlineBody {
                    t: Ts(c.open_time),
                    T: Ts(c.close_time),
                    s: self.upper.clone(),
                    i: interval.as_str(),
                    f: id_or_minus_one(c.first_trade_id),
                    L: id_or_minus_one(c.last_trade_id),
                    o: c.open,
                    c: c.close,
                    h: c.high,
                    l: c.low,
                    v: c.volume,
                    n: c.count,
                    x: closed,
                    q: wide(c.quote_volume),
                    V: c.taker_buy_volume,
                    Q: wide(c.taker_buy_quote),
                    B: "0",
                },
            }),
        )
    }
}

/// No stream is wanted (history only, during warm-up).
struct Nothing;

impl Interest for Nothing {
    fn wants(&self, _: &StreamName) -> bool {
        false
    }
}

/// A quote volume in 10⁻⁸ units as a [`Fixed`], saturating at the largest value.
pub(crate) fn wide(units: i128) -> Fixed {
    Fixed(i64::try_from(units).unwrap_or(i64::MAX))
}

fn id_or_minus_one(id: Option<u64>) -> i64 {
    id.and_then(|i| i64::try_from(i).ok()).unwrap_or(-1)
}
