//! The facade's health calls, for applications that do not run the ops
//! endpoint (and the endpoint itself, [`Client::serve_ops`]).

use health::ops::OpsConfig;
use health::{AlertSnapshot, Level, Readiness, Report};
use serde::Serialize;

use super::ops::{self, OpsHandle};
use crate::client::{Client, ClientStats};
use crate::error::ClientError;

/// A snapshot of everything the client measures: its own counters and the
/// health monitor's statistics (per connection, per stream, breakers, REST
/// weight, totals, trends over 1, 5 and 15 minutes).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// The client's counters (events delivered, duplicates removed, …).
    pub client: ClientStats,
    /// The health monitor's statistics.
    pub health: health::Stats,
}

/// Why [`Client::health_check`] failed: the system is unhealthy or critical
/// (the cases in which `/health` answers 503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{level}: {}", .reasons.join("; "))]
#[non_exhaustive]
pub struct Unhealthy {
    /// The system's level.
    pub level: Level,
    /// The system rules that set it ("no connected WebSocket for 6 s", …).
    pub reasons: Vec<String>,
}

impl Client {
    /// The system's health now: level, reasons, every component, active and
    /// recent alerts, diagnostics with recommended actions, readiness and
    /// trends (what `/health` and `/alerts` serve).
    #[must_use]
    pub fn system_health(&self) -> Report {
        self.inner.observer.ensure_started();
        self.inner.health.report()
    }

    /// A snapshot of the client's counters and the monitor's statistics.
    #[must_use]
    pub fn metrics(&self) -> MetricsSnapshot {
        let now = super::now();
        MetricsSnapshot {
            client: self.stats(),
            health: self.inner.health.with(|monitor| monitor.stats(now)),
        }
    }

    /// The alerts in force, oldest first.
    #[must_use]
    pub fn active_alerts(&self) -> Vec<AlertSnapshot> {
        self.system_health().alerts
    }

    /// Whether every subscribed stream has delivered since its connection's
    /// last (re)connect (what `/health/ready` answers).
    #[must_use]
    pub fn readiness(&self) -> Readiness {
        self.inner.health.with(|monitor| monitor.readiness())
    }

    /// `Ok` unless the system is unhealthy or critical.
    ///
    /// # Errors
    /// [`Unhealthy`] with the level and the reasons.
    pub fn health_check(&self) -> Result<(), Unhealthy> {
        let report = self.system_health();
        if report.level.is_failing() {
            Err(Unhealthy {
                level: report.level,
                reasons: report.reasons,
            })
        } else {
            Ok(())
        }
    }

    /// Starts the ops endpoint: `GET /health` (JSON; 503 when unhealthy or
    /// critical), `/health/live`, `/health/ready` (503 until every subscribed
    /// stream delivered since its connection's last (re)connect), `/metrics`
    /// (Prometheus text) and `/alerts`. Off unless called; binds
    /// `127.0.0.1:0` with [`OpsConfig::default`], and refuses a non-loopback
    /// address unless `config.exposure` is `Exposure::AnyAddress` (the
    /// endpoint has no authentication).
    ///
    /// The first call in the process installs the global Prometheus recorder;
    /// an application that installed its own recorder before creating the
    /// client receives the client's metrics through it instead, and this
    /// endpoint's `/metrics` answers 404. A slow or stuck HTTP client never
    /// holds up the client: handlers read a copy of the latest report.
    ///
    /// # Errors
    /// [`ClientError::Ops`]: an invalid configuration, or the address cannot
    /// be bound.
    pub async fn serve_ops(&self, config: OpsConfig) -> Result<OpsHandle, ClientError> {
        self.inner.observer.ensure_started();
        ops::serve(&self.inner.health, &config, None).await
    }
}
