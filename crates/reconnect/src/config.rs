//! Configuration: plain structs with public fields, documented defaults and
//! a `validate()` that names the field, the value and the rule it breaks.

use std::time::Duration;

use crate::Error;

/// The longest duration any field accepts: one year.
///
/// The bound keeps every `Instant + Duration` the machine computes far from
/// overflow, so no input can make it panic.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// How a [`Reconnector`](crate::Reconnector) schedules reconnects.
///
/// The `Default` is DESIGN.md §5's contract:
///
/// | field | default | meaning |
/// |---|---|---|
/// | `initial_delay` | 1 s | first delay of an outage |
/// | `multiplier` | 2.0 | growth between delays: 1 s, 2 s, 4 s, 8 s, 16 s, 30 s … |
/// | `max_delay` | 30 s | cap; no jittered delay is ever above it |
/// | `jitter` | 0.10 | each delay is drawn uniformly from ±10 % of its nominal value |
/// | `healthy_after` | 60 s | time connected after which the schedule resets |
/// | `rate_limit_delay` | 60 s | first delay after a rate-limit cause |
/// | `rate_limit_max_delay` | 5 min | cap of the doubling rate-limit delays |
/// | `max_retry_after` | 3 days | longest `Retry-After` honoured |
/// | `max_attempts` | `None` | never abandon for a transient cause … |
/// | `max_elapsed` | `None` | … however long the outage |
///
/// Why these values:
/// - `healthy_after` is twice the 30 s dead-connection timeout (DESIGN.md
///   §5, keepalive) and spans three 20 s server pings, so a connection that
///   opens and then goes silent is judged dead before it can count as
///   healthy, and a connection that is dropped right after opening keeps
///   climbing the schedule instead of looping at 1 s.
/// - `rate_limit_delay` is twice `max_delay`, so a rate-limit cause always
///   waits longer than any ordinary reconnect; it doubles for each further
///   rate-limit cause in the same outage up to `rate_limit_max_delay`, the
///   length of Binance's 300-attempts-per-5-minutes window (PROTOCOL.md §2),
///   after which any burst we caused has left the window.
/// - `max_retry_after` is the longest IP ban Binance documents (3 days,
///   PROTOCOL.md §7); a larger `Retry-After` is treated as 3 days, so a
///   garbled header cannot park a client for years.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct ReconnectConfig {
    /// First delay of an outage, before jitter. At least 1 ms.
    pub initial_delay: Duration,
    /// Factor between one nominal delay and the next; finite and at least 1.
    pub multiplier: f64,
    /// Cap on every delay of the ordinary schedule, jitter included.
    pub max_delay: Duration,
    /// Relative jitter: a nominal delay `d` becomes a uniform draw from
    /// `[d × (1 − jitter), min(d × (1 + jitter), max_delay)]`. In `[0, 0.5]`.
    pub jitter: f64,
    /// How long a connection must stay open before it counts as healthy,
    /// which resets the schedule to `initial_delay`.
    pub healthy_after: Duration,
    /// First delay after a rate-limit cause (close 1008, handshake 429 …).
    pub rate_limit_delay: Duration,
    /// Cap of the rate-limit delays, which double per rate-limit cause in
    /// one outage. A longer `Retry-After` still wins.
    pub rate_limit_max_delay: Duration,
    /// Longest `Retry-After` honoured; longer values are clamped to it.
    pub max_retry_after: Duration,
    /// Abandon after this many reconnect attempts in one outage
    /// (`Some(0)`: never retry). `None`: no limit.
    pub max_attempts: Option<u32>,
    /// Abandon when the next attempt would start more than this long after
    /// the outage began. `None`: no limit.
    pub max_elapsed: Option<Duration>,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            multiplier: 2.0,
            max_delay: Duration::from_secs(30),
            jitter: 0.10,
            healthy_after: Duration::from_secs(60),
            rate_limit_delay: Duration::from_secs(60),
            rate_limit_max_delay: Duration::from_secs(5 * 60),
            max_retry_after: Duration::from_secs(3 * 24 * 60 * 60),
            max_attempts: None,
            max_elapsed: None,
        }
    }
}

impl ReconnectConfig {
    /// Checks every rule; the first broken one comes back as
    /// [`Error::InvalidConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule,
    /// e.g. `max_delay = 10s must not be below initial_delay = 30s`.
    pub fn validate(&self) -> Result<(), Error> {
        at_most_max("initial_delay", self.initial_delay)?;
        at_most_max("max_delay", self.max_delay)?;
        at_most_max("healthy_after", self.healthy_after)?;
        at_most_max("rate_limit_delay", self.rate_limit_delay)?;
        at_most_max("rate_limit_max_delay", self.rate_limit_max_delay)?;
        at_most_max("max_retry_after", self.max_retry_after)?;
        if self.initial_delay < Duration::from_millis(1) {
            return Err(Error::invalid(
                "initial_delay",
                self.initial_delay,
                "must be at least 1ms",
            ));
        }
        if self.max_delay < self.initial_delay {
            return Err(Error::invalid(
                "max_delay",
                self.max_delay,
                format!("must not be below initial_delay = {:?}", self.initial_delay),
            ));
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err(Error::invalid(
                "multiplier",
                self.multiplier,
                "must be a finite number of at least 1",
            ));
        }
        if !(0.0..=0.5).contains(&self.jitter) {
            return Err(Error::invalid(
                "jitter",
                self.jitter,
                "must be between 0 and 0.5",
            ));
        }
        if self.healthy_after.is_zero() {
            return Err(Error::invalid(
                "healthy_after",
                self.healthy_after,
                "must be greater than zero",
            ));
        }
        if self.rate_limit_delay.is_zero() {
            return Err(Error::invalid(
                "rate_limit_delay",
                self.rate_limit_delay,
                "must be greater than zero",
            ));
        }
        if self.rate_limit_max_delay < self.rate_limit_delay {
            return Err(Error::invalid(
                "rate_limit_max_delay",
                self.rate_limit_max_delay,
                format!(
                    "must not be below rate_limit_delay = {:?}",
                    self.rate_limit_delay
                ),
            ));
        }
        if let Some(limit) = self.max_elapsed {
            at_most_max("max_elapsed", limit)?;
            if limit.is_zero() {
                return Err(Error::invalid(
                    "max_elapsed",
                    limit,
                    "must be greater than zero when set",
                ));
            }
        }
        Ok(())
    }
}

/// How many connection attempts an [`AttemptBudget`](crate::AttemptBudget)
/// grants.
///
/// The `Default` follows Binance's limit of 300 connection attempts per
/// 5 minutes per IP (PROTOCOL.md §2):
///
/// | field | default | meaning |
/// |---|---|---|
/// | `attempts` | 300 | most attempts granted in any window of `window` |
/// | `window` | 5 min | the window length |
/// | `burst` | 150 | attempts a full budget grants at once |
///
/// The budget is a GCRA (token bucket) of `burst` cells refilled at
/// `attempts − burst` per `window`. In any window of length `window` it
/// grants at most the `burst` cells it held at the window's start plus the
/// `attempts − burst` refilled during it, so `attempts` is never exceeded,
/// whatever the pattern of requests. A bucket of all 300 cells refilled at
/// 300 per 5 min would grant up to 599 in one window, so the burst is half.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct BudgetConfig {
    /// Most attempts granted in any window of length `window`; at least 2.
    pub attempts: u32,
    /// The window length; greater than zero.
    pub window: Duration,
    /// Attempts a full budget grants at once; at least 1, below `attempts`.
    pub burst: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            attempts: 300,
            window: Duration::from_secs(5 * 60),
            burst: 150,
        }
    }
}

impl BudgetConfig {
    /// Checks every rule; the first broken one comes back as
    /// [`Error::InvalidConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule.
    pub fn validate(&self) -> Result<(), Error> {
        at_most_max("window", self.window)?;
        if self.attempts < 2 {
            return Err(Error::invalid(
                "attempts",
                self.attempts,
                "must be at least 2 (a burst and a refill)",
            ));
        }
        if self.burst == 0 || self.burst >= self.attempts {
            return Err(Error::invalid(
                "burst",
                self.burst,
                format!("must be at least 1 and below attempts = {}", self.attempts),
            ));
        }
        if self.refill_interval().is_zero() {
            return Err(Error::invalid(
                "window",
                self.window,
                "must be long enough to refill one attempt in at least 1ns",
            ));
        }
        Ok(())
    }

    /// Time to refill one attempt: `window / (attempts − burst)`, rounded
    /// up to the nanosecond so rounding can never let one extra attempt in.
    pub(crate) fn refill_interval(&self) -> Duration {
        let refills = u128::from(self.attempts.saturating_sub(self.burst).max(1));
        let nanos = self.window.as_nanos().div_ceil(refills);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

fn at_most_max(field: &'static str, value: Duration) -> Result<(), Error> {
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
        assert_eq!(ReconnectConfig::default().validate(), Ok(()));
        assert_eq!(BudgetConfig::default().validate(), Ok(()));
        assert_eq!(
            BudgetConfig::default().refill_interval(),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn each_rule_names_its_field() {
        let base = ReconnectConfig::default;
        let cases: Vec<(ReconnectConfig, &str)> = vec![
            (
                ReconnectConfig {
                    initial_delay: Duration::from_secs(30),
                    max_delay: Duration::from_secs(10),
                    ..base()
                },
                "invalid configuration: max_delay = 10s must not be below initial_delay = 30s",
            ),
            (
                ReconnectConfig {
                    initial_delay: Duration::ZERO,
                    ..base()
                },
                "invalid configuration: initial_delay = 0ns must be at least 1ms",
            ),
            (
                ReconnectConfig {
                    multiplier: f64::NAN,
                    ..base()
                },
                "invalid configuration: multiplier = NaN must be a finite number of at least 1",
            ),
            (
                ReconnectConfig {
                    multiplier: 0.5,
                    ..base()
                },
                "invalid configuration: multiplier = 0.5 must be a finite number of at least 1",
            ),
            (
                ReconnectConfig {
                    jitter: 0.6,
                    ..base()
                },
                "invalid configuration: jitter = 0.6 must be between 0 and 0.5",
            ),
            (
                ReconnectConfig {
                    jitter: -0.1,
                    ..base()
                },
                "invalid configuration: jitter = -0.1 must be between 0 and 0.5",
            ),
            (
                ReconnectConfig {
                    healthy_after: Duration::ZERO,
                    ..base()
                },
                "invalid configuration: healthy_after = 0ns must be greater than zero",
            ),
            (
                ReconnectConfig {
                    rate_limit_max_delay: Duration::from_secs(10),
                    ..base()
                },
                "invalid configuration: rate_limit_max_delay = 10s must not be below \
                 rate_limit_delay = 60s",
            ),
            (
                ReconnectConfig {
                    max_elapsed: Some(Duration::ZERO),
                    ..base()
                },
                "invalid configuration: max_elapsed = 0ns must be greater than zero when set",
            ),
            (
                ReconnectConfig {
                    max_retry_after: MAX_DURATION + Duration::from_secs(1),
                    ..base()
                },
                "invalid configuration: max_retry_after = 31536001s must not exceed 365 days",
            ),
        ];
        for (config, message) in cases {
            let err = config.validate().expect_err(message);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn budget_rules() {
        let cases = [
            (
                BudgetConfig {
                    attempts: 1,
                    ..BudgetConfig::default()
                },
                "invalid configuration: attempts = 1 must be at least 2 (a burst and a refill)",
            ),
            (
                BudgetConfig {
                    burst: 300,
                    ..BudgetConfig::default()
                },
                "invalid configuration: burst = 300 must be at least 1 and below attempts = 300",
            ),
            (
                BudgetConfig {
                    burst: 0,
                    ..BudgetConfig::default()
                },
                "invalid configuration: burst = 0 must be at least 1 and below attempts = 300",
            ),
            (
                BudgetConfig {
                    window: Duration::ZERO,
                    ..BudgetConfig::default()
                },
                "invalid configuration: window = 0ns must be long enough to refill one attempt \
                 in at least 1ns",
            ),
        ];
        for (config, message) in cases {
            let err = config.validate().expect_err(message);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn refill_interval_rounds_up() {
        let config = BudgetConfig {
            attempts: 4,
            window: Duration::from_nanos(10),
            burst: 1,
        };
        // 10 ns / 3 refills = 3.33 ns, rounded up to 4 ns: 1 + floor(10 / 4) = 3 ≤ 4.
        assert_eq!(config.refill_interval(), Duration::from_nanos(4));
    }
}
