//! A client's ops endpoint: `/health`, `/health/live`, `/health/ready`,
//! `/metrics`, `/alerts` (the `health` crate's server), fed by the client's
//! health task.
//!
//! The Prometheus recorder is process-global: the first endpoint of the
//! process installs it (once); when the application installed its own
//! recorder first, that recorder receives the client's metrics and `/metrics`
//! answers 404 (the application serves them its own way).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, PoisonError};
use std::time::Duration;

use health::ops::{OpsConfig, ReportPublisher};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::HealthFeed;
use crate::error::ClientError;

/// How long [`OpsHandle::shutdown`] waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus handle, installing the recorder on first use;
/// `None` when another recorder was installed first.
pub(crate) fn prometheus() -> Option<PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| match health::ops::install_prometheus() {
            Ok(handle) => {
                super::recorder_installed();
                Some(handle)
            }
            Err(error) => {
                tracing::info!(%error, "metrics go to the recorder already installed; /metrics is off");
                None
            }
        })
        .clone()
}

impl HealthFeed {
    /// Registers a publisher under a new id.
    fn attach(&self, publisher: ReportPublisher) -> u64 {
        publisher.publish(self.report());
        let mut publishers = self
            .publishers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let id = publishers.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
        publishers.push((id, publisher));
        id
    }

    fn detach(&self, id: u64) {
        self.publishers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(other, _)| *other != id);
    }
}

/// Binds `config`'s address and serves the ops endpoint from `feed`'s reports.
pub(crate) async fn serve(
    feed: &Arc<HealthFeed>,
    config: &OpsConfig,
    extra: Option<axum::Router>,
) -> Result<OpsHandle, ClientError> {
    let server = health::ops::bind(config).await?;
    let prometheus = prometheus();
    feed.rebind_metrics();
    let (publisher, state) = health::ops::channel(prometheus);
    let id = feed.attach(publisher);
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(
        server.serve_with(state, extra.unwrap_or_default(), async move {
            // A dropped handle stops the server too.
            let _ = stopped.await;
        }),
    );
    tracing::info!(%addr, "ops endpoint: /health /health/live /health/ready /metrics /alerts");
    Ok(OpsHandle {
        addr,
        feed: Arc::clone(feed),
        id,
        stop: Some(stop),
        task: Some(task),
    })
}

/// A running ops endpoint. Dropping it stops the server (in the background);
/// [`shutdown`](Self::shutdown) stops it and waits.
#[derive(Debug)]
pub struct OpsHandle {
    addr: SocketAddr,
    feed: Arc<HealthFeed>,
    id: u64,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), health::Error>>>,
}

impl OpsHandle {
    /// The address bound (the port chosen when the configuration said 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<address>`, to which the paths are appended.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits (up to 5 s) for requests in
    /// flight; a client that does not finish its request in time is cut off.
    ///
    /// # Errors
    /// [`ClientError::Ops`] if the server had failed.
    pub async fn shutdown(mut self) -> Result<(), ClientError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(result)) => result.map_err(ClientError::from),
            // The server task panicked or was cancelled: nothing left to stop.
            Ok(Err(_)) => Ok(()),
            Err(_) => {
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for OpsHandle {
    fn drop(&mut self) {
        self.feed.detach(self.id);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
