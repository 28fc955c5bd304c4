//! The Binance domain: stream names, typed payloads, frame decoding, control
//! requests and REST bodies.
//!
//! This is the layer between bytes and the rest of the client. It knows Binance's
//! grammar and payload shapes (PROTOCOL.md §1, §3–§6) and nothing of connections:
//! it does no IO, keeps no state between frames, and never panics on input.
//!
//! - [`StreamName`], [`StreamKind`] and [`Symbol`] parse and print stream names
//!   (`btcusdt@aggTrade`), with errors that say what to write instead;
//!   [`parse_selection`] builds them from `--symbols`/`--streams` lists.
//! - [`Decoder`] turns a text frame into a [`Frame`]: an [`Event`] with its stream,
//!   a control [`Reply`] or [`ErrorReply`], a [`ServerShutdown`], or
//!   [`Frame::Unknown`] for stream and event types this crate does not know.
//! - Payloads ([`AggTrade`], [`DepthUpdate`], …) hold prices and quantities as exact
//!   [`Decimal`]s and times as [`Timestamp`]s, and serialize back to Binance's JSON
//!   key for key (use [`Combined`] for the `{"stream":…,"data":…}` form).
//! - [`Request`] builds `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`,
//!   `SET_PROPERTY` and `GET_PROPERTY` frames; [`batch`] packs many streams into
//!   few frames.
//! - [`rest`] has the REST bodies used for snapshots and backfill.
//!
//! Decoding an `aggTrade`, `trade`, `bookTicker`, `miniTicker` or `avgPrice` frame
//! allocates nothing: keys, stream names and symbols are read from the borrowed
//! frame text, symbols are stored inline, decimals are 16-byte values. Depth
//! payloads allocate their level vectors (one per non-empty side), arrays their
//! vector, and the large once-a-second payloads (kline, ticker, rolling ticker)
//! one box.
//!
//! ```
//! use crypto_exchange::domain::{Decoder, Event, Frame, StreamName, TimeUnit};
//!
//! let stream: StreamName = "bnbbtc@depth@100ms".parse()?;
//! let decoder = Decoder::raw(stream, TimeUnit::Millisecond);
//! let text = r#"{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,
//!              "b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#;
//! let Ok(Frame::Event { event: Event::DepthUpdate(update), .. }) = decoder.decode(text) else {
//!     panic!("not a depth update");
//! };
//! assert_eq!(update.bids[0].price.to_string(), "0.0024");
//! assert_eq!(
//!     serde_json::to_string(&update)?,
//!     r#"{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Decimal`]: rust_decimal::Decimal

mod cli;
pub(crate) mod decimal;
mod decoder;
mod error;
mod events;
pub(crate) mod fast;
mod frame;
mod request;
pub mod rest;
mod stream;
mod stream_parse;
mod symbol;
mod text;
mod time;
pub(crate) mod wire;

pub use cli::{parse_selection, parse_stream_kinds, parse_symbols, streams_for};
pub use decimal::Level;
pub use decoder::Decoder;
pub use error::{DecodeError, ParseError};
pub use events::{
    AggTrade, AvgPrice, BlockTrade, BookTicker, DepthUpdate, Event, Kline, KlineCandle, MiniTicker,
    PartialDepth, ReferencePrice, RollingTicker, ServerShutdown, Ticker, Trade,
};
pub use frame::{Combined, ErrorReply, Frame, Reply, UnknownFrame};
pub use request::{
    BatchError, BatchMethod, DEFAULT_MAX_FRAME_BYTES, Method, Property, PropertyValue, Request,
    RequestId, batch,
};
pub use rust_decimal::Decimal;
pub use stream::{
    DepthLevels, KlineInterval, KlineTimezone, StreamKind, StreamName, TickerWindow, UpdateSpeed,
};
pub use symbol::{Lowercase, MAX_SYMBOL_BYTES, Symbol};
pub use text::ShortText;
pub use time::{TimeUnit, Timestamp};
