//! The crate's one error type.
//!
//! Levels, alerts and diagnostics are values, not errors; [`Error`] is only
//! for misuse, configuration and (with the `http` feature) the ops server.

/// What went wrong when building a [`Monitor`](crate::Monitor) or, with the
/// `http` feature, installing the Prometheus recorder or serving the ops
/// endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value breaks a rule.
    ///
    /// Permanent: the same configuration fails the same way; fix the named
    /// field.
    #[error("invalid configuration: {field} = {value} {rule}")]
    InvalidConfig {
        /// The field's name, as written in the config struct
        /// (`silence_warning_factor`).
        field: &'static str,
        /// The rejected value, formatted for people (`0.5`).
        value: String,
        /// The rule it breaks (`must be at least 1`).
        rule: String,
    },
    /// The ops endpoint could not bind its address (in use, no permission).
    ///
    /// Transient: the address may be free on a later try.
    #[error("cannot bind the ops endpoint to {addr}: {detail}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The operating system's message.
        detail: String,
    },
    /// The ops server stopped with an I/O error.
    ///
    /// Transient: serving again may succeed.
    #[error("ops endpoint failed: {detail}")]
    Serve {
        /// What failed.
        detail: String,
    },
    /// The Prometheus recorder could not be built or installed (another
    /// global recorder is already installed, or a bucket list is invalid).
    ///
    /// Permanent: a process has one global recorder.
    #[error("cannot install the Prometheus recorder: {detail}")]
    Recorder {
        /// What the exporter reported.
        detail: String,
    },
}

impl Error {
    /// Whether trying the same thing again can succeed: `true` for
    /// [`Error::Bind`] and [`Error::Serve`], `false` otherwise.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::InvalidConfig { .. } | Self::Recorder { .. } => false,
            Self::Bind { .. } | Self::Serve { .. } => true,
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
    fn messages_and_retryability() {
        let err = Error::invalid("silence_warning_factor", 0.5, "must be at least 1");
        assert_eq!(
            err.to_string(),
            "invalid configuration: silence_warning_factor = 0.5 must be at least 1"
        );
        assert!(!err.is_retryable());
        let bind = Error::Bind {
            addr: "127.0.0.1:9".into(),
            detail: "address in use".into(),
        };
        assert!(bind.is_retryable());
        assert!(Error::Serve { detail: "x".into() }.is_retryable());
        assert!(!Error::Recorder { detail: "x".into() }.is_retryable());
    }
}
