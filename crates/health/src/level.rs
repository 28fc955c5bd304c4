//! Health levels and the evaluated health of components and of the system.

use std::fmt;

/// How well something works, from best to worst.
///
/// Levels are ordered: `Healthy < Warning < Degraded < Unhealthy < Critical`,
/// so the worst of several is their `max`. The rules that produce them are in
/// the crate docs and `docs/health.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Level {
    /// Everything works as expected.
    #[default]
    Healthy,
    /// Something is unusual but data flows (a quiet stream, a half-open
    /// breaker, high REST weight).
    Warning,
    /// Part of the service is impaired (a stream stale, a connection down, a
    /// breaker open, a reconnect loop).
    Degraded,
    /// The service is not doing its job (no connected WebSocket, no stream
    /// delivering).
    Unhealthy,
    /// The service cannot recover by itself soon (REST ban, every endpoint
    /// down, every connection abandoned).
    Critical,
}

impl Level {
    /// Every level, best first.
    pub const ALL: [Self; 5] = [
        Self::Healthy,
        Self::Warning,
        Self::Degraded,
        Self::Unhealthy,
        Self::Critical,
    ];

    /// The stable label (`healthy`, `warning`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Warning => "warning",
            Self::Degraded => "degraded",
            Self::Unhealthy => "unhealthy",
            Self::Critical => "critical",
        }
    }

    /// The level as a number, 0 (healthy) to 4 (critical): the value of the
    /// `health_level` gauge.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether `/health` answers 503: unhealthy or critical.
    #[must_use]
    pub fn is_failing(self) -> bool {
        self >= Self::Unhealthy
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of component the monitor judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ComponentKind {
    /// A WebSocket connection.
    Connection,
    /// One subscribed stream.
    Stream,
    /// The REST client (weight, bans, errors).
    Rest,
    /// A circuit breaker guarding an endpoint.
    Breaker,
    /// The subscribers' fan-out (lag).
    Subscribers,
}

impl ComponentKind {
    /// Every kind, in metric order.
    pub const ALL: [Self; 5] = [
        Self::Connection,
        Self::Stream,
        Self::Rest,
        Self::Breaker,
        Self::Subscribers,
    ];

    /// The stable label (`connection`, `stream`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Stream => "stream",
            Self::Rest => "rest",
            Self::Breaker => "breaker",
            Self::Subscribers => "subscribers",
        }
    }
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One component's evaluated level and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ComponentHealth {
    /// What kind of component.
    pub kind: ComponentKind,
    /// Its name (connection, stream or breaker name; `rest`; `subscribers`).
    pub name: String,
    /// Its level.
    pub level: Level,
    /// One sentence per rule that lowered the level; empty when healthy.
    pub reasons: Vec<String>,
}

/// The evaluated health of every component and of the system, from
/// [`Monitor::evaluate`](crate::Monitor::evaluate).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SystemHealth {
    /// The system's level.
    pub level: Level,
    /// The system rules that set the level, one sentence each (the worst
    /// component's reasons appear under the component).
    pub reasons: Vec<String>,
    /// Every component, connections first, then streams, REST, breakers and
    /// subscribers, each in registration order.
    pub components: Vec<ComponentHealth>,
}

impl SystemHealth {
    /// How many components are at each level, indexed by
    /// [`Level::as_u8`].
    #[must_use]
    pub fn counts(&self) -> [usize; 5] {
        let mut counts = [0; 5];
        for component in &self.components {
            counts[usize::from(component.level.as_u8())] += 1;
        }
        counts
    }

    /// The component of this kind and name, if any.
    #[must_use]
    pub fn component(&self, kind: ComponentKind, name: &str) -> Option<&ComponentHealth> {
        self.components
            .iter()
            .find(|c| c.kind == kind && c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_and_labels() {
        assert!(Level::Healthy < Level::Warning);
        assert!(Level::Unhealthy < Level::Critical);
        assert_eq!(Level::ALL.iter().max(), Some(&Level::Critical));
        assert_eq!(Level::Degraded.as_u8(), 2);
        assert!(!Level::Degraded.is_failing());
        assert!(Level::Unhealthy.is_failing());
        assert_eq!(Level::Warning.to_string(), "warning");
        assert_eq!(ComponentKind::Subscribers.to_string(), "subscribers");
    }
}
