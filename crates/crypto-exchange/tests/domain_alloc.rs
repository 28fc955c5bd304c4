//! The hot path decodes without touching the heap: after warm-up, decoding an
//! `aggTrade`, `trade`, `bookTicker`, `miniTicker` or `avgPrice` frame makes no
//! allocation; a `depthUpdate` makes one per non-empty side, and the boxed
//! once-a-second payloads (kline, ticker) one each.
//!
//! A counting global allocator (`stats_alloc`) wraps the system allocator for this
//! test binary. It has a single test so no other test allocates meanwhile.

use std::alloc::System;

use anyhow::{Result, ensure};
use crypto_exchange::domain::{Decoder, Frame, StreamName, TimeUnit};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const AGG_TRADE: &str = r#"{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}"#;
const TRADE: &str = r#"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}"#;
const BOOK_TICKER: &str = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
const KLINE: &str = r#"{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}"#;
const TICKER: &str = r#"{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018","x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}"#;
const MINI_TICKER: &str = r#"{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}"#;
const AVG_PRICE: &str = r#"{"e":"avgPrice","E":1693907033000,"s":"BTCUSDT","i":"5m","w":"25776.86000000","T":1693907032213}"#;
const DEPTH_UPDATE: &str = r#"{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#;

const ROUNDS: usize = 1_000;

/// Allocations (and reallocations) made by `ROUNDS` decodes of `text`.
fn allocations(decoder: &Decoder, text: &str) -> Result<usize> {
    // Warm-up: lazily initialised statics, if any, allocate here.
    ensure!(matches!(decoder.decode(text)?, Frame::Event { .. }));
    // The fewest over three runs: the counter is process-wide, so another thread
    // (the test harness, under load) can allocate during one run, while an
    // allocation on the decode path shows up in every run.
    let mut fewest = usize::MAX;
    for _ in 0..3 {
        let region = Region::new(GLOBAL);
        for _ in 0..ROUNDS {
            let frame = decoder.decode(text)?;
            std::hint::black_box(&frame);
        }
        let stats = region.change();
        fewest = fewest.min(stats.allocations + stats.reallocations);
    }
    Ok(fewest)
}

fn cases(stream: &str, payload: &str) -> Result<[(Decoder, String); 2]> {
    let name: StreamName = stream.parse()?;
    Ok([
        (
            Decoder::combined(TimeUnit::Millisecond),
            format!(r#"{{"stream":"{stream}","data":{payload}}}"#),
        ),
        (
            Decoder::raw(name, TimeUnit::Millisecond),
            payload.to_owned(),
        ),
    ])
}

#[test]
fn decoding_allocates_nothing_per_event_on_the_hot_path() -> Result<()> {
    for (stream, payload) in [
        ("bnbbtc@aggTrade", AGG_TRADE),
        ("bnbbtc@trade", TRADE),
        ("bnbusdt@bookTicker", BOOK_TICKER),
        ("bnbbtc@miniTicker", MINI_TICKER),
        ("btcusdt@avgPrice", AVG_PRICE),
    ] {
        for (decoder, text) in cases(stream, payload)? {
            let count = allocations(&decoder, &text)?;
            ensure!(
                count == 0,
                "{stream}: {count} allocations in {ROUNDS} decodes"
            );
        }
    }
    // The large once-a-second payloads are boxed: one allocation each.
    for (stream, payload) in [("bnbbtc@kline_1m", KLINE), ("bnbbtc@ticker", TICKER)] {
        for (decoder, text) in cases(stream, payload)? {
            let count = allocations(&decoder, &text)?;
            ensure!(
                count == ROUNDS,
                "{stream}: {count} allocations in {ROUNDS} decodes"
            );
        }
    }
    // Depth levels live in one `Vec` per side: one allocation each.
    for (decoder, text) in cases("bnbbtc@depth@100ms", DEPTH_UPDATE)? {
        let count = allocations(&decoder, &text)?;
        ensure!(
            count == 2 * ROUNDS,
            "depthUpdate: {count} allocations in {ROUNDS} decodes"
        );
    }

    // Serializing back into a reused buffer does not allocate either.
    let decoder = Decoder::combined(TimeUnit::Millisecond);
    let frame = decoder.decode(&format!(
        r#"{{"stream":"bnbbtc@aggTrade","data":{AGG_TRADE}}}"#
    ))?;
    let combined = frame
        .combined()
        .ok_or_else(|| anyhow::anyhow!("not an event"))?;
    let mut buffer = Vec::with_capacity(1024);
    serde_json::to_writer(&mut buffer, &combined)?;
    let region = Region::new(GLOBAL);
    for _ in 0..ROUNDS {
        buffer.clear();
        serde_json::to_writer(&mut buffer, &combined)?;
    }
    let stats = region.change();
    ensure!(
        stats.allocations + stats.reallocations == 0,
        "serialization: {stats:?}"
    );
    Ok(())
}
