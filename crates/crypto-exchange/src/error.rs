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
    /// The ops endpoint could not start or failed: an invalid `OpsConfig`
    /// (permanent), an address that cannot be bound (transient).
    #[error(transparent)]
    Ops(#[from] health::Error),
}

impl ClientError {
    /// True when retrying the same call may succeed: only an ops endpoint that
    /// could not bind or serve. Connection failures are handled inside the
    /// client, never returned.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, ClientError::Ops(error) if error.is_retryable())
    }
}
