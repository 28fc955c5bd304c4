//! Helpers shared by the market-stream integration tests: starting a simulator with
//! shrunk rules, a plain tokio-tungstenite client, and bounded waits for frames and
//! conditions (never a sleep standing in for synchronisation).

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use binance_sim::{ConnectionRules, ConnectionStats, Sim, SimConfig, SimHandle};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// A test client.
pub(crate) type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The longest any single wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A simulator configuration with `rules`, little warm-up and no admin API.
pub(crate) fn config(rules: ConnectionRules) -> SimConfig {
    SimConfig {
        rules,
        admin_listen: None,
        warmup_actions: 2_000,
        ..SimConfig::default()
    }
}

/// Starts a simulator with `rules`.
pub(crate) async fn start(rules: ConnectionRules) -> Result<SimHandle> {
    Ok(Sim::start(config(rules)).await?)
}

/// Connects to `path` (such as `/ws/btcusdt@trade`).
pub(crate) async fn connect(sim: &SimHandle, path: &str) -> Result<Client> {
    let url = format!("{}{path}", sim.ws_url());
    let (ws, response) = timeout(WAIT, connect_async(url.as_str()))
        .await
        .context("connect timed out")?
        .with_context(|| format!("connect to {url}"))?;
    anyhow::ensure!(response.status() == 101, "status {}", response.status());
    Ok(ws)
}

/// Connects to `path` and waits until the simulator lists the connection; returns
/// the client and the connection's id.
pub(crate) async fn connect_tracked(sim: &SimHandle, path: &str) -> Result<(Client, u64)> {
    let known: Vec<u64> = sim.connections().iter().map(|c| c.id).collect();
    let ws = connect(sim, path).await?;
    let mut id = None;
    wait_until("the connection is registered", || {
        id = sim
            .connections()
            .iter()
            .find(|c| !known.contains(&c.id) && c.path == path)
            .map(|c| c.id);
        id.is_some()
    })
    .await?;
    Ok((ws, id.unwrap_or_default()))
}

/// A handshake expected to fail with an HTTP error: its status and body.
pub(crate) async fn connect_refused(sim: &SimHandle, path: &str) -> Result<(u16, String)> {
    let url = format!("{}{path}", sim.ws_url());
    match timeout(WAIT, connect_async(url.as_str()))
        .await
        .context("connect timed out")?
    {
        Ok(_) => bail!("{path}: the handshake succeeded"),
        Err(WsError::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Ok((response.status().as_u16(), body))
        }
        Err(other) => bail!("{path}: expected an HTTP error, got {other}"),
    }
}

/// The stats of connection `id`.
pub(crate) fn stats(sim: &SimHandle, id: u64) -> Result<ConnectionStats> {
    sim.connections()
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| anyhow!("connection {id} is not listed"))
}

/// Polls `condition` every few milliseconds until it holds, for at most [`WAIT`].
pub(crate) async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        if Instant::now() >= deadline {
            bail!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// The next frame of any kind, within `within`; `None` when the stream ended.
pub(crate) async fn next_within(ws: &mut Client, within: Duration) -> Result<Option<Message>> {
    match timeout(within, ws.next()).await {
        Err(_) => bail!("no frame within {within:?}"),
        Ok(None) => Ok(None),
        Ok(Some(frame)) => Ok(Some(frame?)),
    }
}

/// The next text frame as JSON, skipping pings and pongs; fails on a close.
pub(crate) async fn recv_json(ws: &mut Client) -> Result<Value> {
    loop {
        match next_within(ws, WAIT).await? {
            Some(Message::Text(text)) => {
                return serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"));
            }
            Some(Message::Ping(_) | Message::Pong(_)) => {}
            Some(other) => bail!("expected a text frame, got {other:?}"),
            None => bail!("the connection ended"),
        }
    }
}

/// True for a control reply (`result` or `code`), as opposed to a stream event.
pub(crate) fn is_reply(value: &Value) -> bool {
    value.get("result").is_some() || value.get("code").is_some()
}

/// Sends `text` and returns the next control reply, skipping stream events.
pub(crate) async fn request(ws: &mut Client, text: &str) -> Result<Value> {
    ws.send(Message::text(text)).await?;
    next_reply(ws).await
}

/// The next control reply, skipping stream events.
pub(crate) async fn next_reply(ws: &mut Client) -> Result<Value> {
    loop {
        let value = recv_json(ws).await?;
        if is_reply(&value) {
            return Ok(value);
        }
    }
}

/// Reads until the server's close frame and returns it; fails when the connection
/// ends without one.
pub(crate) async fn expect_close(ws: &mut Client) -> Result<CloseFrame> {
    loop {
        match next_within(ws, WAIT).await {
            Ok(Some(Message::Close(Some(frame)))) => {
                finish_close(ws).await;
                return Ok(frame);
            }
            Ok(Some(Message::Close(None))) => bail!("close frame without a code"),
            Ok(Some(_)) => {}
            Ok(None) => bail!("the connection ended without a close frame"),
            Err(error) => return Err(error.context("waiting for a close frame")),
        }
    }
}

/// Reads until the next stream event (not a reply) and returns it.
pub(crate) async fn next_event(ws: &mut Client) -> Result<Value> {
    loop {
        let value = recv_json(ws).await?;
        if !is_reply(&value) {
            return Ok(value);
        }
    }
}

/// Loads a fixture from `tests/fixtures`.
pub(crate) fn fixture(name: &str) -> Result<Value> {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    Ok(serde_json::from_str(&text)?)
}

/// Checks that `actual` has exactly the keys of `expected`, with the same JSON types,
/// recursively; every element of an array is compared with the expected array's
/// first element. An empty actual array cannot be compared and is an error.
pub(crate) fn same_shape(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut ek: Vec<&String> = e.keys().collect();
            let mut ak: Vec<&String> = a.keys().collect();
            ek.sort();
            ak.sort();
            if ek != ak {
                return Err(format!("{at}: keys {ak:?}, expected {ek:?}"));
            }
            for (key, value) in e {
                same_shape(value, &a[key], &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            let Some(first) = e.first() else {
                return Ok(());
            };
            if a.is_empty() {
                return Err(format!("{at}: empty array"));
            }
            for (i, element) in a.iter().enumerate() {
                same_shape(first, element, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) => {
            if e.is_f64() == a.is_f64() {
                Ok(())
            } else {
                Err(format!("{at}: {a}, expected a number like {e}"))
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => Ok(()),
        _ => Err(format!("{at}: {actual}, expected the type of {expected}")),
    }
}

/// Reads on after a close frame, so the client's answer goes out and the server
/// sees the close handshake complete.
pub(crate) async fn finish_close(ws: &mut Client) {
    let _ = timeout(WAIT, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// Rules that never get in the way of a protocol test: a generous frame limit over
/// a long window, so counts are exact however slow the machine is.
pub(crate) fn relaxed_rules() -> ConnectionRules {
    ConnectionRules {
        max_incoming_frames: 1_000,
        rate_window: Duration::from_secs(60),
        ..ConnectionRules::default()
    }
}
