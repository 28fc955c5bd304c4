//! The connection-attempt budget is never exceeded: over any window of the
//! configured length, no more than `attempts` grants, whatever the pattern of
//! requests, from one connection or many.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use reconnect::{AttemptBudget, BudgetConfig, Cause, ReconnectConfig, Reconnector};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

/// The most grants inside any closed window `[g, g + window]`, over sorted
/// grant instants.
fn busiest_window(grants: &[Instant], window: Duration) -> usize {
    let mut busiest = 0;
    let mut lo = 0;
    for hi in 0..grants.len() {
        while grants[hi] - grants[lo] > window {
            lo += 1;
        }
        busiest = busiest.max(hi - lo + 1);
    }
    busiest
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Bursts of simultaneous requests at random gaps: never more than
    /// `attempts` grants in any window, a refused request names a later
    /// instant, and asking again exactly then is granted.
    #[test]
    fn never_exceeded_in_any_window(
        attempts in 2u32..400,
        burst_share in 0.0f64..1.0,
        window_ms in 1_000u64..600_000,
        pattern in proptest::collection::vec((0u64..5_000, 1usize..40), 1..300),
    ) {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a share of a u32 below 400"
        )]
        let burst = ((f64::from(attempts - 1) * burst_share) as u32).max(1);
        let config = BudgetConfig { attempts, window: Duration::from_millis(window_ms), burst };
        let budget = AttemptBudget::new(config.clone()).expect("valid");
        let mut now = t0();
        let mut grants = Vec::new();
        for (gap_ms, requests) in pattern {
            now += Duration::from_millis(gap_ms);
            for _ in 0..requests {
                match budget.try_acquire(now) {
                    Ok(()) => grants.push(now),
                    Err(not_until) => {
                        prop_assert!(not_until.retry_at > now);
                        prop_assert!(not_until.wait_time_from(now) <= config.window);
                    }
                }
            }
            if let Err(not_until) = budget.try_acquire(now) {
                // Nobody else asks in between: the named instant is honoured.
                prop_assert_eq!(budget.try_acquire(not_until.retry_at), Ok(()));
                now = not_until.retry_at;
                grants.push(now);
            } else {
                grants.push(now);
            }
        }
        let busiest = busiest_window(&grants, config.window);
        prop_assert!(
            busiest <= attempts as usize,
            "{} grants in one window of {:?}, budget {}", busiest, config.window, attempts
        );
    }
}

/// Default budget, requests as fast as it grants: exactly 300 in the busiest
/// 5-minute window, never 301.
#[test]
fn default_budget_saturates_at_300_per_5_minutes() {
    let budget = AttemptBudget::new(BudgetConfig::default()).expect("valid");
    let mut now = t0();
    let end = now + Duration::from_secs(60 * 60);
    let mut grants = Vec::new();
    while now < end {
        match budget.try_acquire(now) {
            Ok(()) => grants.push(now),
            Err(not_until) => now = not_until.retry_at,
        }
    }
    assert_eq!(busiest_window(&grants, Duration::from_secs(300)), 300);
    // The burst at 0 s, then one every 2 s: at 2 s, 4 s … 3598 s.
    assert_eq!(grants.len(), 150 + 1_799);
}

/// Many threads, each with its own clone, asking at the same instant: the
/// shared budget grants exactly its burst.
#[test]
fn clones_across_threads_share_the_burst() {
    let budget = AttemptBudget::new(BudgetConfig::default()).expect("valid");
    let now = t0();
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let budget = budget.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                (0..100).filter(|_| budget.try_acquire(now).is_ok()).count()
            })
        })
        .collect();
    let granted: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    assert_eq!(granted, 150);
}

/// A fake-clock simulation of a pool: 60 connections share one budget; each
/// connection lives a random few seconds and drops, so the pool storms the
/// budget for two simulated hours. The harness always steps to the next
/// deadline (no sleeping), with a bounded loop to catch livelock.
#[test]
fn a_storming_pool_never_exceeds_the_budget() {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Next {
        /// Try to connect (needs a grant).
        Attempt,
        /// The open connection drops.
        Drop,
    }

    let budget = AttemptBudget::new(BudgetConfig::default()).expect("valid");
    let start = t0();
    let end = start + Duration::from_secs(2 * 60 * 60);
    let connections = 60;
    let mut machines: Vec<Reconnector<ChaCha8Rng>> = (0..connections)
        .map(|i| {
            Reconnector::new(ReconnectConfig::default(), ChaCha8Rng::seed_from_u64(i))
                .expect("valid")
        })
        .collect();
    let mut lifetimes = ChaCha8Rng::seed_from_u64(99);
    let mut queue: BinaryHeap<Reverse<(Instant, usize, Next)>> = (0..machines.len())
        .map(|i| Reverse((start, i, Next::Attempt)))
        .collect();
    let mut grants = Vec::new();
    let mut steps = 0u32;
    while let Some(Reverse((now, i, next))) = queue.pop() {
        steps += 1;
        assert!(steps < 1_000_000, "livelock");
        if now >= end {
            break;
        }
        match next {
            Next::Attempt => match budget.try_acquire(now) {
                Ok(()) => {
                    grants.push(now);
                    machines[i].on_connected(now);
                    let lives =
                        Duration::from_millis(rand::Rng::random_range(&mut lifetimes, 0..5_000));
                    queue.push(Reverse((now + lives, i, Next::Drop)));
                }
                Err(not_until) => queue.push(Reverse((not_until.retry_at, i, Next::Attempt))),
            },
            Next::Drop => {
                let decision = machines[i].on_disconnect(Cause::Reset, now);
                let at = decision.at().expect("transient causes never abandon");
                queue.push(Reverse((at, i, Next::Attempt)));
            }
        }
    }
    grants.sort_unstable();
    let busiest = busiest_window(&grants, Duration::from_secs(300));
    assert!(busiest <= 300, "{busiest} attempts in one 5-minute window");
    // The pool did storm: the budget, not the schedule, was the limit.
    assert!(
        busiest >= 290,
        "only {busiest}: the test did not stress the budget"
    );
}
