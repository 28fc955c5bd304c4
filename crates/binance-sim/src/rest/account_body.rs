//! Bodies of the signed endpoints, with the keys and JSON types of Binance's
//! (rest-api.md): amounts are strings, ids numbers, times [`Ts`].

use std::sync::Arc;

use serde::Serialize;

use crate::account::{AccountTrade, Order};
use crate::decimal::Fixed;
use crate::payload::Ts;

/// `POST /api/v3/order` with `newOrderRespType=ACK`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderAck {
    pub(crate) symbol: Arc<str>,
    pub(crate) order_id: u64,
    pub(crate) order_list_id: i64,
    pub(crate) client_order_id: String,
    pub(crate) transact_time: Ts,
}

/// One fill of a `FULL` response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderFill {
    pub(crate) price: Fixed,
    pub(crate) qty: Fixed,
    pub(crate) commission: Fixed,
    pub(crate) commission_asset: String,
    pub(crate) trade_id: u64,
}

/// `POST /api/v3/order` with `RESULT` (no `fills`) or `FULL`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderResult {
    pub(crate) symbol: Arc<str>,
    pub(crate) order_id: u64,
    pub(crate) order_list_id: i64,
    pub(crate) client_order_id: String,
    pub(crate) transact_time: Ts,
    pub(crate) price: Fixed,
    pub(crate) orig_qty: Fixed,
    pub(crate) executed_qty: Fixed,
    pub(crate) orig_quote_order_qty: Fixed,
    pub(crate) cummulative_quote_qty: Fixed,
    pub(crate) status: &'static str,
    pub(crate) time_in_force: &'static str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) side: &'static str,
    pub(crate) working_time: Ts,
    pub(crate) self_trade_prevention_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fills: Option<Vec<OrderFill>>,
}

impl OrderResult {
    pub(crate) fn new(order: &Order, now: u64, fills: Option<Vec<OrderFill>>) -> Self {
        OrderResult {
            symbol: order.symbol.clone(),
            order_id: order.order_id,
            order_list_id: -1,
            client_order_id: order.client_order_id.clone(),
            transact_time: Ts(now),
            price: order.price,
            orig_qty: order.orig_qty,
            executed_qty: order.executed,
            orig_quote_order_qty: Fixed::ZERO,
            cummulative_quote_qty: order.cum_quote,
            status: order.status.as_str(),
            time_in_force: order.tif.as_str(),
            kind: order.kind.as_str(),
            side: order.side.as_str(),
            working_time: Ts(order.time),
            self_trade_prevention_mode: "NONE",
            fills,
        }
    }
}

/// `DELETE /api/v3/order`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelResult {
    pub(crate) symbol: Arc<str>,
    pub(crate) orig_client_order_id: String,
    pub(crate) order_id: u64,
    pub(crate) order_list_id: i64,
    pub(crate) client_order_id: String,
    pub(crate) transact_time: Ts,
    pub(crate) price: Fixed,
    pub(crate) orig_qty: Fixed,
    pub(crate) executed_qty: Fixed,
    pub(crate) orig_quote_order_qty: Fixed,
    pub(crate) cummulative_quote_qty: Fixed,
    pub(crate) status: &'static str,
    pub(crate) time_in_force: &'static str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) side: &'static str,
    pub(crate) self_trade_prevention_mode: &'static str,
}

/// An order in `GET /api/v3/order` and `GET /api/v3/openOrders`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderInfo {
    pub(crate) symbol: Arc<str>,
    pub(crate) order_id: u64,
    pub(crate) order_list_id: i64,
    pub(crate) client_order_id: String,
    pub(crate) price: Fixed,
    pub(crate) orig_qty: Fixed,
    pub(crate) executed_qty: Fixed,
    pub(crate) cummulative_quote_qty: Fixed,
    pub(crate) status: &'static str,
    pub(crate) time_in_force: &'static str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) side: &'static str,
    pub(crate) stop_price: Fixed,
    pub(crate) iceberg_qty: Fixed,
    pub(crate) time: Ts,
    pub(crate) update_time: Ts,
    pub(crate) is_working: bool,
    pub(crate) working_time: Ts,
    pub(crate) orig_quote_order_qty: Fixed,
    pub(crate) self_trade_prevention_mode: &'static str,
}

impl From<&Order> for OrderInfo {
    fn from(order: &Order) -> Self {
        OrderInfo {
            symbol: order.symbol.clone(),
            order_id: order.order_id,
            order_list_id: -1,
            client_order_id: order.client_order_id.clone(),
            price: order.price,
            orig_qty: order.orig_qty,
            executed_qty: order.executed,
            cummulative_quote_qty: order.cum_quote,
            status: order.status.as_str(),
            time_in_force: order.tif.as_str(),
            kind: order.kind.as_str(),
            side: order.side.as_str(),
            stop_price: Fixed::ZERO,
            iceberg_qty: Fixed::ZERO,
            time: Ts(order.time),
            update_time: Ts(order.update_time),
            is_working: true,
            working_time: Ts(order.time),
            orig_quote_order_qty: Fixed::ZERO,
            self_trade_prevention_mode: "NONE",
        }
    }
}

/// `commissionRates` of `GET /api/v3/account`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CommissionRates {
    pub(crate) maker: Fixed,
    pub(crate) taker: Fixed,
    pub(crate) buyer: Fixed,
    pub(crate) seller: Fixed,
}

/// One balance of `GET /api/v3/account`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AccountBalance {
    pub(crate) asset: String,
    pub(crate) free: Fixed,
    pub(crate) locked: Fixed,
}

/// `GET /api/v3/account`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_excessive_bools,
    reason = "Binance's flags are independent booleans on the wire"
)]
pub(crate) struct AccountInfo {
    pub(crate) maker_commission: i64,
    pub(crate) taker_commission: i64,
    pub(crate) buyer_commission: i64,
    pub(crate) seller_commission: i64,
    pub(crate) commission_rates: CommissionRates,
    pub(crate) can_trade: bool,
    pub(crate) can_withdraw: bool,
    pub(crate) can_deposit: bool,
    pub(crate) brokered: bool,
    pub(crate) require_self_trade_prevention: bool,
    pub(crate) prevent_sor: bool,
    pub(crate) update_time: Ts,
    pub(crate) account_type: &'static str,
    pub(crate) balances: Vec<AccountBalance>,
    pub(crate) permissions: Vec<&'static str>,
    pub(crate) uid: u64,
}

/// One row of `GET /api/v3/myTrades`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_excessive_bools,
    reason = "Binance's flags are independent booleans on the wire"
)]
pub(crate) struct MyTrade {
    pub(crate) symbol: Arc<str>,
    pub(crate) id: u64,
    pub(crate) order_id: u64,
    pub(crate) order_list_id: i64,
    pub(crate) price: Fixed,
    pub(crate) qty: Fixed,
    pub(crate) quote_qty: Fixed,
    pub(crate) commission: Fixed,
    pub(crate) commission_asset: String,
    pub(crate) time: Ts,
    pub(crate) is_buyer: bool,
    pub(crate) is_maker: bool,
    pub(crate) is_best_match: bool,
}

impl From<&AccountTrade> for MyTrade {
    fn from(t: &AccountTrade) -> Self {
        MyTrade {
            symbol: t.symbol.clone(),
            id: t.id,
            order_id: t.order_id,
            order_list_id: -1,
            price: t.price,
            qty: t.qty,
            quote_qty: t.quote_qty,
            commission: t.commission,
            commission_asset: t.commission_asset.clone(),
            time: Ts(t.time),
            is_buyer: t.is_buyer,
            is_maker: t.is_maker,
            is_best_match: true,
        }
    }
}
