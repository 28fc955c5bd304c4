//! Configuration: plain structs with public fields, documented defaults and
//! a `validate()` that names the field, the value and the rule it breaks.

use std::time::Duration;

use crate::Error;

/// The longest duration any field accepts: one year, which keeps every
/// `Instant + Duration` far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The thresholds of the level rules (`docs/health.md`).
///
/// | field | default | rule |
/// |---|---|---|
/// | `silence_warning_factor` | 3.0 | a stream silent for 3× its normal interval is a warning … |
/// | `silence_degraded_factor` | 10.0 | … and for 10× degraded |
/// | `min_interval` | 1 s | a normal interval is never taken as shorter: fast streams warn after 3 s |
/// | `default_interval` | 10 s | normal interval of a stream with no expected interval and no history yet |
/// | `down_grace` | 5 s | a connection down this long goes from warning to unhealthy; no connected WebSocket for this long makes the system unhealthy |
/// | `flap_reconnects` | 5 | this many failures … |
/// | `flap_window` | 5 min | … within this window is a reconnect loop (degraded) |
/// | `recovery_target` | 60 s | an outage longer than this raises a recovery alert |
/// | `error_rate_warning` | 10 /min | errors per minute for a warning (per component and system) … |
/// | `error_rate_degraded` | 60 /min | … and for degraded |
/// | `latency_warning` | 1 s | mean event latency (event time → receive time) for a warning … |
/// | `latency_degraded` | 5 s | … and for degraded |
/// | `lag_warning` | 1 | events missed by slow subscribers in the last minute for a warning … |
/// | `lag_degraded` | 1000 | … and for degraded |
/// | `rest_weight_warning` | 0.8 | share of the REST weight limit used for a warning |
/// | `gap_degraded_after` | 30 s | a gap still being backfilled after this is degraded (warning before) |
/// | `data_loss_window` | 5 min | a stream that lost data stays degraded this long |
/// | `rate_half_life` | 10 s | half-life of the messages/s and bytes/s moving averages |
/// | `alerts` | [`AlertConfig::default`] | deduplication, suppression, history |
#[derive(Debug, Clone, PartialEq)]
pub struct HealthConfig {
    /// Silence, in normal intervals, that makes a stream a warning; ≥ 1.
    pub silence_warning_factor: f64,
    /// Silence, in normal intervals, that makes a stream degraded; at least
    /// `silence_warning_factor`.
    pub silence_degraded_factor: f64,
    /// The shortest normal interval assumed, however fast a stream usually is; greater than zero.
    pub min_interval: Duration,
    /// Normal interval of a stream with neither an expected interval nor
    /// enough history; greater than zero.
    pub default_interval: Duration,
    /// How long a connection may be down before it is unhealthy.
    pub down_grace: Duration,
    /// Failures within `flap_window` that make a reconnect loop; ≥ 2.
    pub flap_reconnects: u32,
    /// The window for `flap_reconnects`; greater than zero.
    pub flap_window: Duration,
    /// An outage longer than this raises a recovery alert; greater than zero.
    pub recovery_target: Duration,
    /// Errors per minute for a warning; finite and positive.
    pub error_rate_warning: f64,
    /// Errors per minute for degraded; at least `error_rate_warning`.
    pub error_rate_degraded: f64,
    /// Mean event latency for a warning; greater than zero.
    pub latency_warning: Duration,
    /// Mean event latency for degraded; at least `latency_warning`.
    pub latency_degraded: Duration,
    /// Missed events per minute for a warning; ≥ 1.
    pub lag_warning: u64,
    /// Missed events per minute for degraded; at least `lag_warning`.
    pub lag_degraded: u64,
    /// Share of the REST weight limit for a warning, in `(0, 1]`.
    pub rest_weight_warning: f64,
    /// A gap still open after this is degraded.
    pub gap_degraded_after: Duration,
    /// How long a data loss keeps its stream degraded; greater than zero.
    pub data_loss_window: Duration,
    /// Half-life of the moving averages; at least 1 s.
    pub rate_half_life: Duration,
    /// Alert deduplication, suppression and history.
    pub alerts: AlertConfig,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            silence_warning_factor: 3.0,
            silence_degraded_factor: 10.0,
            min_interval: Duration::from_secs(1),
            default_interval: Duration::from_secs(10),
            down_grace: Duration::from_secs(5),
            flap_reconnects: 5,
            flap_window: Duration::from_secs(5 * 60),
            recovery_target: Duration::from_secs(60),
            error_rate_warning: 10.0,
            error_rate_degraded: 60.0,
            latency_warning: Duration::from_secs(1),
            latency_degraded: Duration::from_secs(5),
            lag_warning: 1,
            lag_degraded: 1000,
            rest_weight_warning: 0.8,
            gap_degraded_after: Duration::from_secs(30),
            data_loss_window: Duration::from_secs(5 * 60),
            rate_half_life: Duration::from_secs(10),
            alerts: AlertConfig::default(),
        }
    }
}

/// How alerts are deduplicated, suppressed and kept.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `renotify_after` | 15 min | an active alert is notified again after this long (suppressed in between) |
/// | `clear_after` | 10 s | a condition must stay clear this long before its alert resolves |
/// | `history` | 100 | resolved alerts kept, newest first |
/// | `event_capacity` | 256 | notifications kept for `poll_alert_event`; older ones are dropped and counted |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertConfig {
    /// Re-notification interval of an active alert; greater than zero.
    pub renotify_after: Duration,
    /// Hold-down before a cleared condition resolves its alert; a condition
    /// that returns within it counts as a new occurrence of the same alert.
    pub clear_after: Duration,
    /// Resolved alerts kept; at least 1.
    pub history: usize,
    /// Unpolled notifications kept; at least 1.
    pub event_capacity: usize,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            renotify_after: Duration::from_secs(15 * 60),
            clear_after: Duration::from_secs(10),
            history: 100,
            event_capacity: 256,
        }
    }
}

impl HealthConfig {
    /// Checks every rule; the first broken one comes back as
    /// [`Error::InvalidConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule,
    /// e.g. `silence_degraded_factor = 2.0 must not be below silence_warning_factor = 3.0`.
    pub fn validate(&self) -> Result<(), Error> {
        for (field, value) in [
            ("min_interval", self.min_interval),
            ("default_interval", self.default_interval),
            ("down_grace", self.down_grace),
            ("flap_window", self.flap_window),
            ("recovery_target", self.recovery_target),
            ("latency_warning", self.latency_warning),
            ("latency_degraded", self.latency_degraded),
            ("gap_degraded_after", self.gap_degraded_after),
            ("data_loss_window", self.data_loss_window),
            ("rate_half_life", self.rate_half_life),
            ("alerts.renotify_after", self.alerts.renotify_after),
            ("alerts.clear_after", self.alerts.clear_after),
        ] {
            if value > MAX_DURATION {
                return Err(Error::invalid(field, value, "must not exceed 365 days"));
            }
        }
        for (field, value) in [
            ("min_interval", self.min_interval),
            ("default_interval", self.default_interval),
            ("flap_window", self.flap_window),
            ("recovery_target", self.recovery_target),
            ("latency_warning", self.latency_warning),
            ("data_loss_window", self.data_loss_window),
            ("alerts.renotify_after", self.alerts.renotify_after),
        ] {
            if value.is_zero() {
                return Err(Error::invalid(field, value, "must be greater than zero"));
            }
        }
        if !(self.silence_warning_factor.is_finite() && self.silence_warning_factor >= 1.0) {
            return Err(Error::invalid(
                "silence_warning_factor",
                self.silence_warning_factor,
                "must be a finite number of at least 1",
            ));
        }
        if !(self.silence_degraded_factor.is_finite()
            && self.silence_degraded_factor >= self.silence_warning_factor)
        {
            return Err(Error::invalid(
                "silence_degraded_factor",
                self.silence_degraded_factor,
                format!(
                    "must not be below silence_warning_factor = {:?}",
                    self.silence_warning_factor
                ),
            ));
        }
        if self.flap_reconnects < 2 {
            return Err(Error::invalid(
                "flap_reconnects",
                self.flap_reconnects,
                "must be at least 2",
            ));
        }
        if !(self.error_rate_warning.is_finite() && self.error_rate_warning > 0.0) {
            return Err(Error::invalid(
                "error_rate_warning",
                self.error_rate_warning,
                "must be a finite number above 0",
            ));
        }
        if !(self.error_rate_degraded.is_finite()
            && self.error_rate_degraded >= self.error_rate_warning)
        {
            return Err(Error::invalid(
                "error_rate_degraded",
                self.error_rate_degraded,
                format!(
                    "must not be below error_rate_warning = {:?}",
                    self.error_rate_warning
                ),
            ));
        }
        if self.latency_degraded < self.latency_warning {
            return Err(Error::invalid(
                "latency_degraded",
                self.latency_degraded,
                format!(
                    "must not be below latency_warning = {:?}",
                    self.latency_warning
                ),
            ));
        }
        if self.lag_warning == 0 {
            return Err(Error::invalid(
                "lag_warning",
                self.lag_warning,
                "must be at least 1",
            ));
        }
        if self.lag_degraded < self.lag_warning {
            return Err(Error::invalid(
                "lag_degraded",
                self.lag_degraded,
                format!("must not be below lag_warning = {}", self.lag_warning),
            ));
        }
        if !(self.rest_weight_warning > 0.0 && self.rest_weight_warning <= 1.0) {
            return Err(Error::invalid(
                "rest_weight_warning",
                self.rest_weight_warning,
                "must be above 0 and at most 1",
            ));
        }
        if self.rate_half_life < Duration::from_secs(1) {
            return Err(Error::invalid(
                "rate_half_life",
                self.rate_half_life,
                "must be at least 1s",
            ));
        }
        if self.alerts.history == 0 {
            return Err(Error::invalid(
                "alerts.history",
                self.alerts.history,
                "must be at least 1",
            ));
        }
        if self.alerts.event_capacity == 0 {
            return Err(Error::invalid(
                "alerts.event_capacity",
                self.alerts.event_capacity,
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(HealthConfig::default().validate(), Ok(()));
    }

    #[test]
    fn each_rule_names_its_field() {
        let base = HealthConfig::default;
        let cases: Vec<(HealthConfig, &str)> = vec![
            (
                HealthConfig {
                    silence_warning_factor: 0.5,
                    ..base()
                },
                "invalid configuration: silence_warning_factor = 0.5 must be a finite number of at least 1",
            ),
            (
                HealthConfig {
                    silence_degraded_factor: 2.0,
                    ..base()
                },
                "invalid configuration: silence_degraded_factor = 2.0 must not be below silence_warning_factor = 3.0",
            ),
            (
                HealthConfig {
                    min_interval: Duration::ZERO,
                    ..base()
                },
                "invalid configuration: min_interval = 0ns must be greater than zero",
            ),
            (
                HealthConfig {
                    flap_reconnects: 1,
                    ..base()
                },
                "invalid configuration: flap_reconnects = 1 must be at least 2",
            ),
            (
                HealthConfig {
                    error_rate_warning: f64::NAN,
                    ..base()
                },
                "invalid configuration: error_rate_warning = NaN must be a finite number above 0",
            ),
            (
                HealthConfig {
                    error_rate_degraded: 5.0,
                    ..base()
                },
                "invalid configuration: error_rate_degraded = 5.0 must not be below error_rate_warning = 10.0",
            ),
            (
                HealthConfig {
                    latency_degraded: Duration::from_millis(10),
                    ..base()
                },
                "invalid configuration: latency_degraded = 10ms must not be below latency_warning = 1s",
            ),
            (
                HealthConfig {
                    lag_warning: 0,
                    ..base()
                },
                "invalid configuration: lag_warning = 0 must be at least 1",
            ),
            (
                HealthConfig {
                    lag_degraded: 0,
                    lag_warning: 5,
                    ..base()
                },
                "invalid configuration: lag_degraded = 0 must not be below lag_warning = 5",
            ),
            (
                HealthConfig {
                    rest_weight_warning: 1.5,
                    ..base()
                },
                "invalid configuration: rest_weight_warning = 1.5 must be above 0 and at most 1",
            ),
            (
                HealthConfig {
                    rate_half_life: Duration::from_millis(100),
                    ..base()
                },
                "invalid configuration: rate_half_life = 100ms must be at least 1s",
            ),
            (
                HealthConfig {
                    down_grace: MAX_DURATION + Duration::from_secs(1),
                    ..base()
                },
                "invalid configuration: down_grace = 31536001s must not exceed 365 days",
            ),
            (
                HealthConfig {
                    alerts: AlertConfig {
                        history: 0,
                        ..AlertConfig::default()
                    },
                    ..base()
                },
                "invalid configuration: alerts.history = 0 must be at least 1",
            ),
            (
                HealthConfig {
                    alerts: AlertConfig {
                        event_capacity: 0,
                        ..AlertConfig::default()
                    },
                    ..base()
                },
                "invalid configuration: alerts.event_capacity = 0 must be at least 1",
            ),
        ];
        for (config, message) in cases {
            let err = config.validate().expect_err(message);
            assert_eq!(err.to_string(), message);
        }
    }
}
