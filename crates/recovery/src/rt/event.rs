//! What a [`Supervisor`](super::Supervisor) tells its parent: events as
//! they happen, a status anyone can read at any time, and the report of a
//! shutdown.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

/// How one incarnation of a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildExit {
    /// It returned `Ok(())`.
    Completed,
    /// It returned an error, shown with `Display`.
    Failed(String),
    /// It panicked, with the panic message when the payload was a string.
    Panicked(String),
    /// It was aborted (at a shutdown's deadline).
    Aborted,
}

impl fmt::Display for ChildExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed => f.write_str("completed"),
            Self::Failed(error) => write!(f, "failed: {error}"),
            Self::Panicked(message) => write!(f, "panicked: {message}"),
            Self::Aborted => f.write_str("aborted"),
        }
    }
}

/// One thing a [`Supervisor`](super::Supervisor) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupervisorEvent {
    /// An incarnation of a child started.
    Started {
        /// The child's name.
        child: String,
        /// 0 for the first start, then one more per restart.
        incarnation: u32,
        /// When.
        at: Instant,
    },
    /// An incarnation ended.
    Exited {
        /// The child's name.
        child: String,
        /// Which incarnation.
        incarnation: u32,
        /// How.
        exit: ChildExit,
        /// When.
        at: Instant,
    },
    /// The child is being started again.
    Restarting {
        /// The child's name.
        child: String,
        /// The incarnation about to start.
        incarnation: u32,
        /// Restarts within the window, this one included.
        restarts_in_window: u32,
        /// When.
        at: Instant,
    },
    /// The child ended and its restart policy does not restart it.
    Stopped {
        /// The child's name.
        child: String,
        /// How it ended.
        exit: ChildExit,
        /// When.
        at: Instant,
    },
    /// The child failed more often than the restart intensity allows: it
    /// stays stopped, and the parent decides.
    Escalated {
        /// The child's name.
        child: String,
        /// Restarts within the window.
        restarts: u32,
        /// The window.
        window: Duration,
        /// How the last incarnation ended.
        last_exit: ChildExit,
        /// When.
        at: Instant,
    },
    /// A graceful shutdown began: children were told to stop.
    ShutdownStarted {
        /// How long they have.
        deadline: Duration,
        /// When.
        at: Instant,
    },
    /// The shutdown finished.
    ShutdownFinished(ShutdownReport),
}

/// How a shutdown went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// The deadline children were given.
    pub deadline: Duration,
    /// How long the shutdown took.
    pub elapsed: Duration,
    /// Children that stopped on their own within the deadline.
    pub in_time: Vec<String>,
    /// Children still running at the deadline, and aborted.
    pub aborted: Vec<String>,
    /// Children that had already stopped (completed, or escalated) before
    /// the shutdown began.
    pub already_stopped: Vec<String>,
}

impl ShutdownReport {
    /// Whether no child had to be aborted.
    #[must_use]
    pub fn all_in_time(&self) -> bool {
        self.aborted.is_empty()
    }
}

/// Where one child is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildState {
    /// An incarnation is running.
    Running,
    /// It ended and its restart policy does not restart it.
    Stopped,
    /// It failed too often and was not restarted: the parent must act.
    Escalated {
        /// Restarts within the window.
        restarts: u32,
        /// The window.
        window: Duration,
    },
    /// It stopped for a shutdown.
    ShutDown {
        /// `false` if it was aborted at the deadline.
        in_time: bool,
    },
}

/// The status of one child.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildStatus {
    /// Where it is.
    pub state: ChildState,
    /// The current (or last) incarnation, from 0.
    pub incarnation: u32,
    /// How the last incarnation ended, if one has.
    pub last_exit: Option<ChildExit>,
}

/// Everything a [`Supervisor`](super::Supervisor) supervises, as a value a
/// health model can read at any time
/// ([`Supervisor::status`](super::Supervisor::status)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SupervisorStatus {
    /// Each child's status, by name.
    pub children: BTreeMap<String, ChildStatus>,
    /// Whether a shutdown has begun.
    pub shutting_down: bool,
    /// Events dropped because the parent's channel was full.
    pub dropped_events: u64,
}

impl SupervisorStatus {
    /// Names of the children that escalated.
    pub fn escalated(&self) -> impl Iterator<Item = &str> {
        self.children
            .iter()
            .filter(|(_, status)| matches!(status.state, ChildState::Escalated { .. }))
            .map(|(name, _)| name.as_str())
    }
}

/// Where events and status go; shared by the supervisor and its runners.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    events: mpsc::Sender<SupervisorEvent>,
    status: Arc<watch::Sender<SupervisorStatus>>,
    dropped: Arc<AtomicU64>,
}

impl Outbox {
    pub(crate) fn new(
        events: mpsc::Sender<SupervisorEvent>,
        status: watch::Sender<SupervisorStatus>,
    ) -> Self {
        Self {
            events,
            status: Arc::new(status),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sends `event` without waiting: a full channel drops it and counts
    /// the drop in the status (a slow parent must never stall restarts);
    /// a closed one (the parent stopped listening) drops it silently.
    pub(crate) fn emit(&self, event: SupervisorEvent) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(event) {
            let dropped = self
                .dropped
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1);
            self.status
                .send_modify(|status| status.dropped_events = dropped);
        }
    }

    pub(crate) fn status(&self) -> watch::Receiver<SupervisorStatus> {
        self.status.subscribe()
    }

    /// Changes the status of `child` (creating it) and notifies readers.
    pub(crate) fn update_child(&self, child: &str, f: impl FnOnce(&mut ChildStatus)) {
        self.status.send_modify(|status| {
            let entry = status
                .children
                .entry(child.to_owned())
                .or_insert(ChildStatus {
                    state: ChildState::Running,
                    incarnation: 0,
                    last_exit: None,
                });
            f(entry);
        });
    }

    pub(crate) fn set_shutting_down(&self) {
        self.status
            .send_modify(|status| status.shutting_down = true);
    }

    /// Whether an incarnation of `child` is running (or about to restart).
    pub(crate) fn is_running(&self, child: &str) -> bool {
        self.status
            .borrow()
            .children
            .get(child)
            .is_some_and(|status| status.state == ChildState::Running)
    }
}
