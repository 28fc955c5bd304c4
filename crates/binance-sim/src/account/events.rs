//! User data events with exactly the keys and JSON types of Binance's (the `uds_*`
//! fixtures, PROTOCOL.md §8), and the bus that carries them to WebSocket API sessions.
//!
//! Each event is rendered once, as the bare event object; a session wraps it as
//! `{"subscriptionId":N,"event":…}` for each of its subscriptions to the account.

use std::sync::Arc;

use serde::Serialize;

use crate::decimal::Fixed;

/// What travels on the user data bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserEvent {
    /// An event of one account, rendered as JSON.
    Event {
        /// The account (its index in the ledger).
        account: usize,
        /// The bare event object.
        json: Arc<str>,
    },
    /// The subscriptions to this account (or to every account, for `None`) end: each
    /// session sends `eventStreamTerminated` and forgets them.
    Terminate {
        /// The account, or `None` for all.
        account: Option<usize>,
    },
}

/// `executionReport`: one per change of an order. The STP fields (`v`, `A`, `B`, …)
/// are absent, as on Binance for orders that no self-trade prevention touched.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(non_snake_case, reason = "the fields are Binance's wire names")]
pub(crate) struct ExecutionReport {
    pub(crate) e: &'static str,
    pub(crate) E: u64,
    pub(crate) s: Arc<str>,
    pub(crate) c: String,
    pub(crate) S: &'static str,
    pub(crate) o: &'static str,
    pub(crate) f: &'static str,
    pub(crate) q: Fixed,
    pub(crate) p: Fixed,
    pub(crate) P: Fixed,
    pub(crate) F: Fixed,
    pub(crate) g: i64,
    pub(crate) C: String,
    pub(crate) x: &'static str,
    pub(crate) X: &'static str,
    pub(crate) r: &'static str,
    pub(crate) i: u64,
    pub(crate) l: Fixed,
    pub(crate) z: Fixed,
    pub(crate) L: Fixed,
    pub(crate) n: String,
    pub(crate) N: Option<String>,
    pub(crate) T: u64,
    pub(crate) t: i64,
    pub(crate) I: u64,
    pub(crate) w: bool,
    pub(crate) m: bool,
    pub(crate) M: bool,
    pub(crate) O: u64,
    pub(crate) Z: Fixed,
    pub(crate) Y: Fixed,
    pub(crate) Q: Fixed,
    pub(crate) W: u64,
    pub(crate) V: &'static str,
}

/// One asset of `outboundAccountPosition`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) a: String,
    pub(crate) f: Fixed,
    pub(crate) l: Fixed,
}

/// `outboundAccountPosition`: the assets whose balance changed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(non_snake_case, reason = "the fields are Binance's wire names")]
pub(crate) struct OutboundAccountPosition {
    pub(crate) e: &'static str,
    pub(crate) E: u64,
    pub(crate) u: u64,
    pub(crate) B: Vec<Position>,
}

/// `balanceUpdate`: a deposit, withdrawal or transfer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(non_snake_case, reason = "the fields are Binance's wire names")]
pub(crate) struct BalanceUpdate {
    pub(crate) e: &'static str,
    pub(crate) E: u64,
    pub(crate) a: String,
    pub(crate) d: Fixed,
    pub(crate) T: u64,
}

/// `eventStreamTerminated`: the subscription has ended.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(non_snake_case, reason = "the fields are Binance's wire names")]
pub(crate) struct EventStreamTerminated {
    pub(crate) e: &'static str,
    pub(crate) E: u64,
}

/// The frame of an event for subscription `id`.
pub(crate) fn wrap(subscription_id: u64, event_json: &str) -> String {
    format!(r#"{{"subscriptionId":{subscription_id},"event":{event_json}}}"#)
}

/// The `eventStreamTerminated` frame for subscription `id` at `now`.
pub(crate) fn terminated(subscription_id: u64, now: u64) -> String {
    let event = EventStreamTerminated {
        e: "eventStreamTerminated",
        E: now,
    };
    // A two-field struct always serialises.
    let json = serde_json::to_string(&event)
        .unwrap_or_else(|_| r#"{"e":"eventStreamTerminated"}"#.to_owned());
    wrap(subscription_id, &json)
}
