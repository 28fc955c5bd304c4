//! Signed REST for simulated accounts: placing, cancelling and querying orders against
//! the simulated book, exact balances, and every documented error for bad input.

mod user_support;

use anyhow::Result;
use binance_sim::decimal::Fixed;
use binance_sim::now_ms;
use reqwest::Method;
use serde_json::Value;
use user_support::{ED_KEY, HMAC_KEY, READ_ONLY_KEY, READ_ONLY_SECRET, Signer, User, config};

fn fixed(value: &Value) -> Fixed {
    value
        .as_str()
        .and_then(Fixed::parse)
        .unwrap_or_else(|| panic!("not a decimal string: {value}"))
}

fn balance(account: &Value, asset: &str) -> (Fixed, Fixed) {
    let row = account["balances"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["asset"] == asset))
        .unwrap_or_else(|| panic!("no {asset} in {account}"));
    (fixed(&row["free"]), fixed(&row["locked"]))
}

#[tokio::test]
async fn orders_rest_fill_and_cancel_with_exact_balances() -> Result<()> {
    let user = User::start(config()).await?;
    let account = user.hmac(Method::GET, "/api/v3/account", "").await?;
    assert_eq!(account.status, 200, "{}", account.body);
    assert_eq!(
        balance(&account.body, "USDT").0,
        Fixed(100_000 * 100_000_000)
    );
    assert_eq!(account.body["accountType"], "SPOT");
    assert_eq!(account.body["canTrade"], true);

    // A limit buy far below the market rests on the book and locks price × quantity.
    let (bid, ask) = user.best("BTCUSDT")?;
    let price = Fixed(bid.0 - 100 * 1_000_000);
    let placed = user
        .hmac(
            Method::POST,
            "/api/v3/order",
            &format!("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000&price={price}&newClientOrderId=rest-1"),
        )
        .await?;
    assert_eq!(placed.status, 200, "{}", placed.body);
    assert_eq!(placed.body["status"], "NEW");
    assert_eq!(placed.body["clientOrderId"], "rest-1");
    assert_eq!(placed.body["fills"], Value::Array(Vec::new()));
    let order_id = placed.body["orderId"].as_u64().unwrap_or_default();
    let locked = price.times(Fixed(1_000_000));
    let account = user.hmac(Method::GET, "/api/v3/account", "").await?;
    assert_eq!(balance(&account.body, "USDT").1, locked);
    let depth_qty = user.sim.with_market(|m| {
        m.symbol("BTCUSDT")
            .map(|s| s.book().qty_at(binance_sim::market::Side::Bid, price))
    });
    assert!(
        depth_qty.is_some_and(|q| q.0 >= 1_000_000),
        "the order is on the book"
    );

    let open = user
        .hmac(Method::GET, "/api/v3/openOrders", "symbol=BTCUSDT")
        .await?;
    assert_eq!(open.body.as_array().map(Vec::len), Some(1));
    assert_eq!(open.body[0]["orderId"].as_u64(), Some(order_id));
    let queried = user
        .hmac(
            Method::GET,
            "/api/v3/order",
            "symbol=BTCUSDT&origClientOrderId=rest-1",
        )
        .await?;
    assert_eq!(queried.body["orderId"].as_u64(), Some(order_id));

    // Cancelling releases the lock and takes it off the book.
    let cancelled = user
        .hmac(
            Method::DELETE,
            "/api/v3/order",
            &format!("symbol=BTCUSDT&orderId={order_id}"),
        )
        .await?;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "CANCELED");
    assert_eq!(cancelled.body["origClientOrderId"], "rest-1");
    let account = user.hmac(Method::GET, "/api/v3/account", "").await?;
    assert_eq!(
        balance(&account.body, "USDT"),
        (Fixed(100_000 * 100_000_000), Fixed::ZERO)
    );
    let again = user
        .hmac(
            Method::DELETE,
            "/api/v3/order",
            &format!("symbol=BTCUSDT&orderId={order_id}"),
        )
        .await?;
    assert_eq!((again.status, again.code()), (400, -2011));

    // A market buy takes the asks: the fills' quote amounts are what USDT loses.
    let bought = user
        .hmac(
            Method::POST,
            "/api/v3/order",
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.00500",
        )
        .await?;
    assert_eq!(bought.status, 200, "{}", bought.body);
    assert_eq!(bought.body["status"], "FILLED");
    assert_eq!(fixed(&bought.body["executedQty"]), Fixed(500_000));
    let fills = bought.body["fills"].as_array().cloned().unwrap_or_default();
    assert!(!fills.is_empty());
    assert!(fills.iter().all(|f| fixed(&f["price"]) >= ask));
    let spent: i64 = fills
        .iter()
        .map(|f| fixed(&f["price"]).times(fixed(&f["qty"])).0)
        .sum();
    assert_eq!(fixed(&bought.body["cummulativeQuoteQty"]), Fixed(spent));
    let account = user.hmac(Method::GET, "/api/v3/account", "").await?;
    assert_eq!(
        balance(&account.body, "USDT"),
        (Fixed(100_000 * 100_000_000 - spent), Fixed::ZERO)
    );
    assert_eq!(
        balance(&account.body, "BTC"),
        (Fixed(10 * 100_000_000 + 500_000), Fixed::ZERO)
    );

    // myTrades has the fills, under their public trade ids; fromId pages through them.
    let trades = user
        .hmac(Method::GET, "/api/v3/myTrades", "symbol=BTCUSDT")
        .await?;
    let rows = trades.body.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), fills.len());
    let ids: Vec<u64> = rows.iter().filter_map(|r| r["id"].as_u64()).collect();
    let fill_ids: Vec<u64> = fills.iter().filter_map(|f| f["tradeId"].as_u64()).collect();
    assert_eq!(ids, fill_ids);
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "contiguous trade ids"
    );
    assert!(
        rows.iter()
            .all(|r| r["isBuyer"] == true && r["isMaker"] == false)
    );
    let from = user
        .hmac(
            Method::GET,
            "/api/v3/myTrades",
            &format!("symbol=BTCUSDT&fromId={}&limit=1", ids[ids.len() - 1]),
        )
        .await?;
    assert_eq!(from.body.as_array().map(Vec::len), Some(1));
    // The same trades are public.
    let public = user
        .raw(
            Method::GET,
            "/api/v3/trades",
            None,
            "symbol=BTCUSDT&limit=20",
            "",
        )
        .await?;
    let public_ids: Vec<u64> = public
        .body
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["id"].as_u64()).collect())
        .unwrap_or_default();
    assert!(fill_ids.iter().all(|id| public_ids.contains(id)));
    user.sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn ed25519_keys_sign_rest_requests_in_query_and_body() -> Result<()> {
    let user = User::start(config()).await?;
    let signer = Signer::ed25519();
    // Query and form body together: the signed payload is their concatenation.
    let query = "symbol=BTCUSDT&side=SELL&type=MARKET";
    let body = format!("quantity=0.00100&timestamp={}", now_ms());
    let signature = signer.sign_encoded(&format!("{query}{body}"));
    let body = format!("{body}&signature={signature}");
    let sold = user
        .raw(Method::POST, "/api/v3/order", Some(ED_KEY), query, &body)
        .await?;
    assert_eq!(sold.status, 200, "{}", sold.body);
    assert_eq!(sold.body["status"], "FILLED");
    assert_eq!(sold.body["side"], "SELL");
    let snapshot = user
        .sim
        .account(ED_KEY)
        .unwrap_or_else(|| panic!("the account exists"));
    assert_eq!(
        snapshot.balances["BTC"].free,
        Fixed(10 * 100_000_000 - 100_000)
    );
    assert!(snapshot.balances["USDT"].free.0 > 100_000 * 100_000_000);
    // A signature made for other parameters is refused.
    let forged = user
        .raw(
            Method::POST,
            "/api/v3/order",
            Some(ED_KEY),
            query,
            &body.replace("0.00100", "0.00200"),
        )
        .await?;
    assert_eq!((forged.status, forged.code()), (400, -1022));
    user.sim.shutdown().await;
    Ok(())
}

/// One bad request and the answer it must get.
struct Case {
    what: &'static str,
    api_key: Option<&'static str>,
    query: String,
    status: u16,
    code: i64,
}

#[tokio::test]
async fn every_bad_input_gets_its_documented_error() -> Result<()> {
    let user = User::start(config()).await?;
    let hmac = Signer::hmac();
    let now = now_ms();
    let sign = |signer: &Signer, params: &str| {
        format!("{params}&signature={}", signer.sign_encoded(params))
    };
    let order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000&price=1000.00";
    let cases = vec![
        Case {
            what: "no API key",
            api_key: None,
            query: sign(&hmac, &format!("timestamp={now}")),
            status: 401,
            code: -2014,
        },
        Case {
            what: "malformed API key",
            api_key: Some("not a key!"),
            query: sign(&hmac, &format!("timestamp={now}")),
            status: 401,
            code: -2014,
        },
        Case {
            what: "unknown API key",
            api_key: Some("unknownKey123"),
            query: sign(&hmac, &format!("timestamp={now}")),
            status: 401,
            code: -2015,
        },
        Case {
            what: "no timestamp",
            api_key: Some(HMAC_KEY),
            query: sign(&hmac, "recvWindow=5000"),
            status: 400,
            code: -1102,
        },
        Case {
            what: "no signature",
            api_key: Some(HMAC_KEY),
            query: format!("timestamp={now}"),
            status: 400,
            code: -1102,
        },
        Case {
            what: "wrong secret",
            api_key: Some(HMAC_KEY),
            query: sign(&Signer::Hmac("wrong".into()), &format!("timestamp={now}")),
            status: 400,
            code: -1022,
        },
        Case {
            what: "signature not hex",
            api_key: Some(HMAC_KEY),
            query: format!("timestamp={now}&signature=xyz"),
            status: 400,
            code: -1022,
        },
        Case {
            what: "Ed25519 signature for an HMAC key",
            api_key: Some(HMAC_KEY),
            query: sign(&Signer::ed25519(), &format!("timestamp={now}")),
            status: 400,
            code: -1022,
        },
        Case {
            what: "HMAC signature for an Ed25519 key",
            api_key: Some(ED_KEY),
            query: sign(&hmac, &format!("timestamp={now}")),
            status: 400,
            code: -1022,
        },
        Case {
            what: "stale timestamp",
            api_key: Some(HMAC_KEY),
            query: sign(&hmac, &format!("timestamp={}", now - 10_000)),
            status: 400,
            code: -1021,
        },
        Case {
            what: "timestamp ahead",
            api_key: Some(HMAC_KEY),
            query: sign(&hmac, &format!("timestamp={}", now + 5_000)),
            status: 400,
            code: -1021,
        },
        Case {
            what: "skew beyond a short recvWindow",
            api_key: Some(HMAC_KEY),
            query: sign(&hmac, &format!("recvWindow=1000&timestamp={}", now - 3_000)),
            status: 400,
            code: -1021,
        },
        Case {
            what: "recvWindow over 60000",
            api_key: Some(HMAC_KEY),
            query: sign(&hmac, &format!("recvWindow=60001&timestamp={now}")),
            status: 400,
            code: -1131,
        },
        Case {
            what: "malformed recvWindow",
            api_key: Some(HMAC_KEY),
            query: sign(&hmac, &format!("recvWindow=abc&timestamp={now}")),
            status: 400,
            code: -1100,
        },
        Case {
            what: "malformed timestamp",
            api_key: Some(HMAC_KEY),
            query: sign(&hmac, "timestamp=12ab"),
            status: 400,
            code: -1100,
        },
        Case {
            what: "unknown parameter",
            api_key: Some(HMAC_KEY),
            query: sign(&hmac, &format!("foo=1&timestamp={now}")),
            status: 400,
            code: -1104,
        },
        Case {
            what: "repeated parameter",
            api_key: Some(HMAC_KEY),
            query: sign(&hmac, &format!("timestamp={now}&timestamp={now}")),
            status: 400,
            code: -1101,
        },
    ];
    for case in &cases {
        let resp = user
            .raw(
                Method::GET,
                "/api/v3/account",
                case.api_key,
                &case.query,
                "",
            )
            .await?;
        assert_eq!(
            (resp.status, resp.code()),
            (case.status, case.code),
            "{}: {}",
            case.what,
            resp.body
        );
    }
    // A wide recvWindow accepts the same skew.
    let wide = user
        .hmac(
            Method::GET,
            "/api/v3/account",
            &format!("recvWindow=60000&timestamp={}", now_ms() - 3_000),
        )
        .await?;
    assert_eq!(wide.status, 200, "{}", wide.body);

    let order_cases = [
        (
            "unknown symbol",
            order.replace("BTCUSDT", "NOPEUSDT"),
            400,
            -1121,
        ),
        (
            "lowercase symbol",
            order.replace("BTCUSDT", "btcusdt"),
            400,
            -1100,
        ),
        ("bad side", order.replace("BUY", "HOLD"), 400, -1117),
        (
            "bad type",
            order.replace("type=LIMIT", "type=STOP"),
            400,
            -1116,
        ),
        ("bad timeInForce", order.replace("GTC", "GTX"), 400, -1115),
        ("no price", order.replace("&price=1000.00", ""), 400, -1102),
        (
            "no quantity",
            order.replace("quantity=0.01000&", ""),
            400,
            -1102,
        ),
        (
            "price off the tick",
            order.replace("1000.00", "1000.001"),
            400,
            -1013,
        ),
        (
            "quantity off the step",
            order.replace("0.01000", "0.010001"),
            400,
            -1013,
        ),
        (
            "negative quantity",
            order.replace("0.01000", "-1"),
            400,
            -1100,
        ),
        (
            "price with a market order",
            order.replace("type=LIMIT&timeInForce=GTC", "type=MARKET"),
            400,
            -1106,
        ),
        (
            "insufficient balance",
            order.replace("0.01000", "1000.00000"),
            400,
            -2010,
        ),
    ];
    for (what, params, status, code) in order_cases {
        let resp = user.hmac(Method::POST, "/api/v3/order", &params).await?;
        assert_eq!(
            (resp.status, resp.code()),
            (status, code),
            "{what}: {}",
            resp.body
        );
    }
    // A post-only order that would take is rejected; a read-only key may not trade.
    let (_, ask) = user.best("BTCUSDT")?;
    let maker = user
        .hmac(
            Method::POST,
            "/api/v3/order",
            &format!("symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.00100&price={ask}"),
        )
        .await?;
    assert_eq!((maker.status, maker.code()), (400, -2010), "{}", maker.body);
    let read_only = Signer::Hmac(READ_ONLY_SECRET.into());
    let denied = user
        .signed(
            Method::POST,
            "/api/v3/order",
            READ_ONLY_KEY,
            &read_only,
            order,
        )
        .await?;
    assert_eq!(
        (denied.status, denied.code()),
        (401, -2015),
        "{}",
        denied.body
    );
    let allowed = user
        .signed(
            Method::GET,
            "/api/v3/account",
            READ_ONLY_KEY,
            &read_only,
            "",
        )
        .await?;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.body["canTrade"], false);
    // Cancels need an order; unknown ones are -2011.
    let neither = user
        .hmac(Method::DELETE, "/api/v3/order", "symbol=BTCUSDT")
        .await?;
    assert_eq!((neither.status, neither.code()), (400, -1102));
    let unknown = user
        .hmac(Method::DELETE, "/api/v3/order", "symbol=BTCUSDT&orderId=1")
        .await?;
    assert_eq!((unknown.status, unknown.code()), (400, -2011));
    let missing = user
        .hmac(Method::GET, "/api/v3/order", "symbol=BTCUSDT&orderId=1")
        .await?;
    assert_eq!((missing.status, missing.code()), (400, -2013));
    // A name in both the query and the body is a repeated parameter.
    let body = format!("timestamp={}", now_ms());
    let twice = user
        .raw(
            Method::GET,
            "/api/v3/account",
            Some(HMAC_KEY),
            &body,
            &sign(&hmac, &body),
        )
        .await?;
    assert_eq!((twice.status, twice.code()), (400, -1101));
    // Methods: 405 with the allowed ones.
    let put = user
        .raw(Method::PUT, "/api/v3/order", Some(HMAC_KEY), "", "")
        .await?;
    assert_eq!(put.status, 405);
    assert_eq!(put.allow.as_deref(), Some("GET, POST, DELETE"));
    let post = user
        .raw(Method::POST, "/api/v3/account", Some(HMAC_KEY), "", "")
        .await?;
    assert_eq!((post.status, post.allow.as_deref()), (405, Some("GET")));
    // HMAC signatures are not case-sensitive.
    let params = format!("timestamp={}", now_ms());
    let upper = format!("{params}&signature={}", hmac.sign(&params).to_uppercase());
    let resp = user
        .raw(Method::GET, "/api/v3/account", Some(HMAC_KEY), &upper, "")
        .await?;
    assert_eq!(resp.status, 200, "{}", resp.body);
    // A revoked key is refused from then on.
    user.sim.revoke_key(HMAC_KEY)?;
    let revoked = user.hmac(Method::GET, "/api/v3/account", "").await?;
    assert_eq!((revoked.status, revoked.code()), (401, -2015));
    user.sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn the_admin_api_manages_accounts() -> Result<()> {
    let mut config = config();
    config.admin_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let user = User::start(config).await?;
    let admin = user.sim.admin_url().unwrap_or_default();
    let post = |path: String| {
        let client = user.client.clone();
        async move {
            let response = client.post(path).send().await?;
            let status = response.status().as_u16();
            anyhow::Ok((status, response.json::<Value>().await?))
        }
    };
    let (status, added) = post(format!(
        "{admin}/admin/account?api_key=adminMade1&hmac_secret=s3cret&balances=USDT:50,BTC:0.5"
    ))
    .await?;
    assert_eq!(
        (status, added["key_type"].as_str()),
        (200, Some("HMAC_SHA256")),
        "{added}"
    );
    let (status, _) = post(format!(
        "{admin}/admin/account?api_key=adminMade1&hmac_secret=x"
    ))
    .await?;
    assert_eq!(status, 400, "a taken key");
    let (status, _) = post(format!(
        "{admin}/admin/account?api_key=bad%20key&hmac_secret=x"
    ))
    .await?;
    assert_eq!(status, 400, "a malformed key");
    let (status, _) = post(format!(
        "{admin}/admin/account?api_key=edKey&ed25519_public_key=AAAA"
    ))
    .await?;
    assert_eq!(status, 400, "a public key of the wrong length");
    let (status, deposited) = post(format!(
        "{admin}/admin/deposit?api_key=adminMade1&asset=ETH&amount=2.5"
    ))
    .await?;
    assert_eq!(
        (status, deposited["free"].as_str()),
        (200, Some("2.50000000"))
    );
    let (status, _) = post(format!(
        "{admin}/admin/deposit?api_key=adminMade1&asset=ETH&amount=-3"
    ))
    .await?;
    assert_eq!(status, 400, "a withdrawal above the free balance");
    let signed = user
        .signed(
            Method::GET,
            "/api/v3/account",
            "adminMade1",
            &Signer::Hmac("s3cret".into()),
            "omitZeroBalances=true",
        )
        .await?;
    let assets: Vec<&str> = signed.body["balances"]
        .as_array()
        .map(|b| b.iter().filter_map(|r| r["asset"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(assets, ["BTC", "ETH", "USDT"]);
    let snapshot = user
        .client
        .get(format!("{admin}/admin/account?api_key=adminMade1"))
        .send()
        .await?
        .json::<Value>()
        .await?;
    assert_eq!(snapshot["balances"]["ETH"]["free"], "2.50000000");
    let (status, _) = post(format!("{admin}/admin/revoke?api_key=adminMade1")).await?;
    assert_eq!(status, 200);
    assert!(user.sim.account("adminMade1").is_some_and(|a| a.revoked));
    let (status, ended) = post(format!("{admin}/admin/terminate-user-streams")).await?;
    assert_eq!((status, ended["connections"].as_u64()), (200, Some(0)));
    user.sim.shutdown().await;
    Ok(())
}
