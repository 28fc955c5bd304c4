//! REST response bodies with exactly the keys and JSON types of Binance's (the `rest_*.json`
//! fixtures): prices and quantities are strings ([`Fixed`]), ids and counts numbers, times
//! [`Ts`] so `X-MBX-TIME-UNIT: MICROSECOND` can print them in µs (serialise with
//! [`crate::payload::to_json`]).

use std::sync::Arc;

use serde::Serialize;

use crate::decimal::Fixed;
use crate::payload::{PriceLevel, Ts};

/// `{}` (`/ping`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Empty {}

/// `/time`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerTime {
    pub(crate) server_time: Ts,
}

/// `/exchangeInfo`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExchangeInfo {
    pub(crate) timezone: &'static str,
    pub(crate) server_time: Ts,
    pub(crate) rate_limits: Vec<RateLimit>,
    /// Always empty: the simulator has no exchange filters.
    pub(crate) exchange_filters: Vec<Filter>,
    pub(crate) symbols: Vec<SymbolInfo>,
}

/// One `rateLimits` entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RateLimit {
    pub(crate) rate_limit_type: &'static str,
    pub(crate) interval: &'static str,
    pub(crate) interval_num: u32,
    pub(crate) limit: u32,
}

/// One `symbols` entry of `/exchangeInfo`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_excessive_bools,
    reason = "Binance's flags are independent booleans on the wire"
)]
pub(crate) struct SymbolInfo {
    pub(crate) symbol: String,
    pub(crate) status: &'static str,
    pub(crate) base_asset: String,
    pub(crate) base_asset_precision: u32,
    pub(crate) quote_asset: String,
    pub(crate) quote_precision: u32,
    pub(crate) quote_asset_precision: u32,
    pub(crate) base_commission_precision: u32,
    pub(crate) quote_commission_precision: u32,
    pub(crate) order_types: &'static [&'static str],
    pub(crate) iceberg_allowed: bool,
    pub(crate) oco_allowed: bool,
    pub(crate) oto_allowed: bool,
    pub(crate) opo_allowed: bool,
    pub(crate) quote_order_qty_market_allowed: bool,
    pub(crate) allow_trailing_stop: bool,
    pub(crate) cancel_replace_allowed: bool,
    pub(crate) amend_allowed: bool,
    pub(crate) peg_instructions_allowed: bool,
    pub(crate) is_spot_trading_allowed: bool,
    pub(crate) is_margin_trading_allowed: bool,
    pub(crate) filters: Vec<Filter>,
    pub(crate) permissions: Vec<&'static str>,
    pub(crate) permission_sets: Vec<&'static [&'static str]>,
    pub(crate) default_self_trade_prevention_mode: &'static str,
    pub(crate) allowed_self_trade_prevention_modes: &'static [&'static str],
}

/// A symbol filter.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "filterType")]
pub(crate) enum Filter {
    /// Price limits and tick size.
    #[serde(rename = "PRICE_FILTER", rename_all = "camelCase")]
    Price {
        min_price: Fixed,
        max_price: Fixed,
        tick_size: Fixed,
    },
    /// Quantity limits and step size.
    #[serde(rename = "LOT_SIZE", rename_all = "camelCase")]
    LotSize {
        min_qty: Fixed,
        max_qty: Fixed,
        step_size: Fixed,
    },
}

/// `/depth`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Depth {
    pub(crate) last_update_id: u64,
    pub(crate) bids: Vec<PriceLevel>,
    pub(crate) asks: Vec<PriceLevel>,
}

/// One `/trades` or `/historicalTrades` row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Trade {
    pub(crate) id: u64,
    pub(crate) price: Fixed,
    pub(crate) qty: Fixed,
    pub(crate) quote_qty: Fixed,
    pub(crate) time: Ts,
    pub(crate) is_buyer_maker: bool,
    pub(crate) is_best_match: bool,
}

/// One `/aggTrades` row.
#[derive(Debug, Clone, Serialize)]
#[allow(non_snake_case, reason = "the fields are Binance's wire names")]
pub(crate) struct AggTrade {
    pub(crate) a: u64,
    pub(crate) p: Fixed,
    pub(crate) q: Fixed,
    pub(crate) f: u64,
    pub(crate) l: u64,
    pub(crate) T: Ts,
    pub(crate) m: bool,
    pub(crate) M: bool,
}

/// One `/klines` row: `[openTime, o, h, l, c, volume, closeTime, quoteVolume, trades,
/// takerBuyBase, takerBuyQuote, "0"]`.
pub(crate) type Kline = (
    Ts,
    Fixed,
    Fixed,
    Fixed,
    Fixed,
    Fixed,
    Ts,
    Fixed,
    u64,
    Fixed,
    Fixed,
    &'static str,
);

/// `/avgPrice`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AvgPrice {
    pub(crate) mins: u32,
    pub(crate) price: Fixed,
    pub(crate) close_time: Ts,
}

/// `/ticker/24hr` with `type=FULL`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Ticker24hr {
    pub(crate) symbol: Arc<str>,
    pub(crate) price_change: Fixed,
    pub(crate) price_change_percent: String,
    pub(crate) weighted_avg_price: Fixed,
    pub(crate) prev_close_price: Fixed,
    pub(crate) last_price: Fixed,
    pub(crate) last_qty: Fixed,
    pub(crate) bid_price: Fixed,
    pub(crate) bid_qty: Fixed,
    pub(crate) ask_price: Fixed,
    pub(crate) ask_qty: Fixed,
    pub(crate) open_price: Fixed,
    pub(crate) high_price: Fixed,
    pub(crate) low_price: Fixed,
    pub(crate) volume: Fixed,
    pub(crate) quote_volume: Fixed,
    pub(crate) open_time: Ts,
    pub(crate) close_time: Ts,
    pub(crate) first_id: i64,
    pub(crate) last_id: i64,
    pub(crate) count: u64,
}

/// `/ticker` (rolling window) with `type=FULL`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RollingTicker {
    pub(crate) symbol: Arc<str>,
    pub(crate) price_change: Fixed,
    pub(crate) price_change_percent: String,
    pub(crate) weighted_avg_price: Fixed,
    pub(crate) open_price: Fixed,
    pub(crate) high_price: Fixed,
    pub(crate) low_price: Fixed,
    pub(crate) last_price: Fixed,
    pub(crate) volume: Fixed,
    pub(crate) quote_volume: Fixed,
    pub(crate) open_time: Ts,
    pub(crate) close_time: Ts,
    pub(crate) first_id: i64,
    pub(crate) last_id: i64,
    pub(crate) count: u64,
}

/// `/ticker/24hr` and `/ticker` with `type=MINI`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MiniTicker {
    pub(crate) symbol: Arc<str>,
    pub(crate) open_price: Fixed,
    pub(crate) high_price: Fixed,
    pub(crate) low_price: Fixed,
    pub(crate) last_price: Fixed,
    pub(crate) volume: Fixed,
    pub(crate) quote_volume: Fixed,
    pub(crate) open_time: Ts,
    pub(crate) close_time: Ts,
    pub(crate) first_id: i64,
    pub(crate) last_id: i64,
    pub(crate) count: u64,
}

/// `/ticker/price`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PriceTicker {
    pub(crate) symbol: Arc<str>,
    pub(crate) price: Fixed,
}

/// `/ticker/bookTicker`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BookTicker {
    pub(crate) symbol: Arc<str>,
    pub(crate) bid_price: Fixed,
    pub(crate) bid_qty: Fixed,
    pub(crate) ask_price: Fixed,
    pub(crate) ask_qty: Fixed,
}

/// A ticker in its `FULL` or `MINI` shape.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum Shaped<F> {
    /// `type=FULL` (the default).
    Full(F),
    /// `type=MINI`.
    Mini(MiniTicker),
}

/// An object when one symbol was asked for with `symbol`, an array otherwise.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany<T> {
    /// `symbol=…`
    One(T),
    /// `symbols=[…]` or no symbol.
    Many(Vec<T>),
}

/// Binance's error body.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorBody<'a> {
    pub(crate) code: i32,
    pub(crate) msg: &'a str,
}

/// Every successful response body, serialised after the market lock is released.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum Reply {
    Empty(Empty),
    Time(ServerTime),
    ExchangeInfo(ExchangeInfo),
    Depth(Depth),
    Trades(Vec<Trade>),
    AggTrades(Vec<AggTrade>),
    Klines(Vec<Kline>),
    AvgPrice(AvgPrice),
    Ticker24hr(OneOrMany<Shaped<Ticker24hr>>),
    RollingTicker(OneOrMany<Shaped<RollingTicker>>),
    Price(OneOrMany<PriceTicker>),
    BookTicker(OneOrMany<BookTicker>),
}
