//! One configuration for the whole gateway, as an operator writes it: a
//! serde-typed [`Settings`] (TOML keys, durations such as `"30s"`), read in
//! layers (defaults < file < environment < flags) by [`Loader`], checked all at
//! once ([`Settings::problems`]), and turned into the library's
//! [`ClientConfig`](crate::ClientConfig) ([`Settings::client_config`]).
//!
//! An application can embed [`Settings`] (or one of its sections) in its own
//! configuration: every section is `#[serde(default, deny_unknown_fields)]`.
//! Every default equals [`ClientConfig::default`](crate::ClientConfig::default) (DESIGN.md §5); a test keeps
//! them equal. The key reference is `docs/configuration.md`.

mod convert;
mod human;
mod layers;
mod validate;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use layers::{ConfigError, ENV_PREFIX, Loader, Origin, Resolved};

use crate::client::{BINANCE_REST_ENDPOINT, BINANCE_STREAM_ENDPOINTS};

/// The whole configuration. `Default` is Binance production, nothing
/// subscribed, no ops endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Settings {
    /// Market-stream and REST endpoints.
    pub endpoints: EndpointSettings,
    /// What to subscribe to, and how streams are spread over connections.
    pub streams: StreamSettings,
    /// The reconnect schedule and the connection-attempt budget.
    pub reconnect: ReconnectSettings,
    /// The circuit breaker of each market-stream endpoint.
    pub breaker: BreakerSettings,
    /// Outbound frame pacing per connection.
    pub pacing: PacingSettings,
    /// Connection timeouts and keepalive.
    pub transport: TransportSettings,
    /// Replacing connections before Binance's 24 h cut-off.
    pub rotation: RotationSettings,
    /// Health thresholds (levels and alerts).
    pub health: HealthSettings,
    /// Endpoint failover, REST polling and last-known values.
    pub fallback: FallbackSettings,
    /// The REST client and its weight budget.
    pub rest: RestSettings,
    /// The ops HTTP endpoint and its admin controls.
    pub ops: OpsSettings,
    /// OpenTelemetry export of traces (cargo feature `otel`).
    pub telemetry: TelemetrySettings,
}

/// `[endpoints]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EndpointSettings {
    /// Market-stream base URLs, the primary first (default: Binance's three).
    pub ws: Vec<String>,
    /// REST base URLs, the primary first (default: `https://api.binance.com`).
    pub rest: Vec<String>,
}

impl Default for EndpointSettings {
    fn default() -> Self {
        EndpointSettings {
            ws: BINANCE_STREAM_ENDPOINTS
                .iter()
                .map(|&s| s.to_owned())
                .collect(),
            rest: vec![BINANCE_REST_ENDPOINT.to_owned()],
        }
    }
}

/// `[streams]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StreamSettings {
    /// Symbols (`btcusdt`), any case; combined with every per-symbol type.
    pub symbols: Vec<String>,
    /// Stream types (`aggTrade`, `depth@100ms`, `!miniTicker@arr`, …).
    pub types: Vec<String>,
    /// Streams per connection, 1–1024 (default 200).
    pub per_connection: usize,
    /// Streams per `SUBSCRIBE` frame when subscriptions are restored (default 200).
    pub per_request: usize,
    /// Events a subscriber may fall behind before `Lagged` (default 4096).
    pub subscriber_buffer: usize,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            symbols: Vec::new(),
            types: Vec::new(),
            per_connection: 200,
            per_request: 200,
            subscriber_buffer: 4096,
        }
    }
}

/// `[reconnect]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ReconnectSettings {
    /// First delay (default 1 s).
    #[serde(with = "human")]
    pub initial_delay: Duration,
    /// Cap of the schedule (default 30 s).
    #[serde(with = "human")]
    pub max_delay: Duration,
    /// Growth between delays (default 2).
    pub multiplier: f64,
    /// Random share added or removed, 0–0.5 (default 0.1).
    pub jitter: f64,
    /// A connection up this long resets the schedule (default 60 s).
    #[serde(with = "human")]
    pub healthy_after: Duration,
    /// First delay after a rate-limit close (1008, 429; default 60 s).
    #[serde(with = "human")]
    pub rate_limit_delay: Duration,
    /// Cap of rate-limited delays (default 5 min).
    #[serde(with = "human")]
    pub rate_limit_max_delay: Duration,
    /// Give up after this many failed attempts in a row; 0: never (default).
    pub max_attempts: u32,
    /// The connection-attempt budget shared by every connection.
    pub budget: AttemptBudgetSettings,
}

/// `[reconnect.budget]`: Binance allows 300 connection attempts per 5 min per IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AttemptBudgetSettings {
    /// Attempts in any window (default 300).
    pub attempts: u32,
    /// The window (default 5 min).
    #[serde(with = "human")]
    pub window: Duration,
    /// Attempts a full budget grants at once (default 150).
    pub burst: u32,
}

/// `[breaker]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BreakerSettings {
    /// Failed connection attempts in a row that open it (default 5).
    pub consecutive_failures: u32,
    /// How long it stays open before probing (default 30 s).
    #[serde(with = "human")]
    pub open_duration: Duration,
    /// Growth of the open duration on each re-opening (default 1: constant).
    pub open_multiplier: f64,
    /// Cap of the grown open duration (default 5 min).
    #[serde(with = "human")]
    pub max_open_duration: Duration,
    /// Probes admitted at once while half-open (default 1).
    pub half_open_probes: u32,
    /// Successful probes that close it (default 1).
    pub half_open_successes: u32,
    /// A half-open breaker with no probe answer for this long re-opens (default 30 s).
    #[serde(with = "human")]
    pub probe_timeout: Duration,
}

/// `[pacing]`: Binance disconnects above 5 frames per second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PacingSettings {
    /// Frames per window (default 4).
    pub max_frames: u32,
    /// The rolling window (default 1 s).
    #[serde(with = "human")]
    pub window: Duration,
}

/// `[transport]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TransportSettings {
    /// TCP, TLS and HTTP upgrade together (default 10 s).
    #[serde(with = "human")]
    pub handshake_timeout: Duration,
    /// A connection with no frame for this long is dead (default 30 s).
    #[serde(with = "human")]
    pub silence_timeout: Duration,
    /// How long a close handshake may take (default 5 s).
    #[serde(with = "human")]
    pub close_timeout: Duration,
}

/// `[rotation]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RotationSettings {
    /// Replace a connection after this long (default 23 h 30 m).
    #[serde(with = "human")]
    pub after: Duration,
    /// Up to this much earlier, at random (default 10 min).
    #[serde(with = "human")]
    pub jitter: Duration,
    /// How long the new connection may take to deliver on every stream (default 30 s).
    #[serde(with = "human")]
    pub overlap_timeout: Duration,
}

/// `[health]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HealthSettings {
    /// A stream silent this many times its usual interval is a warning (default 3).
    pub silence_warning_factor: f64,
    /// … and degraded at this many (default 10).
    pub silence_degraded_factor: f64,
    /// A connection down shorter than this does not change the level (default 5 s).
    #[serde(with = "human")]
    pub down_grace: Duration,
    /// Reconnects within `flap_window` that count as flapping (default 5).
    pub flap_reconnects: u32,
    /// (default 5 min).
    #[serde(with = "human")]
    pub flap_window: Duration,
    /// Errors per minute for a warning (default 10).
    pub error_rate_warning: f64,
    /// Errors per minute for degraded (default 60).
    pub error_rate_degraded: f64,
    /// Event latency for a warning (default 1 s).
    #[serde(with = "human")]
    pub latency_warning: Duration,
    /// Event latency for degraded (default 5 s).
    #[serde(with = "human")]
    pub latency_degraded: Duration,
    /// Events lagged by a subscriber for a warning (default 1).
    pub lag_warning: u64,
    /// … for degraded (default 1000).
    pub lag_degraded: u64,
    /// Share of the REST weight limit used for a warning (default 0.8).
    pub rest_weight_warning: f64,
}

/// `[fallback]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FallbackSettings {
    /// Serve the streams of a failed connection by REST polling (default true).
    pub polling: bool,
    /// Share of the REST weight budget polling may spend, (0, 1] (default 0.5).
    pub poll_share: f64,
    /// Failed attempts after which a connection counts as failed (default 5).
    pub failed_attempts: u32,
    /// … or time down (default 60 s).
    #[serde(with = "human")]
    pub failed_after: Duration,
    /// Least time on an endpoint before moving again (default 30 s).
    #[serde(with = "human")]
    pub min_dwell: Duration,
    /// Return to the primary after it has been healthy this long (default 2 min).
    #[serde(with = "human")]
    pub failback_after: Duration,
    /// A last value is stale after this many of its stream's intervals (default 3).
    pub stale_factor: f64,
}

/// `[rest]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RestSettings {
    /// Binance's request-weight limit per window (default 6000).
    pub weight_limit: u32,
    /// Share of it this client plans to use, (0, 1] (default 0.8).
    pub weight_share: f64,
    /// The weight window (default 1 min).
    #[serde(with = "human")]
    pub weight_window: Duration,
    /// Per-request timeout (default 10 s).
    #[serde(with = "human")]
    pub timeout: Duration,
    /// Retries of a failed request (default 3).
    pub max_retries: u32,
    /// Longest wait for budget or a `Retry-After` before failing (default 5 min).
    #[serde(with = "human")]
    pub max_wait: Duration,
}

/// `[ops]`: the ops HTTP endpoint (`/health`, `/metrics`, …) and its admin
/// controls (`/admin/...`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OpsSettings {
    /// Serve the endpoint (default false).
    pub enabled: bool,
    /// Where (default `127.0.0.1:9898`). Not loopback: needs `admin_token`.
    pub addr: SocketAddr,
    /// The bearer token every `/admin/...` call must present; empty: none
    /// (then only a loopback `addr` is allowed). Never printed or logged.
    pub admin_token: String,
}

impl Default for OpsSettings {
    fn default() -> Self {
        OpsSettings {
            enabled: false,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 9898)),
            admin_token: String::new(),
        }
    }
}

impl std::fmt::Debug for OpsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsSettings")
            .field("enabled", &self.enabled)
            .field("addr", &self.addr)
            .field(
                "admin_token",
                &if self.admin_token.is_empty() {
                    ""
                } else {
                    REDACTED
                },
            )
            .finish()
    }
}

/// `[telemetry]`: OpenTelemetry export of the gateway's tracing spans over
/// OTLP (HTTP/protobuf). Exporting needs a build with the cargo feature
/// `otel`; without it, a set `otlp_endpoint` is a configuration error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TelemetrySettings {
    /// The collector's OTLP/HTTP base URL (`http://127.0.0.1:4318`); spans are
    /// posted to `<base>/v1/traces` (a URL already ending in `/v1/traces` is
    /// used as it is). Empty (default): no export.
    pub otlp_endpoint: String,
    /// The `service.name` resource attribute of every span (default `crypto-exchange`).
    pub service_name: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings {
            otlp_endpoint: String::new(),
            service_name: "crypto-exchange".to_owned(),
        }
    }
}

impl TelemetrySettings {
    /// Whether spans are to be exported (an endpoint is set).
    #[must_use]
    pub fn enabled(&self) -> bool {
        !self.otlp_endpoint.is_empty()
    }

    /// The URL spans are posted to: the endpoint with `/v1/traces` appended
    /// unless it already ends so; `None` when export is off.
    #[must_use]
    pub fn traces_url(&self) -> Option<String> {
        if !self.enabled() {
            return None;
        }
        let base = self.otlp_endpoint.trim_end_matches('/');
        Some(if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        })
    }
}

/// What `config show` and `Debug` print instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// Keys whose values are secrets: never printed.
pub const SECRET_KEYS: [&str; 1] = ["ops.admin_token"];
