//! Configuration: plain structs with public fields, documented defaults and
//! a `validate()` that names the field, the value and the rule it breaks.

use std::time::Duration;

use crate::{Error, StrategyPolicy};

/// The longest duration any field accepts: one year.
///
/// The bound keeps every `Instant + Duration` the machines compute far from
/// overflow, so no input can make them panic.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A duration from a number of seconds as a config file or a command line
/// gives it (`10`, `2.5`), refusing what `Duration` cannot hold.
///
/// `Duration` itself cannot be negative, so this is where a negative value
/// from outside is caught, with the field's name.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(recovery::duration_from_secs("window", 2.5), Ok(Duration::from_millis(2_500)));
/// let err = recovery::duration_from_secs("window", -1.0).unwrap_err();
/// assert_eq!(err.to_string(), "invalid configuration: window = -1.0 must not be negative");
/// ```
///
/// # Errors
///
/// [`Error::InvalidConfig`] naming `field` for a negative, NaN or infinite
/// value, or one above [`MAX_DURATION`].
pub fn duration_from_secs(field: &'static str, secs: f64) -> Result<Duration, Error> {
    if secs.is_nan() || secs.is_infinite() {
        return Err(Error::invalid(
            field,
            secs,
            "must be a finite number of seconds",
        ));
    }
    if secs < 0.0 {
        return Err(Error::invalid(field, secs, "must not be negative"));
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(duration) if duration <= MAX_DURATION => Ok(duration),
        _ => Err(Error::invalid(field, secs, "must not exceed 365 days")),
    }
}

/// How a [`Recovery`](crate::Recovery) tracker recovers one component.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `policy` | [`StrategyPolicy::default`] | the strategy for each error class |
/// | `max_attempts` | 5 | retries in one episode (failures without a success between) before escalating |
/// | `attempt_timeout` | 30 s | an attempt with no outcome this long after it was due escalates |
///
/// The 30 s attempt timeout is the seed design's recovery timeout; 5
/// attempts matches the supervisor's 5 restarts, so a component either
/// recovers quickly or its parent hears of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// The strategy for each error class.
    pub policy: StrategyPolicy,
    /// Retries in one episode before the next failure escalates; at least 1.
    pub max_attempts: u32,
    /// How long after a retry is due its outcome may take before the
    /// attempt counts as stuck and escalates; greater than zero.
    pub attempt_timeout: Duration,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            policy: StrategyPolicy::default(),
            max_attempts: 5,
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

impl RecoveryConfig {
    /// Checks every rule; the first broken one comes back as
    /// [`Error::InvalidConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule.
    pub fn validate(&self) -> Result<(), Error> {
        self.policy.validate()?;
        if self.max_attempts == 0 {
            return Err(Error::invalid(
                "max_attempts",
                self.max_attempts,
                "must be at least 1",
            ));
        }
        positive("attempt_timeout", self.attempt_timeout)
    }
}

/// When a supervised child is started again after it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Restart {
    /// After a panic, an error or a normal return (OTP's `permanent`).
    Always,
    /// After a panic or an error; a normal return stops the child (OTP's
    /// `transient`).
    #[default]
    OnFailure,
    /// After a panic only; an error or a normal return stops the child.
    OnPanic,
    /// Never (OTP's `temporary`).
    Never,
}

/// How a supervisor restarts its children and shuts them down.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `max_restarts` | 5 | restarts of one child allowed within `window` … |
/// | `window` | 10 s | … after which the next failure escalates |
/// | `restart` | [`Restart::OnFailure`] | which endings restart a child |
/// | `shutdown_deadline` | 5 s | how long children get to stop before they are aborted |
/// | `event_capacity` | 256 | events buffered for the parent before new ones are dropped (and counted) |
///
/// 5 restarts in 10 s is DESIGN.md §4's rule, from the seed's OTP tree.
/// The intensity is per child (one-for-one): one crashing child escalates
/// alone and never stops its siblings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// Restarts of one child allowed within `window`; at least 1.
    pub max_restarts: u32,
    /// The sliding window restarts are counted in; greater than zero.
    pub window: Duration,
    /// Which endings restart a child.
    pub restart: Restart,
    /// The default deadline of a graceful shutdown; greater than zero.
    pub shutdown_deadline: Duration,
    /// Events buffered for the parent; between 1 and 1,048,576.
    pub event_capacity: usize,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window: Duration::from_secs(10),
            restart: Restart::OnFailure,
            shutdown_deadline: Duration::from_secs(5),
            event_capacity: 256,
        }
    }
}

/// The largest `event_capacity`: far above any real need, and well inside
/// what a bounded channel accepts.
const MAX_EVENT_CAPACITY: usize = 1 << 20;

impl SupervisorConfig {
    /// Checks every rule; the first broken one comes back as
    /// [`Error::InvalidConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule,
    /// e.g. `window = 0ns must be greater than zero`.
    pub fn validate(&self) -> Result<(), Error> {
        intensity(self.max_restarts, self.window)?;
        positive("shutdown_deadline", self.shutdown_deadline)?;
        if !(1..=MAX_EVENT_CAPACITY).contains(&self.event_capacity) {
            return Err(Error::invalid(
                "event_capacity",
                self.event_capacity,
                format!("must be between 1 and {MAX_EVENT_CAPACITY}"),
            ));
        }
        Ok(())
    }
}

/// The rules of a restart intensity, shared by [`SupervisorConfig`] and
/// [`RestartIntensity::new`](crate::RestartIntensity::new).
pub(crate) fn intensity(max_restarts: u32, window: Duration) -> Result<(), Error> {
    if max_restarts == 0 {
        return Err(Error::invalid(
            "max_restarts",
            max_restarts,
            "must be at least 1",
        ));
    }
    positive("window", window)
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
        assert_eq!(RecoveryConfig::default().validate(), Ok(()));
        assert_eq!(SupervisorConfig::default().validate(), Ok(()));
    }

    #[test]
    fn seconds_from_outside() {
        let cases = [
            (-1.0, "invalid configuration: w = -1.0 must not be negative"),
            (
                f64::NAN,
                "invalid configuration: w = NaN must be a finite number of seconds",
            ),
            (
                f64::INFINITY,
                "invalid configuration: w = inf must be a finite number of seconds",
            ),
            (
                1e12,
                "invalid configuration: w = 1000000000000.0 must not exceed 365 days",
            ),
        ];
        for (secs, message) in cases {
            assert_eq!(
                duration_from_secs("w", secs)
                    .expect_err(message)
                    .to_string(),
                message
            );
        }
        assert_eq!(duration_from_secs("w", 0.0), Ok(Duration::ZERO));
        assert_eq!(duration_from_secs("w", -0.0), Ok(Duration::ZERO));
    }
}
