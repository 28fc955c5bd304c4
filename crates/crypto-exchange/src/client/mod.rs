//! The streaming client: subscribe once, keep receiving through every failure the
//! client can survive.
//!
//! [`Client::subscribe`] returns a [`Subscription`] that yields [`Update`]s:
//! typed [`StreamEvent`]s, or `Lagged { missed }` when the subscriber fell behind
//! its buffer (it is never waited for, and never silently dropped).
//! [`Client::lifecycle`] yields [`Lifecycle`] signals: connecting, connected,
//! disconnected with a cause, reconnecting in N ms, subscribed, rotated.
//!
//! Underneath, a pool spreads streams over connections (`streams_per_connection`
//! each) and runs one driver task per connection: it restores every subscription
//! after each reconnect in batched frames within the pacing limit, reconnects on
//! the `reconnect` schedule with the shared attempt budget, and rotates
//! connections before Binance's 24 h cut-off, make-before-break.

mod admin;
mod config;
mod degrade;
pub(crate) mod driver;
mod endpoints;
mod fallback_api;
mod lifecycle;
mod live;
mod observe;
mod poll;
mod pool;
#[cfg(test)]
mod pool_tests;
mod refresh;
pub(crate) mod sink;
mod stats;
#[cfg(test)]
mod test_support;
mod trades;
#[cfg(test)]
mod trades_tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use reconnect::AttemptBudget;
use tokio::sync::broadcast;
use ws_transport::WsConnector;

pub use admin::{AdminToken, MAX_ADMIN_BODY, MIN_TOKEN_LEN};
pub use config::{
    BINANCE_REST_ENDPOINT, BINANCE_STREAM_ENDPOINTS, ClientConfig, FallbackConfig, PollingMode,
    RotationConfig,
};
pub use driver::FallbackKind;
pub use fallback_api::{LastValue, PolledStream};
pub use lifecycle::{ConnectionId, Lifecycle};
pub use live::{Source, StreamEvent};
pub use observe::api::{MetricsSnapshot, Unhealthy};
pub use observe::ops::OpsHandle;
pub use stats::ClientStats;

use self::degrade::Degrade;
use self::driver::Delivery;
use self::endpoints::Endpoints;
use self::live::LiveDecoder;
use self::observe::HealthFeed;
use self::observe::task::{Starter, TaskParts};
use self::pool::{Pool, PoolParts};
use self::stats::Counters;
use crate::domain::StreamName;
use crate::error::ClientError;
use crate::rest::RestClient;

/// Lifecycle signals kept for a slow lifecycle reader before the oldest are dropped.
const LIFECYCLE_BUFFER: usize = 1024;

struct Inner {
    pool: Mutex<Pool<WsConnector, LiveDecoder>>,
    rest: RestClient,
    lifecycle: broadcast::Sender<Lifecycle>,
    counters: Arc<Counters>,
    config: Arc<ClientConfig>,
    next_sink: AtomicU64,
    breakers: Arc<circuit_breaker::Registry<String>>,
    /// The market-stream endpoints and the set that chooses between them.
    endpoints: Arc<Endpoints>,
    /// How each stream is served, and every stream's last value.
    degrade: Arc<Degrade<StreamName, StreamEvent>>,
    /// The health monitor (`observe`), and its task (stopped when dropped).
    health: Arc<HealthFeed>,
    observer: Starter,
    /// The connection-attempt budget every connection spends (user data too).
    budget: AttemptBudget,
}

impl Inner {
    fn pool(&self) -> MutexGuard<'_, Pool<WsConnector, LiveDecoder>> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fault-tolerant Binance market-stream client. Cheap to clone; every clone is
/// the same client.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Cleaned: an endpoint's query or user-info may hold a key.
        let endpoints: Vec<String> = self
            .inner
            .config
            .endpoints
            .iter()
            .map(|e| health::sanitize_name(e))
            .collect();
        f.debug_struct("Client")
            .field("endpoints", &endpoints)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with `config` (validated). Connections open on the first
    /// subscription, inside the current tokio runtime.
    ///
    /// # Errors
    /// [`ClientError::Config`] listing every invalid setting.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        config.validate()?;
        let connector = WsConnector::new(config.transport.clone())
            .map_err(|e| ClientError::Config(vec![format!("transport: {e}")]))?;
        let budget = AttemptBudget::new(config.attempt_budget.clone())
            .map_err(|e| ClientError::Config(vec![format!("attempt_budget: {e}")]))?;
        let breakers = Arc::new(
            circuit_breaker::Registry::new(config.breaker.clone())
                .map_err(|e| ClientError::Config(vec![format!("breaker: {e}")]))?,
        );
        let rest = RestClient::new(config.rest.clone())
            .map_err(|e| ClientError::Config(vec![e.to_string()]))?;
        let health = Arc::new(
            HealthFeed::new(config.health.clone())
                .map_err(|e| ClientError::Config(vec![format!("health: {e}")]))?,
        );
        let endpoints = Arc::new(
            Endpoints::new(&config.endpoints, &config.fallback.endpoints, &breakers)
                .map_err(|e| ClientError::Config(vec![e]))?,
        );
        let degrade = Arc::new(
            Degrade::new(
                config.fallback.poll_budget(&config.rest),
                config.fallback.cache.clone(),
                Some(health.clone()),
            )
            .map_err(|e| ClientError::Config(vec![format!("fallback: {e}")]))?,
        );
        let (lifecycle, _) = broadcast::channel(LIFECYCLE_BUFFER);
        let counters = Arc::new(Counters::default());
        let observer = Starter::new(TaskParts {
            feed: health.clone(),
            rest: rest.clone(),
            weight_limit: config.rest.budget.limit,
            counters: counters.clone(),
            breakers: breakers.clone(),
            degrade: Some(degrade.clone()),
        });
        let config = Arc::new(config);
        let parts = PoolParts {
            config: config.clone(),
            endpoints: endpoints.clone(),
            connector,
            budget: budget.clone(),
            lifecycle: lifecycle.clone(),
            counters: counters.clone(),
            health: Some(health.clone()),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                pool: Mutex::new(Pool::new(
                    parts,
                    LiveDecoder::new,
                    Some(trades::TradeBackfill::new(rest.clone())),
                    Some(refresh::LatestRefresh::new(rest.clone())),
                    Some(poll::RestPoll::new(rest.clone())),
                    Some(degrade.clone()),
                )),
                rest,
                lifecycle,
                counters,
                config,
                next_sink: AtomicU64::new(1),
                breakers,
                endpoints,
                degrade,
                health,
                observer,
                budget,
            }),
        })
    }

    /// The REST client (one weight budget per IP), for the user manager.
    pub(crate) fn rest_client(&self) -> &RestClient {
        &self.inner.rest
    }

    /// The connection-attempt budget, for the user manager.
    pub(crate) fn attempt_budget(&self) -> &AttemptBudget {
        &self.inner.budget
    }

    /// Subscribes to streams by name (`btcusdt@aggTrade`, `ethusdt@depth@100ms`, …).
    ///
    /// Must be called inside a tokio runtime (it may open connections).
    ///
    /// # Errors
    /// [`ClientError::InvalidStream`] naming the first bad name and how to fix it.
    pub fn subscribe<I, S>(&self, streams: I) -> Result<Subscription, ClientError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let streams = parse_streams(streams)?;
        Ok(self.subscribe_streams(streams))
    }

    /// Subscribes to parsed stream names.
    #[must_use]
    pub fn subscribe_streams(&self, streams: Vec<StreamName>) -> Subscription {
        self.inner.observer.ensure_started();
        let sink = self.inner.next_sink.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = sink::channel(self.inner.config.subscriber_buffer);
        let mut unique: Vec<StreamName> = Vec::with_capacity(streams.len());
        for stream in streams {
            if !unique.contains(&stream) {
                unique.push(stream);
            }
        }
        self.inner.pool().subscribe(&unique, sink, &sender);
        Subscription {
            inner: self.inner.clone(),
            sink,
            streams: unique,
            sender: sender.downgrade(),
            receiver,
        }
    }

    /// Lifecycle signals of every connection, from now on.
    #[must_use]
    pub fn lifecycle(&self) -> Lifecycles {
        Lifecycles(self.inner.lifecycle.subscribe())
    }

    /// The client's REST client (weight budget and breaker shared with backfill).
    #[must_use]
    pub fn rest(&self) -> &RestClient {
        &self.inner.rest
    }

    /// A snapshot of the client's counters.
    #[must_use]
    pub fn stats(&self) -> ClientStats {
        self.inner.counters.snapshot()
    }

    /// Replaces every connection now, make-before-break (between connections:
    /// tries to connect now).
    pub fn rotate(&self) {
        self.inner.pool().rotate_all();
    }

    /// Reconnects (or, when connected, rotates make-before-break) one connection
    /// now: an operator's manual recovery. False when no such connection exists.
    pub fn trigger_recovery(&self, connection: ConnectionId) -> bool {
        self.inner.pool().rotate(connection)
    }

    /// The connection slots, in order of creation.
    #[must_use]
    pub fn connections(&self) -> Vec<ConnectionId> {
        self.inner.pool().slot_ids()
    }

    /// Every endpoint's circuit-breaker snapshot (state, counts, `retry_at`).
    #[must_use]
    pub fn breakers(&self) -> Vec<(String, circuit_breaker::BreakerSnapshot)> {
        self.inner.breakers.snapshots()
    }

    /// Closes every endpoint's circuit breaker and forgets its counts: an
    /// operator's "try again now". Waiting connections retry at once.
    pub fn reset_circuit_breakers(&self) {
        let now = circuit_breaker::rt::now();
        for (_, breaker) in self.inner.breakers.breakers() {
            breaker.reset(now);
        }
        let pool = self.inner.pool();
        for slot in pool.slot_ids() {
            pool.rotate(slot);
        }
    }

    /// Makes one connection's driver task panic, for resilience tests and chaos
    /// scenarios: the supervisor restarts it with its subscriptions (see
    /// [`Lifecycle::Restarted`]). False when no such connection exists.
    pub fn inject_panic(&self, connection: ConnectionId) -> bool {
        self.inner.pool().inject_panic(connection)
    }

    /// Closes every connection gracefully (within `supervisor.shutdown_deadline`,
    /// then aborts) and ends every subscription.
    pub async fn shutdown(&self) {
        let shutdown = self.inner.pool().shutdown();
        if let Some(report) = shutdown
            .finish(self.inner.config.supervisor.shutdown_deadline)
            .await
            && !report.all_in_time()
        {
            tracing::warn!(aborted = ?report.aborted, "connections did not close within the shutdown deadline");
        }
    }
}

fn parse_streams<I, S>(streams: I) -> Result<Vec<StreamName>, ClientError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    streams
        .into_iter()
        .map(|s| {
            s.as_ref()
                .parse::<StreamName>()
                .map_err(|e| ClientError::InvalidStream(e.to_string()))
        })
        .collect()
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Update {
    /// An event.
    Event(StreamEvent),
    /// The subscriber fell behind its buffer; this many events were dropped for it
    /// (and only for it).
    Lagged {
        /// Events missed.
        missed: u64,
    },
    /// Ids `from..=to` of a trade stream could not be recovered (older than the
    /// exchange keeps, or REST unavailable): they will never arrive.
    Gap {
        /// The stream.
        stream: StreamName,
        /// The first missing id.
        from: u64,
        /// The last missing id.
        to: u64,
    },
    /// Missed ids of a trade stream were recovered from REST and delivered
    /// (`source: backfill`), in order, before the live events that followed.
    Backfilled {
        /// The stream.
        stream: StreamName,
        /// Events recovered.
        count: u64,
    },
}

/// A live subscription. Dropping it unsubscribes its streams (connections left
/// without streams close).
pub struct Subscription {
    inner: Arc<Inner>,
    sink: u64,
    streams: Vec<StreamName>,
    sender: sink::WeakSender<Delivery<StreamName, StreamEvent>>,
    receiver: sink::Receiver<Delivery<StreamName, StreamEvent>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next update; `None` once the client has shut down.
    ///
    /// Cancel-safe: an update is taken only when this returns it. Updates arrive
    /// in batches (all the events of a burst of frames at once), so a subscriber
    /// that keeps up is woken once per burst, not once per event.
    pub async fn next(&mut self) -> Option<Update> {
        std::future::poll_fn(|cx| self.poll_next_update(cx)).await
    }

    /// Polls for the next update (see [`next`](Self::next)).
    pub fn poll_next_update(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Update>> {
        self.receiver.poll_recv(cx).map(|next| {
            Some(match next? {
                sink::Recv::Item(Delivery::Event(event)) => Update::Event(event),
                sink::Recv::Item(Delivery::Gap { stream, from, to }) => {
                    Update::Gap { stream, from, to }
                }
                sink::Recv::Item(Delivery::Backfilled { stream, count }) => {
                    Update::Backfilled { stream, count }
                }
                sink::Recv::Lagged(missed) => {
                    self.inner.counters.lagged(missed);
                    Update::Lagged { missed }
                }
            })
        })
    }

    /// The streams this subscription receives.
    #[must_use]
    pub fn streams(&self) -> &[StreamName] {
        &self.streams
    }

    /// Adds streams to this subscription, live.
    ///
    /// # Errors
    /// [`ClientError::InvalidStream`] for a bad name, [`ClientError::Closed`] after shutdown.
    pub fn add<I, S>(&mut self, streams: I) -> Result<(), ClientError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let new: Vec<StreamName> = parse_streams(streams)?
            .into_iter()
            .filter(|s| !self.streams.contains(s))
            .collect();
        let sender = self.sender.upgrade().ok_or(ClientError::Closed)?;
        self.inner.pool().subscribe(&new, self.sink, &sender);
        self.streams.extend(new);
        Ok(())
    }

    /// Removes streams from this subscription, live.
    ///
    /// # Errors
    /// [`ClientError::InvalidStream`] for a bad name.
    pub fn remove<I, S>(&mut self, streams: I) -> Result<(), ClientError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let gone = parse_streams(streams)?;
        self.inner.pool().unsubscribe(&gone, self.sink);
        self.streams.retain(|s| !gone.contains(s));
        Ok(())
    }
}

impl futures_util::Stream for Subscription {
    type Item = Update;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Update>> {
        self.get_mut().poll_next_update(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.inner.pool().drop_sink(self.sink);
    }
}

/// Lifecycle signals; a reader that falls far behind skips the oldest.
#[derive(Debug)]
pub struct Lifecycles(broadcast::Receiver<Lifecycle>);

impl Lifecycles {
    /// The next signal; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<Lifecycle> {
        loop {
            match self.0.recv().await {
                Ok(signal) => return Some(signal),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
