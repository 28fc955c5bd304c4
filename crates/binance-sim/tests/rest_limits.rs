//! REST limits: per-endpoint weights, `X-MBX-USED-WEIGHT-1M` on every response, 429 with
//! `Retry-After` above the limit, 418 IP bans for IPs that keep going, `RestStats`, and the
//! REST faults (5xx, 429, 418, slow) with recovery once cleared.

mod rest_support;

use std::collections::BTreeMap;
use std::time::Duration;

use binance_sim::{RestFault, RestRules, SimConfig, now_ms};
use rest_support::{Rest, config, in_one_minute};

fn symbols(n: usize) -> String {
    let list: Vec<String> = (0..n).map(|i| format!("%22S{i}%22")).collect();
    format!("[{}]", list.join(","))
}

#[tokio::test]
async fn each_endpoint_is_charged_its_documented_weight() {
    let mut cfg = config();
    cfg.rest.weight_per_minute = 1_000_000;
    let rest = Rest::start(cfg).await;
    let cases: Vec<(String, u32)> = vec![
        ("/api/v3/ping".into(), 1),
        ("/api/v3/time".into(), 1),
        ("/api/v3/exchangeInfo".into(), 20),
        ("/api/v3/depth?symbol=BTCUSDT".into(), 5),
        ("/api/v3/depth?symbol=BTCUSDT&limit=100".into(), 5),
        ("/api/v3/depth?symbol=BTCUSDT&limit=101".into(), 25),
        ("/api/v3/depth?symbol=BTCUSDT&limit=500".into(), 25),
        ("/api/v3/depth?symbol=BTCUSDT&limit=1000".into(), 50),
        ("/api/v3/depth?symbol=BTCUSDT&limit=5000".into(), 250),
        ("/api/v3/depth?symbol=BTCUSDT&limit=100000".into(), 250),
        ("/api/v3/trades?symbol=BTCUSDT".into(), 25),
        ("/api/v3/historicalTrades?symbol=BTCUSDT".into(), 25),
        ("/api/v3/aggTrades?symbol=BTCUSDT".into(), 4),
        ("/api/v3/klines?symbol=BTCUSDT&interval=1m".into(), 2),
        ("/api/v3/uiKlines?symbol=BTCUSDT&interval=1m".into(), 2),
        ("/api/v3/avgPrice?symbol=BTCUSDT".into(), 2),
        ("/api/v3/ticker/24hr?symbol=BTCUSDT".into(), 2),
        ("/api/v3/ticker/24hr".into(), 80),
        (
            r#"/api/v3/ticker/24hr?symbols=["BTCUSDT","ETHUSDT"]"#.into(),
            2,
        ),
        // Weights come from the parameters, before validation: unknown symbols still cost.
        (format!("/api/v3/ticker/24hr?symbols={}", symbols(21)), 40),
        (format!("/api/v3/ticker/24hr?symbols={}", symbols(101)), 80),
        ("/api/v3/ticker/price?symbol=BTCUSDT".into(), 2),
        ("/api/v3/ticker/price".into(), 4),
        (r#"/api/v3/ticker/price?symbols=["BTCUSDT"]"#.into(), 4),
        ("/api/v3/ticker/bookTicker?symbol=BTCUSDT".into(), 2),
        ("/api/v3/ticker/bookTicker".into(), 4),
        ("/api/v3/ticker?symbol=BTCUSDT".into(), 4),
        (
            r#"/api/v3/ticker?symbols=["BTCUSDT","ETHUSDT","BNBBTC"]"#.into(),
            12,
        ),
        (format!("/api/v3/ticker?symbols={}", symbols(60)), 200),
        // Rejected requests are charged too.
        ("/api/v3/depth?symbol=NOPE&limit=1000".into(), 50),
        ("/api/v3/klines?symbol=BTCUSDT&interval=1H".into(), 2),
        // Unknown paths and wrong methods are not.
        ("/api/v3/nope".into(), 0),
    ];
    for (path, weight) in cases {
        assert_eq!(rest.weight_of(&path).await, weight, "{path}");
    }
}

#[tokio::test]
async fn every_response_carries_the_used_weight() {
    let rest = Rest::start(config()).await;
    let ok = rest.get("/api/v3/ping").await;
    assert_eq!(ok.status, 200);
    assert!(ok.used() >= 1);
    let bad = rest.get("/api/v3/depth?symbol=btcusdt").await;
    assert_eq!(bad.status, 400);
    assert!(bad.used() >= ok.used() + 5 || bad.used() == 5);
    let missing = rest.get("/api/v3/nothing/here").await;
    assert_eq!((missing.status, missing.body.as_str()), (404, ""));
    assert!(missing.used.is_some());
    let post = rest
        .request(reqwest::Method::POST, "/api/v3/ping", &[])
        .await;
    assert_eq!((post.status, post.body.as_str()), (405, ""));
    assert!(post.used.is_some());
    rest.sim.set_rest_fault(RestFault::ServerError(500), None);
    let failed = rest.get("/api/v3/ping").await;
    assert_eq!(failed.status, 500);
    assert!(failed.used.is_some());
}

#[tokio::test]
async fn over_the_limit_is_429_then_a_418_ban_that_blocks_everything() {
    let cfg = SimConfig {
        rest: RestRules {
            weight_per_minute: 10,
            requests_before_ban: 3,
            ban_duration: Duration::from_secs(120),
            max_ban: Duration::from_secs(3600),
            weight_window: Duration::from_secs(60),
        },
        ..config()
    };
    in_one_minute(|| async {
        let rest = Rest::start(cfg.clone()).await;
        for i in 1..=10 {
            let resp = rest.get("/api/v3/ping").await;
            assert_eq!((resp.status, resp.used()), (200, i));
            assert_eq!(resp.retry_after, None);
        }
        let limited_msg = "Too much request weight used; current limit is 10 request weight per 1 MINUTE. \
                           Please use WebSocket Streams for live updates to avoid polling the API.";
        for i in 11..=13 {
            let minute_end = (now_ms() / 60_000 + 1) * 60_000;
            let resp = rest.get("/api/v3/ping").await;
            assert_eq!(resp.status, 429, "{}", resp.body);
            // 429'd requests still count.
            assert_eq!(resp.used(), i);
            assert_eq!(resp.json()["code"], -1003);
            assert_eq!(resp.json()["msg"], limited_msg);
            let retry = resp.retry_after.expect("Retry-After on 429");
            assert!(
                retry >= 1 && retry <= (minute_end - now_ms()).div_ceil(1000) + 1,
                "Retry-After {retry}"
            );
        }
        let before = now_ms();
        let ban = rest.get("/api/v3/ping").await;
        let after = now_ms();
        assert_eq!(ban.status, 418, "{}", ban.body);
        assert_eq!(ban.retry_after, Some(120));
        let msg = ban.json()["msg"].as_str().unwrap_or_default().to_owned();
        let until: u64 = msg
            .strip_prefix("Way too much request weight used; IP banned until ")
            .and_then(|rest| {
                rest.strip_suffix(". Please use WebSocket Streams for live updates to avoid bans.")
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("ban message {msg:?}"));
        assert!(until >= before + 120_000 && until <= after + 120_000);
        // Every request during the ban is 418, whatever it asks, and adds no weight.
        for path in ["/api/v3/ping", "/api/v3/depth?symbol=BTCUSDT", "/api/v3/depth?symbol=bad"] {
            let resp = rest.get(path).await;
            assert_eq!(resp.status, 418, "{path}");
            assert_eq!(resp.code(), -1003);
            assert_eq!(resp.used(), 14);
            let retry = resp.retry_after.expect("Retry-After on 418");
            assert!((119..=120).contains(&retry), "{retry}");
        }
        let stats = rest.sim.rest_stats();
        assert_eq!(stats.requests, 17);
        assert_eq!(stats.by_status, BTreeMap::from([(200, 10), (418, 4), (429, 3)]));
        assert_eq!(stats.bans, 1);
        assert_eq!(stats.weight_used_1m.get("127.0.0.1"), Some(&14));
    })
    .await;
}

#[tokio::test]
async fn a_single_heavy_request_can_break_the_limit() {
    let cfg = SimConfig {
        rest: RestRules {
            weight_per_minute: 10,
            ..RestRules::default()
        },
        ..config()
    };
    in_one_minute(|| async {
        let rest = Rest::start(cfg.clone()).await;
        let resp = rest.get("/api/v3/exchangeInfo").await;
        assert_eq!((resp.status, resp.used()), (429, 20));
        assert!(resp.retry_after.is_some());
    })
    .await;
}

#[tokio::test]
async fn server_error_faults_answer_5xx_until_cleared() {
    let rest = Rest::start(config()).await;
    let cases = [
        (
            500,
            -1001,
            "Internal error; unable to process your request. Please try again.",
        ),
        (
            502,
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        ),
        (
            503,
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        ),
        (
            504,
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        ),
        (
            501,
            -1000,
            "An unknown error occurred while processing the request.",
        ),
        // Not a server error: answered as 500.
        (
            200,
            -1001,
            "Internal error; unable to process your request. Please try again.",
        ),
    ];
    for (code, binance_code, msg) in cases {
        rest.sim.set_rest_fault(RestFault::ServerError(code), None);
        let resp = rest.get("/api/v3/depth?symbol=BTCUSDT").await;
        let status = if code == 200 { 500 } else { code };
        assert_eq!(resp.status, status, "{code}");
        assert_eq!(resp.code(), binance_code, "{code}");
        assert_eq!(resp.json()["msg"], msg);
    }
    rest.sim.clear_rest_fault();
    assert_eq!(rest.get("/api/v3/depth?symbol=BTCUSDT").await.status, 200);
    let stats = rest.sim.rest_stats();
    assert_eq!(stats.by_status.get(&500), Some(&2));
    assert_eq!(stats.by_status.get(&503), Some(&1));
}

#[tokio::test]
async fn rate_limit_faults_answer_429_and_418_with_retry_after() {
    let rest = Rest::start(config()).await;
    rest.sim.set_rest_fault(RestFault::TooManyRequests, None);
    let resp = rest.get("/api/v3/ping").await;
    assert_eq!((resp.status, resp.code()), (429, -1003));
    assert!(
        resp.json()["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("current limit is 6000 request weight per 1 MINUTE")
    );
    assert!(matches!(resp.retry_after, Some(1..=60)));

    rest.sim
        .set_rest_fault(RestFault::Banned, Some(Duration::from_secs(90)));
    let resp = rest.get("/api/v3/ping").await;
    assert_eq!((resp.status, resp.code()), (418, -1003));
    assert!(
        matches!(resp.retry_after, Some(89..=90)),
        "{:?}",
        resp.retry_after
    );
    assert!(
        resp.json()["msg"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Way too much request weight used; IP banned until ")
    );

    rest.sim.clear_rest_fault();
    let resp = rest.get("/api/v3/ping").await;
    assert_eq!((resp.status, resp.body.as_str()), (200, "{}"));
    // A simulated ban is not a ban the limiter issued.
    assert_eq!(rest.sim.rest_stats().bans, 0);
}

#[tokio::test]
async fn expired_faults_end_by_themselves() {
    let rest = Rest::start(config()).await;
    rest.sim
        .set_rest_fault(RestFault::ServerError(503), Some(Duration::ZERO));
    assert_eq!(rest.get("/api/v3/ping").await.status, 200);
}

#[tokio::test]
async fn slow_fault_delays_a_correct_answer() {
    let rest = Rest::start(config()).await;
    let delay = Duration::from_millis(300);
    rest.sim.set_rest_fault(RestFault::Slow(delay), None);
    let started = tokio::time::Instant::now();
    let resp = rest.get("/api/v3/depth?symbol=BTCUSDT&limit=5").await;
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["bids"].as_array().map(Vec::len), Some(5));
    assert_eq!(resp.used(), 5);

    rest.sim.clear_rest_fault();
    let started = tokio::time::Instant::now();
    let resp = rest.get("/api/v3/time").await;
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() < delay, "{:?}", started.elapsed());
}

#[tokio::test]
async fn shutdown_is_not_held_by_a_slow_request() {
    let rest = Rest::start(config()).await;
    rest.sim
        .set_rest_fault(RestFault::Slow(Duration::from_secs(3600)), None);
    let url = format!("{}/api/v3/ping", rest.sim.rest_url());
    let client = rest.client.clone();
    let pending = tokio::spawn(async move {
        let resp = client.get(url).send().await?;
        let status = resp.status().as_u16();
        resp.text().await.map(|body| (status, body))
    });
    // Requests are counted on receipt: wait until this one is being delayed.
    tokio::time::timeout(Duration::from_secs(10), async {
        while rest.sim.rest_stats().requests == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the request reaches the server");
    let started = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), rest.sim.shutdown())
        .await
        .expect("shutdown does not wait for the hour-long delay");
    let answered = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("the slow request ends")
        .expect("the request task does not panic")
        .expect("the in-flight request is answered during graceful shutdown");
    assert_eq!(answered, (200, "{}".to_owned()));
    assert!(started.elapsed() < Duration::from_secs(10));
}
