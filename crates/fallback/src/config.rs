//! Configuration: plain structs with public fields, documented defaults and
//! a `validate()` that names the field, the value and the rule it breaks.

use std::time::Duration;

use crate::Error;

/// The longest duration any field accepts: one year.
///
/// The bound keeps every `Instant + Duration` the components compute far
/// from overflow, so no configuration can make them panic.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The rules of a [`ConnectionMachine`](crate::ConnectionMachine).
///
/// | field | default | meaning |
/// |---|---|---|
/// | `unstable_drops` | 3 | this many drops … |
/// | `unstable_window` | 60 s | … within this window make the connection unstable |
/// | `failed_attempts` | 5 | failed reconnect attempts in a row that make it failed |
/// | `failed_after` | 60 s | down this long makes it failed, whatever the attempts |
/// | `stable_after` | 30 s | time up (recovering, unstable) or without trouble (degraded) before it is healthy again |
/// | `degraded_errors` | 3 | transient errors on a live connection … |
/// | `error_window` | 60 s | … within this window make it degraded |
///
/// Why these values: three drops a minute is a connection that cannot hold
/// (DESIGN.md's reconnect schedule needs 7 s for its first three retries);
/// five failed attempts with the 1, 2, 4, 8, 16 s schedule is about 31 s of
/// trying, and 60 s down covers slower schedules; 30 s is one and a half of
/// Binance's 20 s server pings, so a connection that is stable for that long
/// has answered at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct ConnectionConfig {
    /// Drops within `unstable_window` that make a connection unstable. At
    /// least 1.
    pub unstable_drops: u32,
    /// The window `unstable_drops` are counted in. Greater than zero.
    pub unstable_window: Duration,
    /// Failed attempts in a row (a drop while down counts as one) that make
    /// a reconnecting connection failed. At least 1.
    pub failed_attempts: u32,
    /// A connection down this long is failed, however few attempts failed.
    /// Greater than zero.
    pub failed_after: Duration,
    /// Recovering and unstable connections are healthy after this long up;
    /// a degraded one after this long without trouble. Greater than zero.
    pub stable_after: Duration,
    /// Transient errors within `error_window` that make a live connection
    /// degraded. At least 1.
    pub degraded_errors: u32,
    /// The window `degraded_errors` are counted in. Greater than zero.
    pub error_window: Duration,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            unstable_drops: 3,
            unstable_window: Duration::from_secs(60),
            failed_attempts: 5,
            failed_after: Duration::from_secs(60),
            stable_after: Duration::from_secs(30),
            degraded_errors: 3,
            error_window: Duration::from_secs(60),
        }
    }
}

impl ConnectionConfig {
    /// Checks every rule; the first broken one comes back as
    /// [`Error::InvalidConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule,
    /// e.g. `unstable_drops = 0 must be at least 1`.
    pub fn validate(&self) -> Result<(), Error> {
        at_least_one("unstable_drops", self.unstable_drops)?;
        positive("unstable_window", self.unstable_window)?;
        at_least_one("failed_attempts", self.failed_attempts)?;
        positive("failed_after", self.failed_after)?;
        positive("stable_after", self.stable_after)?;
        at_least_one("degraded_errors", self.degraded_errors)?;
        positive("error_window", self.error_window)?;
        Ok(())
    }
}

/// How an [`EndpointSet`](crate::EndpointSet) scores endpoints and switches
/// between them.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `ewma_weight` | 0.3 | weight of the newest report in each moving average |
/// | `healthy_score` | 0.6 | an endpoint at or above this score is healthy |
/// | `switch_margin` | 0.1 | with no healthy alternative, switch only to one scoring this much more |
/// | `slow_connect` | 2 s | connect time that costs the full latency penalty |
/// | `latency_weight` | 0.25 | the largest share of the score connect time can take |
/// | `silence_weight` | 0.5 | the largest share of the score silences can take |
/// | `down_after` | 5 | failures in a row that take an endpoint down … |
/// | `down_for` | 30 s | … for this long after its last failure |
/// | `min_dwell` | 30 s | at least this long between two switches (unless forced) |
/// | `failback_after` | 120 s | the primary must be healthy this long before failing back |
/// | `probe_interval` | `Some(30 s)` | while on an alternative, ask to probe the primary this often |
///
/// Why these values: with a weight of 0.3, a fresh endpoint stays healthy
/// after one failure (score 0.7) and is unhealthy after two (0.49), so one
/// blip does not move traffic; `down_after` and `down_for` match the
/// circuit breaker's defaults (5 failures, 30 s open); a 120 s fail-back
/// delay is four dwell periods, so a primary that recovers and relapses
/// within two minutes never gets traffic back.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct EndpointConfig {
    /// Weight of the newest report in the moving averages; in `(0, 1]`.
    pub ewma_weight: f64,
    /// Score at or above which an endpoint is healthy; in `(0, 1]`.
    pub healthy_score: f64,
    /// When no alternative is healthy, an unhealthy current endpoint is left
    /// only for one whose score is higher by at least this; in `[0, 1)`.
    pub switch_margin: f64,
    /// The connect time at which the latency penalty is full. Greater than
    /// zero.
    pub slow_connect: Duration,
    /// The largest share of the score that slow connects take; in `[0, 1]`.
    pub latency_weight: f64,
    /// The largest share of the score that silences take; in `[0, 1]`.
    pub silence_weight: f64,
    /// Failures in a row after which an endpoint is down. At least 1.
    pub down_after: u32,
    /// How long an endpoint stays down after its last failure; then it may
    /// be tried again. Greater than zero.
    pub down_for: Duration,
    /// The least time between two switches, unless the current endpoint is
    /// down. Greater than zero.
    pub min_dwell: Duration,
    /// How long the primary must have been healthy (no failure or silence
    /// reported since its first success) before traffic fails back to it.
    /// Greater than zero.
    pub failback_after: Duration,
    /// While serving from an alternative, how often
    /// [`poll_probe`](crate::EndpointSet::poll_probe) asks for a probe of the
    /// primary (counted from its last attempt or report). `None`: never; the
    /// primary is then judged only by reports the caller makes on its own.
    pub probe_interval: Option<Duration>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            ewma_weight: 0.3,
            healthy_score: 0.6,
            switch_margin: 0.1,
            slow_connect: Duration::from_secs(2),
            latency_weight: 0.25,
            silence_weight: 0.5,
            down_after: 5,
            down_for: Duration::from_secs(30),
            min_dwell: Duration::from_secs(30),
            failback_after: Duration::from_secs(120),
            probe_interval: Some(Duration::from_secs(30)),
        }
    }
}

impl EndpointConfig {
    /// Checks every rule; the first broken one comes back as
    /// [`Error::InvalidConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule,
    /// e.g. `min_dwell = 0ns must be greater than zero`.
    pub fn validate(&self) -> Result<(), Error> {
        unit("ewma_weight", self.ewma_weight, Bounds::Positive)?;
        unit("healthy_score", self.healthy_score, Bounds::Positive)?;
        unit("switch_margin", self.switch_margin, Bounds::BelowOne)?;
        positive("slow_connect", self.slow_connect)?;
        unit("latency_weight", self.latency_weight, Bounds::Closed)?;
        unit("silence_weight", self.silence_weight, Bounds::Closed)?;
        at_least_one("down_after", self.down_after)?;
        positive("down_for", self.down_for)?;
        positive("min_dwell", self.min_dwell)?;
        positive("failback_after", self.failback_after)?;
        if let Some(interval) = self.probe_interval {
            positive("probe_interval", interval)?;
        }
        Ok(())
    }
}

/// How a [`LastValues`](crate::LastValues) cache judges staleness.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `stale_factor` | 3.0 | a value is stale when older than this many expected intervals |
/// | `default_interval` | 10 s | expected interval of a stream that was given none |
///
/// Three intervals matches the health model's first "stream silent" rule
/// (DESIGN.md, docs/health.md); 10 s is its default normal interval.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct CacheConfig {
    /// A value is stale once its age exceeds `stale_factor × interval`.
    /// Finite and at least 1.
    pub stale_factor: f64,
    /// The expected interval of a stream without one of its own. Greater
    /// than zero.
    pub default_interval: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            stale_factor: 3.0,
            default_interval: Duration::from_secs(10),
        }
    }
}

impl CacheConfig {
    /// Checks every rule.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule.
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.stale_factor.is_finite() && self.stale_factor >= 1.0) {
            return Err(Error::invalid(
                "stale_factor",
                self.stale_factor,
                "must be a finite number of at least 1",
            ));
        }
        positive("default_interval", self.default_interval)
    }
}

/// The REST weight budget polling plans against.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `weight` | 6000 | weight the REST budget allows per window … |
/// | `window` | 60 s | … of this length (Binance Spot: 6,000 per minute) |
/// | `share` | 0.5 | the part of it polling may spend |
///
/// The facade passes its own REST budget (its client may allow itself less
/// than the server's limit); polling takes at most half, so snapshots and
/// backfills keep the other half.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct PollBudget {
    /// Weight per `window`. At least 1.
    pub weight: u32,
    /// The window's length. Between 1 ms and one day.
    pub window: Duration,
    /// Share of `weight` that polling may spend; in `[0.001, 1]`.
    pub share: f64,
}

impl Default for PollBudget {
    fn default() -> Self {
        Self {
            weight: 6000,
            window: Duration::from_secs(60),
            share: 0.5,
        }
    }
}

/// The longest budget window: one day.
pub(crate) const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

impl PollBudget {
    /// Checks every rule.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule,
    /// e.g. `share = 1.5 must be at least 0.001 and at most 1`.
    pub fn validate(&self) -> Result<(), Error> {
        at_least_one("weight", self.weight)?;
        if self.window < Duration::from_millis(1) || self.window > MAX_WINDOW {
            return Err(Error::invalid(
                "window",
                self.window,
                "must be between 1ms and one day",
            ));
        }
        if !(self.share.is_finite() && (0.001..=1.0).contains(&self.share)) {
            return Err(Error::invalid(
                "share",
                self.share,
                "must be at least 0.001 and at most 1",
            ));
        }
        Ok(())
    }

    /// The weight polling may spend per window: `weight × share`.
    #[must_use]
    pub fn polling_weight(&self) -> f64 {
        f64::from(self.weight) * self.share
    }
}

/// Which part of `[0, 1]` a number must be in.
enum Bounds {
    /// `(0, 1]`.
    Positive,
    /// `[0, 1]`.
    Closed,
    /// `[0, 1)`.
    BelowOne,
}

fn unit(field: &'static str, value: f64, bounds: Bounds) -> Result<(), Error> {
    let (ok, rule) = match bounds {
        Bounds::Positive => (value > 0.0 && value <= 1.0, "above 0 and at most 1"),
        Bounds::Closed => ((0.0..=1.0).contains(&value), "at least 0 and at most 1"),
        Bounds::BelowOne => ((0.0..1.0).contains(&value), "at least 0 and below 1"),
    };
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            value,
            format!("must be a number {rule}"),
        ))
    }
}

fn at_least_one(field: &'static str, value: u32) -> Result<(), Error> {
    if value == 0 {
        return Err(Error::invalid(field, value, "must be at least 1"));
    }
    Ok(())
}

pub(crate) fn positive(field: &'static str, value: Duration) -> Result<(), Error> {
    if value.is_zero() {
        return Err(Error::invalid(field, value, "must be greater than zero"));
    }
    if value > MAX_DURATION {
        return Err(Error::invalid(field, value, "must not exceed 365 days"));
    }
    Ok(())
}

/// `now + duration`, or `now` in the (unreachable with validated durations
/// and real instants) case that it is past `Instant`'s range.
pub(crate) fn later(now: std::time::Instant, duration: Duration) -> std::time::Instant {
    now.checked_add(duration).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(ConnectionConfig::default().validate(), Ok(()));
        assert_eq!(EndpointConfig::default().validate(), Ok(()));
        assert_eq!(CacheConfig::default().validate(), Ok(()));
        assert_eq!(PollBudget::default().validate(), Ok(()));
        assert!((PollBudget::default().polling_weight() - 3000.0).abs() < f64::EPSILON);
    }
}
