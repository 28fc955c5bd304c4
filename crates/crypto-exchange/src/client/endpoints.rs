//! The client's market-stream endpoints: one `fallback::EndpointSet` per
//! client, shared by every connection driver, over `ClientConfig::endpoints`
//! (the primary first), each endpoint with its circuit breaker.
//!
//! Drivers report what happens to each endpoint (attempts, successes with
//! their connect time, failures, silences) and ask [`Endpoints::select`]
//! before every connection attempt; the breakers' states are read into the
//! set before each decision, so an open breaker makes its endpoint down and
//! the next selection fails over at once. Connected drivers call
//! [`Endpoints::check`] at the set's `poll_timeout()`: it applies the time
//! rules, re-selects (a fail-back shows as a new current endpoint, which the
//! driver follows make-before-break) and hands out the primary's probe while
//! traffic is on an alternative.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use circuit_breaker::{BreakerSnapshot, Registry, SharedBreaker, State};
use fallback::{
    BreakerState, EndpointConfig, EndpointEvent, EndpointHealth, EndpointSet, EndpointSnapshot,
    SelectReason, WsAvailability,
};
use ws_transport::WsUrl;

use super::config::{endpoint_key, stream_url};

/// One market-stream endpoint.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The base URL as configured.
    pub(crate) base: String,
    /// `scheme://host:port`: its name in the set, the breaker registry and signals.
    pub(crate) key: String,
    /// The combined-stream URL connections open.
    pub(crate) url: WsUrl,
    /// Its circuit breaker, shared by every connection to it.
    pub(crate) breaker: SharedBreaker,
}

struct SetState {
    set: EndpointSet<String>,
    /// The breaker state last told to the set, per endpoint.
    reported: Vec<Option<BreakerState>>,
}

/// What a connected driver learns at [`Endpoints::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Check {
    /// The endpoint traffic should be on (`None`: none is usable now).
    pub(crate) current: Option<usize>,
    /// The primary, when a probe of it is due (traffic is on an alternative).
    pub(crate) probe: Option<usize>,
}

/// The endpoints of one client and the set that chooses between them.
pub(crate) struct Endpoints {
    list: Vec<Endpoint>,
    state: Mutex<SetState>,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("list", &self.list)
            .finish_non_exhaustive()
    }
}

impl Endpoints {
    /// The endpoints of `bases` (validated by `ClientConfig::validate`), each
    /// with its breaker from `breakers` (registered now, so that health sees
    /// every endpoint's breaker from the start).
    ///
    /// An endpoint is down exactly while its circuit breaker rejects
    /// attempts: the breaker counts attempts (not drops of live connections)
    /// and decides when to probe, so the set's own down rule (`down_after`
    /// failures in a row) is turned off and the two never disagree. The set's
    /// scores (one failure costs 30 %, two make an endpoint unhealthy) still
    /// move traffic to a healthy alternative before a breaker opens.
    pub(crate) fn new(
        bases: &[String],
        config: &EndpointConfig,
        breakers: &Registry<String>,
    ) -> Result<Self, String> {
        let mut list = Vec::with_capacity(bases.len());
        for base in bases {
            let url = stream_url(base)?;
            let key = endpoint_key(&url);
            let breaker = breakers.get_or_insert(&key);
            list.push(Endpoint {
                base: base.clone(),
                key,
                url,
                breaker,
            });
        }
        let mut config = config.clone();
        config.down_after = u32::MAX;
        let keys = list.iter().map(|e| e.key.clone()).collect();
        let set = EndpointSet::new(keys, config).map_err(|e| format!("endpoints: {e}"))?;
        Ok(Endpoints {
            state: Mutex::new(SetState {
                set,
                reported: vec![None; list.len()],
            }),
            list,
        })
    }

    fn state(&self) -> MutexGuard<'_, SetState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Endpoint `index` (the primary is 0). Indices come from this set, so
    /// an out-of-range one is clamped to the last endpoint rather than panic.
    pub(crate) fn get(&self, index: usize) -> &Endpoint {
        let last = self.list.len().saturating_sub(1);
        &self.list[index.min(last)]
    }

    /// Chooses the endpoint for a connection attempt at `now`, with the
    /// reason; `None` when every endpoint is down.
    pub(crate) fn select(&self, now: Instant) -> Option<(usize, SelectReason)> {
        let mut state = self.synced(now);
        state.set.handle_timeout(now);
        state.set.select(now).map(|s| (s.index, s.reason))
    }

    /// For a connected driver: applies the time rules, selects again and
    /// hands out a due probe of the primary.
    pub(crate) fn check(&self, now: Instant) -> Check {
        let mut state = self.synced(now);
        state.set.handle_timeout(now);
        let current = state.set.select(now).map(|s| s.index);
        let probe = state
            .set
            .poll_probe(now)
            .and_then(|key| self.list.iter().position(|e| e.key == key));
        Check { current, probe }
    }

    /// The endpoint traffic is on, as of the last selection.
    pub(crate) fn current(&self) -> Option<usize> {
        self.state().set.snapshot().current
    }

    /// When time alone changes a decision (a down period ending, a held
    /// switch, fail-back, a probe).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.state().set.poll_timeout()
    }

    /// When the first down endpoint may be tried again: its down period's or
    /// its breaker's end, whichever is later.
    pub(crate) fn retry_at(&self, now: Instant) -> Option<Instant> {
        let state = self.synced(now);
        let set = state.set.retry_at(now);
        let breakers = self
            .list
            .iter()
            .filter_map(|e| e.breaker.snapshot().retry_at)
            .min();
        match (set, breakers) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether any endpoint may be tried at `now`.
    pub(crate) fn availability(&self, now: Instant) -> WsAvailability {
        self.synced(now).set.availability(now)
    }

    /// The endpoint a new connection would use now: the current one if it is
    /// usable, else the best usable one by score (ties to the earlier).
    pub(crate) fn best(&self, now: Instant) -> Option<usize> {
        self.best_excluding(None, now)
    }

    /// The best usable endpoint other than `excluded`, by score (ties to the
    /// earlier).
    pub(crate) fn best_other(&self, excluded: usize, now: Instant) -> Option<usize> {
        self.best_excluding(Some(excluded), now)
    }

    fn best_excluding(&self, excluded: Option<usize>, now: Instant) -> Option<usize> {
        let state = self.synced(now);
        let usable = |i: usize| {
            state
                .set
                .health(&self.list[i].key, now)
                .is_some_and(EndpointHealth::is_usable)
        };
        if let Some(current) = state.set.snapshot().current
            && usable(current)
            && excluded != Some(current)
        {
            return Some(current);
        }
        let mut best: Option<(usize, f64)> = None;
        for (i, endpoint) in self.list.iter().enumerate() {
            if !usable(i) || excluded == Some(i) {
                continue;
            }
            let score = state.set.score(&endpoint.key).unwrap_or(0.0);
            if best.is_none_or(|(_, top)| score > top) {
                best = Some((i, score));
            }
        }
        best.map(|(i, _)| i)
    }

    /// A copy of every endpoint's score and health.
    pub(crate) fn snapshot(&self, now: Instant) -> EndpointSnapshot<String> {
        let mut state = self.synced(now);
        state.set.handle_timeout(now);
        state.set.snapshot()
    }

    /// An attempt to connect to endpoint `index` starts.
    pub(crate) fn on_attempt(&self, index: usize, now: Instant) {
        let key = &self.get(index).key;
        let _ = self.state().set.on_attempt(key, now);
    }

    /// A connection to endpoint `index` opened after `connect_time`.
    pub(crate) fn on_success(&self, index: usize, connect_time: Duration, now: Instant) {
        let key = &self.get(index).key;
        let _ = self.state().set.on_success(key, connect_time, now);
    }

    /// An attempt to connect to endpoint `index` failed, or a connection to
    /// it ended by a fault.
    pub(crate) fn on_failure(&self, index: usize, now: Instant) {
        let key = &self.get(index).key;
        let _ = self.state().set.on_failure(key, now);
    }

    /// A connection to endpoint `index` went silent.
    pub(crate) fn on_silence(&self, index: usize, now: Instant) {
        let key = &self.get(index).key;
        let _ = self.state().set.on_silence(key, now);
    }

    /// The set's events since the last call, oldest first.
    pub(crate) fn take_events(&self) -> Vec<EndpointEvent<String>> {
        let mut state = self.state();
        std::iter::from_fn(|| state.set.poll_event()).collect()
    }

    /// The state with every breaker's current state told to the set.
    fn synced(&self, now: Instant) -> MutexGuard<'_, SetState> {
        let mut state = self.state();
        for (i, endpoint) in self.list.iter().enumerate() {
            let breaker = breaker_state(&endpoint.breaker.snapshot());
            if state.reported[i] != Some(breaker) {
                state.reported[i] = Some(breaker);
                let _ = state.set.on_breaker(&endpoint.key, breaker, now);
            }
        }
        state
    }
}

/// A breaker's snapshot in the set's words: rejecting (open, forced open, or
/// half-open with every probe slot taken) is open until it may admit again.
fn breaker_state(snapshot: &BreakerSnapshot) -> BreakerState {
    match snapshot.state {
        State::Open => BreakerState::Open {
            retry_at: snapshot.retry_at,
        },
        State::ForcedOpen => BreakerState::Open { retry_at: None },
        State::HalfOpen if snapshot.retry_at.is_some() => BreakerState::Open {
            retry_at: snapshot.retry_at,
        },
        State::HalfOpen => BreakerState::HalfOpen,
        _ => BreakerState::Closed,
    }
}

/// A short name of a selection's reason, for signals and logs.
pub(crate) fn reason_label(reason: SelectReason) -> &'static str {
    match reason {
        SelectReason::Initial => "initial",
        SelectReason::Stay => "stay",
        SelectReason::Held { .. } => "held",
        SelectReason::Failover {
            cause: fallback::FailoverCause::Down,
            ..
        } => "failover_down",
        SelectReason::Failover {
            cause: fallback::FailoverCause::Unhealthy,
            ..
        } => "failover_unhealthy",
        SelectReason::Failover { .. } => "failover_better_score",
        SelectReason::Failback { .. } => "failback",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(bases: &[&str]) -> Result<Endpoints, String> {
        let registry = Registry::new(circuit_breaker::BreakerConfig::default())
            .map_err(|e| e.to_string())?;
        let bases: Vec<String> = bases.iter().map(|&b| b.to_owned()).collect();
        Endpoints::new(&bases, &EndpointConfig::default(), &registry)
    }

    #[test]
    fn an_open_breaker_fails_over_at_once() -> Result<(), String> {
        let e = endpoints(&["ws://127.0.0.1:1", "ws://127.0.0.1:2"])?;
        let now = Instant::now();
        assert_eq!(e.select(now), Some((0, SelectReason::Initial)));
        e.get(0).breaker.force_open(now);
        let (index, reason) = e.select(now).ok_or("no endpoint")?;
        assert_eq!(index, 1);
        assert!(reason.is_switch(), "{reason:?}");
        e.get(1).breaker.force_open(now);
        assert_eq!(e.select(now), None);
        assert_eq!(e.availability(now), WsAvailability::Unusable);
        assert_eq!(e.best(now), None);
        e.get(0).breaker.reset(now);
        assert_eq!(e.best(now), Some(0));
        let switched = e
            .take_events()
            .into_iter()
            .filter(|ev| matches!(ev, EndpointEvent::Switched { .. }))
            .count();
        assert_eq!(switched, 2, "initial and failover");
        Ok(())
    }

    #[test]
    fn an_endpoint_is_down_only_while_its_breaker_rejects() -> Result<(), String> {
        let e = endpoints(&["ws://127.0.0.1:1"])?;
        let now = Instant::now();
        // Drops of live connections count for the score, not for the breaker.
        for _ in 0..10 {
            e.on_failure(0, now);
        }
        assert_eq!(e.select(now).map(|(i, _)| i), Some(0));
        e.get(0).breaker.force_open(now);
        assert_eq!(e.select(now), None);
        e.get(0).breaker.reset(now);
        assert_eq!(e.select(now).map(|(i, _)| i), Some(0));
        Ok(())
    }

    #[test]
    fn two_failures_move_traffic_to_a_healthy_alternative() -> Result<(), String> {
        let registry = Registry::new(circuit_breaker::BreakerConfig::default())
            .map_err(|e| e.to_string())?;
        let config = EndpointConfig {
            min_dwell: Duration::from_millis(1),
            ..EndpointConfig::default()
        };
        let bases = ["ws://127.0.0.1:1".to_owned(), "ws://127.0.0.1:2".to_owned()];
        let e = Endpoints::new(&bases, &config, &registry)?;
        let now = Instant::now();
        assert_eq!(e.select(now).map(|(i, _)| i), Some(0));
        let later = now + Duration::from_millis(5);
        e.on_failure(0, later);
        assert_eq!(e.select(later).map(|(i, _)| i), Some(0), "one blip stays");
        e.on_failure(0, later);
        let (index, reason) = e.select(later).ok_or("no endpoint")?;
        assert_eq!((index, reason_label(reason)), (1, "failover_unhealthy"));
        Ok(())
    }
}
