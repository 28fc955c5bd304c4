//! Decides when a dropped connection is tried again: an exponential, jittered
//! schedule that resets only after a healthy connection, longer backoff for
//! rate-limit causes, and a shared budget of connection attempts.
//!
//! - **Schedule** (DESIGN.md §5): 1 s, 2 s, 4 s, 8 s, 16 s, 30 s, 30 s …, each
//!   drawn uniformly from ±10 % of its nominal value and never above the
//!   30 s cap. The nominal values come from `backoff`'s `ExponentialBackoff`;
//!   the jitter from an RNG you pass in.
//! - **Connection quality**: the schedule resets only when a connection has
//!   stayed open for [`ReconnectConfig::healthy_after`] (60 s); one that drops
//!   sooner keeps climbing, so a server that accepts and drops at once cannot
//!   cause a tight loop.
//! - **Decisions**: [`Decision::Reconnect`] on the schedule;
//!   [`Decision::Backoff`], longer, after a rate-limit cause (close 1008,
//!   handshake 429/418 …) and never before a known `Retry-After`;
//!   [`Decision::Abandon`] only for a permanent cause or a configured
//!   attempt or time limit.
//! - **Budget**: [`AttemptBudget`], a `governor` limiter shared by all
//!   connections of a client: at most 300 attempts in any 5 minutes.
//!
//! ## Design
//!
//! The core is a sans-IO state machine (DESIGN.md §3). It does no IO, never
//! sleeps or spawns, and never reads the clock: every method that needs the
//! time takes `now`, and jitter comes from the RNG given to
//! [`Reconnector::new`], so a seeded test replays exactly. It knows nothing
//! of WebSockets or Binance and depends on no other workspace crate: the
//! caller translates its transport errors into a [`Cause`]. Every transition
//! is also a [`ReconnectEvent`] for logs and metrics. The budget is a
//! separate value because it is shared by many connections. Only the
//! optional [`rt`] module touches a clock (tokio's).
//!
//! `backoff` and `governor` stay behind this crate's API: no public
//! signature names them (`docs/decisions/0002-reconnect-backoff.md`).
//!
//! ## How causes are classified
//!
//! | cause | class | decision |
//! |---|---|---|
//! | `Closed` 1008 (Binance: over 5 msg/s), 1013 (try again later) | rate-limited | `Backoff` |
//! | `Closed` any other code (1000, 1001, 1006, 1011, 1012, 4xxx …) | transient | `Reconnect` |
//! | `HandshakeRejected` 429, 418 (ban), 403 (WAF block), 503 | rate-limited, honouring `Retry-After` | `Backoff` |
//! | `HandshakeRejected` 408, 425, 5xx other than 503, 1xx–3xx | transient | `Reconnect` |
//! | `HandshakeRejected` any other 4xx (400, 401, 404, 451 …) | permanent | `Abandon` |
//! | `Reset`, `Refused`, `Dns`, `Tls`, `Timeout`, `Silence`, `Protocol`, `FrameTooBig` | transient | `Reconnect` |
//! | `Certificate` | permanent (needs a fix or another endpoint) | `Abandon` |
//! | `ServerShutdown`, `Rotation` | planned | `Reconnect` at once if the connection was healthy, else as transient |
//! | `Permanent { reason }` (unknown symbol, rejected credentials …) | permanent | `Abandon` |
//!
//! Unlike Binance's own connector (PROTOCOL.md §11), 1008 is not permanent:
//! we back off, then reconnect. A rate-limited delay is the largest of the
//! next ordinary delay, the rate-limit delay (60 s, doubling per rate-limit
//! cause in the outage up to 5 min, ±10 %) and the `Retry-After` (plus up to
//! 10 %, never less; clamped to 3 days).
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! use rand::SeedableRng as _;
//! use reconnect::{AttemptBudget, BudgetConfig, Cause, Decision, ReconnectConfig, Reconnector};
//!
//! let rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! let mut machine = Reconnector::new(ReconnectConfig::default(), rng)?;
//! let budget = AttemptBudget::new(BudgetConfig::default())?; // clone it per connection
//!
//! // The caller owns the clock; here, one real instant and offsets from it.
//! let t0 = Instant::now();
//! assert!(budget.try_acquire(t0).is_ok());
//! machine.on_connected(t0);
//!
//! // Dropped after 5 s, too soon to count as healthy: the first delay, 1 s ± 10 %.
//! let t1 = t0 + Duration::from_secs(5);
//! let decision = machine.on_disconnect(Cause::Reset, t1);
//! let Decision::Reconnect { delay, at } = decision else { unreachable!() };
//! assert!(Duration::from_millis(900) <= delay && delay <= Duration::from_millis(1_100));
//!
//! // The retry is refused with 429: back off longer, at least the Retry-After.
//! let rejected = Cause::HandshakeRejected { status: 429, retry_after: Some(Duration::from_secs(90)) };
//! let decision = machine.on_disconnect(rejected, at);
//! assert!(matches!(decision, Decision::Backoff { delay, .. } if delay >= Duration::from_secs(90)));
//!
//! // A permanent cause gives up.
//! let unknown = Cause::Permanent { reason: "unknown symbol".into() };
//! assert!(matches!(machine.on_disconnect(unknown, at), Decision::Abandon(_)));
//!
//! // Every transition is an event for logs and metrics.
//! while let Some(event) = machine.poll_event() {
//!     println!("{event:?}");
//! }
//! # Ok::<(), reconnect::Error>(())
//! ```
//!
//! ## Feature flags
//!
//! - `tokio` (off by default): the [`rt`] adapter, which reads
//!   [`tokio::time::Instant`](https://docs.rs/tokio/latest/tokio/time/struct.Instant.html)
//!   and sleeps with `tokio::time::sleep_until`, so paused-time tests run
//!   minutes of backoff in milliseconds.
//! - `serde` (off by default): `Serialize`/`Deserialize` for
//!   [`ReconnectConfig`] and [`BudgetConfig`] (missing fields take their
//!   defaults, unknown fields are an error).
//!
// `[`rt`]` above links to the module with the `tokio` feature and to the
// feature-flags section without it, so docs build warning-free either way.
#![cfg_attr(feature = "tokio", doc = "[`rt`]: crate::rt")]
#![cfg_attr(not(feature = "tokio"), doc = "[`rt`]: #feature-flags")]
#![doc(test(attr(deny(warnings))))]

mod budget;
mod cause;
mod config;
mod error;
mod event;
mod machine;
mod schedule;

#[cfg(feature = "tokio")]
pub mod rt;

pub use budget::{AttemptBudget, NotUntil};
pub use cause::{Cause, CauseClass};
pub use config::{BudgetConfig, MAX_DURATION, ReconnectConfig};
pub use error::Error;
pub use event::{DelayKind, ReconnectEvent};
pub use machine::{AbandonReason, Decision, Phase, ReconnectSnapshot, Reconnector};
