//! The connection pool: spreads streams over connection slots (at most
//! `streams_per_connection` each), starts a driver task per slot, and retires a
//! slot when its last stream is unsubscribed. Every slot spends the same
//! connection-attempt budget.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use reconnect::AttemptBudget;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use ws_transport::{Connector, WsUrl};

use super::config::ClientConfig;
use super::driver::decode::Decode;
use super::driver::routes::SinkId;
use super::driver::{Command, Driver, DriverSpec};
use super::lifecycle::{ConnectionId, Lifecycle};
use super::stats::Counters;

/// One connection slot.
struct Slot<S, T> {
    id: ConnectionId,
    commands: mpsc::UnboundedSender<Command<S, T>>,
    streams: HashSet<S>,
    task: JoinHandle<()>,
}

/// Where each stream is served and who listens to it.
struct Assignment {
    slot: ConnectionId,
    sinks: HashSet<SinkId>,
}

/// The pool's shared parts, passed to every new driver.
pub(crate) struct PoolParts<C> {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) url: WsUrl,
    pub(crate) connector: C,
    pub(crate) budget: AttemptBudget,
    pub(crate) lifecycle: broadcast::Sender<Lifecycle>,
    pub(crate) counters: Arc<Counters>,
}

/// The pool.
pub(crate) struct Pool<C, D: Decode> {
    parts: PoolParts<C>,
    make_decoder: fn() -> D,
    slots: Vec<Slot<D::Stream, D::Event>>,
    streams: HashMap<D::Stream, Assignment>,
    next_slot: ConnectionId,
}

impl<C, D> Pool<C, D>
where
    C: Connector + Clone + Send + Sync + 'static,
    D: Decode,
{
    pub(crate) fn new(parts: PoolParts<C>, make_decoder: fn() -> D) -> Self {
        Pool {
            parts,
            make_decoder,
            slots: Vec::new(),
            streams: HashMap::new(),
            next_slot: 0,
        }
    }

    /// Delivers `streams` to `sink` through `sender`, opening connections as needed.
    pub(crate) fn subscribe(
        &mut self,
        streams: &[D::Stream],
        sink: SinkId,
        sender: &broadcast::Sender<D::Event>,
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

    /// Tells every driver to close, and returns their tasks to await.
    pub(crate) fn shutdown(&mut self) -> Vec<JoinHandle<()>> {
        self.streams.clear();
        self.slots
            .drain(..)
            .map(|slot| {
                let _ = slot.commands.send(Command::Shutdown);
                slot.task
            })
            .collect()
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
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let spec = DriverSpec {
            id,
            url: self.parts.url.clone(),
            config: self.parts.config.clone(),
            connector: self.parts.connector.clone(),
            budget: self.parts.budget.clone(),
            lifecycle: self.parts.lifecycle.clone(),
            counters: self.parts.counters.clone(),
            decoder: (self.make_decoder)(),
            seed: u64::from(nanos) ^ id.rotate_left(32),
        };
        let task = tokio::spawn(Driver::new(spec, rx).run());
        self.slots.push(Slot {
            id,
            commands: tx,
            streams: HashSet::new(),
            task,
        });
        id
    }
}
