//! How each stream of one client is served when WebSockets fail: the
//! `fallback` crate's `DegradationPlan` (live, polled, stale, unavailable;
//! the poll intervals within the REST budget) and `LastValues` (every
//! stream's last event, its age, source and staleness), shared by the
//! client's drivers.
//!
//! The drivers tell it each stream's feed (from their connection machine),
//! whether any endpoint is usable, and every delivered event (in batches:
//! one lock per burst); the client's calls read it. Two locks, so that
//! recording values never waits for a re-plan.

use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use fallback::{
    CacheConfig, DegradationPlan, Feed, LastValues, PlanEvent, PlanSnapshot, PollBudget, Polling,
    RestAvailability, Source, StreamStatus, WsAvailability,
};

use super::observe::HealthFeed;

/// A cached value as read at one instant (owned).
#[derive(Debug, Clone)]
pub(crate) struct Last<E> {
    pub(crate) value: E,
    pub(crate) age: Duration,
    pub(crate) stale: bool,
    pub(crate) expected_interval: Duration,
}

/// One polled stream's interval.
#[derive(Debug, Clone)]
pub(crate) struct Assigned<S> {
    pub(crate) stream: S,
    pub(crate) weight: u32,
    pub(crate) normal_interval: Duration,
    pub(crate) interval: Duration,
    pub(crate) offset: Duration,
    pub(crate) slower_than_normal: bool,
}

/// The plan and the cache of one client.
pub(crate) struct Degrade<S, E> {
    plan: Mutex<DegradationPlan<S>>,
    cache: Mutex<LastValues<S, E>>,
    health: Option<Arc<HealthFeed>>,
}

impl<S, E> fmt::Debug for Degrade<S, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Degrade").finish_non_exhaustive()
    }
}

impl<S, E> Degrade<S, E>
where
    S: Clone + Eq + Hash + fmt::Debug + fmt::Display,
    E: Clone,
{
    pub(crate) fn new(
        budget: PollBudget,
        cache: CacheConfig,
        health: Option<Arc<HealthFeed>>,
    ) -> Result<Self, fallback::Error> {
        Ok(Degrade {
            plan: Mutex::new(DegradationPlan::new(budget)?),
            cache: Mutex::new(LastValues::new(cache)?),
            health,
        })
    }

    fn plan(&self) -> MutexGuard<'_, DegradationPlan<S>> {
        self.plan.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cache(&self) -> MutexGuard<'_, LastValues<S, E>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A stream was subscribed: it is planned with `polling`, its feed
    /// `feed`, and its values judged stale against `expected`.
    pub(crate) fn add_stream(
        &self,
        stream: &S,
        polling: Polling,
        expected: Option<Duration>,
        feed: Feed,
        now: Instant,
    ) {
        if let Some(interval) = expected {
            let _ = self.cache().set_interval(stream, interval);
        }
        let mut plan = self.plan();
        // Already planned (a restarted driver registers its streams again):
        // only its feed changes.
        let _ = plan.add_stream(stream.clone(), polling, now);
        let _ = plan.set_feed(stream, feed, now);
        self.drain(&mut plan);
    }

    /// A stream was unsubscribed: forgotten, with its last value.
    pub(crate) fn remove_stream(&self, stream: &S, now: Instant) {
        let mut plan = self.plan();
        let _ = plan.remove_stream(stream, now);
        self.drain(&mut plan);
        drop(plan);
        self.cache().remove(stream);
    }

    /// What a connection's state means for its streams.
    pub(crate) fn set_feeds(&self, streams: &[S], feed: Feed, now: Instant) {
        let mut plan = self.plan();
        for stream in streams {
            let _ = plan.set_feed(stream, feed, now);
        }
        self.drain(&mut plan);
    }

    /// Whether any WebSocket endpoint is usable.
    pub(crate) fn set_websocket(&self, websocket: WsAvailability, now: Instant) {
        let mut plan = self.plan();
        if plan.snapshot().websocket != websocket {
            plan.set_websocket(websocket, now);
            self.drain(&mut plan);
        }
    }

    /// Whether REST may be used.
    pub(crate) fn set_rest(&self, rest: RestAvailability, now: Instant) {
        let mut plan = self.plan();
        if plan.snapshot().rest != rest {
            plan.set_rest(rest, now);
            self.drain(&mut plan);
        }
    }

    /// Stores delivered values as their streams' latest; a stream's first
    /// value also tells the plan (it is stale, not unavailable, from then on).
    pub(crate) fn record(&self, values: impl Iterator<Item = (S, E, Source)>, now: Instant) {
        let mut first = Vec::new();
        {
            let mut cache = self.cache();
            for (stream, value, source) in values {
                if cache.put(&stream, value, source, now).is_none() {
                    first.push(stream);
                }
            }
        }
        if !first.is_empty() {
            let mut plan = self.plan();
            for stream in &first {
                let _ = plan.on_value(stream, now);
            }
            self.drain(&mut plan);
        }
    }

    /// Which of `streams` are polled, and how often.
    pub(crate) fn polled(&self, streams: &[S]) -> Vec<Assigned<S>> {
        let plan = self.plan();
        let poll_plan = plan.poll_plan();
        streams
            .iter()
            .filter(|s| plan.status(s) == Some(StreamStatus::Polled))
            .filter_map(|s| poll_plan.get(s))
            .map(assigned)
            .collect()
    }

    /// Every polled stream's interval.
    pub(crate) fn assignments(&self) -> Vec<Assigned<S>> {
        self.plan()
            .poll_plan()
            .assignments()
            .iter()
            .map(assigned)
            .collect()
    }

    /// Every stream and its status.
    pub(crate) fn statuses(&self) -> Vec<(S, StreamStatus)> {
        self.plan()
            .statuses()
            .map(|(s, status)| (s.clone(), status))
            .collect()
    }

    /// Counts by status, the service level and the polling weight.
    pub(crate) fn snapshot(&self) -> PlanSnapshot {
        self.plan().snapshot()
    }

    /// `stream`'s last value as of `now`.
    pub(crate) fn last(&self, stream: &S, now: Instant) -> Option<Last<E>> {
        self.cache().get(stream, now).map(|cached| Last {
            value: cached.value.clone(),
            age: cached.age,
            stale: cached.stale,
            expected_interval: cached.expected_interval,
        })
    }

    /// Logs the plan's events and keeps the health feed's polling note
    /// current.
    fn drain(&self, plan: &mut DegradationPlan<S>) {
        let mut replanned = false;
        while let Some(event) = plan.poll_event() {
            match event {
                PlanEvent::StatusChanged {
                    stream, from, to, ..
                } => {
                    tracing::info!(%stream, %from, %to, "stream service changed");
                }
                PlanEvent::PollPlanChanged { polled, slowed, .. } => {
                    replanned = true;
                    if slowed > 0 {
                        tracing::warn!(
                            polled,
                            slowed,
                            "REST polling: {slowed} of {polled} streams polled slower than normal to stay within the weight budget"
                        );
                    } else {
                        tracing::info!(polled, "REST polling plan changed");
                    }
                }
                PlanEvent::ServiceChanged { from, to, .. } => {
                    tracing::warn!(from = from.as_str(), to = to.as_str(), "service level changed");
                }
                _ => {}
            }
        }
        if replanned && let Some(health) = &self.health {
            health.set_polling_note(polling_note(plan));
        }
    }
}

fn assigned<S: Clone>(a: &fallback::PollAssignment<S>) -> Assigned<S> {
    Assigned {
        stream: a.stream.clone(),
        weight: a.weight,
        normal_interval: a.normal_interval,
        interval: a.interval,
        offset: a.offset,
        slower_than_normal: a.slower_than_normal,
    }
}

/// What health says about polling: nothing when nothing is polled.
fn polling_note<S: Clone + Eq + Hash + fmt::Debug>(plan: &DegradationPlan<S>) -> Option<String> {
    let poll_plan = plan.poll_plan();
    if poll_plan.is_empty() {
        return None;
    }
    let slowed: Vec<&fallback::PollAssignment<S>> = poll_plan
        .assignments()
        .iter()
        .filter(|a| a.slower_than_normal)
        .collect();
    let weight = format!(
        "{:.0} of {:.0} weight per {}",
        poll_plan.weight_per_window(),
        poll_plan.budget_per_window(),
        humantime::format_duration(poll_plan.window())
    );
    if slowed.is_empty() {
        return Some(format!(
            "{} stream(s) served by REST polling at their normal interval ({weight})",
            poll_plan.len()
        ));
    }
    let longest = slowed.iter().map(|a| a.interval).max().unwrap_or_default();
    let distinct: HashSet<Duration> = slowed.iter().map(|a| a.normal_interval).collect();
    let normal = if distinct.len() == 1 {
        distinct
            .iter()
            .next()
            .map(|d| humantime::format_duration(*d).to_string())
            .unwrap_or_default()
    } else {
        "their normal interval".to_owned()
    };
    Some(format!(
        "{} stream(s) served by REST polling, {} of them slower than normal (up to every {} instead of {normal}) to stay within the REST weight budget ({weight})",
        poll_plan.len(),
        slowed.len(),
        humantime::format_duration(round_ms(longest)),
    ))
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn degrade(weight: u32) -> Result<Degrade<&'static str, u32>, fallback::Error> {
        let budget = PollBudget {
            weight,
            window: Duration::from_secs(60),
            share: 0.5,
        };
        Degrade::new(budget, CacheConfig::default(), None)
    }

    #[test]
    fn failed_feeds_are_polled_within_the_budget_and_said_so() -> Result<(), fallback::Error> {
        let d = degrade(240)?; // 120 a minute for polling
        let now = Instant::now();
        let polling = Polling::Supported {
            weight: 2,
            normal_interval: Duration::from_secs(1),
        };
        let streams = ["a@bookTicker", "b@bookTicker"];
        for s in &streams {
            d.add_stream(s, polling, None, Feed::Live, now);
        }
        d.add_stream(&"!miniTicker@arr", Polling::Unsupported, None, Feed::Live, now);
        assert!(d.polled(&streams).is_empty());
        d.set_feeds(&streams, Feed::Failed, now);
        let polled = d.polled(&streams);
        assert_eq!(polled.len(), 2);
        // 120 per minute for two streams of weight 2: one poll every 2 s each.
        assert!(polled.iter().all(|a| a.slower_than_normal));
        assert_eq!(polled[0].interval, Duration::from_secs(2));
        let note = polling_note(&d.plan()).unwrap_or_default();
        assert!(
            note.contains("2 of them slower than normal") && note.contains("every 2s instead of 1s"),
            "{note}"
        );
        d.set_feeds(&["!miniTicker@arr"], Feed::Failed, now);
        let statuses: Vec<_> = d.statuses();
        assert!(statuses.contains(&("!miniTicker@arr", StreamStatus::Unavailable)));
        d.set_feeds(&streams, Feed::Live, now);
        assert!(d.polled(&streams).is_empty());
        assert_eq!(polling_note(&d.plan()), None);
        Ok(())
    }

    #[test]
    fn last_values_age_and_turn_stale() -> Result<(), fallback::Error> {
        let d = degrade(6000)?;
        let now = Instant::now();
        d.add_stream(
            &"a@ticker",
            Polling::Unsupported,
            Some(Duration::from_secs(1)),
            Feed::Live,
            now,
        );
        d.record([("a@ticker", 7, Source::Live)].into_iter(), now);
        let fresh = d.last(&"a@ticker", now + Duration::from_secs(2));
        assert!(fresh.is_some_and(|l| l.value == 7 && !l.stale));
        d.set_feeds(&["a@ticker"], Feed::Failed, now);
        assert_eq!(d.statuses(), vec![("a@ticker", StreamStatus::Stale)]);
        let later = d.last(&"a@ticker", now + Duration::from_secs(4));
        assert!(later.is_some_and(|l| l.stale && l.age == Duration::from_secs(4)));
        d.remove_stream(&"a@ticker", now);
        assert!(d.last(&"a@ticker", now).is_none());
        Ok(())
    }
}
