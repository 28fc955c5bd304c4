//! A fault-tolerant client for Binance Spot WebSocket streams.
//!
//! Subscribe once and keep receiving typed events (exact decimals, never `f64`)
//! through resets, stalls, rate-limit closes, refusals, Binance's 24 h cut-off and
//! `serverShutdown`, without writing a reconnect loop:
//!
//! - [`Client`] spreads streams over a pool of connections (at most
//!   `streams_per_connection` each) that share one connection-attempt budget;
//! - each connection's driver restores every subscription after a reconnect in
//!   batched frames within Binance's 5-frames-per-second limit, reconnects on an
//!   exponential schedule with jitter (longer after 1008 and 429), detects dead
//!   connections by silence, and rotates before the cut-off make-before-break,
//!   removing overlapping events by id;
//! - a [`Subscription`] yields [`Update`]s; a subscriber that falls behind is told
//!   `Lagged { missed }` and never blocks the others; [`Client::lifecycle`] yields
//!   [`Lifecycle`] signals;
//! - a health monitor (the `health` crate) watches every connection, stream,
//!   breaker and the REST client: [`Client::system_health`],
//!   [`Client::health_check`], [`Client::active_alerts`], [`Client::metrics`],
//!   and, when asked for, an ops HTTP endpoint ([`Client::serve_ops`]:
//!   `/health`, `/health/ready`, `/metrics`, …) on loopback.
//!
//! ## Design
//!
//! This crate is the facade: it holds the Binance domain ([`domain`]: stream
//! names, payloads, decoding) and composes the policy crates (`reconnect`,
//! `circuit-breaker`, `recovery`, `health`) over `ws-transport`; each of them
//! stays usable on its own. Trade ids missed while disconnected are backfilled
//! from REST ([`Update::Backfilled`], or an explicit [`Update::Gap`]), latest
//! values are refreshed after a reconnect, and order books are kept per symbol
//! ([`book`]). The ops endpoint is never started by itself, and the Prometheus
//! recorder is installed only by [`Client::serve_ops`].
//!
//! ## Example
//!
//! ```no_run
//! use crypto_exchange::{Client, ClientConfig, Update};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), crypto_exchange::ClientError> {
//! let client = Client::new(ClientConfig::default())?; // Binance production
//! let mut trades = client.subscribe(["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
//! while let Some(update) = trades.next().await {
//!     match update {
//!         Update::Event(event) => println!("{}: {:?}", event.stream, event.event),
//!         Update::Lagged { missed } => eprintln!("fell behind: {missed} events skipped"),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## A user's own events
//!
//! [`user::UserManager`] runs one supervised connection per user to Binance's
//! WebSocket API (`userDataStream.subscribe.signature`, HMAC-SHA256 or Ed25519
//! keys held in types that never print and are zeroed on drop), reconnects on
//! the same schedule as the market streams, stops a user for good on an
//! authentication or clock error without touching anyone else, and after every
//! reconnect reconciles balances, open orders and missed fills over signed REST
//! so each fill is seen exactly once (`docs/user-data.md`).
//!
//! The `crypto-exchange` binary wraps the same client: `crypto-exchange stream`,
//! `crypto-exchange demo` (on an embedded simulator), `crypto-exchange sim` and
//! `crypto-exchange user` (one account's events as JSON lines).

pub mod book;
pub mod chaos;
pub mod client;
pub mod domain;
mod error;
pub mod rest;
pub mod settings;
pub mod user;

pub use book::{BookEvent, BookHandle, BookState, OrderBook, OrderBooks};
pub use chaos::{run_full_resilience_test, run_resilience_test};
pub use circuit_breaker::{BreakerConfig, BreakerSnapshot, State as BreakerState};
pub use client::{
    AdminToken, Client, ClientConfig, ClientStats, FallbackConfig, FallbackKind, LastValue,
    Lifecycle, Lifecycles, MetricsSnapshot, OpsHandle, PolledStream, PollingMode, RotationConfig,
    Source, StreamEvent, Subscription, Unhealthy, Update,
};
pub use error::ClientError;
/// The degradation policy behind [`Client::stream_status`], [`Client::last`]
/// and endpoint failover, re-exported so that its types
/// ([`fallback::StreamStatus`], [`fallback::EndpointConfig`], …) need no
/// separate dependency.
pub use fallback;
/// The health model behind [`Client::system_health`] and the ops endpoint,
/// re-exported so that its types ([`health::Report`], [`health::Level`],
/// [`health::HealthConfig`], …) need no separate dependency.
pub use health;
pub use health::ops::{Exposure, OpsConfig};
