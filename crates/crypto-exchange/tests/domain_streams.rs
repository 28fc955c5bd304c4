//! Stream names print back as parsed, CLI lists build the expected streams or say
//! what is wrong, and control requests batch many streams into few frames.

use anyhow::{Context, Result, ensure};
use crypto_exchange::domain::{
    BatchMethod, DEFAULT_MAX_FRAME_BYTES, DepthLevels, KlineInterval, KlineTimezone, Method,
    ParseError, Request, RequestId, StreamKind, StreamName, Symbol, TickerWindow, UpdateSpeed,
    batch, parse_selection,
};
use proptest::prelude::*;

fn all_kinds() -> Vec<StreamKind> {
    let mut kinds = vec![
        StreamKind::AggTrade,
        StreamKind::Trade,
        StreamKind::BlockTrade,
        StreamKind::MiniTicker,
        StreamKind::AllMiniTickers,
        StreamKind::Ticker,
        StreamKind::BookTicker,
        StreamKind::AvgPrice,
        StreamKind::ReferencePrice,
        StreamKind::Depth(UpdateSpeed::Ms1000),
        StreamKind::Depth(UpdateSpeed::Ms100),
    ];
    for interval in KlineInterval::ALL {
        for timezone in [KlineTimezone::Utc, KlineTimezone::Utc8] {
            kinds.push(StreamKind::Kline { interval, timezone });
        }
    }
    for window in TickerWindow::ALL {
        kinds.push(StreamKind::RollingTicker(window));
        kinds.push(StreamKind::AllRollingTickers(window));
    }
    for levels in [DepthLevels::L5, DepthLevels::L10, DepthLevels::L20] {
        for speed in [UpdateSpeed::Ms1000, UpdateSpeed::Ms100] {
            kinds.push(StreamKind::PartialDepth { levels, speed });
        }
    }
    kinds
}

fn name_for(symbol: &Symbol, kind: StreamKind) -> Result<StreamName> {
    Ok(if kind.is_market_wide() {
        StreamName::market_wide(kind)?
    } else {
        StreamName::new(symbol.clone(), kind)?
    })
}

#[test]
fn every_kind_prints_and_parses_back() -> Result<()> {
    let symbol = Symbol::new("BTCUSDT")?;
    for kind in all_kinds() {
        let name = name_for(&symbol, kind)?;
        let text = name.to_string();
        ensure!(text.parse::<StreamName>()? == name, "{text}");
        ensure!(kind.to_string().parse::<StreamKind>()? == kind, "{kind}");
        ensure!(serde_json::to_string(&name)? == format!("\"{text}\""));
    }
    Ok(())
}

#[test]
fn constructors_refuse_mismatched_symbols() -> Result<()> {
    let symbol = Symbol::new("btcusdt")?;
    let error = StreamName::new(symbol, StreamKind::AllMiniTickers).err();
    ensure!(error.is_some_and(|e| e.to_string().contains("takes none: use `!miniTicker@arr`")));
    let error = StreamName::market_wide(StreamKind::Trade).err();
    ensure!(error.is_some_and(|e| {
        e.to_string()
            .contains("needs a symbol: write `<symbol>@trade`")
    }));
    Ok(())
}

#[test]
fn the_documented_error_message() {
    let error = StreamName::parse("btcusdt@aggtrade").err();
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some(
            "unknown stream type `aggtrade` in `btcusdt@aggtrade`: stream types are \
             case-sensitive; did you mean `aggTrade`?"
        )
    );
    let error = "aggtrade".parse::<StreamKind>().err();
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some(
            "unknown stream type `aggtrade`: stream types are case-sensitive; did you mean `aggTrade`?"
        )
    );
}

#[test]
fn cli_selection_builds_streams_or_explains() -> Result<()> {
    let streams = parse_selection("btcusdt,ethusdt", "aggTrade,depth,bookTicker")?;
    let names: Vec<String> = streams.iter().map(ToString::to_string).collect();
    ensure!(
        names
            == [
                "btcusdt@aggTrade",
                "btcusdt@depth",
                "btcusdt@bookTicker",
                "ethusdt@aggTrade",
                "ethusdt@depth",
                "ethusdt@bookTicker",
            ]
    );
    // `depth` is Binance's 1000 ms diff stream; 100 ms is asked for by name.
    ensure!(streams[1].kind() == StreamKind::Depth(UpdateSpeed::Ms1000));
    let fast = parse_selection("btcusdt", "depth@100ms")?;
    ensure!(fast[0].kind() == StreamKind::Depth(UpdateSpeed::Ms100));

    for (symbols, kinds, expected) in [
        ("btcusdt", "depth@250ms", "unknown update speed `@250ms`"),
        ("btcusdt", "kline_1H", "did you mean `1h`?"),
        ("btcusdt", "!ticker@arr", "retired by Binance on 2026-03-26"),
        ("btcusdt", "tickers", "stream types are aggTrade, trade"),
        ("btcusdt,", "trade", "entry 2 is empty"),
        ("btc%usdt", "trade", "`%` is not allowed in a symbol"),
    ] {
        let error = parse_selection(symbols, kinds).err().context("accepted")?;
        ensure!(error.to_string().contains(expected), "{error}");
    }
    let error = parse_selection("", "trade").err();
    ensure!(matches!(
        error,
        Some(ParseError::List {
            option: "--symbols",
            ..
        })
    ));
    Ok(())
}

#[test]
fn request_ids_follow_binance_rules() -> Result<()> {
    ensure!(
        RequestId::text("6f2d5a0c-1f1e-4b9e-9c55-2a2f1c7e0b1d")?
            .as_str()
            .is_some()
    );
    for bad in ["", "has space", "x".repeat(37).as_str(), "ünïcode"] {
        ensure!(RequestId::text(bad).is_err(), "{bad:?}");
    }
    let request = Request::subscribe(RequestId::text("abc-1")?, ["btcusdt@trade".parse()?]);
    ensure!(
        request.to_json() == r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":"abc-1"}"#
    );
    ensure!(
        Request::list_subscriptions(RequestId::int(-7)).to_json()
            == r#"{"method":"LIST_SUBSCRIPTIONS","id":-7}"#
    );
    Ok(())
}

#[test]
fn a_thousand_streams_fit_in_few_frames() -> Result<()> {
    let kinds = [
        "aggTrade",
        "trade",
        "bookTicker",
        "depth@100ms",
        "kline_1m",
        "miniTicker",
        "ticker",
        "avgPrice",
    ];
    let mut streams = Vec::new();
    for i in 0..125 {
        for kind in kinds {
            streams.push(format!("sym{i:04}usdt@{kind}").parse::<StreamName>()?);
        }
    }
    ensure!(streams.len() == 1000);
    let mut next = 100_i64;
    let frames = batch(
        BatchMethod::Subscribe,
        &streams,
        DEFAULT_MAX_FRAME_BYTES,
        || {
            next += 1;
            RequestId::int(next)
        },
    )?;
    ensure!(frames.len() <= 7, "{} frames", frames.len());
    let mut seen = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        ensure!(frame.method() == Method::Subscribe);
        ensure!(frame.id() == &RequestId::int(101 + i64::try_from(i)?));
        let json = frame.to_json();
        ensure!(
            json.len() <= DEFAULT_MAX_FRAME_BYTES,
            "{} bytes",
            json.len()
        );
        seen.extend_from_slice(frame.streams());
    }
    ensure!(seen == streams, "streams lost, repeated or reordered");
    // Frames are packed: the next stream would not have fit.
    for pair in frames.windows(2) {
        let first = &pair[0];
        let next_stream = pair[1].streams()[0].to_string();
        ensure!(first.to_json().len() + next_stream.len() + 3 > DEFAULT_MAX_FRAME_BYTES);
    }
    Ok(())
}

#[test]
fn batching_edge_cases() -> Result<()> {
    let frames = batch(BatchMethod::Unsubscribe, &[], 100, || RequestId::int(1))?;
    ensure!(frames.is_empty());
    let streams = ["btcusdt@aggTrade".parse()?];
    let error = batch(BatchMethod::Unsubscribe, &streams, 40, || RequestId::int(1)).err();
    ensure!(error.is_some_and(|e| e.to_string().contains("over the 40-byte budget")));
    let exact = r#"{"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}"#.len();
    let frames = batch(BatchMethod::Unsubscribe, &streams, exact, || {
        RequestId::int(1)
    })?;
    ensure!(frames.len() == 1 && frames[0].to_json().len() == exact);
    Ok(())
}

proptest! {
    #[test]
    fn names_round_trip(symbol in "[a-z0-9]{1,12}|[a-z]{2,6}[-_.][a-z]{2,6}|这是测试币[0-9]{1,3}", kind in 0..all_kinds().len()) {
        let symbol = Symbol::new(&symbol).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let name = name_for(&symbol, all_kinds()[kind]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = name.to_string();
        prop_assert_eq!(StreamName::parse(&text).ok(), Some(name));
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in ".{0,60}") {
        let _ = StreamName::parse(&text);
        let _ = text.parse::<StreamKind>();
        let _ = Symbol::new(&text);
        let _ = parse_selection(&text, &text);
    }

    #[test]
    fn batches_always_fit(lens in proptest::collection::vec(1_usize..40, 0..300), budget in 100_usize..2_000) {
        let streams: Vec<StreamName> = lens
            .iter()
            .enumerate()
            .filter_map(|(i, len)| format!("s{i}{}@trade", "x".repeat(*len)).parse().ok())
            .collect();
        let mut id = 0_i64;
        let frames = batch(BatchMethod::Subscribe, &streams, budget, || { id += 1; RequestId::int(id) })
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut seen = Vec::new();
        for frame in &frames {
            prop_assert!(frame.to_json().len() <= budget);
            seen.extend_from_slice(frame.streams());
        }
        prop_assert_eq!(seen, streams);
    }
}
