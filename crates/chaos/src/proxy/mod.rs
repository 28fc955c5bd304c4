//! The TCP fault-injection proxy: listens, forwards every connection to one
//! upstream, and applies the faults switched on at run time.
//!
//! One tokio task accepts; one task per connection runs both directions.
//! Each direction is a reader and a writer joined by a bounded queue, so a
//! latency delays chunks without capping throughput. Faults live in a
//! `watch` channel: every direction sees a change at once, even while it is
//! waiting (a blackholed direction resumes when the fault is cleared).

mod config;
mod counters;
mod fault;
mod pipe;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use config::ProxyConfig;
pub use counters::{DirectionCounters, ProxyCounters};
pub use fault::{Direction, Fault, MAX_FAULT_DURATION};

use crate::Error;
use counters::Counters;
use fault::Effects;

/// Names one active fault, to clear it alone with
/// [`Proxy::clear_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(u64);

impl FaultId {
    /// The id as a number, unique within one proxy, from 1 up.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for FaultId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The faults in force, as every connection sees them.
#[derive(Debug, Default)]
pub(crate) struct State {
    faults: Vec<(FaultId, Fault)>,
    /// The combined effect of `faults`.
    pub(crate) effects: Effects,
    /// Bumped by every reset of all open connections.
    pub(crate) reset_generation: u64,
}

/// What the accept loop and the connections share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ProxyConfig,
    pub(crate) state: watch::Sender<State>,
    pub(crate) counters: Counters,
    next_fault: AtomicU64,
    next_connection: AtomicU64,
}

/// A running proxy. Dropping it stops the accept loop and every
/// connection; [`Proxy::shutdown`] does the same and waits until they are
/// gone.
///
/// ```
/// use chaos::{Direction, Fault, Proxy, ProxyConfig};
/// use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // An upstream that answers "pong" to anything.
/// let server = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let upstream = server.local_addr()?;
/// tokio::spawn(async move {
///     while let Ok((mut socket, _)) = server.accept().await {
///         let mut byte = [0_u8; 1];
///         if socket.read_exact(&mut byte).await.is_ok() {
///             let _ = socket.write_all(b"pong").await;
///         }
///     }
/// });
///
/// let proxy = Proxy::start(ProxyConfig::new(upstream)).await?;
/// let fault = proxy.set_fault(Fault::Latency {
///     base: std::time::Duration::from_millis(20),
///     jitter: std::time::Duration::ZERO,
///     direction: Direction::Downstream,
/// })?;
///
/// let mut client = tokio::net::TcpStream::connect(proxy.addr()).await?;
/// let started = std::time::Instant::now();
/// client.write_all(b"?").await?;
/// let mut answer = [0_u8; 4];
/// client.read_exact(&mut answer).await?;
/// assert!(started.elapsed() >= std::time::Duration::from_millis(20));
///
/// proxy.clear_fault(fault);
/// assert_eq!(proxy.counters().downstream.bytes, 4);
/// proxy.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Binds the listener and starts accepting, inside the current tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a configuration that breaks a rule;
    /// [`Error::Bind`] when the address cannot be listened on.
    pub async fn start(config: ProxyConfig) -> Result<Self, Error> {
        config.validate()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let shared = Arc::new(Shared {
            config,
            state: watch::Sender::new(State::default()),
            counters: Counters::default(),
            next_fault: AtomicU64::new(1),
            next_connection: AtomicU64::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        Ok(Self {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The address clients connect to.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server connections are forwarded to.
    #[must_use]
    pub fn upstream(&self) -> SocketAddr {
        self.shared.config.upstream
    }

    /// Switches a fault on, alongside any already active, and returns its
    /// id. It applies to open connections at once and to new ones.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the fault's values break a rule
    /// ([`Fault::validate`]); nothing changes then.
    pub fn set_fault(&self, fault: Fault) -> Result<FaultId, Error> {
        fault.validate()?;
        let id = FaultId(self.shared.next_fault.fetch_add(1, Ordering::Relaxed));
        self.shared.state.send_modify(|state| {
            state.faults.push((id, fault));
            state.effects = Effects::of(state.faults.iter().map(|(_, f)| f));
            if fault == Fault::Reset {
                state.reset_generation += 1;
            }
        });
        Ok(id)
    }

    /// Switches one fault off; `false` if it was not active.
    pub fn clear_fault(&self, id: FaultId) -> bool {
        self.shared.state.send_if_modified(|state| {
            let before = state.faults.len();
            state.faults.retain(|(active, _)| *active != id);
            state.effects = Effects::of(state.faults.iter().map(|(_, f)| f));
            state.faults.len() != before
        })
    }

    /// Switches every fault off.
    pub fn clear_faults(&self) {
        self.shared.state.send_if_modified(|state| {
            let had = !state.faults.is_empty();
            state.faults.clear();
            state.effects = Effects::default();
            had
        });
    }

    /// The faults in force, oldest first.
    #[must_use]
    pub fn active_faults(&self) -> Vec<(FaultId, Fault)> {
        self.shared.state.borrow().faults.clone()
    }

    /// Resets every open connection now (RST to client and server) without
    /// leaving a fault behind: new connections are accepted as usual.
    pub fn reset_all(&self) {
        self.shared
            .state
            .send_modify(|state| state.reset_generation += 1);
    }

    /// What has passed so far.
    #[must_use]
    pub fn counters(&self) -> ProxyCounters {
        self.shared.counters.snapshot()
    }

    /// Waits until `done` holds for the counters, checking every millisecond,
    /// for at most `timeout`; returns the last counters read and whether
    /// `done` held. For tests and scenarios that wait for the proxy to see
    /// something (a connection, some bytes) without sleeping blindly.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&ProxyCounters) -> bool,
    ) -> (ProxyCounters, bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let counters = self.counters();
            if done(&counters) {
                return (counters, true);
            }
            if tokio::time::Instant::now() >= deadline {
                return (counters, false);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Stops accepting, closes every connection and waits until the accept
    /// loop and all connection tasks have ended.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            // The loop ends on the stop signal; an error here means it
            // panicked or was cancelled, and either way it is gone.
            let _ = task.await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its listener and its `JoinSet`,
        // which aborts every connection task and closes their sockets.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _peer)) => admit(socket, &shared, &mut connections),
                // Out of file descriptors and the like: pause briefly rather
                // than spin, then keep accepting.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    connections.shutdown().await;
}

fn admit(socket: TcpStream, shared: &Arc<Shared>, connections: &mut JoinSet<()>) {
    Counters::bump(&shared.counters.accepted);
    if shared.state.borrow().effects.refuse {
        Counters::bump(&shared.counters.refused);
        pipe::reset(&socket);
        return;
    }
    let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
    let guard = pipe::ActiveGuard::new(Arc::clone(shared));
    connections.spawn(pipe::serve(socket, guard, id));
}
