//! The feed's task: what nobody reports as it happens is read once a second
//! (REST weight and bans, circuit breakers, subscriber lag, undecodable
//! frames); REST events are taken as they come. Each
//! tick evaluates the monitor, publishes the report to the ops endpoints and
//! logs alert notifications.
//!
//! The task starts with the client's first subscription or ops endpoint
//! (inside the runtime) and ends when the client is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use health::{AlertChange, ErrorClass, ErrorSource, Level, RestLimit, RestStatus};
use tokio::sync::{broadcast, watch};

use super::{HealthFeed, causes, now};
use crate::client::degrade::Degrade;
use crate::client::live::StreamEvent;
use crate::client::stats::Counters;
use crate::domain::StreamName;
use crate::rest::{RestClient, RestEvent};

/// How often the monitor is evaluated and the report published.
pub(crate) const TICK: Duration = Duration::from_secs(1);

/// The most undecodable frames reported to the monitor per tick: a flood is
/// an error rate far above every threshold already.
const MAX_ERRORS_PER_TICK: u64 = 1000;

/// The name of the REST host's circuit breaker in the monitor.
pub(crate) const REST_BREAKER: &str = "rest";

/// What the task reads.
pub(crate) struct TaskParts {
    pub(crate) feed: Arc<HealthFeed>,
    pub(crate) rest: RestClient,
    /// The REST weight limit per window (`rest.budget.limit`).
    pub(crate) weight_limit: u32,
    pub(crate) counters: Arc<Counters>,
    pub(crate) breakers: Arc<circuit_breaker::Registry<String>>,
    /// The degradation plan, told whether REST may be used (`None` in tests).
    pub(crate) degrade: Option<Arc<Degrade<StreamName, StreamEvent>>>,
}

/// Starts the task once, when a runtime is at hand; stops it when dropped.
pub(crate) struct Starter {
    parts: Mutex<Option<(TaskParts, broadcast::Receiver<RestEvent>)>>,
    stop: watch::Sender<()>,
}

impl Starter {
    /// A starter for `parts`; REST events are buffered from now on.
    pub(crate) fn new(parts: TaskParts) -> Self {
        let events = parts.rest.events();
        Starter {
            parts: Mutex::new(Some((parts, events))),
            stop: watch::Sender::new(()),
        }
    }

    /// Spawns the task if it has not been and a tokio runtime is current.
    pub(crate) fn ensure_started(&self) {
        let mut parts = self.parts.lock().unwrap_or_else(PoisonError::into_inner);
        if parts.is_none() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if let Some((parts, events)) = parts.take() {
            runtime.spawn(run(parts, events, self.stop.subscribe()));
        }
    }
}

/// What the task remembers between ticks.
struct Seen {
    lagged: u64,
    invalid: u64,
    breakers: HashMap<String, health::BreakerState>,
    rest: Option<RestStatus>,
    retry_until: Option<Instant>,
}

async fn run(
    parts: TaskParts,
    mut rest_events: broadcast::Receiver<RestEvent>,
    mut stop: watch::Receiver<()>,
) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stats = parts.counters.snapshot();
    let mut seen = Seen {
        lagged: stats.lagged_events,
        invalid: stats.invalid_frames,
        breakers: HashMap::new(),
        rest: None,
        retry_until: None,
    };
    loop {
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { return },
            event = rest_events.recv() => match event {
                Ok(event) => on_rest_event(&parts, &mut seen, &event),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                // The REST client outlives the task's client only in theory.
                Err(broadcast::error::RecvError::Closed) => rest_events = parts.rest.events(),
            },
            _ = tick.tick() => on_tick(&parts, &mut seen),
        }
    }
}

fn on_rest_event(parts: &TaskParts, seen: &mut Seen, event: &RestEvent) {
    match event {
        RestEvent::Throttled { retry_after_ms } => {
            seen.retry_until = Some(now() + Duration::from_millis(*retry_after_ms));
            parts.feed.with(|monitor| {
                monitor.on_error(ErrorSource::Rest, ErrorClass::RateLimited, now());
            });
        }
        RestEvent::Retrying { reason, .. } => {
            let class = causes::rest_error_class(reason);
            parts
                .feed
                .with(|monitor| monitor.on_error(ErrorSource::Rest, class, now()));
        }
        RestEvent::Banned { .. } => {
            parts.feed.with(|monitor| {
                monitor.on_error(ErrorSource::Rest, ErrorClass::RateLimited, now());
            });
        }
    }
    report_rest(parts, seen);
}

/// Reports the REST client's status when it changed (and once it was used).
fn report_rest(parts: &TaskParts, seen: &mut Seen) {
    let now = now();
    let limit = match parts.rest.banned_until() {
        Some(until_ms) => {
            let left = until_ms.saturating_sub(super::epoch_ms());
            RestLimit::Banned {
                until: now + Duration::from_millis(left),
            }
        }
        None => match seen.retry_until {
            Some(until) if until > now => RestLimit::RetryAfter { until },
            _ => RestLimit::Clear,
        },
    };
    let status = RestStatus {
        used_weight: parts.rest.used_weight(),
        weight_limit: parts.weight_limit,
        limit,
    };
    let unused = seen.rest.is_none() && status.used_weight == 0 && limit == RestLimit::Clear;
    if unused || seen.rest == Some(status) {
        return;
    }
    seen.rest = Some(status);
    parts.feed.with(|monitor| monitor.on_rest(status, now));
}

fn on_tick(parts: &TaskParts, seen: &mut Seen) {
    let feed = &parts.feed;
    feed.rebind_metrics();
    let stats = parts.counters.snapshot();
    let lagged = stats.lagged_events.saturating_sub(seen.lagged);
    let invalid = stats
        .invalid_frames
        .saturating_sub(seen.invalid)
        .min(MAX_ERRORS_PER_TICK);
    seen.lagged = stats.lagged_events;
    seen.invalid = stats.invalid_frames;
    if lagged > 0 || invalid > 0 {
        feed.with(|monitor| {
            let now = now();
            if lagged > 0 {
                monitor.on_lag(lagged, now);
            }
            for _ in 0..invalid {
                monitor.on_error(ErrorSource::Other, ErrorClass::Decode, now);
            }
        });
    }
    let mut breakers: Vec<(String, health::BreakerState)> = parts
        .breakers
        .snapshots()
        .into_iter()
        .map(|(name, snapshot)| (name, causes::breaker_state(snapshot.state)))
        .collect();
    if seen.rest.is_some() {
        let state = causes::breaker_state(parts.rest.breaker().state);
        breakers.push((REST_BREAKER.to_owned(), state));
    }
    for (name, state) in breakers {
        if seen.breakers.get(&name) != Some(&state) {
            feed.on_breaker(&name, state);
            seen.breakers.insert(name, state);
        }
    }
    report_rest(parts, seen);
    rest_availability(parts, seen);
    let report = feed.report();
    feed.publish(&report);
    log_alerts(feed);
}

/// Tells the degradation plan whether REST may be used: not during a 418
/// ban, a 429 `Retry-After`, or while every REST host's breaker is open and
/// not yet due for its probe (when it is due, polling resumes and its next
/// poll is the probe).
fn rest_availability(parts: &TaskParts, seen: &Seen) {
    let Some(degrade) = &parts.degrade else {
        return;
    };
    let now = now();
    let breaker = parts.rest.breaker();
    let open = matches!(
        breaker.state,
        circuit_breaker::State::Open | circuit_breaker::State::ForcedOpen
    ) && breaker.retry_at.is_none_or(|at| at > now);
    let limited = seen.retry_until.is_some_and(|until| until > now);
    let available = if open || limited || parts.rest.banned_until().is_some() {
        fallback::RestAvailability::Unavailable
    } else {
        fallback::RestAvailability::Available
    };
    degrade.set_rest(available, now);
}

/// Logs alert notifications: raised, escalated and re-notified as warnings
/// (errors when unhealthy or worse), resolved as information.
fn log_alerts(feed: &HealthFeed) {
    let events: Vec<health::AlertEvent> = feed.with(|monitor| {
        let mut events = Vec::new();
        while let Some(event) = monitor.poll_alert_event() {
            events.push(event);
        }
        events
    });
    for event in events {
        let alert = &event.alert;
        match event.change {
            AlertChange::Resolved => {
                tracing::info!(alert = %alert.key, kind = %alert.kind, "alert resolved: {}", alert.message);
            }
            _ if alert.severity >= Level::Unhealthy => {
                tracing::error!(alert = %alert.key, kind = %alert.kind, severity = %alert.severity, change = ?event.change, "alert: {}", alert.message);
            }
            _ => {
                tracing::warn!(alert = %alert.key, kind = %alert.kind, severity = %alert.severity, change = ?event.change, "alert: {}", alert.message);
            }
        }
    }
}
