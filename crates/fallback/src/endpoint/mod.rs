//! The endpoint set: a score per endpoint and a selection policy that
//! prefers the primary, fails over to the best healthy alternative, fails
//! back once the primary has stayed healthy, and never flaps.

mod score;
mod select;
mod types;

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

pub use types::{
    BreakerState, EndpointEvent, EndpointHealth, EndpointSnapshot, EndpointStatus, FailoverCause,
    SelectReason, Selection,
};

use crate::{EndpointConfig, Error, WsAvailability};
use score::{Entry, Report};

/// Events kept for [`EndpointSet::poll_event`]; older ones are dropped (and
/// counted) if the caller never polls, so memory stays bounded.
const EVENT_CAPACITY: usize = 256;

/// Endpoints in priority order (the first is the primary), each with a
/// health score, and the choice of which one to use.
///
/// Report what happens to each endpoint
/// ([`on_attempt`](Self::on_attempt), [`on_success`](Self::on_success),
/// [`on_failure`](Self::on_failure), [`on_silence`](Self::on_silence),
/// [`on_breaker`](Self::on_breaker)); ask [`select`](Self::select) which to
/// use whenever a connection is (re)made and at every
/// [`poll_timeout`](Self::poll_timeout) (after
/// [`handle_timeout`](Self::handle_timeout)); a selection whose reason
/// [`is_switch`](SelectReason::is_switch) means traffic should move. While
/// traffic is on an alternative, [`poll_probe`](Self::poll_probe) says when
/// to probe the primary. Every change is an [`EndpointEvent`].
///
/// `E` is the caller's endpoint type (a URL, a host and port, an index);
/// it is compared with `==`, so the set is meant for a handful of
/// endpoints.
#[derive(Debug, Clone)]
pub struct EndpointSet<E> {
    config: EndpointConfig,
    entries: Vec<Entry<E>>,
    current: Option<usize>,
    switched_at: Option<Instant>,
    /// Set by a selection held back by `min_dwell`, until the next selection.
    held_until: Option<Instant>,
    /// When the last probe of the primary was handed out.
    probe_issued: Option<Instant>,
    /// Whether the last selection found nothing usable (one event per episode).
    none_usable: bool,
    switches: u64,
    events: VecDeque<EndpointEvent<E>>,
    dropped_events: u64,
}

impl<E: Clone + PartialEq + fmt::Debug> EndpointSet<E> {
    /// A set of `endpoints` in priority order: the first is the primary.
    /// Every endpoint starts healthy with a perfect score.
    ///
    /// # Errors
    ///
    /// [`Error::NoEndpoints`] for an empty list,
    /// [`Error::DuplicateEndpoint`] naming an endpoint listed twice, and
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`EndpointConfig::validate`].
    pub fn new(endpoints: Vec<E>, config: EndpointConfig) -> Result<Self, Error> {
        if endpoints.is_empty() {
            return Err(Error::NoEndpoints);
        }
        for (second, endpoint) in endpoints.iter().enumerate() {
            if let Some(first) = endpoints[..second].iter().position(|e| e == endpoint) {
                return Err(Error::DuplicateEndpoint {
                    endpoint: format!("{endpoint:?}"),
                    first,
                    second,
                });
            }
        }
        config.validate()?;
        Ok(Self {
            config,
            entries: endpoints.into_iter().map(Entry::new).collect(),
            current: None,
            switched_at: None,
            held_until: None,
            probe_issued: None,
            none_usable: false,
            switches: 0,
            events: VecDeque::new(),
            dropped_events: 0,
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// The endpoints, in priority order.
    pub fn endpoints(&self) -> impl ExactSizeIterator<Item = &E> {
        self.entries.iter().map(|entry| &entry.endpoint)
    }

    /// The primary (the first endpoint).
    #[must_use]
    pub fn primary(&self) -> &E {
        &self.entries[0].endpoint
    }

    /// The endpoint in use, as of the last selection.
    #[must_use]
    pub fn current(&self) -> Option<&E> {
        self.current.map(|i| &self.entries[i].endpoint)
    }

    /// An endpoint's score in `[0, 1]`; `None` if it is not in the set.
    #[must_use]
    pub fn score(&self, endpoint: &E) -> Option<f64> {
        self.find(endpoint)
            .map(|i| self.entries[i].score(&self.config))
    }

    /// An endpoint's health at `now`; `None` if it is not in the set.
    #[must_use]
    pub fn health(&self, endpoint: &E, now: Instant) -> Option<EndpointHealth> {
        self.find(endpoint)
            .map(|i| self.entries[i].health_at(&self.config, now))
    }

    /// Whether any endpoint may be tried at `now`. `false` means every one
    /// is down: the cue for a [`DegradationPlan`](crate::DegradationPlan) to
    /// poll.
    #[must_use]
    pub fn any_usable(&self, now: Instant) -> bool {
        self.entries
            .iter()
            .any(|e| e.health_at(&self.config, now).is_usable())
    }

    /// [`any_usable`](Self::any_usable) as the input a
    /// [`DegradationPlan`](crate::DegradationPlan) takes
    /// ([`set_websocket`](crate::DegradationPlan::set_websocket)).
    #[must_use]
    pub fn availability(&self, now: Instant) -> WsAvailability {
        if self.any_usable(now) {
            WsAvailability::Usable
        } else {
            WsAvailability::Unusable
        }
    }

    /// When the first down endpoint may be tried again, if any is down with
    /// a known end.
    #[must_use]
    pub fn retry_at(&self, now: Instant) -> Option<Instant> {
        self.entries
            .iter()
            .filter_map(|e| match e.health_at(&self.config, now) {
                EndpointHealth::Down { until } => until,
                _ => None,
            })
            .min()
    }

    /// An attempt to connect to `endpoint` started (it dates probes).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownEndpoint`] if it is not in the set.
    pub fn on_attempt(&mut self, endpoint: &E, now: Instant) -> Result<(), Error> {
        self.report(endpoint, Report::Attempt, now)
    }

    /// A connection to `endpoint` opened after `connect_time`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownEndpoint`] if it is not in the set.
    pub fn on_success(
        &mut self,
        endpoint: &E,
        connect_time: Duration,
        now: Instant,
    ) -> Result<(), Error> {
        self.report(endpoint, Report::Success { connect_time }, now)
    }

    /// An attempt to connect to `endpoint` failed, or a connection to it
    /// ended by a fault (not by a planned close).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownEndpoint`] if it is not in the set.
    pub fn on_failure(&mut self, endpoint: &E, now: Instant) -> Result<(), Error> {
        self.report(endpoint, Report::Failure, now)
    }

    /// A connection to `endpoint` went silent (no frame for the keepalive
    /// timeout, or its streams stalled).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownEndpoint`] if it is not in the set.
    pub fn on_silence(&mut self, endpoint: &E, now: Instant) -> Result<(), Error> {
        self.report(endpoint, Report::Silence, now)
    }

    /// `endpoint`'s circuit breaker changed state. An open breaker makes it
    /// down until `retry_at`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownEndpoint`] if it is not in the set.
    pub fn on_breaker(
        &mut self,
        endpoint: &E,
        state: BreakerState,
        now: Instant,
    ) -> Result<(), Error> {
        let index = self.index(endpoint)?;
        self.entries[index].set_breaker(state);
        self.observe(index, now);
        Ok(())
    }

    /// Chooses the endpoint to use at `now`; `None` when every endpoint is
    /// down (see [`retry_at`](Self::retry_at)).
    ///
    /// The rules, in order (`docs/fallback.md`):
    /// 1. No current endpoint: the primary if healthy, else the best healthy
    ///    alternative, else the best usable one ([`SelectReason::Initial`]).
    /// 2. The current endpoint is down: the same choice among the others, at
    ///    once ([`FailoverCause::Down`]).
    /// 3. Traffic is on an alternative and the primary has been healthy for
    ///    `failback_after`: back to the primary ([`SelectReason::Failback`]).
    /// 4. The current endpoint is unhealthy: the primary if healthy, else
    ///    the best healthy alternative ([`FailoverCause::Unhealthy`]); with
    ///    none healthy, the best usable one if it scores `switch_margin`
    ///    more ([`FailoverCause::BetterScore`]).
    /// 5. Otherwise stay ([`SelectReason::Stay`]).
    ///
    /// Rules 3 and 4 wait until `min_dwell` after the last switch
    /// ([`SelectReason::Held`]). Ties in score go to the earlier endpoint.
    pub fn select(&mut self, now: Instant) -> Option<Selection<E>> {
        self.observe_all(now);
        self.held_until = None;
        let decision = match self.current {
            None => self.best(None).map(|i| (i, SelectReason::Initial)),
            Some(current) => self.decide(current, now),
        };
        let Some((index, reason)) = decision else {
            if !self.none_usable {
                self.none_usable = true;
                let retry_at = self.retry_at(now);
                self.push(EndpointEvent::NoneUsable { at: now, retry_at });
            }
            return None;
        };
        self.none_usable = false;
        if self.current != Some(index) {
            let from = self.current.map(|i| self.entries[i].endpoint.clone());
            if from.is_some() {
                self.switches = self.switches.saturating_add(1);
            }
            self.current = Some(index);
            self.switched_at = Some(now);
            self.push(EndpointEvent::Switched {
                from,
                to: self.entries[index].endpoint.clone(),
                reason,
                at: now,
            });
        }
        Some(Selection {
            endpoint: self.entries[index].endpoint.clone(),
            index,
            reason,
        })
    }

    /// While traffic is on an alternative, the primary when a probe of it is
    /// due: `probe_interval` after its last attempt, report or probe. The
    /// probe is counted as handed out; connect to it (make-before-break, or
    /// a bare handshake) and report the outcome, which is how the primary
    /// earns its fail-back.
    pub fn poll_probe(&mut self, now: Instant) -> Option<E> {
        self.observe(0, now);
        let due = self.probe_deadline()?;
        if now < due {
            return None;
        }
        self.probe_issued = Some(now);
        Some(self.entries[0].endpoint.clone())
    }

    /// The next instant at which time alone matters: a down period ending, a
    /// held switch becoming possible, the primary becoming eligible for
    /// fail-back, or a probe falling due. Call
    /// [`handle_timeout`](Self::handle_timeout), then
    /// [`select`](Self::select) and [`poll_probe`](Self::poll_probe), then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let downs = self.entries.iter().filter_map(Entry::deadline);
        downs
            .chain(self.held_until)
            .chain(self.failback_deadline())
            .chain(self.probe_deadline())
            .min()
    }

    /// Observes the health changes due at `now` (down periods ending), as
    /// events. Calling it early, late or twice is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe_all(now);
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<EndpointEvent<E>> {
        self.events.pop_front()
    }

    /// A copy of every endpoint's score and health (as last observed) and
    /// of the selection state.
    #[must_use]
    pub fn snapshot(&self) -> EndpointSnapshot<E> {
        EndpointSnapshot {
            endpoints: self
                .entries
                .iter()
                .map(|e| e.status(&self.config))
                .collect(),
            current: self.current,
            switched_at: self.switched_at,
            switches: self.switches,
            dropped_events: self.dropped_events,
        }
    }

    fn find(&self, endpoint: &E) -> Option<usize> {
        self.entries.iter().position(|e| &e.endpoint == endpoint)
    }

    fn index(&self, endpoint: &E) -> Result<usize, Error> {
        self.find(endpoint).ok_or_else(|| Error::UnknownEndpoint {
            endpoint: format!("{endpoint:?}"),
        })
    }

    fn report(&mut self, endpoint: &E, report: Report, now: Instant) -> Result<(), Error> {
        let index = self.index(endpoint)?;
        self.entries[index].record(report, &self.config, now);
        self.observe(index, now);
        Ok(())
    }

    /// Records endpoint `index`'s health at `now`, with an event if it
    /// changed.
    fn observe(&mut self, index: usize, now: Instant) {
        let entry = &mut self.entries[index];
        let health = entry.health_at(&self.config, now);
        if health != EndpointHealth::Healthy {
            entry.healthy_since = None;
        }
        if health == entry.health {
            return;
        }
        let from = std::mem::replace(&mut entry.health, health);
        let event = EndpointEvent::HealthChanged {
            endpoint: entry.endpoint.clone(),
            from,
            to: health,
            score: entry.score(&self.config),
            at: now,
        };
        self.push(event);
    }

    fn observe_all(&mut self, now: Instant) {
        for index in 0..self.entries.len() {
            self.observe(index, now);
        }
    }

    fn push(&mut self, event: EndpointEvent<E>) {
        if self.events.len() == EVENT_CAPACITY {
            self.events.pop_front();
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
        self.events.push_back(event);
    }
}
