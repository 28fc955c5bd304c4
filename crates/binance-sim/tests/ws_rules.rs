//! Binance's connection rules and the simulator's fault controls, end to end: the
//! inbound frame limit, keepalive, lifetime, stream limit, attempt limit, drops,
//! resets, stalls, refusals, `serverShutdown`, slow consumers and shutdown.
//!
//! Time-based rules run in real time with shrunk values; waits are bounded and
//! wait for frames or conditions.

mod ws_common;

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use binance_sim::{CloseRecord, ConnectionRules, DropKind, Sim, SimHandle, now_ms};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use ws_common::{
    Client, WAIT, config, connect, connect_refused, connect_tracked, expect_close, next_event,
    next_reply, next_within, relaxed_rules, request, start, stats, wait_until,
};

async fn closed_with(sim: &SimHandle, id: u64, code: u16, reason: &str) -> Result<()> {
    wait_until("the connection is closed", || {
        stats(sim, id).is_ok_and(|s| !s.open)
    })
    .await?;
    let record = stats(sim, id)?.close;
    ensure!(
        record
            == Some(CloseRecord {
                code,
                reason: reason.to_owned(),
                by_server: true
            }),
        "{record:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_sixth_frame_within_a_second_closes_with_1008() -> Result<()> {
    let sim = start(ConnectionRules::default()).await?;
    let (mut ws, id) = connect_tracked(&sim, "/ws").await?;
    for i in 0..6 {
        ws.feed(Message::text(format!(
            r#"{{"method":"LIST_SUBSCRIPTIONS","id":{i}}}"#
        )))
        .await?;
    }
    ws.flush().await?;
    for i in 0..5 {
        let reply = next_reply(&mut ws).await?;
        ensure!(reply == json!({"result": [], "id": i}), "{reply}");
    }
    let frame = expect_close(&mut ws).await?;
    ensure!(
        frame.code == CloseCode::Policy && frame.reason == "Too many requests",
        "{frame:?}"
    );
    closed_with(&sim, id, 1008, "Too many requests").await?;
    let s = stats(&sim, id)?;
    ensure!(s.frames_in == 6 && s.max_frames_in_window == 6, "{s:?}");
    Ok(())
}

/// Fast keepalive. The frame limit is relaxed: ten pongs a second would break
/// Binance's five (harmless with its real 20 s ping interval).
fn keepalive_rules() -> ConnectionRules {
    ConnectionRules {
        ping_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(300),
        ..relaxed_rules()
    }
}

#[tokio::test]
async fn no_pong_closes_the_connection_after_the_deadline() -> Result<()> {
    let sim = start(keepalive_rules()).await?;
    // The client does not read, so its tungstenite never answers the pings.
    let (mut ws, id) = connect_tracked(&sim, "/ws").await?;
    closed_with(&sim, id, 1001, "Pong timeout").await?;
    let s = stats(&sim, id)?;
    let lived = s.closed_at_ms.unwrap_or_default() - s.opened_at_ms;
    // First ping at 100 ms, its deadline 300 ms later (ms clocks: allow 5 ms).
    ensure!(lived >= 395, "closed after {lived} ms");
    let mut pings = 0;
    loop {
        match next_within(&mut ws, WAIT).await? {
            Some(Message::Ping(payload)) => {
                // The payload is the server's time in ms.
                let sent: u64 = std::str::from_utf8(&payload)?.parse()?;
                ensure!(sent.abs_diff(now_ms()) < 60_000, "payload {sent}");
                pings += 1;
            }
            Some(Message::Close(Some(frame))) => {
                ensure!(
                    frame.code == CloseCode::Away && frame.reason == "Pong timeout",
                    "{frame:?}"
                );
                break;
            }
            other => bail!("unexpected {other:?}"),
        }
    }
    ensure!(pings >= 1, "no ping before the close");
    Ok(())
}

#[tokio::test]
async fn answered_pings_keep_the_connection_alive() -> Result<()> {
    let sim = start(keepalive_rules()).await?;
    let (mut ws, id) = connect_tracked(&sim, "/ws").await?;
    // Read (tungstenite answers each ping with its payload) for four deadlines.
    let until = Instant::now() + Duration::from_millis(1200);
    let mut pings = 0;
    while Instant::now() < until {
        match tokio::time::timeout_at(until, ws.next()).await {
            Err(_) => break,
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(other) => bail!("unexpected {other:?}"),
        }
    }
    ensure!(pings >= 6, "only {pings} pings in 1.2 s");
    let s = stats(&sim, id)?;
    ensure!(s.open, "{s:?}");
    // Each automatic pong counts as an incoming frame.
    ensure!(s.frames_in + 1 >= pings, "{s:?}");
    Ok(())
}

#[tokio::test]
async fn unsolicited_pongs_do_not_keep_the_connection_alive() -> Result<()> {
    let sim = start(keepalive_rules()).await?;
    let (mut ws, id) = connect_tracked(&sim, "/ws").await?;
    // Four unsolicited pongs a second (under the frame limit), never reading.
    let mut pace = tokio::time::interval(Duration::from_millis(250));
    let deadline = Instant::now() + WAIT;
    while stats(&sim, id)?.open {
        ensure!(Instant::now() < deadline, "still open");
        pace.tick().await;
        if ws.send(Message::Pong(b"".to_vec().into())).await.is_err() {
            break;
        }
    }
    closed_with(&sim, id, 1001, "Pong timeout").await
}

#[tokio::test]
async fn the_lifetime_ends_with_server_shutdown_then_1001() -> Result<()> {
    let sim = start(ConnectionRules {
        max_lifetime: Duration::from_millis(600),
        shutdown_notice: Some(Duration::from_millis(300)),
        ..ConnectionRules::default()
    })
    .await?;
    let opened = Instant::now();
    let (mut combined, combined_id) = connect_tracked(&sim, "/stream").await?;
    let (mut raw, _) = connect_tracked(&sim, "/ws").await?;
    let event = next_event(&mut combined).await?;
    let notice_after = opened.elapsed();
    ensure!(
        event["stream"] == "!serverShutdown" && event["data"]["e"] == "serverShutdown",
        "{event}"
    );
    ensure!(event["data"]["E"].is_u64(), "{event}");
    ensure!(
        notice_after >= Duration::from_millis(290),
        "notice after {notice_after:?}"
    );
    let event = next_event(&mut raw).await?;
    ensure!(
        event["e"] == "serverShutdown" && event["E"].is_u64(),
        "{event}"
    );
    for ws in [&mut combined, &mut raw] {
        let frame = expect_close(ws).await?;
        ensure!(frame.code == CloseCode::Away, "{frame:?}");
        ensure!(frame.reason == "Connection lifetime expired", "{frame:?}");
    }
    ensure!(
        opened.elapsed() >= Duration::from_millis(600),
        "{:?}",
        opened.elapsed()
    );
    closed_with(&sim, combined_id, 1001, "Connection lifetime expired").await
}

/// `n` distinct, well-formed stream names (for symbols the exchange does not list).
fn names(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| format!("c{i}usdt@trade"))
        .collect()
}

#[tokio::test]
async fn the_1025th_stream_is_refused() -> Result<()> {
    // Binance's default limit, exactly, in batches paced under 5 frames a second.
    let sim = start(ConnectionRules::default()).await?;
    let (mut ws, id) = connect_tracked(&sim, "/ws").await?;
    for (batch, from) in [(1, 0), (2, 512)] {
        let req = json!({"method": "SUBSCRIBE", "params": names(from, 512), "id": batch});
        let reply = request(&mut ws, &req.to_string()).await?;
        ensure!(reply == json!({"result": null, "id": batch}), "{reply}");
    }
    let req = json!({"method": "SUBSCRIBE", "params": names(1024, 1), "id": 3});
    let reply = request(&mut ws, &req.to_string()).await?;
    ensure!(
        reply == json!({"code": 2, "msg": "Invalid request: too many streams"}),
        "{reply}"
    );
    let reply = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":4}"#).await?;
    ensure!(reply["result"] == json!(names(0, 1024)), "{reply}");
    ensure!(
        stats(&sim, id)?.subscriptions == 1024,
        "{:?}",
        stats(&sim, id)?
    );
    Ok(())
}

#[tokio::test]
async fn a_shrunk_stream_limit_applies_to_urls_and_subscribe() -> Result<()> {
    let sim = start(ConnectionRules {
        max_streams: 3,
        ..relaxed_rules()
    })
    .await?;
    let (status, body) = connect_refused(&sim, "/ws/a@trade/b@trade/c@trade/d@trade").await?;
    ensure!(
        status == 400 && body == r#"{"code":2,"msg":"Invalid request: too many streams"}"#,
        "{status} {body}"
    );
    let mut ws = connect(&sim, "/ws/a@trade/b@trade/c@trade").await?;
    // All or nothing: one new stream among known ones is still one too many.
    let reply = request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["a@trade","d@trade"],"id":1}"#,
    )
    .await?;
    ensure!(reply["code"] == 2, "{reply}");
    let reply = request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["a@trade"],"id":2}"#,
    )
    .await?;
    ensure!(reply == json!({"result": null, "id": 2}), "{reply}");
    let reply = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#).await?;
    ensure!(
        reply == json!({"result": ["a@trade", "b@trade", "c@trade"], "id": 3}),
        "{reply}"
    );
    Ok(())
}

#[tokio::test]
async fn too_many_attempts_get_http_429() -> Result<()> {
    let sim = start(ConnectionRules {
        max_attempts: 3,
        attempt_window: Duration::from_secs(60),
        ..ConnectionRules::default()
    })
    .await?;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(connect(&sim, "/ws").await?);
    }
    let (status, body) = connect_refused(&sim, "/ws").await?;
    ensure!(status == 429, "{status} {body}");
    let body: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(body["code"] == -1003, "{body}");
    wait_until("the refusal is counted", || {
        sim.handshakes().rejected_rate_limited == 1
    })
    .await?;
    let h = sim.handshakes();
    ensure!(h.attempts == 4 && h.accepted == 3, "{h:?}");
    Ok(())
}

#[tokio::test]
async fn dropping_with_a_close_code() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    let (mut a, a_id) = connect_tracked(&sim, "/ws/btcusdt@depth@100ms").await?;
    let (mut b, _) = connect_tracked(&sim, "/stream").await?;
    let told = sim.drop_connections(DropKind::Close {
        code: 1012,
        reason: "service restart".to_owned(),
    });
    ensure!(told == 2, "told {told}");
    for ws in [&mut a, &mut b] {
        let frame = expect_close(ws).await?;
        ensure!(
            frame.code == CloseCode::Restart && frame.reason == "service restart",
            "{frame:?}"
        );
    }
    closed_with(&sim, a_id, 1012, "service restart").await
}

/// Reads until the connection ends; fails on a close frame.
async fn expect_reset(ws: &mut Client) -> Result<()> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await? {
            Some(Ok(Message::Close(frame))) => bail!("got a close frame {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(WsError::Io(_) | WsError::Protocol(_))) | None => return Ok(()),
            Some(Err(other)) => bail!("unexpected error {other}"),
        }
    }
}

#[tokio::test]
async fn reset_ends_the_connection_without_a_close_frame() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    let (mut ws, id) = connect_tracked(&sim, "/ws/btcusdt@depth@100ms").await?;
    next_event(&mut ws).await?;
    ensure!(sim.drop_connections(DropKind::Reset) == 1);
    expect_reset(&mut ws).await?;
    closed_with(&sim, id, 1006, "connection reset by server").await
}

#[tokio::test]
async fn a_stall_sends_nothing_until_it_ends() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    let (mut ws, id) = connect_tracked(&sim, "/ws/btcusdt@depth@100ms").await?;
    next_event(&mut ws).await?;
    sim.set_stalled(true);
    // Frames already on their way may still arrive; then nothing does.
    let quiet = Duration::from_millis(400);
    let deadline = Instant::now() + WAIT;
    while next_within(&mut ws, quiet).await.is_ok() {
        ensure!(
            Instant::now() < deadline,
            "frames keep coming while stalled"
        );
    }
    // Requests and pings are still read, but neither replies nor pongs go out.
    let frames_in = stats(&sim, id)?.frames_in;
    ws.send(Message::text(r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#))
        .await?;
    ws.send(Message::Ping(b"stalled".to_vec().into())).await?;
    wait_until("the server read both frames", || {
        stats(&sim, id).is_ok_and(|s| s.frames_in == frames_in + 2)
    })
    .await?;
    ensure!(
        next_within(&mut ws, quiet).await.is_err(),
        "a frame arrived while stalled"
    );
    sim.set_stalled(false);
    // The held reply and pong, then data again.
    let (mut reply, mut pong, mut data) = (false, false, false);
    while !(reply && pong && data) {
        match next_within(&mut ws, WAIT).await? {
            Some(Message::Text(text)) => {
                let value: serde_json::Value = serde_json::from_str(&text)?;
                if value == json!({"result": ["btcusdt@depth@100ms"], "id": 1}) {
                    reply = true;
                } else {
                    ensure!(value["e"] == "depthUpdate", "{value}");
                    data = true;
                }
            }
            Some(Message::Pong(payload)) => {
                ensure!(&payload[..] == b"stalled", "{payload:?}");
                pong = true;
            }
            other => bail!("unexpected {other:?}"),
        }
    }
    ensure!(stats(&sim, id)?.open);
    Ok(())
}

#[tokio::test]
async fn refused_connections_are_reset_until_refusing_ends() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    sim.refuse_connections(Duration::from_secs(60));
    let url = format!("{}/ws", sim.ws_url());
    let result = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url.as_str())).await?;
    match result {
        Err(WsError::Io(_) | WsError::Protocol(_)) => {}
        other => bail!("expected a reset, got {other:?}"),
    }
    let h = sim.handshakes();
    ensure!(h.refused == 1 && h.accepted == 0, "{h:?}");
    sim.refuse_connections(Duration::ZERO);
    let mut ws = connect(&sim, "/ws").await?;
    let reply = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#).await?;
    ensure!(reply == json!({"result": [], "id": 1}), "{reply}");
    Ok(())
}

#[tokio::test]
async fn server_shutdown_events_keep_the_connection_open() -> Result<()> {
    let sim = start(relaxed_rules()).await?;
    let (mut raw, _) = connect_tracked(&sim, "/ws").await?;
    let (mut combined, _) = connect_tracked(&sim, "/stream").await?;
    ensure!(sim.send_server_shutdown() == 2);
    let event = next_event(&mut raw).await?;
    ensure!(
        event["e"] == "serverShutdown" && event.as_object().is_some_and(|o| o.len() == 2),
        "{event}"
    );
    let event = next_event(&mut combined).await?;
    ensure!(
        event["stream"] == "!serverShutdown" && event["data"]["e"] == "serverShutdown",
        "{event}"
    );
    let reply = request(&mut raw, r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#).await?;
    ensure!(reply == json!({"result": [], "id": 1}), "{reply}");
    Ok(())
}

#[tokio::test]
async fn simulator_shutdown_closes_every_connection_with_1001() -> Result<()> {
    let sim = Sim::start(config(relaxed_rules())).await?;
    let mut a = connect(&sim, "/ws/btcusdt@depth@100ms").await?;
    let mut b = connect(&sim, "/stream").await?;
    let stopping = tokio::spawn(sim.shutdown());
    for ws in [&mut a, &mut b] {
        let frame = expect_close(ws).await?;
        ensure!(
            frame.code == CloseCode::Away && frame.reason == "server shutdown",
            "{frame:?}"
        );
    }
    tokio::time::timeout(WAIT, stopping).await??;
    Ok(())
}

#[tokio::test]
async fn a_slow_consumer_is_closed_with_1013() -> Result<()> {
    let sim = start(ConnectionRules {
        send_buffer: 2,
        ..relaxed_rules()
    })
    .await?;
    sim.set_symbol_rate("BTCUSDT", 20_000.0)?;
    // A small receive buffer and no reading: the server's writes back up quickly.
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    let stream = socket.connect(sim.ws_addr()).await?;
    let url = format!(
        "{}/ws/btcusdt@trade/btcusdt@aggTrade/btcusdt@depth@100ms",
        sim.ws_url()
    );
    let (_ws, _) = tokio_tungstenite::client_async(url.as_str(), stream).await?;
    let id = wait_for_id(&sim).await?;
    closed_with(&sim, id, 1013, "Slow consumer").await
}

async fn wait_for_id(sim: &SimHandle) -> Result<u64> {
    let mut id = None;
    wait_until("the connection is listed", || {
        id = sim.connections().last().map(|c| c.id);
        id.is_some()
    })
    .await?;
    Ok(id.unwrap_or_default())
}
