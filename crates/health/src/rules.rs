//! The level rules (`docs/health.md`): from what the monitor remembers to a
//! level per component and for the system, and the conditions that raise
//! alerts.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::alert::{AlertKind, Condition};
use crate::input::{BreakerState, ConnectionState, RestLimit};
use crate::monitor::Monitor;
use crate::track::{ConnTrack, MINUTE_BUCKETS};
use crate::{ComponentHealth, ComponentKind, Level, SystemHealth};

/// A duration for people: `850ms`, `12.5s`, `3m20s`, `2h05m`.
pub(crate) fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else if secs < 60 {
        format!("{:.1}s", duration.as_secs_f64())
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

/// Collects one component's findings.
pub(crate) struct Finding<'a> {
    kind: ComponentKind,
    name: &'a str,
    level: Level,
    reasons: Vec<String>,
}

impl<'a> Finding<'a> {
    pub(crate) fn new(kind: ComponentKind, name: &'a str) -> Self {
        Self {
            kind,
            name,
            level: Level::Healthy,
            reasons: Vec::new(),
        }
    }

    /// Lowers the level to `level` for `reason`; with `alert`, the finding is
    /// also a condition of that kind and cause.
    pub(crate) fn add(
        &mut self,
        level: Level,
        reason: String,
        alert: Option<(AlertKind, &'static str)>,
        conditions: &mut Vec<Condition>,
    ) {
        self.level = self.level.max(level);
        if let Some((kind, cause)) = alert {
            conditions.push(Condition {
                kind,
                cause,
                subject: self.name.to_owned(),
                level,
                message: reason.clone(),
            });
        }
        self.reasons.push(reason);
    }

    pub(crate) fn done(self) -> ComponentHealth {
        ComponentHealth {
            kind: self.kind,
            name: self.name.to_owned(),
            level: self.level,
            reasons: self.reasons,
        }
    }
}

#[allow(clippy::cast_precision_loss, reason = "counts per minute are small")]
pub(crate) fn per_minute(count: u64) -> f64 {
    count as f64
}

impl Monitor {
    /// Evaluates every rule at `now`: the level of each component and of the
    /// system. Alerts are raised, refreshed and resolved from the result
    /// (drain them with [`poll_alert_event`](Self::poll_alert_event)), and
    /// with the `metrics` feature the level and alert gauges are set.
    ///
    /// Call it periodically (once a second is plenty) and after inputs that
    /// matter; its cost is linear in the number of components.
    pub fn evaluate(&mut self, now: Instant) -> SystemHealth {
        let mut conditions = Vec::new();
        let health = self.judge(now, &mut conditions);
        self.alerts.apply(conditions, now);
        #[cfg(feature = "metrics")]
        self.publish_metrics(&health, now);
        health
    }

    /// The rules, without side effects: the health at `now` and the
    /// conditions it found.
    pub(crate) fn judge(&self, now: Instant, conditions: &mut Vec<Condition>) -> SystemHealth {
        let config = &self.config;
        let mut components = Vec::new();
        for conn in self
            .connections
            .iter()
            .filter(|c| c.state != ConnectionState::Closed)
        {
            components.push(self.judge_connection(conn, now, conditions));
        }
        let mut judged_streams = 0usize;
        let mut stale_streams = 0usize;
        for stream in self.streams.iter().filter(|s| s.active) {
            let Some(conn) = self.connections.get(stream.connection as usize) else {
                continue;
            };
            if conn.state == ConnectionState::Closed {
                continue;
            }
            let component = self.judge_stream(stream, conn, now, conditions);
            judged_streams += 1;
            if component.level >= Level::Degraded {
                stale_streams += 1;
            }
            components.push(component);
        }
        if self.rest.seen {
            components.push(self.judge_rest(now, conditions));
        }
        for breaker in &self.breakers {
            let mut finding = Finding::new(ComponentKind::Breaker, &breaker.name);
            let held = human(now.saturating_duration_since(breaker.since));
            let (level, what) = match breaker.state {
                BreakerState::Closed => (Level::Healthy, ""),
                BreakerState::HalfOpen => (Level::Warning, "half-open: probing the endpoint"),
                BreakerState::Disabled => (Level::Warning, "disabled: the endpoint is unprotected"),
                BreakerState::Open => (Level::Degraded, "open: calls fail fast"),
                BreakerState::ForcedOpen => (Level::Degraded, "forced open by hand"),
            };
            if level > Level::Healthy {
                finding.add(
                    level,
                    format!("circuit breaker {what} for {held}"),
                    Some((AlertKind::System, "breaker")),
                    conditions,
                );
            }
            components.push(finding.done());
        }
        if self.lag.seen {
            let mut finding = Finding::new(ComponentKind::Subscribers, "subscribers");
            let missed = self.lag.window.recent(now, MINUTE_BUCKETS).lagged;
            let level = if missed >= config.lag_degraded {
                Level::Degraded
            } else if missed >= config.lag_warning {
                Level::Warning
            } else {
                Level::Healthy
            };
            if level > Level::Healthy {
                finding.add(
                    level,
                    format!("slow subscribers missed {missed} events in the last minute"),
                    Some((AlertKind::Performance, "subscriber_lag")),
                    conditions,
                );
            }
            components.push(finding.done());
        }

        // System rules.
        let mut system = Finding::new(ComponentKind::Connection, "system");
        let worst = components
            .iter()
            .map(|c| c.level)
            .max()
            .unwrap_or(Level::Healthy);
        if worst > Level::Healthy {
            let capped = worst.min(Level::Degraded);
            let names: Vec<&str> = components
                .iter()
                .filter(|c| c.level == worst)
                .map(|c| c.name.as_str())
                .take(5)
                .collect();
            let count = components.iter().filter(|c| c.level == worst).count();
            let mut reason = format!("{count} component(s) {worst}: {}", names.join(", "));
            if count > names.len() {
                let _ = write!(reason, ", …");
            }
            system.add(capped, reason, None, conditions);
        }
        if matches!(self.rest.status.limit, RestLimit::Banned { until } if until > now) {
            system.add(
                Level::Critical,
                "REST is banned (418)".to_owned(),
                None,
                conditions,
            );
        }
        if !self.breakers.is_empty() && self.breakers.iter().all(|b| b.state.is_open()) {
            system.add(
                Level::Critical,
                format!(
                    "every endpoint is down: all {} circuit breakers are open",
                    self.breakers.len()
                ),
                Some((AlertKind::System, "all_endpoints_down")),
                conditions,
            );
        }
        let live: Vec<&ConnTrack> = self
            .connections
            .iter()
            .filter(|c| c.state != ConnectionState::Closed)
            .collect();
        let any_connected = live.iter().any(|c| c.is_connected());
        if !live.is_empty() && live.iter().all(|c| c.state == ConnectionState::Abandoned) {
            system.add(
                Level::Critical,
                format!("every connection ({}) was abandoned", live.len()),
                Some((AlertKind::System, "all_connections_abandoned")),
                conditions,
            );
        } else if !live.is_empty() && !any_connected {
            let down_for = live
                .iter()
                .map(|c| now.saturating_duration_since(c.down_since.unwrap_or(now)))
                .min()
                .unwrap_or_default();
            let reason = format!("no connected WebSocket for {}", human(down_for));
            if down_for >= config.down_grace {
                system.add(
                    Level::Unhealthy,
                    reason,
                    Some((AlertKind::System, "no_connection")),
                    conditions,
                );
            } else {
                system.add(Level::Degraded, reason, None, conditions);
            }
        }
        if judged_streams > 0 && stale_streams == judged_streams {
            let alert = any_connected.then_some((AlertKind::System, "no_data"));
            system.add(
                Level::Unhealthy,
                format!("no stream delivers: all {judged_streams} are stale"),
                alert,
                conditions,
            );
        }
        let errors = per_minute(self.trend.recent(now, MINUTE_BUCKETS).errors);
        self.judge_error_rate(
            &mut system,
            errors,
            "system_error_rate",
            AlertKind::System,
            conditions,
        );
        SystemHealth {
            level: system.level,
            reasons: system.reasons,
            components,
        }
    }

    pub(crate) fn judge_error_rate(
        &self,
        finding: &mut Finding<'_>,
        per_min: f64,
        cause: &'static str,
        kind: AlertKind,
        conditions: &mut Vec<Condition>,
    ) {
        let level = if per_min >= self.config.error_rate_degraded {
            Level::Degraded
        } else if per_min >= self.config.error_rate_warning {
            Level::Warning
        } else {
            return;
        };
        finding.add(
            level,
            format!("{per_min:.0} errors in the last minute"),
            Some((kind, cause)),
            conditions,
        );
    }

    fn judge_connection(
        &self,
        conn: &ConnTrack,
        now: Instant,
        conditions: &mut Vec<Condition>,
    ) -> ComponentHealth {
        let config = &self.config;
        let mut finding = Finding::new(ComponentKind::Connection, &conn.name);
        match conn.state {
            ConnectionState::Connected | ConnectionState::Closed => {}
            ConnectionState::Abandoned => finding.add(
                Level::Critical,
                "abandoned: it will not reconnect by itself".to_owned(),
                Some((AlertKind::Connection, "connection_abandoned")),
                conditions,
            ),
            state => {
                let down_for = now.saturating_duration_since(conn.down_since.unwrap_or(now));
                let mut reason = format!("{state} for {}", human(down_for));
                if let Some(cause) = conn.last_cause.filter(|_| conn.connects > 0) {
                    let _ = write!(reason, " after {cause}");
                }
                if down_for >= config.down_grace {
                    finding.add(
                        Level::Unhealthy,
                        reason,
                        Some((AlertKind::Connection, "connection_down")),
                        conditions,
                    );
                } else {
                    finding.add(Level::Warning, reason, None, conditions);
                }
            }
        }
        if let Some(start) = conn.outage_start {
            let outage = now.saturating_duration_since(start);
            if outage >= config.recovery_target {
                finding.add(
                    Level::Unhealthy,
                    format!(
                        "not recovered after {} (target {})",
                        human(outage),
                        human(config.recovery_target)
                    ),
                    Some((AlertKind::Recovery, "slow_recovery")),
                    conditions,
                );
            }
        }
        let recent = conn.failures_within(config.flap_window, now).count();
        if recent >= config.flap_reconnects as usize {
            let mut counts = [0u32; crate::DisconnectCause::ALL.len()];
            for failure in conn.failures_within(config.flap_window, now) {
                counts[failure.cause.index()] += 1;
            }
            let (top, _) = counts
                .iter()
                .enumerate()
                .max_by_key(|&(_, n)| *n)
                .unwrap_or((0, &0));
            finding.add(
                Level::Degraded,
                format!(
                    "reconnect loop: {recent} failures in the last {}, most often {}",
                    human(config.flap_window),
                    crate::DisconnectCause::ALL[top]
                ),
                Some((AlertKind::Recovery, "reconnect_loop")),
                conditions,
            );
        }
        let errors = per_minute(conn.errors.recent(now, MINUTE_BUCKETS).errors);
        self.judge_error_rate(
            &mut finding,
            errors,
            "error_rate",
            AlertKind::Performance,
            conditions,
        );
        finding.done()
    }
}
