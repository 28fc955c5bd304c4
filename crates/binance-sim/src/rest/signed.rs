//! The `SIGNED` endpoints of a simulated account: `POST`, `DELETE` and `GET
//! /api/v3/order`, `GET /api/v3/account`, `GET /api/v3/openOrders`, `GET
//! /api/v3/myTrades` (PROTOCOL.md §8a for signing).
//!
//! Parameters come from the query string, the `application/x-www-form-urlencoded` body,
//! or both (a name in both is -1101). The signature covers the query string and the
//! body exactly as sent, concatenated. Checks run in this order: API key (-2014,
//! -2015), `timestamp`/`signature` present (-1102), `recvWindow` (-1100, -1131),
//! signature (-1022), timing (-1021), permission (-2015), then the endpoint's own
//! parameters (-1100, -1102, -1104, -1106, -1115…-1117, -1121, -1130) and the business
//! rules (-1013, -2010, -2011, -2013).

use axum::http::{HeaderMap, Method};

use super::account_body::{
    AccountBalance, AccountInfo, CancelResult, CommissionRates, MyTrade, OrderAck, OrderFill,
    OrderInfo, OrderResult,
};
use super::endpoint::Endpoint;
use super::params::{ApiError, Params, Presence};
use crate::account::auth::{authenticate, now_us, rest_payload};
use crate::account::{
    NewOrder, OrderQuery, OrderSide, OrderType, Permission, RespType, TimeInForce,
};
use crate::decimal::Fixed;
use crate::payload::{TimeUnit, Ts, to_json};
use crate::state::{Shared, lock, now_ms};

/// The header that carries the API key.
const API_KEY_HEADER: &str = "x-mbx-apikey";
/// The legal range Binance prints for a malformed decimal.
const DECIMAL_RANGE: &str = r"^([0-9]{1,20})(\.[0-9]{1,20})?$";
/// The legal range Binance prints for a malformed client order id.
const CLIENT_ID_RANGE: &str = r"^[\.A-Z\:/a-z0-9_-]{1,36}$";

/// A signed request as received.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) endpoint: Endpoint,
    pub(crate) method: &'a Method,
    pub(crate) query: Option<&'a str>,
    pub(crate) body: &'a str,
    pub(crate) headers: &'a HeaderMap,
}

/// The parameters of a request: the query string, plus the form body for signed endpoints.
pub(crate) fn params(
    endpoint: Endpoint,
    query: Option<&str>,
    body: Option<&str>,
) -> Result<Params, ApiError> {
    match body {
        Some(body) if endpoint.is_signed() && !body.is_empty() => {
            let joined = match query {
                Some(q) if !q.is_empty() => format!("{q}&{body}"),
                _ => body.to_owned(),
            };
            Params::parse(Some(&joined))
        }
        _ => Params::parse(query),
    }
}

/// Answers a signed request with its JSON body.
///
/// # Errors
/// The Binance error for the first problem found (see the module docs).
pub(crate) fn handle(
    shared: &Shared,
    request: &Request<'_>,
    mut params: Params,
    unit: TimeUnit,
) -> Result<String, ApiError> {
    let api_key = request
        .headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok());
    let payload = rest_payload(request.query, request.body);
    let permission = match (request.endpoint, request.method) {
        (Endpoint::Order, m) if *m != Method::GET => Permission::Trade,
        _ => Permission::UserData,
    };
    let now = now_ms();
    let json = match (request.endpoint, request.method) {
        (Endpoint::Order, m) if *m == Method::POST => {
            let mut market = lock(&shared.market);
            let mut ledger = lock(&shared.ledger);
            let account = authenticate(
                &ledger,
                api_key,
                &mut params,
                payload.as_bytes(),
                permission,
                now_us(),
            )?;
            let (symbol, order, resp) = read_new_order(&mut params)?;
            let market_symbol = market
                .symbol_mut(&symbol)
                .filter(|m| m.symbol() == symbol)
                .ok_or_else(ApiError::bad_symbol)?;
            let mut out = Vec::new();
            let placed = shared.interest.with(|interest| {
                ledger.place(account, market_symbol, order, now, &mut out, interest)
            })?;
            if !out.is_empty() {
                let _ = shared.events.send(out.into());
            }
            drop(ledger);
            drop(market);
            let fills = placed.fills.iter().map(|f| OrderFill {
                price: f.price,
                qty: f.qty,
                commission: f.commission,
                commission_asset: f.commission_asset.clone(),
                trade_id: f.trade_id,
            });
            match resp {
                RespType::Ack => to_json(
                    &OrderAck {
                        symbol: placed.order.symbol.clone(),
                        order_id: placed.order.order_id,
                        order_list_id: -1,
                        client_order_id: placed.order.client_order_id.clone(),
                        transact_time: Ts(now),
                    },
                    unit,
                ),
                RespType::Result => to_json(&OrderResult::new(&placed.order, now, None), unit),
                RespType::Full => to_json(
                    &OrderResult::new(&placed.order, now, Some(fills.collect())),
                    unit,
                ),
            }
        }
        (Endpoint::Order, m) if *m == Method::DELETE => {
            let mut market = lock(&shared.market);
            let mut ledger = lock(&shared.ledger);
            let account = authenticate(
                &ledger,
                api_key,
                &mut params,
                payload.as_bytes(),
                permission,
                now_us(),
            )?;
            let symbol = required_symbol(&mut params)?;
            let query = read_order_query(&mut params)?;
            let new_client_id = client_id(&mut params, "newClientOrderId")?;
            params.finish()?;
            let market_symbol = market
                .symbol_mut(&symbol)
                .filter(|m| m.symbol() == symbol)
                .ok_or_else(ApiError::bad_symbol)?;
            let mut out = Vec::new();
            let cancelled = shared.interest.with(|interest| {
                ledger.cancel(
                    account,
                    market_symbol,
                    &query,
                    new_client_id,
                    now,
                    &mut out,
                    interest,
                )
            })?;
            if !out.is_empty() {
                let _ = shared.events.send(out.into());
            }
            drop(ledger);
            drop(market);
            let original = ledger_client_id(shared, account, cancelled.order_id);
            to_json(
                &CancelResult {
                    symbol: cancelled.symbol.clone(),
                    orig_client_order_id: original,
                    order_id: cancelled.order_id,
                    order_list_id: -1,
                    client_order_id: cancelled.client_order_id.clone(),
                    transact_time: Ts(now),
                    price: cancelled.price,
                    orig_qty: cancelled.orig_qty,
                    executed_qty: cancelled.executed,
                    orig_quote_order_qty: Fixed::ZERO,
                    cummulative_quote_qty: cancelled.cum_quote,
                    status: cancelled.status.as_str(),
                    time_in_force: cancelled.tif.as_str(),
                    kind: cancelled.kind.as_str(),
                    side: cancelled.side.as_str(),
                    self_trade_prevention_mode: "NONE",
                },
                unit,
            )
        }
        (endpoint, _) => {
            let ledger = lock(&shared.ledger);
            let account = authenticate(
                &ledger,
                api_key,
                &mut params,
                payload.as_bytes(),
                permission,
                now_us(),
            )?;
            read_only(shared, &ledger, account, endpoint, &mut params, unit)?
        }
    };
    json.map_err(|_| {
        ApiError::bad(
            -1000,
            "An unknown error occurred while processing the request.",
        )
    })
}

/// The original client order id of an order (for a cancel's `origClientOrderId`).
fn ledger_client_id(shared: &Shared, account: usize, order_id: u64) -> String {
    lock(&shared.ledger)
        .account(account)
        .and_then(|a| a.orders.get(&order_id))
        .map(|o| o.client_order_id.clone())
        .unwrap_or_default()
}

/// `GET /api/v3/order`, `/account`, `/openOrders` and `/myTrades`.
fn read_only(
    shared: &Shared,
    ledger: &crate::account::Ledger,
    account: usize,
    endpoint: Endpoint,
    params: &mut Params,
    unit: TimeUnit,
) -> Result<serde_json::Result<String>, ApiError> {
    let acc = ledger
        .account(account)
        .ok_or_else(crate::account::auth::rejected_key)?;
    let listed = |symbol: &str| shared.config.symbols.iter().any(|s| s.symbol == symbol);
    match endpoint {
        Endpoint::Order => {
            let symbol = required_symbol(params)?;
            let query = read_order_query(params)?;
            params.finish()?;
            if !listed(&symbol) {
                return Err(ApiError::bad_symbol());
            }
            let order = acc
                .orders
                .values()
                .find(|o| {
                    *o.symbol == *symbol
                        && match &query {
                            OrderQuery::Id(id) => o.order_id == *id,
                            OrderQuery::ClientId(id) => &o.client_order_id == id,
                        }
                })
                .ok_or_else(|| ApiError::bad(-2013, "Order does not exist."))?;
            Ok(to_json(&OrderInfo::from(order), unit))
        }
        Endpoint::Account => {
            let omit_zero = match params
                .text("omitZeroBalances", Presence::Optional)?
                .as_deref()
            {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err(ApiError::invalid("omitZeroBalances")),
            };
            params.finish()?;
            let bps = |rate: Fixed| rate.0 / (crate::decimal::SCALE / 10_000);
            let info = AccountInfo {
                maker_commission: bps(acc.commission.maker),
                taker_commission: bps(acc.commission.taker),
                buyer_commission: 0,
                seller_commission: 0,
                commission_rates: CommissionRates {
                    maker: acc.commission.maker,
                    taker: acc.commission.taker,
                    buyer: Fixed::ZERO,
                    seller: Fixed::ZERO,
                },
                can_trade: acc.may(Permission::Trade),
                can_withdraw: true,
                can_deposit: true,
                brokered: false,
                require_self_trade_prevention: false,
                prevent_sor: false,
                update_time: Ts(acc.update_time),
                account_type: "SPOT",
                balances: acc
                    .balances
                    .iter()
                    .filter(|(_, b)| !omit_zero || b.free.0 != 0 || b.locked.0 != 0)
                    .map(|(asset, b)| AccountBalance {
                        asset: asset.clone(),
                        free: b.free,
                        locked: b.locked,
                    })
                    .collect(),
                permissions: vec!["SPOT"],
                uid: acc.uid,
            };
            Ok(to_json(&info, unit))
        }
        Endpoint::OpenOrders => {
            let symbol = params.symbol("symbol", Presence::Optional)?;
            params.finish()?;
            if symbol.as_deref().is_some_and(|s| !listed(s)) {
                return Err(ApiError::bad_symbol());
            }
            let orders: Vec<OrderInfo> = ledger
                .open_orders(account, symbol.as_deref())
                .iter()
                .map(OrderInfo::from)
                .collect();
            Ok(to_json(&orders, unit))
        }
        _ => {
            let symbol = required_symbol(params)?;
            let order_id = params.number("orderId")?;
            let start = params.time("startTime")?;
            let end = params.time("endTime")?;
            let from_id = params.number("fromId")?;
            let limit = params.limit(500, 1000)?;
            params.finish()?;
            if from_id.is_some() && (start.is_some() || end.is_some()) {
                return Err(ApiError::bad_combination());
            }
            if !listed(&symbol) {
                return Err(ApiError::bad_symbol());
            }
            let matching: Vec<MyTrade> = ledger
                .trades(account, &symbol)
                .iter()
                .filter(|t| order_id.is_none_or(|id| t.order_id == id))
                .filter(|t| from_id.is_none_or(|id| t.id >= id))
                .filter(|t| start.is_none_or(|s| t.time >= s) && end.is_none_or(|e| t.time <= e))
                .map(MyTrade::from)
                .collect();
            // From `fromId` on: the oldest `limit`; otherwise the most recent `limit`.
            let rows: Vec<MyTrade> = if from_id.is_some() {
                matching.into_iter().take(limit).collect()
            } else {
                let skip = matching.len().saturating_sub(limit);
                matching.into_iter().skip(skip).collect()
            };
            Ok(to_json(&rows, unit))
        }
    }
}

fn required_symbol(params: &mut Params) -> Result<String, ApiError> {
    params
        .symbol("symbol", Presence::Mandatory)?
        .ok_or_else(|| ApiError::mandatory("symbol"))
}

/// `orderId` or `origClientOrderId` (one must be sent; `orderId` wins if both are).
fn read_order_query(params: &mut Params) -> Result<OrderQuery, ApiError> {
    let id = params.number("orderId")?;
    let client = client_id(params, "origClientOrderId")?;
    match (id, client) {
        (Some(id), _) => Ok(OrderQuery::Id(id)),
        (None, Some(client)) => Ok(OrderQuery::ClientId(client)),
        (None, None) => Err(ApiError::bad(
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )),
    }
}

/// A client order id: 1–36 of `.`, `:`, `/`, `_`, `-`, letters and digits.
fn client_id(params: &mut Params, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = params.text(name, Presence::Optional)? else {
        return Ok(None);
    };
    let ok = value.len() <= 36
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'/' | b'_' | b'-'));
    if ok {
        Ok(Some(value))
    } else {
        Err(ApiError::illegal_chars(name, CLIENT_ID_RANGE))
    }
}

/// A positive decimal with at most 8 significant fractional digits.
fn decimal(params: &mut Params, name: &str) -> Result<Option<Fixed>, ApiError> {
    let Some(text) = params.text(name, Presence::Optional)? else {
        return Ok(None);
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = (1..=20).contains(&whole.len())
        && frac.len() <= 20
        && !(text.contains('.') && frac.is_empty())
        && digits(whole)
        && digits(frac);
    if !well_formed {
        return Err(ApiError::illegal_chars(name, DECIMAL_RANGE));
    }
    let frac = frac.trim_end_matches('0');
    let trimmed = if frac.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{frac}")
    };
    Fixed::parse(&trimmed)
        .map(Some)
        .ok_or_else(|| ApiError::invalid(name))
}

/// Reads the parameters of `POST /api/v3/order`.
fn read_new_order(params: &mut Params) -> Result<(String, NewOrder, RespType), ApiError> {
    let symbol = required_symbol(params)?;
    let side = params
        .text("side", Presence::Mandatory)?
        .ok_or_else(|| ApiError::mandatory("side"))?;
    let kind = params
        .text("type", Presence::Mandatory)?
        .ok_or_else(|| ApiError::mandatory("type"))?;
    let tif = params.text("timeInForce", Presence::Optional)?;
    let qty = decimal(params, "quantity")?;
    let price = decimal(params, "price")?;
    let client_order_id = client_id(params, "newClientOrderId")?;
    let resp = params.text("newOrderRespType", Presence::Optional)?;
    params.finish()?;
    let side = OrderSide::parse(&side).ok_or_else(|| ApiError::bad(-1117, "Invalid side."))?;
    let kind = match kind.as_str() {
        "LIMIT" => OrderType::Limit,
        "LIMIT_MAKER" => OrderType::LimitMaker,
        "MARKET" => OrderType::Market,
        _ => return Err(ApiError::bad(-1116, "Invalid orderType.")),
    };
    let not_required =
        |name: &str| ApiError::bad(-1106, format!("Parameter '{name}' sent when not required."));
    let tif = match (kind, tif) {
        (OrderType::Limit, None) => return Err(ApiError::mandatory("timeInForce")),
        (OrderType::Limit, Some(t)) => {
            TimeInForce::parse(&t).ok_or_else(|| ApiError::bad(-1115, "Invalid timeInForce."))?
        }
        (_, Some(_)) => return Err(not_required("timeInForce")),
        (_, None) => TimeInForce::Gtc,
    };
    let price = match (kind, price) {
        (OrderType::Market, Some(_)) => return Err(not_required("price")),
        (OrderType::Market, None) => Fixed::ZERO,
        (_, None) => return Err(ApiError::mandatory("price")),
        (_, Some(p)) => p,
    };
    let qty = qty.ok_or_else(|| ApiError::mandatory("quantity"))?;
    let resp = match resp.as_deref() {
        None | Some("FULL") => RespType::Full,
        Some("RESULT") => RespType::Result,
        Some("ACK") => RespType::Ack,
        Some(_) => return Err(ApiError::invalid("newOrderRespType")),
    };
    let order = NewOrder {
        side,
        kind,
        tif,
        price,
        qty,
        client_order_id,
    };
    Ok((symbol, order, resp))
}
