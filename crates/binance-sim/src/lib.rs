//! A faithful local Binance Spot exchange, for tests, demos and offline development.
//!
//! `binance-sim` serves Binance's market streams (raw `/ws/…` and combined
//! `/stream?streams=…`, with live `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`,
//! `SET_PROPERTY` and `GET_PROPERTY`) and its REST market data (`/api/v3/…` with
//! request weights, `X-MBX-USED-WEIGHT-1M`, 429 then 418 bans), from a seeded
//! market with a real order book: trade and aggregate-trade ids are contiguous,
//! depth diffs replay the book's actual changes, and REST snapshots are
//! consistent with the diff stream. It enforces Binance's connection rules
//! (pings and pong deadline, 5 incoming frames per second, 1024 streams, 24 h
//! lifetime, 300 connection attempts per 5 minutes) with every number
//! configurable, and it can misbehave on purpose: drop or reset connections,
//! stall, refuse, answer REST with 5xx/429/418 or slowly, skip or repeat a depth
//! diff, announce `serverShutdown`.
//!
//! ## Design
//!
//! The market ([`market`]) is sans-IO: it is told the time and answers with the
//! events of the streams someone listens to. The servers are thin tokio tasks
//! around it. The simulator is as strict as Binance; where Binance's behaviour is
//! undocumented, its choice is written down in `docs/simulator.md`. It does not
//! simulate trading, user data streams or the WebSocket API (yet), and it never
//! reaches the internet: every listener defaults to loopback.
//!
//! ## Example
//!
//! ```
//! use binance_sim::{Sim, SimConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), binance_sim::SimError> {
//! let sim = Sim::start(SimConfig::default()).await?;
//! println!("streams at {}/stream?streams=btcusdt@aggTrade", sim.ws_url());
//! println!("REST at {}/api/v3/depth?symbol=BTCUSDT", sim.rest_url());
//! let best_bid = sim.with_market(|m| m.symbol("BTCUSDT").and_then(|s| s.book().best_bid()));
//! assert!(best_bid.is_some());
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The same simulator runs as a program: `cargo run -p binance-sim -- --help`.

#![doc(test(attr(deny(warnings))))]

pub mod account;
mod admin;
pub mod cli;
pub mod config;
mod controls;
pub mod decimal;
mod error;
pub mod firehose;
pub mod market;
pub mod payload;
mod rest;
mod server;
mod state;
pub mod stream;
mod ws;

pub use account::{
    AccountSnapshot, AccountSpec, Balance, Commission, KeyMaterial, OrderSide, OrderSnapshot,
    OrderStatus, OrderType, Permission, TimeInForce,
};
pub use config::{ConnectionRules, FirehoseConfig, RestRules, SimConfig};
pub use error::SimError;
pub use server::{Sim, SimHandle};
pub use state::{
    CloseRecord, ConnectionStats, DropKind, HandshakeStats, RestFault, RestStats, now_ms,
};
