//! State shared by the simulator's tasks: the market, the event bus, fault switches
//! and counters. Everything a test can observe or control goes through here.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::account::{Ledger, UserEvent};
use crate::config::SimConfig;
use crate::market::{Interest, Market};
use crate::payload::Published;
use crate::stream::StreamName;

/// One tick's events, shared by every connection.
pub(crate) type Batch = Arc<[Arc<Published>]>;

/// Milliseconds since the Unix epoch, from the system clock.
#[must_use]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the
/// simulator's state stays usable for the other connections.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How to drop connections on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropKind {
    /// Send a close frame with this code and reason, then end the connection.
    Close {
        /// The close code (for example 1001 going away, 1008 policy violation, 1011 internal error).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Reset the TCP connection without a close frame.
    Reset,
}

/// A command for every open stream connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnCommand {
    /// End the connection.
    Drop(DropKind),
    /// Send a `serverShutdown` event (and keep the connection until its lifetime ends or the client leaves).
    ServerShutdown,
}

/// How REST misbehaves while a REST fault is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestFault {
    /// Answer every request with this 5xx status and Binance's -1007/-1001 style body.
    ServerError(u16),
    /// Answer every request with 429, `Retry-After` and the -1003 body.
    TooManyRequests,
    /// Answer every request with 418, `Retry-After` and the -1003 ban body.
    Banned,
    /// Answer correctly, but only after this delay.
    Slow(Duration),
}

/// A REST fault and when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ActiveRestFault {
    pub(crate) fault: RestFault,
    pub(crate) until: Option<Instant>,
}

/// Fault switches, flipped through the handle or the admin API.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// While set, stream connections stay open but nothing is sent on them.
    pub(crate) stalled: AtomicBool,
    /// New stream connections are refused (TCP reset) until this instant.
    pub(crate) refuse_until: Mutex<Option<Instant>>,
    /// The active REST fault, if any.
    pub(crate) rest: Mutex<Option<ActiveRestFault>>,
    /// Bumped by [`Faults::set_stalled`], so stalled stream connections wake up and
    /// send what they held the moment the stall ends.
    pub(crate) stall_changed: watch::Sender<()>,
}

impl Faults {
    /// Starts or ends a stall. Use this rather than storing `stalled` directly, so
    /// connections are woken.
    pub(crate) fn set_stalled(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::SeqCst);
        self.stall_changed.send_replace(());
    }

    /// True while new stream connections are refused.
    pub(crate) fn refusing(&self, now: Instant) -> bool {
        lock(&self.refuse_until).is_some_and(|until| now < until)
    }

    /// The REST fault in force at `now`, clearing one that has expired.
    pub(crate) fn rest_fault(&self, now: Instant) -> Option<RestFault> {
        let mut slot = lock(&self.rest);
        match *slot {
            Some(active) if active.until.is_none_or(|u| now < u) => Some(active.fault),
            Some(_) => {
                *slot = None;
                None
            }
            None => None,
        }
    }
}

/// How a stream connection ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CloseRecord {
    /// The close code sent or received; 1006 when the TCP connection ended without one.
    pub code: u16,
    /// The close reason.
    pub reason: String,
    /// True when the server ended the connection.
    pub by_server: bool,
}

/// Live counters of one stream connection.
#[derive(Debug)]
pub(crate) struct ConnCounters {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) path: String,
    pub(crate) opened_at_ms: u64,
    pub(crate) frames_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) max_in_window: AtomicU64,
    pub(crate) subscriptions: AtomicUsize,
    pub(crate) closed: Mutex<Option<(CloseRecord, u64)>>,
}

impl ConnCounters {
    pub(crate) fn record_close(&self, record: CloseRecord) {
        let mut closed = lock(&self.closed);
        if closed.is_none() {
            *closed = Some((record, now_ms()));
        }
    }

    fn snapshot(&self) -> ConnectionStats {
        let closed = lock(&self.closed).clone();
        ConnectionStats {
            id: self.id,
            peer: self.peer,
            path: self.path.clone(),
            opened_at_ms: self.opened_at_ms,
            frames_in: self.frames_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            max_frames_in_window: self.max_in_window.load(Ordering::Relaxed),
            subscriptions: self.subscriptions.load(Ordering::Relaxed),
            open: closed.is_none(),
            closed_at_ms: closed.as_ref().map(|(_, at)| *at),
            close: closed.map(|(record, _)| record),
        }
    }
}

/// A snapshot of one stream connection's counters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionStats {
    /// The connection's id, in order of opening.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The request path and query of the handshake.
    pub path: String,
    /// When the connection opened, ms since the epoch.
    pub opened_at_ms: u64,
    /// Frames received from the client (text, binary, ping, pong).
    pub frames_in: u64,
    /// Frames sent to the client (data, replies, pings, pongs).
    pub frames_out: u64,
    /// The most frames received in any rolling rate window.
    pub max_frames_in_window: u64,
    /// Streams currently subscribed.
    pub subscriptions: usize,
    /// True while the connection is open.
    pub open: bool,
    /// When the connection closed, ms since the epoch.
    pub closed_at_ms: Option<u64>,
    /// How the connection closed.
    pub close: Option<CloseRecord>,
}

/// Counters of stream handshakes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HandshakeStats {
    /// Connection attempts (TCP connections accepted).
    pub attempts: u64,
    /// Handshakes answered with HTTP 429 for exceeding the attempt limit.
    pub rejected_rate_limited: u64,
    /// Connections reset because new connections were being refused.
    pub refused: u64,
    /// Handshakes refused for a bad path, stream name or parameter.
    pub rejected_bad_request: u64,
    /// Handshakes that completed.
    pub accepted: u64,
}

/// Counters of REST requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RestStats {
    /// Requests received.
    pub requests: u64,
    /// Responses by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Weight used per IP in the current minute.
    pub weight_used_1m: BTreeMap<String, u32>,
    /// IP bans issued (418).
    pub bans: u64,
}

/// The connection registry and the other counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    next_id: AtomicU64,
    connections: Mutex<Vec<Arc<ConnCounters>>>,
    pub(crate) handshakes: Mutex<HandshakeStats>,
    pub(crate) rest: Mutex<RestStats>,
}

/// Connections remembered after they close, so tests can read how they ended.
const REMEMBERED_CONNECTIONS: usize = 10_000;

impl Counters {
    /// Registers a new connection and returns its counters.
    pub(crate) fn open(&self, peer: SocketAddr, path: String) -> Arc<ConnCounters> {
        let counters = Arc::new(ConnCounters {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            peer,
            path,
            opened_at_ms: now_ms(),
            frames_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            max_in_window: AtomicU64::new(0),
            subscriptions: AtomicUsize::new(0),
            closed: Mutex::new(None),
        });
        let mut all = lock(&self.connections);
        if all.len() >= REMEMBERED_CONNECTIONS {
            // Forget the oldest closed connection; open ones are always kept.
            if let Some(pos) = all.iter().position(|c| lock(&c.closed).is_some()) {
                all.remove(pos);
            }
        }
        all.push(counters.clone());
        counters
    }

    /// Snapshots of every remembered connection, oldest first.
    pub(crate) fn connections(&self) -> Vec<ConnectionStats> {
        lock(&self.connections)
            .iter()
            .map(|c| c.snapshot())
            .collect()
    }
}

/// How many connections listen to each stream; the market renders only wanted streams.
#[derive(Debug, Default)]
pub(crate) struct InterestRegistry {
    counts: RwLock<HashMap<StreamName, usize>>,
}

impl InterestRegistry {
    pub(crate) fn add(&self, stream: &StreamName) {
        let mut counts = self.counts.write().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(stream.clone()).or_insert(0) += 1;
    }

    pub(crate) fn remove(&self, stream: &StreamName) {
        let mut counts = self.counts.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(stream) {
            *count -= 1;
            if *count == 0 {
                counts.remove(stream);
            }
        }
    }

    /// Runs `f` with a read view of the registry.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&dyn Interest) -> R) -> R {
        let counts = self.counts.read().unwrap_or_else(PoisonError::into_inner);
        f(&Wanted(&counts))
    }
}

struct Wanted<'a>(&'a HashMap<StreamName, usize>);

impl Interest for Wanted<'_> {
    fn wants(&self, stream: &StreamName) -> bool {
        self.0.contains_key(stream)
    }
}

/// Everything the simulator's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) market: Mutex<Market>,
    pub(crate) events: broadcast::Sender<Batch>,
    pub(crate) commands: broadcast::Sender<ConnCommand>,
    pub(crate) interest: InterestRegistry,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    pub(crate) shutdown: watch::Sender<bool>,
    /// Simulated accounts. Lock order: `market` first, then `ledger`.
    pub(crate) ledger: Mutex<Ledger>,
    /// User data events for WebSocket API sessions.
    pub(crate) user_events: broadcast::Sender<UserEvent>,
    /// Request weight of WebSocket API clients, per IP.
    pub(crate) api_weight: Mutex<crate::rest::weight::Limiter>,
}

impl Shared {
    pub(crate) fn new(config: SimConfig) -> Self {
        let market = Market::new(&config.market(), now_ms());
        let (events, _) = broadcast::channel(config.rules.send_buffer.max(1));
        let (commands, _) = broadcast::channel(64);
        let (shutdown, _) = watch::channel(false);
        let (user_events, _) = broadcast::channel(config.rules.send_buffer.max(1));
        let ledger = Ledger::new(&config.accounts, user_events.clone(), now_ms());
        Shared {
            ledger: Mutex::new(ledger),
            user_events,
            api_weight: Mutex::new(crate::rest::weight::Limiter::new(config.rest.clone())),
            config,
            market: Mutex::new(market),
            events,
            commands,
            interest: InterestRegistry::default(),
            faults: Faults::default(),
            counters: Counters::default(),
            shutdown,
        }
    }

    /// A receiver that turns true when the simulator shuts down.
    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}
