//! Stream payloads with exactly the keys and JSON types of Binance's (PROTOCOL.md §4).
//!
//! Times are [`Ts`], which prints milliseconds or microseconds depending on the
//! connection's `timeUnit`: serialise with [`to_json`].

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::decimal::Fixed;
use crate::stream::StreamName;

/// The unit of every time field in a payload (`timeUnit=MICROSECOND` on the URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimeUnit {
    /// Milliseconds since the epoch (the default).
    #[default]
    Millisecond,
    /// Microseconds since the epoch.
    Microsecond,
}

impl TimeUnit {
    /// Parses Binance's accepted spellings (`MILLISECOND`, `millisecond`, `MICROSECOND`, `microsecond`).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "MILLISECOND" | "millisecond" => Some(TimeUnit::Millisecond),
            "MICROSECOND" | "microsecond" => Some(TimeUnit::Microsecond),
            _ => None,
        }
    }
}

thread_local! {
    static MICROS: Cell<bool> = const { Cell::new(false) };
}

/// A time in milliseconds since the epoch, printed in the unit being serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub u64);

impl Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if MICROS.with(Cell::get) {
            serializer.serialize_u64(self.0.saturating_mul(1000))
        } else {
            serializer.serialize_u64(self.0)
        }
    }
}

/// Serialises `value` with every [`Ts`] in `unit`.
///
/// # Errors
/// Whatever `serde_json` reports; the simulator's own payloads always serialise.
pub fn to_json<T: Serialize + ?Sized>(value: &T, unit: TimeUnit) -> serde_json::Result<String> {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            MICROS.with(|m| m.set(self.0));
        }
    }
    let previous = MICROS.with(|m| m.replace(unit == TimeUnit::Microsecond));
    let _reset = Reset(previous);
    serde_json::to_string(value)
}

/// A price level as `["price", "qty"]`.
pub type PriceLevel = (Fixed, Fixed);

/// `<s>@aggTrade`
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct AggTradeEvent {
    pub e: &'static str,
    pub E: Ts,
    pub s: Arc<str>,
    pub a: u64,
    pub p: Fixed,
    pub q: Fixed,
    pub f: u64,
    pub l: u64,
    pub T: Ts,
    pub m: bool,
    pub M: bool,
}

/// `<s>@trade`
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct TradeEvent {
    pub e: &'static str,
    pub E: Ts,
    pub s: Arc<str>,
    pub t: u64,
    pub p: Fixed,
    pub q: Fixed,
    pub T: Ts,
    pub m: bool,
    pub M: bool,
}

/// The candle inside a `kline` event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct KlineBody {
    pub t: Ts,
    pub T: Ts,
    pub s: Arc<str>,
    pub i: &'static str,
    pub f: i64,
    pub L: i64,
    pub o: Fixed,
    pub c: Fixed,
    pub h: Fixed,
    pub l: Fixed,
    pub v: Fixed,
    pub n: u64,
    pub x: bool,
    pub q: Fixed,
    pub V: Fixed,
    pub Q: Fixed,
    pub B: &'static str,
}

/// `<s>@kline_<i>`
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct KlineEvent {
    pub e: &'static str,
    pub E: Ts,
    pub s: Arc<str>,
    pub k: KlineBody,
}

/// `<s>@miniTicker` (and the elements of `!miniTicker@arr`)
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct MiniTickerEvent {
    pub e: &'static str,
    pub E: Ts,
    pub s: Arc<str>,
    pub c: Fixed,
    pub o: Fixed,
    pub h: Fixed,
    pub l: Fixed,
    pub v: Fixed,
    pub q: Fixed,
}

/// `<s>@ticker`
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct TickerEvent {
    pub e: &'static str,
    pub E: Ts,
    pub s: Arc<str>,
    pub p: Fixed,
    pub P: String,
    pub w: Fixed,
    pub x: Fixed,
    pub c: Fixed,
    pub Q: Fixed,
    pub b: Fixed,
    pub B: Fixed,
    pub a: Fixed,
    pub A: Fixed,
    pub o: Fixed,
    pub h: Fixed,
    pub l: Fixed,
    pub v: Fixed,
    pub q: Fixed,
    pub O: Ts,
    pub C: Ts,
    pub F: i64,
    pub L: i64,
    pub n: u64,
}

/// `<s>@ticker_<w>` (and the elements of `!ticker_<w>@arr`)
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct RollingTickerEvent {
    pub e: &'static str,
    pub E: Ts,
    pub s: Arc<str>,
    pub p: Fixed,
    pub P: String,
    pub o: Fixed,
    pub h: Fixed,
    pub l: Fixed,
    pub c: Fixed,
    pub w: Fixed,
    pub v: Fixed,
    pub q: Fixed,
    pub O: Ts,
    pub C: Ts,
    pub F: i64,
    pub L: i64,
    pub n: u64,
}

/// `<s>@bookTicker` (no event type or time, as on Binance)
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct BookTickerEvent {
    pub u: u64,
    pub s: Arc<str>,
    pub b: Fixed,
    pub B: Fixed,
    pub a: Fixed,
    pub A: Fixed,
}

/// `<s>@depth<L>[@100ms]` (no event type and no symbol, as on Binance)
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs, reason = "the fields are Binance's wire names")]
pub struct PartialDepthEvent {
    pub last_update_id: u64,
    pub bids: Vec<PriceLevel>,
    pub asks: Vec<PriceLevel>,
}

/// `<s>@depth[@100ms]`
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct DepthUpdateEvent {
    pub e: &'static str,
    pub E: Ts,
    pub s: Arc<str>,
    pub U: u64,
    pub u: u64,
    pub b: Vec<PriceLevel>,
    pub a: Vec<PriceLevel>,
}

/// `<s>@avgPrice`
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct AvgPriceEvent {
    pub e: &'static str,
    pub E: Ts,
    pub s: Arc<str>,
    pub i: &'static str,
    pub w: Fixed,
    pub T: Ts,
}

/// `serverShutdown`, sent before a planned restart.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(
    non_snake_case,
    missing_docs,
    reason = "the fields are Binance's wire names"
)]
pub struct ServerShutdownEvent {
    pub e: &'static str,
    pub E: Ts,
}

/// The payload of one published stream event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
#[allow(
    missing_docs,
    reason = "each variant is the payload of the stream of the same name"
)]
pub enum Body {
    AggTrade(AggTradeEvent),
    Trade(TradeEvent),
    Kline(KlineEvent),
    MiniTicker(MiniTickerEvent),
    MiniTickers(Vec<MiniTickerEvent>),
    Ticker(TickerEvent),
    RollingTicker(RollingTickerEvent),
    RollingTickers(Vec<RollingTickerEvent>),
    BookTicker(BookTickerEvent),
    PartialDepth(PartialDepthEvent),
    DepthUpdate(DepthUpdateEvent),
    AvgPrice(AvgPriceEvent),
    ServerShutdown(ServerShutdownEvent),
}

/// One event on one stream, shared by every connection subscribed to it.
///
/// The JSON is rendered once per time unit, on first use, and then reused.
#[derive(Debug)]
pub struct Published {
    /// The stream this event belongs to.
    pub stream: StreamName,
    /// The stream's canonical name, as the `stream` key of combined payloads.
    pub stream_name: Box<str>,
    /// The payload.
    pub body: Body,
    millis: OnceLock<Box<str>>,
    micros: OnceLock<Box<str>>,
}

impl Published {
    /// An event on `stream`.
    #[must_use]
    pub fn new(stream: StreamName, body: Body) -> Self {
        Published {
            stream_name: stream.to_string().into_boxed_str(),
            stream,
            body,
            millis: OnceLock::new(),
            micros: OnceLock::new(),
        }
    }

    /// The raw payload JSON in the given time unit.
    #[must_use]
    pub fn json(&self, unit: TimeUnit) -> &str {
        let cell = match unit {
            TimeUnit::Millisecond => &self.millis,
            TimeUnit::Microsecond => &self.micros,
        };
        cell.get_or_init(|| {
            // The simulator's payloads are plain structs of numbers, strings and
            // arrays: serialisation cannot fail. Fall back to an empty object anyway.
            to_json(&self.body, unit)
                .unwrap_or_else(|_| "{}".to_owned())
                .into_boxed_str()
        })
    }

    /// The frame text for a connection: raw, or wrapped as `{"stream":…,"data":…}` when combined.
    #[must_use]
    pub fn frame(&self, unit: TimeUnit, combined: bool) -> String {
        let json = self.json(unit);
        if combined {
            let mut out = String::with_capacity(json.len() + self.stream_name.len() + 22);
            out.push_str("{\"stream\":\"");
            out.push_str(&self.stream_name);
            out.push_str("\",\"data\":");
            out.push_str(json);
            out.push('}');
            out
        } else {
            json.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_follow_the_unit() {
        let event = ServerShutdownEvent {
            e: "serverShutdown",
            E: Ts(1_770_123_456_789),
        };
        assert_eq!(
            to_json(&event, TimeUnit::Millisecond).ok().as_deref(),
            Some(r#"{"e":"serverShutdown","E":1770123456789}"#)
        );
        assert_eq!(
            to_json(&event, TimeUnit::Microsecond).ok().as_deref(),
            Some(r#"{"e":"serverShutdown","E":1770123456789000}"#)
        );
        // The unit does not leak into the next serialisation.
        assert_eq!(
            serde_json::to_string(&event).ok().as_deref(),
            Some(r#"{"e":"serverShutdown","E":1770123456789}"#)
        );
    }
}
