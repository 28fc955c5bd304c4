//! REST market data against the simulator's own state: aggregate trades and trades by id and
//! time, depth snapshots equal to the book, klines alignment, and every bad-parameter case
//! answered with Binance's documented code (and nothing panics on odd input).

mod rest_support;

use binance_sim::market::{AggTradeRecord, Side, TradeRecord};
use binance_sim::now_ms;
use rest_support::{Rest, config};
use serde_json::{Value, json};

const SYMBOL: &str = "BNBBTC";

/// A simulator with `SYMBOL` frozen, so its history and book stay put while compared.
async fn frozen() -> Rest {
    let rest = Rest::start(config()).await;
    rest.sim.set_symbol_rate(SYMBOL, 0.0).expect("listed");
    rest
}

fn all_aggs(rest: &Rest) -> Vec<AggTradeRecord> {
    rest.sim.with_market(|m| {
        let ring = m.symbol(SYMBOL).expect("listed").agg_trades();
        ring.recent(ring.len())
    })
}

fn all_trades(rest: &Rest) -> Vec<TradeRecord> {
    rest.sim.with_market(|m| {
        let ring = m.symbol(SYMBOL).expect("listed").trades();
        ring.recent(ring.len())
    })
}

fn agg_json(r: &AggTradeRecord) -> Value {
    json!({
        "a": r.id, "p": r.price.to_string(), "q": r.qty.to_string(), "f": r.first_trade_id,
        "l": r.last_trade_id, "T": r.time, "m": r.buyer_maker, "M": true,
    })
}

fn trade_json(t: &TradeRecord) -> Value {
    json!({
        "id": t.id, "price": t.price.to_string(), "qty": t.qty.to_string(),
        "quoteQty": t.quote_qty.to_string(), "time": t.time, "isBuyerMaker": t.buyer_maker,
        "isBestMatch": true,
    })
}

async fn get_ok(rest: &Rest, path: &str) -> Value {
    let resp = rest.get(path).await;
    assert_eq!(resp.status, 200, "{path}: {}", resp.body);
    resp.json()
}

#[tokio::test]
async fn agg_trades_from_id_returns_exactly_the_next_thousand() {
    let rest = frozen().await;
    let aggs = all_aggs(&rest);
    assert!(
        aggs.len() >= 1100,
        "only {} aggregate trades kept",
        aggs.len()
    );
    let from = aggs[37].id;
    let body = get_ok(
        &rest,
        &format!("/api/v3/aggTrades?symbol={SYMBOL}&fromId={from}&limit=1000"),
    )
    .await;
    let list = body.as_array().expect("an array");
    assert_eq!(list.len(), 1000);
    for (i, item) in list.iter().enumerate() {
        assert_eq!(item["a"].as_u64(), Some(from + i as u64), "contiguous ids");
        assert_eq!(*item, agg_json(&aggs[37 + i]), "record {i}");
    }
    // Past the newest: nothing; the newest itself: one.
    let newest = aggs[aggs.len() - 1].id;
    let tail = get_ok(
        &rest,
        &format!("/api/v3/aggTrades?symbol={SYMBOL}&fromId={newest}"),
    )
    .await;
    assert_eq!(tail, json!([agg_json(&aggs[aggs.len() - 1])]));
    let past = get_ok(
        &rest,
        &format!("/api/v3/aggTrades?symbol={SYMBOL}&fromId={}", newest + 1),
    )
    .await;
    assert_eq!(past, json!([]));
}

#[tokio::test]
async fn agg_trades_by_time_and_by_default() {
    let rest = frozen().await;
    let aggs = all_aggs(&rest);
    let expect =
        |items: Vec<&AggTradeRecord>| Value::Array(items.into_iter().map(agg_json).collect());

    // No bounds: the newest 500, oldest first.
    let body = get_ok(&rest, &format!("/api/v3/aggTrades?symbol={SYMBOL}")).await;
    assert_eq!(body, expect(aggs.iter().skip(aggs.len() - 500).collect()));
    let body = get_ok(&rest, &format!("/api/v3/aggTrades?symbol={SYMBOL}&limit=7")).await;
    assert_eq!(body, expect(aggs.iter().skip(aggs.len() - 7).collect()));

    let start = aggs[100].time;
    let end = aggs[400].time;
    // startTime alone: the oldest from it (inclusive).
    let body = get_ok(
        &rest,
        &format!("/api/v3/aggTrades?symbol={SYMBOL}&startTime={start}&limit=50"),
    )
    .await;
    assert_eq!(
        body,
        expect(aggs.iter().filter(|r| r.time >= start).take(50).collect())
    );
    // endTime alone: the newest up to it (inclusive).
    let body = get_ok(
        &rest,
        &format!("/api/v3/aggTrades?symbol={SYMBOL}&endTime={end}&limit=50"),
    )
    .await;
    let upto: Vec<&AggTradeRecord> = aggs.iter().filter(|r| r.time <= end).collect();
    assert_eq!(body, expect(upto[upto.len() - 50..].to_vec()));
    // Both: like startTime, capped at endTime.
    let body = get_ok(
        &rest,
        &format!("/api/v3/aggTrades?symbol={SYMBOL}&startTime={start}&endTime={end}&limit=1000"),
    )
    .await;
    let between: Vec<&AggTradeRecord> = aggs
        .iter()
        .filter(|r| r.time >= start && r.time <= end)
        .collect();
    assert!(between.len() > 1);
    assert_eq!(body, expect(between.clone()));
    // startTime == endTime is allowed.
    let body = get_ok(
        &rest,
        &format!("/api/v3/aggTrades?symbol={SYMBOL}&startTime={start}&endTime={start}"),
    )
    .await;
    assert_eq!(
        body,
        expect(aggs.iter().filter(|r| r.time == start).collect())
    );
    // Out-of-range times are clamped, not refused.
    let body = get_ok(
        &rest,
        &format!(
            "/api/v3/aggTrades?symbol={SYMBOL}&startTime=0&endTime=9223372036854775807&limit=3"
        ),
    )
    .await;
    assert_eq!(body, expect(aggs.iter().take(3).collect()));
    // Limits above the maximum are capped.
    let body = get_ok(
        &rest,
        &format!("/api/v3/aggTrades?symbol={SYMBOL}&limit=5000"),
    )
    .await;
    assert_eq!(body.as_array().map(Vec::len), Some(1000.min(aggs.len())));
}

#[tokio::test]
async fn trades_are_the_most_recent_and_historical_trades_start_at_from_id() {
    let rest = frozen().await;
    let trades = all_trades(&rest);
    assert!(trades.len() > 1100);
    let expect = |items: &[TradeRecord]| Value::Array(items.iter().map(trade_json).collect());
    let body = get_ok(&rest, &format!("/api/v3/trades?symbol={SYMBOL}")).await;
    assert_eq!(body, expect(&trades[trades.len() - 500..]));
    let body = get_ok(&rest, &format!("/api/v3/trades?symbol={SYMBOL}&limit=2000")).await;
    assert_eq!(body, expect(&trades[trades.len() - 1000..]));
    let body = get_ok(
        &rest,
        &format!("/api/v3/historicalTrades?symbol={SYMBOL}&limit=3"),
    )
    .await;
    assert_eq!(body, expect(&trades[trades.len() - 3..]));
    let from = trades[10].id;
    let body = get_ok(
        &rest,
        &format!("/api/v3/historicalTrades?symbol={SYMBOL}&fromId={from}&limit=1000"),
    )
    .await;
    assert_eq!(body, expect(&trades[10..1010]));
    // `/trades` does not take fromId.
    let resp = rest
        .get(&format!("/api/v3/trades?symbol={SYMBOL}&fromId={from}"))
        .await;
    assert_eq!((resp.status, resp.code()), (400, -1104));
}

fn levels(list: &[(binance_sim::decimal::Fixed, binance_sim::decimal::Fixed)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(p, q)| json!([p.to_string(), q.to_string()]))
            .collect(),
    )
}

#[tokio::test]
async fn depth_is_the_books_top_with_its_update_id() {
    let rest = frozen().await;
    for limit in [1, 5, 20, 100] {
        let body = get_ok(
            &rest,
            &format!("/api/v3/depth?symbol={SYMBOL}&limit={limit}"),
        )
        .await;
        let (id, bids, asks) = rest.sim.with_market(|m| {
            let m = m.symbol(SYMBOL).expect("listed");
            (
                m.update_id(),
                m.book().top(Side::Bid, limit),
                m.book().top(Side::Ask, limit),
            )
        });
        assert_eq!(body["lastUpdateId"].as_u64(), Some(id));
        assert_eq!(body["bids"], levels(&bids), "limit {limit}");
        assert_eq!(body["asks"], levels(&asks), "limit {limit}");
        assert_eq!(bids.len(), limit.min(bids.len()));
    }
    // Default 100; above 5000 is capped (the whole simulated book here) and weighs 250.
    let body = get_ok(&rest, &format!("/api/v3/depth?symbol={SYMBOL}")).await;
    let depth = rest
        .sim
        .with_market(|m| m.symbol(SYMBOL).expect("listed").book().depth(Side::Bid));
    assert_eq!(body["bids"].as_array().map(Vec::len), Some(depth.min(100)));
    let resp = rest
        .get(&format!("/api/v3/depth?symbol={SYMBOL}&limit=1000000"))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json()["bids"].as_array().map(Vec::len),
        Some(depth.min(5000))
    );
    // Bids best (highest) first, asks best (lowest) first.
    let prices = |side: &str| -> Vec<f64> {
        body[side]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l[0].as_str().unwrap_or("0").parse().unwrap_or(0.0))
            .collect()
    };
    assert!(prices("bids").windows(2).all(|w| w[0] > w[1]));
    assert!(prices("asks").windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn klines_are_aligned_increasing_and_case_sensitive() {
    let rest = frozen().await;
    for (interval, len) in [
        ("1s", 1_000),
        ("1m", 60_000),
        ("5m", 300_000),
        ("1h", 3_600_000),
    ] {
        let body = get_ok(
            &rest,
            &format!("/api/v3/klines?symbol={SYMBOL}&interval={interval}&limit=5"),
        )
        .await;
        let rows = body.as_array().expect("rows");
        assert!(!rows.is_empty(), "{interval}");
        let mut previous = None;
        for row in rows {
            assert_eq!(row.as_array().map(Vec::len), Some(12));
            let open = row[0].as_u64().expect("open time");
            assert_eq!(open % len, 0, "{interval} aligned");
            assert_eq!(
                row[6].as_u64(),
                Some(open + len - 1),
                "{interval} close time"
            );
            assert_eq!(row[11], "0");
            if let Some(p) = previous {
                assert_eq!(open, p + len, "{interval} consecutive");
            }
            previous = Some(open);
        }
        // The newest kline is the current one.
        assert!(previous.is_some_and(|p| p + len > now_ms() - 2_000));
    }
    // `1M` is a month; `1H` and `1MIN` are not intervals.
    let month = get_ok(
        &rest,
        &format!("/api/v3/klines?symbol={SYMBOL}&interval=1M"),
    )
    .await;
    assert!(!month.as_array().expect("rows").is_empty());
    for bad in ["1H", "1MIN", "1 m", "60s", "%31m"] {
        let resp = rest
            .get(&format!("/api/v3/klines?symbol={SYMBOL}&interval={bad}"))
            .await;
        if bad == "%31m" {
            // Percent-encoded `1m` is `1m`.
            assert_eq!(resp.status, 200);
            continue;
        }
        assert_eq!((resp.status, resp.code()), (400, -1120), "{bad}");
        assert_eq!(resp.json()["msg"], "Invalid interval.");
    }
    // startTime gives the oldest from there; timeZone realigns days.
    let start = now_ms() - 20 * 60_000;
    let body = get_ok(
        &rest,
        &format!("/api/v3/klines?symbol={SYMBOL}&interval=1m&startTime={start}&limit=3"),
    )
    .await;
    assert_eq!(body[0][0].as_u64(), Some(start - start % 60_000));
    assert_eq!(body.as_array().map(Vec::len), Some(3));
    let body = get_ok(
        &rest,
        &format!("/api/v3/klines?symbol={SYMBOL}&interval=1d&timeZone=8"),
    )
    .await;
    let open = body[0][0].as_u64().expect("open");
    assert_eq!((open + 8 * 3_600_000) % 86_400_000, 0);
    let body = get_ok(
        &rest,
        &format!("/api/v3/klines?symbol={SYMBOL}&interval=1h&timeZone=-5:30"),
    )
    .await;
    let open = body[0][0].as_u64().expect("open");
    assert_eq!((open - 5 * 3_600_000 - 30 * 60_000) % 3_600_000, 0);
    // Volumes are the sum of the kline's trades.
    let trades = all_trades(&rest);
    let body = get_ok(
        &rest,
        &format!("/api/v3/klines?symbol={SYMBOL}&interval=1m&startTime={start}&limit=1"),
    )
    .await;
    let (open, close) = (
        body[0][0].as_u64().unwrap_or(0),
        body[0][6].as_u64().unwrap_or(0),
    );
    let inside: Vec<&TradeRecord> = trades
        .iter()
        .filter(|t| t.time >= open && t.time <= close)
        .collect();
    assert_eq!(body[0][8].as_u64(), Some(inside.len() as u64));
    let volume: i64 = inside.iter().map(|t| t.qty.0).sum();
    assert_eq!(body[0][5], binance_sim::decimal::Fixed(volume).to_string());
}

#[tokio::test]
async fn bad_parameters_get_binances_codes() {
    let rest = Rest::start(config()).await;
    let many: Vec<String> = (0..101).map(|i| format!("\"S{i}\"")).collect();
    let too_many = format!("/api/v3/ticker?symbols=[{}]", many.join(","));
    let cases: Vec<(&str, i64, Option<&str>)> = vec![
        (
            "/api/v3/depth",
            -1102,
            Some("Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
        ),
        ("/api/v3/depth?symbol=", -1102, None),
        (
            "/api/v3/depth?symbol=btcusdt",
            -1100,
            Some(
                r"Illegal characters found in parameter 'symbol'; legal range is '^[\w\-._&&[^a-z]]{1,50}$'.",
            ),
        ),
        ("/api/v3/depth?symbol=BTC%20USDT", -1100, None),
        ("/api/v3/depth?symbol=NOPE", -1121, Some("Invalid symbol.")),
        (
            "/api/v3/depth?symbol=BTCUSDT&symbol=BTCUSDT",
            -1101,
            Some("Duplicate values for a parameter detected."),
        ),
        (
            "/api/v3/depth?symbol=BTCUSDT&limit=abc",
            -1100,
            Some("Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."),
        ),
        ("/api/v3/depth?symbol=BTCUSDT&limit=-5", -1100, None),
        ("/api/v3/depth?symbol=BTCUSDT&limit=1.5", -1100, None),
        (
            "/api/v3/depth?symbol=BTCUSDT&limit=",
            -1105,
            Some("Parameter 'limit' was empty."),
        ),
        (
            "/api/v3/depth?symbol=BTCUSDT&limit=0",
            -1130,
            Some("Data sent for parameter 'limit' is not valid."),
        ),
        (
            "/api/v3/depth?symbol=BTCUSDT&limit=99999999999999999999",
            -1108,
            Some("Parameter 'limit' overflowed."),
        ),
        (
            "/api/v3/depth?symbol=BTCUSDT&Limit=5",
            -1104,
            Some("Not all sent parameters were read; read '1' parameter(s) but was sent '2'."),
        ),
        (
            "/api/v3/depth?symbol=BTCUSDT&symbolStatus=HALT",
            -1220,
            Some("The symbol's status does not match the requested symbolStatus."),
        ),
        (
            "/api/v3/depth?symbol=BTCUSDT&symbolStatus=trading",
            -1122,
            Some("Invalid symbolStatus."),
        ),
        ("/api/v3/ping?x=1", -1104, None),
        ("/api/v3/time?symbol=BTCUSDT", -1104, None),
        (
            "/api/v3/klines?symbol=BTCUSDT",
            -1102,
            Some("Mandatory parameter 'interval' was not sent, was empty/null, or malformed."),
        ),
        (
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&timeZone=15",
            -1130,
            Some("Data sent for parameter 'timeZone' is not valid."),
        ),
        (
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&timeZone=+8",
            -1130,
            None,
        ),
        (
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=yesterday",
            -1100,
            None,
        ),
        (
            "/api/v3/aggTrades?symbol=BTCUSDT&fromId=1&startTime=1",
            -1128,
            Some("Combination of optional parameters invalid."),
        ),
        ("/api/v3/aggTrades?symbol=BTCUSDT&fromId=-1", -1100, None),
        (
            "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=abc",
            -1100,
            None,
        ),
        ("/api/v3/avgPrice?symbol=NOPE", -1121, None),
        (
            "/api/v3/ticker/price?symbol=BTCUSDT&symbols=[\"BTCUSDT\"]",
            -1128,
            None,
        ),
        (
            "/api/v3/ticker/price?symbols=[\"BTCUSDT\",\"BTCUSDT\"]",
            -1151,
            Some("Symbol is present multiple times in the list."),
        ),
        (
            "/api/v3/ticker/price?symbols=BTCUSDT",
            -1100,
            Some(
                r#"Illegal characters found in parameter 'symbols'; legal range is '^\[("[\w\-._&&[^a-z]]{1,50}"(,"[\w\-._&&[^a-z]]{1,50}"){0,}){0,1}\]$'."#,
            ),
        ),
        (
            "/api/v3/ticker/price?symbols=[\"BTCUSDT\",%20\"ETHUSDT\"]",
            -1100,
            None,
        ),
        ("/api/v3/ticker/price?symbols=[]", -1105, None),
        (
            "/api/v3/ticker/price?symbols=[\"BTCUSDT\",\"NOPE\"]",
            -1121,
            None,
        ),
        (
            "/api/v3/ticker/bookTicker?symbol=BTCUSDT&symbolStatus=BREAK",
            -1220,
            None,
        ),
        (
            "/api/v3/ticker/24hr?symbol=BTCUSDT&type=FOO",
            -1139,
            Some("Invalid ticker type."),
        ),
        ("/api/v3/ticker/24hr?symbol=BTCUSDT&type=mini", -1139, None),
        ("/api/v3/ticker/24hr?windowSize=1d", -1104, None),
        (
            "/api/v3/ticker",
            -1102,
            Some("Param 'symbol' or 'symbols' must be sent, but both were empty/null!"),
        ),
        (
            "/api/v3/ticker?symbol=BTCUSDT&windowSize=8d",
            -1130,
            Some("Data sent for parameter 'windowSize' is not valid."),
        ),
        ("/api/v3/ticker?symbol=BTCUSDT&windowSize=1d2h", -1130, None),
        ("/api/v3/ticker?symbol=BTCUSDT&windowSize=60m", -1130, None),
        (
            &too_many,
            -1101,
            Some("Too many parameters; expected '100' and received '101'."),
        ),
        (
            "/api/v3/exchangeInfo?symbol=BTCUSDT&permissions=SPOT",
            -1128,
            None,
        ),
        (
            "/api/v3/exchangeInfo?symbols=[\"BTCUSDT\"]&symbolStatus=TRADING",
            -1128,
            None,
        ),
        ("/api/v3/exchangeInfo?permissions=FOO", -1130, None),
        ("/api/v3/exchangeInfo?symbolStatus=FOO", -1122, None),
        ("/api/v3/exchangeInfo?showPermissionSets=yes", -1130, None),
    ];
    for (path, code, msg) in cases {
        let resp = rest.get(path).await;
        assert_eq!(resp.status, 400, "{path}: {}", resp.body);
        assert_eq!(resp.code(), code, "{path}: {}", resp.body);
        if let Some(msg) = msg {
            assert_eq!(resp.json()["msg"], msg, "{path}");
        }
        assert!(resp.used.is_some(), "{path}");
    }
    // Valid combinations of the same parameters succeed.
    for path in [
        "/api/v3/depth?symbol=BTCUSDT&symbolStatus=TRADING&limit=007",
        "/api/v3/ticker?symbol=BTCUSDT&windowSize=59m&type=MINI",
        "/api/v3/ticker?symbols=%5B%22BTCUSDT%22,%22ETHUSDT%22%5D&windowSize=23h",
        "/api/v3/ticker/24hr?symbols=[\"BTCUSDT\"]&symbolStatus=HALT",
        "/api/v3/klines?symbol=BTCUSDT&interval=1m&timeZone=%2B14:00",
        "/api/v3/exchangeInfo?showPermissionSets=false",
    ] {
        let resp = rest.get(path).await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.body);
    }
    // symbolStatus filters lists instead of failing them.
    let body = get_ok(
        &rest,
        "/api/v3/ticker/24hr?symbols=[\"BTCUSDT\"]&symbolStatus=HALT",
    )
    .await;
    assert_eq!(body, json!([]));
}

#[tokio::test]
async fn odd_input_never_breaks_the_server() {
    let rest = Rest::start(config()).await;
    let long = "A".repeat(10_000);
    let paths = [
        "/api/v3/depth?%".to_owned(),
        "/api/v3/depth?%%%=%%%".to_owned(),
        "/api/v3/depth?=".to_owned(),
        "/api/v3/depth?&=&".to_owned(),
        "/api/v3/depth?symbol".to_owned(),
        "/api/v3/depth?symbol=%E2%82%AC".to_owned(),
        "/api/v3/depth?symbol=%FF%FE".to_owned(),
        "/api/v3/depth?symbol=%C3%A9T%C3%89".to_owned(),
        format!("/api/v3/depth?symbol={long}"),
        format!("/api/v3/depth?{long}={long}"),
        "/api/v3/depth?symbol=BTCUSDT&limit=1e999".to_owned(),
        "/api/v3/depth?symbol=BTCUSDT&limit=18446744073709551616".to_owned(),
        "/api/v3/klines?symbol=BTCUSDT&interval=1w&startTime=9223372036854775807".to_owned(),
        "/api/v3/klines?symbol=BTCUSDT&interval=1M&endTime=0&timeZone=-12:00".to_owned(),
        "/api/v3/klines?symbol=BTCUSDT&interval=1w&startTime=0&endTime=9223372036854775807&timeZone=14".to_owned(),
        "/api/v3/aggTrades?symbol=BTCUSDT&fromId=9223372036854775807&limit=1000".to_owned(),
        "/api/v3/aggTrades?symbol=BTCUSDT&startTime=9999999999999999&endTime=1".to_owned(),
        "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=0".to_owned(),
        "/api/v3/ticker?symbols=[\"".to_owned(),
        "/api/v3/ticker?symbols=[\"\"]".to_owned(),
        "/api/v3/ticker?symbols=[,]".to_owned(),
        "/api/v3/ticker?symbols=%5B%22%E6%B5%8B%22%5D".to_owned(),
        "/api/v3/ticker?symbol=BTCUSDT&windowSize=%E2%82%AC".to_owned(),
        "/api/v3/klines?symbol=BTCUSDT&interval=1m&timeZone=%E2%82%AC".to_owned(),
        "/api/v3/%F0%9F%98%80".to_owned(),
        "/api/v3/ticker/24hr/extra".to_owned(),
    ];
    for path in &paths {
        let resp = rest.get(path).await;
        assert!(
            matches!(resp.status, 200 | 400 | 404),
            "{path}: {} {}",
            resp.status,
            resp.body
        );
        if resp.status == 400 {
            assert!(resp.code() < 0, "{path}");
        }
    }
    // Still serving.
    assert_eq!(rest.get("/api/v3/ping").await.status, 200);
    assert!(!rest.sim.rest_stats().by_status.contains_key(&500));
}
