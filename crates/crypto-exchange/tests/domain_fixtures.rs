//! Every official payload example (binance-sim's `tests/fixtures`, copied from
//! Binance's docs) decodes, and serializes back to exactly its own text: the same
//! keys, in the same order, with the same values.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use crypto_exchange::domain::rest::{
    decode_agg_trades, decode_api_error, decode_depth_snapshot, decode_trades,
};
use crypto_exchange::domain::{
    Combined, Decoder, Event, Frame, Property, PropertyValue, Request, RequestId, StreamName,
    TimeUnit, Timestamp,
};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../binance-sim/tests/fixtures")
}

fn fixture(name: &str) -> Result<String> {
    let path = fixtures_dir().join(name);
    fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))
}

/// The text without whitespace outside strings: what a serializer writes.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// Raw stream payloads and the stream a raw connection for them is opened on.
const RAW: [(&str, &str); 13] = [
    ("ws_aggTrade.json", "bnbbtc@aggTrade"),
    ("ws_trade.json", "bnbbtc@trade"),
    ("ws_blockTrade.json", "bnbbtc@blockTrade"),
    ("ws_kline.json", "bnbbtc@kline_1m"),
    ("ws_miniTicker.json", "bnbbtc@miniTicker"),
    ("ws_miniTicker_arr.json", "!miniTicker@arr"),
    ("ws_ticker.json", "bnbbtc@ticker"),
    ("ws_ticker_1h.json", "bnbbtc@ticker_1h"),
    ("ws_bookTicker.json", "bnbusdt@bookTicker"),
    ("ws_avgPrice.json", "btcusdt@avgPrice"),
    ("ws_referencePrice.json", "bazusd@referencePrice"),
    ("ws_depth_partial.json", "bnbbtc@depth5@100ms"),
    ("ws_depthUpdate.json", "bnbbtc@depth"),
];

const COMBINED: [&str; 2] = [
    "ws_combined_depthUpdate.json",
    "ws_serverShutdown_combined.json",
];

const SHUTDOWN_RAW: &str = "ws_serverShutdown_raw.json";

const REPLIES: [&str; 9] = [
    "ws_subscribe_response.json",
    "ws_unsubscribe_response.json",
    "ws_list_subscriptions_response.json",
    "ws_set_property_response.json",
    "ws_get_property_response.json",
    "ws_error_bad_id.json",
    "ws_error_invalid_json.json",
    "ws_error_invalid_value_type.json",
    "ws_error_missing_method.json",
];

const MORE_REPLIES: [&str; 2] = [
    "ws_error_unknown_method.json",
    "ws_error_unknown_property.json",
];

const REQUESTS: [&str; 5] = [
    "ws_subscribe_request.json",
    "ws_unsubscribe_request.json",
    "ws_list_subscriptions_request.json",
    "ws_set_property_request.json",
    "ws_get_property_request.json",
];

/// Decodes `text` as a raw payload of `stream` and checks its round trip.
fn raw_round_trip(name: &str, stream: &str, text: &str) -> Result<Event> {
    let stream: StreamName = stream.parse()?;
    let frame = Decoder::raw(stream.clone(), TimeUnit::Millisecond)
        .decode(text)
        .with_context(|| format!("{name}: decode"))?;
    let Frame::Event {
        stream: decoded_stream,
        event,
    } = frame
    else {
        bail!("{name}: decoded as {frame:?}");
    };
    ensure!(decoded_stream == stream, "{name}: stream {decoded_stream}");
    let back = serde_json::to_string(&event)?;
    ensure!(
        back == minify(text),
        "{name}: serialized as\n{back}\nnot\n{}",
        minify(text)
    );
    Ok(event)
}

#[test]
fn every_ws_fixture_is_covered() -> Result<()> {
    let mut covered: Vec<&str> = RAW.iter().map(|(name, _)| *name).collect();
    covered.extend(COMBINED);
    covered.push(SHUTDOWN_RAW);
    covered.extend(REPLIES);
    covered.extend(MORE_REPLIES);
    covered.extend(REQUESTS);
    for entry in fs::read_dir(fixtures_dir())? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with("ws_") {
            ensure!(
                covered.contains(&name.as_str()),
                "fixture {name} is not tested"
            );
        }
    }
    Ok(())
}

#[test]
fn raw_payloads_decode_and_round_trip_exactly() -> Result<()> {
    for (name, stream) in RAW {
        raw_round_trip(name, stream, &fixture(name)?)?;
    }
    Ok(())
}

#[test]
fn wrapped_payloads_decode_and_round_trip_exactly() -> Result<()> {
    let decoder = Decoder::combined(TimeUnit::Millisecond);
    for (name, stream) in RAW {
        let text = format!(r#"{{"stream":"{stream}","data":{}}}"#, fixture(name)?);
        let frame = decoder
            .decode(&text)
            .with_context(|| format!("{name}: decode"))?;
        let combined = frame
            .combined()
            .with_context(|| format!("{name}: {frame:?}"))?;
        ensure!(serde_json::to_string(&combined)? == minify(&text), "{name}");
    }
    let text = fixture("ws_combined_depthUpdate.json")?;
    let frame = decoder.decode(&text)?;
    let combined = frame.combined().context("not an event")?;
    ensure!(serde_json::to_string(&combined)? == minify(&text));
    Ok(())
}

#[test]
fn server_shutdown_decodes_raw_and_wrapped_on_any_connection() -> Result<()> {
    let raw = fixture(SHUTDOWN_RAW)?;
    let wrapped = fixture("ws_serverShutdown_combined.json")?;
    for decoder in [
        Decoder::combined(TimeUnit::Millisecond),
        Decoder::raw("btcusdt@aggTrade".parse()?, TimeUnit::Millisecond),
        Decoder::raw("btcusdt@bookTicker".parse()?, TimeUnit::Millisecond),
        Decoder::raw("btcusdt@depth5".parse()?, TimeUnit::Millisecond),
        Decoder::raw("!miniTicker@arr".parse()?, TimeUnit::Millisecond),
    ] {
        let Frame::ServerShutdown(shutdown) = decoder.decode(&raw)? else {
            bail!("raw serverShutdown on {decoder:?}");
        };
        ensure!(shutdown.event_time == Timestamp::from_millis(1_770_123_456_789));
        ensure!(serde_json::to_string(&shutdown)? == minify(&raw));
        let Frame::ServerShutdown(shutdown) = decoder.decode(&wrapped)? else {
            bail!("wrapped serverShutdown on {decoder:?}");
        };
        let combined = Combined {
            stream: crypto_exchange::domain::ServerShutdown::STREAM,
            data: &shutdown,
        };
        ensure!(serde_json::to_string(&combined)? == minify(&wrapped));
    }
    Ok(())
}

#[test]
fn control_replies_decode_and_round_trip_exactly() -> Result<()> {
    for decoder in [
        Decoder::combined(TimeUnit::Millisecond),
        Decoder::raw("btcusdt@aggTrade".parse()?, TimeUnit::Millisecond),
    ] {
        for name in REPLIES.into_iter().chain(MORE_REPLIES) {
            let text = fixture(name)?;
            let back = match decoder.decode(&text).with_context(|| name.to_owned())? {
                Frame::Reply(reply) => serde_json::to_string(&reply)?,
                Frame::Error(error) => serde_json::to_string(&error)?,
                other => bail!("{name}: decoded as {other:?}"),
            };
            ensure!(back == minify(&text), "{name}: {back}");
        }
    }
    let Frame::Reply(reply) = Decoder::combined(TimeUnit::Millisecond)
        .decode(&fixture("ws_list_subscriptions_response.json")?)?
    else {
        bail!("not a reply");
    };
    ensure!(reply.id == Some(RequestId::int(3)));
    ensure!(reply.result == serde_json::json!(["btcusdt@aggTrade"]));
    let listed = reply.subscriptions().context("a list")??;
    ensure!(listed == vec!["btcusdt@aggTrade".parse::<StreamName>()?]);
    let decoder = Decoder::combined(TimeUnit::Millisecond);
    let Frame::Reply(ack) = decoder.decode(&fixture("ws_subscribe_response.json")?)? else {
        bail!("not a reply");
    };
    ensure!(ack.is_ack() && ack.subscriptions().is_none());
    let Frame::Reply(property) = decoder.decode(&fixture("ws_get_property_response.json")?)? else {
        bail!("not a reply");
    };
    ensure!(property.as_bool() == Some(true));
    Ok(())
}

#[test]
fn requests_serialize_as_the_documented_frames() -> Result<()> {
    let built = [
        Request::subscribe(
            RequestId::int(1),
            ["btcusdt@aggTrade".parse()?, "btcusdt@depth".parse()?],
        ),
        Request::unsubscribe(RequestId::int(312), ["btcusdt@depth".parse()?]),
        Request::list_subscriptions(RequestId::int(3)),
        Request::set_property(RequestId::int(5), PropertyValue::Combined(true)),
        Request::get_property(RequestId::int(2), Property::Combined),
    ];
    for (name, request) in REQUESTS.into_iter().zip(built) {
        ensure!(
            request.to_json() == minify(&fixture(name)?),
            "{name}: {}",
            request.to_json()
        );
    }
    Ok(())
}

#[test]
fn typed_fields_hold_the_exact_values() -> Result<()> {
    let Event::AggTrade(trade) =
        raw_round_trip("aggTrade", "bnbbtc@aggTrade", &fixture("ws_aggTrade.json")?)?
    else {
        bail!("not an aggTrade");
    };
    ensure!(trade.symbol == "BNBBTC");
    ensure!(trade.agg_trade_id == 12345 && trade.first_trade_id == 100);
    ensure!(trade.price == "0.001".parse()? && trade.quantity == "100".parse()?);
    ensure!(trade.buyer_is_maker && trade.best_match == Some(true));
    let Event::Kline(kline) =
        raw_round_trip("kline", "bnbbtc@kline_1m", &fixture("ws_kline.json")?)?
    else {
        bail!("not a kline");
    };
    ensure!(kline.candle.open.to_string() == "0.0010" && kline.candle.open.scale() == 4);
    ensure!(kline.candle.first_trade_id == 100 && !kline.candle.is_closed);
    let Event::ReferencePrice(reference) = raw_round_trip(
        "referencePrice",
        "bazusd@referencePrice",
        &fixture("ws_referencePrice.json")?,
    )?
    else {
        bail!("not a reference price");
    };
    ensure!(reference.price == Some("1.00".parse()?));
    Ok(())
}

#[test]
fn microsecond_connections_stamp_their_unit() -> Result<()> {
    let text = fixture("ws_trade.json")?.replace("1672515782136", "1672515782136123");
    let decoder = Decoder::raw("bnbbtc@trade".parse()?, TimeUnit::Microsecond);
    let Frame::Event {
        event: Event::Trade(trade),
        ..
    } = decoder.decode(&text)?
    else {
        bail!("not a trade");
    };
    ensure!(trade.trade_time == Timestamp::from_micros(1_672_515_782_136_123));
    ensure!(trade.trade_time.as_millis() == 1_672_515_782_136);
    ensure!(trade.trade_time.unit() == TimeUnit::Microsecond);
    ensure!(serde_json::to_string(&trade)? == minify(&text));
    Ok(())
}

#[test]
fn null_reference_price_is_none_and_stays_null() -> Result<()> {
    let text = fixture("ws_referencePrice.json")?.replace(r#""1.00""#, "null");
    let event = raw_round_trip("referencePrice null", "bazusd@referencePrice", &text)?;
    let Event::ReferencePrice(reference) = event else {
        bail!("not a reference price");
    };
    ensure!(reference.price.is_none());
    Ok(())
}

#[test]
fn rest_bodies_decode_and_round_trip_exactly() -> Result<()> {
    let text = fixture("rest_depth.json")?;
    let depth = decode_depth_snapshot(&text)?;
    ensure!(depth.last_update_id == 1_027_024 && depth.bids[0].price.to_string() == "4.00000000");
    ensure!(serde_json::to_string(&depth)? == minify(&text));

    let text = fixture("rest_aggTrades.json")?;
    let trades = decode_agg_trades(&text, TimeUnit::Millisecond)?;
    ensure!(trades.len() == 1 && trades[0].agg_trade_id == 26129);
    ensure!(serde_json::to_string(&trades)? == minify(&text));

    let text = fixture("rest_trades.json")?;
    let trades = decode_trades(&text, TimeUnit::Millisecond)?;
    ensure!(trades[0].quote_quantity.to_string() == "48.000012");
    ensure!(serde_json::to_string(&trades)? == minify(&text));

    for name in [
        "rest_error_418.json",
        "rest_error_429.json",
        "rest_error_generic.json",
        "rest_error_listenkey_1125.json",
        "rest_error_timeout_1007.json",
    ] {
        let text = fixture(name)?;
        let error = decode_api_error(&text)?;
        ensure!(serde_json::to_string(&error)? == minify(&text), "{name}");
    }
    ensure!(decode_api_error(&fixture("rest_error_429.json")?)?.is_rate_limited());
    Ok(())
}
