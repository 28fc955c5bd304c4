//! A run's report: the measures, the timeline and the verdict, as JSON,
//! Markdown and an SVG picture, written to a directory.

mod format;
mod markdown;
mod svg;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::measure::{Guarantees, Measures, Recording, Timeline, Verdict};

/// One scenario's report.
///
/// ```
/// use std::time::{Duration, Instant, SystemTime};
///
/// use chaos::{Delivered, Guarantees, Recorder, RecorderConfig, Report};
///
/// let t0 = Instant::now();
/// let mut recorder = Recorder::new(RecorderConfig::default(), t0)?;
/// recorder.on_event("btcusdt@aggTrade", Delivered::id(1), t0);
/// let fault = recorder.on_fault_start("reset", t0 + Duration::from_secs(1));
/// recorder.on_fault_end(fault, t0 + Duration::from_secs(1));
/// recorder.on_event("btcusdt@aggTrade", Delivered::id(2), t0 + Duration::from_secs(2));
///
/// let recording = recorder.finish(t0 + Duration::from_secs(3));
/// let report = Report::new("reset once", Some(7), SystemTime::UNIX_EPOCH, recording, Guarantees::default());
/// assert!(report.verdict.passed);
/// assert!(report.to_markdown().contains("reset once"));
/// assert!(report.to_svg().contains("class=\"fault-window\""));
/// let back = chaos::Report::from_json(&report.to_json()?)?;
/// assert_eq!(back, report);
/// # Ok::<(), chaos::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// The seed that replays it, if it has one.
    pub seed: Option<u64>,
    /// When it started, RFC 3339 in UTC (`2026-11-28T10:00:00Z`).
    pub started: String,
    /// How long it ran.
    #[serde(with = "crate::secs")]
    pub duration: Duration,
    /// What the client was held to.
    pub guarantees: Guarantees,
    /// Whether it kept its promises.
    pub verdict: Verdict,
    /// The measures.
    pub measures: Measures,
    /// Events per bucket per stream, fault windows and state lanes.
    pub timeline: Timeline,
}

/// Where [`Report::write_to`] wrote the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// `report.json`.
    pub json: PathBuf,
    /// `report.md`, which shows `timeline.svg`.
    pub markdown: PathBuf,
    /// `timeline.svg`.
    pub svg: PathBuf,
}

impl Report {
    /// The report of a finished recording, judged against `guarantees`.
    #[must_use]
    pub fn new(
        scenario: impl Into<String>,
        seed: Option<u64>,
        started: SystemTime,
        recording: Recording,
        guarantees: Guarantees,
    ) -> Self {
        let verdict = Verdict::of(&recording.measures, &guarantees);
        Self {
            scenario: scenario.into(),
            seed,
            started: humantime::format_rfc3339_seconds(started).to_string(),
            duration: recording.measures.duration,
            guarantees,
            verdict,
            measures: recording.measures,
            timeline: recording.timeline,
        }
    }

    /// The report as pretty-printed JSON; durations are seconds.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] if serialisation fails (it does not for reports this
    /// crate builds).
    pub fn to_json(&self) -> Result<String, Error> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// A report read back from [`Report::to_json`]'s output.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] naming what is wrong with the text.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        Ok(serde_json::from_str(text)?)
    }

    /// The report as Markdown: a summary, the fault windows, a table of
    /// streams, the violations; it shows `timeline.svg` from its directory.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }

    /// The timeline as a standalone SVG picture: events per second per
    /// stream, shaded fault windows, and lanes of connection, breaker and
    /// health states.
    #[must_use]
    pub fn to_svg(&self) -> String {
        svg::render(self)
    }

    /// Writes `report.json`, `report.md` and `timeline.svg` into `dir`,
    /// creating it if needed.
    ///
    /// # Errors
    ///
    /// [`Error::ReportWrite`] naming the directory and the path that failed
    /// when the directory cannot be created or a file cannot be written;
    /// [`Error::Json`] if serialisation fails.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<ReportFiles, Error> {
        let dir = dir.as_ref();
        let failed = |path: &Path| {
            let dir = dir.to_path_buf();
            let path = path.to_path_buf();
            move |source| Error::ReportWrite { dir, path, source }
        };
        fs::create_dir_all(dir).map_err(failed(dir))?;
        let files = ReportFiles {
            json: dir.join("report.json"),
            markdown: dir.join("report.md"),
            svg: dir.join("timeline.svg"),
        };
        fs::write(&files.json, self.to_json()?).map_err(failed(&files.json))?;
        fs::write(&files.markdown, self.to_markdown()).map_err(failed(&files.markdown))?;
        fs::write(&files.svg, self.to_svg()).map_err(failed(&files.svg))?;
        Ok(files)
    }
}
