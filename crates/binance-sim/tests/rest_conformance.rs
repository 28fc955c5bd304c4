//! REST conformance: every served endpoint answers with the keys and JSON types of Binance's
//! official examples (`tests/fixtures/rest_*.json`), `/exchangeInfo` reflects the
//! configuration, and `X-MBX-TIME-UNIT: MICROSECOND` switches every time field to µs.

mod rest_support;

use std::time::Duration;

use binance_sim::{RestFault, RestRules, SimConfig, now_ms};
use rest_support::{Rest, assert_same_shape, config, in_one_minute, shape_diff};
use serde_json::{Value, json};

#[tokio::test]
async fn every_served_fixture_has_the_same_shape() {
    let rest = Rest::start(config()).await;
    let cases = [
        ("rest_ping", "/api/v3/ping"),
        ("rest_time", "/api/v3/time"),
        ("rest_depth", "/api/v3/depth?symbol=BNBBTC&limit=5"),
        ("rest_trades", "/api/v3/trades?symbol=BNBBTC&limit=3"),
        ("rest_aggTrades", "/api/v3/aggTrades?symbol=BNBBTC&limit=3"),
        (
            "rest_klines",
            "/api/v3/klines?symbol=BNBBTC&interval=1m&limit=3",
        ),
        (
            "rest_klines",
            "/api/v3/uiKlines?symbol=BNBBTC&interval=1h&limit=3",
        ),
        ("rest_avgPrice", "/api/v3/avgPrice?symbol=BNBBTC"),
        ("rest_ticker_24hr", "/api/v3/ticker/24hr?symbol=BNBBTC"),
        (
            "rest_ticker_24hr_mini",
            "/api/v3/ticker/24hr?symbol=BNBBTC&type=MINI",
        ),
        (
            "rest_ticker_bookTicker",
            "/api/v3/ticker/bookTicker?symbol=BNBBTC",
        ),
        ("rest_ticker_bookTicker_list", "/api/v3/ticker/bookTicker"),
        ("rest_ticker_price", "/api/v3/ticker/price?symbol=BNBBTC"),
        ("rest_ticker_price_list", "/api/v3/ticker/price"),
        ("rest_error_generic", "/api/v3/depth?symbol=NOPE"),
    ];
    for (fixture, path) in cases {
        let resp = rest.get(path).await;
        let expected_status = if fixture.starts_with("rest_error") {
            400
        } else {
            200
        };
        assert_eq!(resp.status, expected_status, "{path}: {}", resp.body);
        assert_eq!(
            resp.content_type.as_deref(),
            Some("application/json;charset=UTF-8"),
            "{path}"
        );
        assert_same_shape(fixture, &resp.json(), &[]);
    }
    // The list variants of 24hr are arrays of the single shape.
    for (fixture, path) in [
        ("rest_ticker_24hr", "/api/v3/ticker/24hr"),
        (
            "rest_ticker_24hr_mini",
            "/api/v3/ticker/24hr?symbols=%5B%22BNBBTC%22,%22BTCUSDT%22%5D&type=MINI",
        ),
    ] {
        let resp = rest.get(path).await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.body);
        let body = resp.json();
        let list = body.as_array().expect("an array");
        assert!(!list.is_empty(), "{path}");
        for item in list {
            assert_same_shape(fixture, item, &[]);
        }
    }
    // The fixture's error code is what an unknown symbol gives.
    assert_eq!(
        rest.get("/api/v3/depth?symbol=NOPE").await.json(),
        rest_support::fixture("rest_error_generic")
    );
}

#[tokio::test]
async fn rolling_ticker_has_the_24hr_shape_minus_book_and_previous_close() {
    let rest = Rest::start(config()).await;
    let mut full = rest_support::fixture("rest_ticker_24hr");
    let map = full.as_object_mut().expect("an object");
    for key in [
        "prevClosePrice",
        "lastQty",
        "bidPrice",
        "bidQty",
        "askPrice",
        "askQty",
    ] {
        map.remove(key);
    }
    let one = rest.get("/api/v3/ticker?symbol=BNBBTC&windowSize=2h").await;
    assert_eq!(one.status, 200, "{}", one.body);
    let problems = shape_diff(&full, &one.json(), &[]);
    assert!(problems.is_empty(), "{problems:?}");
    let list = rest
        .get(r#"/api/v3/ticker?symbols=["BNBBTC","ETHUSDT"]&type=MINI&windowSize=7d"#)
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let body = list.json();
    assert_eq!(body.as_array().map(Vec::len), Some(2));
    assert_same_shape("rest_ticker_24hr_mini", &body[0], &[]);
    // openTime is on a minute; closeTime is now; the window is at most 59,999 ms wider.
    let one = one.json();
    let (open, close) = (
        one["openTime"].as_u64().unwrap_or(0),
        one["closeTime"].as_u64().unwrap_or(0),
    );
    assert_eq!(open % 60_000, 0);
    assert!(close - open >= 2 * 3_600_000 && close - open < 2 * 3_600_000 + 60_000);
}

#[tokio::test]
async fn rate_limit_and_fault_errors_have_the_fixture_shapes() {
    let limited = SimConfig {
        rest: RestRules {
            weight_per_minute: 1,
            requests_before_ban: 1,
            ..RestRules::default()
        },
        ..config()
    };
    let (e429, e418) = in_one_minute(|| async {
        let rest = Rest::start(limited.clone()).await;
        let ok = rest.get("/api/v3/ping").await;
        assert_eq!(ok.status, 200);
        let e429 = rest.get("/api/v3/ping").await;
        let e418 = rest.get("/api/v3/ping").await;
        (e429, e418)
    })
    .await;
    assert_eq!(e429.status, 429, "{}", e429.body);
    assert_same_shape("rest_error_429", &e429.json(), &[]);
    assert_eq!(e418.status, 418, "{}", e418.body);
    assert_same_shape("rest_error_418", &e418.json(), &[]);

    let rest = Rest::start(config()).await;
    rest.sim
        .set_rest_fault(RestFault::ServerError(504), Some(Duration::from_secs(60)));
    let timeout = rest.get("/api/v3/ping").await;
    assert_eq!(timeout.status, 504);
    assert_eq!(
        timeout.json(),
        rest_support::fixture("rest_error_timeout_1007")
    );
}

#[tokio::test]
async fn exchange_info_reflects_the_configuration() {
    let mut cfg = config();
    cfg.rest.weight_per_minute = 1234;
    let rest = Rest::start(cfg.clone()).await;
    let resp = rest.get("/api/v3/exchangeInfo").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let info = resp.json();
    // `sors` is optional on Binance; no simulated symbol is SOR-enabled.
    assert_same_shape("rest_exchangeInfo", &info, &["sors"]);
    assert_eq!(
        info["rateLimits"],
        json!([
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1234},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
        ])
    );
    let symbols = info["symbols"].as_array().expect("symbols");
    assert_eq!(symbols.len(), cfg.symbols.len());
    for (spec, symbol) in cfg.symbols.iter().zip(symbols) {
        assert_eq!(symbol["symbol"], spec.symbol.as_str());
        assert_eq!(symbol["status"], "TRADING");
        assert_eq!(symbol["baseAsset"], spec.base_asset.as_str());
        assert_eq!(symbol["quoteAsset"], spec.quote_asset.as_str());
        assert_eq!(symbol["filters"][0]["filterType"], "PRICE_FILTER");
        assert_eq!(symbol["filters"][0]["tickSize"], spec.tick_size.to_string());
        assert_eq!(symbol["filters"][1]["filterType"], "LOT_SIZE");
        assert_eq!(symbol["filters"][1]["stepSize"], spec.step_size.to_string());
    }
    let server_time = info["serverTime"].as_u64().unwrap_or(0);
    assert!(server_time.abs_diff(now_ms()) < 60_000);

    let names = |path: &'static str| {
        let rest = &rest;
        async move {
            let resp = rest.get(path).await;
            assert_eq!(resp.status, 200, "{path}: {}", resp.body);
            resp.json()["symbols"]
                .as_array()
                .expect("symbols")
                .iter()
                .map(|s| s["symbol"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names("/api/v3/exchangeInfo?symbol=ETHUSDT").await,
        ["ETHUSDT"]
    );
    assert_eq!(
        names(r#"/api/v3/exchangeInfo?symbols=["BNBBTC","BTCUSDT"]"#).await,
        ["BNBBTC", "BTCUSDT"]
    );
    assert_eq!(
        names("/api/v3/exchangeInfo?permissions=SPOT").await.len(),
        3
    );
    assert_eq!(
        names(r#"/api/v3/exchangeInfo?permissions=["LEVERAGED"]"#).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names("/api/v3/exchangeInfo?symbolStatus=HALT").await,
        Vec::<String>::new()
    );
    assert_eq!(
        rest.get("/api/v3/exchangeInfo?symbol=NOPE").await.code(),
        -1121
    );
}

/// Every time field of `value`, by JSON path, for µs/ms comparison.
fn times(value: &Value, at: &str, out: &mut Vec<(String, u64)>) {
    const TIME_KEYS: [&str; 5] = ["serverTime", "time", "T", "closeTime", "openTime"];
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if TIME_KEYS.contains(&key.as_str()) {
                    out.push((format!("{at}.{key}"), v.as_u64().unwrap_or(0)));
                } else {
                    times(v, &format!("{at}.{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                times(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn microsecond_header_switches_every_time_to_micros() {
    let rest = Rest::start(config()).await;
    for symbol in ["BNBBTC", "BTCUSDT", "ETHUSDT"] {
        rest.sim.set_symbol_rate(symbol, 0.0).expect("listed");
    }
    let micros = [("X-MBX-TIME-UNIT", "MICROSECOND")];
    let time = rest
        .request(reqwest::Method::GET, "/api/v3/time", &micros)
        .await;
    let server_time = time.json()["serverTime"].as_u64().unwrap_or(0);
    assert!(
        server_time.abs_diff(now_ms() * 1000) < 60_000_000,
        "{server_time} is not µs"
    );
    // With the market frozen, the same request in ms and µs differs only in its times.
    let start = now_ms() - 30 * 60_000;
    for path in [
        "/api/v3/trades?symbol=BNBBTC&limit=5".to_owned(),
        "/api/v3/aggTrades?symbol=BNBBTC&limit=5".to_owned(),
        "/api/v3/avgPrice?symbol=BNBBTC".to_owned(),
        format!("/api/v3/aggTrades?symbol=BNBBTC&startTime={start}&limit=3"),
        // A µs startTime is accepted too.
        format!(
            "/api/v3/aggTrades?symbol=BNBBTC&startTime={}&limit=3",
            start * 1000
        ),
    ] {
        let ms = rest.get(&path).await;
        let us = rest
            .request(
                reqwest::Method::GET,
                &path,
                &[("x-mbx-time-unit", "microsecond")],
            )
            .await;
        assert_eq!((ms.status, us.status), (200, 200), "{path}: {}", us.body);
        let (mut ms_times, mut us_times) = (Vec::new(), Vec::new());
        times(&ms.json(), "$", &mut ms_times);
        times(&us.json(), "$", &mut us_times);
        assert!(!ms_times.is_empty(), "{path}");
        let scaled: Vec<(String, u64)> = ms_times.into_iter().map(|(k, t)| (k, t * 1000)).collect();
        assert_eq!(scaled, us_times, "{path}");
    }
    // Klines rows are arrays: open and close times are the 1st and 7th items.
    let path = format!("/api/v3/klines?symbol=BNBBTC&interval=1m&startTime={start}&limit=3");
    let ms = rest.get(&path).await.json();
    let us = rest
        .request(reqwest::Method::GET, &path, &micros)
        .await
        .json();
    for (row_ms, row_us) in ms
        .as_array()
        .into_iter()
        .flatten()
        .zip(us.as_array().into_iter().flatten())
    {
        assert_eq!(row_us[0].as_u64(), row_ms[0].as_u64().map(|t| t * 1000));
        assert_eq!(row_us[6].as_u64(), row_ms[6].as_u64().map(|t| t * 1000));
        assert_eq!(row_us[1], row_ms[1]);
    }
    let bad = rest
        .request(
            reqwest::Method::GET,
            "/api/v3/time",
            &[("X-MBX-TIME-UNIT", "NANOSECOND")],
        )
        .await;
    assert_eq!((bad.status, bad.code()), (400, -1194));
}
