//! How fast the domain layer decodes (and re-encodes) Binance frames.
//!
//! - `decode/<type>`: one combined frame of that payload type decoded by
//!   `Decoder::decode`; throughput is frames (events) per second.
//! - `decode/<type>_raw`: the same payload on a raw connection.
//! - `baseline/serde_json_value_aggTrade`: the aggTrade frame parsed into a
//!   `serde_json::Value`, for scale.
//! - `encode/aggTrade_combined`: serializing a decoded aggTrade back to Binance's
//!   combined JSON into a reused buffer.
//!
//! Run with `cargo bench -p crypto-exchange --bench decode` (add `-- --quick` for a
//! short run).

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crypto_exchange::domain::{Decoder, Frame, StreamName, TimeUnit};

const AGG_TRADE: &str = r#"{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}"#;
const TRADE: &str = r#"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}"#;
const BOOK_TICKER: &str = r#"{"u":400900217,"s":"BNBBTC","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
const KLINE: &str = r#"{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}"#;
const MINI_TICKER: &str = r#"{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}"#;
const TICKER: &str = r#"{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018","x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}"#;
const ROLLING_TICKER: &str = r#"{"e":"1hTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","o":"0.0010","h":"0.0025","l":"0.0010","c":"0.0025","w":"0.0018","v":"10000","q":"18","O":0,"C":1675216573749,"F":0,"L":18150,"n":18151}"#;
const AVG_PRICE: &str = r#"{"e":"avgPrice","E":1693907033000,"s":"BNBBTC","i":"5m","w":"25776.86000000","T":1693907032213}"#;
const DEPTH_UPDATE: &str = r#"{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#;

fn levels(count: usize, base: u32) -> String {
    let items: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"["60{:03}.{:02}000000","{}.{:03}00000"]"#,
                base,
                i,
                i + 1,
                i * 7 % 1000
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// The payloads benchmarked, with the stream each is for.
fn payloads() -> Vec<(&'static str, &'static str, String)> {
    let depth10 = format!(
        r#"{{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":{},"a":{}}}"#,
        levels(10, 100),
        levels(10, 200)
    );
    let partial20 = format!(
        r#"{{"lastUpdateId":160,"bids":{},"asks":{}}}"#,
        levels(20, 100),
        levels(20, 200)
    );
    let mini_array = format!(
        "[{}]",
        (0..50).map(|_| MINI_TICKER).collect::<Vec<_>>().join(",")
    );
    vec![
        ("aggTrade", "bnbbtc@aggTrade", AGG_TRADE.to_owned()),
        ("trade", "bnbbtc@trade", TRADE.to_owned()),
        ("bookTicker", "bnbbtc@bookTicker", BOOK_TICKER.to_owned()),
        ("kline", "bnbbtc@kline_1m", KLINE.to_owned()),
        ("miniTicker", "bnbbtc@miniTicker", MINI_TICKER.to_owned()),
        ("ticker", "bnbbtc@ticker", TICKER.to_owned()),
        (
            "rollingTicker",
            "bnbbtc@ticker_1h",
            ROLLING_TICKER.to_owned(),
        ),
        ("avgPrice", "bnbbtc@avgPrice", AVG_PRICE.to_owned()),
        (
            "depthUpdate_1x1",
            "bnbbtc@depth@100ms",
            DEPTH_UPDATE.to_owned(),
        ),
        ("depthUpdate_10x10", "bnbbtc@depth@100ms", depth10),
        ("partialDepth_20x20", "bnbbtc@depth20@100ms", partial20),
        ("miniTicker_arr_50", "!miniTicker@arr", mini_array),
    ]
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    let combined = Decoder::combined(TimeUnit::Millisecond);
    for (name, stream, payload) in payloads() {
        let frame = format!(r#"{{"stream":"{stream}","data":{payload}}}"#);
        assert!(
            matches!(combined.decode(&frame), Ok(Frame::Event { .. })),
            "{name} does not decode"
        );
        group.bench_function(name, |b| b.iter(|| combined.decode(black_box(&frame))));
    }
    for (name, stream, payload) in payloads().into_iter().take(3) {
        let raw = match stream.parse::<StreamName>() {
            Ok(stream) => Decoder::raw(stream, TimeUnit::Millisecond),
            Err(e) => panic!("{e}"),
        };
        group.bench_function(format!("{name}_raw"), |b| {
            b.iter(|| raw.decode(black_box(&payload)));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(1));
    let frame = format!(r#"{{"stream":"bnbbtc@aggTrade","data":{AGG_TRADE}}}"#);
    group.bench_function("serde_json_value_aggTrade", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(&frame)));
    });
    group.finish();

    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    let decoded = combined.decode(&frame);
    let Ok(decoded) = decoded else {
        panic!("aggTrade does not decode: {decoded:?}");
    };
    let Some(view) = decoded.combined() else {
        panic!("not an event");
    };
    let mut buffer = Vec::with_capacity(1024);
    group.bench_function("aggTrade_combined", |b| {
        b.iter(|| {
            buffer.clear();
            serde_json::to_writer(&mut buffer, black_box(&view)).map(|()| buffer.len())
        });
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
