//! The breaker state machine: asked whether a call may run and told how it
//! went, with the time passed in.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::event::{BreakerEvent, OpenReason};
use crate::permit::{Admission, Outcome, Permit, PermitKind};
use crate::snapshot::{BreakerSnapshot, State, Totals};
use crate::window::RateWindow;
use crate::{BreakerConfig, Error};

/// Events kept for [`Breaker::poll_event`]; older ones are dropped (and
/// counted) if the caller never polls, so memory stays bounded. The queue is
/// allocated once, so a transition never allocates either.
const EVENT_CAPACITY: usize = 64;

/// Epochs are unique across every breaker of the process, so a permit given
/// to the wrong breaker is as late as a permit from an earlier state.
static NEXT_EPOCH: AtomicU64 = AtomicU64::new(1);

fn next_epoch() -> u64 {
    NEXT_EPOCH.fetch_add(1, Ordering::Relaxed)
}

/// `now + duration`, or `now` in the (unreachable with validated durations
/// and real instants) case that it is past `Instant`'s range.
fn later(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration).unwrap_or(now)
}

/// The state, with what each state needs to know.
///
/// `repr(u8)` gives it a plain tag byte, so the hot paths test one byte
/// instead of decoding a niche in an `Instant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    Closed,
    Open {
        retry_at: Instant,
    },
    HalfOpen {
        in_flight: u32,
        successes: u32,
        /// The last probe admission or judged result: the probe deadline
        /// is `last_activity + probe_timeout`.
        last_activity: Instant,
    },
    ForcedOpen,
    Disabled,
}

/// A circuit breaker for one dependency, as a sans-IO state machine.
///
/// Ask [`admit`](Self::admit) before each call; give the [`Permit`] back with
/// [`on_result`](Self::on_result) (or [`on_cancel`](Self::on_cancel) if the
/// call never finished); drain [`poll_event`](Self::poll_event). Call
/// [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout) to learn of half-opening and probe
/// timeouts as they happen; otherwise they are noticed at the next call.
///
/// One breaker is one dependency's state, owned by one task; share it with
/// [`SharedBreaker`](crate::SharedBreaker) or a [`Registry`](crate::Registry).
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    phase: Phase,
    /// Changes on every transition; permits carry the epoch they were issued in.
    epoch: u64,
    since: Option<Instant>,
    consecutive: u32,
    window: Option<RateWindow>,
    reopens: u32,
    open_for: Duration,
    totals: Totals,
    events: VecDeque<BreakerEvent>,
    dropped_events: u64,
}

impl Breaker {
    /// A closed breaker.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`BreakerConfig::validate`].
    pub fn new(config: BreakerConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self::from_valid(config))
    }

    /// A closed breaker from a configuration already validated.
    pub(crate) fn from_valid(config: BreakerConfig) -> Self {
        Self {
            window: config
                .failure_rate
                .as_ref()
                .map(|rate| RateWindow::new(rate.window)),
            open_for: config.open_duration,
            config,
            phase: Phase::Closed,
            epoch: next_epoch(),
            since: None,
            consecutive: 0,
            reopens: 0,
            totals: Totals::default(),
            events: VecDeque::with_capacity(EVENT_CAPACITY),
            dropped_events: 0,
        }
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The state, as of the last call (an open period that has ended is
    /// still [`State::Open`] until the next call or timeout).
    #[must_use]
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Closed => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
            Phase::ForcedOpen => State::ForcedOpen,
            Phase::Disabled => State::Disabled,
        }
    }

    /// May a call run now? An [`Admission::Allowed`] permit must be given
    /// back with [`on_result`](Self::on_result) or
    /// [`on_cancel`](Self::on_cancel).
    ///
    /// Closed and disabled admit every call. Open rejects until its
    /// `retry_at`, then goes half-open. Half-open admits up to
    /// `half_open_probes` calls at once. Forced open rejects every call.
    #[inline]
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.phase {
            Phase::Closed => self.allow(PermitKind::Closed, now),
            Phase::Open { retry_at } if now < retry_at => self.reject(retry_at),
            _ => self.admit_slow(now),
        }
    }

    /// Every admission but the two hot paths.
    fn admit_slow(&mut self, now: Instant) -> Admission {
        self.catch_up(now);
        match self.phase {
            Phase::Closed => self.allow(PermitKind::Closed, now),
            Phase::Disabled => self.allow(PermitKind::Disabled, now),
            Phase::Open { retry_at } => self.reject(retry_at),
            Phase::ForcedOpen => self.reject(later(now, self.open_for)),
            Phase::HalfOpen {
                ref mut in_flight,
                ref mut last_activity,
                ..
            } => {
                if *in_flight < self.config.half_open_probes {
                    *in_flight += 1;
                    *last_activity = now;
                    self.allow(PermitKind::Probe, now)
                } else {
                    let retry_at = later(*last_activity, self.config.probe_timeout);
                    self.reject(retry_at)
                }
            }
        }
    }

    #[inline]
    fn allow(&mut self, kind: PermitKind, now: Instant) -> Admission {
        self.totals.admitted = self.totals.admitted.wrapping_add(1);
        Admission::Allowed(Permit {
            epoch: self.epoch,
            admitted_at: now,
            kind,
        })
    }

    #[inline]
    fn reject(&mut self, retry_at: Instant) -> Admission {
        self.totals.rejected = self.totals.rejected.wrapping_add(1);
        Admission::Rejected { retry_at }
    }

    /// Records how a call went. A success that took at least `slow_call`
    /// (from [`Permit::admitted_at`] to `now`) counts as a failure.
    ///
    /// Closed: a failure may trip the breaker open. Half-open: a failure
    /// re-opens it (for longer, with `open_multiplier` above 1); the
    /// `half_open_successes`-th success closes it. A permit issued before
    /// the breaker last changed state is only counted
    /// ([`Totals::late`]).
    #[inline]
    pub fn on_result(&mut self, permit: Permit, outcome: Outcome, now: Instant) {
        if !matches!(self.phase, Phase::Closed) {
            self.catch_up(now);
        }
        if permit.epoch != self.epoch {
            self.totals.late = self.totals.late.wrapping_add(1);
            return;
        }
        let failure = match outcome {
            Outcome::Success => match self.config.slow_call {
                Some(slow) if now.saturating_duration_since(permit.admitted_at) >= slow => {
                    self.totals.slow_calls = self.totals.slow_calls.wrapping_add(1);
                    true
                }
                _ => false,
            },
            Outcome::Failure => true,
            Outcome::Ignored => {
                self.totals.ignored = self.totals.ignored.wrapping_add(1);
                self.release(&permit);
                return;
            }
        };
        if failure {
            self.totals.failures = self.totals.failures.wrapping_add(1);
        } else {
            self.totals.successes = self.totals.successes.wrapping_add(1);
        }
        match permit.kind {
            PermitKind::Closed => self.record_closed(failure, now),
            PermitKind::Probe => self.record_probe(failure, now),
            PermitKind::Disabled => {}
        }
    }

    /// Gives a permit back without a result (the call was abandoned or
    /// never made): a probe frees its slot; nothing is judged.
    ///
    /// It takes no time, so a drop guard can call it: time-driven
    /// transitions wait for the next call that brings a `now`.
    pub fn on_cancel(&mut self, permit: Permit) {
        if permit.epoch != self.epoch {
            self.totals.late = self.totals.late.wrapping_add(1);
            return;
        }
        self.totals.cancelled = self.totals.cancelled.wrapping_add(1);
        self.release(&permit);
    }

    /// Frees a current-epoch probe's slot. Not news of the dependency, so
    /// the probe deadline stays where it was.
    fn release(&mut self, permit: &Permit) {
        if let (PermitKind::Probe, Phase::HalfOpen { in_flight, .. }) =
            (permit.kind, &mut self.phase)
        {
            *in_flight = in_flight.saturating_sub(1);
        }
    }

    #[inline]
    fn record_closed(&mut self, failure: bool, now: Instant) {
        let counts = self.window.as_mut().map(|w| w.record(failure, now));
        if !failure {
            self.consecutive = 0;
            return;
        }
        self.consecutive = self.consecutive.saturating_add(1);
        if let Some(limit) = self.config.consecutive_failures
            && self.consecutive >= limit
        {
            let failures = self.consecutive;
            self.trip(now, OpenReason::ConsecutiveFailures { failures });
            return;
        }
        if let (Some(rule), Some(counts)) = (&self.config.failure_rate, counts) {
            #[allow(
                clippy::cast_precision_loss,
                reason = "a rate; counts above 2^53 lose nothing that matters"
            )]
            let rate = counts.failures as f64 / counts.calls as f64;
            if counts.calls >= u64::from(rule.minimum_calls) && rate >= rule.threshold {
                let reason = OpenReason::FailureRate {
                    failures: counts.failures,
                    calls: counts.calls,
                };
                self.trip(now, reason);
            }
        }
    }

    fn record_probe(&mut self, failure: bool, now: Instant) {
        let Phase::HalfOpen {
            in_flight,
            successes,
            last_activity,
        } = &mut self.phase
        else {
            return;
        };
        *in_flight = in_flight.saturating_sub(1);
        *last_activity = now;
        if failure {
            self.reopen(now, OpenReason::ProbeFailed);
            return;
        }
        *successes = successes.saturating_add(1);
        if *successes >= self.config.half_open_successes {
            let successes = *successes;
            self.close(now, successes);
        }
    }

    /// Applies what time alone changes: the end of an open period, a probe
    /// deadline.
    fn catch_up(&mut self, now: Instant) {
        match self.phase {
            Phase::Open { retry_at } if now >= retry_at => {
                self.enter(
                    Phase::HalfOpen {
                        in_flight: 0,
                        successes: 0,
                        last_activity: now,
                    },
                    Some(now),
                );
                self.push(BreakerEvent::HalfOpened { at: now });
            }
            Phase::HalfOpen {
                in_flight,
                last_activity,
                ..
            } if in_flight > 0 && now >= later(last_activity, self.config.probe_timeout) => {
                self.reopen(now, OpenReason::ProbeTimedOut);
            }
            _ => {}
        }
    }

    /// The next instant at which time alone changes the state: the end of
    /// the open period, or the probe deadline while probes are out.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Open { retry_at } => Some(retry_at),
            Phase::HalfOpen {
                in_flight,
                last_activity,
                ..
            } if in_flight > 0 => Some(later(last_activity, self.config.probe_timeout)),
            _ => None,
        }
    }

    /// Applies the transitions due at `now` (see
    /// [`poll_timeout`](Self::poll_timeout)). Calling it early, late or
    /// twice is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.catch_up(now);
    }

    /// Opens the breaker by hand: every call is rejected until
    /// [`reset`](Self::reset). Permits already out become late.
    pub fn force_open(&mut self, now: Instant) {
        if self.phase != Phase::ForcedOpen {
            self.enter(Phase::ForcedOpen, Some(now));
            self.push(BreakerEvent::ForcedOpen { at: now });
        }
    }

    /// Switches the breaker off: every call is admitted and none is judged
    /// until [`reset`](Self::reset). Permits already out become late.
    pub fn disable(&mut self) {
        if self.phase != Phase::Disabled {
            self.enter(Phase::Disabled, None);
            self.push(BreakerEvent::Disabled);
        }
    }

    /// Closes the breaker and forgets every count but the totals (failures
    /// in a row, the window, re-openings, the grown open duration). Permits
    /// already out become late.
    pub fn reset(&mut self, now: Instant) {
        let from = self.state();
        self.enter(Phase::Closed, Some(now));
        self.forget();
        self.push(BreakerEvent::Reset { at: now, from });
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<BreakerEvent> {
        self.events.pop_front()
    }

    /// A copy of the state, counts and totals.
    #[must_use]
    pub fn snapshot(&self) -> BreakerSnapshot {
        let counts = self
            .window
            .as_ref()
            .map(RateWindow::counts)
            .unwrap_or_default();
        let (probes_in_flight, probe_successes) = match self.phase {
            Phase::HalfOpen {
                in_flight,
                successes,
                ..
            } => (in_flight, successes),
            _ => (0, 0),
        };
        let retry_at = match self.phase {
            Phase::Open { retry_at } => Some(retry_at),
            Phase::HalfOpen {
                in_flight,
                last_activity,
                ..
            } if in_flight >= self.config.half_open_probes => {
                Some(later(last_activity, self.config.probe_timeout))
            }
            _ => None,
        };
        #[allow(
            clippy::cast_precision_loss,
            reason = "a rate; counts above 2^53 lose nothing that matters"
        )]
        let failure_rate = (counts.calls > 0).then(|| counts.failures as f64 / counts.calls as f64);
        BreakerSnapshot {
            state: self.state(),
            since: self.since,
            retry_at,
            consecutive_failures: self.consecutive,
            window_calls: counts.calls,
            window_failures: counts.failures,
            failure_rate,
            probes_in_flight,
            probe_successes,
            reopens: self.reopens,
            open_duration: self.open_for,
            totals: self.totals,
            dropped_events: self.dropped_events,
        }
    }

    /// Trips a closed breaker: the first opening, for `open_duration`.
    fn trip(&mut self, now: Instant, reason: OpenReason) {
        self.reopens = 0;
        self.open_for = self.config.open_duration;
        self.open(now, reason);
    }

    /// Re-opens a half-open breaker, for longer when configured.
    fn reopen(&mut self, now: Instant, reason: OpenReason) {
        self.reopens = self.reopens.saturating_add(1);
        let max = self.config.max_open_duration;
        let grown = self.open_for.as_secs_f64() * self.config.open_multiplier;
        self.open_for = Duration::try_from_secs_f64(grown).map_or(max, |grown| grown.min(max));
        self.open(now, reason);
    }

    fn open(&mut self, now: Instant, reason: OpenReason) {
        let retry_at = later(now, self.open_for);
        self.enter(Phase::Open { retry_at }, Some(now));
        self.push(BreakerEvent::Opened {
            at: now,
            retry_at,
            open_for: self.open_for,
            reason,
            reopens: self.reopens,
        });
    }

    fn close(&mut self, now: Instant, successes: u32) {
        self.enter(Phase::Closed, Some(now));
        self.forget();
        self.push(BreakerEvent::Closed { at: now, successes });
    }

    /// Forgets what a closed breaker starts without.
    fn forget(&mut self) {
        self.consecutive = 0;
        if let Some(window) = &mut self.window {
            window.clear();
        }
        self.reopens = 0;
        self.open_for = self.config.open_duration;
    }

    fn enter(&mut self, phase: Phase, now: Option<Instant>) {
        self.phase = phase;
        self.since = now;
        self.epoch = next_epoch();
    }

    fn push(&mut self, event: BreakerEvent) {
        if self.events.len() == EVENT_CAPACITY {
            self.events.pop_front();
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
        self.events.push_back(event);
    }
}
