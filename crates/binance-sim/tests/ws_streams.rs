//! Stream payloads end to end: every stream the simulator publishes has the keys and
//! JSON types of Binance's official example; aggregate trade ids are contiguous; and
//! a local order book kept from the diff stream by PROTOCOL.md §5's procedure equals
//! the simulator's own book, with an injected gap detected.

mod ws_common;

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result, bail, ensure};
use binance_sim::SimHandle;
use binance_sim::market::Side;
use serde_json::Value;
use tokio::time::Instant;
use ws_common::{WAIT, connect, fixture, next_event, relaxed_rules, same_shape, start};

#[tokio::test]
async fn every_stream_matches_its_fixture() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    // Busy trading, so trade streams and `!miniTicker@arr` deliver quickly.
    sim.set_symbol_rate("BNBBTC", 500.0)?;
    let streams: [(&str, &str); 11] = [
        ("bnbbtc@aggTrade", "ws_aggTrade"),
        ("bnbbtc@trade", "ws_trade"),
        ("bnbbtc@kline_1m", "ws_kline"),
        ("bnbbtc@miniTicker", "ws_miniTicker"),
        ("!miniTicker@arr", "ws_miniTicker_arr"),
        ("bnbbtc@ticker", "ws_ticker"),
        ("bnbbtc@ticker_1h", "ws_ticker_1h"),
        ("bnbbtc@bookTicker", "ws_bookTicker"),
        ("bnbbtc@depth5", "ws_depth_partial"),
        ("bnbbtc@avgPrice", "ws_avgPrice"),
        ("bnbbtc@depth@100ms", "ws_depthUpdate"),
    ];
    let names: Vec<&str> = streams.iter().map(|(s, _)| *s).collect();
    let mut combined = connect(&sim, &format!("/stream?streams={}", names.join("/"))).await?;
    let mut raw = connect(&sim, "/ws/bnbbtc@depth").await?;

    // The raw 1000 ms diff stream, unwrapped.
    let raw_fixture = fixture("ws_depthUpdate")?;
    let mut raw_result = Err("no event".to_owned());
    while raw_result.is_err() {
        let event = next_event(&mut raw).await?;
        raw_result = same_shape(&raw_fixture, &event, "raw depthUpdate");
    }

    // Every stream on one combined connection, until each delivered a conforming
    // event (an event with an empty array cannot be compared, so waits for the next).
    let whole_fixture = fixture("ws_combined_depthUpdate")?;
    let mut pending: HashMap<&str, (Value, String)> = streams
        .iter()
        .map(|&(stream, name)| Ok((stream, (fixture(name)?, "no event".to_owned()))))
        .collect::<Result<_>>()?;
    let deadline = Instant::now() + WAIT;
    while !pending.is_empty() {
        if Instant::now() >= deadline {
            bail!("streams without a conforming event: {pending:?}");
        }
        let frame = next_event(&mut combined).await?;
        ensure!(
            frame.as_object().is_some_and(|o| o.len() == 2),
            "not a combined frame: {frame}"
        );
        let stream = frame["stream"].as_str().context("no stream key")?;
        let Some((expected, last_error)) = pending.get_mut(stream) else {
            ensure!(names.contains(&stream), "unsubscribed stream {stream}");
            continue;
        };
        let mut result = same_shape(expected, &frame["data"], stream);
        if result.is_ok() && stream == "bnbbtc@depth@100ms" {
            result = same_shape(&whole_fixture, &frame, "combined depthUpdate");
        }
        match result {
            Ok(()) => {
                pending.remove(stream);
            }
            Err(error) => *last_error = error,
        }
    }

    // serverShutdown, raw and combined.
    sim.send_server_shutdown();
    for (ws, name) in [
        (&mut raw, "ws_serverShutdown_raw"),
        (&mut combined, "ws_serverShutdown_combined"),
    ] {
        let expected = fixture(name)?;
        loop {
            let frame = next_event(ws).await?;
            let event = frame.get("data").unwrap_or(&frame);
            if event["e"] == "serverShutdown" {
                same_shape(&expected, &frame, name).map_err(anyhow::Error::msg)?;
                if let Some(stream) = expected.get("stream") {
                    ensure!(frame["stream"] == *stream, "{frame}");
                }
                break;
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn aggregate_trade_ids_are_contiguous() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    sim.set_symbol_rate("BTCUSDT", 5_000.0)?;
    let mut ws = connect(&sim, "/ws/btcusdt@aggTrade").await?;
    let mut previous: Option<Value> = None;
    for _ in 0..400 {
        let event = next_event(&mut ws).await?;
        ensure!(
            event["e"] == "aggTrade" && event["s"] == "BTCUSDT",
            "{event}"
        );
        let (a, f, l) = (
            event["a"].as_u64(),
            event["f"].as_u64(),
            event["l"].as_u64(),
        );
        let (Some(a), Some(f), Some(l)) = (a, f, l) else {
            bail!("ids missing: {event}");
        };
        ensure!(f <= l, "{event}");
        if let Some(prev) = &previous {
            ensure!(prev["a"].as_u64() == Some(a - 1), "{prev} then {event}");
            ensure!(prev["l"].as_u64() == Some(f - 1), "{prev} then {event}");
            ensure!(
                prev["T"].as_u64() <= event["T"].as_u64(),
                "{prev} then {event}"
            );
        }
        previous = Some(event);
    }
    Ok(())
}

/// One side of a book: price text to quantity text.
type Levels = BTreeMap<String, String>;

/// A local order book kept from the diff stream.
#[derive(Debug, Default, PartialEq)]
struct Book {
    bids: Levels,
    asks: Levels,
}

/// The simulator's own book and last update id.
fn market_book(sim: &SimHandle, symbol: &str) -> Result<(u64, Book)> {
    sim.with_market(|market| {
        let m = market.symbol(symbol).context("symbol not listed")?;
        let side = |side| -> Result<Levels> {
            m.book()
                .top(side, 5000)
                .into_iter()
                .map(|(price, qty)| Ok((text(&price)?, text(&qty)?)))
                .collect()
        };
        Ok((
            m.update_id(),
            Book {
                bids: side(Side::Bid)?,
                asks: side(Side::Ask)?,
            },
        ))
    })
}

/// A decimal as Binance prints it (the payload's own serialisation).
fn text(value: &impl serde::Serialize) -> Result<String> {
    match serde_json::to_value(value)? {
        Value::String(s) => Ok(s),
        other => bail!("not a string: {other}"),
    }
}

/// PROTOCOL.md §5's rule for one event; `Err` on a gap.
fn apply(book: &mut Book, book_id: &mut u64, event: &Value) -> Result<Result<(), u64>> {
    let (first, last) = (
        event["U"].as_u64().context("no U")?,
        event["u"].as_u64().context("no u")?,
    );
    if last <= *book_id {
        return Ok(Ok(()));
    }
    if first > *book_id + 1 {
        return Ok(Err(first));
    }
    for (key, side) in [("b", &mut book.bids), ("a", &mut book.asks)] {
        for level in event[key].as_array().context("no levels")? {
            let price = level[0].as_str().context("price")?.to_owned();
            let qty = level[1].as_str().context("qty")?;
            if qty.parse::<f64>()? == 0.0 {
                side.remove(&price);
            } else {
                side.insert(price, qty.to_owned());
            }
        }
    }
    *book_id = last;
    Ok(Ok(()))
}

#[tokio::test]
async fn a_local_book_from_the_diff_stream_equals_the_simulators() -> Result<()> {
    const SYMBOL: &str = "ETHUSDT";
    let sim = start(relaxed_rules()).await?;
    sim.set_symbol_rate(SYMBOL, 300.0)?;
    let mut ws = connect(&sim, "/ws/ethusdt@depth@100ms").await?;
    // §5 steps 1–5: buffer from the first event, snapshot (here from the market
    // itself; REST is written elsewhere), drop what the snapshot covers, apply.
    let first = next_event(&mut ws).await?;
    let first_u = first["U"].as_u64().context("no U")?;
    let (snapshot_id, mut book) = market_book(&sim, SYMBOL)?;
    ensure!(
        snapshot_id >= first_u,
        "snapshot {snapshot_id} older than U {first_u}"
    );
    let mut book_id = snapshot_id;
    if let Err(gap) = apply(&mut book, &mut book_id, &first)? {
        bail!("gap at the first event: U {gap}, book {book_id}");
    }

    for checkpoint in 0..2 {
        // Let the market move, then freeze it and catch up with the last diff.
        for _ in 0..5 {
            let event = next_event(&mut ws).await?;
            if let Err(gap) = apply(&mut book, &mut book_id, &event)? {
                bail!("unexpected gap: U {gap}, book {book_id}");
            }
        }
        sim.set_symbol_rate(SYMBOL, 0.0)?;
        let (target, _) = market_book(&sim, SYMBOL)?;
        while book_id < target {
            let event = next_event(&mut ws).await?;
            if let Err(gap) = apply(&mut book, &mut book_id, &event)? {
                bail!("unexpected gap: U {gap}, book {book_id}");
            }
        }
        let (id, expected) = market_book(&sim, SYMBOL)?;
        ensure!(
            book_id == id,
            "checkpoint {checkpoint}: book {book_id}, market {id}"
        );
        ensure!(
            book == expected,
            "checkpoint {checkpoint}: books differ\nlocal  {book:?}\nmarket {expected:?}"
        );
        ensure!(book.bids.len() >= 20 && book.asks.len() >= 20, "{book:?}");
        sim.set_symbol_rate(SYMBOL, 300.0)?;
    }

    // An injected gap: an event starts past `u + 1` of the one before it, and the
    // procedure's gap test (`U > bookId + 1`) catches it.
    sim.inject_depth_gap(SYMBOL)?;
    for _ in 0..50 {
        let event = next_event(&mut ws).await?;
        let before = book_id;
        if let Err(first) = apply(&mut book, &mut book_id, &event)? {
            ensure!(first > before + 1, "U {first} after u {before}");
            return Ok(());
        }
        ensure!(
            event["U"].as_u64() == Some(before + 1),
            "not contiguous: {event} after u {before}"
        );
    }
    bail!("no gap within 50 events");
}
