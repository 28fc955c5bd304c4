//! Checking measures against what a client promises.

use std::fmt;
use std::time::Duration;

use humantime::format_duration;

use super::types::Measures;

/// Whether Binance's limits are part of the guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitsRule {
    /// Every known limit figure must be within its limit.
    Enforced,
    /// Limits are reported, not judged.
    Ignored,
}

/// What a client promises; [`Verdict::check`] compares measures with it.
///
/// The `Default` is the data-integrity contract of DESIGN.md §5 and nothing
/// more: no event lost, duplicated or out of order, no wrong book, Binance
/// limits respected; times and availability are not judged (`None`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Guarantees {
    /// Most lost events per stream.
    pub max_lost: u64,
    /// Most duplicated deliveries per stream.
    pub max_duplicated: u64,
    /// Most out-of-order deliveries per stream.
    pub max_out_of_order: u64,
    /// Most wrong books per stream.
    pub max_book_mismatches: u64,
    /// Longest time from a fault's start to a stream's next event, also
    /// for a stream still waiting at the end.
    #[serde(with = "crate::secs::option")]
    pub max_mttr: Option<Duration>,
    /// Lowest availability per stream, 0 to 1.
    pub min_availability: Option<f64>,
    /// Lowest share of judged faults recovered, 0 to 1.
    pub min_recovery_success: Option<f64>,
    /// Oldest the freshest data of a stream may get.
    #[serde(with = "crate::secs::option")]
    pub max_data_age: Option<Duration>,
    /// Whether Binance's limits are judged.
    pub limits: LimitsRule,
}

impl Default for Guarantees {
    fn default() -> Self {
        Self {
            max_lost: 0,
            max_duplicated: 0,
            max_out_of_order: 0,
            max_book_mismatches: 0,
            max_mttr: None,
            min_availability: None,
            min_recovery_success: None,
            max_data_age: None,
            limits: LimitsRule::Enforced,
        }
    }
}

/// Which Binance limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// Frames sent per second on one connection.
    FramesPerSecond,
    /// Connection attempts per 5 minutes.
    ConnectionAttempts,
    /// REST weight per minute.
    RestWeight,
}

/// One broken promise.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Violation {
    /// Too many events lost.
    Lost {
        /// The stream.
        stream: String,
        /// Events lost.
        lost: u64,
        /// The most allowed.
        max: u64,
    },
    /// Too many duplicated deliveries.
    Duplicated {
        /// The stream.
        stream: String,
        /// Duplicated deliveries.
        duplicated: u64,
        /// The most allowed.
        max: u64,
    },
    /// Too many out-of-order deliveries.
    OutOfOrder {
        /// The stream.
        stream: String,
        /// Out-of-order deliveries.
        out_of_order: u64,
        /// The most allowed.
        max: u64,
    },
    /// Too many wrong books.
    BookMismatches {
        /// The stream.
        stream: String,
        /// Wrong books.
        mismatches: u64,
        /// The most allowed.
        max: u64,
    },
    /// Recovery took too long (or has not happened by the end).
    Mttr {
        /// The stream.
        stream: String,
        /// The longest recovery, or how long it has been waiting.
        mttr: std::time::Duration,
        /// The most allowed.
        max: std::time::Duration,
    },
    /// A stream was available too little.
    Availability {
        /// The stream.
        stream: String,
        /// Its availability.
        availability: f64,
        /// The least allowed.
        min: f64,
    },
    /// A stream's data got too old.
    DataAge {
        /// The stream.
        stream: String,
        /// Its oldest data age.
        age: std::time::Duration,
        /// The most allowed.
        max: std::time::Duration,
    },
    /// Too few faults were recovered from.
    RecoverySuccess {
        /// The share recovered.
        rate: f64,
        /// The least allowed.
        min: f64,
    },
    /// A Binance limit was exceeded.
    Limit {
        /// Which.
        limit: LimitKind,
        /// The figure observed.
        observed: u64,
        /// The limit.
        allowed: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lost { stream, lost, max } => {
                write!(f, "{stream}: {lost} events lost (at most {max} allowed)")
            }
            Self::Duplicated {
                stream,
                duplicated,
                max,
            } => write!(
                f,
                "{stream}: {duplicated} duplicated (at most {max} allowed)"
            ),
            Self::OutOfOrder {
                stream,
                out_of_order,
                max,
            } => write!(
                f,
                "{stream}: {out_of_order} out of order (at most {max} allowed)"
            ),
            Self::BookMismatches {
                stream,
                mismatches,
                max,
            } => write!(
                f,
                "{stream}: {mismatches} wrong books (at most {max} allowed)"
            ),
            Self::Mttr { stream, mttr, max } => write!(
                f,
                "{stream}: recovery took {} (at most {} allowed)",
                format_duration(*mttr),
                format_duration(*max)
            ),
            Self::Availability {
                stream,
                availability,
                min,
            } => write!(
                f,
                "{stream}: available {:.3} % of the time (at least {:.3} % required)",
                availability * 100.0,
                min * 100.0
            ),
            Self::DataAge { stream, age, max } => write!(
                f,
                "{stream}: data {} old (at most {} allowed)",
                format_duration(*age),
                format_duration(*max)
            ),
            Self::RecoverySuccess { rate, min } => write!(
                f,
                "{:.1} % of faults recovered from (at least {:.1} % required)",
                rate * 100.0,
                min * 100.0
            ),
            Self::Limit {
                limit,
                observed,
                allowed,
            } => {
                let what = match limit {
                    LimitKind::FramesPerSecond => "frames per second on a connection",
                    LimitKind::ConnectionAttempts => "connection attempts per 5 minutes",
                    LimitKind::RestWeight => "REST weight per minute",
                };
                write!(f, "{observed} {what} (at most {allowed} allowed)")
            }
        }
    }
}

/// The outcome of checking measures against guarantees.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// No violation.
    pub passed: bool,
    /// Every broken promise, streams in name order.
    pub violations: Vec<Violation>,
}

impl Verdict {
    /// Every violation of `guarantees` in `measures`, or `Ok` when none.
    ///
    /// # Errors
    ///
    /// The violations, all of them, when there is at least one.
    pub fn check(measures: &Measures, guarantees: &Guarantees) -> Result<(), Vec<Violation>> {
        let violations = violations(measures, guarantees);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    /// The verdict as a value, for a report.
    #[must_use]
    pub fn of(measures: &Measures, guarantees: &Guarantees) -> Self {
        let violations = violations(measures, guarantees);
        Self {
            passed: violations.is_empty(),
            violations,
        }
    }
}

fn violations(measures: &Measures, g: &Guarantees) -> Vec<Violation> {
    let mut out = Vec::new();
    for (name, s) in &measures.streams {
        let stream = || name.clone();
        if s.lost > g.max_lost {
            out.push(Violation::Lost {
                stream: stream(),
                lost: s.lost,
                max: g.max_lost,
            });
        }
        if s.duplicated > g.max_duplicated {
            out.push(Violation::Duplicated {
                stream: stream(),
                duplicated: s.duplicated,
                max: g.max_duplicated,
            });
        }
        if s.out_of_order > g.max_out_of_order {
            out.push(Violation::OutOfOrder {
                stream: stream(),
                out_of_order: s.out_of_order,
                max: g.max_out_of_order,
            });
        }
        if s.book_mismatches > g.max_book_mismatches {
            out.push(Violation::BookMismatches {
                stream: stream(),
                mismatches: s.book_mismatches,
                max: g.max_book_mismatches,
            });
        }
        if let Some(max) = g.max_mttr {
            let worst = s.mttr.max.max(s.unrecovered_for);
            if let Some(mttr) = worst.filter(|&mttr| mttr > max) {
                out.push(Violation::Mttr {
                    stream: stream(),
                    mttr,
                    max,
                });
            }
        }
        if let Some(min) = g.min_availability.filter(|&min| s.availability < min) {
            out.push(Violation::Availability {
                stream: stream(),
                availability: s.availability,
                min,
            });
        }
        if let Some(max) = g.max_data_age.filter(|&max| s.max_data_age > max) {
            out.push(Violation::DataAge {
                stream: stream(),
                age: s.max_data_age,
                max,
            });
        }
    }
    let overall = &measures.overall;
    if let (Some(min), Some(rate)) = (g.min_recovery_success, overall.recovery_success_rate)
        && rate < min
    {
        out.push(Violation::RecoverySuccess { rate, min });
    }
    if g.limits == LimitsRule::Enforced {
        let limits = &overall.limits;
        let figures = [
            (
                LimitKind::FramesPerSecond,
                limits.frames_per_sec_max,
                limits.allowed.frames_per_sec,
            ),
            (
                LimitKind::ConnectionAttempts,
                limits.connection_attempts_5min_max,
                limits.allowed.connection_attempts_per_5min,
            ),
            (
                LimitKind::RestWeight,
                limits.rest_weight_1m_max,
                limits.allowed.rest_weight_per_min,
            ),
        ];
        for (limit, observed, allowed) in figures {
            if let Some(observed) = observed.filter(|&o| o > allowed) {
                out.push(Violation::Limit {
                    limit,
                    observed,
                    allowed,
                });
            }
        }
    }
    out
}
