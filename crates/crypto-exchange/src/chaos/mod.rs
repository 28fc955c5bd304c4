//! The resilience suite: seeded fault scenarios run against the embedded
//! simulator, measured by counting, judged against guarantees, reported as
//! JSON, Markdown and an SVG timeline (the seed's `ResilienceTester` and the
//! `FaultTolerance` API's `run_resilience_test` / `run_full_resilience_test`).
//!
//! Each [`Scenario`] starts its own test bed: `binance-sim` with a seeded
//! market, a `chaos` fault proxy in front of its WebSocket listener and one in
//! front of its REST listener, and a [`Client`](crate::Client) pointed at the
//! proxies with short [`Timings`]. It subscribes to three symbols' `aggTrade`
//! streams (and one symbol's depth stream with an
//! [`OrderBooks`](crate::book::OrderBooks) book), feeds a
//! [`Recorder`] from everything the client delivers and signals, injects its
//! faults at seeded moments through the proxies or the simulator's controls,
//! waits until every stream delivers again, freezes the market and gives the
//! recorder the simulator's own `aggTrade` history as the truth; then the
//! measures are judged against [`Scenario::guarantees`] (nothing lost,
//! duplicated or out of order, the book equal to the simulator's, every
//! fault recovered within a bound, Binance's limits respected) and the
//! scenario's own [`Expectation`]s (the breaker opened, the backoff was
//! longer after 1008, …). `docs/chaos.md` has the table of scenarios.
//!
//! ## Design
//!
//! The scenarios create their own clients, so the entry points are free
//! functions rather than methods of [`Client`](crate::Client). Everything a
//! scenario starts is owned by one value and stops when it is dropped: a
//! failed verification, a deadline or a panic never leaves a simulator or a
//! proxy running. Seeds make the market and the fault schedule replayable;
//! the exact interleaving of real-time events still differs between runs.
//! This module does not mock time: scenarios run in real time, seconds each.
//!
//! ## Example
//!
//! ```no_run
//! use crypto_exchange::chaos::{Scenario, ScenarioConfig, run_resilience_test};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), crypto_exchange::chaos::ChaosError> {
//! let outcome = run_resilience_test(Scenario::ConnectionFailure, &ScenarioConfig::new(7)).await?;
//! println!("{}", outcome.summary_line());
//! if let Some(report) = &outcome.report {
//!     report.write_to("target/chaos/connection-failure")?;
//! }
//! # Ok(()) }
//! ```

mod config;
mod ctx;
mod demo;
mod error;
mod outcome;
mod runner;
mod scenario;
mod scripts;
mod testbed;
#[cfg(test)]
mod tests;
mod verify;
mod watch;

pub use ::chaos::{
    Delivered, Guarantees, Measures, ObservedLimits, Recorder, RecorderConfig, Recording, Report,
    StreamSpec, Verdict, Violation,
};
pub use config::{MAX_DURATION, MIN_DURATION, ScenarioConfig, Timings};
pub use demo::{Demo, DemoConfig, DemoNote, DemoStatus, DemoSummary, StreamStatus};
pub use error::ChaosError;
pub use outcome::{Expectation, ScenarioOutcome, Status, SuiteOutcome, check_report_dir};
pub use runner::{Progress, run_full_resilience_test, run_resilience_test, run_scenarios};
pub use scenario::{Scenario, parse_selection};
