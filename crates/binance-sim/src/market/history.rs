//! What the market remembers: recent trades and aggregate trades by id, and
//! per-second and per-minute candles for klines, tickers and average prices.

use std::collections::{BTreeMap, VecDeque};

use crate::decimal::Fixed;
use crate::stream::KlineInterval;

const SECOND: u64 = 1000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// One trade, as `/trades`, `/historicalTrades` and the `trade` stream show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeRecord {
    /// Trade id, contiguous per symbol.
    pub id: u64,
    /// Price.
    pub price: Fixed,
    /// Base quantity.
    pub qty: Fixed,
    /// Quote quantity (price × qty).
    pub quote_qty: Fixed,
    /// Trade time, ms since the epoch.
    pub time: u64,
    /// True when the buyer was the maker (the taker sold).
    pub buyer_maker: bool,
}

/// One aggregate trade: the fills of one taker order at one price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggTradeRecord {
    /// Aggregate trade id, contiguous per symbol.
    pub id: u64,
    /// Price.
    pub price: Fixed,
    /// Total base quantity.
    pub qty: Fixed,
    /// First trade id.
    pub first_trade_id: u64,
    /// Last trade id.
    pub last_trade_id: u64,
    /// Trade time, ms since the epoch.
    pub time: u64,
    /// True when the buyer was the maker.
    pub buyer_maker: bool,
}

/// A bounded list of records with contiguous ids, oldest first.
#[derive(Debug, Clone)]
pub struct IdRing<T> {
    items: VecDeque<T>,
    capacity: usize,
}

/// Something with a contiguous id and a time.
pub trait Record: Copy {
    /// The record's id.
    fn id(&self) -> u64;
    /// The record's time in ms.
    fn time(&self) -> u64;
}

impl Record for TradeRecord {
    fn id(&self) -> u64 {
        self.id
    }
    fn time(&self) -> u64 {
        self.time
    }
}

impl Record for AggTradeRecord {
    fn id(&self) -> u64 {
        self.id
    }
    fn time(&self) -> u64 {
        self.time
    }
}

impl<T: Record> IdRing<T> {
    /// An empty ring keeping at most `capacity` records.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        IdRing {
            items: VecDeque::with_capacity(capacity.min(1 << 16)),
            capacity: capacity.max(1),
        }
    }

    /// Appends a record, forgetting the oldest when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// The number of records kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The oldest record kept.
    #[must_use]
    pub fn first(&self) -> Option<&T> {
        self.items.front()
    }

    /// The newest record.
    #[must_use]
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    /// The newest `limit` records, oldest first.
    #[must_use]
    pub fn recent(&self, limit: usize) -> Vec<T> {
        let skip = self.items.len().saturating_sub(limit);
        self.items.iter().skip(skip).copied().collect()
    }

    /// Up to `limit` records with id ≥ `from_id`, oldest first. Ids older than what is
    /// kept start at the oldest record kept, so a caller sees the gap in the ids.
    #[must_use]
    pub fn from_id(&self, from_id: u64, limit: usize) -> Vec<T> {
        let Some(first) = self.items.front() else {
            return Vec::new();
        };
        let start = usize::try_from(from_id.saturating_sub(first.id())).unwrap_or(usize::MAX);
        self.items.iter().skip(start).take(limit).copied().collect()
    }

    /// Records by time, per Binance's list rules: with `start`, the oldest from there
    /// (capped at `end`); with only `end`, the newest up to it.
    #[must_use]
    pub fn by_time(&self, start: Option<u64>, end: Option<u64>, limit: usize) -> Vec<T> {
        match (start, end) {
            (Some(start), end) => {
                let first = self.items.partition_point(|r| r.time() < start);
                self.items
                    .iter()
                    .skip(first)
                    .take_while(|r| end.is_none_or(|e| r.time() <= e))
                    .take(limit)
                    .copied()
                    .collect()
            }
            (None, Some(end)) => {
                let past = self.items.partition_point(|r| r.time() <= end);
                let skip = past.saturating_sub(limit);
                self.items
                    .iter()
                    .skip(skip)
                    .take(past - skip)
                    .copied()
                    .collect()
            }
            (None, None) => self.recent(limit),
        }
    }
}

/// A candle of trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle {
    /// Open time, ms.
    pub open_time: u64,
    /// Close time, ms (inclusive).
    pub close_time: u64,
    /// First trade price.
    pub open: Fixed,
    /// Highest price.
    pub high: Fixed,
    /// Lowest price.
    pub low: Fixed,
    /// Last trade price.
    pub close: Fixed,
    /// Base volume.
    pub volume: Fixed,
    /// Quote volume, in 10⁻⁸ units (wider than [`Fixed`]).
    pub quote_volume: i128,
    /// Base volume bought by takers.
    pub taker_buy_volume: Fixed,
    /// Quote volume bought by takers, in 10⁻⁸ units.
    pub taker_buy_quote: i128,
    /// First trade id, or `None` for a candle without trades.
    pub first_trade_id: Option<u64>,
    /// Last trade id, or `None` for a candle without trades.
    pub last_trade_id: Option<u64>,
    /// Number of trades.
    pub count: u64,
}

impl Candle {
    fn empty(open_time: u64, close_time: u64, price: Fixed) -> Self {
        Candle {
            open_time,
            close_time,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: Fixed::ZERO,
            quote_volume: 0,
            taker_buy_volume: Fixed::ZERO,
            taker_buy_quote: 0,
            first_trade_id: None,
            last_trade_id: None,
            count: 0,
        }
    }

    fn add_trade(&mut self, trade: &TradeRecord) {
        if self.count == 0 {
            self.open = trade.price;
            self.high = trade.price;
            self.low = trade.price;
            self.first_trade_id = Some(trade.id);
        }
        self.high = self.high.max(trade.price);
        self.low = self.low.min(trade.price);
        self.close = trade.price;
        self.volume = Fixed(self.volume.0 + trade.qty.0);
        self.quote_volume += i128::from(trade.quote_qty.0);
        if !trade.buyer_maker {
            self.taker_buy_volume = Fixed(self.taker_buy_volume.0 + trade.qty.0);
            self.taker_buy_quote += i128::from(trade.quote_qty.0);
        }
        self.last_trade_id = Some(trade.id);
        self.count += 1;
    }

    fn merge(&mut self, other: &Candle) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.open = other.open;
            self.high = other.high;
            self.low = other.low;
            self.first_trade_id = other.first_trade_id;
        }
        self.high = self.high.max(other.high);
        self.low = self.low.min(other.low);
        self.close = other.close;
        self.volume = Fixed(self.volume.0 + other.volume.0);
        self.quote_volume += other.quote_volume;
        self.taker_buy_volume = Fixed(self.taker_buy_volume.0 + other.taker_buy_volume.0);
        self.taker_buy_quote += other.taker_buy_quote;
        self.last_trade_id = other.last_trade_id;
        self.count += other.count;
    }
}

/// Per-second and per-minute candles, from which every interval and window is built.
#[derive(Debug, Clone)]
pub struct Candles {
    seconds: BTreeMap<u64, Candle>,
    minutes: BTreeMap<u64, Candle>,
    /// The price before the first trade recorded, for empty candles.
    initial_price: Fixed,
}

/// How long per-second candles are kept (enough for 1000 `1s` klines and more).
const KEEP_SECONDS: u64 = 7200 * SECOND;
/// How long per-minute candles are kept (the longest rolling window, 7 days).
const KEEP_MINUTES: u64 = 8 * DAY;

impl Candles {
    /// No candles yet; empty candles are priced at `initial_price`.
    #[must_use]
    pub fn new(initial_price: Fixed) -> Self {
        Candles {
            seconds: BTreeMap::new(),
            minutes: BTreeMap::new(),
            initial_price,
        }
    }

    /// Records a trade.
    pub fn record(&mut self, trade: &TradeRecord) {
        let second = trade.time - trade.time % SECOND;
        let minute = trade.time - trade.time % MINUTE;
        self.seconds
            .entry(second)
            .or_insert_with(|| Candle::empty(second, second + SECOND - 1, trade.price))
            .add_trade(trade);
        self.minutes
            .entry(minute)
            .or_insert_with(|| Candle::empty(minute, minute + MINUTE - 1, trade.price))
            .add_trade(trade);
    }

    /// Forgets candles older than the retention relative to `now`.
    pub fn prune(&mut self, now: u64) {
        let keep_s = now.saturating_sub(KEEP_SECONDS);
        while let Some(entry) = self.seconds.first_entry() {
            if *entry.key() >= keep_s {
                break;
            }
            entry.remove();
        }
        let keep_m = now.saturating_sub(KEEP_MINUTES);
        while let Some(entry) = self.minutes.first_entry() {
            if *entry.key() >= keep_m {
                break;
            }
            entry.remove();
        }
    }

    /// The last price at or before `time`.
    fn price_before(&self, time: u64) -> Fixed {
        self.minutes
            .range(..time)
            .next_back()
            .map_or(self.initial_price, |(_, c)| c.close)
    }

    fn source(&self, interval: KlineInterval) -> &BTreeMap<u64, Candle> {
        if interval == KlineInterval::S1 {
            &self.seconds
        } else {
            &self.minutes
        }
    }

    /// The aggregate of all trades in `[from, to]` (both ms, inclusive), using the
    /// finest candles that cover the range.
    fn aggregate(&self, source: &BTreeMap<u64, Candle>, from: u64, to: u64) -> Candle {
        let mut candle = Candle::empty(from, to, self.price_before(from));
        // A candle without trades carries the last price before it.
        if let Some((_, prev)) = source.range(..from).next_back() {
            candle = Candle::empty(from, to, prev.close);
        }
        for (_, c) in source.range(from..=to) {
            candle.merge(c);
        }
        candle
    }

    /// The candle of `interval` that contains `time`.
    #[must_use]
    pub fn kline_at(&self, interval: KlineInterval, offset_ms: i64, time: u64) -> Candle {
        let open = interval_start(interval, time, offset_ms);
        let close = next_start(interval, open, offset_ms) - 1;
        self.aggregate(self.source(interval), open, close)
    }

    /// Klines per `/api/v3/klines`: oldest first, at most `limit`, within the bounds.
    #[must_use]
    pub fn klines(
        &self,
        interval: KlineInterval,
        offset_ms: i64,
        start: Option<u64>,
        end: Option<u64>,
        limit: usize,
        now: u64,
    ) -> Vec<Candle> {
        let source = self.source(interval);
        let Some(first_time) = source.keys().next().copied() else {
            return Vec::new();
        };
        let first_open = interval_start(interval, first_time, offset_ms);
        let last_open = interval_start(interval, end.unwrap_or(now).min(now), offset_ms);
        let mut opens = Vec::new();
        let mut open = first_open.max(start.map_or(0, |s| interval_start(interval, s, offset_ms)));
        if start.is_none() {
            // The newest `limit`: walk back from the last open.
            let mut o = last_open;
            while opens.len() < limit && o >= first_open {
                opens.push(o);
                if o == 0 {
                    break;
                }
                o = interval_start(interval, o - 1, offset_ms);
            }
            opens.reverse();
        } else {
            while open <= last_open && opens.len() < limit {
                opens.push(open);
                open = next_start(interval, open, offset_ms);
            }
        }
        opens
            .into_iter()
            .map(|o| {
                let close = next_start(interval, o, offset_ms) - 1;
                self.aggregate(source, o, close)
            })
            .collect()
    }

    /// Statistics over a rolling window ending at `now`, per Binance's tickers: the
    /// window starts at `now - window` rounded down to a minute.
    #[must_use]
    pub fn window(&self, window_ms: u64, now: u64) -> WindowStats {
        let start = now.saturating_sub(window_ms);
        let start = start - start % MINUTE;
        let candle = self.aggregate(&self.minutes, start, now);
        WindowStats {
            open_time: start,
            close_time: now,
            prev_close: self.price_before(start),
            candle,
        }
    }
}

/// Statistics of a rolling window, for `ticker`, `ticker_<w>`, `miniTicker` and `/ticker/24hr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowStats {
    /// Window start (rounded down to a minute).
    pub open_time: u64,
    /// Window end (now).
    pub close_time: u64,
    /// The last price before the window.
    pub prev_close: Fixed,
    /// The trades inside the window.
    pub candle: Candle,
}

impl WindowStats {
    /// The volume-weighted average price, or the last price when nothing traded.
    #[must_use]
    pub fn weighted_avg(&self) -> Fixed {
        crate::decimal::ratio(self.candle.quote_volume, i128::from(self.candle.volume.0))
            .unwrap_or(self.candle.close)
    }
}

/// The start of the `interval` period containing `time` (ms), with periods aligned
/// to a time zone `offset_ms` east of UTC (0 for UTC, 8 h for `@+08:00`).
#[must_use]
pub fn interval_start(interval: KlineInterval, time: u64, offset_ms: i64) -> u64 {
    let local = time.saturating_add_signed(offset_ms);
    let start = match interval_len(interval) {
        // 1970-01-01 was a Thursday; weeks start on Monday, three days earlier.
        Some(week) if interval == KlineInterval::W1 => {
            let shifted = local + 3 * DAY;
            (shifted - shifted % week).saturating_sub(3 * DAY)
        }
        Some(len) => local - local % len,
        None => {
            let (y, m, _) = civil_from_days(local / DAY);
            days_from_civil(y, m, 1) * DAY
        }
    };
    start.saturating_add_signed(-offset_ms)
}

/// The start of the period after the one starting at `start`.
#[must_use]
pub fn next_start(interval: KlineInterval, start: u64, offset_ms: i64) -> u64 {
    match interval_len(interval) {
        Some(len) => start + len,
        None => {
            let local = start.saturating_add_signed(offset_ms);
            let (y, m, _) = civil_from_days(local / DAY);
            let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (days_from_civil(y, m, 1) * DAY).saturating_add_signed(-offset_ms)
        }
    }
}

/// The fixed length of an interval, or `None` for calendar months.
#[must_use]
pub const fn interval_len(interval: KlineInterval) -> Option<u64> {
    Some(match interval {
        KlineInterval::S1 => SECOND,
        KlineInterval::M1 => MINUTE,
        KlineInterval::M3 => 3 * MINUTE,
        KlineInterval::M5 => 5 * MINUTE,
        KlineInterval::M15 => 15 * MINUTE,
        KlineInterval::M30 => 30 * MINUTE,
        KlineInterval::H1 => HOUR,
        KlineInterval::H2 => 2 * HOUR,
        KlineInterval::H4 => 4 * HOUR,
        KlineInterval::H6 => 6 * HOUR,
        KlineInterval::H8 => 8 * HOUR,
        KlineInterval::H12 => 12 * HOUR,
        KlineInterval::D1 => DAY,
        KlineInterval::D3 => 3 * DAY,
        KlineInterval::W1 => 7 * DAY,
        KlineInterval::Mo1 => return None,
    })
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: u64) -> (i64, u32, u32) {
    let z = i64::try_from(days).unwrap_or(i64::MAX / 2) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01, Howard Hinnant's algorithm.
fn days_from_civil(y: i64, m: u32, d: u32) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u64::try_from(era * 146_097 + doe - 719_468).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(id: u64, time: u64, price: i64) -> TradeRecord {
        TradeRecord {
            id,
            price: Fixed(price),
            qty: Fixed(100),
            quote_qty: Fixed(price).times(Fixed(100)),
            time,
            buyer_maker: id.is_multiple_of(2),
        }
    }

    #[test]
    fn ring_answers_by_id_and_time() {
        let mut ring = IdRing::new(5);
        for id in 10..20 {
            ring.push(trade(id, id * 100, 1));
        }
        let ids = |v: Vec<TradeRecord>| v.iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(ring.from_id(16, 2)), vec![16, 17]);
        // Older than kept: starts at the oldest kept, so the caller sees the gap.
        assert_eq!(ids(ring.from_id(3, 2)), vec![15, 16]);
        assert!(ring.from_id(25, 2).is_empty());
        assert_eq!(ids(ring.recent(2)), vec![18, 19]);
        assert_eq!(ids(ring.by_time(Some(1650), None, 2)), vec![17, 18]);
        assert_eq!(ids(ring.by_time(None, Some(1700), 2)), vec![16, 17]);
        assert_eq!(ids(ring.by_time(Some(1600), Some(1700), 10)), vec![16, 17]);
    }

    #[test]
    fn calendar_alignment() {
        // 2024-03-15T10:20:30Z = 1710498030000 ms, a Friday.
        let t = 1_710_498_030_000;
        assert_eq!(interval_start(KlineInterval::M1, t, 0), 1_710_498_000_000);
        assert_eq!(interval_start(KlineInterval::D1, t, 0), 1_710_460_800_000);
        // Monday 2024-03-11.
        assert_eq!(interval_start(KlineInterval::W1, t, 0), 1_710_115_200_000);
        // 2024-03-01 and 2024-04-01.
        let march = interval_start(KlineInterval::Mo1, t, 0);
        assert_eq!(march, 1_709_251_200_000);
        assert_eq!(next_start(KlineInterval::Mo1, march, 0), 1_711_929_600_000);
        // UTC+8: the day starts at 16:00 UTC the day before.
        assert_eq!(
            interval_start(KlineInterval::D1, t, 8 * 3_600_000),
            1_710_460_800_000 - 8 * HOUR
        );
    }

    #[test]
    fn candles_aggregate_trades() {
        let mut candles = Candles::new(Fixed(500));
        candles.record(&trade(1, 60_000, 10));
        candles.record(&trade(2, 61_000, 30));
        candles.record(&trade(3, 125_000, 20));
        let k = candles.kline_at(KlineInterval::M1, 0, 60_500);
        assert_eq!(
            (k.open, k.high, k.low, k.close),
            (Fixed(10), Fixed(30), Fixed(10), Fixed(30))
        );
        assert_eq!(
            (k.first_trade_id, k.last_trade_id, k.count),
            (Some(1), Some(2), 2)
        );
        let all = candles.klines(KlineInterval::M1, 0, None, None, 10, 130_000);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].close, Fixed(20));
        let w = candles.window(DAY, 130_000);
        assert_eq!(w.candle.count, 3);
        assert_eq!(w.prev_close, Fixed(500));
    }
}
