//! Backfill after a long outage, measured (issue 6): 100,000 missed aggregate
//! trades recovered from the simulator's REST, under Binance's weight limit and
//! under a tight one. Each run also checks what the test checks (every id once
//! and in order, no 429/418, weight per window under the limit), so a figure is
//! only printed for a correct run. Record the output in `docs/benchmarks.md`.
//!
//! ```sh
//! cargo bench -p e2e --bench backfill            # 3 runs of each setup
//! BACKFILL_RUNS=5 BACKFILL_MISSED=200000 cargo bench -p e2e --bench backfill
//! ```

use std::time::Duration;

use anyhow::{Context, Result};
use e2e::backfill::{Setup, run};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .ok()
            .with_context(|| format!("{name}={text:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// The load average now (1, 5, 15 minutes), for the record.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; a filter argument picks a setup by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let runs: u32 = env_or("BACKFILL_RUNS", 3)?;
    let missed: u64 = env_or("BACKFILL_MISSED", 100_000)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for (name, setup) in [
        ("binance", Setup::binance(missed)),
        ("tight", Setup::tight(missed)),
    ] {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        for run_no in 1..=runs {
            let before = load();
            let report = runtime.block_on(run(setup))?;
            println!(
                "backfill/{name} run {run_no}: {report}; load {before} -> {}",
                load()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    Ok(())
}
