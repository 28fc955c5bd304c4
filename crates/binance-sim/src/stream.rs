//! Stream names: parsing and printing `btcusdt@aggTrade`, `!miniTicker@arr` and friends.
//!
//! The grammar is Binance's (PROTOCOL.md §4). A name that does not follow it is an
//! *invalid stream* (Binance answers `Invalid request: invalid stream`); a name that
//! follows it for a symbol the exchange does not list is accepted and never delivers
//! data, as on Binance.

use std::fmt;

/// How often a depth stream is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DepthSpeed {
    /// Every 1000 ms (the default when a name has no speed suffix).
    Ms1000,
    /// Every 100 ms.
    Ms100,
}

impl DepthSpeed {
    /// The push interval in milliseconds.
    #[must_use]
    pub const fn millis(self) -> u64 {
        match self {
            DepthSpeed::Ms1000 => 1000,
            DepthSpeed::Ms100 => 100,
        }
    }
}

/// The window of a rolling-window ticker (`<s>@ticker_<w>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TickerWindow {
    /// One hour.
    H1,
    /// Four hours.
    H4,
    /// One day.
    D1,
}

impl TickerWindow {
    /// The window's length in milliseconds.
    #[must_use]
    pub const fn millis(self) -> u64 {
        match self {
            TickerWindow::H1 => 3_600_000,
            TickerWindow::H4 => 4 * 3_600_000,
            TickerWindow::D1 => 24 * 3_600_000,
        }
    }

    /// The suffix used in stream names and the event type prefix (`1h`, `4h`, `1d`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TickerWindow::H1 => "1h",
            TickerWindow::H4 => "4h",
            TickerWindow::D1 => "1d",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "1h" => Some(TickerWindow::H1),
            "4h" => Some(TickerWindow::H4),
            "1d" => Some(TickerWindow::D1),
            _ => None,
        }
    }
}

/// A kline (candlestick) interval; case-sensitive, as on Binance (`1m` is a minute, `1M` a month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KlineInterval {
    /// `1s`
    S1,
    /// `1m`
    M1,
    /// `3m`
    M3,
    /// `5m`
    M5,
    /// `15m`
    M15,
    /// `30m`
    M30,
    /// `1h`
    H1,
    /// `2h`
    H2,
    /// `4h`
    H4,
    /// `6h`
    H6,
    /// `8h`
    H8,
    /// `12h`
    H12,
    /// `1d`
    D1,
    /// `3d`
    D3,
    /// `1w`
    W1,
    /// `1M` (calendar month)
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

    /// The interval as Binance writes it.
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

    /// How often the stream pushes this interval's current candle: 1 s for `1s`, else 2 s.
    #[must_use]
    pub const fn push_millis(self) -> u64 {
        match self {
            KlineInterval::S1 => 1000,
            _ => 2000,
        }
    }
}

/// What a stream carries, independent of its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamKind {
    /// `<s>@aggTrade`
    AggTrade,
    /// `<s>@trade`
    Trade,
    /// `<s>@blockTrade`: accepted; the simulated market has no block trades, so it stays silent.
    BlockTrade,
    /// `<s>@kline_<i>`, optionally aligned to UTC+8 (`@+08:00`).
    Kline {
        /// The candle interval.
        interval: KlineInterval,
        /// Whether candles align to UTC+8 instead of UTC.
        utc8: bool,
    },
    /// `<s>@miniTicker`
    MiniTicker,
    /// `!miniTicker@arr`
    AllMiniTickers,
    /// `<s>@ticker`
    Ticker,
    /// `<s>@ticker_<w>`
    RollingTicker(TickerWindow),
    /// `!ticker_<w>@arr`
    AllRollingTickers(TickerWindow),
    /// `<s>@bookTicker`
    BookTicker,
    /// `<s>@avgPrice`
    AvgPrice,
    /// `<s>@referencePrice`: accepted; the simulator publishes no reference prices.
    ReferencePrice,
    /// `<s>@depth<L>[@100ms]`, L ∈ 5, 10, 20.
    PartialDepth {
        /// Levels per side.
        levels: u8,
        /// Push interval.
        speed: DepthSpeed,
    },
    /// `<s>@depth[@100ms|@1000ms]`
    Depth(DepthSpeed),
}

/// A parsed stream name. Printing it gives back Binance's canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamName {
    /// The lowercase symbol, or `None` for market-wide `!…@arr` streams.
    pub symbol: Option<Box<str>>,
    /// What the stream carries.
    pub kind: StreamKind,
}

/// Why a stream name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid stream name {name:?}: {reason}")]
pub struct InvalidStream {
    /// The name as given.
    pub name: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl StreamName {
    /// A stream for one symbol; the symbol is lowercased.
    #[must_use]
    pub fn new(symbol: &str, kind: StreamKind) -> Self {
        StreamName {
            symbol: Some(symbol.to_lowercase().into_boxed_str()),
            kind,
        }
    }

    /// Parses a stream name as Binance accepts it.
    ///
    /// # Errors
    /// [`InvalidStream`] when the name does not follow the grammar: an empty or
    /// uppercase symbol, an unknown stream type, a bad interval, window or level.
    pub fn parse(name: &str) -> Result<Self, InvalidStream> {
        let invalid = |reason| InvalidStream {
            name: name.to_owned(),
            reason,
        };
        if let Some(rest) = name.strip_prefix('!') {
            let kind = match rest {
                "miniTicker@arr" => StreamKind::AllMiniTickers,
                _ => {
                    let window = rest
                        .strip_prefix("ticker_")
                        .and_then(|r| r.strip_suffix("@arr"))
                        .and_then(TickerWindow::parse)
                        .ok_or_else(|| invalid("unknown market-wide stream"))?;
                    StreamKind::AllRollingTickers(window)
                }
            };
            return Ok(StreamName { symbol: None, kind });
        }
        let (symbol, rest) = name
            .split_once('@')
            .ok_or_else(|| invalid("missing '@' between symbol and stream type"))?;
        if symbol.is_empty() {
            return Err(invalid("empty symbol"));
        }
        if symbol.chars().any(|c| {
            c.is_uppercase() || c.is_whitespace() || c.is_control() || "/!?#&%\"\\".contains(c)
        }) {
            return Err(invalid("symbols in stream names must be lowercase"));
        }
        let kind = parse_kind(rest).ok_or_else(|| invalid("unknown stream type"))?;
        Ok(StreamName {
            symbol: Some(symbol.into()),
            kind,
        })
    }

    /// The uppercase symbol as it appears in payloads (`s`), if the stream has one.
    #[must_use]
    pub fn upper_symbol(&self) -> Option<String> {
        self.symbol.as_deref().map(str::to_uppercase)
    }
}

fn parse_kind(rest: &str) -> Option<StreamKind> {
    let kind = match rest {
        "aggTrade" => StreamKind::AggTrade,
        "trade" => StreamKind::Trade,
        "blockTrade" => StreamKind::BlockTrade,
        "miniTicker" => StreamKind::MiniTicker,
        "ticker" => StreamKind::Ticker,
        "bookTicker" => StreamKind::BookTicker,
        "avgPrice" => StreamKind::AvgPrice,
        "referencePrice" => StreamKind::ReferencePrice,
        "depth" | "depth@1000ms" => StreamKind::Depth(DepthSpeed::Ms1000),
        "depth@100ms" => StreamKind::Depth(DepthSpeed::Ms100),
        _ => {
            if let Some(k) = rest.strip_prefix("kline_") {
                let (interval, utc8) = match k.strip_suffix("@+08:00") {
                    Some(i) => (i, true),
                    None => (k, false),
                };
                return Some(StreamKind::Kline {
                    interval: KlineInterval::parse(interval)?,
                    utc8,
                });
            }
            if let Some(w) = rest.strip_prefix("ticker_") {
                return TickerWindow::parse(w).map(StreamKind::RollingTicker);
            }
            let d = rest.strip_prefix("depth")?;
            let (levels, speed) = match d.strip_suffix("@100ms") {
                Some(l) => (l, DepthSpeed::Ms100),
                None => (d, DepthSpeed::Ms1000),
            };
            let levels = match levels {
                "5" => 5,
                "10" => 10,
                "20" => 20,
                _ => return None,
            };
            StreamKind::PartialDepth { levels, speed }
        }
    };
    Some(kind)
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let symbol = self.symbol.as_deref().unwrap_or("");
        match self.kind {
            StreamKind::AllMiniTickers => f.write_str("!miniTicker@arr"),
            StreamKind::AllRollingTickers(w) => write!(f, "!ticker_{}@arr", w.as_str()),
            StreamKind::AggTrade => write!(f, "{symbol}@aggTrade"),
            StreamKind::Trade => write!(f, "{symbol}@trade"),
            StreamKind::BlockTrade => write!(f, "{symbol}@blockTrade"),
            StreamKind::Kline { interval, utc8 } => {
                write!(f, "{symbol}@kline_{}", interval.as_str())?;
                if utc8 {
                    f.write_str("@+08:00")?;
                }
                Ok(())
            }
            StreamKind::MiniTicker => write!(f, "{symbol}@miniTicker"),
            StreamKind::Ticker => write!(f, "{symbol}@ticker"),
            StreamKind::RollingTicker(w) => write!(f, "{symbol}@ticker_{}", w.as_str()),
            StreamKind::BookTicker => write!(f, "{symbol}@bookTicker"),
            StreamKind::AvgPrice => write!(f, "{symbol}@avgPrice"),
            StreamKind::ReferencePrice => write!(f, "{symbol}@referencePrice"),
            StreamKind::PartialDepth { levels, speed } => {
                write!(f, "{symbol}@depth{levels}")?;
                if speed == DepthSpeed::Ms100 {
                    f.write_str("@100ms")?;
                }
                Ok(())
            }
            StreamKind::Depth(DepthSpeed::Ms1000) => write!(f, "{symbol}@depth"),
            StreamKind::Depth(DepthSpeed::Ms100) => write!(f, "{symbol}@depth@100ms"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_documented_shape() {
        for name in [
            "btcusdt@aggTrade",
            "btcusdt@trade",
            "btcusdt@blockTrade",
            "btcusdt@kline_1m",
            "btcusdt@kline_1M",
            "btcusdt@kline_1s@+08:00",
            "btcusdt@miniTicker",
            "!miniTicker@arr",
            "btcusdt@ticker",
            "btcusdt@ticker_4h",
            "!ticker_1h@arr",
            "btcusdt@bookTicker",
            "btcusdt@avgPrice",
            "btcusdt@referencePrice",
            "btcusdt@depth5",
            "btcusdt@depth20@100ms",
            "btcusdt@depth",
            "btcusdt@depth@100ms",
            "这是测试币456@trade",
        ] {
            let parsed = StreamName::parse(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.to_string(), name);
        }
        // `@1000ms` is accepted and printed canonically.
        assert_eq!(
            StreamName::parse("btcusdt@depth@1000ms").map(|s| s.to_string()),
            Ok("btcusdt@depth".to_owned())
        );
    }

    #[test]
    fn refuses_what_binance_refuses() {
        for name in [
            "",
            "btcusdt",
            "@trade",
            "BTCUSDT@trade",
            "btcusdt@Trade",
            "btcusdt@kline_2m",
            "btcusdt@kline_1H",
            "btcusdt@depth15",
            "btcusdt@depth5@250ms",
            "btcusdt@ticker_2h",
            "!ticker@arr",
            "!bookTicker",
            "btc/usdt@trade",
        ] {
            assert!(StreamName::parse(name).is_err(), "{name:?} was accepted");
        }
    }
}
