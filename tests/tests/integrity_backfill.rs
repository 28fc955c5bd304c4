//! Issue 6: backfilling 100,000 missed aggregate trades after a long outage
//! delivers every id once and in order, within the REST weight budget (the
//! simulator's counters prove it: no 429, no 418, and never more weight in one
//! window than its limit). The time it takes is printed; the figures recorded in
//! `docs/benchmarks.md` come from `cargo bench -p e2e --bench backfill`.

use anyhow::Result;
use e2e::backfill::{Setup, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfilling_100k_missed_agg_trades_stays_within_a_tight_weight_budget() -> Result<()> {
    // 120 weight per second: the 100 pages (400 weight) must be paced over 4+ windows.
    let report = run(Setup::tight(100_000)).await?;
    eprintln!("tight budget: {report}");
    Ok(())
}
