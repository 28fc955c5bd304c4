//! Starting, controlling and stopping a simulated exchange.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::account::{AccountSnapshot, AccountSpec, Balance};
use crate::config::SimConfig;
use crate::decimal::Fixed;
use crate::error::SimError;
use crate::market::{DepthFault, Market, SymbolMarket};
use crate::state::{
    ConnectionStats, DropKind, HandshakeStats, RestFault, RestStats, Shared, lock, now_ms,
};

/// The simulated exchange.
#[derive(Debug)]
pub struct Sim;

impl Sim {
    /// Validates `config`, binds every listener and starts serving.
    ///
    /// Must be called inside a tokio runtime. The returned handle knows the bound
    /// addresses (useful with port 0) and controls faults; dropping it shuts the
    /// simulator down.
    ///
    /// # Errors
    /// [`SimError::Config`] for an invalid configuration, [`SimError::Bind`] when a
    /// listener cannot bind.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        config.validate()?;
        let ws = bind(config.ws_listen).await?;
        let rest = bind(config.rest_listen).await?;
        let admin = match config.admin_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let ws_addr = local_addr(&ws, config.ws_listen)?;
        let rest_addr = local_addr(&rest, config.rest_listen)?;
        let admin_addr = match &admin {
            Some(listener) => Some(local_addr(
                listener,
                config.admin_listen.unwrap_or(rest_addr),
            )?),
            None => None,
        };
        let shared = Arc::new(Shared::new(config));
        let mut tasks = vec![
            tokio::spawn(run_market(shared.clone())),
            tokio::spawn(crate::ws::serve(ws, shared.clone())),
            tokio::spawn(serve_http(
                rest,
                crate::rest::router(shared.clone()),
                shared.clone(),
            )),
        ];
        if let Some(listener) = admin {
            tasks.push(tokio::spawn(serve_http(
                listener,
                crate::admin::router(shared.clone()),
                shared.clone(),
            )));
        }
        tracing::info!(%ws_addr, %rest_addr, ?admin_addr, "binance-sim started");
        Ok(SimHandle {
            shared,
            ws_addr,
            rest_addr,
            admin_addr,
            tasks,
        })
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener, addr: SocketAddr) -> Result<SocketAddr, SimError> {
    listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })
}

/// Advances the market every tick and publishes what it produced.
async fn run_market(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown_signal();
    let mut tick = tokio::time::interval(shared.config.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out = Vec::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let now = now_ms();
        let mut market = lock(&shared.market);
        shared
            .interest
            .with(|interest| market.advance(now, interest, &mut out));
        // Published with the market locked, so a batch from an account's order (also
        // made under the lock) can never overtake this one: trade ids stay in order.
        if !out.is_empty() {
            // No receivers is fine: nobody is connected.
            let _ = shared.events.send(out.drain(..).collect());
        }
        // Fills of accounts' resting orders by the market's takers.
        if market.symbols().iter().any(SymbolMarket::has_maker_fills) {
            let mut ledger = lock(&shared.ledger);
            for symbol in market.symbols_mut() {
                ledger.settle(symbol, now);
            }
        }
        drop(market);
    }
}

async fn serve_http(listener: TcpListener, router: axum::Router, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown_signal();
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, "binance-sim HTTP listener failed");
    }
}

/// A running simulated exchange: its addresses, fault controls and counters.
///
/// Dropping the handle shuts the simulator down; [`SimHandle::shutdown`] also waits
/// for its tasks to end.
#[derive(Debug)]
pub struct SimHandle {
    shared: Arc<Shared>,
    ws_addr: SocketAddr,
    rest_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// The market-stream base URL, such as `ws://127.0.0.1:40001` (append `/ws/…` or `/stream?…`).
    #[must_use]
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.ws_addr)
    }

    /// The REST base URL, such as `http://127.0.0.1:40002` (append `/api/v3/…`).
    #[must_use]
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// The admin API base URL, if enabled.
    #[must_use]
    pub fn admin_url(&self) -> Option<String> {
        self.admin_addr.map(|a| format!("http://{a}"))
    }

    /// The WebSocket API URL, such as `ws://127.0.0.1:40001/ws-api/v3` (served on the
    /// market-stream listener).
    #[must_use]
    pub fn ws_api_url(&self) -> String {
        format!("ws://{}/ws-api/v3", self.ws_addr)
    }

    /// The market-stream listener's address.
    #[must_use]
    pub fn ws_addr(&self) -> SocketAddr {
        self.ws_addr
    }

    /// The REST listener's address.
    #[must_use]
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// The configuration the simulator runs with.
    #[must_use]
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// Runs `f` on the market, for assertions against the simulator's own state.
    pub fn with_market<R>(&self, f: impl FnOnce(&Market) -> R) -> R {
        f(&lock(&self.shared.market))
    }

    /// Drops every open stream connection; returns how many were told to.
    pub fn drop_connections(&self, how: DropKind) -> usize {
        self.shared.drop_connections(how)
    }

    /// Sends a `serverShutdown` event on every open stream connection; returns how many.
    pub fn send_server_shutdown(&self) -> usize {
        self.shared.send_server_shutdown()
    }

    /// Starts or ends a stall: connections stay open but nothing is sent on them.
    pub fn set_stalled(&self, stalled: bool) {
        self.shared.set_stalled(stalled);
    }

    /// Refuses (resets) new stream connections for `duration`; zero stops refusing.
    pub fn refuse_connections(&self, duration: Duration) {
        self.shared.refuse_connections(duration);
    }

    /// Makes REST misbehave for `duration` (or until cleared when `None`).
    pub fn set_rest_fault(&self, fault: RestFault, duration: Option<Duration>) {
        self.shared.set_rest_fault(fault, duration);
    }

    /// Ends any REST fault.
    pub fn clear_rest_fault(&self) {
        self.shared.clear_rest_fault();
    }

    /// Drops the next depth diff of each speed for `symbol`, so subscribers see a sequence gap.
    ///
    /// # Errors
    /// [`SimError::UnknownSymbol`] when the symbol is not listed.
    pub fn inject_depth_gap(&self, symbol: &str) -> Result<(), SimError> {
        self.shared.depth_fault(symbol, DepthFault::Gap)
    }

    /// Sends the next depth diff of each speed twice for `symbol`.
    ///
    /// # Errors
    /// [`SimError::UnknownSymbol`] when the symbol is not listed.
    pub fn inject_depth_duplicate(&self, symbol: &str) -> Result<(), SimError> {
        self.shared.depth_fault(symbol, DepthFault::Duplicate)
    }

    /// Changes how many market actions per second `symbol` performs (0 freezes it).
    ///
    /// # Errors
    /// [`SimError::UnknownSymbol`] when the symbol is not listed,
    /// [`SimError::InvalidControl`] for a negative or non-finite rate.
    pub fn set_symbol_rate(&self, symbol: &str, actions_per_sec: f64) -> Result<(), SimError> {
        self.shared.set_symbol_rate(symbol, actions_per_sec)
    }

    /// Adds a simulated account.
    ///
    /// # Errors
    /// [`SimError::Config`] for an invalid spec, [`SimError::InvalidControl`] when its
    /// API key is taken.
    pub fn add_account(&self, spec: &AccountSpec) -> Result<(), SimError> {
        lock(&self.shared.ledger).add(spec, now_ms())
    }

    /// Revokes an API key: its requests get -2015 and its user data subscriptions end
    /// with `eventStreamTerminated`.
    ///
    /// # Errors
    /// [`SimError::InvalidControl`] for an unknown key.
    pub fn revoke_key(&self, api_key: &str) -> Result<(), SimError> {
        lock(&self.shared.ledger).revoke(api_key)
    }

    /// A snapshot of an account's balances and open orders.
    #[must_use]
    pub fn account(&self, api_key: &str) -> Option<AccountSnapshot> {
        lock(&self.shared.ledger).snapshot(api_key)
    }

    /// Credits `amount` of `asset` to an account (a negative amount withdraws), sending
    /// `balanceUpdate` and `outboundAccountPosition`; returns the new balance.
    ///
    /// # Errors
    /// [`SimError::InvalidControl`] for an unknown key, a malformed asset, or a
    /// withdrawal larger than the free balance.
    pub fn deposit(&self, api_key: &str, asset: &str, amount: Fixed) -> Result<Balance, SimError> {
        lock(&self.shared.ledger).deposit(api_key, asset, amount, now_ms())
    }

    /// Ends every user data subscription on every WebSocket API connection with
    /// `eventStreamTerminated` (a fault); returns how many connections were told.
    pub fn terminate_user_streams(&self) -> usize {
        lock(&self.shared.ledger).terminate_all()
    }

    /// Counters of every stream connection remembered, oldest first.
    #[must_use]
    pub fn connections(&self) -> Vec<ConnectionStats> {
        self.shared.counters.connections()
    }

    /// Counters of stream handshakes.
    #[must_use]
    pub fn handshakes(&self) -> HandshakeStats {
        lock(&self.shared.counters.handshakes).clone()
    }

    /// Counters of REST requests.
    #[must_use]
    pub fn rest_stats(&self) -> RestStats {
        lock(&self.shared.counters.rest).clone()
    }

    /// Stops serving: open connections are closed with 1001 "server shutdown" and every
    /// task is awaited.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
    }
}
