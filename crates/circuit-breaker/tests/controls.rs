//! Data-driven tests on a fake clock: manual control (force open, disable,
//! reset), failure-rate windows, slow calls and snapshots. The DSL is in
//! `table/mod.rs`.

mod table;

use std::time::Duration;

use circuit_breaker::{BreakerConfig, FailureRate, OpenReason, State, Window};
use table::*;
#[test]
fn force_open_rejects_until_reset() {
    let breaker = check(
        "force",
        BreakerConfig::default(),
        &[
            Call(0, Success),
            ForceOpen(1),
            ForceOpen(2), // idempotent: no second event
            Reject(3, 30_003),
            Reject(3_600 * S, 3_630 * S),
            Timeout(7_200 * S),
            Is(State::ForcedOpen),
            Reset(7_200 * S),
            Call(7_200 * S, Success),
        ],
        &[Ev::ForcedOpen(1), Ev::Reset(7_200 * S, State::ForcedOpen)],
    );
    assert_eq!(breaker.snapshot().retry_at, None);
}

#[test]
fn force_open_from_half_open_makes_probes_late() {
    check(
        "force half-open",
        BreakerConfig::default(),
        &[
            Fail(5, 0),
            Admit(30 * S, "p"),
            ForceOpen(31 * S),
            Finish("p", 32 * S, Success),
            Is(State::ForcedOpen),
        ],
        &[
            Ev::Opened(0, 30 * S, consecutive(5), 0),
            Ev::HalfOpened(30 * S),
            Ev::ForcedOpen(31 * S),
        ],
    );
}

#[test]
fn disable_admits_everything_until_reset() {
    let breaker = check(
        "disable",
        BreakerConfig::default(),
        &[
            Fail(5, 0),
            Disable,
            Disable, // idempotent
            Fail(100, 1),
            Is(State::Disabled),
            Reset(2),
            Fail(4, 3),
            Is(State::Closed),
        ],
        &[
            Ev::Opened(0, 30 * S, consecutive(5), 0),
            Ev::Disabled,
            Ev::Reset(2, State::Disabled),
        ],
    );
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.consecutive_failures, 4);
    assert_eq!(snapshot.totals.failures, 109);
}

#[test]
fn reset_forgets_the_run_and_the_growth() {
    let config = BreakerConfig {
        open_multiplier: 3.0,
        ..BreakerConfig::default()
    };
    check(
        "reset",
        config,
        &[
            Fail(5, 0),
            Call(30 * S, Failure),
            Reset(31 * S),
            Fail(4, 32 * S),
            Fail(1, 33 * S),
            Reject(33 * S, 63 * S),
        ],
        &[
            Ev::Opened(0, 30 * S, consecutive(5), 0),
            Ev::HalfOpened(30 * S),
            Ev::Opened(30 * S, 120 * S, OpenReason::ProbeFailed, 1),
            Ev::Reset(31 * S, State::Open),
            Ev::Opened(33 * S, 63 * S, consecutive(5), 0),
        ],
    );
}

#[test]
fn failure_rate_over_the_last_n_calls() {
    let config = BreakerConfig {
        consecutive_failures: None,
        failure_rate: Some(FailureRate {
            threshold: 0.5,
            minimum_calls: 10,
            window: Window::Calls(10),
        }),
        ..BreakerConfig::default()
    };
    // F S F S F S F S F: 9 calls, 5 failures, under the minimum; then a
    // success (the rule is checked on failures only).
    let mut steps: Vec<Step> = (0..9)
        .map(|i| Call(i, if i % 2 == 0 { Failure } else { Success }))
        .collect();
    steps.push(Call(9, Success));
    steps.push(Is(State::Closed));
    // The window slides: the oldest failure leaves, this one enters: 5/10.
    steps.push(Call(10, Failure));
    check(
        "rate/calls",
        config,
        &steps,
        &[Ev::Opened(
            10,
            30_010,
            OpenReason::FailureRate {
                failures: 5,
                calls: 10,
            },
            0,
        )],
    );
}

#[test]
fn failure_rate_over_the_last_seconds() {
    let config = BreakerConfig {
        consecutive_failures: None,
        failure_rate: Some(FailureRate {
            threshold: 0.6,
            minimum_calls: 4,
            window: Window::Time {
                length: Duration::from_secs(10),
                buckets: 10,
            },
        }),
        ..BreakerConfig::default()
    };
    check(
        "rate/time",
        config,
        &[
            Fail(2, 0),
            Call(S, Success),
            Call(2 * S, Success),
            // 3 failures of 5 would be 60 %, but the two at 0 s left the
            // window at 10 s (1 s buckets: it covers the last 9 to 10 s):
            // 1 of 3.
            Call(10_500, Failure),
            Is(State::Closed),
            // At 11 s the success at 1 s left too: S(2 s) F S F is 2 of 4,
            // 50 %; one more failure is 3 of 5, 60 %.
            Call(11 * S, Success),
            Call(11 * S, Failure),
            Is(State::Closed),
            Call(11 * S, Failure),
        ],
        &[Ev::Opened(
            11 * S,
            41 * S,
            OpenReason::FailureRate {
                failures: 3,
                calls: 5,
            },
            0,
        )],
    );
}

#[test]
fn slow_successes_count_as_failures() {
    let config = BreakerConfig {
        slow_call: Some(Duration::from_secs(2)),
        ..BreakerConfig::default()
    };
    let breaker = check(
        "slow",
        config,
        &[
            Admit(0, "fast"),
            Finish("fast", 1_999, Success),
            Admit(0, "a"),
            Admit(0, "b"),
            Admit(0, "c"),
            Admit(0, "d"),
            Admit(0, "e"),
            Finish("a", 2 * S, Success),
            Finish("b", 2 * S, Success),
            Finish("c", 3 * S, Success),
            Finish("d", 4 * S, Success),
            Finish("e", 5 * S, Success),
        ],
        &[Ev::Opened(5 * S, 35 * S, consecutive(5), 0)],
    );
    let totals = breaker.snapshot().totals;
    assert_eq!(
        (totals.slow_calls, totals.failures, totals.successes),
        (5, 5, 1)
    );
}

#[test]
fn snapshot_for_health() {
    let config = BreakerConfig {
        failure_rate: Some(FailureRate::default()),
        ..BreakerConfig::default()
    };
    let (breaker, _, _) = run(config, &[Call(0, Success), Fail(3, 1)]);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Closed);
    assert_eq!(snapshot.since, None);
    assert_eq!(snapshot.consecutive_failures, 3);
    assert_eq!((snapshot.window_calls, snapshot.window_failures), (4, 3));
    assert_eq!(snapshot.failure_rate, Some(0.75));
    assert_eq!(snapshot.retry_at, None);

    let (breaker, _, t0) = run(BreakerConfig::default(), &[Fail(5, 7)]);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Open);
    assert_eq!(snapshot.state.as_str(), "open");
    assert_eq!(snapshot.since, Some(ms(t0, 7)));
    assert_eq!(snapshot.retry_at, Some(ms(t0, 30_007)));
    assert_eq!(snapshot.open_duration, Duration::from_secs(30));
}
