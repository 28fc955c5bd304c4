//! The tokio adapter (feature `tokio`): tokio's clock, and a sleep until a
//! component's next deadline. Deliberately minimal: the caller's driver
//! owns its `select!` loop and its components, so the adapter only turns a
//! `poll_timeout()` into a future.
//!
//! This is the only module that reads a clock, and it reads
//! [`tokio::time::Instant`], so `#[tokio::test(start_paused = true)]` runs
//! minutes of probation and fail-back delays in milliseconds.
//!
//! ```
//! use std::time::Duration;
//!
//! use fallback::{ConnState, ConnectionConfig, ConnectionMachine, Signal, rt};
//!
//! #[tokio::main(flavor = "current_thread", start_paused = true)]
//! async fn main() -> Result<(), fallback::Error> {
//!     let mut machine = ConnectionMachine::new(ConnectionConfig::default())?;
//!     let _ = machine.on_signal(Signal::Subscribed, rt::now());
//!     let _ = machine.on_signal(Signal::Dropped { class: fallback::ErrorClass::Transient }, rt::now());
//!     // The driver's loop: reconnect attempts in one branch, the timer in another.
//!     tokio::select! {
//!         () = tokio::time::sleep(Duration::from_secs(600)) => unreachable!("the timer fires first"),
//!         () = rt::sleep_until(machine.poll_timeout()) => {
//!             let transition = machine.handle_timeout(rt::now());
//!             assert_eq!(transition.map(|t| t.to), Some(ConnState::Failed)); // down for 60 s
//!         }
//!     }
//!     Ok(())
//! }
//! ```

use std::time::Instant;

/// Now on tokio's clock, as the [`Instant`] the components take.
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

/// Sleeps until `deadline` on tokio's clock; never completes for `None`.
/// Cancel-safe: call it afresh with the component's current
/// `poll_timeout()` in each turn of a `select!` loop, then call its
/// `handle_timeout(rt::now())`.
pub async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => std::future::pending().await,
    }
}
