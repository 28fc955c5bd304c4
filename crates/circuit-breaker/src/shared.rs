//! A breaker shared between tasks or threads: the sans-IO [`Breaker`] behind
//! a mutex, with a permit guard that gives its permit back on drop.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::{
    Admission, Breaker, BreakerConfig, BreakerEvent, BreakerSnapshot, Error, Outcome, Permit,
    PermitKind, State,
};

/// A [`Breaker`] behind an `Arc<Mutex<_>>`: cheap to clone, every clone the
/// same breaker. Each method holds the lock only for the call into the
/// machine, never across the protected call.
///
/// A panic inside the machine cannot leave it half-updated in a way that
/// matters (every method finishes its transition before it could panic,
/// and none does), so a poisoned lock is simply taken over.
#[derive(Debug, Clone)]
pub struct SharedBreaker {
    inner: Arc<Mutex<Breaker>>,
}

impl From<Breaker> for SharedBreaker {
    fn from(breaker: Breaker) -> Self {
        Self {
            inner: Arc::new(Mutex::new(breaker)),
        }
    }
}

impl SharedBreaker {
    /// A closed, shared breaker.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`BreakerConfig::validate`].
    pub fn new(config: BreakerConfig) -> Result<Self, Error> {
        Breaker::new(config).map(Self::from)
    }

    fn lock(&self) -> MutexGuard<'_, Breaker> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the breaker under the lock: for several steps at once.
    pub fn with<R>(&self, f: impl FnOnce(&mut Breaker) -> R) -> R {
        f(&mut self.lock())
    }

    /// [`Breaker::admit`].
    pub fn admit(&self, now: Instant) -> Admission {
        self.lock().admit(now)
    }

    /// [`Breaker::admit`], with the permit in a guard that gives it back
    /// ([`Breaker::on_cancel`]) if it is dropped without
    /// [`PermitGuard::finish`].
    ///
    /// # Errors
    ///
    /// [`Error::CircuitOpen`] with the rejection's `retry_at`.
    pub fn admit_guard(&self, now: Instant) -> Result<PermitGuard<'_>, Error> {
        self.guard(now)
            .map_err(|retry_at| Error::CircuitOpen { retry_at })
    }

    /// [`admit_guard`](Self::admit_guard) with the bare `retry_at` of a
    /// rejection.
    pub(crate) fn guard(&self, now: Instant) -> Result<PermitGuard<'_>, Instant> {
        match self.admit(now) {
            Admission::Allowed(permit) => Ok(PermitGuard {
                breaker: self,
                permit: Some(permit),
            }),
            Admission::Rejected { retry_at } => Err(retry_at),
        }
    }

    /// [`Breaker::on_result`].
    pub fn on_result(&self, permit: Permit, outcome: Outcome, now: Instant) {
        self.lock().on_result(permit, outcome, now);
    }

    /// [`Breaker::on_cancel`].
    pub fn on_cancel(&self, permit: Permit) {
        self.lock().on_cancel(permit);
    }

    /// [`Breaker::force_open`].
    pub fn force_open(&self, now: Instant) {
        self.lock().force_open(now);
    }

    /// [`Breaker::disable`].
    pub fn disable(&self) {
        self.lock().disable();
    }

    /// [`Breaker::reset`].
    pub fn reset(&self, now: Instant) {
        self.lock().reset(now);
    }

    /// [`Breaker::state`].
    #[must_use]
    pub fn state(&self) -> State {
        self.lock().state()
    }

    /// [`Breaker::snapshot`].
    #[must_use]
    pub fn snapshot(&self) -> BreakerSnapshot {
        self.lock().snapshot()
    }

    /// [`Breaker::poll_event`].
    #[must_use]
    pub fn poll_event(&self) -> Option<BreakerEvent> {
        self.lock().poll_event()
    }

    /// Moves every pending event into `out`, oldest first, under one lock.
    pub fn drain_events(&self, out: &mut Vec<BreakerEvent>) {
        let mut breaker = self.lock();
        while let Some(event) = breaker.poll_event() {
            out.push(event);
        }
    }

    /// [`Breaker::poll_timeout`].
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.lock().poll_timeout()
    }

    /// [`Breaker::handle_timeout`].
    pub fn handle_timeout(&self, now: Instant) {
        self.lock().handle_timeout(now);
    }
}

/// A [`Permit`] that goes back to its [`SharedBreaker`] when dropped: with
/// its result through [`finish`](Self::finish), or as a cancellation.
///
/// This is what keeps the half-open probe count exact when a caller bails
/// out early (`?`, a panic, a dropped future).
#[derive(Debug)]
#[must_use = "dropping the guard cancels the call's permit"]
pub struct PermitGuard<'a> {
    breaker: &'a SharedBreaker,
    permit: Option<Permit>,
}

impl PermitGuard<'_> {
    /// Records how the call went ([`Breaker::on_result`]).
    pub fn finish(mut self, outcome: Outcome, now: Instant) {
        if let Some(permit) = self.permit.take() {
            self.breaker.on_result(permit, outcome, now);
        }
    }

    /// When the call was admitted.
    #[must_use]
    pub fn admitted_at(&self) -> Option<Instant> {
        self.permit.as_ref().map(Permit::admitted_at)
    }

    /// Which kind of call this is.
    #[must_use]
    pub fn kind(&self) -> Option<PermitKind> {
        self.permit.as_ref().map(Permit::kind)
    }
}

impl Drop for PermitGuard<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.breaker.on_cancel(permit);
        }
    }
}
