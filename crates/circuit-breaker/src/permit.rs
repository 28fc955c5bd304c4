//! What an admission hands out: a [`Permit`] for a call that may run, or a
//! rejection with the time to ask again; and the [`Outcome`] reported back.

use std::time::Instant;

use crate::Error;

/// The answer to [`Breaker::admit`](crate::Breaker::admit).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "an allowed call holds a permit that must be given back with on_result or on_cancel"]
pub enum Admission {
    /// Make the call, then report how it went with
    /// [`Breaker::on_result`](crate::Breaker::on_result) (or give the permit
    /// back with [`Breaker::on_cancel`](crate::Breaker::on_cancel)).
    Allowed(Permit),
    /// Do not make the call.
    Rejected {
        /// When the breaker may admit a call again:
        /// - open: the end of the open period, when it goes half-open;
        /// - half-open with every probe slot taken: the probe deadline, by
        ///   which the probes will have answered or the breaker re-opened
        ///   (a slot can free up sooner);
        /// - forced open: `now + ` the open duration, a hint of when to ask
        ///   again (it stays open until [`reset`](crate::Breaker::reset)).
        retry_at: Instant,
    },
}

impl Admission {
    /// The permit, or [`Error::CircuitOpen`] for a rejection, for `?`.
    ///
    /// # Errors
    ///
    /// [`Error::CircuitOpen`] with the rejection's `retry_at`.
    pub fn into_result(self) -> Result<Permit, Error> {
        match self {
            Self::Allowed(permit) => Ok(permit),
            Self::Rejected { retry_at } => Err(Error::CircuitOpen { retry_at }),
        }
    }

    /// Whether the call may run.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed(_))
    }
}

/// The right to make one call, handed out by
/// [`Breaker::admit`](crate::Breaker::admit).
///
/// It is neither `Clone` nor `Copy`: each permit is given back exactly once,
/// with [`on_result`](crate::Breaker::on_result) or
/// [`on_cancel`](crate::Breaker::on_cancel), which keeps the half-open probe
/// count exact. A probe permit dropped without either keeps its slot until
/// the breaker's `probe_timeout` re-opens it;
/// [`SharedBreaker::admit_guard`](crate::SharedBreaker::admit_guard) and the
/// tokio adapter give it back on drop.
///
/// A permit remembers the breaker state it was issued in: a result reported
/// after the breaker changed state (a slow call from before it opened, a
/// probe after a reset) is counted as late and changes nothing.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a permit must be given back with on_result or on_cancel"]
pub struct Permit {
    pub(crate) epoch: u64,
    pub(crate) admitted_at: Instant,
    pub(crate) kind: PermitKind,
}

impl Permit {
    /// When the call was admitted; a call's duration (for
    /// [`slow_call`](crate::BreakerConfig::slow_call)) is measured from here.
    #[must_use]
    pub fn admitted_at(&self) -> Instant {
        self.admitted_at
    }

    /// Which kind of call this is.
    #[must_use]
    pub fn kind(&self) -> PermitKind {
        self.kind
    }
}

/// The state a [`Permit`] was issued in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PermitKind {
    /// An ordinary call of a closed breaker.
    Closed,
    /// A half-open probe: counts against `half_open_probes` until given back.
    Probe,
    /// A call through a disabled breaker: counted, never judged.
    Disabled,
}

/// How a call went, as reported to [`Breaker::on_result`](crate::Breaker::on_result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The call succeeded (a slow success counts as a failure when
    /// [`slow_call`](crate::BreakerConfig::slow_call) is set).
    Success,
    /// The call failed in a way that speaks against the dependency.
    Failure,
    /// The call says nothing about the dependency (the caller's own error,
    /// a request the server rightly refused): the permit is given back and
    /// nothing is judged, like [`on_cancel`](crate::Breaker::on_cancel).
    Ignored,
}
