//! Orders of simulated accounts: their terms, their state, and the snapshots a test
//! reads through [`SimHandle::account`](crate::SimHandle::account).

use std::sync::Arc;

use serde::Serialize;

use crate::decimal::Fixed;
use crate::market::Side;

/// `BUY` or `SELL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderSide {
    /// Buy the base asset.
    Buy,
    /// Sell the base asset.
    Sell,
}

impl OrderSide {
    /// Binance's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSide::Buy => "BUY",
            OrderSide::Sell => "SELL",
        }
    }

    /// The side of the book the order rests on.
    #[must_use]
    pub fn book_side(self) -> Side {
        match self {
            OrderSide::Buy => Side::Bid,
            OrderSide::Sell => Side::Ask,
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "BUY" => Some(OrderSide::Buy),
            "SELL" => Some(OrderSide::Sell),
            _ => None,
        }
    }
}

/// The order types the simulator accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    /// A limit order (`timeInForce` GTC, IOC or FOK).
    Limit,
    /// A post-only limit order: rejected if it would take liquidity.
    LimitMaker,
    /// A market order for a base quantity.
    Market,
}

impl OrderType {
    /// Binance's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "LIMIT",
            OrderType::LimitMaker => "LIMIT_MAKER",
            OrderType::Market => "MARKET",
        }
    }
}

/// How long an order stays active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TimeInForce {
    /// Good till cancelled: the rest waits on the book.
    #[serde(rename = "GTC")]
    Gtc,
    /// Immediate or cancel: the rest expires.
    #[serde(rename = "IOC")]
    Ioc,
    /// Fill or kill: all at once or nothing.
    #[serde(rename = "FOK")]
    Fok,
}

impl TimeInForce {
    /// Binance's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "GTC" => Some(TimeInForce::Gtc),
            "IOC" => Some(TimeInForce::Ioc),
            "FOK" => Some(TimeInForce::Fok),
            _ => None,
        }
    }
}

/// An order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Accepted, nothing filled.
    New,
    /// Partly filled, the rest still working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled by the account.
    Canceled,
    /// Ended by its time in force (IOC, FOK, MARKET without enough liquidity).
    Expired,
}

impl OrderStatus {
    /// Binance's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Expired => "EXPIRED",
        }
    }

    /// True while the order can still trade.
    #[must_use]
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// One order of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Order {
    pub(crate) symbol: Arc<str>,
    pub(crate) order_id: u64,
    pub(crate) client_order_id: String,
    pub(crate) side: OrderSide,
    pub(crate) kind: OrderType,
    pub(crate) tif: TimeInForce,
    /// Zero for market orders.
    pub(crate) price: Fixed,
    pub(crate) orig_qty: Fixed,
    pub(crate) executed: Fixed,
    pub(crate) cum_quote: Fixed,
    pub(crate) status: OrderStatus,
    pub(crate) time: u64,
    pub(crate) update_time: u64,
    /// True while the rest of the order waits on the book.
    pub(crate) on_book: bool,
    /// What is still locked for this order, in `reserve_asset`.
    pub(crate) reserved: Fixed,
    /// The quote asset for a buy, the base asset for a sell.
    pub(crate) reserve_asset: String,
    pub(crate) base_asset: String,
    pub(crate) quote_asset: String,
}

impl Order {
    /// The quantity not yet filled.
    pub(crate) fn remaining(&self) -> Fixed {
        Fixed(self.orig_qty.0 - self.executed.0)
    }

    pub(crate) fn snapshot(&self) -> OrderSnapshot {
        OrderSnapshot {
            symbol: self.symbol.to_string(),
            order_id: self.order_id,
            client_order_id: self.client_order_id.clone(),
            side: self.side,
            kind: self.kind,
            time_in_force: self.tif,
            price: self.price,
            orig_qty: self.orig_qty,
            executed_qty: self.executed,
            cumulative_quote_qty: self.cum_quote,
            status: self.status,
        }
    }
}

/// One fill of an account's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountTrade {
    pub(crate) symbol: Arc<str>,
    pub(crate) id: u64,
    pub(crate) order_id: u64,
    pub(crate) price: Fixed,
    pub(crate) qty: Fixed,
    pub(crate) quote_qty: Fixed,
    pub(crate) commission: Fixed,
    pub(crate) commission_asset: String,
    pub(crate) time: u64,
    pub(crate) is_buyer: bool,
    pub(crate) is_maker: bool,
}

/// An order as a test sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderSnapshot {
    /// The symbol.
    pub symbol: String,
    /// The order id.
    pub order_id: u64,
    /// The client order id.
    pub client_order_id: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// The order type.
    pub kind: OrderType,
    /// The time in force.
    pub time_in_force: TimeInForce,
    /// The limit price (zero for market orders).
    pub price: Fixed,
    /// The quantity ordered.
    pub orig_qty: Fixed,
    /// The quantity filled.
    pub executed_qty: Fixed,
    /// The quote amount filled.
    pub cumulative_quote_qty: Fixed,
    /// The status.
    pub status: OrderStatus,
}

/// A balance as a test sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Balance {
    /// Available to trade or withdraw.
    pub free: Fixed,
    /// Held by open orders.
    pub locked: Fixed,
}

/// An account as a test sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSnapshot {
    /// The API key.
    pub api_key: String,
    /// True once the key has been revoked.
    pub revoked: bool,
    /// Every asset the account has held, by name.
    pub balances: std::collections::BTreeMap<String, Balance>,
    /// Orders still working, oldest first.
    pub open_orders: Vec<OrderSnapshot>,
    /// Fills so far.
    pub trade_count: usize,
}
