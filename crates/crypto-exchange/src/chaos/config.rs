//! How a scenario runs: its seed, how long faults are injected, and the
//! client's shortened timings.

use std::time::Duration;

use super::error::ChaosError;

/// The shortest injection phase a scenario accepts.
pub const MIN_DURATION: Duration = Duration::from_secs(8);
/// The longest injection phase a scenario accepts.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// The client's and the simulator's timings during a scenario: Binance's
/// values shortened, so that a fault and its recovery take seconds, not
/// minutes. Every value is validated by [`ScenarioConfig::validate`].
///
/// | field | default | Binance-safe default it replaces |
/// |---|---|---|
/// | `reconnect_initial` / `reconnect_max` | 100 ms / 800 ms | 1 s / 30 s |
/// | `rate_limit_delay` / `rate_limit_max_delay` | 1 s / 2 s | longer backoff after 1008, 429 |
/// | `silence_timeout` | 1.5 s | 30 s without a frame |
/// | `handshake_timeout` | 2 s | the transport's default |
/// | `server_ping` | 500 ms | the server pings every 20 s |
/// | `breaker_open` | 1.5 s | the breaker stays open 30 s |
/// | `rest_timeout` / `rest_retry_backoff` | 2 s / 300 ms (4 retries) | 10 s / 1 s (3 retries) |
/// | `warmup` | 20 s | how long every stream may take to deliver its first event |
/// | `recovery_bound` | 15 s | how soon after a fault ends every stream must deliver again |
/// | `catch_up` | 20 s | how long the client may take to deliver the frozen market's last ids |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timings {
    /// The first reconnect delay.
    pub reconnect_initial: Duration,
    /// The longest reconnect delay.
    pub reconnect_max: Duration,
    /// The first delay after a rate-limit cause (1008, 429).
    pub rate_limit_delay: Duration,
    /// The longest delay after rate-limit causes.
    pub rate_limit_max_delay: Duration,
    /// A connection without a frame for this long is dead.
    pub silence_timeout: Duration,
    /// The longest a WebSocket handshake may take.
    pub handshake_timeout: Duration,
    /// How often the simulator pings.
    pub server_ping: Duration,
    /// How long an endpoint's circuit breaker stays open.
    pub breaker_open: Duration,
    /// The timeout of one REST request.
    pub rest_timeout: Duration,
    /// The REST retry backoff (times the attempt number).
    pub rest_retry_backoff: Duration,
    /// How long every stream may take to deliver its first event.
    pub warmup: Duration,
    /// How soon after a fault ends every stream must deliver again; also the
    /// recorder's recovery deadline, and (plus the longest fault) the MTTR
    /// bound.
    pub recovery_bound: Duration,
    /// How long the client may take to deliver the frozen market's last ids.
    pub catch_up: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            reconnect_initial: Duration::from_millis(100),
            reconnect_max: Duration::from_millis(800),
            rate_limit_delay: Duration::from_secs(1),
            rate_limit_max_delay: Duration::from_secs(2),
            silence_timeout: Duration::from_millis(1_500),
            handshake_timeout: Duration::from_secs(2),
            server_ping: Duration::from_millis(500),
            breaker_open: Duration::from_millis(1_500),
            rest_timeout: Duration::from_secs(2),
            rest_retry_backoff: Duration::from_millis(300),
            warmup: Duration::from_secs(20),
            recovery_bound: Duration::from_secs(15),
            catch_up: Duration::from_secs(20),
        }
    }
}

/// One scenario run's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioConfig {
    /// Seeds the simulated market, the proxies' jitter and the fault schedule:
    /// the same seed gives the same market and the same faults at the same
    /// offsets (real-time interleavings still differ from run to run).
    pub seed: u64,
    /// How long faults are injected, from the moment every stream delivers
    /// (default 15 s; 8 s to 1 h). Recovery and verification come after.
    pub duration: Duration,
    /// The shortened timings.
    pub timings: Timings,
}

impl ScenarioConfig {
    /// A configuration with this seed, a 15 s injection phase and the
    /// default [`Timings`].
    #[must_use]
    pub fn new(seed: u64) -> Self {
        ScenarioConfig {
            seed,
            duration: Duration::from_secs(15),
            timings: Timings::default(),
        }
    }

    /// The same configuration with another injection phase.
    #[must_use]
    pub fn with_duration(self, duration: Duration) -> Self {
        ScenarioConfig { duration, ..self }
    }

    /// Checks every value; all problems are reported at once.
    ///
    /// # Errors
    /// [`ChaosError::Config`] naming each field, its value and the rule.
    pub fn validate(&self) -> Result<(), ChaosError> {
        let mut problems = Vec::new();
        if self.duration < MIN_DURATION || self.duration > MAX_DURATION {
            problems.push(format!(
                "duration = {} must be between {} and {} (faults need room to be injected and recovered from)",
                humantime::format_duration(self.duration),
                humantime::format_duration(MIN_DURATION),
                humantime::format_duration(MAX_DURATION),
            ));
        }
        let t = &self.timings;
        for (name, value) in [
            ("reconnect_initial", t.reconnect_initial),
            ("reconnect_max", t.reconnect_max),
            ("rate_limit_delay", t.rate_limit_delay),
            ("rate_limit_max_delay", t.rate_limit_max_delay),
            ("silence_timeout", t.silence_timeout),
            ("handshake_timeout", t.handshake_timeout),
            ("server_ping", t.server_ping),
            ("breaker_open", t.breaker_open),
            ("rest_timeout", t.rest_timeout),
            ("rest_retry_backoff", t.rest_retry_backoff),
            ("warmup", t.warmup),
            ("recovery_bound", t.recovery_bound),
            ("catch_up", t.catch_up),
        ] {
            if value.is_zero() {
                problems.push(format!("timings.{name} must be above zero"));
            }
        }
        if t.reconnect_max < t.reconnect_initial {
            problems.push(format!(
                "timings.reconnect_max = {:?} must not be below timings.reconnect_initial = {:?}",
                t.reconnect_max, t.reconnect_initial
            ));
        }
        if t.rate_limit_max_delay < t.rate_limit_delay {
            problems.push(format!(
                "timings.rate_limit_max_delay = {:?} must not be below timings.rate_limit_delay = {:?}",
                t.rate_limit_max_delay, t.rate_limit_delay
            ));
        }
        if t.server_ping >= t.silence_timeout {
            problems.push(format!(
                "timings.server_ping = {:?} must be below timings.silence_timeout = {:?}, or a quiet healthy connection looks dead",
                t.server_ping, t.silence_timeout
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ChaosError::Config(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_problems_are_all_named() {
        assert!(ScenarioConfig::new(1).validate().is_ok());
        let mut config = ScenarioConfig::new(1).with_duration(Duration::from_secs(1));
        config.timings.silence_timeout = Duration::ZERO;
        let Err(ChaosError::Config(problems)) = config.validate() else {
            panic!("accepted");
        };
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].contains("duration = 1s"));
        assert!(problems.iter().any(|p| p.contains("silence_timeout")));
    }
}
