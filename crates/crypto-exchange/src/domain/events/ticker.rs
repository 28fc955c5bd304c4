//! Ticker payloads: `24hrMiniTicker`, `24hrTicker`, rolling-window tickers,
//! `bookTicker`, `avgPrice` and `referencePrice`.

use rust_decimal::Decimal;
use serde::Serializer;

use crate::domain::stream::TickerWindow;
use crate::domain::symbol::Symbol;
use crate::domain::text::ShortText;
use crate::domain::time::Timestamp;
use crate::domain::wire::{Ctx, Fault, WireField, tag_fault, wire_struct};

wire_struct! {
    /// `<s>@miniTicker` (and each element of `!miniTicker@arr`): rolling 24 h
    /// statistics, short form.
    pub struct MiniTicker as "24hrMiniTicker" {
        tag "e" = "24hrMiniTicker";
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `c`: the close (latest) price.
        "c" => close: Decimal,
        /// `o`: the open price.
        "o" => open: Decimal,
        /// `h`: the high price.
        "h" => high: Decimal,
        /// `l`: the low price.
        "l" => low: Decimal,
        /// `v`: the base asset volume.
        "v" => base_volume: Decimal,
        /// `q`: the quote asset volume.
        "q" => quote_volume: Decimal,
    }
}

wire_struct! {
    /// `<s>@ticker`: rolling 24 h statistics.
    pub struct Ticker as "24hrTicker" {
        tag "e" = "24hrTicker";
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `p`: the price change.
        "p" => price_change: Decimal,
        /// `P`: the price change in percent.
        "P" => price_change_percent: Decimal,
        /// `w`: the weighted average price.
        "w" => weighted_average_price: Decimal,
        /// `x`: the price of the last trade before the window.
        "x" => previous_price: Decimal,
        /// `c`: the last price.
        "c" => last_price: Decimal,
        /// `Q`: the last quantity.
        "Q" => last_quantity: Decimal,
        /// `b`: the best bid price.
        "b" => best_bid_price: Decimal,
        /// `B`: the best bid quantity.
        "B" => best_bid_quantity: Decimal,
        /// `a`: the best ask price.
        "a" => best_ask_price: Decimal,
        /// `A`: the best ask quantity.
        "A" => best_ask_quantity: Decimal,
        /// `o`: the open price.
        "o" => open: Decimal,
        /// `h`: the high price.
        "h" => high: Decimal,
        /// `l`: the low price.
        "l" => low: Decimal,
        /// `v`: the base asset volume.
        "v" => base_volume: Decimal,
        /// `q`: the quote asset volume.
        "q" => quote_volume: Decimal,
        /// `O`: when the statistics window opens.
        "O" => open_time: Timestamp,
        /// `C`: when the statistics window closes.
        "C" => close_time: Timestamp,
        /// `F`: the first trade id in the window (`-1` when none).
        "F" => first_trade_id: i64,
        /// `L`: the last trade id in the window (`-1` when none).
        "L" => last_trade_id: i64,
        /// `n`: the number of trades.
        "n" => trade_count: u64,
    }
}

wire_struct! {
    /// `<s>@ticker_<w>` (and each element of `!ticker_<w>@arr`): rolling-window
    /// statistics. `O` is rounded down to a minute, so the window can be up to
    /// 59,999 ms wider than nominal.
    pub struct RollingTicker as "rolling window ticker" {
        /// `e`: the window, from the event type (`1hTicker`, `4hTicker`, `1dTicker`).
        "e" => window: TickerWindow,
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `p`: the price change.
        "p" => price_change: Decimal,
        /// `P`: the price change in percent.
        "P" => price_change_percent: Decimal,
        /// `o`: the open price.
        "o" => open: Decimal,
        /// `h`: the high price.
        "h" => high: Decimal,
        /// `l`: the low price.
        "l" => low: Decimal,
        /// `c`: the last price.
        "c" => last_price: Decimal,
        /// `w`: the weighted average price.
        "w" => weighted_average_price: Decimal,
        /// `v`: the base asset volume.
        "v" => base_volume: Decimal,
        /// `q`: the quote asset volume.
        "q" => quote_volume: Decimal,
        /// `O`: when the statistics window opens.
        "O" => open_time: Timestamp,
        /// `C`: when the statistics window closes.
        "C" => close_time: Timestamp,
        /// `F`: the first trade id in the window (`-1` when none).
        "F" => first_trade_id: i64,
        /// `L`: the last trade id in the window (`-1` when none).
        "L" => last_trade_id: i64,
        /// `n`: the number of trades.
        "n" => trade_count: u64,
    }
}

impl WireField for TickerWindow {
    const EXPECTED: &'static str = "a rolling ticker event type string";

    fn from_str(value: &str, _ctx: &Ctx) -> Result<Self, Fault> {
        TickerWindow::from_event_type(value)
            .ok_or_else(|| tag_fault("`1hTicker`, `4hTicker` or `1dTicker`", value))
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.event_type())
    }
}

wire_struct! {
    /// `<s>@bookTicker`: the best bid and ask. The payload has no event type or time.
    pub struct BookTicker as "bookTicker" {
        /// `u`: the order book update id.
        "u" => update_id: u64,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `b`: the best bid price.
        "b" => best_bid_price: Decimal,
        /// `B`: the best bid quantity.
        "B" => best_bid_quantity: Decimal,
        /// `a`: the best ask price.
        "a" => best_ask_price: Decimal,
        /// `A`: the best ask quantity.
        "A" => best_ask_quantity: Decimal,
    }
}

wire_struct! {
    /// `<s>@avgPrice`: the average price over an interval.
    pub struct AvgPrice as "avgPrice" {
        tag "e" = "avgPrice";
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `i`: the averaging interval (`5m`).
        "i" => interval: ShortText,
        /// `w`: the average price.
        "w" => average_price: Decimal,
        /// `T`: when the last trade happened.
        "T" => last_trade_time: Timestamp,
    }
}

wire_struct! {
    /// `<s>@referencePrice`: the reference price (since 2026-03). No event time.
    pub struct ReferencePrice as "referencePrice" {
        tag "e" = "referencePrice";
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `r`: the reference price; `null` (`None`) when there is none.
        "r" => price: Option<Decimal>,
        /// `t`: the matching engine's time.
        "t" => engine_time: Timestamp,
    }
}
