//! A circuit breaker that stops calling a failing dependency, fails fast
//! with the time to try again, and probes carefully before trusting it
//! again; with a registry of named breakers and an optional tokio wrapper.
//!
//! - **Closed**: calls run. The breaker trips open after
//!   [`consecutive_failures`](BreakerConfig::consecutive_failures) failures in
//!   a row (5), or when the [`failure_rate`](BreakerConfig::failure_rate)
//!   over a window of the last N calls or the last T reaches a threshold
//!   once the window holds enough calls. Optionally a slow success counts
//!   as a failure ([`slow_call`](BreakerConfig::slow_call)).
//! - **Open**: every call is rejected at once with
//!   [`Admission::Rejected { retry_at }`](Admission::Rejected), without
//!   running, for [`open_duration`](BreakerConfig::open_duration) (30 s),
//!   growing by [`open_multiplier`](BreakerConfig::open_multiplier) on each
//!   re-opening if configured.
//! - **Half-open**: up to [`half_open_probes`](BreakerConfig::half_open_probes)
//!   calls (1) run at once; [`half_open_successes`](BreakerConfig::half_open_successes)
//!   successes (1) close the breaker, one failure re-opens it, and probes
//!   that go unanswered for [`probe_timeout`](BreakerConfig::probe_timeout)
//!   re-open it too.
//! - **By hand**: [`force_open`](Breaker::force_open),
//!   [`disable`](Breaker::disable), [`reset`](Breaker::reset).
//! - **Observable**: every transition is a [`BreakerEvent`]; a
//!   [`BreakerSnapshot`] has the state, counts, failure rate, `retry_at` and
//!   totals. A [`Registry`] keeps one breaker per name (the facade: one per
//!   WebSocket endpoint and per REST host) and collects snapshots and events.
//!
//! ## Design
//!
//! The core, [`Breaker`], is a sans-IO state machine (DESIGN.md §3): it does
//! no IO, never sleeps or spawns, never reads the clock (every method that
//! needs the time takes `now`) and never allocates after construction, so a
//! fake-clock test is exact and the hot path costs a few nanoseconds. It
//! does not run the protected call, retry it, or time it out: it hands out a
//! [`Permit`] and is told the [`Outcome`]. Permits make the probe count
//! exact: each is given back once, with a result or a cancellation, and a
//! permit from an earlier state is counted as late and changes nothing. It
//! knows nothing of WebSockets or Binance and depends on no other workspace
//! crate. [`SharedBreaker`] puts a breaker behind a mutex; only the optional
//! `rt` module touches a clock (tokio's).
//!
//! The state machine is our own, not `failsafe`'s: failsafe 1.3 admits any
//! number of half-open calls, closes on the first success, reads
//! `Instant::now` (or a thread-local mock) and reports no `retry_at`
//! (`docs/decisions/0004-circuit-breaker.md`, with the evidence in
//! `tests/failsafe_evidence.rs`).
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! use circuit_breaker::{Admission, Breaker, BreakerConfig, BreakerEvent, Outcome, State};
//!
//! let mut breaker = Breaker::new(BreakerConfig::default())?;
//! // The caller owns the clock; here, one real instant and offsets from it.
//! let t0 = Instant::now();
//!
//! // Five failures in a row trip it.
//! for _ in 0..5 {
//!     let Admission::Allowed(permit) = breaker.admit(t0) else { unreachable!() };
//!     breaker.on_result(permit, Outcome::Failure, t0);
//! }
//! assert_eq!(breaker.state(), State::Open);
//!
//! // Open: rejected at once, with the time to come back.
//! let retry_at = t0 + Duration::from_secs(30);
//! assert_eq!(breaker.admit(t0), Admission::Rejected { retry_at });
//!
//! // 30 s later one probe is admitted; a second caller is turned away.
//! let Admission::Allowed(probe) = breaker.admit(retry_at) else { unreachable!() };
//! assert!(!breaker.admit(retry_at).is_allowed());
//! // Its success closes the breaker.
//! breaker.on_result(probe, Outcome::Success, retry_at + Duration::from_millis(40));
//! assert_eq!(breaker.state(), State::Closed);
//!
//! // Every transition is an event for logs and metrics.
//! let events: Vec<BreakerEvent> = std::iter::from_fn(|| breaker.poll_event()).collect();
//! assert_eq!(events.len(), 3); // Opened, HalfOpened, Closed
//! # Ok::<(), circuit_breaker::Error>(())
//! ```
//!
//! ## Feature flags
//!
//! - `tokio` (off by default): the [`rt`] adapter:
//!   `SharedBreaker::call(future)` returns the future's output or
//!   `CallError::Open { retry_at }` without polling it, classifies errors,
//!   times slow calls on tokio's clock and gives the permit back when the
//!   call is dropped; `SharedBreaker::timer()` turns deadlines into events on
//!   time.
//! - `serde` (off by default): `Serialize`/`Deserialize` for
//!   [`BreakerConfig`], [`FailureRate`] and [`Window`] (missing fields take
//!   their defaults, unknown fields are an error, a negative duration does
//!   not parse; [`Breaker::new`] still validates what was read).
//!
// `[`rt`]` above links to the module with the `tokio` feature and to the
// feature-flags section without it, so docs build warning-free either way.
#![cfg_attr(feature = "tokio", doc = "[`rt`]: crate::rt")]
#![cfg_attr(not(feature = "tokio"), doc = "[`rt`]: #feature-flags")]
#![doc(test(attr(deny(warnings))))]

mod config;
mod error;
mod event;
mod machine;
mod permit;
mod registry;
mod shared;
mod snapshot;
mod window;

#[cfg(feature = "tokio")]
pub mod rt;

pub use config::{
    BreakerConfig, FailureRate, MAX_DURATION, MAX_WINDOW_BUCKETS, MAX_WINDOW_CALLS, Window,
};
pub use error::Error;
pub use event::{BreakerEvent, OpenReason};
pub use machine::Breaker;
pub use permit::{Admission, Outcome, Permit, PermitKind};
pub use registry::Registry;
pub use shared::{PermitGuard, SharedBreaker};
pub use snapshot::{BreakerSnapshot, State, Totals};
