//! The `kline` payload and its candle.

use rust_decimal::Decimal;
use serde::Serializer;

use crate::domain::stream::KlineInterval;
use crate::domain::symbol::{Symbol, shorten};
use crate::domain::text::ShortText;
use crate::domain::time::Timestamp;
use crate::domain::wire::{Ctx, Fault, WireField, wire_struct};

wire_struct! {
    /// `<s>@kline_<i>`: the current candle of an interval, pushed as it changes.
    pub struct Kline as "kline" {
        tag "e" = "kline";
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `k`: the candle.
        "k" => candle: KlineCandle,
    }
}

wire_struct! {
    /// The candle inside a [`Kline`] (`k`).
    pub struct KlineCandle as "kline candle" {
        /// `t`: when the candle opens.
        "t" => open_time: Timestamp,
        /// `T`: when the candle closes.
        "T" => close_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `i`: the interval.
        "i" => interval: KlineInterval,
        /// `f`: the first trade id in the candle (`-1` when none).
        "f" => first_trade_id: i64,
        /// `L`: the last trade id in the candle (`-1` when none).
        "L" => last_trade_id: i64,
        /// `o`: the open price.
        "o" => open: Decimal,
        /// `c`: the close (latest) price.
        "c" => close: Decimal,
        /// `h`: the high price.
        "h" => high: Decimal,
        /// `l`: the low price.
        "l" => low: Decimal,
        /// `v`: the base asset volume.
        "v" => base_volume: Decimal,
        /// `n`: the number of trades.
        "n" => trade_count: u64,
        /// `x`: whether the candle is closed (final).
        "x" => is_closed: bool,
        /// `q`: the quote asset volume.
        "q" => quote_volume: Decimal,
        /// `V`: the taker buy base asset volume.
        "V" => taker_buy_base_volume: Decimal,
        /// `Q`: the taker buy quote asset volume.
        "Q" => taker_buy_quote_volume: Decimal,
        /// `B`: documented as "ignore"; kept so the payload serializes back as it came.
        "B" optional => ignore: Option<ShortText>,
    }
}

impl WireField for KlineInterval {
    const EXPECTED: &'static str = "a kline interval string";

    fn from_str(value: &str, _ctx: &Ctx) -> Result<Self, Fault> {
        KlineInterval::parse(value).ok_or_else(|| {
            Fault::Value(format!(
                "unknown kline interval \"{}\": intervals are 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h \
                 12h 1d 3d 1w 1M",
                shorten(value)
            ))
        })
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
