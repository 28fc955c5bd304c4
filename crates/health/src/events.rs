//! The monitor's rarer inputs: errors, breaker transitions, REST status,
//! subscriber lag, gaps and backfills.

use std::time::Instant;

use crate::input::{
    BackfillOutcome, BreakerState, ErrorClass, ErrorSource, RestLimit, RestStatus, StreamId,
};
use crate::monitor::Monitor;
use crate::sanitize::sanitize_name;
use crate::track::BreakerTrack;

impl Monitor {
    /// An error of `class` in `source` at `now`.
    pub fn on_error(&mut self, source: ErrorSource, class: ErrorClass, now: Instant) {
        match source {
            ErrorSource::Connection(id) => {
                if let Some(conn) = self.connections.get_mut(id.index()) {
                    conn.errors.at(now).errors += 1;
                    conn.error_total += 1;
                }
            }
            ErrorSource::Stream(id) => {
                if let Some(stream) = self.streams.get_mut(id.index()) {
                    stream.errors.at(now).errors += 1;
                    stream.error_total += 1;
                    if let Some(conn) = self.connections.get_mut(stream.connection as usize) {
                        conn.errors.at(now).errors += 1;
                        conn.error_total += 1;
                    }
                }
            }
            ErrorSource::Rest => {
                self.rest.seen = true;
                self.rest.errors.at(now).errors += 1;
                self.rest.error_total += 1;
            }
            ErrorSource::Other => {}
        }
        self.totals.errors += 1;
        self.errors_by_class[class.index()] += 1;
        self.trend.at(now).errors += 1;
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            metrics.error(class);
        }
    }

    /// The circuit breaker `name` (an endpoint) is in `state` since `now`.
    /// Breakers are registered on first report; the name is a metric label.
    pub fn on_breaker(&mut self, name: &str, state: BreakerState, now: Instant) {
        let index = match self.breakers.iter().position(|b| b.name == name) {
            Some(index) => index,
            None => {
                let name = sanitize_name(name);
                match self.breakers.iter().position(|b| b.name == name) {
                    Some(index) => index,
                    None => {
                        #[cfg(feature = "metrics")]
                        if let Some(metrics) = &mut self.metrics {
                            metrics.register_breaker(&name);
                        }
                        self.breakers.push(BreakerTrack {
                            name,
                            state: BreakerState::Closed,
                            since: now,
                            opens: 0,
                        });
                        self.breakers.len() - 1
                    }
                }
            }
        };
        let breaker = &mut self.breakers[index];
        if breaker.state != state {
            if state.is_open() && !breaker.state.is_open() {
                breaker.opens += 1;
            }
            breaker.state = state;
            breaker.since = now;
        }
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            metrics.breaker(index, state);
        }
    }

    /// The REST client's weight and restriction as of `now`.
    pub fn on_rest(&mut self, status: RestStatus, now: Instant) {
        let previous = self.rest.status.limit;
        let new_ban = matches!(status.limit, RestLimit::Banned { until } if until > now)
            && !matches!(previous, RestLimit::Banned { until } if until > now);
        if let RestLimit::RetryAfter { until } = status.limit
            && until > now
            && !matches!(previous, RestLimit::RetryAfter { until: old } if old > now)
        {
            self.rest.retry_afters += 1;
        }
        if new_ban {
            self.rest.bans += 1;
            self.totals.rest_bans += 1;
        }
        self.rest.seen = true;
        self.rest.status = status;
        self.rest.updated = Some(now);
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            metrics.rest(&status, new_ban, now);
        }
    }

    /// Slow subscribers missed `missed` events at `now` (the fan-out's
    /// `Lagged { missed }`).
    pub fn on_lag(&mut self, missed: u64, now: Instant) {
        self.lag.seen = true;
        let slot = self.lag.window.at(now);
        slot.lagged = slot.lagged.saturating_add(missed);
        self.lag.total = self.lag.total.saturating_add(missed);
        self.totals.lagged = self.totals.lagged.saturating_add(missed);
        let slot = self.trend.at(now);
        slot.lagged = slot.lagged.saturating_add(missed);
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            metrics.lag(missed);
        }
    }

    /// A gap was detected on `stream` at `now` (a sequence or id break);
    /// backfill starts. The gap stays open until
    /// [`on_backfill`](Self::on_backfill).
    pub fn on_gap(&mut self, stream: StreamId, now: Instant) {
        if let Some(track) = self.streams.get_mut(stream.index()) {
            track.gap_since.get_or_insert(now);
            track.gaps += 1;
            self.totals.gaps += 1;
            #[cfg(feature = "metrics")]
            if let Some(metrics) = &self.metrics {
                metrics.gap();
            }
        }
    }

    /// The open gap of `stream` was closed at `now` with `outcome`.
    pub fn on_backfill(&mut self, stream: StreamId, outcome: BackfillOutcome, now: Instant) {
        if let Some(track) = self.streams.get_mut(stream.index()) {
            track.gap_since = None;
            track.backfills[outcome.index()] += 1;
            self.totals.backfills[outcome.index()] += 1;
            if outcome == BackfillOutcome::Lost {
                track.last_loss = Some(now);
            }
            #[cfg(feature = "metrics")]
            if let Some(metrics) = &self.metrics {
                metrics.backfill(outcome);
            }
        }
    }
}
