//! The tokio adapter (feature `tokio`): the core's decisions, carried out on
//! tokio's clock.
//!
//! This is the only module that reads a clock, and it reads
//! [`tokio::time::Instant`], so `#[tokio::test(start_paused = true)]` runs
//! minutes of backoff in milliseconds. It owns one timer at a time, like
//! quinn's `drive_timer`.

use std::time::Instant;

use rand::RngCore;

use crate::{AbandonReason, AttemptBudget, Cause, Decision, Reconnector};

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

/// Sleeps until `at` on tokio's clock: never earlier, at most the timer's
/// 1 ms resolution later.
pub async fn sleep_until(at: Instant) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
}

/// Sleeps until the decision's instant.
///
/// # Errors
///
/// The [`AbandonReason`] of a [`Decision::Abandon`], at once.
pub async fn wait(decision: &Decision) -> Result<(), AbandonReason> {
    match decision {
        Decision::Reconnect { at, .. } | Decision::Backoff { at, .. } => {
            sleep_until(*at).await;
            Ok(())
        }
        Decision::Abandon(reason) => Err(reason.clone()),
    }
}

/// Takes one attempt from `budget`, sleeping on tokio's clock while it is
/// spent. Returns the instant the attempt was granted.
///
/// Cancel-safe: nothing is taken from the budget until it returns.
pub async fn acquire(budget: &AttemptBudget) -> Instant {
    loop {
        let now = now();
        match budget.try_acquire(now) {
            Ok(()) => return now,
            Err(not_until) => sleep_until(not_until.retry_at).await,
        }
    }
}

/// A [`Reconnector`] and the client's shared [`AttemptBudget`], driven by
/// tokio's clock.
///
/// A connection task runs this loop (here on paused time, against a
/// server that refuses twice, then serves for 90 s and rejects the symbol):
///
/// ```
/// use std::time::Duration;
///
/// use rand::{RngCore, SeedableRng as _};
/// use reconnect::rt::ReconnectDriver;
/// use reconnect::{AbandonReason, AttemptBudget, BudgetConfig, Cause, ReconnectConfig, Reconnector};
///
/// async fn connect(attempt: u32) -> Result<(), Cause> {
///     if attempt < 3 { Err(Cause::Refused) } else { Ok(()) }
/// }
///
/// async fn serve() -> Cause {
///     tokio::time::sleep(Duration::from_secs(90)).await;
///     Cause::Permanent { reason: "unknown symbol".into() }
/// }
///
/// async fn run<R: RngCore>(mut driver: ReconnectDriver<R>) -> AbandonReason {
///     driver.acquire().await; // the first attempt spends budget too
///     let mut attempt = 0;
///     loop {
///         attempt += 1;
///         let cause = match connect(attempt).await {
///             Ok(()) => {
///                 driver.on_connected();
///                 let serving = serve();
///                 tokio::pin!(serving);
///                 loop {
///                     tokio::select! {
///                         cause = &mut serving => break cause,
///                         // Completes once, when the connection becomes healthy.
///                         () = driver.timer() => {}
///                     }
///                 }
///             }
///             Err(cause) => cause,
///         };
///         let decision = driver.on_disconnect(cause);
///         if let Err(reason) = driver.wait(&decision).await {
///             return reason;
///         }
///     }
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() -> Result<(), reconnect::Error> {
///     let rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
///     let machine = Reconnector::new(ReconnectConfig::default(), rng)?;
///     let driver = ReconnectDriver::new(machine, AttemptBudget::new(BudgetConfig::default())?);
///     let reason = run(driver).await;
///     assert!(matches!(reason, AbandonReason::Permanent(Cause::Permanent { .. })));
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct ReconnectDriver<R> {
    machine: Reconnector<R>,
    budget: AttemptBudget,
}

impl<R: RngCore> ReconnectDriver<R> {
    /// Drives `machine`, spending attempts from `budget` (a clone of the
    /// client's one budget).
    #[must_use]
    pub fn new(machine: Reconnector<R>, budget: AttemptBudget) -> Self {
        Self { machine, budget }
    }

    /// The machine, for snapshots and events.
    #[must_use]
    pub fn machine(&self) -> &Reconnector<R> {
        &self.machine
    }

    /// The machine, for [`Reconnector::poll_event`] and
    /// [`Reconnector::reset`].
    pub fn machine_mut(&mut self) -> &mut Reconnector<R> {
        &mut self.machine
    }

    /// The shared budget.
    #[must_use]
    pub fn budget(&self) -> &AttemptBudget {
        &self.budget
    }

    /// Takes the machine and the budget back.
    #[must_use]
    pub fn into_parts(self) -> (Reconnector<R>, AttemptBudget) {
        (self.machine, self.budget)
    }

    /// [`Reconnector::on_connected`] at tokio's now.
    pub fn on_connected(&mut self) {
        self.machine.on_connected(now());
    }

    /// [`Reconnector::on_disconnect`] at tokio's now.
    pub fn on_disconnect(&mut self, cause: Cause) -> Decision {
        self.machine.on_disconnect(cause, now())
    }

    /// Takes one attempt from the shared budget, sleeping while it is spent.
    pub async fn acquire(&self) -> Instant {
        acquire(&self.budget).await
    }

    /// Sleeps until the next attempt may start: the decision's instant, then
    /// a grant from the shared budget. Returns the instant of the grant.
    ///
    /// # Errors
    ///
    /// The [`AbandonReason`] of a [`Decision::Abandon`], at once.
    pub async fn wait(&self, decision: &Decision) -> Result<Instant, AbandonReason> {
        wait(decision).await?;
        Ok(self.acquire().await)
    }

    /// Sleeps until the machine's next deadline
    /// ([`Reconnector::poll_timeout`]) and handles it; never completes while
    /// there is none. Cancel-safe: call it in a `select!` loop next to the
    /// connection's reads.
    pub async fn timer(&mut self) {
        match self.machine.poll_timeout() {
            Some(deadline) => {
                sleep_until(deadline).await;
                self.machine.handle_timeout(now());
            }
            None => std::future::pending().await,
        }
    }
}
