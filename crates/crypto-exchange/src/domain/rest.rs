//! REST response bodies used for snapshots and backfill (PROTOCOL.md §6, §7), with
//! the same exact decimals and unit-aware times as the stream payloads.
//!
//! Times follow the `X-MBX-TIME-UNIT` request header (milliseconds by default),
//! so the decode functions that meet times take the unit.

use rust_decimal::Decimal;

use super::decimal::Level;
use super::error::DecodeError;
use super::time::{TimeUnit, Timestamp};
use super::wire::{decode_text, wire_struct};

wire_struct! {
    /// `GET /api/v3/depth`: an order book snapshot.
    pub struct DepthSnapshot as "depth snapshot" {
        /// `lastUpdateId`: the book's update id at the snapshot.
        "lastUpdateId" => last_update_id: u64,
        /// `bids`: best first.
        "bids" => bids: Vec<Level>,
        /// `asks`: best first.
        "asks" => asks: Vec<Level>,
    }
}

wire_struct! {
    /// One element of `GET /api/v3/aggTrades`.
    pub struct AggTradeRecord as "aggTrades entry" {
        /// `a`: the aggregate trade id.
        "a" => agg_trade_id: u64,
        /// `p`: the price.
        "p" => price: Decimal,
        /// `q`: the quantity.
        "q" => quantity: Decimal,
        /// `f`: the first trade id.
        "f" => first_trade_id: u64,
        /// `l`: the last trade id.
        "l" => last_trade_id: u64,
        /// `T`: when the trade happened.
        "T" => trade_time: Timestamp,
        /// `m`: whether the buyer was the maker.
        "m" => buyer_is_maker: bool,
        /// `M`: whether the trade was the best price match.
        "M" optional => best_match: Option<bool>,
    }
}

wire_struct! {
    /// One element of `GET /api/v3/trades` and `/historicalTrades`.
    pub struct TradeRecord as "trades entry" {
        /// `id`: the trade id.
        "id" => trade_id: u64,
        /// `price`: the price.
        "price" => price: Decimal,
        /// `qty`: the quantity.
        "qty" => quantity: Decimal,
        /// `quoteQty`: the quote quantity.
        "quoteQty" => quote_quantity: Decimal,
        /// `time`: when the trade happened.
        "time" => time: Timestamp,
        /// `isBuyerMaker`: whether the buyer was the maker.
        "isBuyerMaker" => buyer_is_maker: bool,
        /// `isBestMatch`: whether the trade was the best price match.
        "isBestMatch" optional => best_match: Option<bool>,
    }
}

wire_struct! {
    /// The error body of every REST endpoint: `{"code":<negative int>,"msg":"…"}`.
    /// Codes are stable; messages may vary.
    pub struct ApiError as "error body" {
        /// `code`: Binance's error code (`-1003` rate limit, `-1121` bad symbol, …).
        "code" => code: i64,
        /// `msg`: the message.
        "msg" => msg: String,
    }
}

impl ApiError {
    /// `-1003`: too much request weight or too many requests (with HTTP 429 or 418).
    pub const RATE_LIMITED: i64 = -1003;
    /// `-1007`: the backend timed out; the request's outcome is unknown.
    pub const TIMEOUT: i64 = -1007;
    /// `-1121`: the symbol does not exist.
    pub const INVALID_SYMBOL: i64 = -1121;

    /// True for `-1003`.
    #[must_use]
    pub const fn is_rate_limited(&self) -> bool {
        self.code == Self::RATE_LIMITED
    }
}

/// Decodes a `/api/v3/depth` body.
///
/// # Errors
/// [`DecodeError`] naming the problem.
pub fn decode_depth_snapshot(body: &str) -> Result<DepthSnapshot, DecodeError> {
    decode_text(body, TimeUnit::Millisecond)
}

/// Decodes a `/api/v3/aggTrades` body whose times are in `unit`.
///
/// # Errors
/// [`DecodeError`] naming the problem.
pub fn decode_agg_trades(body: &str, unit: TimeUnit) -> Result<Vec<AggTradeRecord>, DecodeError> {
    decode_text(body, unit)
}

/// Decodes a `/api/v3/trades` or `/historicalTrades` body whose times are in `unit`.
///
/// # Errors
/// [`DecodeError`] naming the problem.
pub fn decode_trades(body: &str, unit: TimeUnit) -> Result<Vec<TradeRecord>, DecodeError> {
    decode_text(body, unit)
}

/// Decodes an error body.
///
/// # Errors
/// [`DecodeError`] naming the problem.
pub fn decode_api_error(body: &str) -> Result<ApiError, DecodeError> {
    decode_text(body, TimeUnit::Millisecond)
}
