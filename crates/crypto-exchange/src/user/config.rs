//! Settings of the user manager and of each user.

use std::sync::Arc;
use std::time::Duration;

use reconnect::{BudgetConfig, ReconnectConfig};
use recovery::SupervisorConfig;
use ws_transport::TransportConfig;

use super::credentials::Credentials;
use crate::rest::RestConfig;

/// Binance's production WebSocket API.
pub const BINANCE_WS_API_ENDPOINT: &str = "wss://ws-api.binance.com:443/ws-api/v3";

/// Settings shared by every user of a [`UserManager`](super::UserManager).
///
/// Defaults: Binance production (`wss://ws-api.binance.com:443/ws-api/v3`,
/// `https://api.binance.com`), the reconnect schedule of DESIGN.md §5 (1 s, 2 s,
/// 4 s … 30 s, ±10 %), 300 connection attempts per 5 min, `recvWindow` 5000 ms,
/// 10 s for the subscription's answer, 1024 updates buffered.
#[derive(Debug, Clone)]
pub struct UserManagerConfig {
    /// The WebSocket API endpoint.
    pub ws_api_url: String,
    /// The REST client used by reconciles (its own weight budget and breakers).
    pub rest: RestConfig,
    /// Transport settings of each user's connection.
    pub transport: TransportConfig,
    /// The reconnect schedule of each user's connection.
    pub reconnect: ReconnectConfig,
    /// Connection attempts shared by every user.
    pub attempt_budget: BudgetConfig,
    /// Supervision of the users' tasks.
    pub supervisor: SupervisorConfig,
    /// `recvWindow` of signed requests; at most 60 s.
    pub recv_window: Duration,
    /// How long the subscription's answer may take before the connection is
    /// dropped and tried again.
    pub request_timeout: Duration,
    /// Updates buffered for the reader; when full, the users' connections wait
    /// (nothing is dropped).
    pub buffer: usize,
}

impl Default for UserManagerConfig {
    fn default() -> Self {
        UserManagerConfig {
            ws_api_url: BINANCE_WS_API_ENDPOINT.to_owned(),
            rest: RestConfig::default(),
            transport: TransportConfig::default(),
            reconnect: ReconnectConfig::default(),
            attempt_budget: BudgetConfig::default(),
            supervisor: SupervisorConfig::default(),
            recv_window: Duration::from_millis(5_000),
            request_timeout: Duration::from_secs(10),
            buffer: 1024,
        }
    }
}

impl UserManagerConfig {
    /// Every invalid setting, named.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.ws_api_url.parse::<ws_transport::WsUrl>().is_err() {
            problems.push(format!(
                "ws_api_url {:?} is not a ws:// or wss:// URL",
                health::sanitize_name(&self.ws_api_url)
            ));
        }
        problems.extend(self.rest.problems());
        if let Err(e) = self.reconnect.validate() {
            problems.push(format!("reconnect: {e}"));
        }
        if let Err(e) = self.attempt_budget.validate() {
            problems.push(format!("attempt_budget: {e}"));
        }
        if let Err(e) = self.supervisor.validate() {
            problems.push(format!("supervisor: {e}"));
        }
        if self.recv_window.is_zero() || self.recv_window > Duration::from_secs(60) {
            problems.push("recv_window must be between 1 ms and 60 s (Binance's limit)".to_owned());
        }
        if self.request_timeout.is_zero() {
            problems.push("request_timeout must be greater than zero".to_owned());
        }
        if self.buffer == 0 {
            problems.push("buffer must be at least 1".to_owned());
        }
        problems
    }
}

/// One user: a name, credentials, and the symbols whose fills a reconcile looks for.
#[derive(Debug, Clone)]
pub struct UserConfig {
    /// The user's name in updates and logs (never the key).
    pub name: String,
    /// The API key and what signs with it.
    pub credentials: Arc<Credentials>,
    /// Symbols whose trades a reconcile fetches (`myTrades` needs a symbol).
    /// Symbols of open orders and of live fills are added as they are seen.
    pub symbols: Vec<String>,
    /// Added to the local clock for every signed timestamp (ms), for a clock
    /// known to be off.
    pub clock_offset_ms: i64,
}

impl UserConfig {
    /// A user with `credentials`, reconciling `symbols`.
    #[must_use]
    pub fn new(name: impl Into<String>, credentials: Credentials, symbols: &[&str]) -> Self {
        UserConfig {
            name: name.into(),
            credentials: Arc::new(credentials),
            symbols: symbols.iter().map(|s| s.to_ascii_uppercase()).collect(),
            clock_offset_ms: 0,
        }
    }

    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            problems
                .push("a user's name must be 1 to 64 letters, digits, '-', '_' or '.'".to_owned());
        }
        for symbol in &self.symbols {
            if symbol.is_empty() || !symbol.chars().all(|c| c.is_ascii_alphanumeric()) {
                problems.push(format!(
                    "symbol {:?} must be letters and digits, such as BTCUSDT",
                    symbol.chars().take(32).collect::<String>()
                ));
            }
        }
        problems
    }
}
