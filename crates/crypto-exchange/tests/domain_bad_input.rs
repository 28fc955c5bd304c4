//! Bad input never panics the decoder: each case gives an error that names the
//! problem, or, for stream and event types this crate does not know, a
//! `Frame::Unknown`. Property tests throw arbitrary and mutated frames at it.

use anyhow::{Result, bail, ensure};
use crypto_exchange::domain::{Decimal, Decoder, Frame, TimeUnit, UnknownFrame};
use proptest::prelude::*;

fn combined() -> Decoder {
    Decoder::combined(TimeUnit::Millisecond)
}

fn raw(stream: &str) -> Decoder {
    match stream.parse() {
        Ok(stream) => Decoder::raw(stream, TimeUnit::Millisecond),
        Err(e) => panic!("{stream}: {e}"),
    }
}

/// A combined aggTrade frame with `field` set to the JSON `value` (or removed when
/// `value` is empty).
fn agg_trade_with(field: &str, value: &str) -> String {
    let fields = [
        ("e", r#""aggTrade""#),
        ("E", "1672515782136"),
        ("s", r#""BNBBTC""#),
        ("a", "12345"),
        ("p", r#""0.001""#),
        ("q", r#""100""#),
        ("f", "100"),
        ("l", "105"),
        ("T", "1672515782136"),
        ("m", "true"),
        ("M", "true"),
    ];
    let body: Vec<String> = fields
        .iter()
        .filter_map(|(key, default)| {
            let value = if *key == field { value } else { default };
            (!value.is_empty()).then(|| format!(r#""{key}":{value}"#))
        })
        .collect();
    format!(
        r#"{{"stream":"bnbbtc@aggTrade","data":{{{}}}}}"#,
        body.join(",")
    )
}

fn depth_update_with_bids(bids: &str) -> String {
    format!(
        r#"{{"stream":"bnbbtc@depth","data":{{"e":"depthUpdate","E":1,"s":"BNBBTC","U":1,"u":2,"b":{bids},"a":[]}}}}"#
    )
}

#[test]
fn errors_name_the_problem() -> Result<()> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_result = format!(
        r#"{{"result":{}{},"id":1}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let cases: Vec<(Decoder, String, &str)> = vec![
        (combined(), "not json".into(), "frame is not valid JSON: expected ident at line 1 column 2"),
        (combined(), String::new(), "frame is not valid JSON: EOF"),
        (combined(), "{".into(), "frame is not valid JSON"),
        (combined(), r#"{"result":null,"id":1} x"#.into(), "trailing characters at line 1 column 24"),
        (combined(), "42".into(), "expected a JSON object, found number 42"),
        (combined(), r#""text""#.into(), "expected a JSON object, found string"),
        (combined(), "null".into(), "expected a JSON object, found null"),
        (combined(), "{}".into(), "an empty object"),
        (combined(), "[]".into(), "a bare array on a combined connection"),
        (combined(), r#"{"foo":1}"#.into(), "this object is none of them"),
        (combined(), deep.clone(), "a bare array on a combined connection"),
        (raw("!miniTicker@arr"), deep, "expected an object (24hrMiniTicker), found an array"),
        (combined(), deep_result, "frame is not valid JSON: recursion limit exceeded"),
        (
            combined(),
            agg_trade_with("p", "5"),
            "field `p` of aggTrade: expected a decimal string, found number 5",
        ),
        (combined(), agg_trade_with("q", ""), "aggTrade is missing field `q`"),
        (combined(), agg_trade_with("e", ""), "aggTrade is missing field `e`"),
        (
            combined(),
            agg_trade_with("p", r#""1","p":"2""#),
            "aggTrade has field `p` twice",
        ),
        (
            combined(),
            agg_trade_with("E", "-1"),
            "field `E` of aggTrade: expected an integer time since the epoch, found negative number -1",
        ),
        (
            combined(),
            agg_trade_with("E", "1.5"),
            "field `E` of aggTrade: expected an integer time since the epoch, found number 1.5",
        ),
        (
            combined(),
            agg_trade_with("a", "99999999999999999999999"),
            "field `a` of aggTrade: expected an unsigned integer, found number \
             100000000000000000000000 (a fraction, or beyond 64 bits)",
        ),
        (
            combined(),
            agg_trade_with("a", "1e400"),
            "frame is not valid JSON: number out of range",
        ),
        (combined(), agg_trade_with("p", r#""1e5""#), "field `p` of aggTrade: \"1e5\" is not a plain decimal"),
        (combined(), agg_trade_with("p", r#""""#), "field `p` of aggTrade: \"\" is not a plain decimal"),
        (
            combined(),
            agg_trade_with("p", r#""0.000000000000000000000000000001""#),
            "more than 28 digits after the point",
        ),
        (
            combined(),
            agg_trade_with("q", r#""123456789012345678901234567890""#),
            "field `q` of aggTrade: \"123456789012345678901234567890\" is too many significant digits",
        ),
        (
            combined(),
            agg_trade_with("p", &format!(r#""{}""#, "9".repeat(10_000))),
            "field `p` of aggTrade: \"9999999999999999999999999999999999999999…\" is too many",
        ),
        (combined(), agg_trade_with("s", r#""bnbbtc""#), "payload symbols are uppercase"),
        (combined(), agg_trade_with("s", r#""""#), "field `s` of aggTrade: a symbol cannot be empty"),
        (
            combined(),
            agg_trade_with("m", r#""true""#),
            "field `m` of aggTrade: expected a boolean, found string \"true\"",
        ),
        (combined(), agg_trade_with("M", "null"), ""),
        (
            combined(),
            agg_trade_with("e", r#""trade""#),
            "field `e` of aggTrade: expected event type `aggTrade`, found `trade`",
        ),
        (
            combined(),
            agg_trade_with("e", "7"),
            "field `e` of aggTrade: expected the event type string `aggTrade`, found number 7",
        ),
        (
            combined(),
            r#"{"stream":"BNBBTC@aggTrade","data":{}}"#.into(),
            "field `stream` of combined frame: invalid stream name `BNBBTC@aggTrade`",
        ),
        (
            combined(),
            r#"{"stream":7,"data":{}}"#.into(),
            "field `stream` of combined frame: expected a stream name string, found number 7",
        ),
        (
            combined(),
            r#"{"stream":"bnbbtc@aggTrade"}"#.into(),
            "combined frame is missing field `data`",
        ),
        (
            combined(),
            r#"{"data":{},"x":1}"#.into(),
            "combined frame is missing field `stream`",
        ),
        (
            combined(),
            r#"{"stream":"bnbbtc@aggTrade","data":3}"#.into(),
            "the payload of a `aggTrade` stream is an object or an array, found number 3",
        ),
        (
            combined(),
            r#"{"stream":"bnbbtc@aggTrade","data":[]}"#.into(),
            "`aggTrade` carries an object, found an array",
        ),
        (
            combined(),
            r#"{"stream":"!miniTicker@arr","data":{}}"#.into(),
            "`!miniTicker@arr` carries an array of tickers, found an object",
        ),
        (
            combined(),
            r#"{"stream":"!miniTicker@arr","data":[1]}"#.into(),
            "field `[]` of !miniTicker@arr: expected an object (24hrMiniTicker), found number 1",
        ),
        (
            combined(),
            depth_update_with_bids(r#"[["1","2","3"]]"#),
            "field `b` of depthUpdate: a price level has two elements",
        ),
        (
            combined(),
            depth_update_with_bids(r#"[["1"]]"#),
            "field `b` of depthUpdate: a price level needs two elements",
        ),
        (
            combined(),
            depth_update_with_bids(r#"[[1,"2"]]"#),
            "field `b` of depthUpdate: expected a decimal string, found number 1",
        ),
        (
            combined(),
            depth_update_with_bids(r#"["1"]"#),
            "field `b` of depthUpdate: expected a price level [\"price\", \"quantity\"], found string",
        ),
        (
            combined(),
            depth_update_with_bids("{}"),
            "field `b` of depthUpdate: expected an array, found an object",
        ),
        (
            combined(),
            r#"{"stream":"bnbbtc@ticker_4h","data":{"e":"1hTicker","E":1,"s":"BNBBTC","p":"1","P":"1","o":"1","h":"1","l":"1","c":"1","w":"1","v":"1","q":"1","O":0,"C":1,"F":0,"L":1,"n":2}}"#.into(),
            "field `e` of rolling window ticker: expected `4hTicker` for a `ticker_4h` stream, found `1hTicker`",
        ),
        (
            combined(),
            r#"{"stream":"bnbbtc@kline_1m","data":{"e":"kline","E":1,"s":"BNBBTC","k":{"i":"2m"}}}"#.into(),
            "field `i` of kline candle: unknown kline interval \"2m\"",
        ),
        (
            combined(),
            r#"{"stream":"bnbbtc@kline_1m","data":{"e":"kline","E":1,"s":"BNBBTC","k":{}}}"#.into(),
            "kline candle is missing field `t`",
        ),
        (
            combined(),
            r#"{"result":null,"id":"bad id"}"#.into(),
            "field `id` of control reply: \"bad id\": a string id has only ASCII letters",
        ),
        (
            combined(),
            r#"{"result":null,"id":1.5}"#.into(),
            "field `id` of control reply: expected a request id",
        ),
        (combined(), r#"{"code":2}"#.into(), "error reply is missing field `msg`"),
        (combined(), r#"{"id":1}"#.into(), "this one has neither"),
        (combined(), r#"{"result":1,"result":2}"#.into(), "control reply has field `result` twice"),
        (
            combined(),
            r#"{"e":"aggTrade","E":1}"#.into(),
            "a raw `aggTrade` payload on a combined connection",
        ),
        (
            raw("bnbbtc@bookTicker"),
            r#"{"e":"aggTrade","E":1}"#.into(),
            "a `aggTrade` payload on a connection for `bnbbtc@bookTicker`",
        ),
        (
            raw("bnbbtc@aggTrade"),
            r#"{"e":"trade","E":1}"#.into(),
            "field `e` of aggTrade: expected event type `aggTrade`, found `trade`",
        ),
        (raw("bnbbtc@aggTrade"), "[]".into(), "an array on a connection for `bnbbtc@aggTrade`"),
        (raw("bnbbtc@depth5"), r#"{"bids":[]}"#.into(), "partial depth is missing field `lastUpdateId`"),
        (raw("!miniTicker@arr"), "{}".into(), "an empty object"),
    ];
    let mut failures = Vec::new();
    for (decoder, input, expected) in cases {
        match decoder.decode(&input) {
            Err(error) => {
                let message = error.to_string();
                if expected.is_empty() || !message.contains(expected) {
                    failures.push(format!(
                        "input {input:.120}\nexpected {expected:?}\ngot      {message:?}"
                    ));
                }
            }
            Ok(frame) if expected.is_empty() => {
                ensure!(matches!(frame, Frame::Event { .. }), "{frame:?}");
            }
            Ok(frame) => failures.push(format!("input {input:.120} decoded as {frame:?}")),
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

#[test]
fn unknown_streams_and_event_types_are_frames_not_errors() -> Result<()> {
    let cases = [
        (
            combined(),
            r#"{"stream":"btcusdt@newStream","data":{"e":"x"}}"#,
            UnknownFrame::Stream("btcusdt@newStream".into()),
        ),
        (
            combined(),
            r#"{"stream":"!ticker@arr","data":[]}"#,
            UnknownFrame::Stream("!ticker@arr".into()),
        ),
        (
            combined(),
            r#"{"e":"outboundAccountPosition","E":1,"u":1,"B":[]}"#,
            UnknownFrame::EventType("outboundAccountPosition".into()),
        ),
        (
            combined(),
            r#"{"stream":"bnbbtc@aggTrade","data":{"e":"futureEvent","E":1}}"#,
            UnknownFrame::EventType("futureEvent".into()),
        ),
        (
            raw("bnbbtc@aggTrade"),
            r#"{"e":"futureEvent","E":1}"#,
            UnknownFrame::EventType("futureEvent".into()),
        ),
        (
            raw("bnbbtc@ticker_1h"),
            r#"{"e":"7dTicker","E":1}"#,
            UnknownFrame::EventType("7dTicker".into()),
        ),
        (
            raw("bnbbtc@bookTicker"),
            r#"{"e":"listenKeyExpired","E":1}"#,
            UnknownFrame::EventType("listenKeyExpired".into()),
        ),
    ];
    for (decoder, input, expected) in cases {
        match decoder.decode(input) {
            Ok(Frame::Unknown(unknown)) => ensure!(unknown == expected, "{input}: {unknown:?}"),
            other => bail!("{input}: {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn binary_frames_that_are_not_utf8_are_refused() {
    let error = combined().decode_bytes(&[0x7b, 0xff, 0x7d]).err();
    assert!(
        error.is_some_and(|e| e.to_string().starts_with("frame is not UTF-8 text")),
        "accepted"
    );
}

const SEEDS: [&str; 6] = [
    r#"{"stream":"bnbbtc@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}}"#,
    r#"{"stream":"bnbbtc@depth@100ms","data":{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}}"#,
    r#"{"stream":"bnbbtc@depth5","data":{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}}"#,
    r#"{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}]}"#,
    r#"{"result":["btcusdt@aggTrade"],"id":3}"#,
    r#"{"code":0,"msg":"Unknown property","id":5}"#,
];

const TOKENS: [&str; 22] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "null",
    "true",
    "-1",
    "0",
    "1e400",
    "1.5",
    "18446744073709551616",
    "\"x\"",
    "\"\\u0000\"",
    "\"1e5\"",
    "\"-0\"",
    "\u{1F600}",
    " ",
    "\"e\"",
];

fn decoders() -> [Decoder; 4] {
    [
        combined(),
        raw("bnbbtc@aggTrade"),
        raw("bnbbtc@depth5"),
        raw("!miniTicker@arr"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        for decoder in decoders() {
            let _ = decoder.decode(&text);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for decoder in decoders() {
            let _ = decoder.decode_bytes(&bytes);
        }
    }

    #[test]
    fn mutated_frames_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0..4_usize, 0..TOKENS.len()), 1..4),
    ) {
        let mut text = SEEDS[seed].to_owned();
        for (at, removed, token) in edits {
            let mut start = at.index(text.len() + 1);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + removed).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(start..end, TOKENS[token]);
        }
        for decoder in decoders() {
            let _ = decoder.decode(&text);
        }
    }

    #[test]
    fn truncated_frames_are_errors(seed in 0..SEEDS.len(), cut in any::<prop::sample::Index>()) {
        let text = SEEDS[seed];
        let mut end = cut.index(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        prop_assert!(combined().decode(&text[..end]).is_err());
    }

    #[test]
    fn any_plain_decimal_round_trips(
        negative in any::<bool>(),
        whole in "[0-9]{1,15}",
        fraction in proptest::option::of("[0-9]{1,13}"),
    ) {
        let sign = if negative { "-" } else { "" };
        let number = match &fraction {
            Some(f) => format!("{sign}{whole}.{f}"),
            None => format!("{sign}{whole}"),
        };
        let frame = SEEDS[0].replace(r#""p":"0.001""#, &format!(r#""p":"{number}""#));
        let decoded = combined().decode(&frame);
        prop_assert!(decoded.is_ok(), "{number}: {decoded:?}");
        let Ok(Frame::Event { event, .. }) = decoded else { unreachable!() };
        let back = serde_json::to_value(&event).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // The value is exact; so is the text, unless leading zeros have a shorter
        // canonical spelling.
        let text = back["p"].as_str().unwrap_or_default();
        let fail = |e: rust_decimal::Error| TestCaseError::fail(e.to_string());
        prop_assert_eq!(text.parse::<Decimal>().map_err(fail)?, number.parse::<Decimal>().map_err(fail)?);
        if whole.len() == 1 || !whole.starts_with('0') {
            prop_assert_eq!(text, number.as_str());
        }
    }
}
