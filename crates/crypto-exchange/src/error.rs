//! The facade's error type.

/// What can go wrong using the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The configuration is invalid (permanent: fix the configuration).
    #[error("invalid client configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// A stream name is not one Binance serves (permanent: fix the name).
    #[error("{0}")]
    InvalidStream(String),
    /// The client has shut down (permanent for this client).
    #[error("the client has shut down")]
    Closed,
}

impl ClientError {
    /// True when retrying the same call may succeed. No client error is transient:
    /// connection failures are handled inside the client, never returned.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        false
    }
}
