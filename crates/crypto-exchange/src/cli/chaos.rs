//! `crypto-exchange chaos`: runs resilience scenarios against the embedded
//! simulator and writes a report (JSON, Markdown, SVG timelines).
//!
//! Prints the seed first (with the command that replays the run), one line
//! per scenario as it ends, the summary and the report's path. `--seeds N`
//! repeats the run with N consecutive seeds (each replayable on its own,
//! each with its own report directory) and ends with the seeds that failed.
//! With `--json` each run's suite JSON goes to stdout (one line per seed)
//! and everything else to stderr. Exit codes:
//! 0 when no scenario failed (a skipped one is not a failure), 1 when one
//! failed its verification, 2 for bad arguments or a report directory that
//! cannot be written.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crypto_exchange::chaos::{
    self, MAX_DURATION, MIN_DURATION, Progress, Scenario, ScenarioConfig, Status,
};

use super::{EXIT_RUNTIME, EXIT_USAGE};

/// Options of `chaos`.
#[derive(Debug, clap::Args)]
pub(crate) struct ChaosArgs {
    /// Which scenarios: a name, several separated by commas, or `all`.
    /// Names: connection-failure, network-partition, rate-limiting,
    /// circuit-breaker, stall, server-errors, rotation, endpoint-failover,
    /// slow-consumer.
    #[arg(long, value_name = "NAME|all", default_value = "all", value_parser = scenarios)]
    scenario: Selection,
    /// Seeds the market and the fault schedule (default: drawn at random and
    /// printed, so the run can be replayed).
    #[arg(long, value_parser = seed, allow_hyphen_values = true)]
    seed: Option<u64>,
    /// Run the selection this many times, with the seeds `seed`, `seed + 1`,
    /// … (1 to 1000).
    #[arg(long, default_value = "1", value_parser = seeds, allow_hyphen_values = true)]
    seeds: u64,
    /// How long faults are injected per scenario (8s to 1h).
    #[arg(long, default_value = "15s", value_parser = duration, allow_hyphen_values = true)]
    duration: Duration,
    /// Print the suite's JSON report on stdout (progress goes to stderr).
    #[arg(long)]
    json: bool,
    /// Where to write the report (summary.md, suite.json, and per scenario
    /// report.json, report.md, timeline.svg); default: a directory under the
    /// system's temporary directory, named after the seed. With `--seeds`
    /// above 1, each seed's report goes to `DIR/seed-N`.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

/// The scenarios chosen with `--scenario`.
#[derive(Debug, Clone)]
struct Selection(Vec<Scenario>);

fn scenarios(text: &str) -> Result<Selection, String> {
    chaos::parse_selection(text)
        .map(Selection)
        .map_err(|e| e.to_string())
}

fn seed(text: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "{text:?} is not a seed: write a whole number from 0 to {}",
            u64::MAX
        )
    })
}

/// The most runs one `--seeds` asks for.
const MAX_SEEDS: u64 = 1000;

fn seeds(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_SEEDS).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a number of seeds: write a whole number from 1 to {MAX_SEEDS}"
        )),
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    let value = super::duration(text)?;
    if (MIN_DURATION..=MAX_DURATION).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{text} is outside {} to {}: faults need room to be injected and recovered from",
            humantime::format_duration(MIN_DURATION),
            humantime::format_duration(MAX_DURATION)
        ))
    }
}

/// A seed from the clock, when none is given.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // Keep it short enough to type.
    u64::try_from(nanos % 1_000_000_000).unwrap_or(0)
}

/// Progress goes to stdout, or to stderr when stdout carries the JSON.
fn say(json: bool, line: &str) {
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
        let _ = std::io::stdout().flush();
    }
}

pub(crate) async fn run(args: ChaosArgs) -> ExitCode {
    let first = args.seed.unwrap_or_else(random_seed);
    let Some(last) = first.checked_add(args.seeds - 1) else {
        eprintln!(
            "crypto-exchange chaos: --seed {first} with --seeds {} runs past the largest seed {}; \
             choose a smaller --seed",
            args.seeds,
            u64::MAX
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let dir_of = |seed: u64| match &args.report {
        Some(dir) if args.seeds > 1 => dir.join(format!("seed-{seed}")),
        Some(dir) => dir.clone(),
        None => std::env::temp_dir()
            .join("crypto-exchange-chaos")
            .join(format!("seed-{seed}")),
    };
    // Every report directory is checked before the first run starts.
    for seed in first..=last {
        if let Err(error) = chaos::check_report_dir(dir_of(seed)) {
            eprintln!("crypto-exchange chaos: {error}; choose another --report directory");
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let mut failed = Vec::new();
    for seed in first..=last {
        match run_seed(&args, seed, &dir_of(seed)).await {
            Ok(true) => {}
            Ok(false) => failed.push(seed),
            Err(code) => return code,
        }
    }
    if args.seeds > 1 {
        let line = if failed.is_empty() {
            format!("all {} seeds passed ({first} to {last})", args.seeds)
        } else {
            let list: Vec<String> = failed.iter().map(u64::to_string).collect();
            format!(
                "{} of {} seeds failed: {} (replay one with --seed N --seeds 1)",
                failed.len(),
                args.seeds,
                list.join(", ")
            )
        };
        say(args.json, &line);
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_RUNTIME)
    }
}

/// One run of the selection with `seed`, its report written to `dir`:
/// whether every scenario passed, or the exit code of an error that ends
/// the command.
async fn run_seed(args: &ChaosArgs, seed: u64, dir: &std::path::Path) -> Result<bool, ExitCode> {
    let list = &args.scenario.0;
    let config = ScenarioConfig::new(seed).with_duration(args.duration);
    let json = args.json;
    let say = |line: &str| say(json, line);
    let selection = if list.len() == Scenario::ALL.len() {
        "all".to_owned()
    } else {
        list.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")
    };
    say(&format!(
        "seed {seed} (replay: crypto-exchange chaos --seed {seed} --scenario {selection} --duration {})",
        humantime::format_duration(args.duration)
    ));
    say(&format!(
        "{} scenario(s) against the embedded simulator, {} of faults each",
        list.len(),
        humantime::format_duration(args.duration)
    ));
    let result = chaos::run_scenarios(list, &config, |progress| match progress {
        Progress::Started(scenario) => tracing::info!(%scenario, "scenario started"),
        Progress::Finished(outcome) => {
            say(&outcome.summary_line());
            if outcome.status == Status::Failed {
                for problem in outcome.problems().iter().skip(1) {
                    say(&format!("{:>20}{problem}", ""));
                }
            }
        }
        _ => {}
    })
    .await;
    let suite = match result {
        Ok(suite) => suite,
        Err(error) => {
            eprintln!("crypto-exchange chaos: {error}");
            return Err(ExitCode::from(EXIT_USAGE));
        }
    };
    let (passed, failed, skipped) = suite.counts();
    say(&format!(
        "{passed} passed, {failed} failed, {skipped} skipped in {:.1} s (seed {seed})",
        suite.elapsed.as_secs_f64()
    ));
    match suite.write_to(dir) {
        Ok(summary) => say(&format!("report: {}", summary.display())),
        Err(error) => {
            eprintln!("crypto-exchange chaos: {error}");
            return Err(ExitCode::from(EXIT_RUNTIME));
        }
    }
    if json {
        match suite.to_json() {
            // One line per seed, so several runs read as JSON lines.
            Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(value) => println!("{value}"),
                Err(_) => println!("{text}"),
            },
            Err(error) => {
                eprintln!("crypto-exchange chaos: {error}");
                return Err(ExitCode::from(EXIT_RUNTIME));
            }
        }
    }
    Ok(suite.passed())
}
