//! Helpers shared by the supervisor test files.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::convert::Infallible;
use std::time::Duration;

use recovery::SupervisorConfig;
use recovery::rt::{ChildContext, Supervisor, SupervisorEvent};
use tokio::sync::mpsc;

pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(crate) fn supervisor() -> (Supervisor, mpsc::Receiver<SupervisorEvent>) {
    Supervisor::new(SupervisorConfig::default()).expect("valid")
}

/// The next event, or a failure naming what was awaited (an hour of virtual
/// time is far beyond any test's schedule).
pub(crate) async fn next(
    events: &mut mpsc::Receiver<SupervisorEvent>,
    waiting_for: &str,
) -> SupervisorEvent {
    tokio::time::timeout(Duration::from_secs(3_600), events.recv())
        .await
        .unwrap_or_else(|_| panic!("no event while waiting for {waiting_for}"))
        .expect("the supervisor is alive")
}

/// Events until (and including) the first that `stop` accepts.
pub(crate) async fn until(
    events: &mut mpsc::Receiver<SupervisorEvent>,
    what: &str,
    stop: impl Fn(&SupervisorEvent) -> bool,
) -> Vec<SupervisorEvent> {
    let mut seen = Vec::new();
    loop {
        let event = next(events, what).await;
        let done = stop(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

pub(crate) fn is_escalated(event: &SupervisorEvent) -> bool {
    matches!(event, SupervisorEvent::Escalated { .. })
}

pub(crate) fn started(events: &[SupervisorEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, SupervisorEvent::Started { .. }))
        .count()
}

/// A child body that runs until shutdown, then returns.
pub(crate) async fn serve(context: &ChildContext) -> Result<(), Infallible> {
    context.shutdown_requested().await;
    Ok(())
}
