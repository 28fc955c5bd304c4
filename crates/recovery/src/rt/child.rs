//! One supervised child: its context, and the runner task that starts its
//! incarnations, watches them end and restarts them one-for-one.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle};

use super::event::{ChildExit, ChildState, Outbox, SupervisorEvent};
use crate::{IntensityDecision, Restart, RestartIntensity};

/// What a child's factory gets for each incarnation.
#[derive(Debug, Clone)]
pub struct ChildContext {
    name: Arc<str>,
    incarnation: u32,
    shutdown: watch::Receiver<bool>,
}

impl ChildContext {
    /// The child's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// 0 for the first start, then one more per restart.
    #[must_use]
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    /// Whether this incarnation is a restart (a predecessor failed), so it
    /// should rebuild from preserved state rather than start afresh.
    #[must_use]
    pub fn is_restart(&self) -> bool {
        self.incarnation > 0
    }

    /// Whether a shutdown has begun.
    #[must_use]
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Completes when a shutdown begins (at once if it has): finish up and
    /// return before the deadline, or be aborted. Cancel-safe.
    pub async fn shutdown_requested(&self) {
        let mut shutdown = self.shutdown.clone();
        // An error means the supervisor is gone, which is a shutdown too.
        let _ = shutdown.wait_for(|requested| *requested).await;
    }
}

/// Which endings restart a child under `policy`.
fn restarts(policy: Restart, exit: &ChildExit) -> bool {
    match policy {
        Restart::Always => true,
        Restart::OnFailure => !matches!(exit, ChildExit::Completed),
        Restart::OnPanic => matches!(exit, ChildExit::Panicked(_)),
        Restart::Never => false,
    }
}

/// How a runner ended, for the shutdown report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunnerEnd {
    /// The child stopped (by policy) or escalated before any shutdown.
    AlreadyStopped,
    /// The child stopped after the shutdown began.
    ShutDown,
}

/// The child's task, aborted when this guard drops, so aborting a runner
/// (at a shutdown's deadline, or when the supervisor is dropped) aborts the
/// child it runs.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a runner needs besides the factory.
pub(crate) struct Runner {
    pub(crate) name: Arc<str>,
    pub(crate) policy: Restart,
    pub(crate) intensity: RestartIntensity,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) outbox: Outbox,
}

impl Runner {
    /// Runs incarnations of the child until its policy stops it, it
    /// escalates, or a shutdown begins.
    pub(crate) async fn run<F, Fut, E>(mut self, factory: F) -> RunnerEnd
    where
        F: Fn(ChildContext) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let mut incarnation = 0_u32;
        loop {
            if *self.shutdown.borrow() {
                // A shutdown began before this (re)start: do not start.
                self.set_state(ChildState::ShutDown { in_time: true }, None);
                return RunnerEnd::ShutDown;
            }
            let context = ChildContext {
                name: Arc::clone(&self.name),
                incarnation,
                shutdown: self.shutdown.clone(),
            };
            self.outbox.update_child(&self.name, |status| {
                status.state = ChildState::Running;
                status.incarnation = incarnation;
            });
            self.outbox.emit(SupervisorEvent::Started {
                child: self.name.to_string(),
                incarnation,
                at: super::now(),
            });
            // A factory that panics before returning its future counts as a
            // panic of this incarnation, not of the runner.
            let (exit, shutting_down) =
                match panic::catch_unwind(AssertUnwindSafe(|| factory(context))) {
                    Ok(future) => self.watch(future).await,
                    Err(payload) => (ChildExit::Panicked(panic_message(payload.as_ref())), false),
                };
            let now = super::now();
            self.outbox.emit(SupervisorEvent::Exited {
                child: self.name.to_string(),
                incarnation,
                exit: exit.clone(),
                at: now,
            });
            if shutting_down || *self.shutdown.borrow() {
                self.set_state(ChildState::ShutDown { in_time: true }, Some(exit));
                return RunnerEnd::ShutDown;
            }
            if !restarts(self.policy, &exit) {
                self.set_state(ChildState::Stopped, Some(exit.clone()));
                self.outbox.emit(SupervisorEvent::Stopped {
                    child: self.name.to_string(),
                    exit,
                    at: now,
                });
                return RunnerEnd::AlreadyStopped;
            }
            match self.intensity.on_exit(now) {
                IntensityDecision::Restart { restarts_in_window } => {
                    incarnation = incarnation.saturating_add(1);
                    self.outbox.update_child(&self.name, |status| {
                        status.last_exit = Some(exit);
                    });
                    self.outbox.emit(SupervisorEvent::Restarting {
                        child: self.name.to_string(),
                        incarnation,
                        restarts_in_window,
                        at: now,
                    });
                }
                IntensityDecision::Escalate { restarts, window } => {
                    self.set_state(
                        ChildState::Escalated { restarts, window },
                        Some(exit.clone()),
                    );
                    self.outbox.emit(SupervisorEvent::Escalated {
                        child: self.name.to_string(),
                        restarts,
                        window,
                        last_exit: exit,
                        at: now,
                    });
                    return RunnerEnd::AlreadyStopped;
                }
            }
        }
    }

    /// Runs one incarnation until it ends, or until a shutdown begins and
    /// then it ends; returns how it ended and whether a shutdown began.
    async fn watch<Fut, E>(&mut self, future: Fut) -> (ChildExit, bool)
    where
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let mut task = AbortOnDrop(tokio::spawn(async move {
            future.await.map_err(|error| error.to_string())
        }));
        tokio::select! {
            biased;
            joined = &mut task.0 => (exit_of(joined), false),
            () = wait_for_shutdown(&mut self.shutdown) => {
                // Let the child finish on its own; at the deadline the
                // supervisor aborts this runner, and the guard the child.
                (exit_of((&mut task.0).await), true)
            }
        }
    }

    fn set_state(&self, state: ChildState, exit: Option<ChildExit>) {
        self.outbox.update_child(&self.name, |status| {
            status.state = state;
            if exit.is_some() {
                status.last_exit = exit;
            }
        });
    }
}

async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    // An error means the supervisor is gone, which is a shutdown too.
    let _ = shutdown.wait_for(|requested| *requested).await;
}

fn exit_of(joined: Result<Result<(), String>, JoinError>) -> ChildExit {
    match joined {
        Ok(Ok(())) => ChildExit::Completed,
        Ok(Err(error)) => ChildExit::Failed(error),
        Err(error) => match error.try_into_panic() {
            Ok(payload) => ChildExit::Panicked(panic_message(payload.as_ref())),
            Err(_) => ChildExit::Aborted,
        },
    }
}

/// The message of a panic: `panic!("…")` payloads are `&str` or `String`.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies() {
        let exits = [
            ChildExit::Completed,
            ChildExit::Failed("e".into()),
            ChildExit::Panicked("p".into()),
            ChildExit::Aborted,
        ];
        let table = [
            (Restart::Always, [true, true, true, true]),
            (Restart::OnFailure, [false, true, true, true]),
            (Restart::OnPanic, [false, false, true, false]),
            (Restart::Never, [false, false, false, false]),
        ];
        for (policy, want) in table {
            for (exit, want) in exits.iter().zip(want) {
                assert_eq!(restarts(policy, exit), want, "{policy:?} {exit}");
            }
        }
    }

    #[test]
    fn panic_messages() {
        let boxed: Box<dyn Any + Send> = Box::new("static");
        assert_eq!(panic_message(boxed.as_ref()), "static");
        let boxed: Box<dyn Any + Send> = Box::new(String::from("owned"));
        assert_eq!(panic_message(boxed.as_ref()), "owned");
        let boxed: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(
            panic_message(boxed.as_ref()),
            "a panic with a non-string payload"
        );
    }
}
