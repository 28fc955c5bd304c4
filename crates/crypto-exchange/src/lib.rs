//! A fault-tolerant client for Binance Spot WebSocket streams.
//!
//! `crypto-exchange` is the facade: it will hold the Binance domain (stream
//! names, payloads, order books), the connection driver that composes the
//! policy crates (`reconnect`, `circuit-breaker`, `health`, `recovery`,
//! `fallback`) over `ws-transport`, the public API, and the `crypto-exchange`
//! gateway binary.
//!
//! ## Design
//!
//! Only this crate composes the policy crates; each of them stays usable on its
//! own. Real Binance is the default for users; tests and the demo use the
//! embedded `binance-sim`.
//!
//! ## Status
//!
//! The client arrives with the resilient-connections work (issue 3). Today the
//! binary offers `crypto-exchange sim`, which runs the simulated exchange.
pub mod client;
pub mod domain;
mod error;

pub use client::{
    Client, ClientConfig, ClientStats, Lifecycle, Lifecycles, RotationConfig, Source, StreamEvent,
    Subscription, Update,
};
pub use error::ClientError;
