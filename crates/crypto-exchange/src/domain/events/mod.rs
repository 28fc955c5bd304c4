//! Typed stream payloads and [`Event`], the payload of any stream.
//!
//! Field names are descriptive (`event_time`, `buyer_is_maker`); the doc comment of
//! each names its wire key. Prices and quantities are exact [`Decimal`]s; times are
//! [`Timestamp`]s in the connection's unit. Serializing a payload gives Binance's
//! JSON back: the same keys in the same order, decimals as strings with their
//! original digits, times in their original unit.
//!
//! [`Decimal`]: rust_decimal::Decimal
//! [`Timestamp`]: super::Timestamp

mod depth;
mod kline;
mod ticker;
mod trade;

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};

pub use depth::{DepthUpdate, PartialDepth};
pub use kline::{Kline, KlineCandle};
pub use ticker::{AvgPrice, BookTicker, MiniTicker, ReferencePrice, RollingTicker, Ticker};
pub use trade::{AggTrade, BlockTrade, ServerShutdown, Trade};

use super::stream::{StreamKind, TickerWindow};
use super::symbol::Symbol;
use super::time::Timestamp;
use super::wire::{Ctx, Fault, Payload, WireField};

/// The payload of one stream event; which variant follows from the stream's kind.
///
/// The three largest payloads (kline, ticker, rolling ticker: 250–340 bytes) are
/// boxed. They come at most once a second per stream, while every frame moves an
/// `Event` several times on its way out of the decoder: keeping the enum at the
/// size of the hot payloads (`aggTrade`, `depthUpdate`, …) costs one allocation
/// per slow event and saves copying hundreds of bytes per fast one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `<s>@aggTrade`
    AggTrade(AggTrade),
    /// `<s>@trade`
    Trade(Trade),
    /// `<s>@blockTrade`
    BlockTrade(BlockTrade),
    /// `<s>@kline_<i>`
    Kline(Box<Kline>),
    /// `<s>@miniTicker`
    MiniTicker(MiniTicker),
    /// `!miniTicker@arr`: the symbols that changed.
    AllMiniTickers(Vec<MiniTicker>),
    /// `<s>@ticker`
    Ticker(Box<Ticker>),
    /// `<s>@ticker_<w>`
    RollingTicker(Box<RollingTicker>),
    /// `!ticker_<w>@arr`: the symbols that changed.
    AllRollingTickers(Vec<RollingTicker>),
    /// `<s>@bookTicker`
    BookTicker(BookTicker),
    /// `<s>@avgPrice`
    AvgPrice(AvgPrice),
    /// `<s>@referencePrice`
    ReferencePrice(ReferencePrice),
    /// `<s>@depth<L>[@100ms]`
    PartialDepth(PartialDepth),
    /// `<s>@depth[@100ms]`
    DepthUpdate(DepthUpdate),
}

impl Event {
    /// The payload's symbol; `None` for partial depth (the stream name has it) and
    /// market-wide arrays.
    #[must_use]
    pub fn symbol(&self) -> Option<&Symbol> {
        match self {
            Event::AggTrade(e) => Some(&e.symbol),
            Event::Trade(e) => Some(&e.symbol),
            Event::BlockTrade(e) => Some(&e.symbol),
            Event::Kline(e) => Some(&e.symbol),
            Event::MiniTicker(e) => Some(&e.symbol),
            Event::Ticker(e) => Some(&e.symbol),
            Event::RollingTicker(e) => Some(&e.symbol),
            Event::BookTicker(e) => Some(&e.symbol),
            Event::AvgPrice(e) => Some(&e.symbol),
            Event::ReferencePrice(e) => Some(&e.symbol),
            Event::DepthUpdate(e) => Some(&e.symbol),
            Event::AllMiniTickers(_) | Event::AllRollingTickers(_) | Event::PartialDepth(_) => None,
        }
    }

    /// When the event was sent (`E`); `None` for payloads without one (`bookTicker`,
    /// partial depth, `referencePrice`, arrays).
    #[must_use]
    pub fn event_time(&self) -> Option<Timestamp> {
        match self {
            Event::AggTrade(e) => Some(e.event_time),
            Event::Trade(e) => Some(e.event_time),
            Event::BlockTrade(e) => Some(e.event_time),
            Event::Kline(e) => Some(e.event_time),
            Event::MiniTicker(e) => Some(e.event_time),
            Event::Ticker(e) => Some(e.event_time),
            Event::RollingTicker(e) => Some(e.event_time),
            Event::AvgPrice(e) => Some(e.event_time),
            Event::DepthUpdate(e) => Some(e.event_time),
            Event::AllMiniTickers(_)
            | Event::AllRollingTickers(_)
            | Event::BookTicker(_)
            | Event::ReferencePrice(_)
            | Event::PartialDepth(_) => None,
        }
    }

    /// A short name of the payload type, for logs and metric labels (`aggTrade`).
    #[must_use]
    pub const fn type_name(&self) -> &'static str {
        match self {
            Event::AggTrade(_) => "aggTrade",
            Event::Trade(_) => "trade",
            Event::BlockTrade(_) => "blockTrade",
            Event::Kline(_) => "kline",
            Event::MiniTicker(_) => "miniTicker",
            Event::AllMiniTickers(_) => "miniTicker@arr",
            Event::Ticker(_) => "ticker",
            Event::RollingTicker(_) => "rollingTicker",
            Event::AllRollingTickers(_) => "rollingTicker@arr",
            Event::BookTicker(_) => "bookTicker",
            Event::AvgPrice(_) => "avgPrice",
            Event::ReferencePrice(_) => "referencePrice",
            Event::PartialDepth(_) => "partialDepth",
            Event::DepthUpdate(_) => "depthUpdate",
        }
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Event::AggTrade(e) => e.serialize(serializer),
            Event::Trade(e) => e.serialize(serializer),
            Event::BlockTrade(e) => e.serialize(serializer),
            Event::Kline(e) => e.serialize(serializer),
            Event::MiniTicker(e) => e.serialize(serializer),
            Event::AllMiniTickers(e) => e.serialize(serializer),
            Event::Ticker(e) => e.serialize(serializer),
            Event::RollingTicker(e) => e.serialize(serializer),
            Event::AllRollingTickers(e) => e.serialize(serializer),
            Event::BookTicker(e) => e.serialize(serializer),
            Event::AvgPrice(e) => e.serialize(serializer),
            Event::ReferencePrice(e) => e.serialize(serializer),
            Event::PartialDepth(e) => e.serialize(serializer),
            Event::DepthUpdate(e) => e.serialize(serializer),
        }
    }
}

/// The position of `key` in the field table of `kind`'s payload.
pub(crate) fn key_index(kind: StreamKind, key: &str) -> Option<usize> {
    match kind {
        StreamKind::AggTrade => AggTrade::key_index(key),
        StreamKind::Trade => Trade::key_index(key),
        StreamKind::BlockTrade => BlockTrade::key_index(key),
        StreamKind::Kline { .. } => Kline::key_index(key),
        StreamKind::MiniTicker => MiniTicker::key_index(key),
        StreamKind::Ticker => Ticker::key_index(key),
        StreamKind::RollingTicker(_) => RollingTicker::key_index(key),
        StreamKind::BookTicker => BookTicker::key_index(key),
        StreamKind::AvgPrice => AvgPrice::key_index(key),
        StreamKind::ReferencePrice => ReferencePrice::key_index(key),
        StreamKind::PartialDepth { .. } => PartialDepth::key_index(key),
        StreamKind::Depth(_) => DepthUpdate::key_index(key),
        StreamKind::AllMiniTickers | StreamKind::AllRollingTickers(_) => None,
    }
}

/// Reads the object payload of a `kind` stream; `first` is a key already read.
pub(crate) fn read_event<'de, A: MapAccess<'de>>(
    kind: StreamKind,
    map: &mut A,
    ctx: &Ctx,
    first: Option<usize>,
) -> Result<Event, A::Error> {
    Ok(match kind {
        StreamKind::AggTrade => Event::AggTrade(AggTrade::read(map, ctx, first)?),
        StreamKind::Trade => Event::Trade(Trade::read(map, ctx, first)?),
        StreamKind::BlockTrade => Event::BlockTrade(BlockTrade::read(map, ctx, first)?),
        StreamKind::Kline { .. } => Event::Kline(Box::new(Kline::read(map, ctx, first)?)),
        StreamKind::MiniTicker => Event::MiniTicker(MiniTicker::read(map, ctx, first)?),
        StreamKind::Ticker => Event::Ticker(Box::new(Ticker::read(map, ctx, first)?)),
        StreamKind::RollingTicker(window) => {
            let ticker = RollingTicker::read(map, ctx, first)?;
            check_window(window, ticker.window, ctx)?;
            Event::RollingTicker(Box::new(ticker))
        }
        StreamKind::BookTicker => Event::BookTicker(BookTicker::read(map, ctx, first)?),
        StreamKind::AvgPrice => Event::AvgPrice(AvgPrice::read(map, ctx, first)?),
        StreamKind::ReferencePrice => Event::ReferencePrice(ReferencePrice::read(map, ctx, first)?),
        StreamKind::PartialDepth { .. } => {
            Event::PartialDepth(PartialDepth::read(map, ctx, first)?)
        }
        StreamKind::Depth(_) => Event::DepthUpdate(DepthUpdate::read(map, ctx, first)?),
        StreamKind::AllMiniTickers | StreamKind::AllRollingTickers(_) => {
            return Err(ctx.fail(Fault::Shape(format!(
                "`{kind}` carries an array of tickers, found an object"
            ))));
        }
    })
}

/// Reads the array payload of a market-wide `kind` stream.
pub(crate) fn read_event_seq<'de, A: SeqAccess<'de>>(
    kind: StreamKind,
    seq: A,
    ctx: &Ctx,
) -> Result<Event, A::Error> {
    match kind {
        StreamKind::AllMiniTickers => Vec::<MiniTicker>::from_seq(seq, ctx)
            .map_err(|e| ctx.locate(e, "!miniTicker@arr", "[]"))
            .map(Event::AllMiniTickers),
        StreamKind::AllRollingTickers(window) => {
            let tickers = Vec::<RollingTicker>::from_seq(seq, ctx)
                .map_err(|e| ctx.locate(e, "!ticker_<w>@arr", "[]"))?;
            for ticker in &tickers {
                check_window(window, ticker.window, ctx)?;
            }
            Ok(Event::AllRollingTickers(tickers))
        }
        _ => Err(ctx.fail(Fault::Shape(format!(
            "`{kind}` carries an object, found an array"
        )))),
    }
}

fn check_window<E: de::Error>(
    expected: TickerWindow,
    found: TickerWindow,
    ctx: &Ctx,
) -> Result<(), E> {
    if expected == found {
        Ok(())
    } else {
        Err(ctx.fail(Fault::Field {
            payload: "rolling window ticker",
            field: "e",
            problem: format!(
                "expected `{}` for a `ticker_{}` stream, found `{}`",
                expected.event_type(),
                expected.as_str(),
                found.event_type()
            ),
        }))
    }
}

/// Decodes the payload of a `kind` stream (the `data` of a combined frame).
pub(crate) struct EventSeed<'c> {
    pub(crate) kind: StreamKind,
    pub(crate) ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = Event;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Event, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the payload of a `{}` stream", self.kind)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        read_event(self.kind, &mut map, self.ctx, None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Event, A::Error> {
        read_event_seq(self.kind, seq, self.ctx)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Event, E> {
        Err(self.not_a_payload(format_args!("boolean {v}")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Event, E> {
        Err(self.not_a_payload(format_args!("number {v}")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Event, E> {
        Err(self.not_a_payload(format_args!("number {v}")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Event, E> {
        Err(self.not_a_payload(format_args!("number {v}")))
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Event, E> {
        Err(self.not_a_payload("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Event, E> {
        Err(self.not_a_payload("null"))
    }
}

impl EventSeed<'_> {
    fn not_a_payload<E: de::Error>(&self, found: impl fmt::Display) -> E {
        self.ctx.fail(Fault::Shape(format!(
            "the payload of a `{}` stream is an object or an array, found {found}",
            self.kind
        )))
    }
}
