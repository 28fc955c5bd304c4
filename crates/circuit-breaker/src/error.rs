//! The crate's one error type.
//!
//! Admissions and rejections are values ([`Admission`](crate::Admission)),
//! not errors; [`Error`] is for configuration, and for callers who want a
//! rejection as an error they can `?` ([`Admission::into_result`](crate::Admission::into_result)).

use std::time::Instant;

/// What went wrong when building a [`Breaker`](crate::Breaker) or a
/// [`Registry`](crate::Registry), or a rejection turned into an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value breaks a rule.
    ///
    /// Permanent: retrying with the same configuration fails the same way;
    /// fix the named field.
    #[error("invalid configuration: {field} = {value} {rule}")]
    InvalidConfig {
        /// The field's name, as written in the config struct
        /// (`failure_rate.minimum_calls`).
        field: &'static str,
        /// The rejected value, formatted for people (`0`, `0ns`).
        value: String,
        /// The rule it breaks (`must be at least 1`).
        rule: String,
    },
    /// The breaker is open: the call was not made.
    ///
    /// Transient: ask again at `retry_at`.
    #[error("circuit open: the call was not made; retry at {retry_at:?}")]
    CircuitOpen {
        /// When the breaker may admit a call again (see
        /// [`Admission::Rejected`](crate::Admission::Rejected)).
        retry_at: Instant,
    },
}

impl Error {
    /// Whether trying the same thing again can succeed: `true` for
    /// [`Error::CircuitOpen`] (at its `retry_at`), `false` for
    /// [`Error::InvalidConfig`].
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::InvalidConfig { .. } => false,
            Self::CircuitOpen { .. } => true,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_field_value_and_rule() {
        let err = Error::invalid("half_open_probes", 0_u32, "must be at least 1");
        assert_eq!(
            err.to_string(),
            "invalid configuration: half_open_probes = 0 must be at least 1"
        );
        assert!(!err.is_retryable());
    }

    #[test]
    #[allow(
        clippy::disallowed_methods,
        reason = "any instant will do for a message test"
    )]
    fn circuit_open_is_retryable() {
        let err = Error::CircuitOpen {
            retry_at: Instant::now(),
        };
        assert!(err.is_retryable());
        assert!(
            err.to_string()
                .starts_with("circuit open: the call was not made")
        );
    }
}
