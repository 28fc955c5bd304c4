//! The connection pool: spreads streams over connection slots (at most
//! `streams_per_connection` each), runs a driver task per slot under the
//! `recovery` supervisor, and retires a slot when its last stream is
//! unsubscribed. Every slot spends the same connection-attempt budget.
//!
//! A driver that panics is restarted by the supervisor (one for one, at most
//! `supervisor.max_restarts` in `supervisor.window`) with the slot's routes and
//! command channel, kept in a [`Preserved`] cell: its subscriptions come back
//! and each stream's high-water mark keeps removing duplicates. A slot that
//! fails more often is escalated: it stays stopped and a lifecycle signal says so.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tracing::Instrument as _;

use std::time::{SystemTime, UNIX_EPOCH};

use reconnect::AttemptBudget;
use recovery::Preserved;
use recovery::rt::{ShutdownReport, Supervisor, SupervisorEvent};
use tokio::sync::{broadcast, mpsc};
use ws_transport::Connector;

use super::config::ClientConfig;
use super::degrade::Degrade;
use super::driver::FallbackKind;
use super::driver::decode::Decode;
use super::driver::decode::{Backfill, Poll, Refresh};
use super::driver::routes::Routes;
use super::driver::routes::SinkId;
use super::driver::{Command, Delivery, Driver, DriverSpec, SlotState};
use super::endpoints::Endpoints;
use super::lifecycle::{ConnectionId, Lifecycle};
use super::observe::HealthFeed;
use super::stats::Counters;

/// One connection slot.
struct Slot<S, T> {
    id: ConnectionId,
    commands: mpsc::UnboundedSender<Command<S, T>>,
    streams: HashSet<S>,
}

/// Where each stream is served and who listens to it.
struct Assignment {
    slot: ConnectionId,
    sinks: HashSet<SinkId>,
}

/// The pool's shared parts, passed to every new driver.
#[derive(Clone)]
pub(crate) struct PoolParts<C> {
    pub(crate) config: Arc<ClientConfig>,
    /// The market-stream endpoints (each with its circuit breaker) and the
    /// set that chooses between them, shared by every slot.
    pub(crate) endpoints: Arc<Endpoints>,
    pub(crate) connector: C,
    pub(crate) budget: AttemptBudget,
    pub(crate) lifecycle: broadcast::Sender<Lifecycle>,
    pub(crate) counters: Arc<Counters>,
    /// The client's health monitor; `None` reports nothing.
    pub(crate) health: Option<Arc<HealthFeed>>,
}

/// The pool.
pub(crate) struct Pool<C, D: Decode> {
    parts: PoolParts<C>,
    make_decoder: fn() -> D,
    backfill: Option<Arc<dyn Backfill<D::Stream, D::Event>>>,
    refresh: Option<Arc<dyn Refresh<D::Stream, D::Event>>>,
    poll: Option<Arc<dyn Poll<D::Stream, D::Event>>>,
    degrade: Option<Arc<Degrade<D::Stream, D::Event>>>,
    slots: Vec<Slot<D::Stream, D::Event>>,
    streams: HashMap<D::Stream, Assignment>,
    next_slot: ConnectionId,
    supervisor: Option<Supervisor>,
}

/// A pool shutting down: every driver was told to close; wait for them.
pub(crate) struct PoolShutdown(Option<Supervisor>);

impl PoolShutdown {
    /// Waits up to `deadline` for every driver to close; stragglers are aborted.
    pub(crate) async fn finish(self, deadline: std::time::Duration) -> Option<ShutdownReport> {
        match self.0 {
            Some(supervisor) => Some(supervisor.shutdown_within(deadline).await),
            None => None,
        }
    }
}

impl<C, D> Pool<C, D>
where
    C: Connector + Clone + Send + Sync + 'static,
    D: Decode,
{
    pub(crate) fn new(
        parts: PoolParts<C>,
        make_decoder: fn() -> D,
        backfill: Option<Arc<dyn Backfill<D::Stream, D::Event>>>,
        refresh: Option<Arc<dyn Refresh<D::Stream, D::Event>>>,
        poll: Option<Arc<dyn Poll<D::Stream, D::Event>>>,
        degrade: Option<Arc<Degrade<D::Stream, D::Event>>>,
    ) -> Self {
        Pool {
            parts,
            make_decoder,
            backfill,
            refresh,
            poll,
            degrade,
            slots: Vec::new(),
            streams: HashMap::new(),
            next_slot: 0,
            supervisor: None,
        }
    }

    /// Delivers `streams` to `sink` through `sender`, opening connections as needed.
    pub(crate) fn subscribe(
        &mut self,
        streams: &[D::Stream],
        sink: SinkId,
        sender: &crate::client::sink::Sender<Delivery<D::Stream, D::Event>>,
    ) {
        let mut per_slot: HashMap<ConnectionId, Vec<D::Stream>> = HashMap::new();
        for stream in streams {
            let slot = match self.streams.get_mut(stream) {
                Some(assignment) => {
                    assignment.sinks.insert(sink);
                    assignment.slot
                }
                None => {
                    let slot = self.slot_with_room();
                    if let Some(s) = self.slots.iter_mut().find(|s| s.id == slot) {
                        s.streams.insert(stream.clone());
                    }
                    // At once, so that readiness waits for it from now on (the
                    // driver registers it again, idempotently, for its route).
                    if let Some(health) = &self.parts.health {
                        health.register_stream(&stream.to_string(), slot);
                    }
                    self.streams.insert(
                        stream.clone(),
                        Assignment {
                            slot,
                            sinks: HashSet::from([sink]),
                        },
                    );
                    slot
                }
            };
            per_slot.entry(slot).or_default().push(stream.clone());
        }
        for (slot, streams) in per_slot {
            self.send(
                slot,
                Command::Subscribe {
                    streams,
                    sink,
                    sender: sender.clone(),
                },
            );
        }
    }

    /// Stops delivering `streams` to `sink`; slots left without streams close.
    pub(crate) fn unsubscribe(&mut self, streams: &[D::Stream], sink: SinkId) {
        let mut per_slot: HashMap<ConnectionId, Vec<D::Stream>> = HashMap::new();
        for stream in streams {
            if let Some(assignment) = self.streams.get_mut(stream)
                && assignment.sinks.remove(&sink)
            {
                per_slot
                    .entry(assignment.slot)
                    .or_default()
                    .push(stream.clone());
                if assignment.sinks.is_empty() {
                    let slot = assignment.slot;
                    self.streams.remove(stream);
                    if let Some(s) = self.slots.iter_mut().find(|s| s.id == slot) {
                        s.streams.remove(stream);
                    }
                }
            }
        }
        for (slot, streams) in per_slot {
            self.send(slot, Command::Unsubscribe { streams, sink });
        }
        self.retire_empty();
    }

    /// Forgets a subscriber whose handle is gone.
    pub(crate) fn drop_sink(&mut self, sink: SinkId) {
        let streams: Vec<D::Stream> = self
            .streams
            .iter()
            .filter(|(_, a)| a.sinks.contains(&sink))
            .map(|(s, _)| s.clone())
            .collect();
        self.unsubscribe(&streams, sink);
    }

    /// Asks every slot to rotate now (operators, tests).
    pub(crate) fn rotate_all(&self) {
        for slot in &self.slots {
            let _ = slot.commands.send(Command::Rotate);
        }
    }

    /// Tells every driver to close; the returned value waits for them.
    pub(crate) fn shutdown(&mut self) -> PoolShutdown {
        self.streams.clear();
        for slot in self.slots.drain(..) {
            let _ = slot.commands.send(Command::Shutdown);
            if let Some(health) = &self.parts.health {
                health.close(slot.id);
            }
        }
        PoolShutdown(self.supervisor.take())
    }

    /// Asks one slot's driver to reconnect (or rotate) now; false for an unknown slot.
    pub(crate) fn rotate(&self, slot: ConnectionId) -> bool {
        self.slots
            .iter()
            .find(|s| s.id == slot)
            .is_some_and(|s| s.commands.send(Command::Rotate).is_ok())
    }

    /// Asks one slot's driver for a fallback; false for an unknown slot.
    pub(crate) fn fallback(&self, slot: ConnectionId, kind: FallbackKind) -> bool {
        self.slots
            .iter()
            .find(|s| s.id == slot)
            .is_some_and(|s| s.commands.send(Command::Fallback(kind)).is_ok())
    }

    /// Makes one slot's driver panic (resilience tests); false for an unknown slot.
    pub(crate) fn inject_panic(&self, slot: ConnectionId) -> bool {
        self.slots
            .iter()
            .find(|s| s.id == slot)
            .is_some_and(|s| s.commands.send(Command::Panic).is_ok())
    }

    /// The slots, in order of creation.
    pub(crate) fn slot_ids(&self) -> Vec<ConnectionId> {
        self.slots.iter().map(|s| s.id).collect()
    }

    fn send(&self, slot: ConnectionId, command: Command<D::Stream, D::Event>) {
        if let Some(s) = self.slots.iter().find(|s| s.id == slot) {
            // A driver that ended has nothing left to tell.
            let _ = s.commands.send(command);
        }
    }

    fn retire_empty(&mut self) {
        let (empty, kept): (Vec<_>, Vec<_>) =
            self.slots.drain(..).partition(|s| s.streams.is_empty());
        self.slots = kept;
        for slot in empty {
            let _ = slot.commands.send(Command::Shutdown);
            self.parts.counters.set_streams(slot.id, 0);
            if let Some(health) = &self.parts.health {
                health.close(slot.id);
            }
        }
    }

    /// The slot with the fewest streams that still has room, or a new one.
    fn slot_with_room(&mut self) -> ConnectionId {
        let limit = self.parts.config.streams_per_connection;
        if let Some(slot) = self
            .slots
            .iter()
            .filter(|s| s.streams.len() < limit)
            .min_by_key(|s| s.streams.len())
        {
            return slot.id;
        }
        self.start_slot()
    }

    fn start_slot(&mut self) -> ConnectionId {
        self.next_slot += 1;
        let id = self.next_slot;
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Preserved::new(SlotState {
            routes: Routes::default(),
            commands: Arc::new(tokio::sync::Mutex::new(rx)),
        });
        let parts = self.parts.clone();
        let make_decoder = self.make_decoder;
        let backfill = self.backfill.clone();
        let refresh = self.refresh.clone();
        let poll = self.poll.clone();
        let degrade = self.degrade.clone();
        let factory =
            move |context: recovery::rt::ChildContext,
                  state: Preserved<SlotState<D::Stream, D::Event>>| {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let spec = DriverSpec {
                    id,
                    endpoints: parts.endpoints.clone(),
                    config: parts.config.clone(),
                    connector: parts.connector.clone(),
                    budget: parts.budget.clone(),
                    lifecycle: parts.lifecycle.clone(),
                    counters: parts.counters.clone(),
                    decoder: make_decoder(),
                    seed: u64::from(nanos) ^ id.rotate_left(32) ^ u64::from(context.incarnation()),
                    backfill: backfill.clone(),
                    refresh: refresh.clone(),
                    poll: poll.clone(),
                    degrade: degrade.clone(),
                    health: parts.health.clone(),
                };
                // Every log of this driver, and its phases' spans (connect,
                // backoff, rotation), carry the connection's id and endpoint.
                let span = tracing::info_span!(
                    "connection",
                    connection = id,
                    incarnation = context.incarnation(),
                    endpoint = tracing::field::Empty,
                    streams = tracing::field::Empty,
                );
                async move {
                    Driver::resume(spec, state).await.run().await;
                    Ok::<(), std::convert::Infallible>(())
                }
                .instrument(span)
            };
        match self.supervisor() {
            Some(supervisor) => {
                if let Err(error) =
                    supervisor.spawn_with_state(format!("connection-{id}"), state, factory)
                {
                    tracing::error!(connection = id, %error, "cannot start a connection driver");
                }
            }
            None => tracing::error!(
                connection = id,
                "no supervisor: the connection cannot start"
            ),
        }
        self.slots.push(Slot {
            id,
            commands: tx,
            streams: HashSet::new(),
        });
        id
    }

    /// The supervisor, started on first use (inside the runtime), with a task that
    /// turns its events into lifecycle signals.
    fn supervisor(&mut self) -> Option<&mut Supervisor> {
        if self.supervisor.is_none() {
            match Supervisor::new(self.parts.config.supervisor.clone()) {
                Ok((supervisor, events)) => {
                    tokio::spawn(forward_supervisor_events(
                        events,
                        self.parts.lifecycle.clone(),
                        self.parts.health.clone(),
                    ));
                    self.supervisor = Some(supervisor);
                }
                Err(error) => tracing::error!(%error, "cannot start the connection supervisor"),
            }
        }
        self.supervisor.as_mut()
    }
}

/// The connection id in a supervised child's name (`connection-7`).
fn connection_of(child: &str) -> ConnectionId {
    child
        .strip_prefix("connection-")
        .and_then(|id| id.parse().ok())
        .unwrap_or_default()
}

/// Turns supervisor events into lifecycle signals until the supervisor is gone.
async fn forward_supervisor_events(
    mut events: tokio::sync::mpsc::Receiver<SupervisorEvent>,
    lifecycle: broadcast::Sender<Lifecycle>,
    health: Option<Arc<HealthFeed>>,
) {
    while let Some(event) = events.recv().await {
        let signal = match event {
            SupervisorEvent::Restarting {
                child, incarnation, ..
            } => Lifecycle::Restarted {
                connection: connection_of(&child),
                incarnation,
            },
            SupervisorEvent::Escalated {
                child,
                restarts,
                last_exit,
                ..
            } => Lifecycle::Escalated {
                connection: connection_of(&child),
                reason: format!(
                    "{restarts} restarts within the supervisor's window; last: {last_exit}"
                ),
            },
            _ => continue,
        };
        if let Some(health) = &health {
            health.on_lifecycle(&signal);
        }
        let _ = lifecycle.send(signal);
    }
}
