//! The client's configuration: endpoints, connection pool, rotation, buffers, and
//! the policy crates' own configurations, with Binance's values as defaults.

use std::time::Duration;

use circuit_breaker::BreakerConfig;
use fallback::{CacheConfig, ConnectionConfig, EndpointConfig, PollBudget};
use health::HealthConfig;
use reconnect::{BudgetConfig, ReconnectConfig};
use recovery::SupervisorConfig;
use ws_transport::{TransportConfig, WsUrl};

use crate::error::ClientError;
use crate::rest::RestConfig;

/// Binance's production market-stream endpoints, in order of preference (PROTOCOL.md §1).
pub const BINANCE_STREAM_ENDPOINTS: [&str; 3] = [
    "wss://stream.binance.com:9443",
    "wss://stream.binance.com:443",
    "wss://data-stream.binance.vision:443",
];

/// Binance's production REST endpoint.
pub const BINANCE_REST_ENDPOINT: &str = "https://api.binance.com";

/// When a connection is replaced before Binance's 24 h cut-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationConfig {
    /// Replace a connection after it has been open this long (default 23 h 30 m).
    pub after: Duration,
    /// Each connection rotates up to this much earlier, at random, so rotations of
    /// a pool are staggered (default 10 min).
    pub jitter: Duration,
    /// How long the new connection may take to deliver on every stream before the
    /// old one is closed anyway (default 30 s).
    pub overlap_timeout: Duration,
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig {
            after: Duration::from_secs(23 * 3600 + 30 * 60),
            jitter: Duration::from_secs(10 * 60),
            overlap_timeout: Duration::from_secs(30),
        }
    }
}

/// Whether the streams of a connection that cannot connect are served by REST
/// polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PollingMode {
    /// Poll them, within `fallback.poll_share` of the REST weight budget (the default).
    Enabled,
    /// Never poll: without a WebSocket, streams are stale (their last values stay readable).
    Disabled,
}

/// Graceful degradation (the `fallback` crate): failover between the
/// market-stream endpoints, REST polling when no WebSocket works, and
/// last-known values (`docs/fallback.md`, "In the facade").
///
/// | field | default | meaning |
/// |---|---|---|
/// | `endpoints` | `EndpointConfig::default()` | scores, dwell (30 s), fail-back after 120 s, a probe of the primary every 30 s |
/// | `connection` | `ConnectionConfig::default()` | a connection is failed (its streams polled) after 5 failed attempts or 60 s down |
/// | `polling` | `Enabled` | whether failed connections' streams are polled |
/// | `poll_share` | 0.5 | the share of the REST client's own budget (`rest.budget`) polling may spend |
/// | `cache` | `CacheConfig::default()` | a last value is stale after 3 of its stream's intervals |
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackConfig {
    /// How endpoints are scored and when traffic moves between them.
    pub endpoints: EndpointConfig,
    /// When a connection counts as failed.
    pub connection: ConnectionConfig,
    /// Whether failed connections' streams are polled over REST.
    pub polling: PollingMode,
    /// The share of the REST weight budget (`rest.budget.allowance()` per
    /// `rest.budget.window`) that polling may spend; in `[0.001, 1]`.
    pub poll_share: f64,
    /// Staleness of last-known values ([`Client::last`](crate::Client::last)).
    pub cache: CacheConfig,
}

impl Default for FallbackConfig {
    fn default() -> Self {
        FallbackConfig {
            endpoints: EndpointConfig::default(),
            connection: ConnectionConfig::default(),
            polling: PollingMode::Enabled,
            poll_share: 0.5,
            cache: CacheConfig::default(),
        }
    }
}

impl FallbackConfig {
    /// The budget polling plans against: `poll_share` of the REST client's
    /// allowance per window.
    #[must_use]
    pub fn poll_budget(&self, rest: &RestConfig) -> PollBudget {
        PollBudget {
            weight: rest.budget.allowance(),
            window: rest.budget.window,
            share: self.poll_share,
        }
    }

    fn problems(&self, rest: &RestConfig) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(error) = self.endpoints.validate() {
            problems.push(format!("fallback.endpoints: {error}"));
        }
        if let Err(error) = self.connection.validate() {
            problems.push(format!("fallback.connection: {error}"));
        }
        if let Err(error) = self.cache.validate() {
            problems.push(format!("fallback.cache: {error}"));
        }
        if let Err(error) = self.poll_budget(rest).validate() {
            problems.push(format!("fallback.poll_share: {error}"));
        }
        problems
    }
}

/// Everything the streaming client needs. `Default` is Binance production.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Market-stream base URLs (`wss://host:port`), the primary first. The client
    /// connects to `<base>/stream` and subscribes with `SUBSCRIBE` frames; it
    /// fails over to the others by health score (`fallback.endpoints`). No two
    /// may share a scheme, host and port.
    pub endpoints: Vec<String>,
    /// The REST client (snapshots, backfill, polling): base URLs, weight budget,
    /// retries, breaker.
    pub rest: RestConfig,
    /// Streams per connection; Binance allows 1024 (default 200).
    pub streams_per_connection: usize,
    /// Streams per `SUBSCRIBE` frame when subscriptions are restored (default 200);
    /// frames leave at the transport's pace.
    pub streams_per_request: usize,
    /// Events held for a subscriber, counting those it has taken in a batch but
    /// not yet read, before it loses some and is told `Lagged` (default 4096).
    pub subscriber_buffer: usize,
    /// The WebSocket transport (pacing, keepalive, sizes, TLS).
    pub transport: TransportConfig,
    /// The reconnect schedule.
    pub reconnect: ReconnectConfig,
    /// The connection-attempt budget shared by every connection of the client.
    pub attempt_budget: BudgetConfig,
    /// Rotation before the 24 h cut-off.
    pub rotation: RotationConfig,
    /// Supervision of the connection drivers (restart limits, shutdown deadline).
    pub supervisor: SupervisorConfig,
    /// The circuit breaker of each market-stream endpoint (5 failed connection
    /// attempts open it for 30 s; one probe then).
    pub breaker: BreakerConfig,
    /// The health monitor's thresholds (levels, alerts; `docs/health.md`).
    pub health: HealthConfig,
    /// Endpoint failover, REST polling, last-known values.
    pub fallback: FallbackConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            endpoints: BINANCE_STREAM_ENDPOINTS
                .iter()
                .map(|&s| s.to_owned())
                .collect(),
            rest: RestConfig::default(),
            streams_per_connection: 200,
            streams_per_request: 200,
            subscriber_buffer: 4096,
            transport: TransportConfig::default(),
            reconnect: ReconnectConfig::default(),
            attempt_budget: BudgetConfig::default(),
            rotation: RotationConfig::default(),
            supervisor: SupervisorConfig::default(),
            breaker: BreakerConfig::default(),
            health: HealthConfig::default(),
            fallback: FallbackConfig::default(),
        }
    }
}

impl ClientConfig {
    /// A configuration for one market-stream endpoint and one REST endpoint (the
    /// simulator, testnet), otherwise the defaults.
    #[must_use]
    pub fn with_endpoints(ws: impl Into<String>, rest: impl Into<String>) -> Self {
        ClientConfig {
            endpoints: vec![ws.into()],
            rest: RestConfig {
                base_url: rest.into(),
                ..RestConfig::default()
            },
            ..ClientConfig::default()
        }
    }

    /// Checks every setting; all problems are reported at once, each naming the
    /// setting, its value and the rule.
    ///
    /// # Errors
    /// [`ClientError::Config`].
    pub fn validate(&self) -> Result<(), ClientError> {
        let mut problems = Vec::new();
        if self.endpoints.is_empty() {
            problems.push("endpoints: at least one market-stream endpoint is needed".to_owned());
        }
        let mut keys: Vec<(String, &str)> = Vec::with_capacity(self.endpoints.len());
        for endpoint in &self.endpoints {
            match stream_url(endpoint) {
                Ok(url) => {
                    if let Err(error) = self.transport.validate_for(&url) {
                        problems.push(format!("transport (for {endpoint}): {error}"));
                    }
                    let key = endpoint_key(&url);
                    if let Some((_, first)) = keys.iter().find(|(k, _)| *k == key) {
                        problems.push(format!(
                            "endpoints: {endpoint:?} is the same endpoint as {first:?} ({key}); list each endpoint once"
                        ));
                    } else {
                        keys.push((key, endpoint));
                    }
                }
                Err(problem) => problems.push(problem),
            }
        }
        if !(1..=1024).contains(&self.streams_per_connection) {
            problems.push(format!(
                "streams_per_connection = {} must be between 1 and 1024 (Binance's limit per connection)",
                self.streams_per_connection
            ));
        }
        if self.streams_per_request == 0 {
            problems.push("streams_per_request must be at least 1".to_owned());
        }
        if self.subscriber_buffer == 0 {
            problems.push("subscriber_buffer must be at least 1".to_owned());
        }
        if let Err(error) = self.transport.validate() {
            problems.push(format!("transport: {error}"));
        }
        if let Err(error) = self.reconnect.validate() {
            problems.push(format!("reconnect: {error}"));
        }
        problems.extend(self.rest.problems());
        if let Err(error) = self.breaker.validate() {
            problems.push(format!("breaker: {error}"));
        }
        if let Err(error) = self.supervisor.validate() {
            problems.push(format!("supervisor: {error}"));
        }
        if let Err(error) = self.attempt_budget.validate() {
            problems.push(format!("attempt_budget: {error}"));
        }
        if let Err(error) = self.health.validate() {
            problems.push(format!("health: {error}"));
        }
        problems.extend(self.fallback.problems(&self.rest));
        let r = &self.rotation;
        if r.jitter >= r.after {
            problems.push(format!(
                "rotation.jitter = {:?} must be below rotation.after = {:?}",
                r.jitter, r.after
            ));
        }
        if r.after > Duration::from_secs(24 * 3600) {
            problems.push(format!(
                "rotation.after = {:?} must not pass Binance's 24 h connection lifetime",
                r.after
            ));
        }
        if r.overlap_timeout.is_zero() {
            problems.push("rotation.overlap_timeout must be above zero".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ClientError::Config(problems))
        }
    }
}

/// An endpoint's name for its circuit breaker, the endpoint set and signals:
/// `scheme://host:port`.
pub(crate) fn endpoint_key(url: &WsUrl) -> String {
    let scheme = if url.is_tls() { "wss" } else { "ws" };
    format!("{scheme}://{}:{}", url.host(), url.port())
}

/// The combined-stream URL for a base endpoint: `<base>/stream`.
pub(crate) fn stream_url(base: &str) -> Result<WsUrl, String> {
    let trimmed = base.trim_end_matches('/');
    let full = if trimmed.ends_with("/stream") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/stream")
    };
    full.parse::<WsUrl>().map_err(|error| {
        format!("endpoint {base:?} is not a WebSocket base URL ({error}); write it like wss://stream.binance.com:9443")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_binance() {
        let config = ClientConfig::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.endpoints[0], "wss://stream.binance.com:9443");
        assert_eq!(config.rotation.after, Duration::from_secs(84_600));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let config = ClientConfig {
            endpoints: vec!["http://example.com".into()],
            streams_per_connection: 2000,
            subscriber_buffer: 0,
            rotation: RotationConfig {
                after: Duration::from_secs(25 * 3600),
                ..RotationConfig::default()
            },
            ..ClientConfig::default()
        };
        let Err(ClientError::Config(problems)) = config.validate() else {
            panic!("invalid configuration accepted");
        };
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("http://example.com"));
        assert!(problems.iter().any(|p| p.contains("1024")));
    }

    #[test]
    fn duplicate_endpoints_are_named() {
        let config = ClientConfig {
            endpoints: vec![
                "ws://127.0.0.1:9443".into(),
                "ws://127.0.0.1:9444".into(),
                "ws://127.0.0.1:9443/".into(),
            ],
            ..ClientConfig::default()
        };
        let Err(ClientError::Config(problems)) = config.validate() else {
            panic!("a duplicate endpoint accepted");
        };
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains("\"ws://127.0.0.1:9443/\"")
                && problems[0].contains("same endpoint as \"ws://127.0.0.1:9443\""),
            "{problems:#?}"
        );
        let empty = ClientConfig {
            endpoints: Vec::new(),
            ..ClientConfig::default()
        };
        let Err(ClientError::Config(problems)) = empty.validate() else {
            panic!("no endpoint accepted");
        };
        assert!(problems[0].contains("at least one"), "{problems:#?}");
    }

    #[test]
    fn fallback_settings_are_checked() {
        let mut config = ClientConfig::default();
        config.fallback.poll_share = 0.0;
        config.fallback.endpoints.min_dwell = Duration::ZERO;
        let Err(ClientError::Config(problems)) = config.validate() else {
            panic!("bad fallback settings accepted");
        };
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems.iter().any(|p| p.contains("fallback.poll_share")));
        assert!(problems.iter().any(|p| p.contains("min_dwell")));
        let budget = ClientConfig::default()
            .fallback
            .poll_budget(&RestConfig::default());
        assert_eq!((budget.weight, budget.share), (4800, 0.5));
    }

    #[test]
    fn stream_urls() {
        for (base, url) in [
            ("ws://127.0.0.1:9443", "ws://127.0.0.1:9443/stream"),
            ("ws://127.0.0.1:9443/", "ws://127.0.0.1:9443/stream"),
            (
                "wss://stream.binance.com:9443/stream",
                "wss://stream.binance.com:9443/stream",
            ),
        ] {
            assert_eq!(stream_url(base).map(|u| u.to_string()), Ok(url.to_owned()));
        }
        assert!(stream_url("not a url").is_err());
    }
}
