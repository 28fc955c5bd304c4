//! Every rule of [`Settings`], checked at once: each problem names the key, its
//! value and the rule (`reconnect.max_delay = 10s must not be below
//! reconnect.initial_delay = 30s`).

use std::cmp::Ordering;
use std::time::Duration;

use super::Settings;
use super::human::format;
use crate::error::ClientError;

/// Collects problems; durations and numbers are printed as written.
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, key: &str, value: impl std::fmt::Display, rule: impl std::fmt::Display) {
        self.0.push(format!("{key} = {value} {rule}"));
    }

    fn positive(&mut self, key: &str, value: Duration) {
        if value.is_zero() {
            self.push(key, format(value), "must be greater than zero");
        }
    }

    fn at_least_one(&mut self, key: &str, value: u64) {
        if value == 0 {
            self.push(key, value, "must be at least 1");
        }
    }

    fn share(&mut self, key: &str, value: f64) {
        if !(value > 0.0 && value <= 1.0) {
            self.push(key, value, "must be above 0 and at most 1");
        }
    }

    /// `lower <= upper`, both durations.
    fn ordered(&mut self, upper: (&str, Duration), lower: (&str, Duration)) {
        if upper.1 < lower.1 {
            self.0.push(format!(
                "{} = {} must not be below {} = {}",
                upper.0,
                format(upper.1),
                lower.0,
                format(lower.1)
            ));
        }
    }
}

/// Upper bound for every duration: one year (the policy crates' limit).
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

impl Settings {
    /// Every broken rule, each as `key = value rule`; empty when the settings
    /// are valid. When none is found, [`ClientConfig::validate`](crate::ClientConfig::validate)
    /// runs on the converted configuration as a backstop.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut p = Problems(Vec::new());
        self.check_endpoints(&mut p);
        self.check_streams(&mut p);
        self.check_reconnect(&mut p);
        self.check_breaker(&mut p);
        self.check_transport(&mut p);
        self.check_health(&mut p);
        self.check_fallback_rest(&mut p);
        self.check_ops(&mut p);
        self.check_telemetry(&mut p);
        self.check_durations(&mut p);
        let mut problems = p.0;
        // The library's own rules, as a backstop for anything the checks
        // above do not cover (they would report the same problem twice
        // otherwise, under the library's names).
        if problems.is_empty()
            && let Err(ClientError::Config(more)) = self.client_config().validate()
        {
            problems.extend(
                more.into_iter()
                    .map(|problem| problem.replacen(": invalid configuration: ", ".", 1)),
            );
        }
        problems
    }

    fn check_endpoints(&self, p: &mut Problems) {
        if self.endpoints.ws.is_empty() {
            p.push(
                "endpoints.ws",
                "[]",
                "must list at least one market-stream endpoint",
            );
        }
        for (i, url) in self.endpoints.ws.iter().enumerate() {
            if let Err(e) = url.parse::<ws_transport::WsUrl>() {
                p.push(
                    "endpoints.ws",
                    format!("{url:?}"),
                    format!("is not a WebSocket URL ({e}); write it like \"wss://stream.binance.com:9443\""),
                );
            } else if self.endpoints.ws[..i].contains(url) {
                p.push(
                    "endpoints.ws",
                    format!("{url:?}"),
                    "is listed twice; list each endpoint once",
                );
            }
        }
        if self.endpoints.rest.is_empty() {
            p.push(
                "endpoints.rest",
                "[]",
                "must list at least one REST endpoint",
            );
        }
        for (i, url) in self.endpoints.rest.iter().enumerate() {
            let lower = url.to_ascii_lowercase();
            let host = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            match host {
                Some(h) if !h.is_empty() && !h.starts_with('/') && !h.contains(char::is_whitespace) => {
                    if self.endpoints.rest[..i].contains(url) {
                        p.push("endpoints.rest", format!("{url:?}"), "is listed twice; list each host once");
                    }
                }
                _ => p.push(
                    "endpoints.rest",
                    format!("{url:?}"),
                    "is not an http:// or https:// URL with a host; write it like \"https://api.binance.com\"",
                ),
            }
        }
    }

    fn check_streams(&self, p: &mut Problems) {
        let s = &self.streams;
        if let Err(e) = self.selected_streams() {
            p.push(
                "streams",
                format!("{{ symbols = {:?}, types = {:?} }}", s.symbols, s.types),
                format!("is not a valid selection: {e}"),
            );
        }
        if !(1..=1024).contains(&s.per_connection) {
            p.push(
                "streams.per_connection",
                s.per_connection,
                "must be between 1 and 1024 (Binance's limit per connection)",
            );
        }
        p.at_least_one("streams.per_request", s.per_request as u64);
        p.at_least_one("streams.subscriber_buffer", s.subscriber_buffer as u64);
    }

    fn check_reconnect(&self, p: &mut Problems) {
        let r = &self.reconnect;
        if r.initial_delay < Duration::from_millis(1) {
            p.push(
                "reconnect.initial_delay",
                format(r.initial_delay),
                "must be at least 1ms",
            );
        }
        p.ordered(
            ("reconnect.max_delay", r.max_delay),
            ("reconnect.initial_delay", r.initial_delay),
        );
        if !(r.multiplier.is_finite() && r.multiplier >= 1.0) {
            p.push(
                "reconnect.multiplier",
                r.multiplier,
                "must be a finite number of at least 1",
            );
        }
        if !(0.0..=0.5).contains(&r.jitter) {
            p.push("reconnect.jitter", r.jitter, "must be between 0 and 0.5");
        }
        p.positive("reconnect.healthy_after", r.healthy_after);
        p.positive("reconnect.rate_limit_delay", r.rate_limit_delay);
        p.ordered(
            ("reconnect.rate_limit_max_delay", r.rate_limit_max_delay),
            ("reconnect.rate_limit_delay", r.rate_limit_delay),
        );
        let b = &r.budget;
        p.at_least_one("reconnect.budget.attempts", b.attempts.into());
        p.at_least_one("reconnect.budget.burst", b.burst.into());
        p.positive("reconnect.budget.window", b.window);
        if b.burst > b.attempts {
            p.push(
                "reconnect.budget.burst",
                b.burst,
                format!(
                    "must not be above reconnect.budget.attempts = {}",
                    b.attempts
                ),
            );
        }
    }

    fn check_breaker(&self, p: &mut Problems) {
        let b = &self.breaker;
        p.at_least_one(
            "breaker.consecutive_failures",
            b.consecutive_failures.into(),
        );
        p.positive("breaker.open_duration", b.open_duration);
        if !(b.open_multiplier.is_finite() && b.open_multiplier >= 1.0) {
            p.push(
                "breaker.open_multiplier",
                b.open_multiplier,
                "must be a finite number of at least 1",
            );
        }
        p.ordered(
            ("breaker.max_open_duration", b.max_open_duration),
            ("breaker.open_duration", b.open_duration),
        );
        p.at_least_one("breaker.half_open_probes", b.half_open_probes.into());
        p.at_least_one("breaker.half_open_successes", b.half_open_successes.into());
        p.positive("breaker.probe_timeout", b.probe_timeout);
    }

    fn check_transport(&self, p: &mut Problems) {
        p.at_least_one("pacing.max_frames", self.pacing.max_frames.into());
        p.positive("pacing.window", self.pacing.window);
        let per_second =
            f64::from(self.pacing.max_frames) / self.pacing.window.as_secs_f64().max(1e-9);
        if per_second > 5.0 {
            p.push(
                "pacing.max_frames",
                self.pacing.max_frames,
                format!(
                    "per pacing.window = {} is {per_second:.1} frames per second; Binance disconnects above 5",
                    format(self.pacing.window)
                ),
            );
        }
        let t = &self.transport;
        p.positive("transport.handshake_timeout", t.handshake_timeout);
        p.positive("transport.silence_timeout", t.silence_timeout);
        p.positive("transport.close_timeout", t.close_timeout);
        let r = &self.rotation;
        if r.jitter >= r.after {
            p.push(
                "rotation.jitter",
                format(r.jitter),
                format!("must be below rotation.after = {}", format(r.after)),
            );
        }
        if r.after > Duration::from_secs(24 * 3600) {
            p.push(
                "rotation.after",
                format(r.after),
                "must not pass Binance's 24h connection lifetime",
            );
        }
        p.positive("rotation.overlap_timeout", r.overlap_timeout);
    }

    fn check_health(&self, p: &mut Problems) {
        let h = &self.health;
        if !(h.silence_warning_factor.is_finite() && h.silence_warning_factor >= 1.0) {
            p.push(
                "health.silence_warning_factor",
                h.silence_warning_factor,
                "must be a finite number of at least 1",
            );
        }
        if h.silence_degraded_factor
            .partial_cmp(&h.silence_warning_factor)
            != Some(Ordering::Greater)
        {
            p.push(
                "health.silence_degraded_factor",
                h.silence_degraded_factor,
                format!(
                    "must be above health.silence_warning_factor = {}",
                    h.silence_warning_factor
                ),
            );
        }
        p.at_least_one("health.flap_reconnects", h.flap_reconnects.into());
        p.positive("health.flap_window", h.flap_window);
        if !(h.error_rate_warning.is_finite() && h.error_rate_warning > 0.0) {
            p.push(
                "health.error_rate_warning",
                h.error_rate_warning,
                "must be a finite number above 0",
            );
        }
        if h.error_rate_degraded.partial_cmp(&h.error_rate_warning) != Some(Ordering::Greater) {
            p.push(
                "health.error_rate_degraded",
                h.error_rate_degraded,
                format!(
                    "must be above health.error_rate_warning = {}",
                    h.error_rate_warning
                ),
            );
        }
        p.positive("health.latency_warning", h.latency_warning);
        if h.latency_degraded <= h.latency_warning {
            p.push(
                "health.latency_degraded",
                format(h.latency_degraded),
                format!(
                    "must be above health.latency_warning = {}",
                    format(h.latency_warning)
                ),
            );
        }
        p.at_least_one("health.lag_warning", h.lag_warning);
        if h.lag_degraded <= h.lag_warning {
            p.push(
                "health.lag_degraded",
                h.lag_degraded,
                format!("must be above health.lag_warning = {}", h.lag_warning),
            );
        }
        p.share("health.rest_weight_warning", h.rest_weight_warning);
    }

    fn check_fallback_rest(&self, p: &mut Problems) {
        let f = &self.fallback;
        p.share("fallback.poll_share", f.poll_share);
        p.at_least_one("fallback.failed_attempts", f.failed_attempts.into());
        p.positive("fallback.failed_after", f.failed_after);
        p.positive("fallback.min_dwell", f.min_dwell);
        if !(f.stale_factor.is_finite() && f.stale_factor >= 1.0) {
            p.push(
                "fallback.stale_factor",
                f.stale_factor,
                "must be a finite number of at least 1",
            );
        }
        let r = &self.rest;
        p.at_least_one("rest.weight_limit", r.weight_limit.into());
        p.share("rest.weight_share", r.weight_share);
        p.positive("rest.weight_window", r.weight_window);
        p.positive("rest.timeout", r.timeout);
    }

    fn check_telemetry(&self, p: &mut Problems) {
        let t = &self.telemetry;
        if t.enabled() {
            let lower = t.otlp_endpoint.to_ascii_lowercase();
            let host = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            match host {
                Some(h)
                    if !h.is_empty()
                        && !h.starts_with('/')
                        && !h.contains(char::is_whitespace)
                        && !h.contains(['?', '#']) => {}
                _ => p.push(
                    "telemetry.otlp_endpoint",
                    format!("{:?}", t.otlp_endpoint),
                    "is not an http:// or https:// URL with a host (and no query); \
                     write it like \"http://127.0.0.1:4318\" (the collector's OTLP/HTTP port)",
                ),
            }
            if !cfg!(feature = "otel") {
                p.push(
                    "telemetry.otlp_endpoint",
                    format!("{:?}", t.otlp_endpoint),
                    "needs OpenTelemetry export, which this build lacks: rebuild with the cargo \
                     feature `otel` (cargo build -p crypto-exchange --features otel), or leave the key empty",
                );
            }
        }
        if t.service_name.trim().is_empty() {
            p.push(
                "telemetry.service_name",
                format!("{:?}", t.service_name),
                "must not be empty; write it like \"crypto-exchange\"",
            );
        }
    }

    fn check_ops(&self, p: &mut Problems) {
        let o = &self.ops;
        if o.enabled && !o.addr.ip().is_loopback() && o.admin_token.is_empty() {
            p.push(
                "ops.addr",
                o.addr,
                "is not a loopback address, and ops.admin_token is empty: set a token \
                 (CRYPTO_EXCHANGE_OPS_ADMIN_TOKEN) to expose the endpoint, or bind 127.0.0.1",
            );
        }
        let min = crate::client::MIN_TOKEN_LEN;
        if !o.admin_token.is_empty() && o.admin_token.chars().count() < min {
            // The value is a secret: never printed, even when it is rejected.
            p.push(
                "ops.admin_token",
                super::REDACTED,
                format!(
                    "must be at least 16 characters (it has {})",
                    o.admin_token.chars().count()
                ),
            );
        }
        if o.admin_token
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            p.push(
                "ops.admin_token",
                super::REDACTED,
                "must not contain spaces or control characters",
            );
        }
    }

    /// Every duration below the one-year bound the policy crates accept.
    fn check_durations(&self, p: &mut Problems) {
        let r = &self.reconnect;
        for (key, value) in [
            ("reconnect.initial_delay", r.initial_delay),
            ("reconnect.max_delay", r.max_delay),
            ("reconnect.healthy_after", r.healthy_after),
            ("reconnect.rate_limit_delay", r.rate_limit_delay),
            ("reconnect.rate_limit_max_delay", r.rate_limit_max_delay),
            ("reconnect.budget.window", r.budget.window),
            ("breaker.open_duration", self.breaker.open_duration),
            ("breaker.max_open_duration", self.breaker.max_open_duration),
            ("breaker.probe_timeout", self.breaker.probe_timeout),
        ] {
            if value > MAX_DURATION {
                p.push(key, format(value), "must not be above one year");
            }
        }
    }
}
