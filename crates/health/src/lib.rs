//! Turns what a streaming client observes (connections, messages, errors,
//! breaker transitions, REST weight and bans, subscriber lag, gaps) into
//! statistics, health levels, deduplicated alerts, trends and diagnostics
//! with recommended actions; behind features, Prometheus metrics and an ops
//! HTTP endpoint.
//!
//! - **Statistics** per connection (uptime, session age, availability,
//!   messages/s and bytes/s, errors/min, last message age, reconnects, MTTR,
//!   MTBF, every recovery time) and per stream (rates, last message age,
//!   normal interval, event latency, gaps): [`Monitor::stats`].
//! - **Levels** `healthy → warning → degraded → unhealthy → critical` for
//!   each component and for the system, by the rules below:
//!   [`Monitor::evaluate`].
//! - **Alerts** of four kinds (connection, performance, system, recovery),
//!   deduplicated by cause, suppressed while active, re-notified after an
//!   interval, resolved when the condition has cleared, kept in a bounded
//!   history: [`Monitor::poll_alert_event`], [`Monitor::alerts`].
//! - **Trends**: rates and error rates over 1, 5 and 15 minutes:
//!   [`Monitor::trends`].
//! - **Diagnostics**: findings with an action, e.g. "reconnects every few
//!   seconds after 1008 closes: outbound frames exceed the server's limit;
//!   lower the subscription batch rate": [`Monitor::diagnostics`].
//!
//! ## Design
//!
//! The core is a sans-IO model (DESIGN.md §3). It does no IO, never sleeps,
//! spawns or reads the clock: every input takes `now`, and event latency is
//! measured against a wall-clock anchor the caller sets with
//! [`Monitor::sync_clock`]. It knows nothing of WebSockets or Binance and
//! depends on no other workspace crate: its inputs are its own vocabulary
//! (names as strings, [`DisconnectCause`], [`ErrorClass`],
//! [`BreakerState`], [`RestStatus`]). It does not decide anything for the
//! client (no reconnects, no fallback): it judges and explains.
//!
//! The per-message path ([`Monitor::on_message`]) takes a [`StreamId`]
//! handle from [`Monitor::register_stream`]: an index, a few additions and
//! comparisons, no allocation; moving averages fold once a second. Names are
//! cleaned at registration so nothing secret reaches an output
//! ([`sanitize_name`]).
//!
//! ## Level rules
//!
//! | component | warning | degraded | unhealthy | critical |
//! |---|---|---|---|---|
//! | connection | down < `down_grace` (5 s) | reconnect loop (5 failures in 5 min); errors ≥ 60/min | down ≥ 5 s; outage > `recovery_target` (60 s) | abandoned |
//! | stream | silent ≥ 3× normal interval; latency ≥ 1 s; a gap backfilling | silent ≥ 10×; latency ≥ 5 s; gap open ≥ 30 s; data lost in the last 5 min; its connection down ≥ 5 s | | |
//! | REST | weight ≥ 80 % of the limit; errors ≥ 10/min | 429 `Retry-After` in force | | 418 ban in force |
//! | breaker | half-open, disabled | open, forced open | | |
//! | subscribers | ≥ 1 event missed in the last minute | ≥ 1000 missed | | |
//!
//! The **system** takes the worst component level capped at degraded (one
//! bad part does not make the service unhealthy), then the system rules:
//! no connected WebSocket is degraded, and unhealthy after `down_grace`;
//! every stream stale is unhealthy; a REST ban, every circuit breaker open
//! (every endpoint down) or every connection abandoned is critical; system
//! errors ≥ 10/min a warning, ≥ 60/min degraded. Every threshold is a
//! field of [`HealthConfig`]; `docs/health.md` has the full table with the
//! alert each rule raises.
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! use health::{ConnectionEvent, DisconnectCause, HealthConfig, Level, Monitor};
//!
//! let t0 = Instant::now();
//! let mut monitor = Monitor::new(HealthConfig::default(), t0)?;
//! monitor.sync_clock(t0, 1_700_000_000_000); // the adapter reads the wall clock
//!
//! let conn = monitor.register_connection("conn-1", t0);
//! let trades = monitor.register_stream("btcusdt@aggTrade", conn, None, t0);
//! monitor.on_connection(conn, ConnectionEvent::Connected, t0);
//! assert!(!monitor.readiness().ready); // the stream has not delivered yet
//!
//! // The hot path: a handle, the size, the event time, the receive instant.
//! for i in 0..100u64 {
//!     let at = t0 + Duration::from_millis(100 * i);
//!     monitor.on_message(trades, 180, Some(1_700_000_000_000 + 100 * i - 20), at);
//! }
//! let t1 = t0 + Duration::from_secs(10);
//! assert_eq!(monitor.evaluate(t1).level, Level::Healthy);
//! assert!(monitor.readiness().ready);
//!
//! // The connection drops and stays down: unhealthy after the 5 s grace.
//! monitor.on_connection(conn, ConnectionEvent::Disconnected(DisconnectCause::Reset), t1);
//! let t2 = t1 + Duration::from_secs(6);
//! let health = monitor.evaluate(t2);
//! assert_eq!(health.level, Level::Unhealthy);
//! while let Some(event) = monitor.poll_alert_event() {
//!     println!("{:?} {} {}: {}", event.change, event.alert.severity, event.alert.key, event.alert.message);
//! }
//!
//! // Back after 8 s: the recovery time is recorded.
//! monitor.on_connection(conn, ConnectionEvent::Connected, t1 + Duration::from_secs(8));
//! let stats = monitor.connection_stats(conn, t2 + Duration::from_secs(5)).unwrap();
//! assert_eq!(stats.mttr, Some(Duration::from_secs(8)));
//! # Ok::<(), health::Error>(())
//! ```
//!
//! ## Feature flags
//!
//! - `serde` (off by default): `Serialize` for the snapshots ([`Report`],
//!   [`SystemHealth`], [`Stats`], [`Diagnostic`], …); durations serialise as
//!   whole milliseconds in fields ending `_ms`.
//! - `metrics` (off by default): `Monitor::enable_metrics` mirrors every
//!   input into the [`metrics`](https://docs.rs/metrics) facade under the
//!   names of `docs/metrics.md`, with handles cached per stream and
//!   connection.
//! - `http` (off by default; implies `serde` and `metrics`): the `ops`
//!   module, an axum server for `/health`, `/health/live`, `/health/ready`,
//!   `/metrics` and `/alerts`, bound to loopback unless told otherwise, and
//!   `ops::install_prometheus`.
#![doc(test(attr(deny(warnings))))]

mod alert;
mod config;
mod diagnose;
mod error;
mod events;
mod input;
mod level;
mod monitor;
mod report;
mod rules;
mod rules_stream;
mod sanitize;
mod stats;
mod track;
mod window;

#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "http")]
pub mod ops;

pub use alert::{Alert, AlertChange, AlertEvent, AlertKind, AlertState};
pub use config::{AlertConfig, HealthConfig, MAX_DURATION};
pub use diagnose::Diagnostic;
pub use error::Error;
pub use input::{
    BackfillOutcome, BreakerState, ConnectionEvent, ConnectionId, ConnectionState, DisconnectCause,
    ErrorClass, ErrorSource, RestLimit, RestStatus, StreamId,
};
pub use level::{ComponentHealth, ComponentKind, Level, SystemHealth};
pub use monitor::{Monitor, Totals};
pub use report::{AlertSnapshot, Readiness, Report};
pub use sanitize::sanitize_name;
pub use stats::{BreakerStats, ConnectionStats, Stats, StreamStats, TrendWindow, Trends};
