//! The tokio adapter (feature `tokio`): the task [`Supervisor`], and helpers
//! that carry out a [`Recovery`]'s actions on tokio's clock.
//!
//! This is the only module that reads a clock, and it reads
//! [`tokio::time::Instant`], so `#[tokio::test(start_paused = true)]` runs
//! restart windows and shutdown deadlines in virtual time.

mod child;
mod event;
mod supervisor;

use std::time::Instant;

pub use child::ChildContext;
pub use event::{
    ChildExit, ChildState, ChildStatus, ShutdownReport, SupervisorEvent, SupervisorStatus,
};
pub use supervisor::Supervisor;

use crate::{Action, Recovery};

/// Now on tokio's clock, as the [`Instant`] the cores take.
///
/// Under paused time (`tokio::time::pause`, `start_paused = true`) this is
/// the virtual time.
#[must_use]
#[allow(
    clippy::disallowed_methods,
    reason = "the adapter is the one place that reads a clock (tokio's)"
)]
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Sleeps until `at` on tokio's clock.
pub async fn sleep_until(at: Instant) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
}

/// Sleeps until an [`Action::Retry`] or [`Action::Wait`] is due and returns
/// `true`; returns `false` at once for [`Action::Escalate`] and
/// [`Action::AwaitOperator`], which no waiting resolves.
pub async fn wait(action: &Action) -> bool {
    match action.at() {
        Some(at) => {
            sleep_until(at).await;
            true
        }
        None => false,
    }
}

/// Sleeps until the tracker's next deadline ([`Recovery::poll_timeout`])
/// and handles it, returning the [`Action::Escalate`] of a stuck retry;
/// never completes while there is no deadline. Cancel-safe: use it in a
/// `select!` next to the retry itself.
pub async fn timer(recovery: &mut Recovery) -> Action {
    loop {
        let Some(deadline) = recovery.poll_timeout() else {
            return std::future::pending().await;
        };
        sleep_until(deadline).await;
        if let Some(action) = recovery.handle_timeout(now()) {
            return action;
        }
    }
}
