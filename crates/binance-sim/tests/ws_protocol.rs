//! Market-stream handshake and live subscription protocol, end to end: URL shapes,
//! `timeUnit`, every control request and error of PROTOCOL.md §3 against the
//! official fixtures, bad input of every kind, and the per-connection counters.

mod ws_common;

use anyhow::{Result, ensure};
use binance_sim::{CloseRecord, ConnectionRules, SimHandle};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use ws_common::{
    Client, connect, connect_refused, connect_tracked, expect_close, fixture, next_event,
    next_reply, relaxed_rules, request, start, stats, wait_until,
};

/// Fixture JSON as sent on the wire (compact).
fn compact(name: &str) -> Result<String> {
    Ok(fixture(name)?.to_string())
}

#[tokio::test]
async fn raw_and_combined_connections() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    let mut raw = connect(&sim, "/ws/btcusdt@depth@100ms").await?;
    let event = next_event(&mut raw).await?;
    ensure!(
        event["e"] == "depthUpdate" && event["s"] == "BTCUSDT",
        "{event}"
    );

    let mut combined = connect(
        &sim,
        "/stream?streams=btcusdt@depth@100ms/ethusdt@depth@100ms",
    )
    .await?;
    let event = next_event(&mut combined).await?;
    ensure!(event["data"]["e"] == "depthUpdate", "{event}");
    let stream = event["stream"].as_str().unwrap_or_default();
    ensure!(
        stream == "btcusdt@depth@100ms" || stream == "ethusdt@depth@100ms",
        "{event}"
    );

    // Bare endpoints subscribe later; `/stream` wraps, `/ws` does not.
    for (path, wrapped) in [("/ws", false), ("/stream", true)] {
        let mut ws = connect(&sim, path).await?;
        let reply = request(
            &mut ws,
            r#"{"method":"SUBSCRIBE","params":["bnbbtc@depth@100ms"],"id":1}"#,
        )
        .await?;
        ensure!(reply == json!({"result": null, "id": 1}), "{reply}");
        let event = next_event(&mut ws).await?;
        ensure!(
            event.get("stream").is_some() == wrapped,
            "{path}: {event} (wrapped: {wrapped})"
        );
    }

    // URL-encoded stream URLs are decoded (Binance accepts them since 2025-12).
    let mut encoded = connect(
        &sim,
        "/stream?streams=btcusdt%40depth%40100ms%2Fbtcusdt%40kline_1m%40%2B08%3A00",
    )
    .await?;
    let reply = request(&mut encoded, r#"{"method":"LIST_SUBSCRIPTIONS","id":9}"#).await?;
    ensure!(
        reply == json!({"result": ["btcusdt@depth@100ms", "btcusdt@kline_1m@+08:00"], "id": 9}),
        "{reply}"
    );
    ensure!(sim.handshakes().accepted == 5, "{:?}", sim.handshakes());
    Ok(())
}

#[tokio::test]
async fn bad_urls_get_http_errors_and_others_keep_streaming() -> Result<()> {
    let sim = start(ConnectionRules {
        max_streams: 2,
        ..relaxed_rules()
    })
    .await?;
    let mut observer = connect(&sim, "/ws/btcusdt@depth@100ms").await?;
    let invalid_stream = r#"{"code":2,"msg":"Invalid request: invalid stream"}"#;
    for (path, body) in [
        ("/ws/BTCUSDT@trade", invalid_stream),
        ("/ws/btcusdt@nope", invalid_stream),
        ("/ws/btcusdt@trade/", invalid_stream),
        ("/ws/btcusdt%ZZ@trade", invalid_stream),
        ("/stream?streams=btcusdt@trade/!ticker@arr", invalid_stream),
        (
            "/stream?streams=a@trade/b@trade/c@trade",
            r#"{"code":2,"msg":"Invalid request: too many streams"}"#,
        ),
        (
            "/ws/btcusdt@trade?timeUnit=SECOND",
            r#"{"code":2,"msg":"Invalid request: invalid timeUnit"}"#,
        ),
        (
            "/stream?streams=btcusdt@trade&timeUnit=Microsecond",
            r#"{"code":2,"msg":"Invalid request: invalid timeUnit"}"#,
        ),
        (
            "/api/v3/ping",
            r#"{"code":2,"msg":"Invalid request: unknown path"}"#,
        ),
    ] {
        let (status, got) = connect_refused(&sim, path).await?;
        ensure!(status == 400 && got == body, "{path}: {status} {got}");
        next_event(&mut observer).await?;
    }
    // The server counts a refusal just after writing it: wait for the last one.
    wait_until("every refusal is counted", || {
        sim.handshakes().rejected_bad_request == 9
    })
    .await?;
    ensure!(sim.handshakes().accepted == 1, "{:?}", sim.handshakes());
    Ok(())
}

#[tokio::test]
async fn time_unit_microsecond_makes_times_microseconds() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    for (query, micros) in [
        ("?timeUnit=MICROSECOND", true),
        ("?timeUnit=microsecond", true),
        ("?timeUnit=MILLISECOND", false),
        ("", false),
    ] {
        let mut ws = connect(&sim, &format!("/ws/btcusdt@depth@100ms{query}")).await?;
        let event = next_event(&mut ws).await?;
        let time = event["E"].as_u64().unwrap_or_default();
        ensure!(
            (time >= 1_000_000_000_000_000) == micros,
            "{query}: E = {time}"
        );
        ensure!(time > 1_000_000_000_000, "{query}: E = {time}");
    }
    let mut ws = connect(&sim, "/stream?timeUnit=MICROSECOND").await?;
    wait_until("the connection is listed", || sim.connections().len() == 5).await?;
    sim.send_server_shutdown();
    let event = next_event(&mut ws).await?;
    let time = event["data"]["E"].as_u64().unwrap_or_default();
    ensure!(time >= 1_000_000_000_000_000, "{event}");
    Ok(())
}

#[tokio::test]
async fn control_requests_match_the_fixtures() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    let mut ws = connect(&sim, "/stream").await?;
    for (req, resp) in [
        ("ws_subscribe_request", "ws_subscribe_response"),
        ("ws_unsubscribe_request", "ws_unsubscribe_response"),
        (
            "ws_list_subscriptions_request",
            "ws_list_subscriptions_response",
        ),
        ("ws_set_property_request", "ws_set_property_response"),
        ("ws_get_property_request", "ws_get_property_response"),
    ] {
        let reply = request(&mut ws, &compact(req)?).await?;
        ensure!(reply == fixture(resp)?, "{req}: {reply}");
    }
    // Switching `combined` off unwraps the following events.
    let reply = request(
        &mut ws,
        r#"{"method":"SET_PROPERTY","params":["combined",false],"id":6}"#,
    )
    .await?;
    ensure!(reply == json!({"result": null, "id": 6}), "{reply}");
    let reply = request(
        &mut ws,
        r#"{"method":"GET_PROPERTY","params":["combined"],"id":7}"#,
    )
    .await?;
    ensure!(reply == json!({"result": false, "id": 7}), "{reply}");
    request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":8}"#,
    )
    .await?;
    let event = next_event(&mut ws).await?;
    ensure!(
        // (btcusdt@aggTrade from the fixture's SUBSCRIBE is still on, too.)
        event.get("stream").is_none() && (event["e"] == "depthUpdate" || event["e"] == "aggTrade"),
        "{event}"
    );
    Ok(())
}

#[tokio::test]
async fn error_replies_match_the_fixtures() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    let mut ws = connect(&sim, "/ws").await?;
    // Placeholders in the fixtures are filled with id 5, SUBSCRIBEE and line 1
    // column 1 / 28 / 73; the requests are built to land on the same values.
    let unknown_method = format!(
        r#"{{"method":{}"SUBSCRIBEE","params":[],"id":5}}"#,
        " ".repeat(6)
    );
    let missing_method =
        r#"{"params":["btcusdt@aggTrade","btcusdt@depth"],"id":1,"extra":"abcdefgh"}"#;
    let cases = [
        ("x".to_owned(), fixture("ws_error_invalid_json")?),
        (
            missing_method.to_owned(),
            fixture("ws_error_missing_method")?,
        ),
        (
            r#"{"method":"LIST_SUBSCRIPTIONS"}"#.to_owned(),
            fixture("ws_error_bad_id")?,
        ),
        (
            r#"{"method":"SET_PROPERTY","params":["nope",true],"id":5}"#.to_owned(),
            fixture("ws_error_unknown_property")?,
        ),
        (
            r#"{"method":"SET_PROPERTY","params":["combined","yes"],"id":5}"#.to_owned(),
            fixture("ws_error_invalid_value_type")?,
        ),
        (unknown_method, {
            // serde puts backticks around the unknown variant; the docs' `%s` is bare.
            let mut expected = fixture("ws_error_unknown_method")?;
            let msg = expected["msg"]
                .as_str()
                .unwrap_or_default()
                .replace("SUBSCRIBEE", "`SUBSCRIBEE`");
            expected["msg"] = Value::String(msg);
            expected
        }),
        (
            r#"{"method":"GET_PROPERTY","params":["combined",1],"id":5}"#.to_owned(),
            json!({"code": 2, "msg": "Invalid request: too many parameters"}),
        ),
        (
            r#"{"method":"GET_PROPERTY","params":[5],"id":5}"#.to_owned(),
            json!({"code": 2, "msg": "Invalid request: property name must be a string"}),
        ),
        (
            r#"{"method":"SUBSCRIBE","params":["btcusdt@trade","BTCUSDT@trade"],"id":5}"#
                .to_owned(),
            json!({"code": 2, "msg": "Invalid request: invalid stream"}),
        ),
    ];
    for (req, expected) in cases {
        let reply = request(&mut ws, &req).await?;
        ensure!(reply == expected, "{req}: {reply}, expected {expected}");
    }
    // None of the refused requests subscribed anything.
    let reply = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#).await?;
    ensure!(reply == json!({"result": [], "id": 1}), "{reply}");
    Ok(())
}

#[tokio::test]
async fn ids_of_every_allowed_kind_are_echoed_and_bad_ones_refused() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    let mut ws = connect(&sim, "/ws").await?;
    for id in [
        json!(0),
        json!(-42),
        json!(i64::MAX),
        json!(i64::MIN),
        json!("abcXYZ123"),
        json!("922bcc6e-9de8-440d-9e84-7c80933a8d0d"),
        Value::Null,
    ] {
        let req = json!({"method": "LIST_SUBSCRIPTIONS", "id": id}).to_string();
        let reply = request(&mut ws, &req).await?;
        ensure!(reply == json!({"result": [], "id": id}), "{req}: {reply}");
    }
    let bad = fixture("ws_error_bad_id")?;
    for id in [
        json!(1.5),
        json!(u64::MAX),
        json!(true),
        json!([1]),
        json!({}),
        json!(""),
        json!("a".repeat(37)),
        json!("no spaces"),
    ] {
        let req = json!({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": id}).to_string();
        let reply = request(&mut ws, &req).await?;
        ensure!(reply == bad, "{req}: {reply}");
    }
    let reply = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#).await?;
    ensure!(reply == json!({"result": [], "id": 1}), "{reply}");
    Ok(())
}

/// Waits for the observer's next event: it keeps streaming whatever others do.
async fn still_streaming(observer: &mut Client) -> Result<()> {
    let event = next_event(observer).await?;
    ensure!(event["e"] == "depthUpdate", "{event}");
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_its_reply_or_close_and_never_hurts_others() -> Result<()> {
    let sim = start(ConnectionRules {
        max_message_size: 1024,
        ..relaxed_rules()
    })
    .await?;
    let (mut observer, observer_id) = connect_tracked(&sim, "/ws/btcusdt@depth@100ms").await?;
    let mut ws = connect(&sim, "/ws").await?;

    let reply = request(&mut ws, "{\"method\":").await?;
    ensure!(reply["code"] == 3, "{reply}");
    still_streaming(&mut observer).await?;

    let reply = request(&mut ws, r#"{"method":"PING","id":1}"#).await?;
    ensure!(reply["code"] == 2, "{reply}");
    let reply = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":{"x":1}}"#).await?;
    ensure!(reply == fixture("ws_error_bad_id")?, "{reply}");
    let reply = request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["nonsense"],"id":2}"#,
    )
    .await?;
    ensure!(
        reply == json!({"code": 2, "msg": "Invalid request: invalid stream"}),
        "{reply}"
    );
    still_streaming(&mut observer).await?;

    // Binary frames: a request when UTF-8, else invalid JSON.
    ws.send(Message::binary(
        br#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#.to_vec(),
    ))
    .await?;
    let reply = next_reply(&mut ws).await?;
    ensure!(reply == json!({"result": [], "id": 3}), "{reply}");
    ws.send(Message::binary(vec![0xff, 0xfe, 0x00])).await?;
    let reply = next_reply(&mut ws).await?;
    ensure!(
        reply
            == json!({"code": 3, "msg": "Invalid JSON: invalid unicode code point at line 1 column 1"}),
        "{reply}"
    );
    // A well-formed name for a symbol the exchange does not list is accepted.
    let reply = request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["nosuchcoin@trade"],"id":4}"#,
    )
    .await?;
    ensure!(reply == json!({"result": null, "id": 4}), "{reply}");
    still_streaming(&mut observer).await?;

    // Frames over max_message_size close with 1009; text and binary alike.
    for oversized in [
        Message::text("x".repeat(4096)),
        Message::binary(vec![b'{'; 100_000]),
    ] {
        let (mut big, id) = connect_tracked(&sim, "/ws").await?;
        big.send(oversized).await?;
        let frame = expect_close(&mut big).await?;
        ensure!(
            frame.code == CloseCode::Size && frame.reason == "Message too big",
            "{frame:?}"
        );
        let record = stats(&sim, id)?.close;
        ensure!(
            record
                == Some(CloseRecord {
                    code: 1009,
                    reason: "Message too big".to_owned(),
                    by_server: true
                }),
            "{record:?}"
        );
        still_streaming(&mut observer).await?;
    }

    // A text frame that is not UTF-8 closes with 1007.
    let (mut bad, id) = connect_tracked(&sim, "/ws").await?;
    let frame = Frame::message(vec![b'{', 0xff, b'}'], OpCode::Data(Data::Text), true);
    bad.send(Message::Frame(frame)).await?;
    let frame = expect_close(&mut bad).await?;
    ensure!(frame.code == CloseCode::Invalid, "{frame:?}");
    ensure!(
        stats(&sim, id)?
            .close
            .is_some_and(|c| c.code == 1007 && c.by_server)
    );
    still_streaming(&mut observer).await?;

    // The first connection survived everything and still answers.
    let reply = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":5}"#).await?;
    ensure!(
        reply == json!({"result": ["nosuchcoin@trade"], "id": 5}),
        "{reply}"
    );
    ensure!(stats(&sim, observer_id)?.open, "the observer was closed");
    Ok(())
}

/// Counts what the client received until (and including) the reply with `id`.
async fn count_until_reply(ws: &mut Client, id: i64, received: &mut u64) -> Result<Value> {
    loop {
        match ws_common::next_within(ws, ws_common::WAIT).await? {
            Some(Message::Text(text)) => {
                *received += 1;
                let value: Value = serde_json::from_str(&text)?;
                if value["id"] == id {
                    return Ok(value);
                }
            }
            Some(Message::Ping(_) | Message::Pong(_)) => *received += 1,
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn counters_reflect_what_the_client_did() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    let (mut ws, id) = connect_tracked(&sim, "/ws").await?;
    let mut received = 0;
    ws.send(Message::text(
        r#"{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","ethusdt@trade"],"id":1}"#,
    ))
    .await?;
    count_until_reply(&mut ws, 1, &mut received).await?;
    ensure!(
        stats(&sim, id)?.subscriptions == 2,
        "{:?}",
        stats(&sim, id)?
    );
    // Wait for some data so frames_out counts events too, then ping once.
    let mut data = 0;
    while data < 3 {
        match ws_common::next_within(&mut ws, ws_common::WAIT).await? {
            Some(Message::Text(_)) => {
                received += 1;
                data += 1;
            }
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    ws.send(Message::Ping(b"client".to_vec().into())).await?;
    loop {
        match ws_common::next_within(&mut ws, ws_common::WAIT).await? {
            Some(Message::Pong(payload)) => {
                ensure!(&payload[..] == b"client", "pong {payload:?}");
                received += 1;
                break;
            }
            Some(Message::Text(_)) => received += 1,
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    let pings = 1;
    ws.send(Message::Pong(b"unsolicited".to_vec().into()))
        .await?;
    ws.send(Message::text(
        r#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth@100ms","ethusdt@trade"],"id":2}"#,
    ))
    .await?;
    count_until_reply(&mut ws, 2, &mut received).await?;
    // After the unsubscribe reply no more data is queued: everything sent so far
    // has arrived once the next reply does.
    ws.send(Message::text(r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#))
        .await?;
    count_until_reply(&mut ws, 3, &mut received).await?;
    let s = stats(&sim, id)?;
    let frames_in = 1 + pings + 1 + 1 + 1;
    ensure!(
        s.frames_in == frames_in,
        "frames_in {} != {frames_in}",
        s.frames_in
    );
    ensure!(
        s.max_frames_in_window == frames_in,
        "max_frames_in_window {}",
        s.max_frames_in_window
    );
    ensure!(
        s.frames_out == received,
        "frames_out {} != received {received}",
        s.frames_out
    );
    ensure!(s.subscriptions == 0 && s.open && s.close.is_none(), "{s:?}");

    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await?;
    ws_common::finish_close(&mut ws).await;
    wait_until("the close is recorded", || {
        stats(&sim, id).is_ok_and(|s| !s.open)
    })
    .await?;
    let s = stats(&sim, id)?;
    ensure!(
        s.close
            == Some(CloseRecord {
                code: 1000,
                reason: "bye".to_owned(),
                by_server: false
            }),
        "{s:?}"
    );
    ensure!(
        s.closed_at_ms.is_some_and(|at| at >= s.opened_at_ms),
        "{s:?}"
    );

    // A TCP drop without a close frame is recorded as 1006.
    let (dropped, id) = connect_tracked(&sim, "/ws/btcusdt@trade").await?;
    drop(dropped);
    closed_as(&sim, id, 1006, false).await
}

async fn closed_as(sim: &SimHandle, id: u64, code: u16, by_server: bool) -> Result<()> {
    wait_until("the connection is closed", || {
        stats(sim, id).is_ok_and(|s| !s.open)
    })
    .await?;
    let s = stats(sim, id)?;
    ensure!(
        s.close
            .as_ref()
            .is_some_and(|c| c.code == code && c.by_server == by_server),
        "{s:?}"
    );
    ensure!(s.subscriptions == 0, "{s:?}");
    Ok(())
}
