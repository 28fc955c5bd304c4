//! Stream names: [`StreamName`] (`btcusdt@aggTrade`, `!miniTicker@arr`) and what a
//! stream carries, [`StreamKind`].
//!
//! The grammar is Binance's (PROTOCOL.md §4); parsing lives in `stream_parse.rs`.
//! Printing gives the canonical spelling: `depth@1000ms` prints as `depth`.
//! Retired streams (`!ticker@arr`) and unknown ones are refused with an error that
//! says what to write instead.

use std::fmt;
use std::str::FromStr;

use super::error::ParseError;
use super::symbol::Symbol;

/// How often a depth stream pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UpdateSpeed {
    /// Every 1000 ms: a name without a speed suffix (`btcusdt@depth`).
    Ms1000,
    /// Every 100 ms (`btcusdt@depth@100ms`).
    Ms100,
}

impl UpdateSpeed {
    /// The push interval in milliseconds.
    #[must_use]
    pub const fn millis(self) -> u64 {
        match self {
            UpdateSpeed::Ms1000 => 1000,
            UpdateSpeed::Ms100 => 100,
        }
    }
}

/// How many levels per side a partial depth stream carries (`depth5`, `depth10`, `depth20`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DepthLevels {
    /// Five levels per side.
    L5,
    /// Ten levels per side.
    L10,
    /// Twenty levels per side.
    L20,
}

impl DepthLevels {
    /// The number of levels per side.
    #[must_use]
    pub const fn count(self) -> usize {
        match self {
            DepthLevels::L5 => 5,
            DepthLevels::L10 => 10,
            DepthLevels::L20 => 20,
        }
    }
}

/// The window of a rolling-window ticker (`<s>@ticker_<w>`, `!ticker_<w>@arr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TickerWindow {
    /// One hour (`1h`).
    H1,
    /// Four hours (`4h`).
    H4,
    /// One day (`1d`).
    D1,
}

impl TickerWindow {
    /// Every window, shortest first.
    pub const ALL: [TickerWindow; 3] = [TickerWindow::H1, TickerWindow::H4, TickerWindow::D1];

    /// The window as written in stream names (`1h`, `4h`, `1d`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TickerWindow::H1 => "1h",
            TickerWindow::H4 => "4h",
            TickerWindow::D1 => "1d",
        }
    }

    /// The event type of this window's payloads (`1hTicker`, `4hTicker`, `1dTicker`).
    #[must_use]
    pub const fn event_type(self) -> &'static str {
        match self {
            TickerWindow::H1 => "1hTicker",
            TickerWindow::H4 => "4hTicker",
            TickerWindow::D1 => "1dTicker",
        }
    }

    /// Parses `1h`, `4h` or `1d`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == text)
    }

    /// The window whose payloads have event type `text` (`1hTicker` …).
    #[must_use]
    pub fn from_event_type(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.event_type() == text)
    }
}

/// A kline (candlestick) interval; case-sensitive, as on Binance (`1m` is a minute,
/// `1M` a month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(
    missing_docs,
    reason = "each variant is documented by its spelling in `as_str`"
)]
pub enum KlineInterval {
    S1,
    M1,
    M3,
    M5,
    M15,
    M30,
    H1,
    H2,
    H4,
    H6,
    H8,
    H12,
    D1,
    D3,
    W1,
    /// A calendar month (`1M`).
    Mo1,
}

impl KlineInterval {
    /// Every interval, shortest first.
    pub const ALL: [KlineInterval; 16] = [
        KlineInterval::S1,
        KlineInterval::M1,
        KlineInterval::M3,
        KlineInterval::M5,
        KlineInterval::M15,
        KlineInterval::M30,
        KlineInterval::H1,
        KlineInterval::H2,
        KlineInterval::H4,
        KlineInterval::H6,
        KlineInterval::H8,
        KlineInterval::H12,
        KlineInterval::D1,
        KlineInterval::D3,
        KlineInterval::W1,
        KlineInterval::Mo1,
    ];

    /// The interval as Binance writes it (`1s`, `1m`, …, `1M`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            KlineInterval::S1 => "1s",
            KlineInterval::M1 => "1m",
            KlineInterval::M3 => "3m",
            KlineInterval::M5 => "5m",
            KlineInterval::M15 => "15m",
            KlineInterval::M30 => "30m",
            KlineInterval::H1 => "1h",
            KlineInterval::H2 => "2h",
            KlineInterval::H4 => "4h",
            KlineInterval::H6 => "6h",
            KlineInterval::H8 => "8h",
            KlineInterval::H12 => "12h",
            KlineInterval::D1 => "1d",
            KlineInterval::D3 => "3d",
            KlineInterval::W1 => "1w",
            KlineInterval::Mo1 => "1M",
        }
    }

    /// Parses an interval (case-sensitive).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == text)
    }
}

/// Which clock kline intervals align to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KlineTimezone {
    /// UTC: a name without suffix (`btcusdt@kline_1d`).
    Utc,
    /// UTC+8 (`btcusdt@kline_1d@+08:00`); times in payloads are still UTC epoch.
    Utc8,
}

/// What a stream carries, independent of its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamKind {
    /// `<s>@aggTrade`: aggregate trades.
    AggTrade,
    /// `<s>@trade`: trades.
    Trade,
    /// `<s>@blockTrade`: block trades (since 2026-05-12).
    BlockTrade,
    /// `<s>@kline_<i>[@+08:00]`: the current candle.
    Kline {
        /// The candle interval.
        interval: KlineInterval,
        /// The clock the candles align to.
        timezone: KlineTimezone,
    },
    /// `<s>@miniTicker`: rolling 24 h statistics, short form.
    MiniTicker,
    /// `!miniTicker@arr`: the mini tickers of every symbol that changed.
    AllMiniTickers,
    /// `<s>@ticker`: rolling 24 h statistics.
    Ticker,
    /// `<s>@ticker_<w>`: rolling-window statistics.
    RollingTicker(TickerWindow),
    /// `!ticker_<w>@arr`: the rolling-window tickers of every symbol that changed.
    AllRollingTickers(TickerWindow),
    /// `<s>@bookTicker`: best bid and ask.
    BookTicker,
    /// `<s>@avgPrice`: average price (since 2023-12).
    AvgPrice,
    /// `<s>@referencePrice`: reference price (since 2026-03).
    ReferencePrice,
    /// `<s>@depth<L>[@100ms]`: the top levels of the book.
    PartialDepth {
        /// Levels per side.
        levels: DepthLevels,
        /// Push interval.
        speed: UpdateSpeed,
    },
    /// `<s>@depth[@100ms]`: order book changes (`depthUpdate`).
    Depth(UpdateSpeed),
}

impl StreamKind {
    /// True for streams that cover every symbol and take none in their name (`!…@arr`).
    #[must_use]
    pub const fn is_market_wide(self) -> bool {
        matches!(
            self,
            StreamKind::AllMiniTickers | StreamKind::AllRollingTickers(_)
        )
    }

    /// The event type (`e`) of this stream's payloads; `None` for `bookTicker` and
    /// partial depth, whose payloads have none.
    #[must_use]
    pub const fn event_type(self) -> Option<&'static str> {
        match self {
            StreamKind::AggTrade => Some("aggTrade"),
            StreamKind::Trade => Some("trade"),
            StreamKind::BlockTrade => Some("blockTrade"),
            StreamKind::Kline { .. } => Some("kline"),
            StreamKind::MiniTicker | StreamKind::AllMiniTickers => Some("24hrMiniTicker"),
            StreamKind::Ticker => Some("24hrTicker"),
            StreamKind::RollingTicker(w) | StreamKind::AllRollingTickers(w) => Some(w.event_type()),
            StreamKind::AvgPrice => Some("avgPrice"),
            StreamKind::ReferencePrice => Some("referencePrice"),
            StreamKind::Depth(_) => Some("depthUpdate"),
            StreamKind::BookTicker | StreamKind::PartialDepth { .. } => None,
        }
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StreamKind::AggTrade => f.write_str("aggTrade"),
            StreamKind::Trade => f.write_str("trade"),
            StreamKind::BlockTrade => f.write_str("blockTrade"),
            StreamKind::Kline { interval, timezone } => {
                write!(f, "kline_{}", interval.as_str())?;
                match timezone {
                    KlineTimezone::Utc => Ok(()),
                    KlineTimezone::Utc8 => f.write_str("@+08:00"),
                }
            }
            StreamKind::MiniTicker => f.write_str("miniTicker"),
            StreamKind::AllMiniTickers => f.write_str("!miniTicker@arr"),
            StreamKind::Ticker => f.write_str("ticker"),
            StreamKind::RollingTicker(w) => write!(f, "ticker_{}", w.as_str()),
            StreamKind::AllRollingTickers(w) => write!(f, "!ticker_{}@arr", w.as_str()),
            StreamKind::BookTicker => f.write_str("bookTicker"),
            StreamKind::AvgPrice => f.write_str("avgPrice"),
            StreamKind::ReferencePrice => f.write_str("referencePrice"),
            StreamKind::PartialDepth { levels, speed } => {
                write!(f, "depth{}", levels.count())?;
                match speed {
                    UpdateSpeed::Ms1000 => Ok(()),
                    UpdateSpeed::Ms100 => f.write_str("@100ms"),
                }
            }
            StreamKind::Depth(UpdateSpeed::Ms1000) => f.write_str("depth"),
            StreamKind::Depth(UpdateSpeed::Ms100) => f.write_str("depth@100ms"),
        }
    }
}

impl FromStr for StreamKind {
    type Err = ParseError;

    /// Parses a stream type as written after the `@` (`aggTrade`, `depth@100ms`,
    /// `kline_1m`), or a whole market-wide name (`!miniTicker@arr`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        super::stream_parse::parse_kind(text, text)
    }
}

/// A stream name: a symbol and a [`StreamKind`], or a market-wide kind alone.
///
/// Printing gives Binance's canonical spelling, with the symbol in lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamName {
    symbol: Option<Symbol>,
    kind: StreamKind,
}

impl StreamName {
    /// The stream of `kind` for `symbol`.
    ///
    /// # Errors
    /// [`ParseError::StreamName`] when `kind` is market-wide (use [`market_wide`](Self::market_wide)).
    pub fn new(symbol: Symbol, kind: StreamKind) -> Result<Self, ParseError> {
        if kind.is_market_wide() {
            return Err(ParseError::StreamName {
                input: format!("{}@{kind}", symbol.lowercase()),
                reason: format!("`{kind}` covers every symbol and takes none: use `{kind}`"),
            });
        }
        Ok(StreamName {
            symbol: Some(symbol),
            kind,
        })
    }

    /// A market-wide stream (`!miniTicker@arr`, `!ticker_<w>@arr`).
    ///
    /// # Errors
    /// [`ParseError::StreamName`] when `kind` needs a symbol (use [`new`](Self::new)).
    pub fn market_wide(kind: StreamKind) -> Result<Self, ParseError> {
        if !kind.is_market_wide() {
            return Err(ParseError::StreamName {
                input: kind.to_string(),
                reason: format!("`{kind}` needs a symbol: write `<symbol>@{kind}`"),
            });
        }
        Ok(StreamName { symbol: None, kind })
    }

    /// Parses a stream name as Binance accepts it (`btcusdt@aggTrade`).
    ///
    /// # Errors
    /// [`ParseError`] naming the problem and the fix: a missing or uppercase symbol,
    /// an unknown or retired stream type, a bad interval, window, level or speed.
    pub fn parse(name: &str) -> Result<Self, ParseError> {
        super::stream_parse::parse_name(name)
    }

    /// Builds a name from parts already checked by the parser.
    pub(crate) const fn from_parts(symbol: Option<Symbol>, kind: StreamKind) -> Self {
        StreamName { symbol, kind }
    }

    /// The symbol, or `None` for a market-wide stream.
    #[must_use]
    pub fn symbol(&self) -> Option<&Symbol> {
        self.symbol.as_ref()
    }

    /// What the stream carries.
    #[must_use]
    pub const fn kind(&self) -> StreamKind {
        self.kind
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.symbol {
            Some(symbol) => write!(f, "{}@{}", symbol.lowercase(), self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl FromStr for StreamName {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        StreamName::parse(text)
    }
}

impl serde::Serialize for StreamName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
