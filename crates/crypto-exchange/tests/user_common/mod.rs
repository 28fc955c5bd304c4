//! Helpers of the user data tests: a simulator with accounts, signed orders placed
//! the way a trading application would (signed with the facade's own
//! `Credentials`, verified independently by the simulator), and a reader that
//! folds a `UserManager`'s updates into fills, balances and statuses with every
//! wait bounded.

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use binance_sim::decimal::Fixed;
use binance_sim::{AccountSpec, ConnectionRules, KeyMaterial, Sim, SimConfig, SimHandle};
use crypto_exchange::domain::Decimal;
use crypto_exchange::rest::RestConfig;
use crypto_exchange::user::{
    ApiKey, Credentials, EventSource, Secret, UserEvent, UserManager, UserManagerConfig,
    UserStatus, UserUpdate, UserUpdates,
};
use ed25519_dalek::SigningKey;
use reconnect::ReconnectConfig;
use tokio::time::{Instant, timeout};

/// The longest any single wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

pub(crate) const HMAC_KEY: &str = "hmacUserKey0001";
pub(crate) const HMAC_SECRET: &str = "s3cr3t-HMAC-value-that-must-never-print-7f3a9c";
pub(crate) const ED_KEY: &str = "edUserKey0002";

/// The Ed25519 account's signing key (seed 0x42 …).
pub(crate) fn ed_signing_key() -> SigningKey {
    SigningKey::from_bytes(&[0x42; 32])
}

pub(crate) fn hmac_credentials() -> Credentials {
    Credentials::hmac(
        ApiKey::new(HMAC_KEY).unwrap_or_else(|e| panic!("{e}")),
        &Secret::new(HMAC_SECRET),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn ed_credentials() -> Credentials {
    Credentials::ed25519(
        ApiKey::new(ED_KEY).unwrap_or_else(|e| panic!("{e}")),
        ed_signing_key(),
    )
}

/// A simulator with an HMAC and an Ed25519 account (100 000 USDT, 10 BTC each),
/// its BTCUSDT market frozen so orders meet a book that stays put.
pub(crate) async fn sim() -> Result<SimHandle> {
    let balances = [
        ("USDT", Fixed(100_000 * 100_000_000)),
        ("BTC", Fixed(10 * 100_000_000)),
    ];
    let config = SimConfig {
        admin_listen: None,
        warmup_actions: 4_000,
        accounts: vec![
            AccountSpec::new(HMAC_KEY, KeyMaterial::hmac(HMAC_SECRET), &balances),
            AccountSpec::new(
                ED_KEY,
                KeyMaterial::Ed25519 {
                    public_key: ed_signing_key().verifying_key().to_bytes(),
                },
                &balances,
            ),
        ],
        rules: ConnectionRules {
            max_incoming_frames: 1_000,
            ..ConnectionRules::default()
        },
        ..SimConfig::default()
    };
    let sim = Sim::start(config).await?;
    sim.set_symbol_rate("BTCUSDT", 0.0)?;
    Ok(sim)
}

/// A manager on the simulator, with a quick reconnect schedule.
pub(crate) fn manager(sim: &SimHandle) -> Result<(UserManager, UserUpdates)> {
    Ok(UserManager::new(manager_config(sim))?)
}

/// The settings of [`manager`].
pub(crate) fn manager_config(sim: &SimHandle) -> UserManagerConfig {
    UserManagerConfig {
        ws_api_url: sim.ws_api_url(),
        rest: RestConfig {
            base_url: sim.rest_url(),
            ..RestConfig::default()
        },
        reconnect: ReconnectConfig {
            initial_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(1),
            ..ReconnectConfig::default()
        },
        ..UserManagerConfig::default()
    }
}

/// Places a market order signed with `credentials`; returns the trade ids of its fills.
pub(crate) async fn market_order(
    sim: &SimHandle,
    credentials: &Credentials,
    api_key: &str,
    side: &str,
    quantity: &str,
) -> Result<Vec<u64>> {
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let payload = format!(
        "symbol=BTCUSDT&side={side}&type=MARKET&quantity={quantity}&newOrderRespType=FULL&timestamp={now}"
    );
    let signature = credentials
        .sign(&payload)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let url = format!(
        "{}/api/v3/order?{payload}&signature={signature}",
        sim.rest_url()
    );
    let response = timeout(
        WAIT,
        reqwest::Client::new()
            .post(url)
            .header("X-MBX-APIKEY", api_key)
            .send(),
    )
    .await
    .context("order timed out")??;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    if !status.is_success() {
        bail!("order refused: {status} {body}");
    }
    Ok(body["fills"]
        .as_array()
        .map(|fills| fills.iter().filter_map(|f| f["tradeId"].as_u64()).collect())
        .unwrap_or_default())
}

/// What a reader saw, per user.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Every fill delivered: (symbol, trade id) → how many times, and the sources.
    pub(crate) fills: HashMap<(String, u64), Vec<EventSource>>,
    /// Balances as the events say: asset → (free, locked).
    pub(crate) balances: BTreeMap<String, (Decimal, Decimal)>,
    /// Every status, in order.
    pub(crate) statuses: Vec<UserStatus>,
    /// Every event, in order.
    pub(crate) events: Vec<(EventSource, UserEvent)>,
}

impl Seen {
    fn apply(&mut self, source: EventSource, event: UserEvent) {
        if let Some(fill) = event.fill() {
            self.fills
                .entry((fill.symbol, fill.trade_id))
                .or_default()
                .push(source);
        }
        match &event {
            UserEvent::Account(snapshot) => {
                self.balances = snapshot
                    .balances
                    .iter()
                    .map(|b| (b.asset.clone(), (b.free, b.locked)))
                    .collect();
            }
            UserEvent::AccountPosition(position) => {
                for b in &position.balances {
                    self.balances.insert(b.asset.clone(), (b.free, b.locked));
                }
            }
            _ => {}
        }
        self.events.push((source, event));
    }

    pub(crate) fn count(&self, wanted: impl Fn(&UserStatus) -> bool) -> usize {
        self.statuses.iter().filter(|s| wanted(s)).count()
    }
}

/// Folds a manager's updates per user.
pub(crate) struct Reader {
    pub(crate) updates: UserUpdates,
    pub(crate) users: HashMap<Arc<str>, Seen>,
}

impl Reader {
    pub(crate) fn new(updates: UserUpdates) -> Self {
        Reader {
            updates,
            users: HashMap::new(),
        }
    }

    pub(crate) fn user(&self, name: &str) -> &Seen {
        static EMPTY: std::sync::OnceLock<Seen> = std::sync::OnceLock::new();
        self.users
            .get(name)
            .unwrap_or_else(|| EMPTY.get_or_init(Seen::default))
    }

    /// Reads updates until `done` holds (checked after each), failing after `WAIT`.
    pub(crate) async fn until(&mut self, what: &str, done: impl Fn(&Self) -> bool) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        while !done(self) {
            let update = tokio::time::timeout_at(deadline, self.updates.next())
                .await
                .with_context(|| format!("timed out waiting for {what}: {:#?}", self.summary()))?
                .context("the manager's updates ended")?;
            match update {
                UserUpdate::Event {
                    user,
                    source,
                    event,
                } => self.users.entry(user).or_default().apply(source, event),
                UserUpdate::Status { user, status } => {
                    self.users.entry(user).or_default().statuses.push(status);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn summary(&self) -> Vec<(String, usize, Vec<String>)> {
        self.users
            .iter()
            .map(|(name, seen)| {
                let last: Vec<String> = seen
                    .statuses
                    .iter()
                    .rev()
                    .take(6)
                    .map(|s| format!("{s:?}"))
                    .collect();
                (name.to_string(), seen.fills.len(), last)
            })
            .collect()
    }
}

/// The simulator's balances of `api_key`, as decimals.
pub(crate) fn sim_balances(sim: &SimHandle, api_key: &str) -> BTreeMap<String, (Decimal, Decimal)> {
    let Some(account) = sim.account(api_key) else {
        return BTreeMap::new();
    };
    account
        .balances
        .iter()
        .map(|(asset, b)| {
            let parse = |f: Fixed| Decimal::from_str(&f.to_string()).unwrap_or_default();
            (asset.clone(), (parse(b.free), parse(b.locked)))
        })
        .collect()
}

/// Balances compared by value (`1.50` equals `1.5000`).
pub(crate) fn normalized(
    balances: &BTreeMap<String, (Decimal, Decimal)>,
) -> BTreeMap<String, (Decimal, Decimal)> {
    balances
        .iter()
        .map(|(a, (f, l))| (a.clone(), (f.normalize(), l.normalize())))
        .collect()
}
