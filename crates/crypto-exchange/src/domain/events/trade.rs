//! Trade payloads: `aggTrade`, `trade`, `blockTrade`, and `serverShutdown`.

use rust_decimal::Decimal;

use crate::domain::symbol::Symbol;
use crate::domain::time::Timestamp;
use crate::domain::wire::wire_struct;

wire_struct! {
    /// `<s>@aggTrade`: trades of one taker order at one price, aggregated.
    pub struct AggTrade as "aggTrade" {
        tag "e" = "aggTrade";
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `a`: the aggregate trade id; consecutive without gaps on one symbol.
        "a" => agg_trade_id: u64,
        /// `p`: the price.
        "p" => price: Decimal,
        /// `q`: the quantity.
        "q" => quantity: Decimal,
        /// `f`: the first trade id in the aggregate.
        "f" => first_trade_id: u64,
        /// `l`: the last trade id in the aggregate.
        "l" => last_trade_id: u64,
        /// `T`: when the trade happened.
        "T" => trade_time: Timestamp,
        /// `m`: whether the buyer was the maker (so the taker sold).
        "m" => buyer_is_maker: bool,
        /// `M`: documented as "ignore"; kept so the payload serializes back as it came.
        "M" optional => best_match: Option<bool>,
    }
}

wire_struct! {
    /// `<s>@trade`: one trade.
    pub struct Trade as "trade" {
        tag "e" = "trade";
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `t`: the trade id.
        "t" => trade_id: u64,
        /// `p`: the price.
        "p" => price: Decimal,
        /// `q`: the quantity.
        "q" => quantity: Decimal,
        /// `T`: when the trade happened.
        "T" => trade_time: Timestamp,
        /// `m`: whether the buyer was the maker.
        "m" => buyer_is_maker: bool,
        /// `M`: documented as "ignore"; kept so the payload serializes back as it came.
        "M" optional => best_match: Option<bool>,
    }
}

wire_struct! {
    /// `<s>@blockTrade`: one block trade (since 2026-05-12).
    pub struct BlockTrade as "blockTrade" {
        tag "e" = "blockTrade";
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `t`: the block trade id.
        "t" => block_trade_id: u64,
        /// `p`: the price.
        "p" => price: Decimal,
        /// `q`: the quantity.
        "q" => quantity: Decimal,
        /// `T`: when the trade happened.
        "T" => trade_time: Timestamp,
        /// `m`: whether the buyer was the maker.
        "m" => buyer_is_maker: bool,
    }
}

wire_struct! {
    /// `serverShutdown`: the server will restart soon; reconnect now.
    ///
    /// It arrives raw (`{"e":"serverShutdown","E":…}`) or, on combined connections,
    /// wrapped with the stream name [`ServerShutdown::STREAM`].
    pub struct ServerShutdown as "serverShutdown" {
        tag "e" = "serverShutdown";
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
    }
}

impl ServerShutdown {
    /// The `stream` of a wrapped `serverShutdown` on a combined connection.
    pub const STREAM: &'static str = "!serverShutdown";
}
