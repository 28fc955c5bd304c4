//! The crate's one error type.
//!
//! Decisions (a transition, a selection, a stream's status, a poll interval)
//! are values, not errors; [`Error`] is for configuration and for misuse
//! (reporting on an endpoint or a stream the component does not know).

/// What went wrong when building or feeding one of the crate's components.
///
/// Every variant is permanent: the same call with the same input fails the
/// same way, so [`is_retryable`](Self::is_retryable) is `false` for all of
/// them today.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value breaks a rule.
    ///
    /// Permanent: fix the named field.
    #[error("invalid configuration: {field} = {value} {rule}")]
    InvalidConfig {
        /// The field's name, as written in the config struct
        /// (`endpoints.min_dwell`).
        field: &'static str,
        /// The rejected value, formatted for people (`0ns`).
        value: String,
        /// The rule it breaks (`must be greater than zero`).
        rule: String,
    },
    /// An [`EndpointSet`](crate::EndpointSet) was given no endpoints.
    ///
    /// Permanent: list at least one endpoint (the first is the primary).
    #[error(
        "invalid configuration: endpoints is empty; list at least one endpoint (the first is the primary)"
    )]
    NoEndpoints,
    /// The same endpoint appears twice in an endpoint list.
    ///
    /// Permanent: list each endpoint once.
    #[error(
        "invalid configuration: endpoint {endpoint} is listed twice in endpoints \
         (positions {first} and {second}); list each endpoint once"
    )]
    DuplicateEndpoint {
        /// The endpoint, formatted with `Debug` (`"stream.binance.com:9443"`).
        endpoint: String,
        /// Its first position (0 is the primary).
        first: usize,
        /// The position of the repetition.
        second: usize,
    },
    /// A report named an endpoint the set was not built with.
    ///
    /// Permanent: report only endpoints of the set (those a
    /// [`Selection`](crate::Selection) hands out).
    #[error("unknown endpoint {endpoint}: it is not in the endpoint set")]
    UnknownEndpoint {
        /// The endpoint, formatted with `Debug`.
        endpoint: String,
    },
    /// The same stream key appears twice in a list of streams, or a stream
    /// was added twice.
    ///
    /// Permanent: give each stream once.
    #[error("invalid input: stream {stream} is given twice; give each stream once")]
    DuplicateStream {
        /// The stream key, formatted with `Debug`.
        stream: String,
    },
    /// A call named a stream the component does not know.
    ///
    /// Permanent: add the stream first.
    #[error("unknown stream {stream}: add it before reporting on it")]
    UnknownStream {
        /// The stream key, formatted with `Debug`.
        stream: String,
    },
    /// A stream's polling parameters break a rule.
    ///
    /// Permanent: fix the named field of that stream.
    #[error("invalid input: stream {stream}: {field} = {value} {rule}")]
    InvalidStream {
        /// The stream key, formatted with `Debug`.
        stream: String,
        /// The field (`weight`, `normal_interval`).
        field: &'static str,
        /// The rejected value.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
}

impl Error {
    /// Whether trying the same thing again can succeed.
    ///
    /// Every variant today is permanent, so this returns `false`; the method
    /// exists so callers need not change when a transient variant arrives.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::InvalidConfig { .. }
            | Self::NoEndpoints
            | Self::DuplicateEndpoint { .. }
            | Self::UnknownEndpoint { .. }
            | Self::DuplicateStream { .. }
            | Self::UnknownStream { .. }
            | Self::InvalidStream { .. } => false,
        }
    }

    pub(crate) fn invalid(
        field: &'static str,
        value: impl std::fmt::Debug,
        rule: impl Into<String>,
    ) -> Self {
        Self::InvalidConfig {
            field,
            value: format!("{value:?}"),
            rule: rule.into(),
        }
    }

    pub(crate) fn unknown_stream(stream: &impl std::fmt::Debug) -> Self {
        Self::UnknownStream {
            stream: format!("{stream:?}"),
        }
    }

    pub(crate) fn duplicate_stream(stream: &impl std::fmt::Debug) -> Self {
        Self::DuplicateStream {
            stream: format!("{stream:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_culprit() {
        let err = Error::invalid(
            "endpoints.min_dwell",
            std::time::Duration::ZERO,
            "must be greater than zero",
        );
        assert_eq!(
            err.to_string(),
            "invalid configuration: endpoints.min_dwell = 0ns must be greater than zero"
        );
        let dup = Error::DuplicateEndpoint {
            endpoint: "\"a:443\"".into(),
            first: 0,
            second: 2,
        };
        assert_eq!(
            dup.to_string(),
            "invalid configuration: endpoint \"a:443\" is listed twice in endpoints \
             (positions 0 and 2); list each endpoint once"
        );
        assert!(!dup.is_retryable());
        assert!(!Error::NoEndpoints.is_retryable());
        assert!(
            Error::NoEndpoints
                .to_string()
                .contains("endpoints is empty")
        );
    }
}
