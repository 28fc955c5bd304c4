//! The supervisor: named children, one-for-one restarts under a restart
//! intensity, escalation to the parent, graceful shutdown with a deadline.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio::task::{Id, JoinSet};

use super::child::{ChildContext, Runner, RunnerEnd};
use super::event::{ChildState, Outbox, ShutdownReport, SupervisorEvent, SupervisorStatus};
use crate::{Error, MAX_DURATION, Preserved, RestartIntensity, SupervisorConfig};

/// Supervises long-lived tokio tasks (DESIGN.md §4).
///
/// - **One-for-one**: each child is started by its factory; when an
///   incarnation panics or fails (or returns, per [`Restart`](crate::Restart))
///   only that child is started again, at once, with a fresh
///   [`ChildContext`]. Restarts are not delayed (as in OTP): a crash loop
///   is not slowed down but escalates within the window; pacing reconnects
///   is the child's job (`reconnect`'s schedule, a [`Recovery`](crate::Recovery)).
/// - **Restart intensity**: at most `max_restarts` restarts of one child
///   within `window` (5 in 10 s); the next failure escalates: the child
///   stays stopped, [`SupervisorEvent::Escalated`] goes to the parent and
///   the [`status`](Self::status) shows [`ChildState::Escalated`].
/// - **State preservation**: [`spawn_with_state`](Self::spawn_with_state)
///   hands every incarnation the same [`Preserved`] cell.
/// - **Graceful shutdown**: [`shutdown`](Self::shutdown) tells every child
///   (through [`ChildContext::shutdown_requested`]), waits up to the
///   deadline, aborts the rest, and reports who finished in time.
///
/// Dropping a supervisor without a shutdown aborts every child at once.
///
/// The parent holds the event receiver returned by [`new`](Self::new)
/// (bounded: when it is full, events are dropped and counted in the status,
/// so a slow parent never stalls a restart) and, for a health model, the
/// status [`watch`] from [`status`](Self::status).
///
/// A stream task that keeps its resume points across a panic (on paused
/// time, as in tests):
///
/// ```
/// use std::convert::Infallible;
///
/// use recovery::rt::{ChildContext, Supervisor, SupervisorEvent};
/// use recovery::{Preserved, Subscriptions, SupervisorConfig};
///
/// type Streams = Preserved<Subscriptions<u64>>;
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() -> Result<(), recovery::Error> {
///     let (mut supervisor, mut events) = Supervisor::new(SupervisorConfig::default())?;
///     let streams = Streams::default();
///     supervisor.spawn_with_state("stream-0", streams.clone(), |ctx: ChildContext, streams: Streams| async move {
///         if !ctx.is_restart() {
///             streams.update(|s| s.subscribe("btcusdt@aggTrade"));
///             streams.update(|s| s.record("btcusdt@aggTrade", 1_001));
///             panic!("decoder bug");
///         }
///         // The restarted incarnation resubscribes and backfills from here.
///         ctx.shutdown_requested().await;
///         Ok::<(), Infallible>(())
///     })?;
///
///     while let Some(event) = events.recv().await {
///         if matches!(event, SupervisorEvent::Started { incarnation: 1, .. }) {
///             break;
///         }
///     }
///     assert_eq!(streams.with(|s| s.resume_point("btcusdt@aggTrade").copied()), Some(1_001));
///     let report = supervisor.shutdown().await;
///     assert_eq!(report.in_time, ["stream-0"]);
///     Ok(())
/// }
/// ```
pub struct Supervisor {
    config: SupervisorConfig,
    shutdown: watch::Sender<bool>,
    outbox: Outbox,
    runners: JoinSet<RunnerEnd>,
    names: HashMap<Id, Arc<str>>,
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("config", &self.config)
            .field("children", &self.names.values().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// A supervisor with no children, and the receiver of its events.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field if `config` breaks a rule
    /// of [`SupervisorConfig::validate`] (a zero `max_restarts`, a zero
    /// `window` or `shutdown_deadline` …).
    pub fn new(config: SupervisorConfig) -> Result<(Self, mpsc::Receiver<SupervisorEvent>), Error> {
        config.validate()?;
        let (events, receiver) = mpsc::channel(config.event_capacity);
        let (status, _) = watch::channel(SupervisorStatus::default());
        let (shutdown, _) = watch::channel(false);
        let supervisor = Self {
            config,
            shutdown,
            outbox: Outbox::new(events, status),
            runners: JoinSet::new(),
            names: HashMap::new(),
        };
        Ok((supervisor, receiver))
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &SupervisorConfig {
        &self.config
    }

    /// The status of every child, kept current: what a health model reads.
    #[must_use]
    pub fn status(&self) -> watch::Receiver<SupervisorStatus> {
        self.outbox.status()
    }

    /// Starts a child named `name`: `factory` builds each incarnation.
    ///
    /// The factory runs again for every restart, so build the child's state
    /// inside it (from a [`Preserved`] cell the closure captures, or with
    /// [`spawn_with_state`](Self::spawn_with_state)). An `Err` is shown with
    /// `Display` in events.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyChildName`], [`Error::DuplicateChild`] if a child of
    /// that name is running, [`Error::NoRuntime`] outside a tokio runtime.
    pub fn spawn<F, Fut, E>(&mut self, name: impl Into<String>, factory: F) -> Result<(), Error>
    where
        F: Fn(ChildContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let name: String = name.into();
        if name.is_empty() {
            return Err(Error::EmptyChildName);
        }
        if self.outbox.is_running(&name) {
            return Err(Error::DuplicateChild { name });
        }
        let runtime = Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let intensity = RestartIntensity::new(self.config.max_restarts, self.config.window)?;
        let name: Arc<str> = name.into();
        self.outbox.update_child(&name, |status| {
            status.state = ChildState::Running;
            status.incarnation = 0;
            status.last_exit = None;
        });
        let runner = Runner {
            name: Arc::clone(&name),
            policy: self.config.restart,
            intensity,
            shutdown: self.shutdown.subscribe(),
            outbox: self.outbox.clone(),
        };
        let handle = self.runners.spawn_on(runner.run(factory), &runtime);
        self.names.insert(handle.id(), name);
        Ok(())
    }

    /// Like [`spawn`](Self::spawn), handing every incarnation a clone of
    /// `state`, so what one incarnation recorded (subscriptions, resume
    /// points) is there for the next.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn).
    pub fn spawn_with_state<T, F, Fut, E>(
        &mut self,
        name: impl Into<String>,
        state: Preserved<T>,
        factory: F,
    ) -> Result<(), Error>
    where
        T: Send + 'static,
        F: Fn(ChildContext, Preserved<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        self.spawn(name, move |context| factory(context, state.clone()))
    }

    /// A graceful shutdown within the configured `shutdown_deadline`.
    pub async fn shutdown(self) -> ShutdownReport {
        let deadline = self.config.shutdown_deadline;
        self.shutdown_within(deadline).await
    }

    /// A graceful shutdown within `deadline`: every child is told, those
    /// that return within the deadline are reported `in_time`, the rest are
    /// aborted at the deadline and reported `aborted`. The report also goes
    /// to the parent as [`SupervisorEvent::ShutdownFinished`].
    ///
    /// An abort takes effect at the child's next `.await`; a child that
    /// blocks its thread without awaiting cannot be stopped by any async
    /// runtime, and keeps running after this returns.
    pub async fn shutdown_within(mut self, deadline: Duration) -> ShutdownReport {
        let started = super::now();
        self.outbox.set_shutting_down();
        self.outbox.emit(SupervisorEvent::ShutdownStarted {
            deadline,
            at: started,
        });
        self.shutdown.send_replace(true);
        // A deadline above a year is a year: far beyond any real need, and
        // no instant overflows.
        let until = tokio::time::Instant::from_std(started) + deadline.min(MAX_DURATION);

        let mut report = ShutdownReport {
            deadline,
            elapsed: Duration::ZERO,
            in_time: Vec::new(),
            aborted: Vec::new(),
            already_stopped: Vec::new(),
        };
        while let Ok(Some(joined)) =
            tokio::time::timeout_at(until, self.runners.join_next_with_id()).await
        {
            let (id, end) = match joined {
                Ok((id, end)) => (id, Some(end)),
                // A runner never panics; if one did, its child is gone.
                Err(error) => (error.id(), None),
            };
            let Some(name) = self.names.remove(&id) else {
                continue;
            };
            match end {
                Some(RunnerEnd::ShutDown) => report.in_time.push(name.to_string()),
                Some(RunnerEnd::AlreadyStopped) => report.already_stopped.push(name.to_string()),
                None => report.aborted.push(name.to_string()),
            }
        }
        // Whoever is left missed the deadline: abort the runners, whose
        // guards abort their children.
        self.runners.abort_all();
        while self.runners.join_next().await.is_some() {}
        for (_, name) in self.names.drain() {
            self.outbox.update_child(&name, |status| {
                status.state = ChildState::ShutDown { in_time: false };
                status.last_exit = Some(super::ChildExit::Aborted);
            });
            report.aborted.push(name.to_string());
        }
        // A name re-spawned after its first child stopped has two runners;
        // report it once, by its latest child.
        report
            .already_stopped
            .retain(|name| !report.in_time.contains(name) && !report.aborted.contains(name));
        for list in [
            &mut report.in_time,
            &mut report.aborted,
            &mut report.already_stopped,
        ] {
            list.sort();
            list.dedup();
        }
        report.elapsed = super::now().saturating_duration_since(started);
        self.outbox
            .emit(SupervisorEvent::ShutdownFinished(report.clone()));
        report
    }
}
