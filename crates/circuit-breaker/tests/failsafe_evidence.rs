//! Evidence for `docs/decisions/0004-circuit-breaker.md`: what `failsafe` 1.3
//! does about the three things DESIGN.md §5 needs and we could not layer on
//! top of it.
//!
//! These tests assert `failsafe`'s behaviour as it is, not as we want it: if
//! one fails after a `failsafe` upgrade, the decision should be revisited.
//!
//! - (a) **Clock.** The only way to fake time is the `#[doc(hidden)]`
//!   `failsafe::clock::freeze`, a thread-local mock that starts at the real
//!   `Instant::now()` and only moves forward. It cannot be handed an
//!   arbitrary instant (tokio's paused clock, a test's `t0 + 30 s`), and a
//!   breaker used from another thread reads the real clock.
//! - (b) **Probes.** Half-open admits every caller: no probe limit.
//! - (c) **Closing.** The first success in half-open closes the breaker:
//!   no "close after N successes".
#![allow(
    clippy::disallowed_methods,
    reason = "the evidence compares failsafe's clock with the real one"
)]

use std::time::{Duration, Instant};

use failsafe::{StateMachine, backoff, clock, failure_policy};

/// `failsafe`'s consecutive-failures policy with our defaults: 5 failures,
/// 30 s open.
fn breaker() -> StateMachine<failure_policy::ConsecutiveFailures<backoff::Constant>, ()> {
    let policy =
        failure_policy::consecutive_failures(5, backoff::constant(Duration::from_secs(30)));
    StateMachine::new(policy, ())
}

fn trip(breaker: &StateMachine<failure_policy::ConsecutiveFailures<backoff::Constant>, ()>) {
    for _ in 0..5 {
        assert!(breaker.is_call_permitted());
        breaker.on_error();
    }
    assert!(!breaker.is_call_permitted(), "5 failures open it");
}

/// (a) The mock clock starts at the real now and only advances: there is no
/// way to say "the time is now `t`" for a `t` of our choosing.
#[test]
fn a_clock_is_thread_local_real_time_plus_an_offset() {
    let before = Instant::now();
    clock::freeze(|time| {
        let frozen = time.now();
        // The mock starts at the real clock, not at an instant we chose.
        assert!(frozen >= before && frozen <= Instant::now());
        // `advance` takes a `Duration`: forward only; `MockClock`'s field is private.
        time.advance(Duration::from_secs(30));
        assert_eq!(clock::now(), frozen + Duration::from_secs(30));
    });
    // Outside `freeze`, failsafe reads `Instant::now()`.
    assert!(clock::now() >= before);
}

/// (a) A breaker opened under a frozen clock on one thread, 31 s later on
/// that thread, is half-open there but still open from any other thread:
/// the fake time does not travel with the breaker.
#[test]
fn a_fake_time_does_not_cross_threads() {
    let breaker = breaker();
    clock::freeze(|time| {
        trip(&breaker);
        time.advance(Duration::from_secs(31));
        let other = breaker.clone();
        let other_thread = std::thread::spawn(move || other.is_call_permitted())
            .join()
            .expect("thread");
        assert!(
            !other_thread,
            "another thread reads the real clock: still open"
        );
        assert!(
            breaker.is_call_permitted(),
            "this thread sees the fake 31 s: half-open"
        );
    });
}

/// (a) Exactly at the end of the open period failsafe still rejects
/// (`now > until`, not `>=`), and it never tells the caller when it will
/// admit again: `is_call_permitted` is a `bool`, the state is private.
#[test]
fn a_no_retry_at_and_strictly_after() {
    let breaker = breaker();
    clock::freeze(|time| {
        trip(&breaker);
        time.advance(Duration::from_secs(30));
        assert!(!breaker.is_call_permitted(), "rejected at exactly +30 s");
        time.advance(Duration::from_nanos(1));
        assert!(breaker.is_call_permitted(), "admitted 1 ns later");
    });
    // The only window on the state is `Debug`.
    assert!(format!("{breaker:?}").contains("half_open"));
}

/// (b) Half-open admits every caller that asks: 1,000 "probes" at once.
#[test]
fn b_half_open_admits_unlimited_probes() {
    let breaker = breaker();
    clock::freeze(|time| {
        trip(&breaker);
        time.advance(Duration::from_secs(31));
        let admitted = (0..1_000).filter(|_| breaker.is_call_permitted()).count();
        assert_eq!(admitted, 1_000, "no probe limit");
    });
}

/// (c) One success in half-open closes the breaker; a config asking for
/// three successes has nowhere to go.
#[test]
fn c_first_success_closes() {
    let breaker = breaker();
    clock::freeze(|time| {
        trip(&breaker);
        time.advance(Duration::from_secs(31));
        assert!(breaker.is_call_permitted());
        breaker.on_success();
        assert!(format!("{breaker:?}").contains("closed"));
        // Closed for real: the next failure does not re-open (5 are needed).
        breaker.on_error();
        assert!(breaker.is_call_permitted());
    });
}

/// (b, c) Results are not tied to admissions: failsafe has no permit, so a
/// slow call admitted while the breaker was still closed, finishing after it
/// opened and went half-open, closes it with its success. No probe ran.
#[test]
fn late_result_from_before_the_trip_closes_half_open() {
    let breaker = breaker();
    clock::freeze(|time| {
        assert!(breaker.is_call_permitted()); // a slow call starts while closed
        trip(&breaker);
        time.advance(Duration::from_secs(31));
        assert!(breaker.is_call_permitted()); // half-open now
        breaker.on_success(); // ... the slow call from before the trip ends
        assert!(format!("{breaker:?}").contains("closed"));
    });
}

/// A half-open failure re-opens it: this part of §5 failsafe does meet.
#[test]
fn half_open_failure_reopens() {
    let breaker = breaker();
    clock::freeze(|time| {
        trip(&breaker);
        time.advance(Duration::from_secs(31));
        assert!(breaker.is_call_permitted());
        breaker.on_error();
        assert!(!breaker.is_call_permitted());
    });
}

/// `failsafe::backoff::exponential` panics on a sub-second start instead of
/// returning an error: configuration errors are not values.
#[test]
fn backoff_panics_on_bad_input() {
    let result = std::panic::catch_unwind(|| {
        backoff::exponential(Duration::from_millis(500), Duration::from_secs(30))
    });
    assert!(result.is_err());
}
