//! The simulator's error type.

use std::net::SocketAddr;

/// What can go wrong starting or controlling a simulated exchange.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The configuration is invalid (permanent: fix the configuration).
    #[error("invalid simulator configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// A listener could not bind (permanent for that address: pick another, or port 0).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A fault control named a symbol the simulator does not list (permanent).
    #[error("unknown symbol {0:?}: the simulator lists only its configured symbols")]
    UnknownSymbol(String),
    /// A fault control was given an invalid value (permanent: fix the value).
    #[error("invalid control: {0}")]
    InvalidControl(String),
    /// Writing the simulator's addresses failed (permanent for that output).
    #[error("cannot write the simulator's addresses: {0}")]
    Output(std::io::Error),
}

impl SimError {
    /// True when retrying the same call may succeed. No simulator error is transient.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        false
    }
}
