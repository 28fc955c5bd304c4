//! The crate's one error type.
//!
//! Decisions (reconnect, back off, abandon, wait for the budget) are values,
//! not errors; [`Error`] is only for misuse and configuration.

/// What went wrong when building a [`Reconnector`](crate::Reconnector) or an
/// [`AttemptBudget`](crate::AttemptBudget).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value breaks a rule.
    ///
    /// Permanent: retrying with the same configuration fails the same way;
    /// fix the named field.
    #[error("invalid configuration: {field} = {value} {rule}")]
    InvalidConfig {
        /// The field's name, as written in the config struct (`max_delay`).
        field: &'static str,
        /// The rejected value, formatted for people (`10s`).
        value: String,
        /// The rule it breaks (`must not be below initial_delay = 30s`).
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
            Self::InvalidConfig { .. } => false,
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
    use std::time::Duration;

    #[test]
    fn message_names_field_value_and_rule() {
        let err = Error::invalid(
            "max_delay",
            Duration::from_secs(10),
            "must not be below initial_delay = 30s",
        );
        assert_eq!(
            err.to_string(),
            "invalid configuration: max_delay = 10s must not be below initial_delay = 30s"
        );
        assert!(!err.is_retryable());
    }
}
