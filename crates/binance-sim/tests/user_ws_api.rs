//! The WebSocket API user data stream: signed subscriptions with HMAC and Ed25519
//! keys, events of fills triggered over REST (in the `uds_*` fixture shapes),
//! unsubscribing, the documented errors, and the fault controls.

mod user_support;

use anyhow::Result;
use binance_sim::decimal::Fixed;
use binance_sim::now_ms;
use reqwest::Method;
use serde_json::{Value, json};
use user_support::{
    ED_KEY, HMAC_KEY, READ_ONLY_KEY, READ_ONLY_SECRET, Signer, User, call, config, connect_api,
    event_type, fixture, same_shape, subscribe, subscribe_params, until,
};

#[tokio::test]
async fn fills_over_rest_reach_the_subscription_in_fixture_shapes() -> Result<()> {
    let user = User::start(config()).await?;
    let mut ws = connect_api(&user.sim).await?;
    let mut events = Vec::new();
    let answer = call(
        &mut ws,
        &subscribe("sub-hmac", HMAC_KEY, &Signer::hmac()),
        &mut events,
    )
    .await?;
    assert_eq!(answer["id"], "sub-hmac");
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["result"], json!({"subscriptionId": 0}));
    assert_eq!(answer["rateLimits"][0]["rateLimitType"], "REQUEST_WEIGHT");
    // The same shape as the documented answer (plus rateLimits, which it omits).
    let documented = fixture("wsapi_userDataStream_subscribe_response")?;
    same_shape(&documented, &answer, &[], "answer").or_else(|e| {
        if e.contains("rateLimits") {
            Ok(())
        } else {
            Err(anyhow::anyhow!(e))
        }
    })?;
    let ed = call(
        &mut ws,
        &subscribe("sub-ed", ED_KEY, &Signer::ed25519()),
        &mut events,
    )
    .await?;
    assert_eq!(ed["result"], json!({"subscriptionId": 1}), "{ed}");

    let bought = user
        .hmac(
            Method::POST,
            "/api/v3/order",
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.00300",
        )
        .await?;
    assert_eq!(bought.status, 200, "{}", bought.body);
    let fills = bought.body["fills"].as_array().map_or(0, Vec::len);
    let order_id = bought.body["orderId"].clone();
    let (position, reports) =
        until(&mut ws, |f| event_type(f) == "outboundAccountPosition").await?;
    assert!(
        reports.iter().all(|r| r["subscriptionId"] == 0),
        "{reports:?}"
    );
    assert_eq!(
        reports.len(),
        fills + 1,
        "NEW and one TRADE per fill: {reports:?}"
    );
    assert_eq!(reports[0]["event"]["x"], "NEW");
    assert_eq!(reports[0]["event"]["i"], order_id);
    let mut cumulative = Fixed::ZERO;
    for report in &reports[1..] {
        let e = &report["event"];
        assert_eq!(e["x"], "TRADE");
        cumulative = Fixed(
            cumulative.0
                + Fixed::parse(e["l"].as_str().unwrap_or(""))
                    .unwrap_or_default()
                    .0,
        );
        assert_eq!(e["z"].as_str(), Some(cumulative.to_string().as_str()));
        assert_eq!(e["m"], false);
    }
    assert_eq!(reports[reports.len() - 1]["event"]["X"], "FILLED");
    assert_eq!(cumulative, Fixed(300_000));
    // Fixture shapes: `v` is the STP field, present only when self-trade prevention
    // expired the order; a NEW report has a null commission asset, as in the fixture.
    same_shape(
        &fixture("uds_executionReport")?,
        &reports[0],
        &["v"],
        "executionReport",
    )
    .map_err(anyhow::Error::msg)?;
    same_shape(
        &fixture("uds_outboundAccountPosition")?,
        &position,
        &[],
        "outboundAccountPosition",
    )
    .map_err(anyhow::Error::msg)?;
    let assets: Vec<&str> = position["event"]["B"]
        .as_array()
        .map(|b| b.iter().filter_map(|p| p["a"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(assets, ["BTC", "USDT"]);
    let account = user
        .sim
        .account(HMAC_KEY)
        .unwrap_or_else(|| panic!("account"));
    assert_eq!(
        position["event"]["B"][0]["f"],
        account.balances["BTC"].free.to_string()
    );

    // A deposit to the Ed25519 account arrives on its subscription as balanceUpdate.
    user.sim.deposit(ED_KEY, "ETH", Fixed(250_000_000))?;
    let (update, _) = until(&mut ws, |f| event_type(f) == "balanceUpdate").await?;
    assert_eq!(update["subscriptionId"], 1);
    assert_eq!(update["event"]["d"], "2.50000000");
    same_shape(
        &fixture("uds_balanceUpdate")?,
        &update,
        &[],
        "balanceUpdate",
    )
    .map_err(anyhow::Error::msg)?;
    let (position, _) = until(&mut ws, |f| event_type(f) == "outboundAccountPosition").await?;
    assert_eq!(position["event"]["B"][0]["a"], "ETH");

    // Listing, then unsubscribing one: `{}` and eventStreamTerminated.
    let listed = call(
        &mut ws,
        &json!({"id": 3, "method": "session.subscriptions"}),
        &mut events,
    )
    .await?;
    assert_eq!(
        listed["result"],
        json!([{"subscriptionId": 0}, {"subscriptionId": 1}])
    );
    let status = call(
        &mut ws,
        &json!({"id": 4, "method": "session.status"}),
        &mut events,
    )
    .await?;
    assert_eq!(status["result"]["userDataStream"], true);
    let unsub = call(
        &mut ws,
        &json!({"id": 5, "method": "userDataStream.unsubscribe", "params": {"subscriptionId": 0}}),
        &mut events,
    )
    .await?;
    assert_eq!(unsub["result"], json!({}));
    let (ended, _) = until(&mut ws, |f| event_type(f) == "eventStreamTerminated").await?;
    assert_eq!(ended["subscriptionId"], 0);
    same_shape(
        &fixture("uds_eventStreamTerminated")?,
        &ended,
        &[],
        "eventStreamTerminated",
    )
    .map_err(anyhow::Error::msg)?;
    // Subscription 0 is gone: the next HMAC fill is not delivered, the Ed25519 one is.
    user.hmac(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.00100",
    )
    .await?;
    user.sim.deposit(ED_KEY, "ETH", Fixed(1))?;
    let (next, skipped) = until(&mut ws, |f| event_type(f) == "balanceUpdate").await?;
    assert_eq!(next["subscriptionId"], 1);
    assert!(
        skipped.iter().all(|f| f["subscriptionId"] == 1),
        "{skipped:?}"
    );
    // Unsubscribing without an id ends the rest.
    call(
        &mut ws,
        &json!({"id": 6, "method": "userDataStream.unsubscribe"}),
        &mut events,
    )
    .await?;
    let (ended, _) = until(&mut ws, |f| event_type(f) == "eventStreamTerminated").await?;
    assert_eq!(ended["subscriptionId"], 1);
    let status = call(
        &mut ws,
        &json!({"id": 7, "method": "session.status"}),
        &mut events,
    )
    .await?;
    assert_eq!(status["result"]["userDataStream"], false);
    user.sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bad_subscriptions_get_the_documented_errors() -> Result<()> {
    let user = User::start(config()).await?;
    let mut ws = connect_api(&user.sim).await?;
    let mut events = Vec::new();
    let now = now_ms();
    let request = |id: &str, params: Value| json!({"id": id, "method": "userDataStream.subscribe.signature", "params": params});
    let cases = [
        (
            "wrong-secret",
            subscribe_params(HMAC_KEY, &Signer::Hmac("wrong".into()), now),
            400,
            -1022,
        ),
        (
            "wrong-key-type",
            subscribe_params(ED_KEY, &Signer::hmac(), now),
            400,
            -1022,
        ),
        (
            "ed-for-hmac",
            subscribe_params(HMAC_KEY, &Signer::ed25519(), now),
            400,
            -1022,
        ),
        (
            "stale",
            subscribe_params(HMAC_KEY, &Signer::hmac(), now - 60_000),
            400,
            -1021,
        ),
        (
            "ahead",
            subscribe_params(HMAC_KEY, &Signer::hmac(), now + 10_000),
            400,
            -1021,
        ),
        (
            "unknown-key",
            subscribe_params("unknownKey123", &Signer::hmac(), now),
            401,
            -2015,
        ),
        (
            "bad-key",
            subscribe_params("bad key!", &Signer::hmac(), now),
            401,
            -2014,
        ),
        (
            "read-only",
            subscribe_params(READ_ONLY_KEY, &Signer::Hmac(READ_ONLY_SECRET.into()), now),
            401,
            -2015,
        ),
        (
            "no-key",
            json!({"timestamp": now, "signature": "00"}),
            400,
            -1102,
        ),
        (
            "no-signature",
            json!({"apiKey": HMAC_KEY, "timestamp": now}),
            400,
            -1102,
        ),
        (
            "no-timestamp",
            json!({"apiKey": HMAC_KEY, "signature": "00"}),
            400,
            -1102,
        ),
        (
            "bad-signature",
            json!({"apiKey": HMAC_KEY, "timestamp": now, "signature": "not hex"}),
            400,
            -1022,
        ),
        (
            "object-param",
            json!({"apiKey": {"k": 1}, "timestamp": now, "signature": "00"}),
            400,
            -1100,
        ),
    ];
    for (id, params, status, code) in cases {
        let answer = call(&mut ws, &request(id, params), &mut events).await?;
        assert_eq!(answer["id"], id);
        assert_eq!(
            (answer["status"].as_u64(), answer["error"]["code"].as_i64()),
            (Some(status), Some(code)),
            "{id}: {answer}"
        );
        assert!(answer["result"].is_null());
    }
    // A recvWindow is part of the signed payload, and a short one makes skew fatal.
    let ts = now_ms() - 3_000;
    let payload = format!("apiKey={HMAC_KEY}&recvWindow=1000&timestamp={ts}");
    let short = json!({"apiKey": HMAC_KEY, "recvWindow": 1000, "timestamp": ts, "signature": Signer::hmac().sign(&payload)});
    let answer = call(&mut ws, &request("short-window", short), &mut events).await?;
    assert_eq!(answer["error"]["code"], -1021, "{answer}");
    let payload = format!("apiKey={HMAC_KEY}&recvWindow=60000&timestamp={ts}");
    let wide = json!({"apiKey": HMAC_KEY, "recvWindow": 60000, "timestamp": ts, "signature": Signer::hmac().sign(&payload)});
    let answer = call(&mut ws, &request("wide-window", wide), &mut events).await?;
    assert_eq!(answer["result"]["subscriptionId"], 0, "{answer}");
    // One subscription per account per connection.
    let again = call(
        &mut ws,
        &subscribe("again", HMAC_KEY, &Signer::hmac()),
        &mut events,
    )
    .await?;
    assert_eq!(again["error"]["code"], -1013, "{again}");
    // Envelope errors.
    let unknown = call(
        &mut ws,
        &json!({"id": 9, "method": "order.nope"}),
        &mut events,
    )
    .await?;
    assert_eq!(
        (
            unknown["status"].as_u64(),
            unknown["error"]["code"].as_i64()
        ),
        (Some(400), Some(-1020))
    );
    let logon = call(
        &mut ws,
        &json!({"id": 10, "method": "userDataStream.subscribe"}),
        &mut events,
    )
    .await?;
    assert_eq!(logon["error"]["code"], -1002);
    let extra = call(
        &mut ws,
        &json!({"id": 11, "method": "ping", "params": {"x": 1}}),
        &mut events,
    )
    .await?;
    assert_eq!(extra["error"]["code"], -1104);
    ws_send_text(&mut ws, "{not json").await?;
    let (invalid, _) = until(&mut ws, |f| f.get("status").is_some()).await?;
    assert_eq!(
        (invalid["id"].clone(), invalid["error"]["code"].as_i64()),
        (Value::Null, Some(-1000))
    );
    let quiet = call(
        &mut ws,
        &json!({"id": "q", "method": "ping", "params": {"returnRateLimits": false}}),
        &mut events,
    )
    .await?;
    assert_eq!(quiet["result"], json!({}));
    assert!(quiet.get("rateLimits").is_none());
    user.sim.shutdown().await;
    Ok(())
}

async fn ws_send_text(ws: &mut user_support::Ws, text: &str) -> Result<()> {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(text))
        .await?;
    Ok(())
}

#[tokio::test]
async fn resting_orders_fill_against_the_market_and_faults_end_subscriptions() -> Result<()> {
    let user = User::start(config()).await?;
    let mut ws = connect_api(&user.sim).await?;
    let mut events = Vec::new();
    call(
        &mut ws,
        &subscribe("s", HMAC_KEY, &Signer::hmac()),
        &mut events,
    )
    .await?;
    // A sell at the best ask joins the back of its queue; the market's buyers reach it.
    let (_, ask) = user.best("BTCUSDT")?;
    let placed = user
        .hmac(
            Method::POST,
            "/api/v3/order",
            &format!(
                "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.00050&price={ask}"
            ),
        )
        .await?;
    assert_eq!(placed.body["status"], "NEW", "{}", placed.body);
    let (new, _) = until(&mut ws, |f| f["event"]["x"] == "NEW").await?;
    assert_eq!(new["event"]["w"], true);
    let (lock, _) = until(&mut ws, |f| event_type(f) == "outboundAccountPosition").await?;
    assert_eq!(lock["event"]["B"][0]["l"], "0.00050000");
    user.sim.set_symbol_rate("BTCUSDT", 400.0)?;
    let (fill, _) = until(&mut ws, |f| f["event"]["x"] == "TRADE").await?;
    assert_eq!(fill["event"]["m"], true, "a maker fill: {fill}");
    assert_eq!(fill["event"]["L"].as_str(), Some(ask.to_string().as_str()));
    let trade_id = fill["event"]["t"].as_u64().unwrap_or_default();
    let public = user
        .raw(
            Method::GET,
            "/api/v3/trades",
            None,
            "symbol=BTCUSDT&limit=1000",
            "",
        )
        .await?;
    let row = public.body.as_array().and_then(|rows| {
        rows.iter()
            .find(|r| r["id"].as_u64() == Some(trade_id))
            .cloned()
    });
    let row = row.unwrap_or_else(|| panic!("trade {trade_id} is public"));
    assert_eq!(
        row["isBuyerMaker"], false,
        "a market buyer took the account's sell"
    );
    user.sim.set_symbol_rate("BTCUSDT", 0.0)?;

    // The fault control ends every subscription.
    assert_eq!(user.sim.terminate_user_streams(), 1);
    let (ended, _) = until(&mut ws, |f| event_type(f) == "eventStreamTerminated").await?;
    assert_eq!(ended["subscriptionId"], 0);
    // Revoking a key ends its subscriptions too, and a new id is handed out each time.
    let again = call(
        &mut ws,
        &subscribe("s2", HMAC_KEY, &Signer::hmac()),
        &mut events,
    )
    .await?;
    assert_eq!(again["result"]["subscriptionId"], 1);
    user.sim.revoke_key(HMAC_KEY)?;
    let (ended, _) = until(&mut ws, |f| event_type(f) == "eventStreamTerminated").await?;
    assert_eq!(ended["subscriptionId"], 1);
    let refused = call(
        &mut ws,
        &subscribe("s3", HMAC_KEY, &Signer::hmac()),
        &mut events,
    )
    .await?;
    assert_eq!(refused["error"]["code"], -2015);
    // serverShutdown reaches WebSocket API connections as `{"event":…}`.
    user.sim.send_server_shutdown();
    let (shutdown, _) = until(&mut ws, |f| f["event"]["e"] == "serverShutdown").await?;
    assert!(shutdown.get("subscriptionId").is_none());
    user.sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn the_connection_rules_of_the_streams_apply() -> Result<()> {
    let mut config = config();
    config.rules.max_incoming_frames = 5;
    let user = User::start(config).await?;
    let mut ws = connect_api(&user.sim).await?;
    for id in 0..6 {
        ws_send_text(&mut ws, &json!({"id": id, "method": "ping"}).to_string()).await?;
    }
    let (close, answers) = until_close(&mut ws).await?;
    assert_eq!(close, (1008, "Too many requests".to_owned()));
    assert_eq!(
        answers, 5,
        "the five requests inside the limit were answered"
    );
    user.sim.shutdown().await;
    Ok(())
}

/// Reads until the server's close frame; returns its code and reason and how many
/// text frames came before it.
async fn until_close(ws: &mut user_support::Ws) -> Result<((u16, String), usize)> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut texts = 0;
    loop {
        match tokio::time::timeout(user_support::WAIT, ws.next()).await? {
            Some(Ok(Message::Text(_))) => texts += 1,
            Some(Ok(Message::Close(Some(frame)))) => {
                return Ok(((u16::from(frame.code), frame.reason.to_string()), texts));
            }
            Some(Ok(_)) => {}
            other => anyhow::bail!("no close frame: {other:?}"),
        }
    }
}
