//! A faithful local Binance Spot exchange, for tests, demos and offline development.
//!
//! (Crate documentation is completed with the server.)

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

pub use config::{ConnectionRules, FirehoseConfig, RestRules, SimConfig};
pub use error::SimError;
pub use server::{Sim, SimHandle};
pub use state::{
    CloseRecord, ConnectionStats, DropKind, HandshakeStats, RestFault, RestStats, now_ms,
};
