//! Decides how a failure is recovered from: every error the client can meet
//! maps to a class, each class to a recovery strategy, and long-lived tasks
//! run under a supervisor that restarts them one-for-one with a restart
//! limit and keeps their state across restarts.
//!
//! - **Taxonomy** ([`Failure`] → [`Classification`]): transport close
//!   causes, HTTP statuses and Binance error codes (-1003, -1121, -2015,
//!   -1007 …) map to [`ErrorClass::Transient`], [`RateLimited`] (with
//!   `retry_after`), [`Authentication`], [`Server`] (outcome unknown) or
//!   [`Configuration`] (permanent). The mapping is a table, rendered in
//!   `docs/error-classes.md` ([`taxonomy_markdown`]). [`classify_http`]
//!   reads a raw REST response and never panics on any input.
//! - **Strategies** ([`Strategy`]): immediate, delayed, progressive (a
//!   schedule) or manual, chosen from the class by a [`StrategyPolicy`].
//!   A [`Recovery`] tracker turns failures into [`Action`]s; repeated
//!   failures and stuck attempts escalate.
//! - **Supervision** (feature `tokio`, [`rt::Supervisor`]): one-for-one
//!   restarts, at most 5 restarts in 10 s per child ([`RestartIntensity`]),
//!   then escalate to the parent; graceful shutdown with a deadline.
//! - **State preservation** ([`Preserved`], [`Subscriptions`]): the
//!   subscription set and per-stream resume points survive a restart of
//!   the task that holds them.
//!
//! [`RateLimited`]: ErrorClass::RateLimited
//! [`Authentication`]: ErrorClass::Authentication
//! [`Server`]: ErrorClass::Server
//! [`Configuration`]: ErrorClass::Configuration
//!
//! ## Design
//!
//! The cores ([`Recovery`], [`RestartIntensity`], the taxonomy) are sans-IO
//! (DESIGN.md §3): they do no IO, never sleep or spawn, and never read the
//! clock; every method that needs the time takes `now`. Only the optional
//! [`rt`] module touches a clock (tokio's) and spawns tasks. The crate
//! depends on no other workspace crate and contains no WebSocket or HTTP
//! client: the caller translates its errors into a [`Failure`]. Binance
//! error *codes* appear only as data in the taxonomy tables.
//!
//! It does not reconnect (that is `reconnect`'s schedule), does not open or
//! close circuits, and does not decide health: it reports events and status
//! values that the facade turns into logs, metrics and alerts.
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! use recovery::{Action, ErrorClass, Failure, Recovery, RecoveryConfig, classify_http};
//!
//! let mut recovery = Recovery::new(RecoveryConfig::default())?;
//! let t0 = Instant::now(); // the caller owns the clock
//!
//! // 429 with Retry-After: rate-limited; wait (a minute by default, never less
//! // than Retry-After) before anything is sent on this route.
//! let body = br#"{"code":-1003,"msg":"Too much request weight used"}"#;
//! let failure = classify_http(429, [("Retry-After", "30")], body);
//! assert_eq!(failure.class, ErrorClass::RateLimited);
//! let action = recovery.on_failure(&failure, t0);
//! assert!(matches!(action, Action::Wait { delay, .. } if delay == Duration::from_secs(60)));
//! recovery.on_success(t0 + Duration::from_secs(61));
//!
//! // A 503 that is not JSON: a server failure whose outcome is unknown, so
//! // verify before re-sending; the progressive schedule starts at 1 s.
//! let failure = classify_http(503, [] as [(&str, &str); 0], b"<html>busy</html>");
//! let action = recovery.on_failure(&failure, t0 + Duration::from_secs(62));
//! assert!(matches!(
//!     action,
//!     Action::Retry { verify_first: true, delay, .. } if delay == Duration::from_secs(1)
//! ));
//!
//! // An unknown symbol is a configuration error: nothing automatic helps.
//! let failure = Failure::Binance { code: -1121, msg: "Invalid symbol.".into() }.classify();
//! assert_eq!(
//!     recovery.on_failure(&failure, t0 + Duration::from_secs(63)),
//!     Action::AwaitOperator { class: ErrorClass::Configuration }
//! );
//!
//! // Every transition is an event for logs and metrics.
//! while let Some(event) = recovery.poll_event() {
//!     println!("{event:?}");
//! }
//! # Ok::<(), recovery::Error>(())
//! ```
//!
//! With the `tokio` feature, [`rt::Supervisor`] runs tasks; see its docs
//! for a supervised task that keeps its resume points across a panic.
//!
//! ## Feature flags
//!
//! - `tokio` (off by default): the [`rt`] adapter: [`rt::Supervisor`] and
//!   helpers that sleep until a [`Recovery`]'s actions are due, on
//!   [`tokio::time::Instant`](https://docs.rs/tokio/latest/tokio/time/struct.Instant.html),
//!   so paused-time tests run restart windows and deadlines in virtual time.
//!
// `[`rt`]` above links to the module with the `tokio` feature and to the
// feature-flags section without it, so docs build warning-free either way.
#![cfg_attr(feature = "tokio", doc = "[`rt`]: crate::rt")]
#![cfg_attr(feature = "tokio", doc = "[`rt::Supervisor`]: crate::rt::Supervisor")]
#![cfg_attr(not(feature = "tokio"), doc = "[`rt`]: #feature-flags")]
#![cfg_attr(not(feature = "tokio"), doc = "[`rt::Supervisor`]: #feature-flags")]
#![doc(test(attr(deny(warnings))))]

mod config;
mod error;
mod intensity;
mod state;
mod strategy;
mod taxonomy;
mod tracker;

#[cfg(feature = "tokio")]
pub mod rt;

pub use config::{MAX_DURATION, RecoveryConfig, Restart, SupervisorConfig, duration_from_secs};
pub use error::Error;
pub use intensity::{IntensityDecision, RestartIntensity};
pub use state::{Preserved, Subscriptions};
pub use strategy::{Strategy, StrategyKind, StrategyPolicy};
pub use taxonomy::{
    Classification, ConnectFailure, ErrorClass, Failure, MAX_BODY_PARSED, MAX_EXCERPT,
    MAX_RETRY_AFTER, classify_http, parse_http, taxonomy_markdown,
};
pub use tracker::{Action, EscalateReason, Phase, Recovery, RecoveryEvent, RecoverySnapshot};
