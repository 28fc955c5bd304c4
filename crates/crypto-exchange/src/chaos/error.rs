//! The chaos module's error type: bad input and set-up failures. A scenario
//! that runs and fails its verification is not an error: it is a
//! [`ScenarioOutcome`](super::ScenarioOutcome) with status `failed`.

use std::io;
use std::path::PathBuf;

/// Why a scenario or the suite could not run, or its report not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChaosError {
    /// No scenario has this name (permanent: choose one of `valid`).
    #[error("unknown scenario {name:?}: choose one of {valid}, or all")]
    UnknownScenario {
        /// The name given.
        name: String,
        /// Every valid name, comma separated.
        valid: String,
    },
    /// A configuration value breaks a rule (permanent: fix the named field).
    #[error("invalid chaos configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// The simulator, a proxy or the client could not be started (transient
    /// when a port is busy; otherwise look at the detail).
    #[error("cannot set up the {scenario} scenario: {detail}")]
    Setup {
        /// The scenario (or `demo`).
        scenario: String,
        /// What failed.
        detail: String,
    },
    /// A report file or directory could not be written (permanent until the
    /// directory is fixed: choose another one).
    #[error("cannot write the report to directory {}: {}: {source}", .dir.display(), .path.display())]
    ReportWrite {
        /// The report directory asked for.
        dir: PathBuf,
        /// The path that failed.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The report could not be rendered as JSON (a bug: it always can).
    #[error("cannot render the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl ChaosError {
    /// Whether running the same thing again may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, ChaosError::Setup { .. })
    }

    pub(crate) fn setup(scenario: impl ToString, detail: impl ToString) -> Self {
        ChaosError::Setup {
            scenario: scenario.to_string(),
            detail: detail.to_string(),
        }
    }
}

impl From<::chaos::Error> for ChaosError {
    fn from(error: ::chaos::Error) -> Self {
        match error {
            ::chaos::Error::ReportWrite { dir, path, source } => {
                ChaosError::ReportWrite { dir, path, source }
            }
            other => ChaosError::Config(vec![other.to_string()]),
        }
    }
}
