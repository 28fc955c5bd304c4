//! The recovery tracker: one component's failures in, recovery actions out.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::{Classification, Error, ErrorClass, RecoveryConfig, StrategyKind};

/// Events kept for [`Recovery::poll_event`]; older ones are dropped (and
/// counted) if the caller never polls, so memory stays bounded.
const EVENT_CAPACITY: usize = 64;

/// What to do after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an action says when to try again, or that someone else must act"]
pub enum Action {
    /// Try again at `at`.
    Retry {
        /// When the retry may start (`now + delay`).
        at: Instant,
        /// The delay chosen.
        delay: Duration,
        /// The retry's number in this episode, from 1 (0 for an operator's
        /// [`Recovery::resume`]).
        attempt: u32,
        /// The strategy that chose the delay.
        strategy: StrategyKind,
        /// The failed request may have been executed: query to confirm
        /// before re-sending anything that is not idempotent.
        verify_first: bool,
    },
    /// The server asked us to slow down: send nothing on this route until
    /// `until` (nothing at all to that host if `banned`), then try again.
    Wait {
        /// When requests may start again.
        until: Instant,
        /// The delay chosen: the strategy's, and never below `retry_after`.
        delay: Duration,
        /// The retry's number in this episode, from 1.
        attempt: u32,
        /// The IP is banned (HTTP 418).
        banned: bool,
    },
    /// The component cannot recover on its own: tell the parent.
    Escalate(EscalateReason),
    /// The strategy is manual: nothing happens until an operator calls
    /// [`Recovery::resume`].
    AwaitOperator {
        /// The class that needs a person.
        class: ErrorClass,
    },
}

impl Action {
    /// When to try again, for [`Action::Retry`] and [`Action::Wait`].
    #[must_use]
    pub fn at(&self) -> Option<Instant> {
        match self {
            Self::Retry { at, .. } | Self::Wait { until: at, .. } => Some(*at),
            Self::Escalate(_) | Self::AwaitOperator { .. } => None,
        }
    }
}

/// Why a [`Recovery`] escalated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EscalateReason {
    /// `attempts` retries in one episode all failed; the last failure was
    /// of `class`.
    AttemptLimit {
        /// Retries made in the episode.
        attempts: u32,
        /// The class of the last failure.
        class: ErrorClass,
    },
    /// A retry neither succeeded nor failed within the attempt timeout.
    AttemptTimedOut {
        /// The stuck retry's number.
        attempt: u32,
        /// The attempt timeout.
        after: Duration,
    },
}

impl fmt::Display for EscalateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AttemptLimit { attempts, class } => write!(
                f,
                "{attempts} retries failed in one episode, the last with a {class} failure"
            ),
            Self::AttemptTimedOut { attempt, after } => {
                write!(f, "retry {attempt} had no outcome within {after:?}")
            }
        }
    }
}

/// Where a [`Recovery`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// No failure since the last success (or ever).
    Healthy,
    /// A retry is scheduled, or under way.
    Retrying {
        /// Its number in the episode.
        attempt: u32,
        /// When it may start.
        due: Instant,
        /// When, without an outcome, it counts as stuck and escalates.
        deadline: Instant,
    },
    /// Waiting for an operator's [`Recovery::resume`].
    AwaitingOperator {
        /// The class that needs a person.
        class: ErrorClass,
    },
    /// Escalated; the parent decides. A success or
    /// [`Recovery::resume`] ends it.
    Escalated(EscalateReason),
}

/// One transition of a [`Recovery`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecoveryEvent {
    /// A failure was reported.
    Failed {
        /// When.
        at: Instant,
        /// What it was.
        classification: Classification,
        /// Failures in this episode, this one included.
        failures: u32,
    },
    /// A retry was scheduled ([`Action::Retry`] or [`Action::Wait`]).
    RetryScheduled {
        /// When the decision was made.
        at: Instant,
        /// The retry's number in the episode.
        attempt: u32,
        /// The strategy that chose the delay.
        strategy: StrategyKind,
        /// The delay.
        delay: Duration,
        /// When the retry may start.
        retry_at: Instant,
    },
    /// Waiting for an operator.
    AwaitingOperator {
        /// When.
        at: Instant,
        /// The class that needs a person.
        class: ErrorClass,
    },
    /// Escalated to the parent.
    Escalated {
        /// When.
        at: Instant,
        /// Why.
        reason: EscalateReason,
    },
    /// A success ended an episode.
    Recovered {
        /// When.
        at: Instant,
        /// Failures in the episode.
        failures: u32,
        /// From the episode's first failure to the success.
        outage: Duration,
    },
    /// An operator asked for a retry.
    Resumed {
        /// When.
        at: Instant,
    },
}

/// A point-in-time copy of a [`Recovery`]'s state, for dashboards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoverySnapshot {
    /// Where the tracker is.
    pub phase: Phase,
    /// Failures in the current episode.
    pub failures: u32,
    /// When the current episode began.
    pub episode_since: Option<Instant>,
    /// The last failure reported.
    pub last_failure: Option<Classification>,
    /// Episodes ended by a success.
    pub recoveries: u64,
    /// Escalations.
    pub escalations: u64,
    /// Events dropped because nobody polled them.
    pub dropped_events: u64,
}

/// The recovery policy for one component, as a sans-IO state machine.
///
/// Report each failure ([`on_failure`](Self::on_failure), which answers
/// with an [`Action`]) and each success ([`on_success`](Self::on_success));
/// call [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout) so a stuck retry escalates; drain
/// [`poll_event`](Self::poll_event).
///
/// An *episode* is a run of failures without a success between them. The
/// n-th failure of an episode schedules retry n with the strategy of its
/// class, never before the failure's `retry_after`; the failure after
/// `max_attempts` retries escalates.
#[derive(Debug, Clone)]
pub struct Recovery {
    config: RecoveryConfig,
    phase: Phase,
    failures: u32,
    episode_since: Option<Instant>,
    last_failure: Option<Classification>,
    recoveries: u64,
    escalations: u64,
    events: VecDeque<RecoveryEvent>,
    dropped_events: u64,
}

impl Recovery {
    /// A tracker in [`Phase::Healthy`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`RecoveryConfig::validate`].
    pub fn new(config: RecoveryConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            phase: Phase::Healthy,
            failures: 0,
            episode_since: None,
            last_failure: None,
            recoveries: 0,
            escalations: 0,
            events: VecDeque::new(),
            dropped_events: 0,
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &RecoveryConfig {
        &self.config
    }

    /// Where the tracker is.
    #[must_use]
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// A copy of the state, for dashboards.
    #[must_use]
    pub fn snapshot(&self) -> RecoverySnapshot {
        RecoverySnapshot {
            phase: self.phase.clone(),
            failures: self.failures,
            episode_since: self.episode_since,
            last_failure: self.last_failure.clone(),
            recoveries: self.recoveries,
            escalations: self.escalations,
            dropped_events: self.dropped_events,
        }
    }

    /// A failure of the class in `failure` happened at `now`.
    ///
    /// While escalated or awaiting an operator, the tracker keeps answering
    /// the same way until a success or [`resume`](Self::resume).
    pub fn on_failure(&mut self, failure: &Classification, now: Instant) -> Action {
        match &self.phase {
            Phase::Escalated(reason) => return Action::Escalate(reason.clone()),
            Phase::AwaitingOperator { class } => return Action::AwaitOperator { class: *class },
            Phase::Healthy | Phase::Retrying { .. } => {}
        }
        self.episode_since.get_or_insert(now);
        self.failures = self.failures.saturating_add(1);
        self.last_failure = Some(failure.clone());
        self.push(RecoveryEvent::Failed {
            at: now,
            classification: failure.clone(),
            failures: self.failures,
        });
        let class = failure.class;
        let strategy = self.config.policy.strategy(class);
        let Some(delay) = strategy.delay(self.failures) else {
            self.phase = Phase::AwaitingOperator { class };
            self.push(RecoveryEvent::AwaitingOperator { at: now, class });
            return Action::AwaitOperator { class };
        };
        if self.failures > self.config.max_attempts {
            let reason = EscalateReason::AttemptLimit {
                attempts: self.config.max_attempts,
                class,
            };
            return self.escalate(reason, now);
        }
        let strategy = strategy.kind();
        let delay = failure.retry_after.map_or(delay, |after| delay.max(after));
        let at = later(now, delay);
        let attempt = self.failures;
        self.phase = Phase::Retrying {
            attempt,
            due: at,
            deadline: later(at, self.config.attempt_timeout),
        };
        self.push(RecoveryEvent::RetryScheduled {
            at: now,
            attempt,
            strategy,
            delay,
            retry_at: at,
        });
        if class == ErrorClass::RateLimited {
            Action::Wait {
                until: at,
                delay,
                attempt,
                banned: failure.banned,
            }
        } else {
            Action::Retry {
                at,
                delay,
                attempt,
                strategy,
                verify_first: failure.outcome_unknown,
            }
        }
    }

    /// The component worked at `now`: the episode, if any, ends.
    pub fn on_success(&mut self, now: Instant) {
        if self.phase == Phase::Healthy && self.failures == 0 {
            return;
        }
        let outage = self
            .episode_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        self.push(RecoveryEvent::Recovered {
            at: now,
            failures: self.failures,
            outage,
        });
        self.recoveries = self.recoveries.saturating_add(1);
        self.clear();
    }

    /// A scheduled retry actually started at `now` (later than due, say,
    /// after waiting for a budget): its timeout counts from here.
    pub fn on_attempt_started(&mut self, now: Instant) {
        if let Phase::Retrying { deadline, .. } = &mut self.phase {
            *deadline = (*deadline).max(later(now, self.config.attempt_timeout));
        }
    }

    /// An operator asks for a retry now (the seed's `trigger_recovery`):
    /// from any phase, a fresh episode starts with a retry at `now`.
    pub fn resume(&mut self, now: Instant) -> Action {
        self.push(RecoveryEvent::Resumed { at: now });
        self.failures = 0;
        self.episode_since = Some(now);
        self.phase = Phase::Retrying {
            attempt: 0,
            due: now,
            deadline: later(now, self.config.attempt_timeout),
        };
        Action::Retry {
            at: now,
            delay: Duration::ZERO,
            attempt: 0,
            strategy: StrategyKind::Manual,
            verify_first: false,
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) has something to do:
    /// the deadline of the retry in progress.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Retrying { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    /// Advances timers to `now`: a retry without an outcome past its
    /// deadline escalates, and the [`Action::Escalate`] comes back.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Action> {
        let Phase::Retrying {
            attempt, deadline, ..
        } = self.phase
        else {
            return None;
        };
        if now < deadline {
            return None;
        }
        let reason = EscalateReason::AttemptTimedOut {
            attempt,
            after: self.config.attempt_timeout,
        };
        Some(self.escalate(reason, now))
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<RecoveryEvent> {
        self.events.pop_front()
    }

    /// Forgets the episode, any escalation and any wait for an operator,
    /// without an event.
    pub fn reset(&mut self) {
        self.clear();
    }

    fn clear(&mut self) {
        self.phase = Phase::Healthy;
        self.failures = 0;
        self.episode_since = None;
    }

    fn escalate(&mut self, reason: EscalateReason, now: Instant) -> Action {
        self.phase = Phase::Escalated(reason.clone());
        self.escalations = self.escalations.saturating_add(1);
        self.push(RecoveryEvent::Escalated {
            at: now,
            reason: reason.clone(),
        });
        Action::Escalate(reason)
    }

    fn push(&mut self, event: RecoveryEvent) {
        if self.events.len() == EVENT_CAPACITY {
            self.events.pop_front();
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
        self.events.push_back(event);
    }
}

/// `now + delay`. Delays are bounded by `MAX_DURATION` or `MAX_RETRY_AFTER`,
/// so for any instant a real or tokio clock produces the sum exists; the
/// fallback only keeps the function total.
fn later(now: Instant, delay: Duration) -> Instant {
    now.checked_add(delay).unwrap_or(now)
}
