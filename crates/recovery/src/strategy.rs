//! Recovery strategies and the policy that picks one per error class.

use std::fmt;
use std::time::Duration;

use crate::config::MAX_DURATION;
use crate::{Error, ErrorClass};

/// How to recover from a failure: when to try again, if at all.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// Try again at once.
    Immediate,
    /// Try again after a fixed delay (greater than zero).
    Delayed(Duration),
    /// Try again on a schedule: the n-th retry of an episode waits the n-th
    /// step, and the last step repeats. Non-empty and non-decreasing; a
    /// first step of zero retries at once.
    Progressive(Vec<Duration>),
    /// Do not retry: wait for an operator
    /// ([`Recovery::resume`](crate::Recovery::resume)).
    Manual,
}

/// The name of a [`Strategy`], without its parameters, for events and
/// metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StrategyKind {
    /// [`Strategy::Immediate`].
    Immediate,
    /// [`Strategy::Delayed`].
    Delayed,
    /// [`Strategy::Progressive`].
    Progressive,
    /// [`Strategy::Manual`].
    Manual,
}

impl StrategyKind {
    /// The kind's name: `immediate`, `delayed`, `progressive`, `manual`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::Delayed => "delayed",
            Self::Progressive => "progressive",
            Self::Manual => "manual",
        }
    }
}

impl Strategy {
    /// The delay before retry number `attempt` (from 1) of an episode;
    /// `None` for [`Strategy::Manual`], which never retries on its own.
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Option<Duration> {
        match self {
            Self::Immediate => Some(Duration::ZERO),
            Self::Delayed(delay) => Some(*delay),
            Self::Progressive(steps) => {
                let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
                steps.get(index).or_else(|| steps.last()).copied()
            }
            Self::Manual => None,
        }
    }

    /// The strategy's kind.
    #[must_use]
    pub fn kind(&self) -> StrategyKind {
        match self {
            Self::Immediate => StrategyKind::Immediate,
            Self::Delayed(_) => StrategyKind::Delayed,
            Self::Progressive(_) => StrategyKind::Progressive,
            Self::Manual => StrategyKind::Manual,
        }
    }

    fn validate(&self, field: &'static str) -> Result<(), Error> {
        match self {
            Self::Delayed(delay) if delay.is_zero() => Err(Error::invalid(
                field,
                self,
                "must have a delay greater than zero (use Immediate for none)",
            )),
            Self::Delayed(delay) if *delay > MAX_DURATION => {
                Err(Error::invalid(field, self, "must not wait above 365 days"))
            }
            Self::Immediate | Self::Manual | Self::Delayed(_) => Ok(()),
            Self::Progressive(steps) => {
                if steps.is_empty() {
                    return Err(Error::invalid(field, self, "must have at least one step"));
                }
                if steps.iter().any(|step| *step > MAX_DURATION) {
                    return Err(Error::invalid(field, self, "must not wait above 365 days"));
                }
                if steps.windows(2).any(|pair| pair[1] < pair[0]) {
                    return Err(Error::invalid(field, self, "must not decrease"));
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Immediate => f.write_str("immediate"),
            Self::Delayed(delay) => write!(f, "delayed {delay:?}"),
            Self::Progressive(steps) => {
                f.write_str("progressive ")?;
                for (i, step) in steps.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{step:?}")?;
                }
                f.write_str(" (last repeats)")
            }
            Self::Manual => f.write_str("manual"),
        }
    }
}

/// Which [`Strategy`] each [`ErrorClass`] gets.
///
/// | class | default | why |
/// |---|---|---|
/// | transient | immediate | a passing fault is usually gone at once; repeated failure escalates after `max_attempts` |
/// | rate-limited | delayed 60 s | a minute is Binance's weight window; never before `retry_after` either |
/// | authentication | manual | a person must fix the key |
/// | server | progressive 1, 2, 4, 8, 16, 30 s | give an overloaded server room, as DESIGN.md §5's reconnect schedule does |
/// | configuration | manual | the same request fails the same way |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyPolicy {
    /// For [`ErrorClass::Transient`].
    pub transient: Strategy,
    /// For [`ErrorClass::RateLimited`]; the wait is never shorter than the
    /// failure's `retry_after`.
    pub rate_limited: Strategy,
    /// For [`ErrorClass::Authentication`].
    pub authentication: Strategy,
    /// For [`ErrorClass::Server`].
    pub server: Strategy,
    /// For [`ErrorClass::Configuration`].
    pub configuration: Strategy,
}

impl Default for StrategyPolicy {
    fn default() -> Self {
        Self {
            transient: Strategy::Immediate,
            rate_limited: Strategy::Delayed(Duration::from_secs(60)),
            authentication: Strategy::Manual,
            server: Strategy::Progressive([1, 2, 4, 8, 16, 30].map(Duration::from_secs).to_vec()),
            configuration: Strategy::Manual,
        }
    }
}

impl StrategyPolicy {
    /// The strategy for `class`.
    #[must_use]
    pub fn strategy(&self, class: ErrorClass) -> &Strategy {
        match class {
            ErrorClass::Transient => &self.transient,
            ErrorClass::RateLimited => &self.rate_limited,
            ErrorClass::Authentication => &self.authentication,
            ErrorClass::Server => &self.server,
            ErrorClass::Configuration => &self.configuration,
        }
    }

    /// Checks every strategy; the first broken rule comes back as
    /// [`Error::InvalidConfig`] naming the field (`policy.server`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero [`Strategy::Delayed`], an empty or
    /// decreasing [`Strategy::Progressive`], or a wait above 365 days.
    pub fn validate(&self) -> Result<(), Error> {
        self.transient.validate("policy.transient")?;
        self.rate_limited.validate("policy.rate_limited")?;
        self.authentication.validate("policy.authentication")?;
        self.server.validate("policy.server")?;
        self.configuration.validate("policy.configuration")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn delays_per_attempt() {
        let progressive = Strategy::Progressive(vec![secs(1), secs(5)]);
        let table = [
            (Strategy::Immediate, 1, Some(Duration::ZERO)),
            (Strategy::Delayed(secs(3)), 7, Some(secs(3))),
            (progressive.clone(), 0, Some(secs(1))),
            (progressive.clone(), 1, Some(secs(1))),
            (progressive.clone(), 2, Some(secs(5))),
            (progressive, u32::MAX, Some(secs(5))),
            (Strategy::Manual, 1, None),
        ];
        for (strategy, attempt, want) in table {
            assert_eq!(strategy.delay(attempt), want, "{strategy} #{attempt}");
        }
    }

    #[test]
    fn policy_rules_name_the_field() {
        let cases = [
            (
                StrategyPolicy {
                    transient: Strategy::Delayed(Duration::ZERO),
                    ..StrategyPolicy::default()
                },
                "invalid configuration: policy.transient = Delayed(0ns) must have a delay \
                 greater than zero (use Immediate for none)",
            ),
            (
                StrategyPolicy {
                    server: Strategy::Progressive(Vec::new()),
                    ..StrategyPolicy::default()
                },
                "invalid configuration: policy.server = Progressive([]) must have at least one step",
            ),
            (
                StrategyPolicy {
                    rate_limited: Strategy::Progressive(vec![secs(5), secs(1)]),
                    ..StrategyPolicy::default()
                },
                "invalid configuration: policy.rate_limited = Progressive([5s, 1s]) must not decrease",
            ),
            (
                StrategyPolicy {
                    configuration: Strategy::Delayed(MAX_DURATION + secs(1)),
                    ..StrategyPolicy::default()
                },
                "invalid configuration: policy.configuration = Delayed(31536001s) must not wait \
                 above 365 days",
            ),
        ];
        for (policy, message) in cases {
            assert_eq!(policy.validate().expect_err(message).to_string(), message);
        }
        assert_eq!(StrategyPolicy::default().validate(), Ok(()));
    }

    #[test]
    fn display() {
        assert_eq!(
            StrategyPolicy::default().server.to_string(),
            "progressive 1s, 2s, 4s, 8s, 16s, 30s (last repeats)"
        );
        assert_eq!(Strategy::Delayed(secs(60)).to_string(), "delayed 60s");
    }
}
