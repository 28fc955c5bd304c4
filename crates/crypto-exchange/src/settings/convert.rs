//! Between [`Settings`] and the library's [`ClientConfig`]: every section's
//! `Default` is read from the library's defaults, so the two cannot drift, and
//! [`Settings::client_config`] writes each key back over those defaults.

use circuit_breaker::BreakerConfig;
use fallback::{CacheConfig, ConnectionConfig, EndpointConfig};
use health::HealthConfig;
use reconnect::{BudgetConfig, ReconnectConfig};
use ws_transport::{Pacing, TransportConfig};

use super::{
    AttemptBudgetSettings, BreakerSettings, FallbackSettings, HealthSettings, PacingSettings,
    ReconnectSettings, RestSettings, RotationSettings, Settings, TransportSettings,
};
use crate::client::{ClientConfig, PollingMode, RotationConfig};
use crate::domain::{StreamName, parse_selection};
use crate::rest::RestConfig;

impl Default for ReconnectSettings {
    fn default() -> Self {
        let r = ReconnectConfig::default();
        ReconnectSettings {
            initial_delay: r.initial_delay,
            max_delay: r.max_delay,
            multiplier: r.multiplier,
            jitter: r.jitter,
            healthy_after: r.healthy_after,
            rate_limit_delay: r.rate_limit_delay,
            rate_limit_max_delay: r.rate_limit_max_delay,
            max_attempts: r.max_attempts.unwrap_or(0),
            budget: AttemptBudgetSettings::default(),
        }
    }
}

impl Default for AttemptBudgetSettings {
    fn default() -> Self {
        let b = BudgetConfig::default();
        AttemptBudgetSettings {
            attempts: b.attempts,
            window: b.window,
            burst: b.burst,
        }
    }
}

impl Default for BreakerSettings {
    fn default() -> Self {
        let b = ClientConfig::default().breaker;
        BreakerSettings {
            consecutive_failures: b.consecutive_failures.unwrap_or(5),
            open_duration: b.open_duration,
            open_multiplier: b.open_multiplier,
            max_open_duration: b.max_open_duration,
            half_open_probes: b.half_open_probes,
            half_open_successes: b.half_open_successes,
            probe_timeout: b.probe_timeout,
        }
    }
}

impl Default for PacingSettings {
    fn default() -> Self {
        let p = Pacing::default();
        PacingSettings {
            max_frames: p.max_frames,
            window: p.window,
        }
    }
}

impl Default for TransportSettings {
    fn default() -> Self {
        let t = TransportConfig::default();
        TransportSettings {
            handshake_timeout: t.handshake_timeout,
            silence_timeout: t.silence_timeout,
            close_timeout: t.close_timeout,
        }
    }
}

impl Default for RotationSettings {
    fn default() -> Self {
        let r = RotationConfig::default();
        RotationSettings {
            after: r.after,
            jitter: r.jitter,
            overlap_timeout: r.overlap_timeout,
        }
    }
}

impl Default for HealthSettings {
    fn default() -> Self {
        let h = HealthConfig::default();
        HealthSettings {
            silence_warning_factor: h.silence_warning_factor,
            silence_degraded_factor: h.silence_degraded_factor,
            down_grace: h.down_grace,
            flap_reconnects: h.flap_reconnects,
            flap_window: h.flap_window,
            error_rate_warning: h.error_rate_warning,
            error_rate_degraded: h.error_rate_degraded,
            latency_warning: h.latency_warning,
            latency_degraded: h.latency_degraded,
            lag_warning: h.lag_warning,
            lag_degraded: h.lag_degraded,
            rest_weight_warning: h.rest_weight_warning,
        }
    }
}

impl Default for FallbackSettings {
    fn default() -> Self {
        let f = crate::client::FallbackConfig::default();
        FallbackSettings {
            polling: f.polling == PollingMode::Enabled,
            poll_share: f.poll_share,
            failed_attempts: f.connection.failed_attempts,
            failed_after: f.connection.failed_after,
            min_dwell: f.endpoints.min_dwell,
            failback_after: f.endpoints.failback_after,
            stale_factor: f.cache.stale_factor,
        }
    }
}

impl Default for RestSettings {
    fn default() -> Self {
        let r = RestConfig::default();
        RestSettings {
            weight_limit: r.budget.limit,
            weight_share: r.budget.share,
            weight_window: r.budget.window,
            timeout: r.timeout,
            max_retries: r.max_retries,
            max_wait: r.max_wait,
        }
    }
}

impl Settings {
    /// The library configuration these settings describe: every key written
    /// over [`ClientConfig::default`]. Call [`problems`](Self::problems) first
    /// ([`Loader`](super::Loader) does); [`Client::new`](crate::Client::new)
    /// validates again.
    #[must_use]
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::default();
        c.endpoints.clone_from(&self.endpoints.ws);
        let mut rest = self.endpoints.rest.iter();
        if let Some(primary) = rest.next() {
            c.rest.base_url.clone_from(primary);
        }
        c.rest.fallback_urls = rest.cloned().collect();

        let s = &self.streams;
        c.streams_per_connection = s.per_connection;
        c.streams_per_request = s.per_request;
        c.subscriber_buffer = s.subscriber_buffer;

        let r = &self.reconnect;
        c.reconnect = ReconnectConfig {
            initial_delay: r.initial_delay,
            max_delay: r.max_delay,
            multiplier: r.multiplier,
            jitter: r.jitter,
            healthy_after: r.healthy_after,
            rate_limit_delay: r.rate_limit_delay,
            rate_limit_max_delay: r.rate_limit_max_delay,
            max_attempts: (r.max_attempts > 0).then_some(r.max_attempts),
            ..c.reconnect
        };
        c.attempt_budget = BudgetConfig {
            attempts: r.budget.attempts,
            window: r.budget.window,
            burst: r.budget.burst,
        };

        let b = &self.breaker;
        c.breaker = BreakerConfig {
            consecutive_failures: Some(b.consecutive_failures),
            open_duration: b.open_duration,
            open_multiplier: b.open_multiplier,
            max_open_duration: b.max_open_duration,
            half_open_probes: b.half_open_probes,
            half_open_successes: b.half_open_successes,
            probe_timeout: b.probe_timeout,
            ..c.breaker
        };

        c.transport.pacing = Pacing {
            max_frames: self.pacing.max_frames,
            window: self.pacing.window,
        };
        c.transport.handshake_timeout = self.transport.handshake_timeout;
        c.transport.silence_timeout = self.transport.silence_timeout;
        c.transport.close_timeout = self.transport.close_timeout;

        c.rotation = RotationConfig {
            after: self.rotation.after,
            jitter: self.rotation.jitter,
            overlap_timeout: self.rotation.overlap_timeout,
        };

        let h = &self.health;
        c.health = HealthConfig {
            silence_warning_factor: h.silence_warning_factor,
            silence_degraded_factor: h.silence_degraded_factor,
            down_grace: h.down_grace,
            flap_reconnects: h.flap_reconnects,
            flap_window: h.flap_window,
            error_rate_warning: h.error_rate_warning,
            error_rate_degraded: h.error_rate_degraded,
            latency_warning: h.latency_warning,
            latency_degraded: h.latency_degraded,
            lag_warning: h.lag_warning,
            lag_degraded: h.lag_degraded,
            rest_weight_warning: h.rest_weight_warning,
            ..c.health
        };

        let f = &self.fallback;
        c.fallback.polling = if f.polling {
            PollingMode::Enabled
        } else {
            PollingMode::Disabled
        };
        c.fallback.poll_share = f.poll_share;
        c.fallback.connection = ConnectionConfig {
            failed_attempts: f.failed_attempts,
            failed_after: f.failed_after,
            ..c.fallback.connection
        };
        c.fallback.endpoints = EndpointConfig {
            min_dwell: f.min_dwell,
            failback_after: f.failback_after,
            ..c.fallback.endpoints
        };
        c.fallback.cache = CacheConfig {
            stale_factor: f.stale_factor,
            ..c.fallback.cache
        };

        let rest = &self.rest;
        c.rest.budget.limit = rest.weight_limit;
        c.rest.budget.share = rest.weight_share;
        c.rest.budget.window = rest.weight_window;
        c.rest.timeout = rest.timeout;
        c.rest.max_retries = rest.max_retries;
        c.rest.max_wait = rest.max_wait;
        c
    }

    /// The streams `[streams]` selects: every type for every symbol (types
    /// such as `!miniTicker@arr` once).
    ///
    /// # Errors
    /// The first bad symbol or type, with how to write it.
    pub fn selected_streams(&self) -> Result<Vec<StreamName>, String> {
        if self.streams.types.is_empty() && self.streams.symbols.is_empty() {
            return Ok(Vec::new());
        }
        parse_selection(
            &self.streams.symbols.join(","),
            &self.streams.types.join(","),
        )
        .map_err(|e| e.to_string())
    }
}
