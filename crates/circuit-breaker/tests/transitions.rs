//! Data-driven tests on a fake clock, the automatic paths: tripping,
//! rejecting until `retry_at`, half-open probes, closing, re-opening,
//! timeouts and late results. The DSL is in `table/mod.rs`.

mod table;

use std::time::Duration;

use circuit_breaker::{BreakerConfig, OpenReason, PermitKind, State};
use table::*;
#[test]
fn five_failures_open_and_calls_are_rejected_until_retry_at() {
    let breaker = check(
        "trip",
        BreakerConfig::default(),
        &[
            Fail(4, 0),
            Is(State::Closed),
            Call(4, Failure),
            Is(State::Open),
            Reject(4, 30_004),
            Reject(20 * S, 30_004),
            Reject(30_003, 30_004),
            Admit(30_004, "probe"),
            Is(State::HalfOpen),
        ],
        &[
            Ev::Opened(4, 30_004, consecutive(5), 0),
            Ev::HalfOpened(30_004),
        ],
    );
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.totals.rejected, 3);
    assert_eq!(snapshot.totals.admitted, 6);
    assert_eq!(snapshot.probes_in_flight, 1);
}

#[test]
fn a_success_breaks_the_run() {
    check(
        "run",
        BreakerConfig::default(),
        &[
            Fail(4, 0),
            Call(1, Success),
            Fail(4, 2),
            Is(State::Closed),
            Fail(1, 3),
        ],
        &[Ev::Opened(3, 30_003, consecutive(5), 0)],
    );
}

#[test]
fn probe_success_closes_and_failure_reopens() {
    check(
        "close",
        BreakerConfig::default(),
        &[
            Fail(5, 0),
            Call(30 * S, Success),
            Is(State::Closed),
            Fail(4, 31 * S),
            Is(State::Closed),
        ],
        &[
            Ev::Opened(0, 30 * S, consecutive(5), 0),
            Ev::HalfOpened(30 * S),
            Ev::Closed(30 * S, 1),
        ],
    );
    check(
        "reopen",
        BreakerConfig::default(),
        &[
            Fail(5, 0),
            Call(40 * S, Failure),
            Reject(40 * S, 70 * S),
            Call(70 * S, Success),
        ],
        &[
            Ev::Opened(0, 30 * S, consecutive(5), 0),
            Ev::HalfOpened(40 * S),
            Ev::Opened(40 * S, 70 * S, OpenReason::ProbeFailed, 1),
            Ev::HalfOpened(70 * S),
            Ev::Closed(70 * S, 1),
        ],
    );
}

#[test]
fn reopenings_wait_longer_when_configured_and_closing_starts_over() {
    let config = BreakerConfig {
        open_multiplier: 2.0,
        max_open_duration: Duration::from_secs(100),
        ..BreakerConfig::default()
    };
    check(
        "grow",
        config,
        &[
            Fail(5, 0),
            Call(30 * S, Failure),
            Reject(30 * S, 90 * S),
            Call(90 * S, Failure),
            Reject(90 * S, 190 * S),
            Call(190 * S, Failure),
            Reject(190 * S, 290 * S),
            Call(290 * S, Success),
            Fail(5, 300 * S),
            Reject(300 * S, 330 * S),
        ],
        &[
            Ev::Opened(0, 30 * S, consecutive(5), 0),
            Ev::HalfOpened(30 * S),
            Ev::Opened(30 * S, 90 * S, OpenReason::ProbeFailed, 1),
            Ev::HalfOpened(90 * S),
            Ev::Opened(90 * S, 190 * S, OpenReason::ProbeFailed, 2),
            Ev::HalfOpened(190 * S),
            Ev::Opened(190 * S, 290 * S, OpenReason::ProbeFailed, 3),
            Ev::HalfOpened(290 * S),
            Ev::Closed(290 * S, 1),
            Ev::Opened(300 * S, 330 * S, consecutive(5), 0),
        ],
    );
}

#[test]
fn probe_limit_and_successes_needed() {
    let config = BreakerConfig {
        half_open_probes: 2,
        half_open_successes: 3,
        ..BreakerConfig::default()
    };
    let breaker = check(
        "probes",
        config,
        &[
            Fail(5, 0),
            Admit(30 * S, "a"),
            Admit(30_100, "b"),
            // Both slots taken: rejected until the probe deadline.
            Reject(30_200, 60_100),
            Finish("a", 31 * S, Success),
            Admit(31 * S, "c"),
            Reject(31 * S, 61 * S),
            Finish("b", 32 * S, Success),
            Is(State::HalfOpen),
            Finish("c", 33 * S, Success),
        ],
        &[
            Ev::Opened(0, 30 * S, consecutive(5), 0),
            Ev::HalfOpened(30 * S),
            Ev::Closed(33 * S, 3),
        ],
    );
    assert_eq!(breaker.snapshot().probes_in_flight, 0);
}

#[test]
fn cancelled_and_ignored_probes_free_their_slot() {
    check(
        "cancel",
        BreakerConfig::default(),
        &[
            Fail(5, 0),
            Admit(30 * S, "a"),
            Reject(30 * S, 60 * S),
            Cancel("a"),
            Admit(30 * S, "b"),
            Finish("b", 31 * S, Ignored),
            Is(State::HalfOpen),
            Admit(32 * S, "c"),
            Finish("c", 33 * S, Success),
        ],
        &[
            Ev::Opened(0, 30 * S, consecutive(5), 0),
            Ev::HalfOpened(30 * S),
            Ev::Closed(33 * S, 1),
        ],
    );
}

#[test]
fn an_unanswered_probe_times_out_and_its_late_result_changes_nothing() {
    let breaker = check(
        "probe timeout",
        BreakerConfig::default(),
        &[
            Fail(5, 0),
            Admit(30 * S, "hung"),
            Reject(59_999, 60 * S),
            Reject(60 * S, 90 * S),
            Finish("hung", 61 * S, Success),
            Is(State::Open),
        ],
        &[
            Ev::Opened(0, 30 * S, consecutive(5), 0),
            Ev::HalfOpened(30 * S),
            Ev::Opened(60 * S, 90 * S, OpenReason::ProbeTimedOut, 1),
        ],
    );
    assert_eq!(breaker.snapshot().totals.late, 1);
}

#[test]
fn a_slow_call_from_before_the_trip_cannot_close_the_breaker() {
    // failsafe closes here (tests/failsafe_evidence.rs); we count it as late.
    let breaker = check(
        "late",
        BreakerConfig::default(),
        &[
            Admit(0, "slow"),
            Fail(5, 1),
            Admit(30_001, "probe"),
            Finish("slow", 30_002, Success),
            Is(State::HalfOpen),
            Finish("probe", 30_003, Failure),
        ],
        &[
            Ev::Opened(1, 30_001, consecutive(5), 0),
            Ev::HalfOpened(30_001),
            Ev::Opened(30_003, 60_003, OpenReason::ProbeFailed, 1),
        ],
    );
    assert_eq!(breaker.snapshot().totals.late, 1);
}

#[test]
fn timeouts_make_events_on_time() {
    let (mut breaker, _, t0) = run(BreakerConfig::default(), &[Fail(5, 0)]);
    assert_eq!(breaker.poll_timeout(), Some(ms(t0, 30 * S)));
    breaker.handle_timeout(ms(t0, 29 * S));
    assert_eq!(breaker.state(), State::Open);
    breaker.handle_timeout(ms(t0, 30 * S));
    assert_eq!(
        breaker.poll_event(),
        Some(expected(t0, &Ev::HalfOpened(30 * S)))
    );
    // Half-open without probes out: nothing happens by itself.
    assert_eq!(breaker.poll_timeout(), None);
    let probe = allowed(breaker.admit(ms(t0, 31 * S)), &Timeout(31 * S));
    assert_eq!(probe.kind(), PermitKind::Probe);
    assert_eq!(breaker.poll_timeout(), Some(ms(t0, 61 * S)));
    breaker.handle_timeout(ms(t0, 61 * S));
    assert_eq!(breaker.state(), State::Open);
}
