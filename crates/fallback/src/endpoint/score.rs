//! One endpoint's record: moving averages of outcomes, connect times and
//! silences, and the score and health computed from them.

use std::time::{Duration, Instant};

use super::types::{BreakerState, EndpointHealth, EndpointStatus};
use crate::EndpointConfig;
use crate::config::later;

/// What a report says about an endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Report {
    Attempt,
    Success { connect_time: Duration },
    Failure,
    Silence,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry<E> {
    pub(crate) endpoint: E,
    /// Moving average of outcomes: 1 per success, 0 per failure.
    success: f64,
    /// Moving average of connect times, in seconds.
    latency: Option<f64>,
    /// Moving average of silences: 1 per silence, 0 per success.
    silence: f64,
    pub(crate) consecutive_failures: u32,
    last_failure: Option<Instant>,
    /// The last attempt or report: probes are counted from it.
    pub(crate) last_contact: Option<Instant>,
    pub(crate) healthy_since: Option<Instant>,
    breaker: BreakerState,
    /// The health last observed, so a change becomes an event.
    pub(crate) health: EndpointHealth,
    successes: u64,
    failures: u64,
    silences: u64,
}

impl<E> Entry<E> {
    pub(crate) fn new(endpoint: E) -> Self {
        Self {
            endpoint,
            success: 1.0,
            latency: None,
            silence: 0.0,
            consecutive_failures: 0,
            last_failure: None,
            last_contact: None,
            healthy_since: None,
            breaker: BreakerState::Closed,
            health: EndpointHealth::Healthy,
            successes: 0,
            failures: 0,
            silences: 0,
        }
    }

    /// `score = s × (1 − latency_weight × min(1, L / slow_connect)) ×
    /// (1 − silence_weight × q)`, in `[0, 1]`.
    pub(crate) fn score(&self, config: &EndpointConfig) -> f64 {
        let latency = self.latency.map_or(0.0, |l| {
            (l / config.slow_connect.as_secs_f64()).clamp(0.0, 1.0)
        });
        let score = self.success
            * (1.0 - config.latency_weight * latency)
            * (1.0 - config.silence_weight * self.silence);
        score.clamp(0.0, 1.0)
    }

    /// Health at `now`, from the breaker, the run of failures and the score.
    pub(crate) fn health_at(&self, config: &EndpointConfig, now: Instant) -> EndpointHealth {
        let breaker = match self.breaker {
            BreakerState::Open { retry_at: None } => Some(None),
            BreakerState::Open {
                retry_at: Some(retry_at),
            } if now < retry_at => Some(Some(retry_at)),
            _ => None,
        };
        let failures = match self.last_failure {
            Some(last) if self.consecutive_failures >= config.down_after => {
                let until = later(last, config.down_for);
                (now < until).then_some(until)
            }
            _ => None,
        };
        match (breaker, failures) {
            (Some(None), _) => EndpointHealth::Down { until: None },
            (Some(Some(a)), Some(b)) => EndpointHealth::Down {
                until: Some(a.max(b)),
            },
            (Some(until), None) => EndpointHealth::Down { until },
            (None, Some(until)) => EndpointHealth::Down { until: Some(until) },
            (None, None) if self.score(config) >= config.healthy_score => EndpointHealth::Healthy,
            (None, None) => EndpointHealth::Unhealthy,
        }
    }

    /// Records a report; `healthy_since` is the caller's to settle (it
    /// needs the health after the report).
    pub(crate) fn record(&mut self, report: Report, config: &EndpointConfig, now: Instant) {
        let alpha = config.ewma_weight;
        self.last_contact = Some(now);
        match report {
            Report::Attempt => {}
            Report::Success { connect_time } => {
                self.successes = self.successes.saturating_add(1);
                self.consecutive_failures = 0;
                self.success += alpha * (1.0 - self.success);
                self.silence -= alpha * self.silence;
                let sample = connect_time.as_secs_f64();
                self.latency = Some(self.latency.map_or(sample, |l| l + alpha * (sample - l)));
            }
            Report::Failure => {
                self.failures = self.failures.saturating_add(1);
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.last_failure = Some(now);
                self.success -= alpha * self.success;
                self.healthy_since = None;
            }
            Report::Silence => {
                self.silences = self.silences.saturating_add(1);
                self.silence += alpha * (1.0 - self.silence);
                self.healthy_since = None;
            }
        }
        let health = self.health_at(config, now);
        if health != EndpointHealth::Healthy {
            self.healthy_since = None;
        } else if matches!(report, Report::Success { .. }) && self.healthy_since.is_none() {
            self.healthy_since = Some(now);
        }
    }

    pub(crate) fn set_breaker(&mut self, breaker: BreakerState) {
        if matches!(breaker, BreakerState::Open { .. }) {
            self.healthy_since = None;
        }
        self.breaker = breaker;
    }

    /// When time alone changes this endpoint's health: the end of its down
    /// period, as last observed.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.health {
            EndpointHealth::Down { until } => until,
            _ => None,
        }
    }

    pub(crate) fn status(&self, config: &EndpointConfig) -> EndpointStatus<E>
    where
        E: Clone,
    {
        EndpointStatus {
            endpoint: self.endpoint.clone(),
            score: self.score(config),
            health: self.health,
            success_rate: self.success,
            connect_time: self
                .latency
                .and_then(|l| Duration::try_from_secs_f64(l).ok()),
            silence: self.silence,
            consecutive_failures: self.consecutive_failures,
            healthy_since: self.healthy_since,
            successes: self.successes,
            failures: self.failures,
            silences: self.silences,
        }
    }
}
