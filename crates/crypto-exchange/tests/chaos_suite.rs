//! The resilience suite (issue 8): every scenario against the embedded
//! simulator with short timings must pass; and every scenario's verification
//! must fail when fed a broken run.
//!
//! The seed comes from `CHAOS_SEED` (or is drawn at random); it is printed, so
//! a failing run can be replayed: `CHAOS_SEED=<seed> cargo test -p
//! crypto-exchange --test chaos_suite`, or `crypto-exchange chaos --seed <seed>`.

use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, ensure};
use crypto_exchange::chaos::{
    Delivered, Expectation, ObservedLimits, Recorder, RecorderConfig, Recording, Scenario,
    ScenarioConfig, ScenarioOutcome, Status, StreamSpec, Timings, Violation,
    run_full_resilience_test,
};

/// The injection phase of each scenario in the suite test: the shortest
/// allowed, so the suite fits CI's budget (about 10 s per scenario).
const PHASE: Duration = Duration::from_secs(8);

fn seed() -> Result<u64> {
    match std::env::var("CHAOS_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .with_context(|| format!("CHAOS_SEED={text:?} is not a u64")),
        Err(_) => Ok(SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(7, |d| d.as_secs() % 1_000_000)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_suite_passes_with_short_timings() -> Result<()> {
    let seed = seed()?;
    eprintln!("chaos seed {seed} (replay: CHAOS_SEED={seed} cargo test -p crypto-exchange --test chaos_suite)");
    let started = Instant::now();
    let suite = run_full_resilience_test(&ScenarioConfig::new(seed).with_duration(PHASE)).await?;
    for outcome in &suite.outcomes {
        eprintln!("{}", outcome.summary_line());
    }
    eprintln!("suite: {:.1} s", started.elapsed().as_secs_f64());
    ensure!(suite.outcomes.len() == Scenario::ALL.len(), "every scenario ran");
    for outcome in &suite.outcomes {
        match outcome.status {
            Status::Passed => {
                let report = outcome.report.as_ref().context("a passed scenario has a report")?;
                let o = &report.measures.overall;
                ensure!(o.faults > 0 && o.faults == o.faults_recovered, "{}: {o:?}", outcome.scenario);
                ensure!(o.lost == 0 && o.duplicated == 0 && o.out_of_order == 0, "{}", outcome.scenario);
                ensure!(o.limits.respected, "{}: {:?}", outcome.scenario, o.limits);
            }
            // Only a client that never tries a second endpoint is skipped, and says so.
            Status::Skipped => ensure!(
                outcome.scenario == Scenario::EndpointFailover
                    && outcome.reason.as_deref().is_some_and(|r| r.starts_with("not supported by this build")),
                "seed {seed}: {} skipped: {:?}",
                outcome.scenario,
                outcome.reason
            ),
            Status::Failed => anyhow::bail!(
                "seed {seed} (replay with CHAOS_SEED={seed}): {} failed:\n{}",
                outcome.scenario,
                outcome.problems().join("\n")
            ),
        }
    }
    Ok(())
}

/// Three `aggTrade` streams that delivered ids 1 to 100, one every 50 ms, a
/// fault from 2 s to 2.25 s, the truth 1..=100, finished `end` after the last
/// event; `tweak` breaks the run (at 5.05 s).
fn recording_until(end: Duration, tweak: impl FnOnce(&mut Recorder, Instant)) -> Result<Recording> {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    // As the scenarios record: a fault is unrecovered 15 s after it ends.
    let config = RecorderConfig {
        recovery_deadline: Timings::default().recovery_bound,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::new(config, t0)?;
    let streams = ["btcusdt@aggTrade", "ethusdt@aggTrade", "bnbbtc@aggTrade"];
    for stream in streams {
        recorder.declare_stream(stream, StreamSpec::every(Duration::from_secs(1)).contiguous(), t0);
        recorder.set_truth(stream, 1..=100);
    }
    let mut fault = None;
    for id in 1..=100_u64 {
        if id == 40 {
            fault = Some(recorder.on_fault_start("reset", at(id * 50)));
        }
        if id == 45 {
            if let Some(mark) = fault.take() {
                recorder.on_fault_end(mark, at(id * 50));
            }
        }
        for stream in streams {
            recorder.on_event(stream, Delivered::id(id), at(id * 50));
        }
    }
    tweak(&mut recorder, at(5_050));
    Ok(recorder.finish(at(5_000) + end))
}

fn recording(tweak: impl FnOnce(&mut Recorder, Instant)) -> Result<Recording> {
    recording_until(Duration::from_millis(100), tweak)
}

fn judge(scenario: Scenario, recording: Recording, expectations: Vec<Expectation>) -> ScenarioOutcome {
    let guarantees = scenario.guarantees(&Timings::default(), Duration::from_secs(1));
    ScenarioOutcome::judge(scenario, 1, SystemTime::now(), recording, guarantees, expectations, Duration::ZERO)
}

#[test]
fn every_scenarios_verification_fails_on_a_broken_run() -> Result<()> {
    let met = || vec![Expectation::new("the fault was felt", true, "yes")];
    for scenario in Scenario::ALL {
        // The control: an intact run passes.
        let clean = judge(scenario, recording(|_, _| {})?, met());
        ensure!(clean.status == Status::Passed, "{scenario}: {:?}", clean.problems());

        // One id lost (never delivered) and one delivered twice, on one stream.
        let broken = recording(|r, t| {
            r.set_truth("btcusdt@aggTrade", 1..=101);
            r.on_event("btcusdt@aggTrade", Delivered::id(99), t);
        })?;
        let outcome = judge(scenario, broken, met());
        ensure!(outcome.status == Status::Failed, "{scenario}: a broken run passed");
        let violations = &outcome.report.as_ref().context("report")?.verdict.violations;
        ensure!(
            violations.iter().any(|v| matches!(v, Violation::Lost { stream, lost: 1, .. } if stream == "btcusdt@aggTrade")),
            "{scenario}: the lost id is named: {violations:?}"
        );
        ensure!(
            violations.iter().any(|v| matches!(v, Violation::Duplicated { duplicated: 1, .. })),
            "{scenario}: the duplicate is named: {violations:?}"
        );

        // Streams silent for 30 s after a fault: the MTTR bound (1 s of
        // fault + 15 s) and the recovery deadline are broken.
        let stuck = recording_until(Duration::from_secs(30), |r, t| {
            let mark = r.on_fault_start("blackhole", t);
            r.on_fault_end(mark, t);
        })?;
        let outcome = judge(scenario, stuck, met());
        let violations = &outcome.report.as_ref().context("report")?.verdict.violations;
        ensure!(
            violations.iter().any(|v| matches!(v, Violation::Mttr { .. }))
                && violations.iter().any(|v| matches!(v, Violation::RecoverySuccess { .. })),
            "{scenario}: an unrecovered stream passed: {violations:?}"
        );

        // Binance's frame limit exceeded.
        let flooded = recording(|r, _| {
            r.on_limits(ObservedLimits {
                frames_per_sec_max: Some(6),
                ..ObservedLimits::default()
            });
        })?;
        let outcome = judge(scenario, flooded, met());
        ensure!(
            outcome.problems().iter().any(|p| p.contains("frames per second")),
            "{scenario}: {:?}",
            outcome.problems()
        );

        // Intact measures, but the scenario's own expectation not met.
        let unmet = vec![Expectation::new("the breaker opened", false, "never opened")];
        let outcome = judge(scenario, recording(|_, _| {})?, unmet);
        ensure!(outcome.status == Status::Failed, "{scenario}: an unmet expectation passed");
        ensure!(
            outcome.problems() == ["expected the breaker opened: never opened"],
            "{:?}",
            outcome.problems()
        );
    }
    Ok(())
}
