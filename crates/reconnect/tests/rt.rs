//! The tokio adapter on paused time: minutes of backoff in milliseconds.
#![cfg(feature = "tokio")]
#![allow(
    clippy::disallowed_methods,
    reason = "paused-time tests read tokio's virtual clock to measure waits"
)]

use std::time::Duration;

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use reconnect::rt::{self, ReconnectDriver};
use reconnect::{
    AbandonReason, AttemptBudget, BudgetConfig, Cause, Decision, Phase, ReconnectConfig,
    Reconnector,
};
use tokio::time::Instant;

fn driver(seed: u64, budget: AttemptBudget) -> ReconnectDriver<ChaCha8Rng> {
    let machine = Reconnector::new(ReconnectConfig::default(), ChaCha8Rng::seed_from_u64(seed))
        .expect("valid");
    ReconnectDriver::new(machine, budget)
}

fn budget() -> AttemptBudget {
    AttemptBudget::new(BudgetConfig::default()).expect("valid")
}

#[tokio::test(start_paused = true)]
async fn waits_follow_the_schedule_in_virtual_time() {
    let mut driver = driver(1, budget());
    let nominal = [1, 2, 4, 8, 16, 30, 30];
    for secs in nominal {
        let started = Instant::now();
        let decision = driver.on_disconnect(Cause::Refused);
        let delay = decision.delay().expect("reconnect");
        driver.wait(&decision).await.expect("not abandoned");
        // tokio's timer wheel has millisecond resolution: never early, at most 1 ms late.
        let waited = Instant::now() - started;
        assert!(
            waited >= delay && waited < delay + Duration::from_millis(1),
            "{waited:?}"
        );
        let nominal = Duration::from_secs(secs);
        assert!(
            delay >= nominal.mul_f64(0.9) && delay <= nominal.mul_f64(1.1),
            "{delay:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn timer_marks_a_connection_healthy_after_60s() {
    let mut driver = driver(2, budget());
    let _ = driver.on_disconnect(Cause::Reset);
    let _ = driver.on_disconnect(Cause::Reset);
    assert_eq!(driver.machine().failures(), 2);
    driver.on_connected();
    let opened = Instant::now();
    driver.timer().await;
    assert_eq!(Instant::now() - opened, Duration::from_secs(60));
    assert!(matches!(
        driver.machine().phase(),
        Phase::Connected { healthy: true, .. }
    ));
    assert_eq!(driver.machine().failures(), 0);
    // No deadline left: the timer never completes.
    let pending = tokio::time::timeout(Duration::from_secs(3_600), driver.timer()).await;
    assert!(pending.is_err());
    // The next outage starts at the first delay again.
    let delay = driver
        .on_disconnect(Cause::Reset)
        .delay()
        .expect("reconnect");
    assert!(delay <= Duration::from_millis(1_100));
}

#[tokio::test(start_paused = true)]
async fn rate_limits_wait_longer() {
    let mut driver = driver(3, budget());
    let started = Instant::now();
    let decision = driver.on_disconnect(Cause::Closed {
        code: 1008,
        reason: "Too many requests".into(),
    });
    assert!(matches!(decision, Decision::Backoff { .. }));
    driver.wait(&decision).await.expect("not abandoned");
    assert!(Instant::now() - started >= Duration::from_secs(54));

    let started = Instant::now();
    let decision = driver.on_disconnect(Cause::HandshakeRejected {
        status: 429,
        retry_after: Some(Duration::from_secs(600)),
    });
    driver.wait(&decision).await.expect("not abandoned");
    assert!(Instant::now() - started >= Duration::from_secs(600));
}

#[tokio::test(start_paused = true)]
async fn abandon_returns_at_once() {
    let mut driver = driver(4, budget());
    let started = Instant::now();
    let decision = driver.on_disconnect(Cause::HandshakeRejected {
        status: 404,
        retry_after: None,
    });
    let reason = driver.wait(&decision).await.expect_err("abandoned");
    assert!(matches!(reason, AbandonReason::Permanent(_)));
    assert_eq!(Instant::now(), started);
}

#[tokio::test(start_paused = true)]
async fn acquire_sleeps_until_the_budget_refills() {
    let budget = AttemptBudget::new(BudgetConfig {
        attempts: 4,
        window: Duration::from_secs(60),
        burst: 2,
    })
    .expect("valid");
    let started = Instant::now();
    rt::acquire(&budget).await;
    rt::acquire(&budget).await;
    assert_eq!(Instant::now(), started);
    rt::acquire(&budget).await;
    assert_eq!(Instant::now() - started, Duration::from_secs(30));
}

/// Forty connection tasks share one budget and fail every attempt for an
/// hour of virtual time: the grants tokio saw never pass 300 in any 5 minutes.
#[tokio::test(start_paused = true)]
async fn tasks_sharing_a_budget_never_exceed_it() {
    let budget = budget();
    let end = Instant::now() + Duration::from_secs(3_600);
    let tasks: Vec<_> = (0..40)
        .map(|seed| {
            let mut driver = driver(seed, budget.clone());
            tokio::spawn(async move {
                let mut grants = vec![driver.acquire().await];
                while Instant::now() < end {
                    // The "connection" fails at once; the facade would connect here.
                    let decision = driver.on_disconnect(Cause::Refused);
                    grants.push(driver.wait(&decision).await.expect("transient"));
                }
                grants
            })
        })
        .collect();
    let mut grants = Vec::new();
    for task in tasks {
        grants.extend(task.await.expect("task"));
    }
    grants.sort_unstable();
    let window = Duration::from_secs(300);
    let mut lo = 0;
    let mut busiest = 0;
    for hi in 0..grants.len() {
        while grants[hi] - grants[lo] > window {
            lo += 1;
        }
        busiest = busiest.max(hi - lo + 1);
    }
    assert!(busiest <= 300, "{busiest}");
    assert!(
        busiest >= 250,
        "only {busiest}: the budget was not the limit"
    );
}

#[tokio::test(start_paused = true)]
async fn rt_now_follows_paused_time() {
    let before = rt::now();
    tokio::time::advance(Duration::from_secs(90)).await;
    assert_eq!(rt::now() - before, Duration::from_secs(90));
}
