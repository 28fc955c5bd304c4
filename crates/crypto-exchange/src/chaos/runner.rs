//! Running scenarios: set up, inject, observe, recover, verify, tear down,
//! with a deadline and a panic turned into a failed outcome (the test bed is
//! dropped on every path, which stops the simulator and the proxies).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use ::chaos::RecorderConfig;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;

use super::config::ScenarioConfig;
use super::ctx::Ctx;
use super::error::ChaosError;
use super::outcome::{ScenarioOutcome, Status, SuiteOutcome};
use super::scenario::Scenario;
use super::scripts;
use super::testbed::{BOOK, BOOK_STREAM, BedSpec, SYMBOLS, Testbed, agg_stream};
use super::verify;
use super::watch::Watch;

/// Progress of a suite, for a caller that prints as it goes.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// A scenario starts.
    Started(Scenario),
    /// A scenario ended.
    Finished(&'a ScenarioOutcome),
}

/// Runs one scenario against the embedded simulator (the `FaultTolerance`
/// API's `run_resilience_test`): its own simulator, fault proxies and client,
/// all stopped before this returns.
///
/// A broken guarantee, an unmet expectation, a timeout or a panic inside the
/// scenario is an outcome with status `Failed`, not an error.
///
/// # Errors
/// [`ChaosError::Config`] for an invalid configuration;
/// [`ChaosError::Setup`] when the simulator, a proxy or the client cannot
/// start.
pub async fn run_resilience_test(scenario: Scenario, config: &ScenarioConfig) -> Result<ScenarioOutcome, ChaosError> {
    config.validate()?;
    let began = Instant::now();
    let owned = config.clone();
    let t = &config.timings;
    let deadline = config.duration + t.warmup + t.recovery_bound * 3 + t.catch_up * 2 + Duration::from_secs(30);
    // A task of its own, so a panic is caught; dropping it (on the deadline)
    // aborts it, which drops the test bed.
    let task = tokio::spawn(async move { run_one(scenario, &owned).await });
    let abort = task.abort_handle();
    match tokio::time::timeout(deadline, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => {
            let detail = match join.try_into_panic() {
                Ok(panic) => panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_owned()),
                Err(join) => join.to_string(),
            };
            Ok(ScenarioOutcome::ended(scenario, config.seed, Status::Failed, format!("crashed: {detail}; everything it started was stopped"), began.elapsed()))
        }
        Err(_) => {
            abort.abort();
            Ok(ScenarioOutcome::ended(
                scenario,
                config.seed,
                Status::Failed,
                format!("did not finish within {}; everything it started was stopped", humantime::format_duration(deadline)),
                began.elapsed(),
            ))
        }
    }
}

/// Runs every scenario, one after the other, with one seed (the
/// `FaultTolerance` API's `run_full_resilience_test`).
///
/// # Errors
/// [`ChaosError::Config`] for an invalid configuration.
pub async fn run_full_resilience_test(config: &ScenarioConfig) -> Result<SuiteOutcome, ChaosError> {
    run_scenarios(&Scenario::ALL, config, |_| {}).await
}

/// Runs `scenarios` in order, telling `progress` as each starts and ends. A
/// scenario that cannot be set up is a failed outcome; the suite goes on.
///
/// # Errors
/// [`ChaosError::Config`] for an invalid configuration.
pub async fn run_scenarios(
    scenarios: &[Scenario],
    config: &ScenarioConfig,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<SuiteOutcome, ChaosError> {
    config.validate()?;
    let began = Instant::now();
    let mut outcomes = Vec::with_capacity(scenarios.len());
    for &scenario in scenarios {
        progress(Progress::Started(scenario));
        let started = Instant::now();
        let outcome = match run_resilience_test(scenario, config).await {
            Ok(outcome) => outcome,
            Err(error) => ScenarioOutcome::ended(scenario, config.seed, Status::Failed, error.to_string(), started.elapsed()),
        };
        progress(Progress::Finished(&outcome));
        outcomes.push(outcome);
    }
    Ok(SuiteOutcome {
        seed: config.seed,
        outcomes,
        elapsed: began.elapsed(),
    })
}

/// The scenario's RNG: the seed mixed with the scenario's name (FNV-1a), so
/// scenarios of one suite draw different schedules from one seed.
fn rng(scenario: Scenario, seed: u64) -> ChaCha8Rng {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in scenario.name().bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(seed ^ hash)
}

/// What the test bed looks like for `scenario`.
fn bed_spec(scenario: Scenario, config: &ScenarioConfig) -> BedSpec {
    let mut spec = BedSpec::new(scenario.name(), config.seed, config.timings.clone());
    spec.book = match scenario {
        Scenario::EndpointFailover | Scenario::SlowConsumer => None,
        _ => Some(BOOK),
    };
    match scenario {
        Scenario::RateLimiting => {
            // A 429's Retry-After runs to the end of the weight window: 2 s
            // here instead of a calendar minute.
            spec.adjust_sim = Box::new(|c| c.rest.weight_window = Duration::from_secs(2));
        }
        Scenario::Rotation => {
            spec.adjust_sim = Box::new(|c| c.rules.max_lifetime = Duration::from_secs(6));
            spec.adjust_client = Box::new(|c| {
                c.rotation.after = Duration::from_secs(3);
                c.rotation.jitter = Duration::from_millis(500);
                c.rotation.overlap_timeout = Duration::from_secs(2);
            });
        }
        Scenario::EndpointFailover => spec.alt_endpoint = true,
        Scenario::SlowConsumer => {
            spec.adjust_client = Box::new(|c| c.subscriber_buffer = 256);
        }
        _ => {}
    }
    spec
}

async fn run_one(scenario: Scenario, config: &ScenarioConfig) -> Result<ScenarioOutcome, ChaosError> {
    let began = Instant::now();
    let started = SystemTime::now();
    let timings = &config.timings;
    let mut bed = Testbed::start(bed_spec(scenario, config)).await?;
    let setup = |e: &dyn std::fmt::Display| ChaosError::setup(scenario, e);

    let trades: Vec<String> = SYMBOLS.iter().map(|s| agg_stream(s)).collect();
    let mut streams = trades.clone();
    if bed.book.is_some() {
        streams.push(BOOK_STREAM.to_owned());
    }
    let mut endpoints = vec![(format!("ws://{}", bed.ws.addr()), "first endpoint".to_owned())];
    if let Some(alt) = &bed.alt {
        endpoints.push((format!("ws://{}", alt.addr()), "second endpoint".to_owned()));
    }
    let recorder = RecorderConfig {
        recovery_deadline: timings.recovery_bound,
        ..RecorderConfig::default()
    };
    let watch = Watch::new(recorder, &streams, Duration::from_secs(1), endpoints).map_err(|e| setup(&e))?;
    let start_ids: BTreeMap<&'static str, u64> = SYMBOLS
        .iter()
        .map(|&s| (s, bed.last_agg_id(s).map_or(0, |id| id + 1)))
        .collect();
    watch.attach(&bed.client, &mut bed.tasks);
    bed.start_book()?;
    let subscription = bed.client.subscribe(&streams).map_err(|e| setup(&e))?;
    bed.tasks.push(tokio::spawn(watch.clone().consume(subscription)));
    let slow_pace = if scenario == Scenario::SlowConsumer {
        let slow = bed.client.subscribe(&trades).map_err(|e| setup(&e))?;
        let (pace, rx) = watch::channel(Duration::ZERO);
        bed.tasks.push(tokio::spawn(watch.clone().slow_reader(slow, rx)));
        Some(pace)
    } else {
        None
    };

    let warm = watch.until(timings.warmup, |o| o.all_delivered_since(began)).await;
    let mut ctx = Ctx::new(&bed, &watch, timings, rng(scenario, config.seed), config.duration);
    ctx.slow_pace = slow_pace;
    if warm {
        scripts::inject(scenario, &mut ctx).await;
        ctx.at(config.duration).await;
    } else {
        ctx.expect("every stream delivers within the warm-up", false, format!("not within {:?}; no fault injected", timings.warmup));
    }
    let skipped = ctx.skipped.take();
    let (mut expectations, longest_fault, last_clear) = (std::mem::take(&mut ctx.expectations), ctx.longest_fault, ctx.last_clear);
    drop(ctx);
    if let Some(reason) = skipped {
        bed.shutdown().await;
        return Ok(ScenarioOutcome::ended(scenario, config.seed, Status::Skipped, reason, began.elapsed()));
    }
    verify::settle(scenario, &bed, &watch, timings, last_clear, &start_ids, &mut expectations).await;
    let recording = watch.finish();
    bed.shutdown().await;
    let guarantees = scenario.guarantees(timings, longest_fault);
    Ok(ScenarioOutcome::judge(scenario, config.seed, started, recording, guarantees, expectations, began.elapsed()))
}
