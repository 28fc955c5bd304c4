//! The admin HTTP API: fault controls and counters for the CLI, scripts and tests
//! in other languages. It listens on its own loopback port, separate from the
//! Binance-shaped REST API, so nothing a Binance client does can reach it.
//!
//! | method and path | does |
//! |---|---|
//! | `GET /admin/status` | addresses, symbols, open connections, active faults |
//! | `GET /admin/connections` | counters of every remembered stream connection |
//! | `GET /admin/handshakes` | handshake counters |
//! | `GET /admin/rest` | REST counters |
//! | `POST /admin/drop?code=1001&reason=…` or `?reset=true` | drop every stream connection |
//! | `POST /admin/stall?on=true` | stall (or `on=false` to resume) |
//! | `POST /admin/refuse?ms=5000` | refuse new stream connections for a while |
//! | `POST /admin/rest-fault?kind=500\|503\|429\|418\|slow&ms=…&for_ms=…` | make REST misbehave |
//! | `DELETE /admin/rest-fault` | end the REST fault |
//! | `POST /admin/depth-gap?symbol=BTCUSDT` | drop the next depth diff (sequence gap) |
//! | `POST /admin/depth-duplicate?symbol=BTCUSDT` | send the next depth diff twice |
//! | `POST /admin/server-shutdown` | send `serverShutdown` on every connection |
//! | `POST /admin/rate?symbol=BTCUSDT&actions_per_sec=100` | change a symbol's event rate |
//! | `GET /admin/account?api_key=…` | an account's balances and open orders |
//! | `POST /admin/account?api_key=…&hmac_secret=…` or `&ed25519_public_key=<base64>`, optional `&balances=USDT:1000,BTC:0.5` | add an account |
//! | `POST /admin/deposit?api_key=…&asset=BTC&amount=0.5` | credit (negative: debit) an account, with `balanceUpdate` |
//! | `POST /admin/revoke?api_key=…` | revoke a key (-2015 from then on, its subscriptions end) |
//! | `POST /admin/terminate-user-streams` | end every user data subscription (`eventStreamTerminated`) |
//!
//! Every answer is JSON; a bad request gets 400 with `{"error": "…"}` naming the
//! parameter and what it accepts.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::account::{AccountSpec, KeyMaterial};
use crate::decimal::Fixed;
use crate::market::DepthFault;
use crate::state::{DropKind, RestFault, Shared, lock, now_ms};

type Params = Query<HashMap<String, String>>;
type AppState = State<Arc<Shared>>;

/// The admin routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/admin/status", get(status))
        .route("/admin/connections", get(connections))
        .route("/admin/handshakes", get(handshakes))
        .route("/admin/rest", get(rest_stats))
        .route("/admin/drop", post(drop_connections))
        .route("/admin/stall", post(stall))
        .route("/admin/refuse", post(refuse))
        .route(
            "/admin/rest-fault",
            post(rest_fault).delete(clear_rest_fault),
        )
        .route("/admin/depth-gap", post(depth_gap))
        .route("/admin/depth-duplicate", post(depth_duplicate))
        .route("/admin/server-shutdown", post(server_shutdown))
        .route("/admin/rate", post(rate))
        .route("/admin/account", get(account).post(add_account))
        .route("/admin/deposit", post(deposit))
        .route("/admin/revoke", post(revoke))
        .route(
            "/admin/terminate-user-streams",
            post(terminate_user_streams),
        )
        .fallback(not_found)
        .with_state(shared)
}

/// A 400 answer naming what was wrong.
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, Json(json!({ "error": self.0 }))).into_response()
    }
}

fn param<'a>(
    params: &'a HashMap<String, String>,
    name: &str,
    accepts: &str,
) -> Result<&'a str, BadRequest> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| BadRequest(format!("missing parameter `{name}`: expected {accepts}")))
}

fn parse<T: std::str::FromStr>(
    params: &HashMap<String, String>,
    name: &str,
    accepts: &str,
) -> Result<T, BadRequest> {
    let text = param(params, name, accepts)?;
    text.parse()
        .map_err(|_| BadRequest(format!("parameter `{name}` = {text:?}: expected {accepts}")))
}

async fn status(State(shared): AppState) -> Json<Value> {
    let connections = shared.counters.connections();
    let open = connections.iter().filter(|c| c.open).count();
    let symbols: Vec<Value> = lock(&shared.market)
        .symbols()
        .iter()
        .map(|m| {
            json!({
                "symbol": m.symbol(),
                "last_price": m.last_price().to_string(),
                "update_id": m.update_id(),
                "actions_per_sec": m.actions_per_sec(),
            })
        })
        .collect();
    Json(json!({
        "symbols": symbols,
        "open_connections": open,
        "stalled": shared.faults.stalled.load(Ordering::SeqCst),
        "refusing": shared.faults.refusing(tokio::time::Instant::now()),
        "rest_fault": shared.faults.rest_fault(tokio::time::Instant::now()).map(|f| format!("{f:?}")),
        "seed": shared.config.seed,
    }))
}

async fn connections(State(shared): AppState) -> Json<Value> {
    Json(json!(shared.counters.connections()))
}

async fn handshakes(State(shared): AppState) -> Json<Value> {
    Json(json!(*lock(&shared.counters.handshakes)))
}

async fn rest_stats(State(shared): AppState) -> Json<Value> {
    Json(json!(*lock(&shared.counters.rest)))
}

async fn drop_connections(
    State(shared): AppState,
    Query(params): Params,
) -> Result<Json<Value>, BadRequest> {
    let how = if params.get("reset").is_some_and(|v| v == "true") {
        DropKind::Reset
    } else {
        let code: u16 = match params.get("code") {
            Some(_) => parse(&params, "code", "a close code such as 1001 or 1008")?,
            None => 1001,
        };
        if !(1000..=4999).contains(&code) || matches!(code, 1004..=1006 | 1015) {
            return Err(BadRequest(format!(
                "parameter `code` = {code}: expected a close code that may be sent (1000-4999, not 1004-1006 or 1015)"
            )));
        }
        DropKind::Close {
            code,
            reason: params.get("reason").cloned().unwrap_or_default(),
        }
    };
    Ok(Json(json!({ "dropped": shared.drop_connections(how) })))
}

async fn stall(State(shared): AppState, Query(params): Params) -> Result<Json<Value>, BadRequest> {
    let on: bool = parse(&params, "on", "true or false")?;
    shared.set_stalled(on);
    Ok(Json(json!({ "stalled": on })))
}

async fn refuse(State(shared): AppState, Query(params): Params) -> Result<Json<Value>, BadRequest> {
    let ms: u64 = parse(&params, "ms", "milliseconds to refuse new connections for")?;
    shared.refuse_connections(Duration::from_millis(ms));
    Ok(Json(json!({ "refusing_ms": ms })))
}

async fn rest_fault(
    State(shared): AppState,
    Query(params): Params,
) -> Result<Json<Value>, BadRequest> {
    const KINDS: &str = "a 5xx status (500-599), 429, 418 or slow";
    let kind = param(&params, "kind", KINDS)?;
    let fault = match kind {
        "429" => RestFault::TooManyRequests,
        "418" => RestFault::Banned,
        "slow" => RestFault::Slow(Duration::from_millis(parse(
            &params,
            "ms",
            "the delay in milliseconds for kind=slow",
        )?)),
        other => match other.parse::<u16>() {
            Ok(code) if (500..=599).contains(&code) => RestFault::ServerError(code),
            _ => {
                return Err(BadRequest(format!(
                    "parameter `kind` = {other:?}: expected {KINDS}"
                )));
            }
        },
    };
    let duration = match params.get("for_ms") {
        Some(_) => Some(Duration::from_millis(parse(
            &params,
            "for_ms",
            "milliseconds",
        )?)),
        None => None,
    };
    shared.set_rest_fault(fault, duration);
    Ok(Json(
        json!({ "rest_fault": format!("{fault:?}"), "for_ms": duration.map(|d| d.as_millis()) }),
    ))
}

async fn clear_rest_fault(State(shared): AppState) -> Json<Value> {
    shared.clear_rest_fault();
    Json(json!({ "rest_fault": null }))
}

async fn depth_gap(
    State(shared): AppState,
    Query(params): Params,
) -> Result<Json<Value>, BadRequest> {
    depth_fault(&shared, &params, DepthFault::Gap)
}

async fn depth_duplicate(
    State(shared): AppState,
    Query(params): Params,
) -> Result<Json<Value>, BadRequest> {
    depth_fault(&shared, &params, DepthFault::Duplicate)
}

fn depth_fault(
    shared: &Shared,
    params: &HashMap<String, String>,
    fault: DepthFault,
) -> Result<Json<Value>, BadRequest> {
    let symbol = param(params, "symbol", "a listed symbol such as BTCUSDT")?;
    shared
        .depth_fault(symbol, fault)
        .map_err(|e| BadRequest(e.to_string()))?;
    Ok(Json(
        json!({ "symbol": symbol, "armed": format!("{fault:?}") }),
    ))
}

async fn server_shutdown(State(shared): AppState) -> Json<Value> {
    Json(json!({ "notified": shared.send_server_shutdown() }))
}

async fn rate(State(shared): AppState, Query(params): Params) -> Result<Json<Value>, BadRequest> {
    let symbol = param(&params, "symbol", "a listed symbol such as BTCUSDT")?;
    let rate: f64 = parse(&params, "actions_per_sec", "a non-negative number")?;
    shared
        .set_symbol_rate(symbol, rate)
        .map_err(|e| BadRequest(e.to_string()))?;
    Ok(Json(json!({ "symbol": symbol, "actions_per_sec": rate })))
}

async fn account(
    State(shared): AppState,
    Query(params): Params,
) -> Result<Json<Value>, BadRequest> {
    let api_key = param(&params, "api_key", "an account's API key")?;
    lock(&shared.ledger)
        .snapshot(api_key)
        .map(|snapshot| Json(json!(snapshot)))
        .ok_or_else(|| BadRequest(format!("no account has API key {api_key:?}")))
}

async fn add_account(
    State(shared): AppState,
    Query(params): Params,
) -> Result<Json<Value>, BadRequest> {
    use base64::Engine as _;
    let api_key = param(&params, "api_key", "1 to 64 ASCII letters or digits")?;
    let key = match (params.get("hmac_secret"), params.get("ed25519_public_key")) {
        (Some(secret), None) => KeyMaterial::hmac(secret),
        (None, Some(public)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(public.as_bytes())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or_else(|| {
                    BadRequest(
                        "parameter `ed25519_public_key`: expected the base64 of 32 bytes"
                            .to_owned(),
                    )
                })?;
            KeyMaterial::Ed25519 { public_key: bytes }
        }
        _ => {
            return Err(BadRequest(
                "expected exactly one of `hmac_secret` and `ed25519_public_key`".to_owned(),
            ));
        }
    };
    let mut balances = Vec::new();
    for item in params
        .get("balances")
        .map_or("", String::as_str)
        .split(',')
        .filter(|s| !s.is_empty())
    {
        let parsed = item
            .split_once(':')
            .and_then(|(asset, amount)| Some((asset.to_owned(), Fixed::parse(amount)?)));
        balances.push(parsed.ok_or_else(|| {
            BadRequest(format!(
                "parameter `balances`: {item:?} is not ASSET:AMOUNT"
            ))
        })?);
    }
    let spec = AccountSpec {
        balances,
        ..AccountSpec::new(api_key, key, &[])
    };
    lock(&shared.ledger)
        .add(&spec, now_ms())
        .map_err(|e| BadRequest(e.to_string()))?;
    Ok(Json(
        json!({ "api_key": api_key, "key_type": spec.key.kind() }),
    ))
}

async fn deposit(
    State(shared): AppState,
    Query(params): Params,
) -> Result<Json<Value>, BadRequest> {
    let api_key = param(&params, "api_key", "an account's API key")?;
    let asset = param(&params, "asset", "an asset such as BTC")?;
    let amount = param(&params, "amount", "a decimal such as 0.5 or -2")?;
    let amount = Fixed::parse(amount).ok_or_else(|| {
        BadRequest(format!(
            "parameter `amount` = {amount:?}: expected a decimal"
        ))
    })?;
    let balance = lock(&shared.ledger)
        .deposit(api_key, asset, amount, now_ms())
        .map_err(|e| BadRequest(e.to_string()))?;
    Ok(Json(
        json!({ "asset": asset, "free": balance.free, "locked": balance.locked }),
    ))
}

async fn revoke(State(shared): AppState, Query(params): Params) -> Result<Json<Value>, BadRequest> {
    let api_key = param(&params, "api_key", "an account's API key")?;
    lock(&shared.ledger)
        .revoke(api_key)
        .map_err(|e| BadRequest(e.to_string()))?;
    Ok(Json(json!({ "revoked": api_key })))
}

async fn terminate_user_streams(State(shared): AppState) -> Json<Value> {
    Json(json!({ "connections": lock(&shared.ledger).terminate_all() }))
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "unknown admin path: see GET /admin/status and the binance-sim docs for the list" })),
    )
        .into_response()
}
