//! The ops HTTP endpoint (feature `http`): `/health`, `/health/live`,
//! `/health/ready`, `/metrics`, `/alerts`.
//!
//! The feed never waits for HTTP: it builds a [`Report`] with
//! [`Monitor::report`](crate::Monitor::report) and hands it to a
//! [`ReportPublisher`], which swaps a pointer in a `tokio::sync::watch`
//! channel. Handlers clone that pointer and serialise their own copy, so a
//! slow or stuck client holds only its own connection task.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), health::Error> {
//! use std::time::Instant;
//! use health::{HealthConfig, Monitor, metrics::MetricsConfig, ops};
//!
//! let prometheus = ops::install_prometheus()?;          // once per process
//! let mut monitor = Monitor::new(HealthConfig::default(), Instant::now())?;
//! monitor.enable_metrics(&MetricsConfig::default());   // after the recorder
//! let (publisher, state) = ops::channel(Some(prometheus));
//! let server = ops::bind(&ops::OpsConfig::default()).await?; // 127.0.0.1, any port
//! println!("ops endpoint on http://{}", server.local_addr());
//! tokio::spawn(server.serve(state, std::future::pending()));
//! // On the feed's tick, about once a second:
//! publisher.publish(monitor.report(Instant::now()));
//! # Ok(()) }
//! ```
//!
//! | path | answer |
//! |---|---|
//! | `GET /health` | JSON: level, reasons, components, active alerts, diagnostics, readiness; 200, or 503 when unhealthy or critical (and before the first report) |
//! | `GET /health/live` | 200 while the process serves |
//! | `GET /health/ready` | 200 once every subscribed stream delivered since its connection's last (re)connect, else 503 |
//! | `GET /metrics` | Prometheus text; 404 without a Prometheus handle |
//! | `GET /alerts` | JSON: active alerts and the recent history |
//! | anything else | 404; a known path with another method: 405 |

mod routes;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

use crate::metrics::{DEFAULT_PREFIX, LATENCY_BUCKETS, RECONNECT_BUCKETS};
use crate::{Error, Report};

pub use routes::router;

/// Which addresses the endpoint may bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Exposure {
    /// Loopback only (127.0.0.0/8, ::1): the default.
    #[default]
    LoopbackOnly,
    /// Any address, including public ones: the endpoint has no
    /// authentication, so put it behind something that has.
    AnyAddress,
}

/// Where and how the ops endpoint listens.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `bind` | `127.0.0.1:0` | address; port 0 picks a free port ([`OpsServer::local_addr`] tells which) |
/// | `exposure` | [`Exposure::LoopbackOnly`] | a non-loopback `bind` is refused unless [`Exposure::AnyAddress`] |
/// | `upkeep_interval` | 5 s | how often the Prometheus recorder's upkeep runs while serving |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsConfig {
    /// The address to bind.
    pub bind: SocketAddr,
    /// Whether a non-loopback address is allowed.
    pub exposure: Exposure,
    /// Interval of `PrometheusHandle::run_upkeep`; greater than zero.
    pub upkeep_interval: Duration,
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            exposure: Exposure::LoopbackOnly,
            upkeep_interval: Duration::from_secs(5),
        }
    }
}

impl OpsConfig {
    /// Checks every rule.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a non-loopback `bind` without
    /// [`Exposure::AnyAddress`], or a zero `upkeep_interval`.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.bind.ip().is_loopback() && self.exposure != Exposure::AnyAddress {
            return Err(Error::invalid(
                "bind",
                self.bind,
                "is not a loopback address; set exposure = Exposure::AnyAddress to allow it",
            ));
        }
        if self.upkeep_interval.is_zero() {
            return Err(Error::invalid(
                "upkeep_interval",
                self.upkeep_interval,
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

/// The feed's side: publishes reports without ever waiting for a reader.
#[derive(Debug)]
pub struct ReportPublisher {
    tx: watch::Sender<Option<Arc<Report>>>,
}

impl ReportPublisher {
    /// Replaces the report HTTP serves. Never blocks on HTTP clients.
    pub fn publish(&self, report: Report) {
        self.tx.send_replace(Some(Arc::new(report)));
    }
}

/// The HTTP side: the latest report and the Prometheus handle. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct OpsState {
    pub(crate) report: watch::Receiver<Option<Arc<Report>>>,
    pub(crate) prometheus: Option<PrometheusHandle>,
}

impl OpsState {
    /// The latest report, if one was published.
    #[must_use]
    pub fn latest(&self) -> Option<Arc<Report>> {
        self.report.borrow().clone()
    }
}

/// A publisher and the state it feeds; `prometheus` serves `/metrics`.
#[must_use]
pub fn channel(prometheus: Option<PrometheusHandle>) -> (ReportPublisher, OpsState) {
    let (tx, report) = watch::channel(None);
    (ReportPublisher { tx }, OpsState { report, prometheus })
}

/// A `PrometheusBuilder` with this crate's histogram buckets for metrics
/// named with `prefix` ([`DEFAULT_PREFIX`] unless you changed it): build a
/// recorder from it, or install it.
///
/// # Errors
///
/// [`Error::Recorder`] if the exporter rejects a bucket list.
pub fn prometheus_builder(prefix: &str) -> Result<PrometheusBuilder, Error> {
    let recorder = |e: metrics_exporter_prometheus::BuildError| Error::Recorder {
        detail: e.to_string(),
    };
    let prefix = prefix.trim_end_matches('_');
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(format!("{prefix}_event_latency_seconds")),
            LATENCY_BUCKETS,
        )
        .map_err(recorder)?
        .set_buckets_for_metric(
            Matcher::Full(format!("{prefix}_reconnect_duration_seconds")),
            RECONNECT_BUCKETS,
        )
        .map_err(recorder)
}

/// Installs the global Prometheus recorder with this crate's buckets and
/// returns its handle, for [`channel`]. An application calls it once, before
/// `Monitor::enable_metrics`; [`OpsServer::serve`] runs the upkeep.
///
/// # Errors
///
/// [`Error::Recorder`] if a global recorder is already installed.
pub fn install_prometheus() -> Result<PrometheusHandle, Error> {
    prometheus_builder(DEFAULT_PREFIX)?
        .install_recorder()
        .map_err(|e| Error::Recorder {
            detail: e.to_string(),
        })
}

/// A bound, not yet serving, ops endpoint.
#[derive(Debug)]
pub struct OpsServer {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    upkeep: Duration,
}

/// Validates `config` and binds its address.
///
/// # Errors
///
/// [`Error::InvalidConfig`] from [`OpsConfig::validate`]; [`Error::Bind`]
/// if the address cannot be bound.
pub async fn bind(config: &OpsConfig) -> Result<OpsServer, Error> {
    config.validate()?;
    let bind_error = |e: std::io::Error| Error::Bind {
        addr: config.bind.to_string(),
        detail: e.to_string(),
    };
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    Ok(OpsServer {
        listener,
        addr,
        upkeep: config.upkeep_interval,
    })
}

impl OpsServer {
    /// The address actually bound.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then stops accepting and finishes
    /// requests in flight. Runs the Prometheus upkeep every
    /// `upkeep_interval` meanwhile.
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] if the server fails.
    pub async fn serve<F>(self, state: OpsState, shutdown: F) -> Result<(), Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.serve_with(state, axum::Router::new(), shutdown).await
    }

    /// Like [`serve`](Self::serve), with `extra` routes (an application's
    /// own, such as admin controls) merged into the ops router. `extra` must
    /// not set a fallback or reuse one of the ops paths.
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] if the server fails.
    pub async fn serve_with<F>(
        self,
        state: OpsState,
        extra: axum::Router,
        shutdown: F,
    ) -> Result<(), Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let upkeep = state.prometheus.clone().map(|handle| {
            let every = self.upkeep;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    handle.run_upkeep();
                }
            })
        });
        let result = axum::serve(self.listener, router(state).merge(extra))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| Error::Serve {
                detail: e.to_string(),
            });
        if let Some(task) = upkeep {
            task.abort();
        }
        result
    }
}

/// Binds `config` and serves until `shutdown` completes.
///
/// # Errors
///
/// As [`bind`] and [`OpsServer::serve`].
pub async fn serve<F>(config: &OpsConfig, state: OpsState, shutdown: F) -> Result<(), Error>
where
    F: Future<Output = ()> + Send + 'static,
{
    bind(config).await?.serve(state, shutdown).await
}
