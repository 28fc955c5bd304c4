//! The hot paths never touch the heap: after construction, admitting and
//! recording a call on a closed breaker, rejecting on an open one, probing,
//! and even the transitions (their events go into a queue allocated up
//! front) make no allocation.
//!
//! A counting global allocator (`stats_alloc`) wraps the system allocator
//! for this test binary. It has a single test so no other test allocates
//! meanwhile.

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use circuit_breaker::{
    Admission, Breaker, BreakerConfig, FailureRate, Outcome, SharedBreaker, State, Window,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ROUNDS: u32 = 10_000;

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

/// Heap operations (allocations and reallocations) made while `f` runs, the
/// fewest over three runs: the counter is process-wide, so another thread (the
/// test harness, under load) can allocate during one run, while an allocation on
/// the measured path shows up in every run.
fn heap_ops(mut f: impl FnMut()) -> usize {
    (0..3)
        .map(|_| {
            let region = Region::new(GLOBAL);
            f();
            let stats = region.change();
            stats.allocations + stats.reallocations
        })
        .min()
        .unwrap_or(0)
}

fn call(breaker: &mut Breaker, outcome: Outcome, now: Instant) {
    match breaker.admit(now) {
        Admission::Allowed(permit) => breaker.on_result(permit, outcome, now),
        Admission::Rejected { retry_at } => {
            black_box(retry_at);
        }
    }
}

#[test]
fn hot_paths_and_transitions_allocate_nothing() {
    let t0 = t0();
    let ms = |n: u32| t0 + Duration::from_millis(u64::from(n));
    let with_rate = |window| BreakerConfig {
        failure_rate: Some(FailureRate {
            threshold: 0.9,
            minimum_calls: 100,
            window,
        }),
        ..BreakerConfig::default()
    };

    // Closed: admit + record, successes and failures that never trip.
    let configs = [
        BreakerConfig::default(),
        with_rate(Window::Calls(100)),
        with_rate(Window::Time {
            length: Duration::from_secs(10),
            buckets: 10,
        }),
    ];
    for config in configs {
        let mut breaker = Breaker::new(config.clone()).expect("valid");
        let ops = heap_ops(|| {
            for i in 0..ROUNDS {
                let outcome = if i % 2 == 0 {
                    Outcome::Failure
                } else {
                    Outcome::Success
                };
                call(&mut breaker, outcome, ms(i));
            }
        });
        assert_eq!(breaker.state(), State::Closed);
        assert_eq!(ops, 0, "closed path allocated with {config:?}");
    }

    // Open: rejection.
    let mut breaker = Breaker::new(BreakerConfig::default()).expect("valid");
    for _ in 0..5 {
        call(&mut breaker, Outcome::Failure, t0);
    }
    let ops = heap_ops(|| {
        for i in 0..ROUNDS {
            black_box(breaker.admit(ms(i % 29_000)).is_allowed());
        }
    });
    // `heap_ops` runs the loop three times.
    assert_eq!(breaker.snapshot().totals.rejected, 3 * u64::from(ROUNDS));
    assert_eq!(ops, 0, "rejection allocated");

    // Transitions: trip, half-open, probe, re-open or close, over and over,
    // with nobody polling the events (the queue is bounded and preallocated).
    let ops = heap_ops(|| {
        let mut now = t0;
        for i in 0..1_000 {
            for _ in 0..5 {
                call(&mut breaker, Outcome::Failure, now);
            }
            now += Duration::from_secs(31);
            let outcome = if i % 2 == 0 {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            call(&mut breaker, outcome, now);
            breaker.force_open(now);
            breaker.disable();
            breaker.reset(now);
        }
    });
    assert!(breaker.snapshot().dropped_events > 0);
    assert_eq!(ops, 0, "transitions allocated");

    // The shared breaker: a mutex around the same paths.
    let shared = SharedBreaker::new(BreakerConfig::default()).expect("valid");
    let ops = heap_ops(|| {
        for i in 0..ROUNDS {
            if let Admission::Allowed(permit) = shared.admit(ms(i)) {
                shared.on_result(permit, Outcome::Success, ms(i));
            }
            if let Ok(guard) = shared.admit_guard(ms(i)) {
                drop(guard);
            }
        }
    });
    assert_eq!(ops, 0, "shared breaker allocated");
}
