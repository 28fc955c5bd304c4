//! One function per endpoint: read and validate the parameters, then answer from the market.
//!
//! Handlers are synchronous and run with the market locked, so every answer is one
//! consistent snapshot (a `/depth` book and its `lastUpdateId` belong together). They build a
//! [`Reply`] of owned data; serialisation happens after the lock is released.
//!
//! Each handler reads *all* of its parameters first (format errors: -1100, -1102, -1105,
//! -1108, -1120, -1122, -1130, -1139, -1151), then calls [`Params::finish`] (-1104 for
//! parameters it does not know), then checks combinations (-1128) and looks symbols up (-1121).

use std::sync::Arc;

use super::body::{
    AggTrade, AvgPrice, BookTicker, Depth, Empty, ExchangeInfo, Filter, Kline, MiniTicker,
    OneOrMany, PriceTicker, RateLimit, Reply, RollingTicker, ServerTime, Shaped, SymbolInfo,
    Ticker24hr, Trade,
};
use super::endpoint::Endpoint;
use super::params::{ApiError, Params, Presence, parse_string_array};
use crate::config::SimConfig;
use crate::decimal::{Fixed, SCALE};
use crate::market::{Market, Side, SymbolMarket, TradeRecord, WindowStats};
use crate::payload::Ts;
use crate::stream::KlineInterval;

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

/// Answers one request for `endpoint` at `now` (ms since the epoch).
///
/// # Errors
/// The Binance error for the first problem found in the parameters.
pub(crate) fn handle(
    endpoint: Endpoint,
    params: &mut Params,
    market: &Market,
    config: &SimConfig,
    now: u64,
) -> Result<Reply, ApiError> {
    match endpoint {
        Endpoint::Ping => {
            params.finish()?;
            Ok(Reply::Empty(Empty {}))
        }
        Endpoint::Time => {
            params.finish()?;
            Ok(Reply::Time(ServerTime {
                server_time: Ts(now),
            }))
        }
        Endpoint::ExchangeInfo => exchange_info(params, market, config, now),
        Endpoint::Depth => depth(params, market),
        Endpoint::Trades => trades(params, market, History::Recent),
        Endpoint::HistoricalTrades => trades(params, market, History::FromId),
        Endpoint::AggTrades => agg_trades(params, market),
        Endpoint::Klines | Endpoint::UiKlines => klines(params, market, now),
        Endpoint::AvgPrice => avg_price(params, market, now),
        Endpoint::Ticker24hr => ticker_24hr(params, market, now),
        Endpoint::TickerPrice => price_ticker(params, market),
        Endpoint::BookTicker => book_ticker(params, market),
        Endpoint::RollingTicker => rolling_ticker(params, market, now),
        // Signed endpoints are answered by `signed`, never here.
        Endpoint::Order | Endpoint::Account | Endpoint::OpenOrders | Endpoint::MyTrades => {
            Err(ApiError::bad(
                -1000,
                "An unknown error occurred while processing the request.",
            ))
        }
    }
}

/// The `symbolStatus` filter. Every simulated symbol is `TRADING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Trading,
    /// `HALT` or `BREAK`: no simulated symbol has these.
    NotTrading,
}

fn read_status(params: &mut Params) -> Result<Option<Status>, ApiError> {
    match params.text("symbolStatus", Presence::Optional)?.as_deref() {
        None => Ok(None),
        Some("TRADING") => Ok(Some(Status::Trading)),
        Some("HALT" | "BREAK") => Ok(Some(Status::NotTrading)),
        Some(_) => Err(ApiError::bad_symbol_status()),
    }
}

fn status_matches(status: Option<Status>) -> bool {
    status.is_none_or(|s| s == Status::Trading)
}

fn required_symbol(params: &mut Params) -> Result<String, ApiError> {
    params
        .symbol("symbol", Presence::Mandatory)?
        .ok_or_else(|| ApiError::mandatory("symbol"))
}

fn find<'m>(market: &'m Market, symbol: &str) -> Result<&'m SymbolMarket, ApiError> {
    market
        .symbols()
        .iter()
        .find(|m| m.symbol() == symbol)
        .ok_or_else(ApiError::bad_symbol)
}

/// The symbols a multi-symbol endpoint was asked for.
enum Selection<'m> {
    /// `symbol=…`: answer with an object.
    One(&'m SymbolMarket),
    /// `symbols=[…]` or none: answer with an array.
    Many(Vec<&'m SymbolMarket>),
}

/// Resolves `symbol` / `symbols` (already read) against the market; neither means all.
fn select<'m>(
    market: &'m Market,
    symbol: Option<String>,
    symbols: Option<Vec<String>>,
    status: Option<Status>,
) -> Result<Selection<'m>, ApiError> {
    match (symbol, symbols) {
        (Some(_), Some(_)) => Err(ApiError::bad_combination()),
        (Some(symbol), None) => {
            let m = find(market, &symbol)?;
            if status_matches(status) {
                Ok(Selection::One(m))
            } else {
                Err(ApiError::status_mismatch())
            }
        }
        (None, Some(list)) => {
            let found = list
                .iter()
                .map(|s| find(market, s))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Selection::Many(
                found
                    .into_iter()
                    .filter(|_| status_matches(status))
                    .collect(),
            ))
        }
        (None, None) => Ok(Selection::Many(
            market
                .symbols()
                .iter()
                .filter(|_| status_matches(status))
                .collect(),
        )),
    }
}

impl<'m> Selection<'m> {
    fn map<T>(self, f: impl Fn(&'m SymbolMarket) -> T) -> OneOrMany<T> {
        match self {
            Selection::One(m) => OneOrMany::One(f(m)),
            Selection::Many(list) => OneOrMany::Many(list.into_iter().map(f).collect()),
        }
    }
}

/// The order types every simulated symbol lists (as the fixture's).
const ORDER_TYPES: &[&str] = &[
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT_LIMIT",
];
const PERMISSION_SET: &[&str] = &["SPOT", "MARGIN"];
const STP_MODES: &[&str] = &[
    "NONE",
    "EXPIRE_TAKER",
    "EXPIRE_MAKER",
    "EXPIRE_BOTH",
    "DECREMENT",
];

fn is_permission(text: &str) -> bool {
    matches!(text, "SPOT" | "MARGIN" | "LEVERAGED")
        || text
            .strip_prefix("TRD_GRP_")
            .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

fn exchange_info(
    params: &mut Params,
    market: &Market,
    config: &SimConfig,
    now: u64,
) -> Result<Reply, ApiError> {
    let symbol = params.symbol("symbol", Presence::Optional)?;
    let symbols = params.symbols()?;
    let permissions = match params.text("permissions", Presence::Optional)? {
        None => None,
        Some(text) if text.starts_with('[') => Some(
            parse_string_array(&text, is_permission)
                .filter(|list| !list.is_empty())
                .ok_or_else(|| ApiError::invalid("permissions"))?,
        ),
        Some(text) if is_permission(&text) => Some(vec![text]),
        Some(_) => return Err(ApiError::invalid("permissions")),
    };
    let status = read_status(params)?;
    let show_permission_sets = match params
        .text("showPermissionSets", Presence::Optional)?
        .as_deref()
    {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(ApiError::invalid("showPermissionSets")),
    };
    params.finish()?;
    let named = symbol.is_some() || symbols.is_some();
    if named && (permissions.is_some() || status.is_some()) {
        return Err(ApiError::bad_combination());
    }
    let chosen: Vec<&SymbolMarket> = match select(market, symbol, symbols, None)? {
        Selection::One(m) => vec![m],
        Selection::Many(list) => list,
    };
    let symbols = chosen
        .into_iter()
        .filter(|_| status_matches(status))
        .filter(|_| {
            permissions
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|p| PERMISSION_SET.contains(&p.as_str())))
        })
        .map(|m| symbol_info(m, show_permission_sets))
        .collect();
    Ok(Reply::ExchangeInfo(ExchangeInfo {
        timezone: "UTC",
        server_time: Ts(now),
        rate_limits: vec![
            RateLimit {
                rate_limit_type: "REQUEST_WEIGHT",
                interval: "MINUTE",
                interval_num: 1,
                limit: config.rest.weight_per_minute,
            },
            RateLimit {
                rate_limit_type: "ORDERS",
                interval: "SECOND",
                interval_num: 10,
                limit: 50,
            },
            RateLimit {
                rate_limit_type: "ORDERS",
                interval: "DAY",
                interval_num: 1,
                limit: 160_000,
            },
            RateLimit {
                rate_limit_type: "RAW_REQUESTS",
                interval: "MINUTE",
                interval_num: 5,
                limit: 300_000,
            },
        ],
        exchange_filters: Vec::new(),
        symbols,
    }))
}

fn symbol_info(m: &SymbolMarket, show_permission_sets: bool) -> SymbolInfo {
    let spec = m.spec();
    let tick = spec.tick_size.0.max(1);
    // Room for any price the random walk can reach: a hundred times the start price.
    let max_price = spec.start_price.0.saturating_mul(100);
    let max_price = Fixed((max_price - max_price % tick).max(tick));
    let max_qty = 100_000 * SCALE;
    let step = spec.step_size.0.max(1);
    SymbolInfo {
        symbol: spec.symbol.clone(),
        status: "TRADING",
        base_asset: spec.base_asset.clone(),
        base_asset_precision: 8,
        quote_asset: spec.quote_asset.clone(),
        quote_precision: 8,
        quote_asset_precision: 8,
        base_commission_precision: 8,
        quote_commission_precision: 8,
        order_types: ORDER_TYPES,
        iceberg_allowed: true,
        oco_allowed: true,
        oto_allowed: true,
        opo_allowed: true,
        quote_order_qty_market_allowed: true,
        allow_trailing_stop: true,
        cancel_replace_allowed: true,
        amend_allowed: true,
        peg_instructions_allowed: true,
        is_spot_trading_allowed: true,
        is_margin_trading_allowed: true,
        filters: vec![
            Filter::Price {
                min_price: spec.tick_size,
                max_price,
                tick_size: spec.tick_size,
            },
            Filter::LotSize {
                min_qty: spec.step_size,
                max_qty: Fixed((max_qty - max_qty % step).max(step)),
                step_size: spec.step_size,
            },
        ],
        permissions: Vec::new(),
        permission_sets: if show_permission_sets {
            vec![PERMISSION_SET]
        } else {
            Vec::new()
        },
        default_self_trade_prevention_mode: "EXPIRE_MAKER",
        allowed_self_trade_prevention_modes: STP_MODES,
    }
}

fn depth(params: &mut Params, market: &Market) -> Result<Reply, ApiError> {
    let symbol = required_symbol(params)?;
    let limit = params.limit(100, 5000)?;
    let status = read_status(params)?;
    params.finish()?;
    let m = find(market, &symbol)?;
    if !status_matches(status) {
        return Err(ApiError::status_mismatch());
    }
    Ok(Reply::Depth(Depth {
        last_update_id: m.update_id(),
        bids: m.book().top(Side::Bid, limit),
        asks: m.book().top(Side::Ask, limit),
    }))
}

/// Which trades `/trades` and `/historicalTrades` answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum History {
    /// `/trades`: the most recent only.
    Recent,
    /// `/historicalTrades`: from `fromId` when sent.
    FromId,
}

fn trade_row(t: &TradeRecord) -> Trade {
    Trade {
        id: t.id,
        price: t.price,
        qty: t.qty,
        quote_qty: t.quote_qty,
        time: Ts(t.time),
        is_buyer_maker: t.buyer_maker,
        is_best_match: true,
    }
}

fn trades(params: &mut Params, market: &Market, history: History) -> Result<Reply, ApiError> {
    let symbol = required_symbol(params)?;
    let limit = params.limit(500, 1000)?;
    let from_id = match history {
        History::FromId => params.number("fromId")?,
        History::Recent => None,
    };
    params.finish()?;
    let ring = find(market, &symbol)?.trades();
    let records = match from_id {
        Some(id) => ring.from_id(id, limit),
        None => ring.recent(limit),
    };
    Ok(Reply::Trades(records.iter().map(trade_row).collect()))
}

fn agg_trades(params: &mut Params, market: &Market) -> Result<Reply, ApiError> {
    let symbol = required_symbol(params)?;
    let from_id = params.number("fromId")?;
    let start = params.time("startTime")?;
    let end = params.time("endTime")?;
    let limit = params.limit(500, 1000)?;
    params.finish()?;
    if from_id.is_some() && (start.is_some() || end.is_some()) {
        return Err(ApiError::bad_combination());
    }
    let ring = find(market, &symbol)?.agg_trades();
    let records = match from_id {
        Some(id) => ring.from_id(id, limit),
        None => ring.by_time(start, end, limit),
    };
    Ok(Reply::AggTrades(
        records
            .iter()
            .map(|r| AggTrade {
                a: r.id,
                p: r.price,
                q: r.qty,
                f: r.first_trade_id,
                l: r.last_trade_id,
                T: Ts(r.time),
                m: r.buyer_maker,
                M: true,
            })
            .collect(),
    ))
}

/// Parses a kline `timeZone` (`0`, `8`, `-1:00`, `05:45`, `+14:00`) into ms east of UTC;
/// the accepted range is [-12:00, +14:00].
pub(crate) fn parse_time_zone(text: &str) -> Option<i64> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, text),
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return None,
        None => (rest, "00"),
    };
    let digits = |s: &str, max_len: usize| {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (hours, minutes) = (digits(hours, 2)?, digits(minutes, 2)?);
    if minutes >= 60 {
        return None;
    }
    let total = sign * (hours * 60 + minutes);
    (-12 * 60..=14 * 60)
        .contains(&total)
        .then_some(total * 60_000)
}

/// A quote volume in 10⁻⁸ units as a [`Fixed`], saturating.
fn wide(units: i128) -> Fixed {
    Fixed(i64::try_from(units).unwrap_or(if units < 0 { i64::MIN } else { i64::MAX }))
}

fn id_or_minus_one(id: Option<u64>) -> i64 {
    id.and_then(|i| i64::try_from(i).ok()).unwrap_or(-1)
}

fn klines(params: &mut Params, market: &Market, now: u64) -> Result<Reply, ApiError> {
    let symbol = required_symbol(params)?;
    let interval = params
        .text("interval", Presence::Mandatory)?
        .ok_or_else(|| ApiError::mandatory("interval"))?;
    let interval = KlineInterval::parse(&interval).ok_or_else(ApiError::bad_interval)?;
    let start = params.time("startTime")?;
    let end = params.time("endTime")?;
    let offset = match params.text("timeZone", Presence::Optional)? {
        None => 0,
        Some(text) => parse_time_zone(&text).ok_or_else(|| ApiError::invalid("timeZone"))?,
    };
    let limit = params.limit(500, 1000)?;
    params.finish()?;
    let m = find(market, &symbol)?;
    let rows = m
        .candles()
        .klines(interval, offset, start, end, limit, now)
        .into_iter()
        .map(|c| -> Kline {
            (
                Ts(c.open_time),
                c.open,
                c.high,
                c.low,
                c.close,
                c.volume,
                Ts(c.close_time),
                wide(c.quote_volume),
                c.count,
                c.taker_buy_volume,
                wide(c.taker_buy_quote),
                "0",
            )
        })
        .collect();
    Ok(Reply::Klines(rows))
}

fn avg_price(params: &mut Params, market: &Market, now: u64) -> Result<Reply, ApiError> {
    let symbol = required_symbol(params)?;
    params.finish()?;
    let m = find(market, &symbol)?;
    Ok(Reply::AvgPrice(AvgPrice {
        mins: 5,
        price: m.avg_price(now),
        close_time: Ts(m.last_trade_time()),
    }))
}

/// `type`: `FULL` (default) or `MINI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Full,
    Mini,
}

fn read_shape(params: &mut Params) -> Result<Shape, ApiError> {
    match params.text("type", Presence::Optional)?.as_deref() {
        None | Some("FULL") => Ok(Shape::Full),
        Some("MINI") => Ok(Shape::Mini),
        Some(_) => Err(ApiError::bad_ticker_type()),
    }
}

fn mini(symbol: Arc<str>, w: &WindowStats) -> MiniTicker {
    let c = &w.candle;
    MiniTicker {
        symbol,
        open_price: c.open,
        high_price: c.high,
        low_price: c.low,
        last_price: c.close,
        volume: c.volume,
        quote_volume: wide(c.quote_volume),
        open_time: Ts(w.open_time),
        close_time: Ts(w.close_time),
        first_id: id_or_minus_one(c.first_trade_id),
        last_id: id_or_minus_one(c.last_trade_id),
        count: c.count,
    }
}

fn ticker_24hr(params: &mut Params, market: &Market, now: u64) -> Result<Reply, ApiError> {
    let symbol = params.symbol("symbol", Presence::Optional)?;
    let symbols = params.symbols()?;
    let shape = read_shape(params)?;
    let status = read_status(params)?;
    params.finish()?;
    let selection = select(market, symbol, symbols, status)?;
    Ok(Reply::Ticker24hr(selection.map(|m| {
        let t = m.ticker(now);
        match shape {
            Shape::Mini => Shaped::Mini(MiniTicker {
                symbol: t.s,
                open_price: t.o,
                high_price: t.h,
                low_price: t.l,
                last_price: t.c,
                volume: t.v,
                quote_volume: t.q,
                open_time: t.O,
                close_time: t.C,
                first_id: t.F,
                last_id: t.L,
                count: t.n,
            }),
            Shape::Full => Shaped::Full(Ticker24hr {
                symbol: t.s,
                price_change: t.p,
                price_change_percent: t.P,
                weighted_avg_price: t.w,
                prev_close_price: t.x,
                last_price: t.c,
                last_qty: t.Q,
                bid_price: t.b,
                bid_qty: t.B,
                ask_price: t.a,
                ask_qty: t.A,
                open_price: t.o,
                high_price: t.h,
                low_price: t.l,
                volume: t.v,
                quote_volume: t.q,
                open_time: t.O,
                close_time: t.C,
                first_id: t.F,
                last_id: t.L,
                count: t.n,
            }),
        }
    })))
}

fn price_ticker(params: &mut Params, market: &Market) -> Result<Reply, ApiError> {
    let symbol = params.symbol("symbol", Presence::Optional)?;
    let symbols = params.symbols()?;
    let status = read_status(params)?;
    params.finish()?;
    let selection = select(market, symbol, symbols, status)?;
    Ok(Reply::Price(selection.map(|m| PriceTicker {
        symbol: Arc::from(m.symbol()),
        price: m.last_price(),
    })))
}

fn book_ticker(params: &mut Params, market: &Market) -> Result<Reply, ApiError> {
    let symbol = params.symbol("symbol", Presence::Optional)?;
    let symbols = params.symbols()?;
    let status = read_status(params)?;
    params.finish()?;
    let selection = select(market, symbol, symbols, status)?;
    Ok(Reply::BookTicker(selection.map(|m| {
        let (bid_price, bid_qty) = m.book().best_bid().unwrap_or_default();
        let (ask_price, ask_qty) = m.book().best_ask().unwrap_or_default();
        BookTicker {
            symbol: Arc::from(m.symbol()),
            bid_price,
            bid_qty,
            ask_price,
            ask_qty,
        }
    })))
}

/// Parses a rolling `windowSize` (`1m`–`59m`, `1h`–`23h`, `1d`–`7d`) into ms.
pub(crate) fn parse_window(text: &str) -> Option<u64> {
    let split = text.len().checked_sub(1)?;
    let (number, unit) = (text.get(..split)?, text.get(split..)?);
    if number.is_empty() || number.len() > 2 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = number.parse().ok()?;
    let (max, unit_ms) = match unit {
        "m" => (59, MINUTE_MS),
        "h" => (23, HOUR_MS),
        "d" => (7, DAY_MS),
        _ => return None,
    };
    (1..=max).contains(&n).then_some(n * unit_ms)
}

/// Symbols `/ticker` accepts in one request.
const MAX_ROLLING_SYMBOLS: usize = 100;

fn rolling_ticker(params: &mut Params, market: &Market, now: u64) -> Result<Reply, ApiError> {
    let symbol = params.symbol("symbol", Presence::Optional)?;
    let symbols = params.symbols()?;
    let window = match params.text("windowSize", Presence::Optional)? {
        None => DAY_MS,
        Some(text) => parse_window(&text).ok_or_else(|| ApiError::invalid("windowSize"))?,
    };
    let shape = read_shape(params)?;
    let status = read_status(params)?;
    params.finish()?;
    match (&symbol, &symbols) {
        (None, None) => {
            return Err(ApiError::bad(
                -1102,
                "Param 'symbol' or 'symbols' must be sent, but both were empty/null!",
            ));
        }
        (None, Some(list)) if list.len() > MAX_ROLLING_SYMBOLS => {
            return Err(ApiError::bad(
                -1101,
                format!(
                    "Too many parameters; expected '{MAX_ROLLING_SYMBOLS}' and received '{}'.",
                    list.len()
                ),
            ));
        }
        _ => {}
    }
    let selection = select(market, symbol, symbols, status)?;
    Ok(Reply::RollingTicker(selection.map(|m| {
        let w = m.window(window, now);
        let symbol: Arc<str> = Arc::from(m.symbol());
        match shape {
            Shape::Mini => Shaped::Mini(mini(symbol, &w)),
            Shape::Full => {
                let c = &w.candle;
                Shaped::Full(RollingTicker {
                    symbol,
                    price_change: Fixed(c.close.0.saturating_sub(c.open.0)),
                    price_change_percent: crate::decimal::percent_change(c.open, c.close),
                    weighted_avg_price: w.weighted_avg(),
                    open_price: c.open,
                    high_price: c.high,
                    low_price: c.low,
                    last_price: c.close,
                    volume: c.volume,
                    quote_volume: wide(c.quote_volume),
                    open_time: Ts(w.open_time),
                    close_time: Ts(w.close_time),
                    first_id: id_or_minus_one(c.first_trade_id),
                    last_id: id_or_minus_one(c.last_trade_id),
                    count: c.count,
                })
            }
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones() {
        assert_eq!(parse_time_zone("0"), Some(0));
        assert_eq!(parse_time_zone("8"), Some(8 * 3_600_000));
        assert_eq!(parse_time_zone("+08:00"), Some(8 * 3_600_000));
        assert_eq!(parse_time_zone("-1:00"), Some(-3_600_000));
        assert_eq!(parse_time_zone("05:45"), Some((5 * 60 + 45) * 60_000));
        assert_eq!(parse_time_zone("-12:00"), Some(-12 * 3_600_000));
        assert_eq!(parse_time_zone("14"), Some(14 * 3_600_000));
        for bad in [
            "", "-", "+", "15", "-12:01", "14:01", "1:5", "1:60", "abc", "1.5", "123", " 8", "８",
        ] {
            assert_eq!(parse_time_zone(bad), None, "{bad}");
        }
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("1m"), Some(MINUTE_MS));
        assert_eq!(parse_window("59m"), Some(59 * MINUTE_MS));
        assert_eq!(parse_window("23h"), Some(23 * HOUR_MS));
        assert_eq!(parse_window("7d"), Some(7 * DAY_MS));
        for bad in [
            "", "m", "0m", "60m", "24h", "8d", "1w", "1d2h", "1M", "1H", "-1m", "100m", "é",
        ] {
            assert_eq!(parse_window(bad), None, "{bad}");
        }
    }

    #[test]
    fn permissions() {
        for ok in ["SPOT", "MARGIN", "LEVERAGED", "TRD_GRP_004"] {
            assert!(is_permission(ok), "{ok}");
        }
        for bad in ["spot", "TRD_GRP_4", "TRD_GRP_0004", ""] {
            assert!(!is_permission(bad), "{bad}");
        }
    }
}
