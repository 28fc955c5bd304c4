//! Bad input on a user's connection, from a scripted WebSocket API server (the
//! simulator cannot misbehave this way): unknown event types, undecodable frames
//! and an execution report for an order nobody placed are skipped or delivered,
//! counted, and never fatal; `eventStreamTerminated` makes the client subscribe
//! again; `serverShutdown` makes it reconnect.

mod user_common;

use anyhow::{Context, Result};
use crypto_exchange::user::{EventSource, UserConfig, UserEvent, UserStatus};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use user_common::{Reader, WAIT, hmac_credentials, sim};

/// A scripted server: answers every subscription, then sends the script of that
/// request (the n-th request over all connections gets `scripts[n]`), on as many
/// connections as the client opens. Reports every request it received.
async fn serve(
    listener: TcpListener,
    scripts: Vec<Vec<String>>,
    seen: mpsc::UnboundedSender<Value>,
) {
    let mut requests = 0;
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            continue;
        };
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let Ok(request) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let _ = seen.send(request.clone());
            let answer =
                json!({"id": request["id"], "status": 200, "result": {"subscriptionId": requests}});
            if ws.send(Message::text(answer.to_string())).await.is_err() {
                break;
            }
            for frame in scripts.get(requests).into_iter().flatten() {
                if ws.send(Message::text(frame.clone())).await.is_err() {
                    break;
                }
            }
            requests += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_are_skipped_and_counted_and_terminations_resubscribe() -> Result<()> {
    let sim = sim().await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/ws-api/v3", listener.local_addr()?);
    let report = std::fs::read_to_string(format!(
        "{}/../binance-sim/tests/fixtures/uds_executionReport.json",
        env!("CARGO_MANIFEST_DIR")
    ))?;
    let first = vec![
        r#"{"subscriptionId":0,"event":{"e":"brandNewEvent","E":1}}"#.to_owned(),
        "{not json".to_owned(),
        r#"{"subscriptionId":0,"event":{"e":"balanceUpdate","E":1,"a":"BTC","d":"1e3","T":1}}"#
            .to_owned(),
        // An order this account never placed: delivered as it is.
        report.replace('\n', ""),
        r#"{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}"#
            .to_owned(),
    ];
    let second = vec![r#"{"event":{"e":"serverShutdown","E":1}}"#.to_owned()];
    let (seen_tx, mut requests) = mpsc::unbounded_channel();
    let server = tokio::spawn(serve(listener, vec![first, second], seen_tx));

    let (manager, updates) = {
        let mut config = crypto_exchange::user::UserManagerConfig {
            ws_api_url: url,
            ..crypto_exchange::user::UserManagerConfig::default()
        };
        config.rest.base_url = sim.rest_url();
        config.reconnect.initial_delay = std::time::Duration::from_millis(50);
        crypto_exchange::user::UserManager::new(config)?
    };
    let mut reader = Reader::new(updates);
    manager.add(UserConfig::new("u", hmac_credentials(), &["BTCUSDT"]))?;
    // Subscribed three times: the first, after the termination (in place), after
    // the shutdown (a new connection); the second reconcile was cut short by the
    // shutdown, and the third one, after the last subscription, covers it.
    reader
        .until("three subscriptions, then a reconcile", |r| {
            let u = r.user("u");
            u.count(|s| matches!(s, UserStatus::Subscribed { .. })) == 3
                && matches!(u.statuses.last(), Some(UserStatus::Reconciled { .. }))
        })
        .await?;
    let u = reader.user("u");
    assert_eq!(u.count(|s| matches!(s, UserStatus::UnknownEvent { event_type } if event_type == "brandNewEvent")), 1);
    assert_eq!(
        u.count(|s| matches!(s, UserStatus::Undecodable { .. })),
        2,
        "{:?}",
        u.statuses
    );
    assert_eq!(manager.skipped_frames(), 3);
    assert!(u.events.iter().any(|(s, e)| *s == EventSource::Live
        && matches!(e, UserEvent::ExecutionReport(r) if r.order_id == 4_293_153)));
    assert!(
        u.events
            .iter()
            .any(|(_, e)| matches!(e, UserEvent::StreamTerminated(_)))
    );
    // One disconnect: the shutdown (the termination resubscribed in place).
    assert_eq!(u.count(|s| matches!(s, UserStatus::Disconnected { .. })), 1);
    assert_eq!(u.count(|s| matches!(s, UserStatus::Stopped { .. })), 0);
    // Every request was a signed subscription, never carrying the secret.
    let mut count = 0;
    while let Ok(request) = requests.try_recv() {
        count += 1;
        assert_eq!(request["method"], "userDataStream.subscribe.signature");
        let params = request["params"].as_object().context("params")?;
        let keys: Vec<&str> = params.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert!(!request.to_string().contains(user_common::HMAC_SECRET));
    }
    assert_eq!(count, 3);
    manager.shutdown().await;
    server.abort();
    sim.shutdown().await;
    let _ = WAIT;
    Ok(())
}
