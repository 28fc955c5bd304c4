//! Typed user data events (PROTOCOL.md §8, fixtures `uds_*`) and the snapshots a
//! reconcile produces.
//!
//! Amounts are exact [`Decimal`]s with the digits Binance sent; serializing an
//! event gives Binance's JSON back (the same keys, decimals as the same strings),
//! so the JSON-lines output of the CLI is the wire format plus nothing invented.
//! Fields Binance sends only for some orders (trailing, strategy, STP, SOR,
//! pegged, expiry reason) are kept verbatim in [`ExecutionReport::extra`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Exact decimals as Binance's strings, in and out.
mod exact {
    use rust_decimal::Decimal;
    use serde::{Deserialize as _, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        crate::domain::decimal::parse_decimal(&text).map_err(de::Error::custom)
    }
}

/// `executionReport`: one per change of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionReport {
    /// `E`: event time (ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `s`: symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `c`: client order id.
    #[serde(rename = "c")]
    pub client_order_id: String,
    /// `S`: side, `BUY` or `SELL`.
    #[serde(rename = "S")]
    pub side: String,
    /// `o`: order type (`LIMIT`, `MARKET`, …).
    #[serde(rename = "o")]
    pub order_type: String,
    /// `f`: time in force.
    #[serde(rename = "f")]
    pub time_in_force: String,
    /// `q`: order quantity.
    #[serde(rename = "q", with = "exact")]
    pub quantity: Decimal,
    /// `p`: order price.
    #[serde(rename = "p", with = "exact")]
    pub price: Decimal,
    /// `P`: stop price.
    #[serde(rename = "P", with = "exact")]
    pub stop_price: Decimal,
    /// `F`: iceberg quantity.
    #[serde(rename = "F", with = "exact")]
    pub iceberg_quantity: Decimal,
    /// `g`: order list id, -1 if none.
    #[serde(rename = "g")]
    pub order_list_id: i64,
    /// `C`: original client order id (set on cancel).
    #[serde(rename = "C")]
    pub orig_client_order_id: String,
    /// `x`: execution type (`NEW`, `CANCELED`, `REPLACED`, `REJECTED`, `TRADE`,
    /// `EXPIRED`, `TRADE_PREVENTION`).
    #[serde(rename = "x")]
    pub execution_type: String,
    /// `X`: order status.
    #[serde(rename = "X")]
    pub order_status: String,
    /// `r`: reject reason (`NONE` …).
    #[serde(rename = "r")]
    pub reject_reason: String,
    /// `i`: order id.
    #[serde(rename = "i")]
    pub order_id: u64,
    /// `l`: last executed quantity.
    #[serde(rename = "l", with = "exact")]
    pub last_quantity: Decimal,
    /// `z`: cumulative filled quantity.
    #[serde(rename = "z", with = "exact")]
    pub cumulative_quantity: Decimal,
    /// `L`: last executed price.
    #[serde(rename = "L", with = "exact")]
    pub last_price: Decimal,
    /// `n`: commission of this fill.
    #[serde(rename = "n", with = "exact")]
    pub commission: Decimal,
    /// `N`: commission asset (null when there is no fill).
    #[serde(rename = "N")]
    pub commission_asset: Option<String>,
    /// `T`: transaction time.
    #[serde(rename = "T")]
    pub transaction_time: u64,
    /// `t`: trade id, -1 when this report is not a fill.
    #[serde(rename = "t")]
    pub trade_id: i64,
    /// `I`: execution id.
    #[serde(rename = "I")]
    pub execution_id: u64,
    /// `w`: the order is on the book.
    #[serde(rename = "w")]
    pub on_book: bool,
    /// `m`: this fill was the maker side.
    #[serde(rename = "m")]
    pub maker: bool,
    /// `M`: ignore.
    #[serde(rename = "M")]
    pub ignore: bool,
    /// `O`: order creation time.
    #[serde(rename = "O")]
    pub creation_time: u64,
    /// `Z`: cumulative quote quantity.
    #[serde(rename = "Z", with = "exact")]
    pub cumulative_quote_quantity: Decimal,
    /// `Y`: last quote quantity.
    #[serde(rename = "Y", with = "exact")]
    pub last_quote_quantity: Decimal,
    /// `Q`: quote order quantity.
    #[serde(rename = "Q", with = "exact")]
    pub quote_order_quantity: Decimal,
    /// `W`: working time.
    #[serde(rename = "W")]
    pub working_time: u64,
    /// `V`: self-trade prevention mode.
    #[serde(rename = "V")]
    pub stp_mode: String,
    /// The conditional fields (`v`, `d`, `D`, `j`, `J`, `A`, `B`, `u`, `U`, `Cs`,
    /// `pl`, `pL`, `pY`, `b`, `a`, `k`, `uS`, `gP`, `gOT`, `gOV`, `gp`, `eR` …), verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ExecutionReport {
    /// The fill this report announces, when it is one (`x` = `TRADE` with a trade id).
    #[must_use]
    pub fn fill(&self) -> Option<Fill> {
        if self.execution_type != "TRADE" {
            return None;
        }
        let trade_id = u64::try_from(self.trade_id).ok()?;
        Some(Fill {
            symbol: self.symbol.clone(),
            trade_id,
            order_id: self.order_id,
            price: self.last_price,
            quantity: self.last_quantity,
            quote_quantity: self.last_quote_quantity,
            commission: self.commission,
            commission_asset: self.commission_asset.clone(),
            time: self.transaction_time,
            is_buyer: self.side == "BUY",
            is_maker: self.maker,
        })
    }
}

/// One asset of [`AccountPosition`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionBalance {
    /// `a`: asset.
    #[serde(rename = "a")]
    pub asset: String,
    /// `f`: free.
    #[serde(rename = "f", with = "exact")]
    pub free: Decimal,
    /// `l`: locked.
    #[serde(rename = "l", with = "exact")]
    pub locked: Decimal,
}

/// `outboundAccountPosition`: the assets whose balance changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPosition {
    /// `E`: event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `u`: time of the last account update.
    #[serde(rename = "u")]
    pub update_time: u64,
    /// `B`: the changed balances.
    #[serde(rename = "B")]
    pub balances: Vec<PositionBalance>,
}

/// `balanceUpdate`: a deposit, withdrawal or transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceUpdate {
    /// `E`: event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `a`: asset.
    #[serde(rename = "a")]
    pub asset: String,
    /// `d`: balance delta.
    #[serde(rename = "d", with = "exact")]
    pub delta: Decimal,
    /// `T`: clear time.
    #[serde(rename = "T")]
    pub clear_time: u64,
}

/// One order of a [`ListStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOrder {
    /// `s`: symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `i`: order id.
    #[serde(rename = "i")]
    pub order_id: u64,
    /// `c`: client order id.
    #[serde(rename = "c")]
    pub client_order_id: String,
}

/// `listStatus`: an order list (OCO, OTO …) changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListStatus {
    /// `E`: event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `s`: symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `g`: order list id.
    #[serde(rename = "g")]
    pub order_list_id: i64,
    /// `c`: contingency type.
    #[serde(rename = "c")]
    pub contingency_type: String,
    /// `l`: list status type.
    #[serde(rename = "l")]
    pub list_status_type: String,
    /// `L`: list order status.
    #[serde(rename = "L")]
    pub list_order_status: String,
    /// `r`: reject reason.
    #[serde(rename = "r")]
    pub reject_reason: String,
    /// `C`: list client order id.
    #[serde(rename = "C")]
    pub list_client_order_id: String,
    /// `T`: transaction time.
    #[serde(rename = "T")]
    pub transaction_time: u64,
    /// `O`: the orders.
    #[serde(rename = "O")]
    pub orders: Vec<ListOrder>,
}

/// `externalLockUpdate`: part of a balance locked or released by another product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalLockUpdate {
    /// `E`: event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `a`: asset.
    #[serde(rename = "a")]
    pub asset: String,
    /// `d`: locked delta.
    #[serde(rename = "d", with = "exact")]
    pub delta: Decimal,
    /// `T`: transaction time.
    #[serde(rename = "T")]
    pub transaction_time: u64,
}

/// `eventStreamTerminated`: the subscription ended (unsubscribe, revoked key …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamTerminated {
    /// `E`: event time.
    #[serde(rename = "E")]
    pub event_time: u64,
}

/// A fill found by a reconcile: one row of `GET /api/v3/myTrades`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountTrade {
    /// Symbol.
    pub symbol: String,
    /// Trade id (the public trade's id).
    pub id: u64,
    /// Order id.
    pub order_id: u64,
    /// Price.
    #[serde(with = "exact")]
    pub price: Decimal,
    /// Quantity.
    #[serde(with = "exact")]
    pub qty: Decimal,
    /// Quote quantity.
    #[serde(with = "exact")]
    pub quote_qty: Decimal,
    /// Commission.
    #[serde(with = "exact")]
    pub commission: Decimal,
    /// Commission asset.
    pub commission_asset: String,
    /// Trade time (ms).
    pub time: u64,
    /// The account bought.
    pub is_buyer: bool,
    /// The account's order was the maker.
    pub is_maker: bool,
    /// Any other field, verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl AccountTrade {
    /// The fill.
    #[must_use]
    pub fn fill(&self) -> Fill {
        Fill {
            symbol: self.symbol.clone(),
            trade_id: self.id,
            order_id: self.order_id,
            price: self.price,
            quantity: self.qty,
            quote_quantity: self.quote_qty,
            commission: self.commission,
            commission_asset: Some(self.commission_asset.clone()),
            time: self.time,
            is_buyer: self.is_buyer,
            is_maker: self.is_maker,
        }
    }
}

/// One balance of [`AccountSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetBalance {
    /// Asset.
    pub asset: String,
    /// Free.
    #[serde(with = "exact")]
    pub free: Decimal,
    /// Locked.
    #[serde(with = "exact")]
    pub locked: Decimal,
}

/// Every balance of the account, from `GET /api/v3/account` during a reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSnapshot {
    /// The account's last update time (ms).
    pub update_time: u64,
    /// Balances.
    pub balances: Vec<AssetBalance>,
}

/// One open order, from `GET /api/v3/openOrders` during a reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenOrder {
    /// Symbol.
    pub symbol: String,
    /// Order id.
    pub order_id: u64,
    /// Client order id.
    pub client_order_id: String,
    /// Price.
    #[serde(with = "exact")]
    pub price: Decimal,
    /// Original quantity.
    #[serde(with = "exact")]
    pub orig_qty: Decimal,
    /// Executed quantity.
    #[serde(with = "exact")]
    pub executed_qty: Decimal,
    /// Status (`NEW`, `PARTIALLY_FILLED`).
    pub status: String,
    /// Side.
    pub side: String,
    /// Any other field, verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Every open order, from a reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOrders {
    /// The orders.
    pub orders: Vec<OpenOrder>,
}

/// A user data event: what Binance sent, or what a reconcile found.
///
/// Serialized, the Binance events are their wire JSON (with `e`); the reconcile
/// kinds use `e` = `reconciledTrade`, `accountSnapshot` and `openOrders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "e")]
#[non_exhaustive]
pub enum UserEvent {
    /// `executionReport`
    #[serde(rename = "executionReport")]
    ExecutionReport(Box<ExecutionReport>),
    /// `outboundAccountPosition`
    #[serde(rename = "outboundAccountPosition")]
    AccountPosition(AccountPosition),
    /// `balanceUpdate`
    #[serde(rename = "balanceUpdate")]
    BalanceUpdate(BalanceUpdate),
    /// `listStatus`
    #[serde(rename = "listStatus")]
    ListStatus(ListStatus),
    /// `externalLockUpdate`
    #[serde(rename = "externalLockUpdate")]
    ExternalLockUpdate(ExternalLockUpdate),
    /// `eventStreamTerminated`
    #[serde(rename = "eventStreamTerminated")]
    StreamTerminated(StreamTerminated),
    /// A fill missed while disconnected (reconcile only).
    #[serde(rename = "reconciledTrade")]
    Trade(AccountTrade),
    /// Every balance (reconcile only).
    #[serde(rename = "accountSnapshot")]
    Account(AccountSnapshot),
    /// Every open order (reconcile only).
    #[serde(rename = "openOrders")]
    OpenOrders(OpenOrders),
}

impl UserEvent {
    /// The fill this event carries: a `TRADE` execution report or a reconciled trade.
    #[must_use]
    pub fn fill(&self) -> Option<Fill> {
        match self {
            UserEvent::ExecutionReport(report) => report.fill(),
            UserEvent::Trade(trade) => Some(trade.fill()),
            _ => None,
        }
    }

    /// The event's name as in `e`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            UserEvent::ExecutionReport(_) => "executionReport",
            UserEvent::AccountPosition(_) => "outboundAccountPosition",
            UserEvent::BalanceUpdate(_) => "balanceUpdate",
            UserEvent::ListStatus(_) => "listStatus",
            UserEvent::ExternalLockUpdate(_) => "externalLockUpdate",
            UserEvent::StreamTerminated(_) => "eventStreamTerminated",
            UserEvent::Trade(_) => "reconciledTrade",
            UserEvent::Account(_) => "accountSnapshot",
            UserEvent::OpenOrders(_) => "openOrders",
        }
    }
}

/// One fill of the account, whichever way it arrived. `(symbol, trade_id)`
/// identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// Symbol.
    pub symbol: String,
    /// Trade id.
    pub trade_id: u64,
    /// Order id.
    pub order_id: u64,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub quantity: Decimal,
    /// Quote quantity.
    pub quote_quantity: Decimal,
    /// Commission.
    pub commission: Decimal,
    /// Commission asset.
    pub commission_asset: Option<String>,
    /// Trade time (ms).
    pub time: u64,
    /// The account bought.
    pub is_buyer: bool,
    /// The account was the maker.
    pub is_maker: bool,
}

/// A frame of the WebSocket API connection, decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame {
    /// `{"subscriptionId":N,"event":{…}}` with a known event.
    Event {
        subscription_id: Option<u64>,
        event: UserEvent,
    },
    /// An event of a type this client does not know (counted, skipped).
    Unknown { event_type: String },
    /// `{"event":{"e":"serverShutdown",…}}`: the server will restart.
    ServerShutdown,
    /// An answer to a request.
    Response(Response),
}

/// An answer of the WebSocket API.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    pub(crate) id: Option<String>,
    pub(crate) status: u16,
    pub(crate) result: Option<serde_json::Value>,
    pub(crate) error: Option<ApiError>,
}

/// Binance's `{"code","msg"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ApiError {
    pub(crate) code: i64,
    pub(crate) msg: String,
    #[serde(default)]
    pub(crate) data: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "subscriptionId")]
    subscription_id: Option<u64>,
    #[serde(borrow)]
    event: Option<&'a RawValue>,
    id: Option<serde_json::Value>,
    status: Option<u16>,
    result: Option<serde_json::Value>,
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(borrow)]
    e: std::borrow::Cow<'a, str>,
}

/// Decodes one text frame of the WebSocket API connection.
///
/// # Errors
/// A message naming what is wrong with a frame that is neither an answer nor an
/// event, or an event of a known type whose fields are malformed.
pub(crate) fn decode_frame(text: &str) -> Result<Frame, String> {
    let envelope: Envelope<'_> =
        serde_json::from_str(text).map_err(|e| format!("not a WebSocket API frame: {e}"))?;
    if let Some(raw) = envelope.event {
        let kind: Kind<'_> = serde_json::from_str(raw.get())
            .map_err(|e| format!("an event without a type \"e\": {e}"))?;
        if kind.e == "serverShutdown" {
            return Ok(Frame::ServerShutdown);
        }
        return match decode_event(&kind.e, raw.get())? {
            Some(event) => Ok(Frame::Event {
                subscription_id: envelope.subscription_id,
                event,
            }),
            None => Ok(Frame::Unknown {
                event_type: kind.e.chars().take(64).collect(),
            }),
        };
    }
    let Some(status) = envelope.status else {
        return Err("a frame with neither \"event\" nor \"status\"".to_owned());
    };
    let id = match envelope.id {
        Some(serde_json::Value::String(id)) => Some(id),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(Frame::Response(Response {
        id,
        status,
        result: envelope.result,
        error: envelope.error,
    }))
}

/// Decodes a bare event of type `kind`; `None` for a type this client does not know.
///
/// # Errors
/// A message naming the event type and the problem.
pub fn decode_event(kind: &str, json: &str) -> Result<Option<UserEvent>, String> {
    fn parse<'a, T: Deserialize<'a>>(kind: &str, json: &'a str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| format!("a malformed {kind} event: {e}"))
    }
    let event = match kind {
        "executionReport" => {
            let mut report: ExecutionReport = parse(kind, json)?;
            report.extra.remove("e");
            UserEvent::ExecutionReport(Box::new(report))
        }
        "outboundAccountPosition" => UserEvent::AccountPosition(parse(kind, json)?),
        "balanceUpdate" => UserEvent::BalanceUpdate(parse(kind, json)?),
        "listStatus" => UserEvent::ListStatus(parse(kind, json)?),
        "externalLockUpdate" => UserEvent::ExternalLockUpdate(parse(kind, json)?),
        "eventStreamTerminated" => UserEvent::StreamTerminated(parse(kind, json)?),
        _ => return Ok(None),
    };
    Ok(Some(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official examples, as copied into the simulator's test fixtures.
    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/../binance-sim/tests/fixtures/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn every_uds_fixture_round_trips() {
        for name in [
            "uds_executionReport",
            "uds_outboundAccountPosition",
            "uds_balanceUpdate",
            "uds_listStatus",
            "uds_externalLockUpdate",
            "uds_eventStreamTerminated",
        ] {
            let text = fixture(name);
            let Ok(Frame::Event {
                subscription_id,
                event,
            }) = decode_frame(&text)
            else {
                panic!("{name} did not decode: {:?}", decode_frame(&text));
            };
            assert_eq!(subscription_id, Some(0), "{name}");
            let original: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
            let back = serde_json::to_value(&event).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, original["event"], "{name} round trip");
            assert_eq!(Some(event.name()), original["event"]["e"].as_str());
        }
    }

    #[test]
    fn decimals_are_exact_and_fills_are_recognised() {
        let Ok(Frame::Event { event, .. }) = decode_frame(&fixture("uds_executionReport")) else {
            panic!("decode");
        };
        let UserEvent::ExecutionReport(report) = &event else {
            panic!("{event:?}");
        };
        assert_eq!(report.price.to_string(), "0.10264410");
        assert_eq!(report.commission_asset, None);
        assert_eq!(report.extra.get("v"), Some(&serde_json::json!(3)));
        assert_eq!(event.fill(), None, "a NEW report is not a fill");
        let trade = fixture("uds_executionReport")
            .replace("\"x\": \"NEW\"", "\"x\": \"TRADE\"")
            .replace("\"t\": -1", "\"t\": 77");
        let Ok(Frame::Event { event, .. }) = decode_frame(&trade) else {
            panic!("decode");
        };
        let fill = event.fill().unwrap_or_else(|| panic!("a fill"));
        assert_eq!((fill.symbol.as_str(), fill.trade_id), ("ETHBTC", 77));
    }

    #[test]
    fn bad_and_unknown_frames_never_panic() {
        assert_eq!(
            decode_frame(r#"{"subscriptionId":0,"event":{"e":"somethingNew","E":1}}"#),
            Ok(Frame::Unknown {
                event_type: "somethingNew".into()
            })
        );
        assert_eq!(
            decode_frame(r#"{"event":{"e":"serverShutdown","E":1}}"#),
            Ok(Frame::ServerShutdown)
        );
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"event":{"E":1}}"#,
            r#"{"subscriptionId":0,"event":{"e":"balanceUpdate","E":1,"a":"BTC","d":"1e5","T":1}}"#,
            r#"{"subscriptionId":0,"event":{"e":"balanceUpdate","E":1,"a":"BTC","d":1.5,"T":1}}"#,
        ] {
            assert!(decode_frame(bad).is_err(), "{bad}");
        }
        let Ok(Frame::Response(answer)) = decode_frame(
            r#"{"id":"a","status":400,"error":{"code":-1022,"msg":"Signature for this request is not valid."}}"#,
        ) else {
            panic!("a response");
        };
        assert_eq!(answer.error.map(|e| e.code), Some(-1022));
    }
}
