//! Fault injection for network clients (placeholder docs, rewritten below).

mod error;
mod proxy;

pub use error::Error;
pub use proxy::{
    Direction, DirectionCounters, Fault, FaultId, MAX_FAULT_DURATION, Proxy, ProxyConfig,
    ProxyCounters,
};
