//! Building stream lists from command-line input:
//! `--symbols btcusdt,ethusdt --streams aggTrade,depth,bookTicker` becomes
//! `btcusdt@aggTrade`, `btcusdt@depth`, `btcusdt@bookTicker`, `ethusdt@aggTrade`, ….
//!
//! Stream types are written as after the `@` of a stream name, so `depth` is
//! Binance's `depth` (1000 ms) and `depth@100ms` must be asked for explicitly;
//! market-wide streams (`!miniTicker@arr`) may be listed too and need no symbol.

use super::error::ParseError;
use super::stream::{StreamKind, StreamName};
use super::symbol::Symbol;

/// Splits a comma-separated list; spaces around entries are ignored.
fn entries<'a>(option: &'static str, list: &'a str) -> Result<Vec<&'a str>, ParseError> {
    let error = |reason: String| ParseError::List {
        option,
        input: list.to_owned(),
        reason,
    };
    if list.trim().is_empty() {
        return Err(error("the list is empty".to_owned()));
    }
    list.split(',')
        .enumerate()
        .map(|(index, entry)| {
            let entry = entry.trim();
            if entry.is_empty() {
                Err(error(format!(
                    "entry {} is empty: remove the extra comma",
                    index + 1
                )))
            } else {
                Ok(entry)
            }
        })
        .collect()
}

/// Parses `btcusdt,ethusdt` (either case) into symbols, dropping repeats.
///
/// # Errors
/// [`ParseError::List`] for an empty list or entry, [`ParseError::Symbol`] for a bad symbol.
pub fn parse_symbols(list: &str) -> Result<Vec<Symbol>, ParseError> {
    let mut symbols: Vec<Symbol> = Vec::new();
    for entry in entries("--symbols", list)? {
        let symbol = Symbol::new(entry)?;
        if !symbols.contains(&symbol) {
            symbols.push(symbol);
        }
    }
    Ok(symbols)
}

/// Parses `aggTrade,depth@100ms,kline_1m` into stream kinds, dropping repeats.
///
/// # Errors
/// [`ParseError::List`] for an empty list or entry, or a full stream name where a
/// type belongs; the stream-type errors of [`StreamKind`]'s parser otherwise.
pub fn parse_stream_kinds(list: &str) -> Result<Vec<StreamKind>, ParseError> {
    let mut kinds: Vec<StreamKind> = Vec::new();
    for entry in entries("--streams", list)? {
        let kind = match entry.parse::<StreamKind>() {
            Ok(kind) => kind,
            Err(error) => {
                if let Some(symbol) = StreamName::parse(entry).ok().and_then(|name| {
                    name.symbol()
                        .map(|s| (s.lowercase().to_string(), name.kind()))
                }) {
                    let (symbol, kind) = symbol;
                    return Err(ParseError::List {
                        option: "--streams",
                        input: list.to_owned(),
                        reason: format!(
                            "`{entry}` is a whole stream name: list the type `{kind}` here and \
                             the symbol `{symbol}` in --symbols"
                        ),
                    });
                }
                return Err(error);
            }
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Every stream of `kinds` for every symbol, symbol by symbol; market-wide kinds
/// once, after them.
#[must_use]
pub fn streams_for(symbols: &[Symbol], kinds: &[StreamKind]) -> Vec<StreamName> {
    let mut streams = Vec::new();
    for symbol in symbols {
        for kind in kinds.iter().filter(|k| !k.is_market_wide()) {
            streams.push(StreamName::from_parts(Some(symbol.clone()), *kind));
        }
    }
    for kind in kinds.iter().filter(|k| k.is_market_wide()) {
        streams.push(StreamName::from_parts(None, *kind));
    }
    streams
}

/// The streams selected by `--symbols` and `--streams`. `symbols` may be empty
/// when every stream type is market-wide.
///
/// # Errors
/// The errors of [`parse_symbols`] and [`parse_stream_kinds`], and
/// [`ParseError::List`] when per-symbol stream types are given without symbols.
pub fn parse_selection(symbols: &str, streams: &str) -> Result<Vec<StreamName>, ParseError> {
    let kinds = parse_stream_kinds(streams)?;
    let needs_symbols = kinds.iter().find(|k| !k.is_market_wide());
    let symbols = match (symbols.trim().is_empty(), needs_symbols) {
        (true, None) => Vec::new(),
        (true, Some(kind)) => {
            return Err(ParseError::List {
                option: "--symbols",
                input: symbols.to_owned(),
                reason: format!(
                    "stream type `{kind}` needs symbols: pass them as `--symbols btcusdt,ethusdt`"
                ),
            });
        }
        (false, _) => parse_symbols(symbols)?,
    };
    Ok(streams_for(&symbols, &kinds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(symbols: &str, streams: &str) -> Result<Vec<String>, String> {
        parse_selection(symbols, streams)
            .map(|s| s.iter().map(ToString::to_string).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn crosses_symbols_and_types() {
        assert_eq!(
            names(
                "btcusdt, ETHUSDT",
                "aggTrade,depth,bookTicker,!miniTicker@arr"
            ),
            Ok([
                "btcusdt@aggTrade",
                "btcusdt@depth",
                "btcusdt@bookTicker",
                "ethusdt@aggTrade",
                "ethusdt@depth",
                "ethusdt@bookTicker",
                "!miniTicker@arr",
            ]
            .map(String::from)
            .to_vec())
        );
        assert_eq!(
            names("", "!ticker_1h@arr"),
            Ok(vec!["!ticker_1h@arr".to_owned()])
        );
        assert_eq!(
            names("btcusdt,btcusdt", "depth@100ms,depth@100ms"),
            Ok(vec!["btcusdt@depth@100ms".to_owned()])
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        let cases = [
            (
                "btcusdt,,ethusdt",
                "aggTrade",
                "entry 2 is empty: remove the extra comma",
            ),
            ("", "aggTrade", "needs symbols: pass them as `--symbols"),
            ("btcusdt", "aggtrade", "did you mean `aggTrade`?"),
            (
                "btcusdt",
                "btcusdt@aggTrade",
                "list the type `aggTrade` here",
            ),
            ("btc usdt", "trade", "is not allowed in a symbol"),
            ("btcusdt", " ", "the list is empty"),
        ];
        for (symbols, streams, expected) in cases {
            match names(symbols, streams) {
                Ok(names) => panic!("{symbols:?} {streams:?} gave {names:?}"),
                Err(message) => assert!(message.contains(expected), "{message}"),
            }
        }
    }
}
