//! The connection driver: one task that owns one connection slot for its whole
//! life. It connects (spending the client's shared attempt budget), restores every
//! subscription in batched frames at the transport's pace, delivers events to
//! subscribers, reconnects on the `reconnect` schedule, and rotates the
//! connection before Binance's 24 h cut-off or on `serverShutdown`,
//! make-before-break (`rotation.rs`).
//!
//! The driver never gives up on a cause that retrying can fix: a 1008 close or a
//! handshake 429 backs off and reconnects. It abandons only when the reconnect
//! policy says so (a permanent cause or a configured limit), and then keeps its
//! routes so that a later `Rotate` command tries again.
//!
//! Each attempt goes to the endpoint the client's endpoint set chooses
//! (`endpoints.rs`); a live connection follows a switch make-before-break.
//! While it cannot connect, the driver serves its streams by REST polling
//! when the client's degradation plan says so (`polling.rs`).

mod backfill;
pub(crate) mod cause;
pub(crate) mod decode;
mod endpoints;
mod observe;
pub(crate) mod polling;
mod requests;
mod rotation;
pub(crate) mod routes;

pub use polling::FallbackKind;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument as _;

use circuit_breaker::{Outcome, Permit};
use fallback::{ConnectionMachine, Signal};
use futures_util::FutureExt;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reconnect::rt::ReconnectDriver;
use reconnect::{AttemptBudget, Cause, Decision, Reconnector};
use recovery::Preserved;
use tokio::sync::{broadcast, mpsc};

use crate::client::sink;
use tokio::time::Instant;
use ws_transport::{Connection, Connector, Event as WsEvent};

use self::decode::{Backfill, BackfillMsg, Decode, Incoming, Poll, Refresh};
use self::endpoints::{Pin, now};
use self::polling::Poller;
use self::requests::{Pending, Requests};
use self::routes::{Routes, SinkId};
use super::config::ClientConfig;
use super::degrade::Degrade;
use super::endpoints::Endpoints;
use super::lifecycle::{ConnectionId, Lifecycle, millis};
use super::stats::Counters;

/// What subscribers receive: events, and notices about a stream's ids.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Delivery<S, E> {
    /// An event (live or backfilled).
    Event(E),
    /// Ids `from..=to` of the stream could not be recovered.
    Gap { stream: S, from: u64, to: u64 },
    /// A backfill of the stream completed, delivering `count` events.
    Backfilled { stream: S, count: u64 },
}

/// A request to a driver.
#[derive(Debug)]
pub(crate) enum Command<S, T> {
    /// Deliver these streams to this subscriber.
    Subscribe {
        streams: Vec<S>,
        sink: SinkId,
        sender: sink::Sender<Delivery<S, T>>,
    },
    /// Stop delivering these streams to this subscriber.
    Unsubscribe { streams: Vec<S>, sink: SinkId },
    /// Replace the connection now, make-before-break (or, between connections,
    /// try to connect now).
    Rotate,
    /// An operator's fallback: another endpoint, or REST polling.
    Fallback(FallbackKind),
    /// Close gracefully and end the task.
    Shutdown,
    /// Panic inside the driver task, for resilience tests: the supervisor must
    /// restart it with its subscriptions.
    Panic,
}

/// Where a driver's commands come from: its own receiver, or (under the
/// supervisor) a receiver shared by every incarnation of the slot, so that a
/// restarted driver keeps the pool's channel.
pub(crate) enum Inbox<S, T> {
    /// A receiver this driver owns.
    Owned(mpsc::UnboundedReceiver<Command<S, T>>),
    /// The slot's receiver, held for this incarnation's life.
    Shared(tokio::sync::OwnedMutexGuard<mpsc::UnboundedReceiver<Command<S, T>>>),
}

impl<S, T> Inbox<S, T> {
    async fn recv(&mut self) -> Option<Command<S, T>> {
        match self {
            Inbox::Owned(receiver) => receiver.recv().await,
            Inbox::Shared(receiver) => receiver.recv().await,
        }
    }
}

impl<S, T> From<mpsc::UnboundedReceiver<Command<S, T>>> for Inbox<S, T> {
    fn from(receiver: mpsc::UnboundedReceiver<Command<S, T>>) -> Self {
        Inbox::Owned(receiver)
    }
}

/// What a connection slot keeps across restarts of its driver task: the routes
/// (streams, subscribers, each stream's high-water mark) and the command channel.
pub(crate) struct SlotState<S, T> {
    pub(crate) routes: Routes<S, Delivery<S, T>>,
    pub(crate) commands: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Command<S, T>>>>,
}

/// The rotation reason of a move to another endpoint.
pub(super) const ENDPOINT_SWITCH: &str = "endpoint_switch";

/// How often a serving driver saves its streams' high-water marks for a restart.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Everything a driver task is started with.
pub(crate) struct DriverSpec<C, D: Decode> {
    pub(crate) id: ConnectionId,
    /// The client's market-stream endpoints, their breakers and the set that
    /// chooses between them.
    pub(crate) endpoints: Arc<Endpoints>,
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) connector: C,
    pub(crate) budget: AttemptBudget,
    pub(crate) lifecycle: broadcast::Sender<Lifecycle>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) decoder: D,
    pub(crate) seed: u64,
    /// Recovers missed ids of trade streams from REST; `None` reports them as gaps.
    pub(crate) backfill: Option<Arc<dyn Backfill<D::Stream, D::Event>>>,
    /// Refreshes latest-value streams from REST after a reconnect; `None` does not.
    pub(crate) refresh: Option<Arc<dyn Refresh<D::Stream, D::Event>>>,
    /// Polls streams over REST while no connection serves them; `None` does not.
    pub(crate) poll: Option<Arc<dyn Poll<D::Stream, D::Event>>>,
    /// The client's degradation plan and last-value cache; `None` keeps neither.
    pub(crate) degrade: Option<Arc<Degrade<D::Stream, D::Event>>>,
    /// The client's health monitor (`driver/observe.rs`); `None` reports nothing.
    pub(crate) health: Option<Arc<crate::client::observe::HealthFeed>>,
}

/// Why serving a connection stopped.
#[derive(Debug)]
enum Ended {
    /// The client shuts down.
    Shutdown,
    /// The connection ended; reconnect according to the policy.
    Lost(Cause),
}

/// How a burst of frames ended.
enum Burst {
    /// The connection has no more frames ready.
    Drained,
    /// The burst reached its bound with more frames waiting.
    Full,
    /// The connection ended.
    Ended(Cause),
}

/// How waiting for something between connections ended.
enum Waited<T> {
    /// The work finished.
    Done(T),
    /// A `Rotate` command asked to try now.
    Retry,
    /// A `Fallback` command asked for another endpoint or for polling.
    Triggered,
    /// The client shuts down.
    Shutdown,
}

/// A backfill message tagged with its backfill's id.
type Tagged<D> = (
    u64,
    BackfillMsg<<D as Decode>::Stream, <D as Decode>::Event>,
);

/// One connection slot's task.
pub(crate) struct Driver<C, D: Decode> {
    spec: DriverSpec<C, D>,
    commands: Inbox<D::Stream, D::Event>,
    routes: Routes<D::Stream, Delivery<D::Stream, D::Event>>,
    /// Backfills in flight, and the channel their results come back on.
    inflight: backfill::Inflight<D::Stream>,
    backfill_tx: mpsc::UnboundedSender<Tagged<D>>,
    backfill_rx: mpsc::UnboundedReceiver<Tagged<D>>,
    /// The slot's state kept across restarts, when supervised.
    preserved: Option<Preserved<SlotState<D::Stream, D::Event>>>,
    requests: Requests<D::Stream>,
    rng: ChaCha8Rng,
    /// Set by a `Rotate` command or a `serverShutdown` event while connected.
    rotate_requested: Option<&'static str>,
    /// The breaker's permit for the current connection, until it proves itself.
    pending_permit: Option<Permit>,
    /// Whether a connection of this slot was ever fully subscribed: the next full
    /// subscription is then a reconnect, and latest values are refreshed.
    was_subscribed: bool,
    /// The endpoint of the current connection (or attempt), by index.
    endpoint: usize,
    /// The endpoint of the next rotation, when it moves to another one.
    rotate_to: Option<usize>,
    /// The connection's state (`None` only if its configuration were invalid,
    /// which the client rules out).
    machine: Option<ConnectionMachine>,
    /// The streams polled while no connection serves them.
    poller: Poller<D::Stream>,
    /// The latest event of each stream since the last flush to the cache.
    latest: HashMap<D::Stream, D::Event, foldhash::fast::RandomState>,
    /// An operator's choice of endpoint, kept until the set's own changes.
    pin: Option<Pin>,
    /// An operator's `trigger_fallback(Polling)`, until `trigger_recovery`.
    forced_polling: bool,
    /// After a failed move to the set's endpoint: not again before then.
    follow_after: Option<std::time::Instant>,
    /// Received events not yet reported to the health feed (`observe.rs`).
    observed: std::cell::RefCell<Vec<(health::StreamId, usize, Option<u64>)>>,
}

impl<C, D> Driver<C, D>
where
    C: Connector + Clone + Send + Sync + 'static,
    D: Decode,
{
    pub(crate) fn new(
        spec: DriverSpec<C, D>,
        commands: impl Into<Inbox<D::Stream, D::Event>>,
    ) -> Self {
        let (backfill_tx, backfill_rx) = mpsc::unbounded_channel();
        let machine = ConnectionMachine::new(spec.config.fallback.connection.clone())
            .map_err(|error| tracing::error!(%error, "fallback.connection is invalid: no connection state"))
            .ok();
        let endpoint = spec.endpoints.current().unwrap_or(0);
        Driver {
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
            spec,
            commands: commands.into(),
            routes: Routes::default(),
            inflight: backfill::Inflight::default(),
            backfill_tx,
            backfill_rx,
            preserved: None,
            requests: Requests::default(),
            rotate_requested: None,
            pending_permit: None,
            was_subscribed: false,
            endpoint,
            rotate_to: None,
            machine,
            poller: Poller::default(),
            latest: HashMap::default(),
            pin: None,
            forced_polling: false,
            follow_after: None,
            observed: std::cell::RefCell::default(),
        }
    }

    /// A driver for one incarnation of a supervised slot: it takes the slot's
    /// command channel and routes from `state`, and saves them back as they change.
    pub(crate) async fn resume(
        spec: DriverSpec<C, D>,
        state: Preserved<SlotState<D::Stream, D::Event>>,
    ) -> Self {
        let (commands, routes) = state.with(|s| (s.commands.clone(), s.routes.clone()));
        let commands = commands.lock_owned().await;
        let mut driver = Driver::new(spec, Inbox::Shared(commands));
        driver
            .spec
            .counters
            .set_streams(driver.spec.id, routes.len());
        driver.routes = routes;
        driver.preserved = Some(state);
        let streams = driver.routes.streams().to_vec();
        driver.plan_added(&streams);
        driver
    }

    /// Saves the routes (and so every stream's high-water mark) for a restart.
    fn checkpoint(&self) {
        if let Some(preserved) = &self.preserved {
            let routes = self.routes.clone();
            preserved.update(|state| state.routes = routes);
        }
    }
    fn emit(&self, event: Lifecycle) {
        // Events received before the signal are reported before it.
        self.flush_observed();
        // Connection-level only (never per event): the story of one
        // connection, inside its span.
        tracing::info!(connection = self.spec.id, ?event, "lifecycle");
        if let Some(health) = &self.spec.health {
            health.on_lifecycle(&event);
        }
        // Nobody listening is fine.
        let _ = self.spec.lifecycle.send(event);
    }

    /// Runs the slot until shutdown.
    pub(crate) async fn run(mut self) {
        let seed = self.rng.random();
        let reconnector = match Reconnector::new(
            self.spec.config.reconnect.clone(),
            ChaCha8Rng::seed_from_u64(seed),
        ) {
            Ok(machine) => machine,
            Err(error) => {
                // The client validated the configuration before starting drivers;
                // report rather than panic if that ever changes.
                self.emit(Lifecycle::Abandoned {
                    connection: self.spec.id,
                    reason: error.to_string(),
                });
                return;
            }
        };
        let mut policy = ReconnectDriver::new(reconnector, self.spec.budget.clone());
        self.resume_held();
        let budget = self.spec.budget.clone();
        if let Waited::Shutdown = self.between(reconnect::rt::acquire(&budget), false).await {
            return;
        }
        let mut attempt: u32 = 1;
        self.publish_feed();
        loop {
            self.flush_burst();
            let Some((endpoint, permit)) = self.admitted().await else {
                return;
            };
            self.endpoint = endpoint;
            let span = tracing::Span::current();
            span.record("endpoint", self.endpoint().as_str());
            span.record("streams", self.routes.len());
            self.emit(Lifecycle::Connecting {
                connection: self.spec.id,
                endpoint: self.endpoint(),
                attempt,
            });
            let connector = self.spec.connector.clone();
            let url = self.spec.endpoints.get(endpoint).url.clone();
            self.spec.endpoints.on_attempt(endpoint, now());
            let started = std::time::Instant::now();
            let cause = match self
                .between(async move { connector.connect(&url).await }, false)
                .instrument(tracing::info_span!("connect", attempt))
                .await
            {
                Waited::Shutdown => {
                    self.spec.endpoints.get(endpoint).breaker.on_cancel(permit);
                    return;
                }
                Waited::Retry | Waited::Triggered => {
                    self.spec.endpoints.get(endpoint).breaker.on_cancel(permit);
                    continue;
                }
                Waited::Done(Ok(connection)) => {
                    attempt = 0;
                    policy.on_connected();
                    self.spec
                        .endpoints
                        .on_success(endpoint, started.elapsed(), now());
                    self.emit(Lifecycle::Connected {
                        connection: self.spec.id,
                        endpoint: self.endpoint(),
                    });
                    self.signal(Signal::Connected);
                    self.update_availability(now());
                    match self.serve(connection, &mut policy, permit).await {
                        Ended::Shutdown => return,
                        Ended::Lost(cause) => {
                            self.connection_lost(&cause);
                            cause
                        }
                    }
                }
                Waited::Done(Err(error)) => {
                    self.breaker_result(permit, Outcome::Failure);
                    self.spec.counters.connect_failed();
                    self.emit(Lifecycle::Disconnected {
                        connection: self.spec.id,
                        cause: error
                            .cause()
                            .map_or("invalid", ws_transport::CloseCause::label)
                            .to_owned(),
                        detail: error.to_string(),
                    });
                    let cause = cause::from_error(&error);
                    self.attempt_failed(&cause);
                    cause
                }
            };
            let decision = policy.on_disconnect(cause);
            let waited = match &decision {
                Decision::Abandon(reason) => {
                    self.emit(Lifecycle::Abandoned {
                        connection: self.spec.id,
                        reason: reason.to_string(),
                    });
                    // Keep serving commands; a `Rotate` tries again.
                    let waited = self.between(std::future::pending::<()>(), true).await;
                    policy.machine_mut().reset();
                    attempt = 0;
                    waited
                }
                Decision::Reconnect { delay, .. } | Decision::Backoff { delay, .. } => {
                    self.emit(Lifecycle::Reconnecting {
                        connection: self.spec.id,
                        delay_ms: millis(*delay),
                        rate_limited: matches!(decision, Decision::Backoff { .. }),
                    });
                    let wait = reconnect::rt::wait(&decision);
                    let backoff = tracing::info_span!("backoff", delay_ms = millis(*delay));
                    match self.between(wait, true).instrument(backoff).await {
                        Waited::Done(_) => {
                            // The schedule's delay is over; now the shared budget.
                            self.between(reconnect::rt::acquire(&budget), false)
                                .await
                                .map_done()
                        }
                        other => other.map_done(),
                    }
                }
            };
            if let Waited::Shutdown = waited {
                return;
            }
            attempt = attempt.saturating_add(1);
        }
    }

    /// Runs `work` while no connection is open, applying commands to the routes
    /// (new streams are subscribed when a connection opens). A `Rotate` command
    /// cuts the wait short when `retry_cuts` is set.
    ///
    /// Meanwhile it applies the connection machine's time rules and polls the
    /// streams the degradation plan says are polled (`polling.rs`).
    async fn between<F: Future>(&mut self, work: F, retry_cuts: bool) -> Waited<F::Output> {
        tokio::pin!(work);
        loop {
            self.flush_burst();
            self.flush_latest();
            let deadline = self.fallback_deadline();
            tokio::select! {
                output = &mut work => return Waited::Done(output),
                Some((id, msg)) = self.backfill_rx.recv() => self.on_backfill(id, msg),
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => return Waited::Shutdown,
                    Some(Command::Rotate) => {
                        // `trigger_recovery` ends a forced polling wherever
                        // it finds the driver: also in a reconnect wait, or
                        // `hold_polling` would wait for a second one.
                        if self.forced_polling {
                            self.forced_polling = false;
                            self.publish_feed();
                        }
                        if retry_cuts {
                            return Waited::Retry;
                        }
                    }
                    Some(Command::Fallback(kind)) => {
                        if self.on_trigger(kind, false) && retry_cuts {
                            return Waited::Triggered;
                        }
                    }
                    Some(other) => self.apply(other, None),
                },
                () = polling::sleep_until(deadline) => self.on_fallback_timer(),
            }
        }
    }

    /// Applies a subscription command; with a connection, the server is told.
    fn apply(
        &mut self,
        command: Command<D::Stream, D::Event>,
        connection: Option<&mut Connection>,
    ) {
        match command {
            Command::Subscribe {
                streams,
                sink,
                sender,
            } => {
                let new: Vec<D::Stream> = streams
                    .into_iter()
                    .filter(|stream| self.routes.add(stream, sink, sender.clone()))
                    .collect();
                self.spec
                    .counters
                    .set_streams(self.spec.id, self.routes.len());
                self.observe_added(&new);
                self.plan_added(&new);
                if let Some(connection) = connection {
                    self.send_requests(connection, true, &new);
                }
            }
            Command::Unsubscribe { streams, sink } => {
                let gone: Vec<D::Stream> = streams
                    .into_iter()
                    .filter(|stream| self.routes.remove(stream, sink))
                    .collect();
                self.observe_removed(&gone);
                self.plan_removed(&gone);
                self.after_removal(connection, &gone);
            }
            Command::Rotate => self.rotate_requested = Some("requested"),
            Command::Fallback(kind) => {
                let _ = self.on_trigger(kind, connection.is_some());
            }
            Command::Panic => panic!(
                "connection {}: panic injected for a resilience test",
                self.spec.id
            ),
            // Handled by the loops that own the connection.
            Command::Shutdown => {}
        }
        self.checkpoint();
    }

    fn after_removal(&mut self, connection: Option<&mut Connection>, gone: &[D::Stream]) {
        self.spec
            .counters
            .set_streams(self.spec.id, self.routes.len());
        if let Some(connection) = connection {
            self.send_requests(connection, false, gone);
        }
    }

    /// Queues `SUBSCRIBE`/`UNSUBSCRIBE` frames for `streams`; the transport paces
    /// them, and those its queue cannot take yet wait in `requests`.
    fn send_requests(
        &mut self,
        connection: &mut Connection,
        subscribe: bool,
        streams: &[D::Stream],
    ) {
        if streams.is_empty() {
            return;
        }
        let per_frame = self.spec.config.streams_per_request;
        self.requests.request(subscribe, streams, per_frame);
        self.flush_requests(connection);
    }

    /// Hands waiting request frames to the connection as its queue drains.
    fn flush_requests(&mut self, connection: &mut Connection) {
        if let Err(error) = self.requests.flush(connection) {
            // The connection is closing: it will be replaced, and the streams are
            // restored from the routes then.
            tracing::warn!(connection = self.spec.id, %error, "cannot queue a subscription request");
        }
    }

    /// How often waiting request frames are offered to the connection: once per
    /// frame the pacer lets out.
    fn flush_every(&self) -> Duration {
        self.spec.config.transport.pacing.spacing()
    }

    /// Serves one open connection until it ends or the client shuts down.
    async fn serve(
        &mut self,
        mut connection: Connection,
        policy: &mut ReconnectDriver<ChaCha8Rng>,
        permit: Permit,
    ) -> Ended {
        self.requests.reset();
        self.routes.unconfirm_all();
        // The attempt counts as a success for the breaker once every stream is
        // confirmed; a connection that drops before that counts as a failure.
        self.pending_permit = Some(permit);
        if self.routes.len() == 0 {
            self.settle_permit(Outcome::Success);
        }
        let streams = self.routes.streams().to_vec();
        self.send_requests(&mut connection, true, &streams);
        // One rotation timer for the connection's life, reset when it rotates:
        // creating a timer per loop turn costs a timer-wheel insert per event.
        let rotation_timer = tokio::time::sleep_until(self.rotation_deadline());
        tokio::pin!(rotation_timer);
        let mut checkpoint = tokio::time::interval(CHECKPOINT_EVERY);
        checkpoint.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The endpoint set and the connection machine's deadlines, checked at
        // least once a second.
        let check_timer = tokio::time::sleep_until(self.endpoint_deadline());
        tokio::pin!(check_timer);
        loop {
            self.flush_burst();
            self.flush_latest();
            if self.forced_polling {
                // An operator's `trigger_fallback(Polling)`: close, then poll.
                self.cancel_permit();
                let _ = connection.close(1000, "fallback to polling").await;
                return Ended::Lost(Cause::Rotation);
            }
            if let Some(reason) = self.rotate_requested.take() {
                match self
                    .rotate(&mut connection, reason)
                    .instrument(tracing::info_span!("rotation", reason))
                    .await
                {
                    rotation::Outcome::Rotated => {
                        let at = self.rotation_deadline();
                        rotation_timer.as_mut().reset(at);
                    }
                    rotation::Outcome::Shutdown => {
                        self.cancel_permit();
                        let _ = connection.close(1000, "client shutdown").await;
                        return Ended::Shutdown;
                    }
                    rotation::Outcome::OldLost(cause) => {
                        self.settle_permit(Outcome::Failure);
                        return Ended::Lost(cause);
                    }
                    rotation::Outcome::Failed if reason == ENDPOINT_SWITCH => {
                        // Keep the old connection; the set is told, and decides again.
                        self.follow_failed();
                    }
                    rotation::Outcome::Failed => {
                        // Keep the old connection; try again a little later.
                        rotation_timer
                            .as_mut()
                            .reset(Instant::now() + Duration::from_secs(30));
                    }
                }
            }
            // The connection only tells us about what arrives, not that its queue
            // drained: offer waiting requests on every turn, and wake up for them.
            self.flush_requests(&mut connection);
            let unsent = self.requests.has_unsent();
            let flush_every = self.flush_every();
            tokio::select! {
                event = connection.next() => {
                    match self.on_events(event, &mut connection) {
                        Burst::Ended(cause) => {
                            self.settle_permit(Outcome::Failure);
                            return Ended::Lost(cause);
                        }
                        // More frames are waiting: let the subscribers (and every
                        // other task of this thread) take this burst first, or a
                        // subscriber on the same thread overflows its buffer
                        // before its first turn.
                        Burst::Full => tokio::task::yield_now().await,
                        Burst::Drained => {}
                    }
                }
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => {
                        self.cancel_permit();
                        let _ = connection.close(1000, "client shutdown").await;
                        return Ended::Shutdown;
                    }
                    Some(other) => self.apply(other, Some(&mut connection)),
                },
                () = policy.timer() => {}
                Some((id, msg)) = self.backfill_rx.recv() => self.on_backfill(id, msg),
                () = &mut rotation_timer => {
                    self.rotate_requested = Some("lifetime");
                    // Not again until the rotation resets it.
                    rotation_timer.as_mut().reset(Instant::now() + Duration::from_secs(24 * 3600));
                }
                () = tokio::time::sleep(flush_every), if unsent => {}
                _ = checkpoint.tick(), if self.preserved.is_some() => self.checkpoint(),
                () = &mut check_timer => {
                    self.on_fallback_timer();
                    // Only a connection that proved itself moves.
                    if self.pending_permit.is_none()
                        && let Some(target) = self.endpoint_check()
                    {
                        self.rotate_to = Some(target);
                        self.rotate_requested = Some(ENDPOINT_SWITCH);
                    }
                    let next = self.endpoint_deadline();
                    check_timer.as_mut().reset(next);
                }
            }
        }
    }

    /// Handles an event and then, without going back through `select!`, every
    /// further event the connection already has (up to a bound, so commands and
    /// timers still get their turn): a busy stream costs one wake-up per burst,
    /// not per event.
    ///
    /// The burst's events are handed to each subscriber together at its end
    /// (`Routes::flush`): one wake-up per subscriber per burst.
    fn on_events(&mut self, first: WsEvent, connection: &mut Connection) -> Burst {
        const BURST: usize = 256;
        let mut ended = self.on_event(first, connection);
        let mut burst = Burst::Full;
        for _ in 0..BURST {
            if ended.is_some() {
                break;
            }
            let Some(event) = connection.next().now_or_never() else {
                burst = Burst::Drained;
                break;
            };
            ended = self.on_event(event, connection);
        }
        self.flush_burst();
        match ended {
            Some(cause) => Burst::Ended(cause),
            None => burst,
        }
    }

    /// When the current connection should be replaced: `rotation.after` minus a
    /// random part of `rotation.jitter`, so a pool's connections rotate apart.
    fn rotation_deadline(&mut self) -> Instant {
        let rotation = &self.spec.config.rotation;
        let jitter = rotation.jitter.mul_f64(self.rng.random::<f64>());
        Instant::now() + rotation.after.saturating_sub(jitter)
    }

    /// Handles one transport event on the serving connection; `Some(cause)` when
    /// the connection ended.
    fn on_event(&mut self, event: WsEvent, connection: &mut Connection) -> Option<Cause> {
        match event {
            WsEvent::Text(text) => {
                self.on_text(text.as_str());
                None
            }
            WsEvent::Closed(close) => {
                self.emit(Lifecycle::Disconnected {
                    connection: self.spec.id,
                    cause: close.label().to_owned(),
                    detail: close.to_string(),
                });
                Some(cause::from_close(&close))
            }
            other => {
                // Binance sends no binary frames on JSON streams.
                self.spec.counters.unexpected_frame();
                tracing::debug!(connection = self.spec.id, frame = ?other, "unexpected frame ignored");
                let _ = connection;
                None
            }
        }
    }

    /// Decodes a text frame and acts on it.
    fn on_text(&mut self, text: &str) {
        match self.spec.decoder.decode(text) {
            Incoming::Event { stream, event } => {
                self.observe_event(&stream, text.len(), &event);
                self.offer(stream, event);
            }
            Incoming::Reply { id } => self.on_reply(id),
            Incoming::Error { code, msg, id } => {
                if let Some(id) = id {
                    let _ = self.requests.answer(id);
                }
                self.emit(Lifecycle::RequestFailed {
                    connection: self.spec.id,
                    code,
                    message: msg,
                });
            }
            Incoming::ServerShutdown => self.rotate_requested = Some("server_shutdown"),
            Incoming::Unknown(what) => self.spec.counters.unknown(&what),
            Incoming::Invalid(problem) => self.spec.counters.invalid(&problem),
        }
    }

    fn on_reply(&mut self, id: i64) {
        match self.requests.answer(id) {
            Some(Pending::Subscribe(streams)) => {
                for stream in &streams {
                    if let Some(route) = self.routes.get_mut(stream) {
                        route.confirmed = true;
                    }
                }
                if self.requests.outstanding() == 0 && self.routes.all_confirmed() {
                    self.settle_permit(Outcome::Success);
                    self.signal(Signal::Subscribed);
                    if std::mem::replace(&mut self.was_subscribed, true) {
                        self.refresh_latest();
                    }
                    self.emit(Lifecycle::Subscribed {
                        connection: self.spec.id,
                        streams: self.routes.len(),
                    });
                }
            }
            Some(Pending::Unsubscribe(_)) | None => {}
        }
    }
}

impl<T> Waited<T> {
    fn map_done<U>(self) -> Waited<U>
    where
        U: Default,
    {
        match self {
            Waited::Done(_) => Waited::Done(U::default()),
            Waited::Retry => Waited::Retry,
            Waited::Triggered => Waited::Triggered,
            Waited::Shutdown => Waited::Shutdown,
        }
    }
}

#[cfg(test)]
mod merge_props;
#[cfg(test)]
mod tests;
