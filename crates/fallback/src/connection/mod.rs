//! The connection-state machine: told what the driver observed and when,
//! it answers with the transition, if any.

mod types;

use std::collections::VecDeque;
use std::time::Instant;

pub use types::{
    ConnState, ConnectionSnapshot, ErrorClass, Feed, Link, Reason, Signal, Transition,
};

use crate::config::later;
use crate::{ConnectionConfig, Error};

/// The state of one connection (healthy, degraded, unstable, failing,
/// failed, recovering, fallback), driven by the signals its driver already
/// has, as a sans-IO state machine.
///
/// Feed every observation to [`on_signal`](Self::on_signal); call
/// [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout), because three rules are about time
/// alone (probation, trouble-free time, time down). Each returns the
/// [`Transition`] it caused, which is the event to log and count; there is
/// no separate queue. The rules are tabled in `docs/fallback.md`.
#[derive(Debug, Clone)]
pub struct ConnectionMachine {
    config: ConnectionConfig,
    state: ConnState,
    since: Option<Instant>,
    link: Link,
    /// The start of the probation: the last `Connected`/`Subscribed` while up.
    ready_at: Option<Instant>,
    down_since: Option<Instant>,
    failed_attempts: u32,
    /// Drops within `unstable_window`, oldest first, at most `unstable_drops`.
    drops: VecDeque<Instant>,
    /// Transient errors within `error_window`, at most `degraded_errors`.
    errors: VecDeque<Instant>,
    last_trouble: Option<Instant>,
    breaker_open: bool,
    polling: bool,
    transitions: u64,
}

impl ConnectionMachine {
    /// A machine in [`ConnState::Connecting`], down.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`ConnectionConfig::validate`].
    pub fn new(config: ConnectionConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            state: ConnState::Connecting,
            since: None,
            link: Link::Down,
            ready_at: None,
            down_since: None,
            failed_attempts: 0,
            drops: VecDeque::new(),
            errors: VecDeque::new(),
            last_trouble: None,
            breaker_open: false,
            polling: false,
            transitions: 0,
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// The state.
    #[must_use]
    pub fn state(&self) -> ConnState {
        self.state
    }

    /// Whether the transport is open.
    #[must_use]
    pub fn link(&self) -> Link {
        self.link
    }

    /// What the state means for the streams the connection carries, for
    /// [`DegradationPlan::set_feed`](crate::DegradationPlan::set_feed):
    /// failed, fallback, and unstable while down are [`Feed::Failed`] (a
    /// flapping connection's outages are worth polling); up and serving is
    /// [`Feed::Live`]; anything else (connecting, reconnecting) is
    /// [`Feed::Interrupted`].
    #[must_use]
    pub fn feed(&self) -> Feed {
        match (self.state, self.link) {
            (ConnState::Failed | ConnState::Fallback, _) | (ConnState::Unstable, Link::Down) => {
                Feed::Failed
            }
            (ConnState::Connecting, _) | (_, Link::Down) => Feed::Interrupted,
            (_, Link::Up) => Feed::Live,
        }
    }

    /// Applies one observation made at `now`; returns the transition it
    /// caused, if any.
    #[must_use = "a transition is the event to log and count"]
    pub fn on_signal(&mut self, signal: Signal, now: Instant) -> Option<Transition> {
        self.prune(now);
        let up = self.link == Link::Up;
        match signal {
            Signal::Connected => self.on_up(now, false),
            Signal::Subscribed => self.on_up(now, true),
            Signal::Dropped { class } => {
                if up {
                    self.on_drop(class, now)
                } else {
                    // A drop while down is a failed attempt by another name.
                    self.on_attempt_failed(class, now)
                }
            }
            Signal::AttemptFailed { class } => {
                if up {
                    // Another attempt (a rotation's new connection) failed
                    // while this one serves: trouble, not an outage.
                    self.on_error(class, now)
                } else {
                    self.on_attempt_failed(class, now)
                }
            }
            // Errors and silences while down say nothing new.
            Signal::Error { class } => up.then(|| self.on_error(class, now)).flatten(),
            Signal::Silence => up.then(|| self.trouble(Reason::Silence, now)).flatten(),
            Signal::BreakerOpen => {
                self.breaker_open = true;
                if up {
                    self.trouble(Reason::BreakerOpen, now)
                } else if self.is_settled_down() {
                    None
                } else {
                    self.go(ConnState::Failed, Reason::BreakerOpen, now)
                }
            }
            Signal::BreakerClosed => {
                if self.breaker_open && up {
                    // The end of trouble starts the trouble-free clock.
                    self.last_trouble = Some(now);
                }
                self.breaker_open = false;
                None
            }
            Signal::PollingStarted => {
                self.polling = true;
                if up {
                    None
                } else {
                    self.go(ConnState::Fallback, Reason::PollingStarted, now)
                }
            }
            Signal::PollingStopped => {
                self.polling = false;
                if self.state == ConnState::Fallback {
                    self.go(ConnState::Failed, Reason::PollingStopped, now)
                } else {
                    None
                }
            }
        }
    }

    /// The next instant at which time alone changes the state: the end of a
    /// probation (recovering, unstable), of a trouble-free period
    /// (degraded), or of the time a down connection may take before it is
    /// failed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.state, self.link) {
            (ConnState::Recovering | ConnState::Unstable, Link::Up) => {
                self.ready_at.map(|at| later(at, self.config.stable_after))
            }
            (ConnState::Degraded, Link::Up) if !self.breaker_open => self
                .last_trouble
                .or(self.since)
                .map(|at| later(at, self.config.stable_after)),
            (_, Link::Down) if !self.is_settled_down() => self
                .down_since
                .map(|at| later(at, self.config.failed_after)),
            _ => None,
        }
    }

    /// Applies the transition due at `now`, if any (see
    /// [`poll_timeout`](Self::poll_timeout)). Calling it early, late or
    /// twice is harmless.
    #[must_use = "a transition is the event to log and count"]
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Transition> {
        self.prune(now);
        let deadline = self.poll_timeout()?;
        if now < deadline {
            return None;
        }
        match self.link {
            Link::Up => {
                let from = match self.state {
                    ConnState::Degraded => self.last_trouble.or(self.since),
                    _ => self.ready_at,
                };
                let after = from.map_or(self.config.stable_after, |from| {
                    now.saturating_duration_since(from)
                });
                self.go(ConnState::Healthy, Reason::Stable { after }, now)
            }
            Link::Down => {
                let down_for = self.down_since.map_or(self.config.failed_after, |since| {
                    now.saturating_duration_since(since)
                });
                self.go(ConnState::Failed, Reason::DownTooLong { down_for }, now)
            }
        }
    }

    /// Back to [`ConnState::Connecting`], down, with every count forgotten
    /// (the transition total stays). For a connection torn down and built
    /// again on purpose.
    #[must_use = "a transition is the event to log and count"]
    pub fn reset(&mut self, now: Instant) -> Option<Transition> {
        self.link = Link::Down;
        self.ready_at = None;
        self.down_since = None;
        self.failed_attempts = 0;
        self.drops.clear();
        self.errors.clear();
        self.last_trouble = None;
        self.breaker_open = false;
        self.polling = false;
        self.go(ConnState::Connecting, Reason::Reset, now)
    }

    /// A copy of the state and counts.
    #[must_use]
    pub fn snapshot(&self) -> ConnectionSnapshot {
        ConnectionSnapshot {
            state: self.state,
            since: self.since,
            link: self.link,
            feed: self.feed(),
            down_since: self.down_since,
            failed_attempts: self.failed_attempts,
            recent_drops: count(&self.drops),
            recent_errors: count(&self.errors),
            breaker_open: self.breaker_open,
            polling: self.polling,
            deadline: self.poll_timeout(),
            transitions: self.transitions,
        }
    }

    /// Failed and fallback: down, and past every rule that escalates.
    fn is_settled_down(&self) -> bool {
        matches!(self.state, ConnState::Failed | ConnState::Fallback)
    }

    fn on_up(&mut self, now: Instant, subscribed: bool) -> Option<Transition> {
        self.link = Link::Up;
        self.down_since = None;
        self.failed_attempts = 0;
        self.ready_at = Some(now);
        match self.state {
            ConnState::Connecting if subscribed => self.go(ConnState::Healthy, Reason::Ready, now),
            ConnState::Failing | ConnState::Failed | ConnState::Fallback => {
                self.go(ConnState::Recovering, Reason::Reconnected, now)
            }
            _ => None,
        }
    }

    fn on_drop(&mut self, class: ErrorClass, now: Instant) -> Option<Transition> {
        self.link = Link::Down;
        self.down_since = Some(now);
        self.ready_at = None;
        self.failed_attempts = 0;
        match class {
            // A planned close is no trouble: the state stays, and the
            // down-time rule catches a reconnect that never comes.
            ErrorClass::Planned => None,
            ErrorClass::Permanent => self.go(ConnState::Failed, Reason::Permanent, now),
            ErrorClass::Transient | ErrorClass::RateLimited => {
                push_bounded(&mut self.drops, now, self.config.unstable_drops);
                let drops = count(&self.drops);
                if drops >= self.config.unstable_drops {
                    self.go(ConnState::Unstable, Reason::Flapping { drops }, now)
                } else {
                    self.go(ConnState::Failing, Reason::Dropped { class }, now)
                }
            }
        }
    }

    fn on_attempt_failed(&mut self, class: ErrorClass, now: Instant) -> Option<Transition> {
        let since = *self.down_since.get_or_insert(now);
        self.failed_attempts = self.failed_attempts.saturating_add(1);
        if self.is_settled_down() {
            return None;
        }
        if class == ErrorClass::Permanent {
            return self.go(ConnState::Failed, Reason::Permanent, now);
        }
        let down_for = now.saturating_duration_since(since);
        if self.failed_attempts >= self.config.failed_attempts {
            let attempts = self.failed_attempts;
            self.go(ConnState::Failed, Reason::TooManyFailures { attempts }, now)
        } else if down_for >= self.config.failed_after {
            self.go(ConnState::Failed, Reason::DownTooLong { down_for }, now)
        } else {
            self.go(ConnState::Failing, Reason::AttemptFailed { class }, now)
        }
    }

    fn on_error(&mut self, class: ErrorClass, now: Instant) -> Option<Transition> {
        match class {
            ErrorClass::Planned => None,
            ErrorClass::Transient => {
                push_bounded(&mut self.errors, now, self.config.degraded_errors);
                let errors = count(&self.errors);
                if errors >= self.config.degraded_errors {
                    self.trouble(
                        Reason::Errors {
                            class,
                            count: errors,
                        },
                        now,
                    )
                } else {
                    None
                }
            }
            ErrorClass::RateLimited | ErrorClass::Permanent => {
                push_bounded(&mut self.errors, now, self.config.degraded_errors);
                let errors = count(&self.errors);
                self.trouble(
                    Reason::Errors {
                        class,
                        count: errors,
                    },
                    now,
                )
            }
        }
    }

    /// Trouble on a live connection: healthy and recovering become degraded;
    /// a degraded one stays so for longer.
    fn trouble(&mut self, reason: Reason, now: Instant) -> Option<Transition> {
        self.last_trouble = Some(now);
        match self.state {
            ConnState::Healthy | ConnState::Recovering => self.go(ConnState::Degraded, reason, now),
            _ => None,
        }
    }

    fn prune(&mut self, now: Instant) {
        let unstable_window = self.config.unstable_window;
        while let Some(&at) = self.drops.front() {
            if now.saturating_duration_since(at) < unstable_window {
                break;
            }
            self.drops.pop_front();
        }
        let error_window = self.config.error_window;
        while let Some(&at) = self.errors.front() {
            if now.saturating_duration_since(at) < error_window {
                break;
            }
            self.errors.pop_front();
        }
    }

    fn go(&mut self, to: ConnState, reason: Reason, now: Instant) -> Option<Transition> {
        if to == self.state {
            return None;
        }
        let from = self.state;
        self.state = to;
        self.since = Some(now);
        self.transitions = self.transitions.saturating_add(1);
        if to == ConnState::Healthy {
            // A healthy connection starts with a clean error count.
            self.errors.clear();
        }
        Some(Transition {
            from,
            to,
            at: now,
            reason,
        })
    }
}

/// Pushes `at`, keeping at most `cap` entries (the newest): the rules only
/// ask whether a count reached its threshold.
fn push_bounded(queue: &mut VecDeque<Instant>, at: Instant, cap: u32) {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX).max(1);
    while queue.len() >= cap {
        queue.pop_front();
    }
    queue.push_back(at);
}

fn count(queue: &VecDeque<Instant>) -> u32 {
    u32::try_from(queue.len()).unwrap_or(u32::MAX)
}
