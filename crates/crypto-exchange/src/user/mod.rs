//! A user's own account events: signed user data streams over Binance's
//! WebSocket API, one supervised connection per user, reconciled over signed
//! REST after every reconnect so each fill is seen exactly once.
//!
//! - [`Credentials`] hold an [`ApiKey`] and an HMAC [`Secret`] or an Ed25519
//!   private key; none of them ever prints, and they are zeroed when dropped.
//! - [`UserManager`] adds and removes users at run time. Each user's task
//!   connects to `/ws-api/v3`, sends `userDataStream.subscribe.signature`,
//!   delivers events ([`UserEvent`]), and on any failure reconnects on the
//!   `reconnect` schedule (sharing one attempt budget and the endpoint's circuit
//!   breaker with the other users). Authentication errors (invalid key,
//!   signature, permissions, revoked) and a clock outside `recvWindow` are
//!   permanent: that user stops with [`UserStatus::Stopped`] and the error;
//!   nobody else is touched. The tasks run under the `recovery` supervisor; the
//!   fill ledger survives a restart.
//! - After every subscription (the first, each reconnect, and after an
//!   `eventStreamTerminated`) the task reconciles: balances, open orders and the
//!   trades since the last one it knows, delivered with
//!   [`EventSource::Reconcile`]; fills are deduplicated by `(symbol, trade id)`.
//!
//! What it does not do: place or cancel orders, `session.logon`, listenKey
//! streams (switched off by Binance on 2026-02-20), or order-status history for
//! orders that ended while disconnected (the open-order snapshot and the
//! reconciled fills say what changed). See `docs/user-data.md`.

mod config;
mod credentials;
mod error;
mod events;
mod ledger;
mod rest;
mod session;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use recovery::Preserved;
use recovery::rt::Supervisor;
use serde::Serialize;
use tokio::sync::{mpsc, watch};

pub use config::{BINANCE_WS_API_ENDPOINT, UserConfig, UserManagerConfig};
pub use credentials::{ApiKey, CredentialError, Credentials, KeyType, MAX_API_KEY_LEN, Secret};
pub use error::UserError;
pub use events::{
    AccountPosition, AccountSnapshot, AccountTrade, AssetBalance, BalanceUpdate, ExecutionReport,
    ExternalLockUpdate, Fill, ListOrder, ListStatus, OpenOrder, OpenOrders, PositionBalance,
    StreamTerminated, UserEvent, decode_event,
};

use self::ledger::FillLedger;
use self::rest::SignedCalls;
use self::session::{Shared, UserTask};

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventSource {
    /// The user data stream.
    Live,
    /// A reconcile over REST after a (re)subscription.
    Reconcile,
}

/// What happened to a user's connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum UserStatus {
    /// Connecting to the WebSocket API.
    Connecting,
    /// The subscription is active.
    Subscribed {
        /// The server's id for it.
        subscription_id: Option<u64>,
    },
    /// A reconcile delivered what was missed.
    Reconciled {
        /// Fills it delivered.
        fills: usize,
        /// Duplicate fills removed so far (live or reconciled).
        duplicates: u64,
    },
    /// A reconcile failed; it is tried again (1 s, doubling to 30 s).
    ReconcileFailed {
        /// Why.
        error: String,
    },
    /// The connection ended.
    Disconnected {
        /// How.
        cause: String,
    },
    /// The next attempt is in this many milliseconds.
    Reconnecting {
        /// Delay.
        delay_ms: u64,
    },
    /// An event of a type this client does not know was skipped.
    UnknownEvent {
        /// Its `e`.
        event_type: String,
    },
    /// A frame that could not be decoded was skipped.
    Undecodable {
        /// What was wrong.
        problem: String,
    },
    /// The user stopped: removed (`None`) or a permanent error.
    Stopped {
        /// The permanent error, if any.
        error: Option<UserError>,
    },
}

/// One item for the reader of a [`UserManager`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum UserUpdate {
    /// An event of a user's account.
    Event {
        /// The user's name.
        user: Arc<str>,
        /// Live or reconciled.
        source: EventSource,
        /// The event.
        event: UserEvent,
    },
    /// A change of a user's connection.
    Status {
        /// The user's name.
        user: Arc<str>,
        /// What happened.
        status: UserStatus,
    },
}

impl UserUpdate {
    /// An event as one JSON line: `{"user":…,"source":"live"|"reconcile","event":{…}}`;
    /// `None` for a status.
    #[must_use]
    pub fn to_json(&self) -> Option<String> {
        #[derive(Serialize)]
        struct Line<'a> {
            user: &'a str,
            source: EventSource,
            event: &'a UserEvent,
        }
        match self {
            UserUpdate::Event {
                user,
                source,
                event,
            } => serde_json::to_string(&Line {
                user,
                source: *source,
                event,
            })
            .ok(),
            UserUpdate::Status { .. } => None,
        }
    }
}

/// The receiving end of a [`UserManager`]'s updates.
#[derive(Debug)]
pub struct UserUpdates(mpsc::Receiver<UserUpdate>);

impl UserUpdates {
    /// The next update; `None` once the manager and every user are gone.
    pub async fn next(&mut self) -> Option<UserUpdate> {
        self.0.recv().await
    }
}

struct Running {
    stop: watch::Sender<bool>,
}

/// Supervised user data connections, one per user, added and removed at run time.
///
/// Standalone ([`UserManager::new`]) or composed with a market-stream
/// [`Client`](crate::Client) ([`Client::user_manager`](crate::Client::user_manager)),
/// which shares the client's REST client (one request-weight budget per IP) and
/// connection-attempt budget (300 per 5 minutes per IP, WebSocket API included).
pub struct UserManager {
    shared: Arc<Shared>,
    supervisor: Mutex<Option<Supervisor>>,
    users: Mutex<HashMap<String, Running>>,
    next_child: AtomicU64,
}

impl std::fmt::Debug for UserManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserManager")
            .field(
                "ws_api_url",
                &health::sanitize_name(&self.shared.config.ws_api_url),
            )
            .field("users", &self.users())
            .finish_non_exhaustive()
    }
}

impl UserManager {
    /// A manager with `config`, and the reader of its updates. Must be called in
    /// a tokio runtime.
    ///
    /// # Errors
    /// [`UserError::Config`] naming every invalid setting.
    pub fn new(config: UserManagerConfig) -> Result<(Self, UserUpdates), UserError> {
        Self::build(config, None)
    }

    fn build(
        config: UserManagerConfig,
        client: Option<&crate::Client>,
    ) -> Result<(Self, UserUpdates), UserError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(UserError::Config(problems.join("; ")));
        }
        let url = config
            .ws_api_url
            .parse()
            .map_err(|e| UserError::Config(format!("ws_api_url: {e}")))?;
        let connector = ws_transport::WsConnector::new(config.transport.clone())
            .map_err(|e| UserError::Config(format!("transport: {e}")))?;
        let budget = match client {
            Some(client) => client.attempt_budget().clone(),
            None => reconnect::AttemptBudget::new(config.attempt_budget.clone())
                .map_err(|e| UserError::Config(format!("attempt_budget: {e}")))?,
        };
        let breaker =
            circuit_breaker::SharedBreaker::new(circuit_breaker::BreakerConfig::default())
                .map_err(|e| UserError::Config(format!("breaker: {e}")))?;
        let rest = match client {
            Some(client) => client.rest_client().clone(),
            None => crate::rest::RestClient::new(config.rest.clone())
                .map_err(|e| UserError::Config(e.to_string()))?,
        };
        let (supervisor, mut events) = Supervisor::new(config.supervisor.clone())
            .map_err(|e| UserError::Config(format!("supervisor: {e}")))?;
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                tracing::debug!(?event, "user supervisor");
            }
        });
        let (updates, receiver) = mpsc::channel(config.buffer);
        let shared = Arc::new(Shared {
            config,
            url,
            connector,
            budget,
            breaker,
            rest,
            updates,
            skipped: AtomicU64::new(0),
        });
        Ok((
            UserManager {
                shared,
                supervisor: Mutex::new(Some(supervisor)),
                users: Mutex::new(HashMap::new()),
                next_child: AtomicU64::new(0),
            },
            UserUpdates(receiver),
        ))
    }

    /// Starts a user: its connection, subscription and reconciles.
    ///
    /// # Errors
    /// [`UserError::Config`] for a bad name or symbol, [`UserError::DuplicateUser`],
    /// [`UserError::Spawn`] when the manager is shut down.
    pub fn add(&self, user: UserConfig) -> Result<(), UserError> {
        let problems = user.problems();
        if !problems.is_empty() {
            return Err(UserError::Config(problems.join("; ")));
        }
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if users.contains_key(&user.name) {
            return Err(UserError::DuplicateUser(user.name));
        }
        let n = self.next_child.fetch_add(1, Ordering::Relaxed);
        let calls = SignedCalls {
            rest: self.shared.rest.clone(),
            credentials: Arc::clone(&user.credentials),
            recv_window_ms: u64::try_from(self.shared.config.recv_window.as_millis())
                .unwrap_or(5_000),
            clock_offset_ms: user.clock_offset_ms,
        };
        let since = calls.timestamp();
        let task = Arc::new(UserTask {
            name: Arc::from(user.name.as_str()),
            calls,
            seed: n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ since,
        });
        let (stop, stop_rx) = watch::channel(false);
        let ledger = Preserved::new(FillLedger::new(&user.symbols, since));
        let shared = Arc::clone(&self.shared);
        let mut supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(supervisor) = supervisor.as_mut() else {
            return Err(UserError::Spawn("the manager is shut down".to_owned()));
        };
        supervisor
            .spawn_with_state(
                format!("user-{}-{n}", user.name),
                ledger,
                move |_ctx, ledger| {
                    Arc::clone(&task).run(Arc::clone(&shared), ledger, stop_rx.clone())
                },
            )
            .map_err(|e| UserError::Spawn(e.to_string()))?;
        users.insert(user.name, Running { stop });
        Ok(())
    }

    /// Stops a user: its connection closes; others are untouched.
    ///
    /// # Errors
    /// [`UserError::UnknownUser`].
    pub fn remove(&self, name: &str) -> Result<(), UserError> {
        let running = self
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
            .ok_or_else(|| UserError::UnknownUser(name.to_owned()))?;
        running.stop.send_replace(true);
        Ok(())
    }

    /// The names of the users added and not removed (stopped ones included).
    #[must_use]
    pub fn users(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Frames skipped so far over every user: events of unknown types and frames
    /// that could not be decoded (each also reported as a [`UserStatus`]).
    #[must_use]
    pub fn skipped_frames(&self) -> u64 {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    /// Stops every user and waits for their tasks (within the supervisor's
    /// shutdown deadline).
    pub async fn shutdown(&self) {
        for (_, running) in self
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
        {
            running.stop.send_replace(true);
        }
        let supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(supervisor) = supervisor {
            let _ = supervisor.shutdown().await;
        }
    }
}

impl crate::Client {
    /// A [`UserManager`] sharing this client's REST client and connection-attempt
    /// budget, since Binance counts both per IP across market streams, the
    /// WebSocket API and REST. `config.rest` and `config.attempt_budget` are not
    /// used: the client's own apply.
    ///
    /// # Errors
    /// As [`UserManager::new`].
    pub fn user_manager(
        &self,
        config: UserManagerConfig,
    ) -> Result<(UserManager, UserUpdates), UserError> {
        UserManager::build(config, Some(self))
    }
}
