//! The tokio adapter (feature `tokio`): run a future through a
//! [`SharedBreaker`], on tokio's clock.
//!
//! This is the only module that reads a clock, and it reads
//! [`tokio::time::Instant`], so `#[tokio::test(start_paused = true)]` runs
//! 30 s open periods in microseconds.

use std::future::Future;
use std::time::Instant;

use crate::{Outcome, SharedBreaker};

/// Now on tokio's clock, as the [`Instant`] the core takes.
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

/// Why [`SharedBreaker::call`] returned no value.
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// The breaker rejected the call, which was not made (the future was
    /// dropped unpolled). Transient: try again at `retry_at`.
    #[error("circuit open: the call was not made; retry at {retry_at:?}")]
    Open {
        /// When the breaker may admit a call again (see
        /// [`Admission::Rejected`](crate::Admission::Rejected)).
        retry_at: Instant,
    },
    /// The call ran and failed with this error.
    #[error(transparent)]
    Inner(E),
}

impl<E> CallError<E> {
    /// Whether the breaker rejected the call.
    #[must_use]
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open { .. })
    }

    /// When to try again, if the breaker rejected the call.
    #[must_use]
    pub fn retry_at(&self) -> Option<Instant> {
        match self {
            Self::Open { retry_at } => Some(*retry_at),
            Self::Inner(_) => None,
        }
    }

    /// The call's own error, if it ran.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Self::Open { .. } => None,
            Self::Inner(error) => Some(error),
        }
    }
}

impl SharedBreaker {
    /// Runs `call` if the breaker admits it, and records how it went: `Ok`
    /// is a success (a failure if it took `slow_call` or longer), every
    /// `Err` a failure.
    ///
    /// The future is not polled at all when the breaker rejects it. If the
    /// returned future is dropped while `call` runs (a `select!`, a
    /// timeout), the permit is given back ([`Breaker::on_cancel`](crate::Breaker::on_cancel)),
    /// so a cancelled probe frees its slot.
    ///
    /// # Errors
    ///
    /// [`CallError::Open`] without running `call`; [`CallError::Inner`]
    /// with `call`'s error.
    ///
    /// # Example
    ///
    /// On paused time, a dependency that refuses five times trips the
    /// breaker; 30 virtual seconds later a probe goes through and closes it.
    ///
    /// ```
    /// use circuit_breaker::rt::CallError;
    /// use circuit_breaker::{BreakerConfig, SharedBreaker, State};
    ///
    /// async fn fetch(up: bool) -> Result<&'static str, std::io::Error> {
    ///     if up { Ok("snapshot") } else { Err(std::io::ErrorKind::ConnectionRefused.into()) }
    /// }
    ///
    /// #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// async fn main() -> Result<(), circuit_breaker::Error> {
    ///     let breaker = SharedBreaker::new(BreakerConfig::default())?;
    ///     for _ in 0..5 {
    ///         assert!(matches!(breaker.call(fetch(false)).await, Err(CallError::Inner(_))));
    ///     }
    ///     // Open: rejected without calling `fetch`.
    ///     let Err(CallError::Open { retry_at }) = breaker.call(fetch(true)).await else {
    ///         unreachable!()
    ///     };
    ///     tokio::time::sleep_until(retry_at.into()).await;
    ///     assert_eq!(breaker.call(fetch(true)).await.ok(), Some("snapshot"));
    ///     assert_eq!(breaker.state(), State::Closed);
    ///     Ok(())
    /// }
    /// ```
    pub async fn call<T, E, F>(&self, call: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.call_classified(call, |_| Outcome::Failure).await
    }

    /// [`call`](Self::call), with `classify` deciding what an `Err` says
    /// about the dependency: [`Outcome::Failure`] counts against it,
    /// [`Outcome::Success`] for it (the dependency answered, the answer was
    /// "no"), [`Outcome::Ignored`] neither.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn call_classified<T, E, F, C>(&self, call: F, classify: C) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
        C: FnOnce(&E) -> Outcome,
    {
        let guard = self
            .guard(now())
            .map_err(|retry_at| CallError::Open { retry_at })?;
        let result = call.await;
        let outcome = match &result {
            Ok(_) => Outcome::Success,
            Err(error) => classify(error),
        };
        guard.finish(outcome, now());
        result.map_err(CallError::Inner)
    }

    /// Sleeps until the breaker's next deadline
    /// ([`Breaker::poll_timeout`](crate::Breaker::poll_timeout)) and handles
    /// it, so half-opening and probe timeouts become events on time; never
    /// completes while there is none. Cancel-safe: call it afresh in each
    /// turn of a `select!` loop, next to the calls (a deadline that appears
    /// or moves while it sleeps is picked up by the next turn).
    pub async fn timer(&self) {
        match self.poll_timeout() {
            Some(deadline) => {
                tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
                self.handle_timeout(now());
            }
            None => std::future::pending().await,
        }
    }
}
