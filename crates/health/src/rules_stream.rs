//! The stream and REST rules, and the silence measures the diagnostics
//! share.

use std::time::{Duration, Instant};

use crate::alert::{AlertKind, Condition};
use crate::input::RestLimit;
use crate::monitor::Monitor;
use crate::rules::{Finding, human, per_minute};
use crate::track::{ConnTrack, MINUTE_BUCKETS, StreamTrack};
use crate::{ComponentHealth, ComponentKind, Level};

impl Monitor {
    /// The normal interval the silence rule measures `stream` against.
    pub(crate) fn normal_interval(&self, stream: &StreamTrack, now: Instant) -> Duration {
        stream
            .expected
            .or_else(|| stream.meter.read(now, self.half_life).normal_gap)
            .unwrap_or(self.config.default_interval)
            .max(self.config.min_interval)
    }

    /// How long `stream` has been silent while its connection was up.
    pub(crate) fn silence(stream: &StreamTrack, conn: &ConnTrack, now: Instant) -> Duration {
        let mut since = stream.assigned;
        if let Some(start) = conn.session_start {
            since = since.max(start);
        }
        if let Some(last) = stream.last_message {
            since = since.max(last);
        }
        now.saturating_duration_since(since)
    }

    pub(crate) fn judge_stream(
        &self,
        stream: &StreamTrack,
        conn: &ConnTrack,
        now: Instant,
        conditions: &mut Vec<Condition>,
    ) -> ComponentHealth {
        let config = &self.config;
        let mut finding = Finding::new(ComponentKind::Stream, &stream.name);
        if conn.is_connected() {
            let silent = Self::silence(stream, conn, now);
            let normal = self.normal_interval(stream, now);
            let level = if silent.as_secs_f64()
                >= normal.as_secs_f64() * config.silence_degraded_factor
            {
                Level::Degraded
            } else if silent.as_secs_f64() >= normal.as_secs_f64() * config.silence_warning_factor {
                Level::Warning
            } else {
                Level::Healthy
            };
            if level > Level::Healthy {
                finding.add(
                    level,
                    format!(
                        "silent for {} (normal interval {}) while {} is connected",
                        human(silent),
                        human(normal),
                        conn.name
                    ),
                    Some((AlertKind::Performance, "stream_silent")),
                    conditions,
                );
            }
        } else {
            let down_for = now.saturating_duration_since(conn.down_since.unwrap_or(now));
            let level = if down_for >= config.down_grace {
                Level::Degraded
            } else {
                Level::Warning
            };
            finding.add(
                level,
                format!(
                    "no data: connection {} is {} for {}",
                    conn.name,
                    conn.state,
                    human(down_for)
                ),
                None,
                conditions,
            );
        }
        if let Some(latency) = stream.meter.read(now, self.half_life).latency {
            let level = if latency >= config.latency_degraded {
                Level::Degraded
            } else if latency >= config.latency_warning {
                Level::Warning
            } else {
                Level::Healthy
            };
            if level > Level::Healthy {
                finding.add(
                    level,
                    format!("events arrive {} after their event time", human(latency)),
                    Some((AlertKind::Performance, "latency")),
                    conditions,
                );
            }
        }
        let errors = per_minute(stream.errors.recent(now, MINUTE_BUCKETS).errors);
        self.judge_error_rate(
            &mut finding,
            errors,
            "stream_errors",
            AlertKind::Performance,
            conditions,
        );
        if let Some(since) = stream.gap_since {
            let open = now.saturating_duration_since(since);
            let level = if open >= config.gap_degraded_after {
                Level::Degraded
            } else {
                Level::Warning
            };
            finding.add(
                level,
                format!("gap being backfilled for {}", human(open)),
                Some((AlertKind::Recovery, "gap")),
                conditions,
            );
        }
        if let Some(lost) = stream.last_loss {
            let ago = now.saturating_duration_since(lost);
            if ago < config.data_loss_window {
                finding.add(
                    Level::Degraded,
                    format!(
                        "data lost {} ago: a gap could not be backfilled",
                        human(ago)
                    ),
                    Some((AlertKind::Recovery, "data_loss")),
                    conditions,
                );
            }
        }
        finding.done()
    }

    pub(crate) fn judge_rest(
        &self,
        now: Instant,
        conditions: &mut Vec<Condition>,
    ) -> ComponentHealth {
        let mut finding = Finding::new(ComponentKind::Rest, "rest");
        let status = self.rest.status;
        match status.limit {
            RestLimit::Banned { until } if until > now => finding.add(
                Level::Critical,
                format!("IP banned (418) for another {}", human(until - now)),
                Some((AlertKind::System, "rest_banned")),
                conditions,
            ),
            RestLimit::RetryAfter { until } if until > now => finding.add(
                Level::Degraded,
                format!("rate limited (429): waiting another {}", human(until - now)),
                Some((AlertKind::Performance, "rest_rate_limited")),
                conditions,
            ),
            _ => {}
        }
        if status.weight_limit > 0 {
            let share = f64::from(status.used_weight) / f64::from(status.weight_limit);
            if share >= self.config.rest_weight_warning {
                finding.add(
                    Level::Warning,
                    format!(
                        "REST weight at {:.0}% of the limit ({}/{})",
                        share * 100.0,
                        status.used_weight,
                        status.weight_limit
                    ),
                    Some((AlertKind::Performance, "rest_weight")),
                    conditions,
                );
            }
        }
        let errors = per_minute(self.rest.errors.recent(now, MINUTE_BUCKETS).errors);
        self.judge_error_rate(
            &mut finding,
            errors,
            "rest_errors",
            AlertKind::Performance,
            conditions,
        );
        finding.done()
    }
}
