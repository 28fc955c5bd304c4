//! Accounts' orders and the public market: their trades are ordinary public trades,
//! and trade and aggregate-trade ids stay contiguous while the market's own takers
//! and accounts' orders interleave.

mod user_support;

use std::time::Duration;

use anyhow::Result;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::Value;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use user_support::{User, WAIT, config};

#[tokio::test]
async fn trade_ids_stay_contiguous_with_account_orders() -> Result<()> {
    let user = User::start(config()).await?;
    let url = format!(
        "{}/stream?streams=btcusdt@aggTrade/btcusdt@trade",
        user.sim.ws_url()
    );
    let (mut ws, _) = timeout(WAIT, connect_async(url.as_str())).await??;
    user_support_wait(&user).await?;
    user.sim.set_symbol_rate("BTCUSDT", 300.0)?;
    let mut fill_ids = Vec::new();
    for i in 0..6 {
        let side = if i % 2 == 0 { "BUY" } else { "SELL" };
        let placed = user
            .hmac(
                Method::POST,
                "/api/v3/order",
                &format!("symbol=BTCUSDT&side={side}&type=MARKET&quantity=0.00200"),
            )
            .await?;
        assert_eq!(placed.status, 200, "{}", placed.body);
        fill_ids.extend(
            placed.body["fills"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["tradeId"].as_u64()),
        );
        // Pacing, not synchronisation: lets the market's takers trade in between.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    user.sim.set_symbol_rate("BTCUSDT", 0.0)?;
    // Read what was published, until the stream goes quiet.
    let (mut aggs, mut trades): (Vec<Value>, Vec<u64>) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + WAIT;
    while let Ok(Some(frame)) = timeout(Duration::from_millis(500), ws.next()).await {
        if let Message::Text(text) = frame? {
            let value: Value = serde_json::from_str(&text)?;
            match value["data"]["e"].as_str() {
                Some("aggTrade") => aggs.push(value["data"].clone()),
                Some("trade") => trades.extend(value["data"]["t"].as_u64()),
                _ => {}
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "the stream never went quiet");
    }
    assert!(aggs.len() > 10, "only {} aggregate trades", aggs.len());
    for pair in aggs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(
            b["a"].as_u64(),
            a["a"].as_u64().map(|x| x + 1),
            "aggTrade ids"
        );
        assert_eq!(
            b["f"].as_u64(),
            a["l"].as_u64().map(|x| x + 1),
            "first/last trade ids"
        );
    }
    assert!(trades.windows(2).all(|w| w[1] == w[0] + 1), "trade ids");
    for id in &fill_ids {
        assert!(
            trades.contains(id),
            "the account's trade {id} was published"
        );
    }
    user.sim.shutdown().await;
    Ok(())
}

/// Waits until the simulator lists the stream connection, so nothing is missed.
async fn user_support_wait(user: &User) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    while !user
        .sim
        .connections()
        .iter()
        .any(|c| c.open && c.subscriptions == 2)
    {
        anyhow::ensure!(Instant::now() < deadline, "the connection never registered");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}
