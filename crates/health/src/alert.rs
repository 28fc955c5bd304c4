//! Alerts: raised from the conditions an evaluation finds, deduplicated by
//! cause, suppressed while active (re-notified after an interval), resolved
//! once the condition has stayed clear, then kept in a bounded history.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::{AlertConfig, Level};

/// The four kinds of alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum AlertKind {
    /// A connection is down or abandoned.
    Connection,
    /// Data flows badly: silence, latency, errors, lag, REST weight.
    Performance,
    /// The service as a whole: no connection, no data, REST ban, breakers.
    System,
    /// Recovery goes badly: reconnect loops, slow recovery, gaps, data loss.
    Recovery,
}

impl AlertKind {
    /// Every kind, in metric order.
    pub const ALL: [Self; 4] = [
        Self::Connection,
        Self::Performance,
        Self::System,
        Self::Recovery,
    ];

    /// The stable label (`connection`, `performance`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Performance => "performance",
            Self::System => "system",
            Self::Recovery => "recovery",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an alert is still in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlertState {
    /// The condition holds (or cleared less than `clear_after` ago).
    Active,
    /// The condition stayed clear for `clear_after`; resolved at this instant.
    Resolved {
        /// When the alert was resolved.
        at: Instant,
    },
}

/// One alert: a condition, deduplicated by its cause key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its kind.
    pub kind: AlertKind,
    /// The rule that raised it (`stream_silent`, `rest_banned`, …), as in
    /// `docs/health.md`.
    pub cause: &'static str,
    /// The component it concerns (`conn-1`, `btcusdt@aggTrade`), or
    /// `system`.
    pub subject: String,
    /// The deduplication key: `cause:subject`.
    pub key: String,
    /// Its severity: the level of the condition, the highest while active
    /// notifies at once.
    pub severity: Level,
    /// The latest description of the condition.
    pub message: String,
    /// When the condition was first seen.
    pub first_seen: Instant,
    /// When the condition was last seen.
    pub last_seen: Instant,
    /// Occurrences folded into this alert: 1, plus one each time the
    /// condition came back within `clear_after` of clearing.
    pub count: u64,
    /// Active or resolved.
    pub state: AlertState,
}

/// What changed about an alert, for [`AlertEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum AlertChange {
    /// A new alert.
    Raised,
    /// An active alert's severity rose: notified at once.
    Escalated,
    /// An active alert still holds after `renotify_after`.
    Renotified,
    /// The condition stayed clear for `clear_after`.
    Resolved,
}

/// A notification: what changed and the alert as it is now. Everything
/// between notifications (repeats of an active alert) is suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertEvent {
    /// What changed.
    pub change: AlertChange,
    /// The alert after the change.
    pub alert: Alert,
}

/// A condition found by an evaluation: raises or refreshes the alert of its
/// key.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub(crate) kind: AlertKind,
    pub(crate) cause: &'static str,
    pub(crate) subject: String,
    pub(crate) level: Level,
    pub(crate) message: String,
}

#[derive(Debug, Clone)]
struct Entry {
    alert: Alert,
    notified_at: Instant,
    seen: bool,
    clear_since: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct AlertBook {
    config: AlertConfig,
    active: Vec<Entry>,
    history: VecDeque<Alert>,
    events: VecDeque<AlertEvent>,
    pub(crate) dropped_events: u64,
    pub(crate) raised: [u64; 4],
}

impl AlertBook {
    pub(crate) fn new(config: AlertConfig) -> Self {
        Self {
            active: Vec::new(),
            history: VecDeque::with_capacity(config.history.min(1024)),
            events: VecDeque::new(),
            dropped_events: 0,
            raised: [0; 4],
            config,
        }
    }

    /// Applies one evaluation's conditions at `now`.
    pub(crate) fn apply(&mut self, conditions: Vec<Condition>, now: Instant) {
        for entry in &mut self.active {
            entry.seen = false;
        }
        for condition in conditions {
            self.observe(condition, now);
        }
        let clear_after = self.config.clear_after;
        let mut index = 0;
        while index < self.active.len() {
            let entry = &mut self.active[index];
            if entry.seen {
                index += 1;
                continue;
            }
            let since = *entry.clear_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= clear_after {
                let mut entry = self.active.remove(index);
                entry.alert.state = AlertState::Resolved { at: now };
                self.notify(AlertChange::Resolved, entry.alert.clone());
                self.history.push_front(entry.alert);
                self.history.truncate(self.config.history);
            } else {
                index += 1;
            }
        }
    }

    fn observe(&mut self, condition: Condition, now: Instant) {
        let key = format!("{}:{}", condition.cause, condition.subject);
        if let Some(entry) = self.active.iter_mut().find(|e| e.alert.key == key) {
            if entry.seen {
                // The same key twice in one evaluation: keep the worse.
                if condition.level > entry.alert.severity {
                    entry.alert.severity = condition.level;
                    entry.alert.message = condition.message;
                }
                return;
            }
            entry.seen = true;
            if entry.clear_since.take().is_some() {
                entry.alert.count += 1;
            }
            entry.alert.last_seen = now;
            entry.alert.message = condition.message;
            let escalated = condition.level > entry.alert.severity;
            entry.alert.severity = condition.level;
            let change = if escalated {
                Some(AlertChange::Escalated)
            } else if now.saturating_duration_since(entry.notified_at) >= self.config.renotify_after
            {
                Some(AlertChange::Renotified)
            } else {
                None
            };
            if let Some(change) = change {
                entry.notified_at = now;
                let alert = entry.alert.clone();
                self.notify(change, alert);
            }
            return;
        }
        let alert = Alert {
            kind: condition.kind,
            cause: condition.cause,
            subject: condition.subject,
            key,
            severity: condition.level,
            message: condition.message,
            first_seen: now,
            last_seen: now,
            count: 1,
            state: AlertState::Active,
        };
        self.raised[alert.kind.index()] += 1;
        self.notify(AlertChange::Raised, alert.clone());
        self.active.push(Entry {
            alert,
            notified_at: now,
            seen: true,
            clear_since: None,
        });
    }

    fn notify(&mut self, change: AlertChange, alert: Alert) {
        if self.events.len() >= self.config.event_capacity {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        self.events.push_back(AlertEvent { change, alert });
    }

    pub(crate) fn poll_event(&mut self) -> Option<AlertEvent> {
        self.events.pop_front()
    }

    pub(crate) fn active(&self) -> impl Iterator<Item = &Alert> {
        self.active.iter().map(|e| &e.alert)
    }

    pub(crate) fn history(&self) -> impl Iterator<Item = &Alert> {
        self.history.iter()
    }

    pub(crate) fn active_by_kind(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for entry in &self.active {
            counts[entry.alert.kind.index()] += 1;
        }
        counts
    }
}

/// Age of an instant relative to `now`, for reports.
pub(crate) fn age(at: Instant, now: Instant) -> Duration {
    now.saturating_duration_since(at)
}
