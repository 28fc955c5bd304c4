//! Readiness and the report: one value with everything the ops endpoint
//! serves, built by the feed and read by HTTP as a copy.

use std::time::{Duration, Instant};

use crate::alert::{Alert, AlertEvent, AlertKind, AlertState, age};
use crate::input::ConnectionState;
use crate::monitor::Monitor;
use crate::{ComponentHealth, Diagnostic, Level, SystemHealth, Trends};

#[cfg(feature = "serde")]
use crate::stats::ms;

/// Streams named in a not-ready [`Readiness`], at most.
const WAITING_NAMES: usize = 20;

/// Whether every subscribed stream has delivered since its connection's
/// last (re)connect.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Readiness {
    /// True when no subscribed stream is waiting.
    pub ready: bool,
    /// Streams still waiting.
    pub waiting: usize,
    /// Subscribed streams.
    pub streams: usize,
    /// The first waiting streams' names (at most 20).
    pub waiting_streams: Vec<String>,
}

/// An alert as of one instant, with ages instead of instants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct AlertSnapshot {
    /// Its kind.
    pub kind: AlertKind,
    /// The rule that raised it.
    pub cause: &'static str,
    /// The component concerned.
    pub subject: String,
    /// `cause:subject`.
    pub key: String,
    /// Its severity.
    pub severity: Level,
    /// The latest description.
    pub message: String,
    /// Occurrences folded into it.
    pub count: u64,
    /// Whether it is still active.
    pub active: bool,
    /// Time since first seen.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "first_seen_ago_ms", serialize_with = "ms::ser")
    )]
    pub first_seen_ago: Duration,
    /// Time since last seen.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "last_seen_ago_ms", serialize_with = "ms::ser")
    )]
    pub last_seen_ago: Duration,
    /// Time since resolved, for a resolved alert.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "resolved_ago_ms", serialize_with = "ms::opt")
    )]
    pub resolved_ago: Option<Duration>,
    /// First seen, in epoch milliseconds, when the wall clock is anchored.
    pub first_seen_ms: Option<u64>,
    /// Last seen, in epoch milliseconds, when the wall clock is anchored.
    pub last_seen_ms: Option<u64>,
}

/// Everything the ops endpoint serves, built in one call by the feed
/// ([`Monitor::report`]) and published as a copy.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Report {
    /// When it was built, in epoch milliseconds, when the wall clock is
    /// anchored.
    pub generated_ms: Option<u64>,
    /// The system's level.
    pub level: Level,
    /// The system rules that set it.
    pub reasons: Vec<String>,
    /// Every component's level.
    pub components: Vec<ComponentHealth>,
    /// Active alerts, oldest first.
    pub alerts: Vec<AlertSnapshot>,
    /// Resolved alerts, newest first (bounded).
    pub history: Vec<AlertSnapshot>,
    /// Diagnostics, worst first.
    pub diagnostics: Vec<Diagnostic>,
    /// Readiness.
    pub readiness: Readiness,
    /// Rates over 1, 5 and 15 minutes.
    pub trends: Option<Trends>,
}

impl Report {
    /// The report's health part.
    #[must_use]
    pub fn health(&self) -> SystemHealth {
        SystemHealth {
            level: self.level,
            reasons: self.reasons.clone(),
            components: self.components.clone(),
        }
    }
}

impl Monitor {
    /// The next alert notification (raised, escalated, re-notified,
    /// resolved), oldest first. Repeats of an active alert are suppressed.
    pub fn poll_alert_event(&mut self) -> Option<AlertEvent> {
        self.alerts.poll_event()
    }

    /// Notifications dropped because nobody polled them.
    #[must_use]
    pub fn dropped_alert_events(&self) -> u64 {
        self.alerts.dropped_events
    }

    /// Active alerts, oldest first.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.active()
    }

    /// Resolved alerts, newest first, at most `alerts.history`.
    pub fn alert_history(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.history()
    }

    /// Active alerts per kind, in [`AlertKind::ALL`] order.
    #[must_use]
    pub fn active_alerts_by_kind(&self) -> [usize; 4] {
        self.alerts.active_by_kind()
    }

    /// Whether every subscribed stream has delivered since its connection's
    /// last (re)connect (vacuously true with no stream). Streams of closed
    /// connections are not awaited.
    #[must_use]
    pub fn readiness(&self) -> Readiness {
        let mut readiness = Readiness::default();
        for stream in self.streams.iter().filter(|s| s.active) {
            let closed = self
                .connections
                .get(stream.connection as usize)
                .is_none_or(|c| c.state == ConnectionState::Closed);
            if closed {
                continue;
            }
            readiness.streams += 1;
            if !stream.delivered {
                readiness.waiting += 1;
                if readiness.waiting_streams.len() < WAITING_NAMES {
                    readiness.waiting_streams.push(stream.name.clone());
                }
            }
        }
        readiness.ready = readiness.waiting == 0;
        readiness
    }

    /// Evaluates at `now` (see [`evaluate`](Self::evaluate): alerts are
    /// updated) and gathers everything the ops endpoint serves.
    pub fn report(&mut self, now: Instant) -> Report {
        let health = self.evaluate(now);
        let snapshot = |alert: &Alert| AlertSnapshot {
            kind: alert.kind,
            cause: alert.cause,
            subject: alert.subject.clone(),
            key: alert.key.clone(),
            severity: alert.severity,
            message: alert.message.clone(),
            count: alert.count,
            active: alert.state == AlertState::Active,
            first_seen_ago: age(alert.first_seen, now),
            last_seen_ago: age(alert.last_seen, now),
            resolved_ago: match alert.state {
                AlertState::Resolved { at } => Some(age(at, now)),
                AlertState::Active => None,
            },
            first_seen_ms: self.epoch_ms(alert.first_seen),
            last_seen_ms: self.epoch_ms(alert.last_seen),
        };
        Report {
            generated_ms: self.epoch_ms(now),
            level: health.level,
            reasons: health.reasons,
            components: health.components,
            alerts: self.alerts.active().map(snapshot).collect(),
            history: self.alerts.history().map(snapshot).collect(),
            diagnostics: self.diagnostics(now),
            readiness: self.readiness(),
            trends: Some(self.trends(now)),
        }
    }
}
