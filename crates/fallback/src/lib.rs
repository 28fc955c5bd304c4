//! Graceful degradation for a streaming client: a state per connection,
//! failover between endpoints by health score, REST polling within a
//! weight budget when no WebSocket endpoint is usable, and last-known values
//! marked with their age, source and staleness.
//!
//! Five components, each usable on its own:
//!
//! - [`ConnectionMachine`]: one connection's state, [`ConnState`]
//!   (connecting, healthy, degraded, unstable, failing, failed, recovering,
//!   fallback), driven by [`Signal`]s the driver already has (connects,
//!   drops and errors by [`ErrorClass`], silence, breaker state, polling);
//!   every change a [`Transition`] with its [`Reason`]. Unstable: 3 drops in
//!   60 s; failed: 5 failed attempts, 60 s down, a permanent cause or an
//!   open breaker; recovering and degraded become healthy after 30 s.
//! - [`EndpointSet`]: endpoints in priority order, each scored from moving
//!   averages of outcomes, connect times and silences; [`select`](EndpointSet::select)
//!   prefers the primary, fails over to the best healthy alternative, fails
//!   back once the primary has been healthy for 2 minutes, and holds every
//!   switch but one away from a down endpoint for a 30 s dwell.
//! - [`DegradationPlan`]: per stream, [`StreamStatus`] live, polled, stale
//!   or unavailable, from its connection's [`Feed`], whether any WebSocket
//!   endpoint is usable and whether REST is; partial service is explicit
//!   ([`ServiceLevel`]); every change a [`PlanEvent`].
//! - [`PollPlanner`]: per-stream poll intervals that spend at most half the
//!   REST weight budget, max-min fair, each stream flagged when it is polled
//!   slower than normal.
//! - [`LastValues`]: per stream, the last value, when and from which
//!   [`Source`] it came, and whether it is stale (older than 3 of the
//!   stream's expected intervals).
//!
//! The rules, the score formula, the selection policy and the planner's math
//! (with figures at 10, 100 and 1,000 streams) are in `docs/fallback.md`.
//!
//! ## Design
//!
//! Every component is a sans-IO value (DESIGN.md §3): it does no IO, never
//! sleeps or spawns, and never reads the clock: every method that needs the
//! time takes `now`, and the time-based rules are exposed as
//! `poll_timeout()`/`handle_timeout(now)`. Decisions and changes are values
//! ([`Transition`], [`Selection`], [`EndpointEvent`], [`PlanEvent`],
//! [`PollPlan`]); [`Error`] is only for configuration and misuse. The crate
//! does not connect, poll, retry or time anything out, does not compute
//! reconnect delays (the `reconnect` crate does) and does not run circuit
//! breakers (it takes their state as a [`Signal`] or a [`BreakerState`]). It
//! depends on no other workspace crate and knows nothing of WebSockets or
//! Binance: endpoints and streams are the caller's own types, and its inputs
//! are its own enums.
//!
//! ## Example
//!
//! The facade's wiring, in miniature: an endpoint set and a plan per
//! client, a machine per connection, a cache of last values.
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! use fallback::{
//!     BreakerState, CacheConfig, ConnState, ConnectionConfig, ConnectionMachine,
//!     DegradationPlan, EndpointConfig, EndpointSet, ErrorClass, LastValues, PollBudget, Polling,
//!     Signal, Source, StreamStatus,
//! };
//!
//! const ENDPOINTS: [&str; 2] = ["stream.binance.com:9443", "stream.binance.com:443"];
//! let mut endpoints = EndpointSet::new(ENDPOINTS.to_vec(), EndpointConfig::default())?;
//! let mut connection = ConnectionMachine::new(ConnectionConfig::default())?;
//! let mut plan = DegradationPlan::new(PollBudget::default())?; // 3,000 of 6,000 a minute
//! let mut cache = LastValues::new(CacheConfig::default())?;
//!
//! // The caller owns the clock; here, one real instant and offsets from it.
//! let t0 = Instant::now();
//! let at = |secs| t0 + Duration::from_secs(secs);
//! let ticker = "btcusdt@bookTicker";
//! let polling = Polling::Supported { weight: 2, normal_interval: Duration::from_secs(1) };
//! plan.add_stream(ticker, polling, t0)?;
//! cache.set_interval(&ticker, Duration::from_secs(1))?;
//!
//! // Connect where the set says, subscribe, deliver.
//! let endpoint = endpoints.select(t0).expect("an endpoint is usable").endpoint;
//! endpoints.on_success(&endpoint, Duration::from_millis(80), t0)?;
//! let _ = connection.on_signal(Signal::Subscribed, t0);
//! plan.set_feed(&ticker, connection.feed(), t0)?;
//! cache.put(&ticker, 97_000.5, Source::Live, t0);
//! plan.on_value(&ticker, t0)?;
//! assert_eq!(plan.status(&ticker), Some(StreamStatus::Live));
//!
//! // The connection drops and every endpoint's breaker opens.
//! let _ = connection.on_signal(Signal::Dropped { class: ErrorClass::Transient }, at(1));
//! for endpoint in ENDPOINTS {
//!     endpoints.on_breaker(&endpoint, BreakerState::Open { retry_at: Some(at(31)) }, at(1))?;
//! }
//! let failed = connection.on_signal(Signal::BreakerOpen, at(1)).expect("a transition");
//! assert_eq!((failed.from, failed.to), (ConnState::Failing, ConnState::Failed));
//!
//! // No endpoint is usable: the ticker is polled, within the budget.
//! plan.set_websocket(endpoints.availability(at(1)), at(1));
//! plan.set_feed(&ticker, connection.feed(), at(1))?;
//! assert_eq!(plan.status(&ticker), Some(StreamStatus::Polled));
//! let assignment = plan.poll_plan().get(&ticker).expect("polled");
//! assert_eq!(assignment.interval, Duration::from_secs(1));
//! let _ = connection.on_signal(Signal::PollingStarted, at(1));
//! assert_eq!(connection.state(), ConnState::Fallback);
//!
//! // Readers still get the last value, with its age, source and staleness.
//! let cached = cache.get(&ticker, at(4)).expect("a value");
//! assert_eq!((cached.age, cached.source, cached.stale), (at(4) - t0, Source::Live, true));
//!
//! // Every change was an event for logs and metrics.
//! while let Some(event) = plan.poll_event() {
//!     println!("{event:?}");
//! }
//! # Ok::<(), fallback::Error>(())
//! ```
//!
//! ## Feature flags
//!
//! - `tokio` (off by default): the [`rt`] adapter, deliberately minimal:
//!   `rt::now()` on tokio's clock and `rt::sleep_until(deadline)` to turn a
//!   component's `poll_timeout()` into a future in the driver's `select!`
//!   loop; paused-time tests run minutes of probation in microseconds.
//! - `serde` (off by default): `Serialize`/`Deserialize` for
//!   [`ConnectionConfig`], [`EndpointConfig`], [`CacheConfig`] and
//!   [`PollBudget`] (missing fields take their defaults, unknown fields are
//!   an error; the constructors still validate what was read), and for the
//!   plain status enums.
//!
// `[`rt`]` above links to the module with the `tokio` feature and to the
// feature-flags section without it, so docs build warning-free either way.
#![cfg_attr(feature = "tokio", doc = "[`rt`]: crate::rt")]
#![cfg_attr(not(feature = "tokio"), doc = "[`rt`]: #feature-flags")]
#![doc(test(attr(deny(warnings))))]

mod cache;
mod config;
mod connection;
mod degrade;
mod endpoint;
mod error;
mod planner;

#[cfg(feature = "tokio")]
pub mod rt;

pub use cache::{Cached, LastValues, Source};
pub use config::{CacheConfig, ConnectionConfig, EndpointConfig, MAX_DURATION, PollBudget};
pub use connection::{
    ConnState, ConnectionMachine, ConnectionSnapshot, ErrorClass, Feed, Link, Reason, Signal,
    Transition,
};
pub use degrade::{
    DegradationPlan, PlanEvent, PlanSnapshot, Polling, RestAvailability, ServiceLevel,
    StreamStatus, WsAvailability,
};
pub use endpoint::{
    BreakerState, EndpointEvent, EndpointHealth, EndpointSet, EndpointSnapshot, EndpointStatus,
    FailoverCause, SelectReason, Selection,
};
pub use error::Error;
pub use planner::{MAX_POLL_WEIGHT, PollAssignment, PollPlan, PollPlanner, PollRequest};
