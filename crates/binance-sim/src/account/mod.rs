//! Simulated accounts: API keys and their signatures, balances, orders that trade on
//! the simulated book, and the user data events they produce.
//!
//! The ledger is sans-IO: it is told the time and handed the symbol's market, and
//! it sends rendered events on the user data bus. The REST server and the WebSocket API
//! call it with the market locked first and the ledger second (always in that order),
//! so an order's public trades and its account events are produced in one step.
//!
//! Amounts are exact ([`Fixed`]): a buy locks `price × quantity` of the quote asset
//! (truncated to 8 decimals), each fill spends `fill price × fill quantity`
//! (truncated), and what an order did not spend is released when it ends; commission
//! is taken from the asset received, at the account's maker or taker rate.

pub(crate) mod auth;
mod engine;
pub(crate) mod events;
mod order;
mod spec;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use tokio::sync::broadcast;

pub(crate) use self::engine::{NewOrder, OrderQuery, RespType};
pub(crate) use self::events::UserEvent;
pub use self::order::{
    AccountSnapshot, Balance, OrderSide, OrderSnapshot, OrderStatus, OrderType, TimeInForce,
};
pub(crate) use self::order::{AccountTrade, Order};
pub use self::spec::{AccountSpec, Commission, KeyMaterial, MAX_API_KEY_LEN, Permission};
pub use auth::hmac_sha256_hex;

use self::auth::Verifier;
use self::events::{BalanceUpdate, OutboundAccountPosition, Position};
use crate::decimal::Fixed;
use crate::error::SimError;
use crate::payload::{TimeUnit, to_json};
use crate::rest::params::ApiError;

/// The first order id handed out (Binance's ids are large too).
const FIRST_ORDER_ID: u64 = 5_000_000_000;
/// The first execution id (`I` in `executionReport`).
const FIRST_EXECUTION_ID: u64 = 9_000_000_000;

/// One account's state.
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) api_key: String,
    pub(crate) verifier: Verifier,
    pub(crate) permissions: Vec<Permission>,
    pub(crate) commission: Commission,
    pub(crate) revoked: bool,
    pub(crate) uid: u64,
    pub(crate) balances: BTreeMap<String, Balance>,
    /// Every order, open or not, by order id.
    pub(crate) orders: BTreeMap<u64, Order>,
    /// Every fill, oldest first.
    pub(crate) trades: Vec<AccountTrade>,
    pub(crate) update_time: u64,
}

impl Account {
    fn new(spec: &AccountSpec, uid: u64, now: u64) -> Result<Self, SimError> {
        let problems = spec.problems();
        if !problems.is_empty() {
            return Err(SimError::Config(problems));
        }
        let verifier = Verifier::new(&spec.key).map_err(|e| SimError::Config(vec![e]))?;
        let mut balances = BTreeMap::new();
        for (asset, amount) in &spec.balances {
            let balance: &mut Balance = balances.entry(asset.clone()).or_default();
            balance.free = Fixed(balance.free.0 + amount.0);
        }
        Ok(Account {
            api_key: spec.api_key.clone(),
            verifier,
            permissions: spec.permissions.clone(),
            commission: spec.commission,
            revoked: false,
            uid,
            balances,
            orders: BTreeMap::new(),
            trades: Vec::new(),
            update_time: now,
        })
    }

    /// True when the key may do `what`.
    pub(crate) fn may(&self, what: Permission) -> bool {
        !self.revoked && self.permissions.contains(&what)
    }

    pub(crate) fn balance(&mut self, asset: &str) -> &mut Balance {
        self.balances.entry(asset.to_owned()).or_default()
    }

    pub(crate) fn snapshot(&self) -> AccountSnapshot {
        AccountSnapshot {
            api_key: self.api_key.clone(),
            revoked: self.revoked,
            balances: self.balances.clone(),
            open_orders: self
                .orders
                .values()
                .filter(|o| o.status.is_open())
                .map(Order::snapshot)
                .collect(),
            trade_count: self.trades.len(),
        }
    }
}

/// Every simulated account, and the id counters they share.
#[derive(Debug)]
pub(crate) struct Ledger {
    accounts: Vec<Account>,
    by_key: HashMap<String, usize>,
    /// The account of each order id (order ids are unique across symbols).
    owners: HashMap<u64, usize>,
    next_order_id: u64,
    next_execution_id: u64,
    bus: broadcast::Sender<UserEvent>,
}

impl Ledger {
    /// A ledger with the valid accounts of `specs` at `now`, sending events on `bus`.
    /// Invalid specs are logged and left out (`SimConfig::validate` refuses them first).
    pub(crate) fn new(specs: &[AccountSpec], bus: broadcast::Sender<UserEvent>, now: u64) -> Self {
        let mut ledger = Ledger {
            accounts: Vec::new(),
            by_key: HashMap::new(),
            owners: HashMap::new(),
            next_order_id: FIRST_ORDER_ID,
            next_execution_id: FIRST_EXECUTION_ID,
            bus,
        };
        for spec in specs {
            if let Err(error) = ledger.add(spec, now) {
                tracing::error!(%error, "binance-sim: account left out");
            }
        }
        ledger
    }

    /// Adds an account.
    ///
    /// # Errors
    /// [`SimError::Config`] for an invalid spec, [`SimError::InvalidControl`] when the
    /// API key is taken.
    pub(crate) fn add(&mut self, spec: &AccountSpec, now: u64) -> Result<(), SimError> {
        if self.by_key.contains_key(&spec.api_key) {
            return Err(SimError::InvalidControl(format!(
                "an account with API key {:?} already exists",
                spec.api_key
            )));
        }
        let index = self.accounts.len();
        let uid = 100_000_000 + u64::try_from(index).unwrap_or(0);
        self.accounts.push(Account::new(spec, uid, now)?);
        self.by_key.insert(spec.api_key.clone(), index);
        Ok(())
    }

    /// The index of the account with `api_key` (revoked or not).
    pub(crate) fn find(&self, api_key: &str) -> Option<usize> {
        self.by_key.get(api_key).copied()
    }

    pub(crate) fn account(&self, index: usize) -> Option<&Account> {
        self.accounts.get(index)
    }

    /// The account of an API key for a signed request: -2014 for a malformed key,
    /// -2015 for an unknown or revoked one.
    pub(crate) fn authenticate(&self, api_key: Option<&str>) -> Result<usize, ApiError> {
        let key = api_key
            .filter(|k| spec::is_api_key(k))
            .ok_or_else(auth::bad_key_format)?;
        self.find(key)
            .filter(|&i| self.accounts.get(i).is_some_and(|a| !a.revoked))
            .ok_or_else(auth::rejected_key)
    }

    /// Revokes a key: later requests get -2015 and its subscriptions end.
    pub(crate) fn revoke(&mut self, api_key: &str) -> Result<(), SimError> {
        let index = self.find(api_key).ok_or_else(|| {
            SimError::InvalidControl(format!("no account has API key {api_key:?}"))
        })?;
        if let Some(account) = self.accounts.get_mut(index) {
            account.revoked = true;
        }
        let _ = self.bus.send(UserEvent::Terminate {
            account: Some(index),
        });
        Ok(())
    }

    /// Ends every user data subscription of every session.
    pub(crate) fn terminate_all(&self) -> usize {
        self.bus
            .send(UserEvent::Terminate { account: None })
            .unwrap_or(0)
    }

    /// A snapshot of the account with `api_key`.
    pub(crate) fn snapshot(&self, api_key: &str) -> Option<AccountSnapshot> {
        self.find(api_key)
            .and_then(|i| self.accounts.get(i))
            .map(Account::snapshot)
    }

    /// Credits (or, negative, debits) `amount` of `asset`: a `balanceUpdate` and an
    /// `outboundAccountPosition` follow.
    pub(crate) fn deposit(
        &mut self,
        api_key: &str,
        asset: &str,
        amount: Fixed,
        now: u64,
    ) -> Result<Balance, SimError> {
        if asset.is_empty() || !asset.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(SimError::InvalidControl(format!(
                "asset {asset:?} must be ASCII letters or digits"
            )));
        }
        let index = self.find(api_key).ok_or_else(|| {
            SimError::InvalidControl(format!("no account has API key {api_key:?}"))
        })?;
        let account = self
            .accounts
            .get_mut(index)
            .ok_or_else(|| SimError::InvalidControl("no such account".to_owned()))?;
        let balance = account.balance(asset);
        let free = balance.free.0.checked_add(amount.0).filter(|f| *f >= 0);
        let Some(free) = free else {
            return Err(SimError::InvalidControl(format!(
                "{asset}: {amount} would take the free balance {} below zero",
                balance.free
            )));
        };
        balance.free = Fixed(free);
        let after = *balance;
        account.update_time = now;
        self.emit(
            index,
            &BalanceUpdate {
                e: "balanceUpdate",
                E: now,
                a: asset.to_owned(),
                d: amount,
                T: now,
            },
        );
        self.emit_positions(index, &BTreeSet::from([asset.to_owned()]), now);
        Ok(after)
    }

    /// Renders `event` and sends it for `account`.
    pub(crate) fn emit<T: serde::Serialize>(&self, account: usize, event: &T) {
        match to_json(event, TimeUnit::Millisecond) {
            Ok(json) => {
                // No receivers is fine: nobody listens to user data.
                let _ = self.bus.send(UserEvent::Event {
                    account,
                    json: Arc::from(json),
                });
            }
            Err(error) => tracing::error!(%error, "cannot render a user data event"),
        }
    }

    /// `outboundAccountPosition` for the `assets` of `account` that changed.
    pub(crate) fn emit_positions(&self, account: usize, assets: &BTreeSet<String>, now: u64) {
        let Some(acc) = self.accounts.get(account) else {
            return;
        };
        if assets.is_empty() {
            return;
        }
        let positions = assets
            .iter()
            .map(|asset| {
                let b = acc.balances.get(asset).copied().unwrap_or_default();
                Position {
                    a: asset.clone(),
                    f: b.free,
                    l: b.locked,
                }
            })
            .collect();
        self.emit(
            account,
            &OutboundAccountPosition {
                e: "outboundAccountPosition",
                E: now,
                u: acc.update_time,
                B: positions,
            },
        );
    }
}
