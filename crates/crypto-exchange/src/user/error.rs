//! What can go wrong with a user's connection.

use super::credentials::CredentialError;
use crate::rest::RestError;

/// An error of the user manager or of one user's connection. Messages never
/// contain a key, a secret or a signature payload.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// The credentials are unusable (permanent).
    #[error("credentials: {0}")]
    Credentials(#[from] CredentialError),
    /// The exchange rejected the credentials: invalid key, key format, signature,
    /// permissions or IP (permanent: the user stops retrying).
    #[error(
        "authentication failed: {message} (code {code}); check the API key and secret, the key type, the key's permissions (user data stream, reading the account) and its IP whitelist"
    )]
    Authentication {
        /// Binance's code (-2015, -2014, -1022, -1002 …).
        code: i64,
        /// Binance's message.
        message: String,
    },
    /// The request's timestamp was outside `recvWindow` (-1021): the local clock
    /// is off (permanent until the clock is fixed).
    #[error(
        "clock skew: the exchange says the request's timestamp is outside recvWindow ({recv_window_ms} ms): {message}; synchronise the system clock (NTP), or raise recv_window (at most 60000 ms)"
    )]
    ClockSkew {
        /// The window used.
        recv_window_ms: u64,
        /// Binance's message.
        message: String,
    },
    /// The exchange refused a request for another reason.
    #[error("the exchange refused {what}: {message} (status {status}, code {code})")]
    Refused {
        /// Which request.
        what: &'static str,
        /// HTTP-like status.
        status: u16,
        /// Binance's code.
        code: i64,
        /// Binance's message.
        message: String,
    },
    /// A REST call of a reconcile failed (transient unless it says otherwise).
    #[error("reconcile: {0}")]
    Rest(#[from] RestError),
    /// A user of that name is already running.
    #[error("a user named {0:?} is already running: remove it first or pick another name")]
    DuplicateUser(String),
    /// No user of that name is running.
    #[error("no user named {0:?} is running")]
    UnknownUser(String),
    /// A setting is invalid.
    #[error("user configuration: {0}")]
    Config(String),
    /// The supervisor could not start the user's task.
    #[error("cannot start the user's task: {0}")]
    Spawn(String),
}

impl UserError {
    /// True for errors that retrying cannot fix: the user stops.
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        match self {
            UserError::Credentials(_)
            | UserError::Authentication { .. }
            | UserError::ClockSkew { .. }
            | UserError::DuplicateUser(_)
            | UserError::UnknownUser(_)
            | UserError::Config(_)
            | UserError::Spawn(_) => true,
            UserError::Rest(error) => Self::from_rest(error, 0).is_some_and(|e| e.is_permanent()),
            UserError::Refused { .. } => false,
        }
    }

    /// Classifies an answer `{code, msg}` of a signed request: the permanent
    /// authentication and clock errors, or `None` for anything else.
    pub(crate) fn from_code(code: i64, message: &str, recv_window_ms: u64) -> Option<Self> {
        match code {
            // Bad API key format, invalid key / IP / permissions, invalid signature,
            // unauthorized.
            -2014 | -2015 | -1022 | -1002 => Some(UserError::Authentication {
                code,
                message: message.to_owned(),
            }),
            -1021 => Some(UserError::ClockSkew {
                recv_window_ms,
                message: message.to_owned(),
            }),
            _ => None,
        }
    }

    /// The permanent error behind a refused REST call, if it is one.
    pub(crate) fn from_rest(error: &RestError, recv_window_ms: u64) -> Option<Self> {
        match error {
            RestError::Refused {
                code: Some(code),
                message,
                ..
            } => Self::from_code(*code, message, recv_window_ms),
            _ => None,
        }
    }
}
