//! The crate's one error type.
//!
//! Classifications, recovery actions and supervisor outcomes are values, not
//! errors; [`Error`] is only for misuse and configuration.

/// What went wrong when building a [`Recovery`](crate::Recovery), a
/// [`RestartIntensity`](crate::RestartIntensity) or a supervisor, or when
/// adding a child to one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value breaks a rule.
    ///
    /// Permanent: retrying with the same configuration fails the same way;
    /// fix the named field.
    #[error("invalid configuration: {field} = {value} {rule}")]
    InvalidConfig {
        /// The field's name, as written in the config struct (`window`,
        /// `policy.server`).
        field: &'static str,
        /// The rejected value, formatted for people (`0ns`).
        value: String,
        /// The rule it breaks (`must be greater than zero`).
        rule: String,
    },
    /// A child with this name is already running.
    ///
    /// Permanent: names identify children in events and status, so no two
    /// running children of one supervisor may share one; pick another name,
    /// or wait until that child has stopped or escalated.
    #[error("a child named `{name}` is already running; running children need unique names")]
    DuplicateChild {
        /// The name asked for.
        name: String,
    },
    /// A child name is empty.
    ///
    /// Permanent: give the child a name that says what it is (`driver-0`).
    #[error("a child name must not be empty")]
    EmptyChildName,
    /// A child was spawned outside a tokio runtime.
    ///
    /// Permanent for this call site: spawn from within the runtime (inside
    /// `#[tokio::main]`, a task, or `Runtime::enter`).
    #[error("children must be spawned from within a tokio runtime")]
    NoRuntime,
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
            | Self::DuplicateChild { .. }
            | Self::EmptyChildName
            | Self::NoRuntime => false,
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
    fn messages_name_the_problem() {
        let err = Error::invalid("window", Duration::ZERO, "must be greater than zero");
        assert_eq!(
            err.to_string(),
            "invalid configuration: window = 0ns must be greater than zero"
        );
        assert!(!err.is_retryable());
        let dup = Error::DuplicateChild {
            name: "driver".into(),
        };
        assert_eq!(
            dup.to_string(),
            "a child named `driver` is already running; running children need unique names"
        );
        assert!(!dup.is_retryable());
        assert!(!Error::EmptyChildName.is_retryable());
        assert!(!Error::NoRuntime.is_retryable());
    }
}
