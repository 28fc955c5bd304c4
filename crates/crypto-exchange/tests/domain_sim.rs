//! Every frame the simulator sends on live connections decodes, and each event
//! serializes back to the very JSON it came in.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use binance_sim::{Sim, SimConfig, SimHandle};
use crypto_exchange::domain::{
    Decoder, Event, Frame, Request, RequestId, StreamName, TimeUnit, Timestamp,
};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// The longest the test waits for every expected payload type.
const DEADLINE: Duration = Duration::from_secs(8);

async fn start() -> Result<SimHandle> {
    Ok(Sim::start(SimConfig {
        admin_listen: None,
        warmup_actions: 2_000,
        ..SimConfig::default()
    })
    .await?)
}

/// Reads frames from `url` until `done` says so or the deadline passes; decodes
/// each with `decoder` and checks its round trip. Returns the payload types seen.
async fn read_and_decode(
    url: &str,
    decoder: &Decoder,
    requests: &[Request],
    expected: &[&str],
) -> Result<BTreeSet<&'static str>> {
    let (mut ws, _) = timeout(DEADLINE, connect_async(url))
        .await
        .context("connect timed out")??;
    for request in requests {
        ws.send(Message::text(request.to_json())).await?;
    }
    let mut seen = BTreeSet::new();
    let mut frames = 0_u32;
    let deadline = Instant::now() + DEADLINE;
    while !expected.iter().all(|e| seen.contains(e)) {
        let Ok(message) = tokio::time::timeout_at(deadline, ws.next()).await else {
            bail!("after {frames} frames, saw {seen:?} of {expected:?}");
        };
        let text = match message.context("connection closed")?? {
            Message::Text(text) => text,
            Message::Ping(_) | Message::Pong(_) => continue,
            other => bail!("unexpected message {other:?}"),
        };
        frames += 1;
        let original: serde_json::Value = serde_json::from_str(&text)?;
        let frame = decoder
            .decode(&text)
            .with_context(|| format!("decode {text}"))?;
        let back = match &frame {
            Frame::Event { event, .. } => {
                seen.insert(event.type_name());
                if decoder.raw_stream().is_some() {
                    serde_json::to_value(event)?
                } else {
                    serde_json::to_value(frame.combined().context("an event")?)?
                }
            }
            Frame::Reply(reply) => {
                seen.insert("reply");
                serde_json::to_value(reply)?
            }
            other => bail!("unexpected frame {other:?} from {text}"),
        };
        ensure!(back == original, "round trip of {text} gave {back}");
    }
    ws.close(None).await.ok();
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn combined_connection_frames_all_decode() -> Result<()> {
    let sim = start().await?;
    let streams = [
        "btcusdt@aggTrade",
        "btcusdt@trade",
        "btcusdt@depth@100ms",
        "btcusdt@depth5@100ms",
        "btcusdt@bookTicker",
        "btcusdt@kline_1s",
        "btcusdt@miniTicker",
        "!miniTicker@arr",
        "btcusdt@ticker",
        "btcusdt@ticker_1h",
        "!ticker_1h@arr",
        "ethusdt@aggTrade",
        "bnbbtc@depth",
    ];
    let url = format!("{}/stream?streams={}", sim.ws_url(), streams.join("/"));
    let subscribe = Request::subscribe(
        RequestId::int(1),
        ["btcusdt@avgPrice".parse::<StreamName>()?],
    );
    let list = Request::list_subscriptions(RequestId::text("list-1")?);
    let result = read_and_decode(
        &url,
        &Decoder::combined(TimeUnit::Millisecond),
        &[subscribe, list],
        &[
            "reply",
            "depthUpdate",
            "partialDepth",
            "bookTicker",
            "kline",
            "miniTicker",
            "miniTicker@arr",
            "ticker",
            "rollingTicker",
            "rollingTicker@arr",
            "avgPrice",
        ],
    )
    .await;
    sim.shutdown().await;
    let seen = result?;
    ensure!(seen.len() >= 11, "{seen:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_microsecond_connections_decode_with_the_connection_stream() -> Result<()> {
    let sim = start().await?;
    let mut outcome = Ok(());
    for stream in [
        "btcusdt@depth5@100ms",
        "btcusdt@bookTicker",
        "!miniTicker@arr",
    ] {
        let url = format!("{}/ws/{stream}?timeUnit=MICROSECOND", sim.ws_url());
        let decoder = Decoder::raw(stream.parse()?, TimeUnit::Microsecond);
        let expected = match stream {
            "btcusdt@depth5@100ms" => "partialDepth",
            "btcusdt@bookTicker" => "bookTicker",
            _ => "miniTicker@arr",
        };
        if let Err(error) = read_and_decode(&url, &decoder, &[], &[expected]).await {
            outcome = Err(error.context(stream));
            break;
        }
    }
    // Times arrive in µs and are read as such.
    let url = format!("{}/ws/btcusdt@kline_1s?timeUnit=MICROSECOND", sim.ws_url());
    let decoder = Decoder::raw("btcusdt@kline_1s".parse()?, TimeUnit::Microsecond);
    if outcome.is_ok() {
        outcome = check_microseconds(&url, &decoder).await;
    }
    sim.shutdown().await;
    outcome
}

async fn check_microseconds(url: &str, decoder: &Decoder) -> Result<()> {
    let (mut ws, _) = timeout(DEADLINE, connect_async(url))
        .await
        .context("connect timed out")??;
    let deadline = Instant::now() + DEADLINE;
    loop {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .context("no kline in time")?
            .context("closed")??;
        let Message::Text(text) = message else {
            continue;
        };
        let Frame::Event {
            event: Event::Kline(kline),
            ..
        } = decoder.decode(&text)?
        else {
            bail!("not a kline: {text}");
        };
        ensure!(kline.event_time.unit() == TimeUnit::Microsecond);
        ensure!(kline.candle.open_time.value() % 1_000_000 == 0, "{text}");
        let now = Timestamp::from_millis(binance_sim::now_ms());
        ensure!(kline.event_time <= now, "{} after {now}", kline.event_time);
        ensure!(
            kline.event_time.as_millis() + 60_000 > now.as_millis(),
            "stale {text}"
        );
        return Ok(());
    }
}
