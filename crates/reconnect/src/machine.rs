//! The reconnect state machine: told what happened and what time it is,
//! it answers with a [`Decision`].

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::event::{DelayKind, ReconnectEvent};
use crate::schedule::{Schedule, jittered, jittered_up};
use crate::{Cause, CauseClass, Error, ReconnectConfig};

/// Events kept for [`Reconnector::poll_event`]; older ones are dropped (and
/// counted) if the caller never polls, so memory stays bounded.
const EVENT_CAPACITY: usize = 64;

/// What to do after a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a decision says when to reconnect or that the connection is given up"]
pub enum Decision {
    /// Reconnect on the ordinary schedule (or at once after a planned end).
    Reconnect {
        /// The delay, jitter included.
        delay: Duration,
        /// `now + delay`: when the next attempt may start.
        at: Instant,
    },
    /// The server asked us to slow down: wait longer, then reconnect.
    Backoff {
        /// The delay: at least the rate-limit delay and any `Retry-After`.
        delay: Duration,
        /// `now + delay`: when the next attempt may start.
        at: Instant,
    },
    /// Do not reconnect.
    Abandon(AbandonReason),
}

impl Decision {
    /// When the next attempt may start; `None` for [`Decision::Abandon`].
    #[must_use]
    pub fn at(&self) -> Option<Instant> {
        match self {
            Self::Reconnect { at, .. } | Self::Backoff { at, .. } => Some(*at),
            Self::Abandon(_) => None,
        }
    }

    /// The delay before the next attempt; `None` for [`Decision::Abandon`].
    #[must_use]
    pub fn delay(&self) -> Option<Duration> {
        match self {
            Self::Reconnect { delay, .. } | Self::Backoff { delay, .. } => Some(*delay),
            Self::Abandon(_) => None,
        }
    }
}

/// Why a [`Reconnector`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbandonReason {
    /// The cause is permanent (see [`CauseClass::Permanent`]).
    Permanent(Cause),
    /// `max_attempts` reconnect attempts failed in one outage.
    AttemptLimit {
        /// Attempts made in the outage.
        attempts: u32,
    },
    /// The next attempt would start after `max_elapsed` into the outage.
    TimeLimit {
        /// How long the outage had lasted when the machine gave up.
        elapsed: Duration,
    },
}

impl fmt::Display for AbandonReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Permanent(cause) => write!(f, "permanent cause: {cause}"),
            Self::AttemptLimit { attempts } => {
                write!(f, "attempt limit reached after {attempts} attempts")
            }
            Self::TimeLimit { elapsed } => {
                write!(f, "time limit reached after {elapsed:?} of outage")
            }
        }
    }
}

/// Where a [`Reconnector`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Nothing has happened yet (or [`Reconnector::reset`] was called).
    Idle,
    /// A connection is open.
    Connected {
        /// When it opened.
        since: Instant,
        /// Whether it has stayed open for `healthy_after` (and the schedule
        /// reset). Updated by [`Reconnector::handle_timeout`] or, at the
        /// latest, by the next [`Reconnector::on_disconnect`].
        healthy: bool,
    },
    /// Waiting to try again, or trying: the machine is not told when an
    /// attempt starts, only how it ends.
    Waiting {
        /// When the next attempt may start.
        until: Instant,
        /// Which rule chose the delay.
        kind: DelayKind,
    },
    /// Given up.
    Abandoned(AbandonReason),
}

/// A point-in-time copy of a [`Reconnector`]'s state, for dashboards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectSnapshot {
    /// Where the machine is.
    pub phase: Phase,
    /// Failed attempts in the current outage (0 after a healthy period).
    pub failures: u32,
    /// Rate-limit causes in the current outage.
    pub rate_limited: u32,
    /// When the current outage began, if one is under way.
    pub outage_since: Option<Instant>,
    /// The last delay decided, jitter included.
    pub last_delay: Option<Duration>,
    /// The last cause reported.
    pub last_cause: Option<Cause>,
    /// Events dropped because nobody polled them.
    pub dropped_events: u64,
}

/// The reconnect policy for one connection, as a sans-IO state machine.
///
/// Tell it when the connection opens ([`on_connected`](Self::on_connected))
/// and when it ends or an attempt fails ([`on_disconnect`](Self::on_disconnect),
/// which answers with a [`Decision`]); call
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout)
/// to learn of health early; drain [`poll_event`](Self::poll_event).
///
/// `R` is the jitter source: any [`RngCore`]. Seed it in tests; in
/// production pass an RNG seeded once from the OS by the caller.
#[derive(Debug)]
pub struct Reconnector<R> {
    config: ReconnectConfig,
    rng: R,
    schedule: Schedule,
    phase: Phase,
    failures: u32,
    rate_limited: u32,
    outage_since: Option<Instant>,
    last_delay: Option<Duration>,
    last_cause: Option<Cause>,
    events: VecDeque<ReconnectEvent>,
    dropped_events: u64,
}

impl<R: RngCore> Reconnector<R> {
    /// A machine in [`Phase::Idle`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`ReconnectConfig::validate`].
    pub fn new(config: ReconnectConfig, rng: R) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            schedule: Schedule::new(&config),
            config,
            rng,
            phase: Phase::Idle,
            failures: 0,
            rate_limited: 0,
            outage_since: None,
            last_delay: None,
            last_cause: None,
            events: VecDeque::new(),
            dropped_events: 0,
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &ReconnectConfig {
        &self.config
    }

    /// Where the machine is.
    #[must_use]
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Failed attempts in the current outage.
    #[must_use]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A copy of the state, for dashboards.
    #[must_use]
    pub fn snapshot(&self) -> ReconnectSnapshot {
        ReconnectSnapshot {
            phase: self.phase.clone(),
            failures: self.failures,
            rate_limited: self.rate_limited,
            outage_since: self.outage_since,
            last_delay: self.last_delay,
            last_cause: self.last_cause.clone(),
            dropped_events: self.dropped_events,
        }
    }

    /// A connection opened at `now`.
    ///
    /// The schedule does not reset yet: only a connection that stays open
    /// for `healthy_after` resets it.
    pub fn on_connected(&mut self, now: Instant) {
        self.phase = Phase::Connected {
            since: now,
            healthy: false,
        };
        self.push(ReconnectEvent::Connected {
            at: now,
            after_failures: self.failures,
        });
    }

    /// When [`handle_timeout`](Self::handle_timeout) has something to do: the
    /// instant an open connection becomes healthy. `None` otherwise (the time
    /// of the next attempt is in the [`Decision`]).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Connected {
                since,
                healthy: false,
            } => Some(later(since, self.config.healthy_after)),
            _ => None,
        }
    }

    /// Advances timers to `now`: an open connection that has stayed open for
    /// `healthy_after` becomes healthy and the schedule resets.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.update_health(now);
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<ReconnectEvent> {
        self.events.pop_front()
    }

    /// Forgets the outage and any abandonment: back to [`Phase::Idle`] with
    /// a fresh schedule. For a restart by hand.
    pub fn reset(&mut self) {
        self.phase = Phase::Idle;
        self.schedule.reset();
        self.failures = 0;
        self.rate_limited = 0;
        self.outage_since = None;
    }

    /// The connection ended, or a connection attempt failed, at `now`.
    ///
    /// Permanent causes abandon; a planned end of a healthy connection
    /// reconnects at once; rate-limit causes back off longer; everything
    /// else takes the next delay of the schedule, unless a configured attempt
    /// or time limit is reached. Once abandoned, the machine keeps answering
    /// with the same [`Decision::Abandon`] until [`reset`](Self::reset).
    pub fn on_disconnect(&mut self, cause: Cause, now: Instant) -> Decision {
        if let Phase::Abandoned(reason) = &self.phase {
            return Decision::Abandon(reason.clone());
        }
        self.update_health(now);
        let (connected_for, was_healthy) = match self.phase {
            Phase::Connected { since, healthy } => {
                (Some(now.saturating_duration_since(since)), healthy)
            }
            _ => (None, false),
        };
        let class = cause.class();
        self.push(ReconnectEvent::Disconnected {
            at: now,
            cause: cause.clone(),
            class,
            connected_for,
        });
        self.last_cause = Some(cause.clone());

        match class {
            CauseClass::Permanent => self.abandon(AbandonReason::Permanent(cause), now),
            CauseClass::Planned if was_healthy => {
                self.schedule_attempt(0, DelayKind::Planned, Duration::ZERO, now)
            }
            CauseClass::RateLimited => self.on_failure(now, Some(cause.retry_after())),
            CauseClass::Transient | CauseClass::Planned => self.on_failure(now, None),
        }
    }

    /// A failed attempt or a connection that ended before it was healthy.
    /// `rate_limit` is `Some(retry_after)` for a rate-limit cause.
    fn on_failure(&mut self, now: Instant, rate_limit: Option<Option<Duration>>) -> Decision {
        let outage_since = *self.outage_since.get_or_insert(now);
        if let Some(max) = self.config.max_attempts
            && self.failures >= max
        {
            return self.abandon(
                AbandonReason::AttemptLimit {
                    attempts: self.failures,
                },
                now,
            );
        }
        let jitter = self.config.jitter;
        let nominal = self.schedule.next_nominal(now);
        let mut delay = jittered(&mut self.rng, nominal, jitter, self.config.max_delay);
        let kind = if let Some(retry_after) = rate_limit {
            self.rate_limited = self.rate_limited.saturating_add(1);
            let doublings = self.rate_limited.saturating_sub(1).min(31);
            let rate_nominal = self
                .config
                .rate_limit_delay
                .saturating_mul(1 << doublings)
                .min(self.config.rate_limit_max_delay);
            let rate_delay = jittered(
                &mut self.rng,
                rate_nominal,
                jitter,
                self.config.rate_limit_max_delay,
            );
            delay = delay.max(rate_delay);
            if let Some(after) = retry_after {
                let after = after.min(self.config.max_retry_after);
                delay = delay.max(jittered_up(&mut self.rng, after, jitter));
            }
            DelayKind::RateLimit
        } else {
            DelayKind::Schedule
        };
        self.failures = self.failures.saturating_add(1);
        if let Some(limit) = self.config.max_elapsed {
            let retry_at = later(now, delay);
            if retry_at.saturating_duration_since(outage_since) > limit {
                return self.abandon(
                    AbandonReason::TimeLimit {
                        elapsed: now.saturating_duration_since(outage_since),
                    },
                    now,
                );
            }
        }
        self.schedule_attempt(self.failures, kind, delay, now)
    }

    fn schedule_attempt(
        &mut self,
        attempt: u32,
        kind: DelayKind,
        delay: Duration,
        now: Instant,
    ) -> Decision {
        let at = later(now, delay);
        self.phase = Phase::Waiting { until: at, kind };
        self.last_delay = Some(delay);
        self.push(ReconnectEvent::Scheduled {
            at: now,
            attempt,
            kind,
            delay,
            retry_at: at,
        });
        match kind {
            DelayKind::RateLimit => Decision::Backoff { delay, at },
            DelayKind::Schedule | DelayKind::Planned => Decision::Reconnect { delay, at },
        }
    }

    fn abandon(&mut self, reason: AbandonReason, now: Instant) -> Decision {
        self.phase = Phase::Abandoned(reason.clone());
        self.push(ReconnectEvent::Abandoned {
            at: now,
            reason: reason.clone(),
        });
        Decision::Abandon(reason)
    }

    /// Marks an open connection healthy once it has been open for
    /// `healthy_after`, resetting the schedule.
    fn update_health(&mut self, now: Instant) {
        let Phase::Connected {
            since,
            healthy: false,
        } = self.phase
        else {
            return;
        };
        let healthy_at = later(since, self.config.healthy_after);
        if now < healthy_at {
            return;
        }
        self.phase = Phase::Connected {
            since,
            healthy: true,
        };
        let reset_failures = self.failures;
        self.schedule.reset();
        self.failures = 0;
        self.rate_limited = 0;
        self.outage_since = None;
        self.push(ReconnectEvent::Healthy {
            at: healthy_at,
            reset_failures,
        });
    }

    fn push(&mut self, event: ReconnectEvent) {
        if self.events.len() == EVENT_CAPACITY {
            self.events.pop_front();
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
        self.events.push_back(event);
    }
}

/// `now + delay`. Every delay is bounded by `MAX_DURATION` (a year, checked
/// by `validate`), so for any instant a real or tokio clock produces the sum
/// exists; the fallback only keeps the function total.
fn later(now: Instant, delay: Duration) -> Instant {
    now.checked_add(delay).unwrap_or(now)
}
