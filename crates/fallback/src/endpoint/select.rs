//! The selection policy's decisions: which endpoint traffic should be on,
//! and when time alone may change that.

use std::fmt;
use std::time::Instant;

use super::{EndpointHealth, EndpointSet, FailoverCause, SelectReason};
use crate::config::later;

impl<E: Clone + PartialEq + fmt::Debug> EndpointSet<E> {
    pub(super) fn decide(&mut self, current: usize, now: Instant) -> Option<(usize, SelectReason)> {
        let health = self.entries[current].health;
        if !health.is_usable() {
            let cause = FailoverCause::Down;
            return self.best(Some(current)).map(|i| {
                let reason = SelectReason::Failover {
                    from: current,
                    cause,
                };
                (i, reason)
            });
        }
        let wanted = if current != 0 && self.primary_ready(now) {
            Some((0, SelectReason::Failback { from: current }))
        } else if health == EndpointHealth::Unhealthy {
            self.better_than(current)
        } else {
            None
        };
        let dwell_end = self
            .switched_at
            .map_or(now, |at| later(at, self.config.min_dwell));
        match wanted {
            None => Some((current, SelectReason::Stay)),
            Some(switch) if now >= dwell_end => Some(switch),
            Some(_) => {
                self.held_until = Some(dwell_end);
                let until = dwell_end;
                Some((current, SelectReason::Held { until }))
            }
        }
    }

    /// Where an unhealthy `current` endpoint's traffic should go, if
    /// anywhere.
    fn better_than(&self, current: usize) -> Option<(usize, SelectReason)> {
        let failover = |cause| SelectReason::Failover {
            from: current,
            cause,
        };
        if let Some(i) = self.best_with(Some(current), EndpointHealth::Healthy) {
            return Some((i, failover(FailoverCause::Unhealthy)));
        }
        let i = self.best_with(Some(current), EndpointHealth::Unhealthy)?;
        let margin =
            self.entries[i].score(&self.config) - self.entries[current].score(&self.config);
        (margin >= self.config.switch_margin).then(|| (i, failover(FailoverCause::BetterScore)))
    }

    /// The primary if healthy, else the best healthy endpoint, else the
    /// best usable one; never `excluded`.
    pub(super) fn best(&self, excluded: Option<usize>) -> Option<usize> {
        self.best_with(excluded, EndpointHealth::Healthy)
            .or_else(|| self.best_with(excluded, EndpointHealth::Unhealthy))
    }

    /// The primary if it has `health`, else the highest-scoring endpoint
    /// with `health` (ties to the earlier one); never `excluded`.
    fn best_with(&self, excluded: Option<usize>, health: EndpointHealth) -> Option<usize> {
        let candidates = self
            .entries
            .iter()
            .enumerate()
            .filter(|&(i, e)| Some(i) != excluded && e.health == health);
        let mut best: Option<(usize, f64)> = None;
        for (i, entry) in candidates {
            if i == 0 {
                return Some(0);
            }
            let score = entry.score(&self.config);
            if best.is_none_or(|(_, top)| score > top) {
                best = Some((i, score));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Whether the primary has been healthy, with no failure or silence,
    /// for `failback_after`.
    fn primary_ready(&self, now: Instant) -> bool {
        let primary = &self.entries[0];
        primary.health == EndpointHealth::Healthy
            && primary
                .healthy_since
                .is_some_and(|since| now >= later(since, self.config.failback_after))
    }

    /// When fail-back becomes possible, while traffic is on an alternative
    /// and the primary is healthy.
    pub(super) fn failback_deadline(&self) -> Option<Instant> {
        self.current.filter(|&c| c != 0)?;
        let primary = &self.entries[0];
        if primary.health != EndpointHealth::Healthy {
            return None;
        }
        let eligible = later(primary.healthy_since?, self.config.failback_after);
        let dwell_end = self
            .switched_at
            .map_or(eligible, |at| later(at, self.config.min_dwell));
        Some(eligible.max(dwell_end))
    }

    /// When the next probe of the primary is due, while traffic is on an
    /// alternative.
    pub(super) fn probe_deadline(&self) -> Option<Instant> {
        let interval = self.config.probe_interval?;
        self.current.filter(|&c| c != 0)?;
        // A down primary is not probed; its down period has its own deadline.
        if !self.entries[0].health.is_usable() {
            return None;
        }
        let last = [
            self.entries[0].last_contact,
            self.probe_issued,
            self.switched_at,
        ]
        .into_iter()
        .flatten()
        .max()?;
        Some(later(last, interval))
    }
}
