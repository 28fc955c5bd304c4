//! The crate's one error type.
//!
//! Measures, verdicts and fault switches are values; [`Error`] is for
//! configuration mistakes and for IO the caller asked for (binding the
//! proxy's listener, writing a report).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What went wrong when starting a proxy, switching a fault, building a
/// recorder or writing a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration or fault value breaks a rule.
    ///
    /// Permanent: the same value fails the same way; fix the named field.
    #[error("invalid configuration: {field} = {value} {rule}")]
    InvalidConfig {
        /// The field's name, as written in the struct (`bytes_per_sec`).
        field: &'static str,
        /// The rejected value, formatted for people.
        value: String,
        /// The rule it breaks (`must be at least 1`).
        rule: String,
    },

    /// The proxy could not listen on its address.
    ///
    /// Transient when the address is in use (another process may release
    /// it), permanent otherwise (no permission, address not local).
    #[error("the chaos proxy cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },

    /// A report could not be written: the directory cannot be created or a
    /// file in it cannot be written.
    ///
    /// Permanent until the directory is fixed (permissions, a file in the
    /// way, a full disk): choose another directory or fix this one.
    #[error("cannot write the report to directory {dir}: {path}: {source}")]
    ReportWrite {
        /// The report directory asked for.
        dir: PathBuf,
        /// The path that failed (the directory itself or a file in it).
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// A report could not be turned into JSON or read back from it.
    ///
    /// Permanent: the same input fails the same way.
    #[error("report JSON: {source}")]
    Json {
        /// What `serde_json` said.
        #[from]
        source: serde_json::Error,
    },
}

impl Error {
    /// Whether trying the same thing again can succeed.
    ///
    /// Only [`Error::Bind`] with an address in use is transient.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Bind { source, .. } => source.kind() == io::ErrorKind::AddrInUse,
            Self::InvalidConfig { .. } | Self::ReportWrite { .. } | Self::Json { .. } => false,
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
    fn messages_name_what_failed() {
        let err = Error::invalid("max_chunk", 0_usize, "must be at least 1");
        assert_eq!(
            err.to_string(),
            "invalid configuration: max_chunk = 0 must be at least 1"
        );
        assert!(!err.is_retryable());

        let addr: SocketAddr = ([127, 0, 0, 1], 9).into();
        let busy = Error::Bind {
            addr,
            source: io::Error::from(io::ErrorKind::AddrInUse),
        };
        assert!(busy.is_retryable());
        assert!(busy.to_string().contains("127.0.0.1:9"));

        let denied = Error::ReportWrite {
            dir: "/nope".into(),
            path: "/nope/report.json".into(),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert!(!denied.is_retryable());
        assert!(denied.to_string().contains("directory /nope"));
    }
}
