//! Data-driven tests on a fake clock: each scenario is a table of steps
//! (admissions, results, manual controls, times in ms after `t0`) and the
//! exact event sequence it must produce.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use circuit_breaker::{
    Admission, Breaker, BreakerConfig, BreakerEvent, FailureRate, OpenReason, Outcome, Permit,
    PermitKind, State, Window,
};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

const S: u64 = 1_000;

/// One step; times are milliseconds after `t0`.
#[derive(Debug)]
enum Step {
    /// Admitted at `t` and finished at once with the outcome.
    Call(u64, Outcome),
    /// `n` failed calls at `t`.
    Fail(u32, u64),
    /// Admitted at `t`; the permit is kept under a label.
    Admit(u64, &'static str),
    /// The labelled permit finishes at `t`.
    Finish(&'static str, u64, Outcome),
    /// The labelled permit is cancelled.
    Cancel(&'static str),
    /// Rejected at `t` with `retry_at` (ms).
    Reject(u64, u64),
    ForceOpen(u64),
    Disable,
    Reset(u64),
    Timeout(u64),
    Is(State),
}
use Outcome::{Failure, Ignored, Success};
use Step::{Admit, Call, Cancel, Disable, Fail, Finish, ForceOpen, Is, Reject, Reset, Timeout};

/// The expected events, in the same ms units.
#[derive(Debug)]
enum Ev {
    /// at, retry_at, reason, reopens
    Opened(u64, u64, OpenReason, u32),
    HalfOpened(u64),
    /// at, successes
    Closed(u64, u32),
    ForcedOpen(u64),
    Disabled,
    Reset(u64, State),
}

fn ms(t0: Instant, at: u64) -> Instant {
    t0 + Duration::from_millis(at)
}

fn expected(t0: Instant, ev: &Ev) -> BreakerEvent {
    match *ev {
        Ev::Opened(at, retry_at, reason, reopens) => BreakerEvent::Opened {
            at: ms(t0, at),
            retry_at: ms(t0, retry_at),
            open_for: Duration::from_millis(retry_at - at),
            reason,
            reopens,
        },
        Ev::HalfOpened(at) => BreakerEvent::HalfOpened { at: ms(t0, at) },
        Ev::Closed(at, successes) => BreakerEvent::Closed {
            at: ms(t0, at),
            successes,
        },
        Ev::ForcedOpen(at) => BreakerEvent::ForcedOpen { at: ms(t0, at) },
        Ev::Disabled => BreakerEvent::Disabled,
        Ev::Reset(at, from) => BreakerEvent::Reset {
            at: ms(t0, at),
            from,
        },
    }
}

fn allowed(admission: Admission, step: &Step) -> Permit {
    match admission {
        Admission::Allowed(permit) => permit,
        Admission::Rejected { .. } => panic!("{step:?}: rejected"),
    }
}

/// Runs `steps` on a breaker built from `config` and returns it with the
/// events it produced and its `t0`.
fn run(config: BreakerConfig, steps: &[Step]) -> (Breaker, Vec<BreakerEvent>, Instant) {
    let t0 = t0();
    let mut breaker = Breaker::new(config).expect("valid config");
    let mut permits: HashMap<&str, Permit> = HashMap::new();
    for step in steps {
        match *step {
            Call(at, outcome) => {
                let permit = allowed(breaker.admit(ms(t0, at)), step);
                breaker.on_result(permit, outcome, ms(t0, at));
            }
            Fail(n, at) => {
                for _ in 0..n {
                    let permit = allowed(breaker.admit(ms(t0, at)), step);
                    breaker.on_result(permit, Failure, ms(t0, at));
                }
            }
            Admit(at, label) => {
                let permit = allowed(breaker.admit(ms(t0, at)), step);
                permits.insert(label, permit);
            }
            Finish(label, at, outcome) => {
                let permit = permits.remove(label).expect("admitted earlier");
                breaker.on_result(permit, outcome, ms(t0, at));
            }
            Cancel(label) => {
                breaker.on_cancel(permits.remove(label).expect("admitted earlier"));
            }
            Reject(at, retry_at) => assert_eq!(
                breaker.admit(ms(t0, at)),
                Admission::Rejected {
                    retry_at: ms(t0, retry_at)
                },
                "{step:?}"
            ),
            ForceOpen(at) => breaker.force_open(ms(t0, at)),
            Disable => breaker.disable(),
            Reset(at) => breaker.reset(ms(t0, at)),
            Timeout(at) => breaker.handle_timeout(ms(t0, at)),
            Is(state) => assert_eq!(breaker.state(), state, "{step:?}"),
        }
    }
    let events = std::iter::from_fn(|| breaker.poll_event()).collect();
    (breaker, events, t0)
}

fn check(name: &str, config: BreakerConfig, steps: &[Step], want: &[Ev]) -> Breaker {
    let (breaker, events, t0) = run(config, steps);
    let want: Vec<BreakerEvent> = want.iter().map(|ev| expected(t0, ev)).collect();
    assert_eq!(events, want, "scenario {name}");
    breaker
}

fn consecutive(failures: u32) -> OpenReason {
    OpenReason::ConsecutiveFailures { failures }
}

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
