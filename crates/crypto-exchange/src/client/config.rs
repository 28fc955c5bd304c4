//! The client's configuration: endpoints, connection pool, rotation, buffers, and
//! the policy crates' own configurations, with Binance's values as defaults.

use std::time::Duration;

use circuit_breaker::BreakerConfig;
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

/// Everything the streaming client needs. `Default` is Binance production.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Market-stream base URLs (`wss://host:port`), first preferred. The client
    /// connects to `<base>/stream` and subscribes with `SUBSCRIBE` frames.
    pub endpoints: Vec<String>,
    /// The REST client (snapshots, backfill): base URL, weight budget, retries, breaker.
    pub rest: RestConfig,
    /// Streams per connection; Binance allows 1024 (default 200).
    pub streams_per_connection: usize,
    /// Streams per `SUBSCRIBE` frame when subscriptions are restored (default 200);
    /// frames leave at the transport's pace.
    pub streams_per_request: usize,
    /// Events a subscriber may fall behind before it is told `Lagged` (default 4096).
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
        for endpoint in &self.endpoints {
            match stream_url(endpoint) {
                Ok(url) => {
                    if let Err(error) = self.transport.validate_for(&url) {
                        problems.push(format!("transport (for {endpoint}): {error}"));
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
