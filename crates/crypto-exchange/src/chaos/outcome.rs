//! What a scenario run comes to: a status, the `chaos` crate's report (measures,
//! timeline, verdict), the scenario's own expectations; and the suite's
//! outcome, as JSON and Markdown, written to a directory.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ::chaos::{Guarantees, Recording, Report};
use serde::Serialize;

use super::error::ChaosError;
use super::scenario::Scenario;

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every guarantee held and every expectation was met.
    Passed,
    /// A guarantee was broken, an expectation not met, or the run crashed or
    /// timed out.
    Failed,
    /// Not run to a verdict: this build cannot do what the scenario tests
    /// (the reason says what). Never counted as a pass.
    Skipped,
}

impl Status {
    /// `passed`, `FAILED` or `skipped`.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        }
    }
}

/// One thing a scenario checks besides the measures: that the fault was
/// really felt and handled the way the scenario is about (the breaker
/// opened, the rate-limit backoff was longer, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expectation {
    /// What was expected.
    pub what: String,
    /// Whether it was met.
    pub met: bool,
    /// What was observed.
    pub detail: String,
}

impl Expectation {
    /// An expectation and what was observed.
    #[must_use]
    pub fn new(what: impl Into<String>, met: bool, detail: impl Into<String>) -> Self {
        Expectation {
            what: what.into(),
            met,
            detail: detail.into(),
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioOutcome {
    /// The scenario.
    pub scenario: Scenario,
    /// Passed, failed or skipped.
    pub status: Status,
    /// Why it was skipped, crashed or timed out; `None` otherwise.
    pub reason: Option<String>,
    /// The seed that replays it.
    pub seed: u64,
    /// The scenario's expectations, each met or not.
    pub expectations: Vec<Expectation>,
    /// The measures, timeline and verdict; `None` when the run ended before
    /// anything could be measured (skipped early, crashed).
    pub report: Option<Report>,
    /// How long the run took, set-up and teardown included.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl ScenarioOutcome {
    /// Judges a recording: the report against `guarantees`, then the
    /// expectations. Passed only when the verdict passed and every
    /// expectation was met.
    #[must_use]
    pub fn judge(
        scenario: Scenario,
        seed: u64,
        started: SystemTime,
        recording: Recording,
        guarantees: Guarantees,
        expectations: Vec<Expectation>,
        elapsed: Duration,
    ) -> Self {
        let report = Report::new(scenario.name(), Some(seed), started, recording, guarantees);
        let status = if report.verdict.passed && expectations.iter().all(|e| e.met) {
            Status::Passed
        } else {
            Status::Failed
        };
        ScenarioOutcome {
            scenario,
            status,
            reason: None,
            seed,
            expectations,
            report: Some(report),
            elapsed,
        }
    }

    /// A run that ended without a verdict: failed (a crash, a timeout) or
    /// skipped, with the reason.
    #[must_use]
    pub fn ended(scenario: Scenario, seed: u64, status: Status, reason: impl Into<String>, elapsed: Duration) -> Self {
        ScenarioOutcome {
            scenario,
            status,
            reason: Some(reason.into()),
            seed,
            expectations: Vec::new(),
            report: None,
            elapsed,
        }
    }

    /// True unless it failed (a skip is not a failure, nor a pass).
    #[must_use]
    pub fn is_failure(&self) -> bool {
        self.status == Status::Failed
    }

    /// Every problem, one line each: violations, unmet expectations, the reason.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(report) = &self.report {
            out.extend(report.verdict.violations.iter().map(ToString::to_string));
        }
        out.extend(
            self.expectations
                .iter()
                .filter(|e| !e.met)
                .map(|e| format!("expected {}: {}", e.what, e.detail)),
        );
        if self.status != Status::Passed {
            out.extend(self.reason.clone());
        }
        out
    }

    /// One line: name, status, key figures or the first problem.
    #[must_use]
    pub fn summary_line(&self) -> String {
        let mut line = format!(
            "{:<18} {:<7} {:>6.1}s",
            self.scenario.name(),
            self.status.label(),
            self.elapsed.as_secs_f64()
        );
        if let Some(report) = &self.report {
            let o = &report.measures.overall;
            let _ = write!(
                line,
                "  events {} faults {} (recovered {}) MTTR max {} lost {} dup {} ooo {}",
                o.events,
                o.faults,
                o.faults_recovered,
                o.mttr
                    .max
                    .map_or_else(|| "-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64())),
                o.lost,
                o.duplicated,
                o.out_of_order
            );
        }
        if self.status == Status::Skipped
            && let Some(reason) = &self.reason
        {
            let _ = write!(line, "  {reason}");
        } else if let Some(first) = self.problems().first() {
            let _ = write!(line, "  {first}");
        }
        line
    }

    /// The report's Markdown followed by the status and the expectations.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = match &self.report {
            Some(report) => report.to_markdown(),
            None => format!("# Chaos report: {}\n\n", self.scenario),
        };
        let _ = writeln!(out, "\n## Scenario\n");
        let _ = writeln!(out, "- **{}**: {}", self.scenario, self.status.label());
        let _ = writeln!(out, "- injected: {}", self.scenario.injects());
        let _ = writeln!(out, "- verified: {}", self.scenario.verifies());
        if let Some(reason) = &self.reason {
            let _ = writeln!(out, "- reason: {reason}");
        }
        let _ = writeln!(out, "\n### Expectations\n");
        if self.expectations.is_empty() {
            let _ = writeln!(out, "None checked.");
        } else {
            let _ = writeln!(out, "| expectation | met | observed |\n|---|---|---|");
            for e in &self.expectations {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    e.what.replace('|', "\\|"),
                    if e.met { "yes" } else { "**no**" },
                    e.detail.replace('|', "\\|")
                );
            }
        }
        out
    }
}

/// The result of several scenarios run with one seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuiteOutcome {
    /// The seed every scenario ran with.
    pub seed: u64,
    /// Each scenario's outcome, in run order.
    pub outcomes: Vec<ScenarioOutcome>,
    /// The whole run.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
}

impl SuiteOutcome {
    /// True when no scenario failed.
    #[must_use]
    pub fn passed(&self) -> bool {
        !self.outcomes.iter().any(ScenarioOutcome::is_failure)
    }

    /// How many scenarios passed, failed and were skipped.
    #[must_use]
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |s| self.outcomes.iter().filter(|o| o.status == s).count();
        (count(Status::Passed), count(Status::Failed), count(Status::Skipped))
    }

    /// The whole outcome as pretty JSON (each scenario with its full report;
    /// durations in seconds).
    ///
    /// # Errors
    /// [`ChaosError::Json`], which does not happen for outcomes built here.
    pub fn to_json(&self) -> Result<String, ChaosError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// A summary table, then each scenario's status, problems and timeline.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let (passed, failed, skipped) = self.counts();
        let mut out = format!(
            "# Chaos suite, seed {}\n\n{passed} passed, {failed} failed, {skipped} skipped in {:.1} s. Replay: `crypto-exchange chaos --seed {}`.\n\n",
            self.seed,
            self.elapsed.as_secs_f64(),
            self.seed
        );
        out.push_str("| scenario | result | events | faults (recovered) | MTTR mean / max | lowest availability | lost / dup / out of order | books wrong | limits |\n");
        out.push_str("|---|---|--:|--:|--:|--:|--:|--:|---|\n");
        for o in &self.outcomes {
            let name = format!("[{0}]({0}/report.md)", o.scenario);
            match &o.report {
                Some(r) => {
                    let m = &r.measures.overall;
                    let s = |d: Option<Duration>| d.map_or_else(|| "–".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()));
                    let _ = writeln!(
                        out,
                        "| {name} | {} | {} | {} ({}) | {} / {} | {} | {} / {} / {} | {} | {} |",
                        o.status.label(),
                        m.events,
                        m.faults,
                        m.faults_recovered,
                        s(m.mttr.mean),
                        s(m.mttr.max),
                        m.min_availability
                            .map_or_else(|| "–".to_owned(), |a| format!("{:.1} %", a * 100.0)),
                        m.lost,
                        m.duplicated,
                        m.out_of_order,
                        m.book_mismatches,
                        if m.limits.respected { "respected" } else { "**exceeded**" }
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | – | – | – | – | – | – | {} |",
                        o.scenario,
                        o.status.label(),
                        o.reason.clone().unwrap_or_default().replace('|', "\\|")
                    );
                }
            }
        }
        for o in &self.outcomes {
            let _ = writeln!(out, "\n## {}: {}\n", o.scenario, o.status.label());
            let _ = writeln!(out, "Injected: {}.\n\nVerified: {}.\n", o.scenario.injects(), o.scenario.verifies());
            for problem in o.problems() {
                let _ = writeln!(out, "- {problem}");
            }
            if o.report.is_some() {
                let _ = writeln!(out, "\n![{0} timeline]({0}/timeline.svg)", o.scenario);
            }
        }
        out
    }

    /// Writes `summary.md` and `suite.json` into `dir`, and each measured
    /// scenario's `report.json`, `report.md` and `timeline.svg` into
    /// `dir/<scenario>/`, creating directories as needed; returns the path of
    /// `summary.md`.
    ///
    /// # Errors
    /// [`ChaosError::ReportWrite`] naming the directory and the path that
    /// failed.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<PathBuf, ChaosError> {
        let dir = dir.as_ref();
        let failed = |path: &Path| {
            let (dir, path) = (dir.to_path_buf(), path.to_path_buf());
            move |source| ChaosError::ReportWrite { dir, path, source }
        };
        fs::create_dir_all(dir).map_err(failed(dir))?;
        for outcome in &self.outcomes {
            let Some(report) = &outcome.report else {
                continue;
            };
            let files = report.write_to(dir.join(outcome.scenario.name()))?;
            fs::write(&files.markdown, outcome.to_markdown()).map_err(failed(&files.markdown))?;
        }
        let json = dir.join("suite.json");
        fs::write(&json, self.to_json()?).map_err(failed(&json))?;
        let summary = dir.join("summary.md");
        fs::write(&summary, self.to_markdown()).map_err(failed(&summary))?;
        Ok(summary)
    }
}

/// Checks that `dir` can be created and written, before a long run, by
/// writing and removing a probe file.
///
/// # Errors
/// [`ChaosError::ReportWrite`] naming the directory and what failed.
pub fn check_report_dir(dir: impl AsRef<Path>) -> Result<(), ChaosError> {
    let dir = dir.as_ref();
    let failed = |path: &Path| {
        let (dir, path) = (dir.to_path_buf(), path.to_path_buf());
        move |source| ChaosError::ReportWrite { dir, path, source }
    };
    fs::create_dir_all(dir).map_err(failed(dir))?;
    let probe = dir.join(".crypto-exchange-chaos-probe");
    fs::write(&probe, b"probe").map_err(failed(&probe))?;
    fs::remove_file(&probe).map_err(failed(&probe))?;
    Ok(())
}
