//! How much a breaker costs per call, ours beside raw `failsafe` 1.3.
//!
//! - `closed/admit_record`: `admit(now)` + `on_result(permit, Success, now)`
//!   on a closed [`Breaker`] with the default config (targets: < 50 ns, no
//!   allocation; `tests/alloc.rs` proves the latter).
//! - `closed/admit_record_time_window`: the same with a failure-rate rule
//!   over a 60 s time window as well.
//! - `closed/shared_admit_record`: through [`SharedBreaker`] (a mutex).
//! - `open/reject`: `admit(now)` on an open breaker (target: < 20 ns).
//! - `open/reject_reading_clock`: the same with `Instant::now()` read per
//!   call, as failsafe does internally, for a like-for-like comparison.
//! - `open/shared_reject`: through [`SharedBreaker`].
//! - `failsafe/closed_permit_success`: `is_call_permitted()` + `on_success()`
//!   on failsafe's `StateMachine` (consecutive failures, 5, constant 30 s).
//! - `failsafe/closed_call`: failsafe's closure API, `call(|| Ok(()))`.
//! - `failsafe/open_reject`: `is_call_permitted()` on an open failsafe
//!   breaker (it reads `Instant::now()` inside).
//!
//! Run with `cargo bench -p circuit-breaker --bench breaker` (add
//! `-- --quick` for a short run). Figures: docs/benchmarks.md.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "benches anchor fake time at one real instant, and one bench reads the clock on \
              purpose to compare with failsafe, which does"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use circuit_breaker::{
    Admission, Breaker, BreakerConfig, FailureRate, Outcome, SharedBreaker, State,
};
use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::{CircuitBreaker as _, StateMachine, backoff, failure_policy};

fn closed(c: &mut Criterion) {
    let mut group = c.benchmark_group("closed");
    let now = Instant::now();

    let mut breaker = Breaker::new(BreakerConfig::default()).expect("valid");
    group.bench_function("admit_record", |b| {
        b.iter(|| {
            if let Admission::Allowed(permit) = breaker.admit(black_box(now)) {
                breaker.on_result(permit, black_box(Outcome::Success), now);
            }
        });
    });
    assert_eq!(breaker.state(), State::Closed);

    let mut breaker = Breaker::new(BreakerConfig {
        failure_rate: Some(FailureRate::default()),
        ..BreakerConfig::default()
    })
    .expect("valid");
    let mut tick = now;
    group.bench_function("admit_record_time_window", |b| {
        b.iter(|| {
            // Time moves 1 µs a call, so buckets roll over now and then.
            tick += Duration::from_micros(1);
            if let Admission::Allowed(permit) = breaker.admit(black_box(tick)) {
                breaker.on_result(permit, black_box(Outcome::Success), tick);
            }
        });
    });

    let shared = SharedBreaker::new(BreakerConfig::default()).expect("valid");
    group.bench_function("shared_admit_record", |b| {
        b.iter(|| {
            if let Admission::Allowed(permit) = shared.admit(black_box(now)) {
                shared.on_result(permit, black_box(Outcome::Success), now);
            }
        });
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    let now = Instant::now();
    let mut breaker = Breaker::new(BreakerConfig {
        open_duration: Duration::from_secs(3_600),
        max_open_duration: Duration::from_secs(3_600),
        ..BreakerConfig::default()
    })
    .expect("valid");
    for _ in 0..5 {
        if let Admission::Allowed(permit) = breaker.admit(now) {
            breaker.on_result(permit, Outcome::Failure, now);
        }
    }
    assert_eq!(breaker.state(), State::Open);
    // Each bench hands the caller's view back, the `retry_at`, as a caller
    // would use it; criterion keeps the returned value alive.
    group.bench_function("reject", |b| {
        b.iter(|| match breaker.admit(black_box(now)) {
            Admission::Rejected { retry_at } => retry_at,
            Admission::Allowed(_) => unreachable!("open"),
        });
    });
    group.bench_function("reject_reading_clock", |b| {
        b.iter(|| match breaker.admit(Instant::now()) {
            Admission::Rejected { retry_at } => retry_at,
            Admission::Allowed(_) => unreachable!("open"),
        });
    });
    assert_eq!(breaker.state(), State::Open);

    let shared = SharedBreaker::from(breaker);
    group.bench_function("shared_reject", |b| {
        b.iter(|| match shared.admit(black_box(now)) {
            Admission::Rejected { retry_at } => retry_at,
            Admission::Allowed(_) => unreachable!("open"),
        });
    });
    group.finish();
}

fn failsafe_breaker() -> StateMachine<failure_policy::ConsecutiveFailures<backoff::Constant>, ()> {
    let backoff = backoff::constant(Duration::from_secs(3_600));
    StateMachine::new(failure_policy::consecutive_failures(5, backoff), ())
}

fn failsafe(c: &mut Criterion) {
    let mut group = c.benchmark_group("failsafe");
    let breaker = failsafe_breaker();
    group.bench_function("closed_permit_success", |b| {
        b.iter(|| {
            if black_box(breaker.is_call_permitted()) {
                breaker.on_success();
            }
        });
    });
    group.bench_function("closed_call", |b| {
        b.iter(|| black_box(breaker.call(|| Ok::<_, ()>(black_box(1_u8)))));
    });
    let open = failsafe_breaker();
    for _ in 0..5 {
        open.on_error();
    }
    assert!(!open.is_call_permitted());
    group.bench_function("open_reject", |b| {
        b.iter(|| black_box(open.is_call_permitted()));
    });
    group.finish();
}

criterion_group!(benches, closed, open, failsafe);
criterion_main!(benches);
