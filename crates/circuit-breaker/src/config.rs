//! Configuration: plain structs with public fields, documented defaults and
//! a `validate()` that names the field, the value and the rule it breaks.

use std::time::Duration;

use crate::Error;

/// The longest duration any field accepts: one year.
///
/// The bound keeps every `Instant + Duration` the breaker computes far from
/// overflow, so no input can make it panic.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The largest count-based window, in calls. The window is allocated once,
/// when the breaker is built, one byte per call.
pub const MAX_WINDOW_CALLS: u32 = 100_000;

/// The most buckets a time-based window may have. They are allocated once,
/// when the breaker is built.
pub const MAX_WINDOW_BUCKETS: u32 = 10_000;

/// How a [`Breaker`](crate::Breaker) trips, waits and recovers.
///
/// The `Default` is DESIGN.md §5's contract:
///
/// | field | default | meaning |
/// |---|---|---|
/// | `consecutive_failures` | `Some(5)` | open after 5 failures in a row |
/// | `failure_rate` | `None` | no failure-rate rule (see [`FailureRate`]) |
/// | `slow_call` | `None` | slow successes are not failures |
/// | `open_duration` | 30 s | how long the first opening lasts |
/// | `open_multiplier` | 1.0 | each re-opening (a failed probe) waits this much longer … |
/// | `max_open_duration` | 5 min | … up to this |
/// | `half_open_probes` | 1 | calls admitted at once while half-open |
/// | `half_open_successes` | 1 | successful probes that close the breaker |
/// | `probe_timeout` | 30 s | half-open with probes out and no news for this long re-opens |
///
/// Durations are [`Duration`]s, which cannot be negative (with the `serde`
/// feature, a negative duration in a config file does not parse); zero is
/// rejected wherever it would make no sense.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct BreakerConfig {
    /// Open after this many failures in a row while closed. At least 1;
    /// `None` turns the rule off (then `failure_rate` must be set).
    pub consecutive_failures: Option<u32>,
    /// Open when the failure rate over a window reaches a threshold, once
    /// the window holds enough calls. `None` turns the rule off.
    pub failure_rate: Option<FailureRate>,
    /// A call that succeeds but takes at least this long (from admission to
    /// result) counts as a failure. `None`: never. Greater than zero.
    pub slow_call: Option<Duration>,
    /// How long the breaker stays open after it trips, before it admits
    /// probes. Greater than zero.
    pub open_duration: Duration,
    /// Growth of the open duration for each re-opening without a close in
    /// between (a failed or timed-out probe): `open_duration ×
    /// open_multiplier^reopens`, capped at `max_open_duration`. Finite and
    /// at least 1 (1: constant).
    pub open_multiplier: f64,
    /// Cap on the grown open duration; not below `open_duration`.
    pub max_open_duration: Duration,
    /// Probes admitted at once while half-open; others are rejected. At
    /// least 1.
    pub half_open_probes: u32,
    /// Successful probes needed to close the breaker; one failure re-opens
    /// it. At least 1.
    pub half_open_successes: u32,
    /// While half-open with probes out, the breaker re-opens (as if a probe
    /// failed) when no probe has been admitted or answered for this long. It bounds the damage of a hung probe or a permit dropped
    /// without a result. Greater than zero.
    pub probe_timeout: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            consecutive_failures: Some(5),
            failure_rate: None,
            slow_call: None,
            open_duration: Duration::from_secs(30),
            open_multiplier: 1.0,
            max_open_duration: Duration::from_secs(5 * 60),
            half_open_probes: 1,
            half_open_successes: 1,
            probe_timeout: Duration::from_secs(30),
        }
    }
}

/// The failure-rate trip rule: open when, over `window`, at least
/// `minimum_calls` calls were recorded and the share of failures among them
/// is at least `threshold`.
///
/// The `Default`: 50 % over the last 60 s (12 buckets of 5 s), once at
/// least 10 calls were recorded.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct FailureRate {
    /// Failures ÷ calls at or above which the breaker opens; in `(0, 1]`.
    pub threshold: f64,
    /// Calls the window must hold before the rate counts. At least 1, and
    /// not above a count-based window's size.
    pub minimum_calls: u32,
    /// Which calls the rate is taken over.
    pub window: Window,
}

impl Default for FailureRate {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            minimum_calls: 10,
            window: Window::Time {
                length: Duration::from_secs(60),
                buckets: 12,
            },
        }
    }
}

/// The calls a [`FailureRate`] is taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "snake_case", deny_unknown_fields)
)]
#[non_exhaustive]
pub enum Window {
    /// The last `n` recorded calls. `n` in `1..=MAX_WINDOW_CALLS`.
    Calls(u32),
    /// The calls recorded in the last `length`, kept in `buckets` equal
    /// buckets: the window slides in steps of `length / buckets`, so it
    /// covers between `length − length / buckets` and `length`.
    Time {
        /// The window's length; greater than zero.
        length: Duration,
        /// Buckets in `1..=MAX_WINDOW_BUCKETS`, each at least 1 ms long.
        buckets: u32,
    },
}

impl BreakerConfig {
    /// Checks every rule; the first broken one comes back as
    /// [`Error::InvalidConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule,
    /// e.g. `half_open_probes = 0 must be at least 1`.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(failures) = self.consecutive_failures {
            at_least_one("consecutive_failures", failures)?;
        }
        match &self.failure_rate {
            Some(rate) => rate.validate()?,
            None if self.consecutive_failures.is_none() => {
                return Err(Error::invalid(
                    "consecutive_failures",
                    None::<u32>,
                    "must be set when failure_rate is None: a breaker with no trip rule \
                     never opens by itself",
                ));
            }
            None => {}
        }
        if let Some(slow) = self.slow_call {
            positive("slow_call", slow)?;
        }
        positive("open_duration", self.open_duration)?;
        if !(self.open_multiplier.is_finite() && self.open_multiplier >= 1.0) {
            return Err(Error::invalid(
                "open_multiplier",
                self.open_multiplier,
                "must be a finite number of at least 1",
            ));
        }
        positive("max_open_duration", self.max_open_duration)?;
        if self.max_open_duration < self.open_duration {
            return Err(Error::invalid(
                "max_open_duration",
                self.max_open_duration,
                format!("must not be below open_duration = {:?}", self.open_duration),
            ));
        }
        at_least_one("half_open_probes", self.half_open_probes)?;
        at_least_one("half_open_successes", self.half_open_successes)?;
        positive("probe_timeout", self.probe_timeout)?;
        Ok(())
    }
}

impl FailureRate {
    /// Checks every rule of the failure-rate rule; field names are prefixed
    /// with `failure_rate.`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule.
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.threshold.is_finite() && self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(Error::invalid(
                "failure_rate.threshold",
                self.threshold,
                "must be a number above 0 and at most 1",
            ));
        }
        at_least_one("failure_rate.minimum_calls", self.minimum_calls)?;
        match self.window {
            Window::Calls(calls) => {
                if !(1..=MAX_WINDOW_CALLS).contains(&calls) {
                    return Err(Error::invalid(
                        "failure_rate.window",
                        self.window,
                        format!("must hold between 1 and {MAX_WINDOW_CALLS} calls"),
                    ));
                }
                if self.minimum_calls > calls {
                    return Err(Error::invalid(
                        "failure_rate.minimum_calls",
                        self.minimum_calls,
                        format!("must not exceed the window of {calls} calls"),
                    ));
                }
            }
            Window::Time { length, buckets } => {
                positive("failure_rate.window.length", length)?;
                if !(1..=MAX_WINDOW_BUCKETS).contains(&buckets) {
                    return Err(Error::invalid(
                        "failure_rate.window.buckets",
                        buckets,
                        format!("must be between 1 and {MAX_WINDOW_BUCKETS}"),
                    ));
                }
                if length / buckets < Duration::from_millis(1) {
                    return Err(Error::invalid(
                        "failure_rate.window.buckets",
                        buckets,
                        format!("must leave buckets of at least 1ms in a window of {length:?}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn at_least_one(field: &'static str, value: u32) -> Result<(), Error> {
    if value == 0 {
        return Err(Error::invalid(field, value, "must be at least 1"));
    }
    Ok(())
}

fn positive(field: &'static str, value: Duration) -> Result<(), Error> {
    if value.is_zero() {
        return Err(Error::invalid(field, value, "must be greater than zero"));
    }
    if value > MAX_DURATION {
        return Err(Error::invalid(field, value, "must not exceed 365 days"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(BreakerConfig::default().validate(), Ok(()));
        assert_eq!(FailureRate::default().validate(), Ok(()));
        let both = BreakerConfig {
            failure_rate: Some(FailureRate::default()),
            ..BreakerConfig::default()
        };
        assert_eq!(both.validate(), Ok(()));
    }
}
