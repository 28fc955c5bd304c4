//! Parsing stream names and stream types, with errors that say what to write instead.

use super::error::ParseError;
use super::stream::{
    DepthLevels, KlineInterval, KlineTimezone, StreamKind, StreamName, TickerWindow, UpdateSpeed,
};
use super::symbol::Symbol;

/// The stream types without parameters, as written after `@`.
const PLAIN_TYPES: [(&str, StreamKind); 10] = [
    ("aggTrade", StreamKind::AggTrade),
    ("trade", StreamKind::Trade),
    ("blockTrade", StreamKind::BlockTrade),
    ("miniTicker", StreamKind::MiniTicker),
    ("ticker", StreamKind::Ticker),
    ("bookTicker", StreamKind::BookTicker),
    ("avgPrice", StreamKind::AvgPrice),
    ("referencePrice", StreamKind::ReferencePrice),
    ("depth", StreamKind::Depth(UpdateSpeed::Ms1000)),
    ("!miniTicker@arr", StreamKind::AllMiniTickers),
];

/// Every stream type, for the hint after an unknown one.
const ALL_TYPES: &str = "aggTrade, trade, blockTrade, kline_<interval>[@+08:00], miniTicker, \
    ticker, ticker_<1h|4h|1d>, bookTicker, avgPrice, referencePrice, depth, depth@100ms, \
    depth<5|10|20>[@100ms], !miniTicker@arr, !ticker_<1h|4h|1d>@arr";

const INTERVALS: &str = "1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M";

/// Parses a whole stream name.
pub(crate) fn parse_name(name: &str) -> Result<StreamName, ParseError> {
    let invalid = |reason: String| ParseError::StreamName {
        input: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid(
            "a stream name cannot be empty: write `<symbol>@<type>` such as `btcusdt@aggTrade`, \
             or a market-wide stream such as `!miniTicker@arr`"
                .to_owned(),
        ));
    }
    if name.starts_with('!') {
        let kind = parse_kind(name, name)?;
        return Ok(StreamName::from_parts(None, kind));
    }
    let Some((symbol, rest)) = name.split_once('@') else {
        let reason = match parse_kind(name, name) {
            // Market-wide types start with `!` and were handled above.
            Ok(kind) => {
                format!("`{kind}` has no symbol: write `<symbol>@{kind}`, e.g. `btcusdt@{kind}`")
            }
            Err(_) => "missing `@` between symbol and stream type: write `<symbol>@<type>`, \
                       e.g. `btcusdt@aggTrade`"
                .to_owned(),
        };
        return Err(invalid(reason));
    };
    if symbol.is_empty() {
        return Err(invalid(format!(
            "the symbol before `@` is empty: write `<symbol>@{rest}`, e.g. `btcusdt@{rest}`"
        )));
    }
    if symbol.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(invalid(format!(
            "symbols in stream names are lowercase: did you mean `{}@{rest}`?",
            symbol.to_ascii_lowercase()
        )));
    }
    let symbol = Symbol::from_stream_form(symbol).map_err(invalid)?;
    let kind = parse_kind(rest, name)?;
    if kind.is_market_wide() {
        return Err(invalid(format!(
            "`{kind}` covers every symbol and takes none: write `{kind}`"
        )));
    }
    Ok(StreamName::from_parts(Some(symbol), kind))
}

/// Parses a stream type (`aggTrade`, `depth@100ms`, `!miniTicker@arr`). `input` is
/// the whole name, for messages.
pub(crate) fn parse_kind(text: &str, input: &str) -> Result<StreamKind, ParseError> {
    kind_of(text).map_err(|error| match error {
        KindError::Unknown => ParseError::UnknownStreamType {
            input: input.to_owned(),
            stream_type: text.to_owned(),
            hint: hint(text),
        },
        KindError::Retired => ParseError::RetiredStream {
            input: input.to_owned(),
            date: "2026-03-26",
            advice: "use `<symbol>@ticker` per symbol, `!miniTicker@arr`, or \
                     `!ticker_<1h|4h|1d>@arr`",
        },
        KindError::Invalid(reason) => ParseError::StreamName {
            input: input.to_owned(),
            reason,
        },
    })
}

/// Why a stream type was refused, before it is put into words.
enum KindError {
    Unknown,
    Retired,
    Invalid(String),
}

fn kind_of(text: &str) -> Result<StreamKind, KindError> {
    if let Some(kind) = PLAIN_TYPES
        .iter()
        .find_map(|(name, kind)| (*name == text).then_some(*kind))
    {
        return Ok(kind);
    }
    if text == "!ticker@arr" {
        return Err(KindError::Retired);
    }
    if let Some(rest) = text.strip_prefix("!ticker_") {
        let window = rest.strip_suffix("@arr").unwrap_or(rest);
        return match (TickerWindow::parse(window), rest.ends_with("@arr")) {
            (Some(w), true) => Ok(StreamKind::AllRollingTickers(w)),
            (Some(w), false) => Err(KindError::Invalid(format!(
                "market-wide streams end in `@arr`: did you mean `!ticker_{}@arr`?",
                w.as_str()
            ))),
            (None, _) => Err(KindError::Invalid(format!(
                "unknown rolling ticker window `{window}`: windows are `1h`, `4h` and `1d`"
            ))),
        };
    }
    if let Some(rest) = text.strip_prefix("kline_") {
        return parse_kline(rest).map_err(KindError::Invalid);
    }
    if let Some(window) = text.strip_prefix("ticker_") {
        return TickerWindow::parse(window)
            .map(StreamKind::RollingTicker)
            .ok_or_else(|| {
                KindError::Invalid(format!(
                    "unknown rolling ticker window `{window}`: windows are `1h`, `4h` and `1d` \
                     (for 24 h statistics use `ticker`)"
                ))
            });
    }
    if let Some(parsed) = text.strip_prefix("depth").and_then(parse_depth) {
        return parsed.map_err(KindError::Invalid);
    }
    Err(KindError::Unknown)
}

fn parse_kline(rest: &str) -> Result<StreamKind, String> {
    let (interval, timezone) = match rest.split_once('@') {
        None => (rest, KlineTimezone::Utc),
        Some((interval, "+08:00")) => (interval, KlineTimezone::Utc8),
        Some((_, other)) => {
            return Err(format!(
                "klines align to UTC (no suffix) or to UTC+8 (`@+08:00`), not `@{other}`"
            ));
        }
    };
    let Some(interval) = KlineInterval::parse(interval) else {
        let suggestion = KlineInterval::ALL
            .into_iter()
            .find(|i| i.as_str().eq_ignore_ascii_case(interval))
            .map(|i| format!("did you mean `{}`? ", i.as_str()))
            .unwrap_or_default();
        return Err(format!(
            "unknown kline interval `{interval}`: {suggestion}intervals are {INTERVALS} \
             (case-sensitive: `1m` is a minute, `1M` a month)"
        ));
    };
    Ok(StreamKind::Kline { interval, timezone })
}

/// Parses what follows `depth`; `None` when it does not look like a depth stream at all.
fn parse_depth(rest: &str) -> Option<Result<StreamKind, String>> {
    let (levels, speed) = match rest.split_once('@') {
        Some((levels, speed)) => (levels, Some(speed)),
        None => (rest, None),
    };
    if !levels.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let levels = match levels {
        "" => None,
        "5" => Some(DepthLevels::L5),
        "10" => Some(DepthLevels::L10),
        "20" => Some(DepthLevels::L20),
        other => {
            return Some(Err(format!(
                "partial depth streams have 5, 10 or 20 levels, not {other}: write `depth5`, \
                 `depth10` or `depth20`"
            )));
        }
    };
    let speed = match (speed, levels) {
        (None, _) | (Some("1000ms"), None) => UpdateSpeed::Ms1000,
        (Some("100ms"), _) => UpdateSpeed::Ms100,
        (Some(other), _) => {
            return Some(Err(format!(
                "unknown update speed `@{other}`: depth streams push every 1000 ms (no suffix) \
                 or every 100 ms (`@100ms`)"
            )));
        }
    };
    Some(Ok(match levels {
        None => StreamKind::Depth(speed),
        Some(levels) => StreamKind::PartialDepth { levels, speed },
    }))
}

/// What to write instead of an unknown stream type.
fn hint(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    // The same letters in another case: the commonest mistake (`aggtrade`).
    let case_fix = PLAIN_TYPES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .find(|name| name.to_ascii_lowercase() == lower)
        .or_else(|| {
            ["kline_", "ticker_", "depth", "!ticker_"]
                .into_iter()
                .find(|prefix| lower.starts_with(prefix))
                .map(|prefix| format!("{prefix}{}", &text[prefix.len()..]))
                .filter(|fixed| kind_of(fixed).is_ok())
        });
    if let Some(fix) = case_fix {
        return format!("stream types are case-sensitive; did you mean `{fix}`?");
    }
    let alias = match lower.as_str() {
        "aggtrades" => Some("aggTrade"),
        "trades" => Some("trade"),
        "bookticker@arr" | "!bookticker" | "booktickers" => Some("bookTicker"),
        "depthupdate" | "diffdepth" => Some("depth"),
        "avgprices" => Some("avgPrice"),
        "kline" | "klines" | "candles" => Some("kline_1m"),
        _ => None,
    };
    match alias {
        Some(fix) => format!("did you mean `{fix}`? stream types are {ALL_TYPES}"),
        None => format!("stream types are {ALL_TYPES}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(name: &str) -> String {
        match StreamName::parse(name) {
            Ok(parsed) => panic!("{name:?} was accepted as {parsed}"),
            Err(e) => e.to_string(),
        }
    }

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
        assert_eq!(
            StreamName::parse("btcusdt@depth@1000ms").map(|s| s.to_string()),
            Ok("btcusdt@depth".to_owned())
        );
    }

    #[test]
    fn errors_name_the_problem_and_the_fix() {
        assert_eq!(
            err("btcusdt@aggtrade"),
            "unknown stream type `aggtrade` in `btcusdt@aggtrade`: stream types are \
             case-sensitive; did you mean `aggTrade`?"
        );
        assert!(err("BTCUSDT@trade").contains("did you mean `btcusdt@trade`?"));
        assert!(err("btcusdt@Kline_1m").contains("did you mean `kline_1m`?"));
        assert!(err("btcusdt@kline_1H").contains("did you mean `1h`?"));
        assert!(err("btcusdt@kline_2m").contains("intervals are 1s 1m"));
        assert!(err("btcusdt@depth15").contains("5, 10 or 20 levels"));
        assert!(err("btcusdt@depth5@250ms").contains("`@250ms`"));
        assert!(err("btcusdt@depth5@1000ms").contains("`@1000ms`"));
        assert!(err("btcusdt@ticker_2h").contains("`1h`, `4h` and `1d`"));
        assert!(err("!ticker@arr").contains("retired by Binance on 2026-03-26"));
        assert!(err("aggTrade").contains("write `<symbol>@aggTrade`"));
        assert!(err("btcusdt").contains("missing `@`"));
        assert!(err("@trade").contains("symbol before `@` is empty"));
        assert!(err("btcusdt@!miniTicker@arr").contains("takes none"));
        assert!(err("btcusdt@aggTrades").contains("did you mean `aggTrade`?"));
        assert!(err("btc/usdt@trade").contains("`/` is not allowed"));
        assert!(err("btcusdt@kline_1m@+09:00").contains("UTC+8"));
        assert!(err("!ticker_1h").contains("did you mean `!ticker_1h@arr`?"));
        assert!(err("").contains("cannot be empty"));
    }

    #[test]
    fn unknown_and_retired_types_are_flagged_as_such() {
        for name in ["btcusdt@fooBar", "!ticker@arr", "btcusdt@depthX"] {
            let e = StreamName::parse(name).err();
            assert!(e.is_some_and(|e| e.is_unknown_stream_type()), "{name}");
        }
        let e = StreamName::parse("BTCUSDT@trade").err();
        assert!(e.is_some_and(|e| !e.is_unknown_stream_type()));
    }
}
