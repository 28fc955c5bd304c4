//! The connection-state machine on a fake clock, as tables: each scenario
//! is a list of signals at times (ms after `t0`) and the exact transitions
//! it must produce. The harness fires every deadline due before the next
//! step, as a driver's timer would, in a bounded loop that catches a
//! livelock.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fallback::{
    ConnState, ConnectionConfig, ConnectionMachine, ErrorClass, Feed, Link, Reason, Signal,
};

use ConnState::{Connecting, Degraded, Failed, Failing, Fallback, Healthy, Recovering, Unstable};
use ErrorClass::{Permanent, Planned, RateLimited, Transient};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

const S: u64 = 1_000;

#[derive(Debug, Clone, Copy)]
enum Step {
    /// A signal at a time; deadlines due before it fire first.
    At(u64, Signal),
    /// Let time pass to here, firing deadlines.
    Until(u64),
    /// `reset` at a time.
    Reset(u64),
    /// The state now.
    Is(ConnState),
}
use Step::{At, Is, Reset, Until};

type Row = (u64, ConnState, ConnState, Reason);

fn ms(t0: Instant, at: u64) -> Instant {
    t0 + Duration::from_millis(at)
}

fn at_ms(t0: Instant, at: Instant) -> u64 {
    u64::try_from(at.duration_since(t0).as_millis()).expect("test times fit")
}

/// Runs the steps; returns the machine and every transition, in ms.
fn run(config: ConnectionConfig, steps: &[Step]) -> (ConnectionMachine, Vec<Row>) {
    let t0 = t0();
    let mut machine = ConnectionMachine::new(config).expect("valid config");
    let mut log = Vec::new();
    let record = |t: Option<fallback::Transition>, log: &mut Vec<Row>| {
        if let Some(t) = t {
            log.push((at_ms(t0, t.at), t.from, t.to, t.reason));
        }
    };
    let fire_until = |machine: &mut ConnectionMachine, until: u64, log: &mut Vec<Row>| {
        for _ in 0..100 {
            match machine.poll_timeout() {
                Some(deadline) if deadline <= ms(t0, until) => {
                    let t = machine.handle_timeout(deadline);
                    assert!(t.is_some(), "a deadline that changes nothing: livelock");
                    record(t, log);
                }
                _ => return,
            }
        }
        panic!("more than 100 deadlines before {until} ms: livelock");
    };
    for step in steps {
        match *step {
            At(at, signal) => {
                fire_until(&mut machine, at, &mut log);
                let t = machine.on_signal(signal, ms(t0, at));
                record(t, &mut log);
            }
            Until(at) => fire_until(&mut machine, at, &mut log),
            Reset(at) => {
                fire_until(&mut machine, at, &mut log);
                let t = machine.reset(ms(t0, at));
                record(t, &mut log);
            }
            Is(state) => assert_eq!(machine.state(), state, "after {log:?}"),
        }
    }
    (machine, log)
}

fn check(name: &str, steps: &[Step], expected: &[Row]) -> ConnectionMachine {
    let (machine, log) = run(ConnectionConfig::default(), steps);
    assert_eq!(log, expected, "scenario {name}");
    machine
}

fn drop(class: ErrorClass) -> Signal {
    Signal::Dropped { class }
}
fn attempt_failed(class: ErrorClass) -> Signal {
    Signal::AttemptFailed { class }
}
fn error(class: ErrorClass) -> Signal {
    Signal::Error { class }
}
fn stable(secs: u64) -> Reason {
    Reason::Stable {
        after: Duration::from_secs(secs),
    }
}
const CONNECTED: Signal = Signal::Connected;
const SUBSCRIBED: Signal = Signal::Subscribed;

/// Healthy at 0 ms.
fn healthy() -> Vec<Step> {
    vec![At(0, CONNECTED), At(0, SUBSCRIBED), Is(Healthy)]
}

fn with(prefix: Vec<Step>, rest: &[Step]) -> Vec<Step> {
    prefix.into_iter().chain(rest.iter().copied()).collect()
}

fn healthy_row() -> Row {
    (0, Connecting, Healthy, Reason::Ready)
}

#[test]
fn the_first_connection_is_healthy_once_subscribed() {
    let machine = check(
        "first",
        &[
            At(0, CONNECTED),
            Is(Connecting),
            At(50, SUBSCRIBED),
            Is(Healthy),
        ],
        &[(50, Connecting, Healthy, Reason::Ready)],
    );
    assert_eq!(machine.feed(), Feed::Live);
    assert_eq!(machine.poll_timeout(), None, "healthy has no deadline");
}

#[test]
fn a_drop_fails_then_reconnecting_recovers_and_30s_up_is_healthy() {
    let steps = with(
        healthy(),
        &[
            At(S, drop(Transient)),
            At(2 * S, CONNECTED),
            At(2_500, SUBSCRIBED), // restarts the probation
            Until(32_499),
            Is(Recovering),
            Until(32_500),
        ],
    );
    check(
        "recover",
        &steps,
        &[
            healthy_row(),
            (S, Healthy, Failing, Reason::Dropped { class: Transient }),
            (2 * S, Failing, Recovering, Reason::Reconnected),
            (32_500, Recovering, Healthy, stable(30)),
        ],
    );
}

#[test]
fn three_drops_within_60s_are_unstable_until_30s_up() {
    let mut steps = healthy();
    for k in 0..3 {
        steps.push(At(S + k * 10 * S, drop(Transient)));
        steps.push(At(2 * S + k * 10 * S, CONNECTED));
    }
    steps.extend([Is(Unstable), Until(52 * S - 1), Is(Unstable), Until(52 * S)]);
    let machine = check(
        "unstable",
        &steps,
        &[
            healthy_row(),
            (S, Healthy, Failing, Reason::Dropped { class: Transient }),
            (2 * S, Failing, Recovering, Reason::Reconnected),
            (
                11 * S,
                Recovering,
                Failing,
                Reason::Dropped { class: Transient },
            ),
            (12 * S, Failing, Recovering, Reason::Reconnected),
            (21 * S, Recovering, Unstable, Reason::Flapping { drops: 3 }),
            // Reconnecting at 22 s stays unstable; 30 s up is healthy.
            (52 * S, Unstable, Healthy, stable(30)),
        ],
    );
    assert_eq!(machine.snapshot().recent_drops, 3);
}

#[test]
fn drops_further_apart_than_the_window_are_not_unstable() {
    let mut steps = healthy();
    for k in 0..4 {
        steps.push(At(S + k * 31 * S, drop(Transient)));
        steps.push(At(2 * S + k * 31 * S, CONNECTED));
    }
    let (machine, log) = run(ConnectionConfig::default(), &steps);
    assert!(log.iter().all(|row| row.2 != Unstable), "{log:?}");
    assert_eq!(machine.state(), Recovering);
}

#[test]
fn an_unstable_connection_that_cannot_reconnect_is_failing() {
    let mut steps = healthy();
    for k in 0..3 {
        steps.push(At(S + k * 2 * S, drop(Transient)));
        if k < 2 {
            steps.push(At(2 * S + k * 2 * S, CONNECTED));
        }
    }
    steps.push(At(6 * S, attempt_failed(Transient)));
    let (_, log) = run(ConnectionConfig::default(), &steps);
    assert_eq!(
        log.last(),
        Some(&(
            6 * S,
            Unstable,
            Failing,
            Reason::AttemptFailed { class: Transient }
        ))
    );
}

#[test]
fn five_failed_attempts_in_a_row_are_failed() {
    let mut steps = with(healthy(), &[At(S, drop(Transient))]);
    for k in 1..=5 {
        steps.push(At(S + k * S, attempt_failed(Transient)));
    }
    steps.push(Is(Failed));
    check(
        "attempts",
        &steps,
        &[
            healthy_row(),
            (S, Healthy, Failing, Reason::Dropped { class: Transient }),
            (
                6 * S,
                Failing,
                Failed,
                Reason::TooManyFailures { attempts: 5 },
            ),
        ],
    );
}

#[test]
fn down_for_60s_is_failed_by_the_timer_or_at_the_next_attempt() {
    let timer = with(healthy(), &[At(S, drop(Transient)), Until(200 * S)]);
    let machine = check(
        "timer",
        &timer,
        &[
            healthy_row(),
            (S, Healthy, Failing, Reason::Dropped { class: Transient }),
            (
                61 * S,
                Failing,
                Failed,
                Reason::DownTooLong {
                    down_for: Duration::from_secs(60),
                },
            ),
        ],
    );
    assert_eq!(machine.feed(), Feed::Failed);
    assert_eq!(machine.poll_timeout(), None, "failed waits for news");

    // Without the timer, the next failed attempt applies the same rule.
    let t0 = t0();
    let mut m = ConnectionMachine::new(ConnectionConfig::default()).expect("valid");
    let _ = m.on_signal(attempt_failed(RateLimited), t0);
    let t = m.on_signal(attempt_failed(RateLimited), ms(t0, 90 * S));
    assert_eq!(
        t.map(|t| (t.from, t.to, t.reason)),
        Some((
            Failing,
            Failed,
            Reason::DownTooLong {
                down_for: Duration::from_secs(90)
            }
        ))
    );
}

#[test]
fn permanent_causes_fail_at_once() {
    check(
        "drop",
        &with(healthy(), &[At(S, drop(Permanent))]),
        &[healthy_row(), (S, Healthy, Failed, Reason::Permanent)],
    );
    check(
        "attempt",
        &[
            At(0, attempt_failed(Transient)),
            At(S, attempt_failed(Permanent)),
        ],
        &[
            (
                0,
                Connecting,
                Failing,
                Reason::AttemptFailed { class: Transient },
            ),
            (S, Failing, Failed, Reason::Permanent),
        ],
    );
}

#[test]
fn the_breaker_opening_fails_a_down_connection_and_degrades_a_live_one() {
    check(
        "down",
        &with(
            healthy(),
            &[At(S, drop(Transient)), At(2 * S, Signal::BreakerOpen)],
        ),
        &[
            healthy_row(),
            (S, Healthy, Failing, Reason::Dropped { class: Transient }),
            (2 * S, Failing, Failed, Reason::BreakerOpen),
        ],
    );
    // Live: degraded while the breaker is open, healthy 30 s after it closes.
    let steps = with(
        healthy(),
        &[
            At(S, Signal::BreakerOpen),
            Until(100 * S),
            Is(Degraded),
            At(100 * S, Signal::BreakerClosed),
            Until(200 * S),
        ],
    );
    check(
        "up",
        &steps,
        &[
            healthy_row(),
            (S, Healthy, Degraded, Reason::BreakerOpen),
            (130 * S, Degraded, Healthy, stable(30)),
        ],
    );
}

#[test]
fn errors_degrade_by_count_or_at_once_when_rate_limited() {
    let counted = with(
        healthy(),
        &[
            At(S, error(Transient)),
            At(2 * S, error(Transient)),
            Is(Healthy),
            At(3 * S, error(Transient)),
            At(10 * S, error(Transient)), // extends the trouble
            Until(100 * S),
        ],
    );
    check(
        "count",
        &counted,
        &[
            healthy_row(),
            (
                3 * S,
                Healthy,
                Degraded,
                Reason::Errors {
                    class: Transient,
                    count: 3,
                },
            ),
            (40 * S, Degraded, Healthy, stable(30)),
        ],
    );
    // Spread over more than the 60 s window: never three at once.
    let spread = with(
        healthy(),
        &[
            At(S, error(Transient)),
            At(40 * S, error(Transient)),
            At(80 * S, error(Transient)),
            Is(Healthy),
        ],
    );
    check("spread", &spread, &[healthy_row()]);
    check(
        "rate limited",
        &with(healthy(), &[At(S, error(RateLimited))]),
        &[
            healthy_row(),
            (
                S,
                Healthy,
                Degraded,
                Reason::Errors {
                    class: RateLimited,
                    count: 1,
                },
            ),
        ],
    );
}

#[test]
fn silence_degrades_and_recovering_trouble_degrades_too() {
    check(
        "silence",
        &with(
            healthy(),
            &[
                At(S, Signal::Silence),
                At(20 * S, Signal::Silence),
                Until(60 * S),
            ],
        ),
        &[
            healthy_row(),
            (S, Healthy, Degraded, Reason::Silence),
            (50 * S, Degraded, Healthy, stable(30)),
        ],
    );
    check(
        "recovering",
        &with(
            healthy(),
            &[
                At(S, drop(Transient)),
                At(2 * S, CONNECTED),
                At(3 * S, Signal::Silence),
            ],
        ),
        &[
            healthy_row(),
            (S, Healthy, Failing, Reason::Dropped { class: Transient }),
            (2 * S, Failing, Recovering, Reason::Reconnected),
            (3 * S, Recovering, Degraded, Reason::Silence),
        ],
    );
}

#[test]
fn polling_while_failed_is_fallback_until_reconnected() {
    let steps = with(
        healthy(),
        &[
            At(S, drop(Permanent)),
            At(2 * S, Signal::PollingStarted),
            At(3 * S, attempt_failed(Transient)), // counted, still fallback
            Is(Fallback),
            At(4 * S, Signal::PollingStopped),
            At(5 * S, Signal::PollingStarted),
            At(6 * S, CONNECTED),
        ],
    );
    let machine = check(
        "fallback",
        &steps,
        &[
            healthy_row(),
            (S, Healthy, Failed, Reason::Permanent),
            (2 * S, Failed, Fallback, Reason::PollingStarted),
            (4 * S, Fallback, Failed, Reason::PollingStopped),
            (5 * S, Failed, Fallback, Reason::PollingStarted),
            (6 * S, Fallback, Recovering, Reason::Reconnected),
        ],
    );
    let snapshot = machine.snapshot();
    assert!(snapshot.polling, "polling goes on until reported stopped");
    assert_eq!(snapshot.link, Link::Up);
    assert_eq!(snapshot.failed_attempts, 0);
}

#[test]
fn a_planned_close_is_no_trouble_unless_the_reconnect_never_comes() {
    let machine = check(
        "planned",
        &with(
            healthy(),
            &[
                At(S, drop(Planned)),
                At(2 * S, CONNECTED),
                At(2 * S, SUBSCRIBED),
            ],
        ),
        &[healthy_row()],
    );
    assert_eq!(machine.state(), Healthy);
    check(
        "planned, then nothing",
        &with(healthy(), &[At(S, drop(Planned)), Until(100 * S)]),
        &[
            healthy_row(),
            (
                61 * S,
                Healthy,
                Failed,
                Reason::DownTooLong {
                    down_for: Duration::from_secs(60),
                },
            ),
        ],
    );
}

#[test]
fn errors_and_silence_while_down_change_nothing() {
    let steps = with(
        healthy(),
        &[
            At(S, drop(Transient)),
            At(2 * S, error(Permanent)),
            At(3 * S, Signal::Silence),
            At(4 * S, Signal::BreakerClosed),
            Is(Failing),
        ],
    );
    check(
        "down",
        &steps,
        &[
            healthy_row(),
            (S, Healthy, Failing, Reason::Dropped { class: Transient }),
        ],
    );
}

#[test]
fn reset_returns_to_connecting() {
    let (machine, log) = run(
        ConnectionConfig::default(),
        &with(
            healthy(),
            &[At(S, drop(Permanent)), Reset(2 * S), Is(Connecting)],
        ),
    );
    assert_eq!(
        log.last(),
        Some(&(2 * S, Failed, Connecting, Reason::Reset))
    );
    assert_eq!(machine.snapshot().transitions, 3);
    assert_eq!(machine.feed(), Feed::Interrupted);
}

#[test]
fn every_state_is_reachable_and_every_transition_is_reported() {
    let everything = with(
        healthy(),
        &[
            At(S, Signal::Silence),            // degraded
            At(2 * S, drop(Transient)),        // failing
            At(3 * S, CONNECTED),              // recovering
            At(4 * S, drop(Transient)),        // failing
            At(5 * S, CONNECTED),              // recovering
            At(6 * S, drop(Transient)),        // unstable (3 drops)
            At(7 * S, Signal::BreakerOpen),    // failed
            At(8 * S, Signal::PollingStarted), // fallback
            Reset(9 * S),                      // connecting
        ],
    );
    let (machine, log) = run(ConnectionConfig::default(), &everything);
    let reached: BTreeSet<ConnState> = log.iter().map(|row| row.2).collect();
    let all: BTreeSet<ConnState> = ConnState::ALL.into_iter().collect();
    assert_eq!(reached, all, "{log:?}");
    assert_eq!(machine.snapshot().transitions, log.len() as u64);
    // Every transition is a change of state, and each leaves the state the
    // previous one entered.
    for pair in log.windows(2) {
        assert_eq!(pair[0].2, pair[1].1);
    }
    assert!(log.iter().all(|row| row.1 != row.2));
}

#[test]
fn feed_follows_the_state() {
    let t0 = t0();
    let mut m = ConnectionMachine::new(ConnectionConfig::default()).expect("valid");
    assert_eq!(m.feed(), Feed::Interrupted);
    let _ = m.on_signal(CONNECTED, t0);
    assert_eq!(m.feed(), Feed::Interrupted, "not subscribed yet");
    let _ = m.on_signal(SUBSCRIBED, t0);
    assert_eq!(m.feed(), Feed::Live);
    let _ = m.on_signal(Signal::Silence, t0);
    assert_eq!((m.state(), m.feed()), (Degraded, Feed::Live));
    let _ = m.on_signal(drop(Transient), t0);
    assert_eq!(m.feed(), Feed::Interrupted);
    // Flapping: up again, down again, down a third time within a minute.
    let _ = m.on_signal(CONNECTED, t0);
    assert_eq!((m.state(), m.feed()), (Recovering, Feed::Live));
    let _ = m.on_signal(drop(Transient), t0);
    let _ = m.on_signal(CONNECTED, t0);
    let _ = m.on_signal(drop(Transient), t0);
    assert_eq!(
        (m.state(), m.feed()),
        (Unstable, Feed::Failed),
        "its outages are polled"
    );
    let _ = m.on_signal(CONNECTED, t0);
    assert_eq!((m.state(), m.feed()), (Unstable, Feed::Live));
    let _ = m.on_signal(drop(Transient), t0);
    let _ = m.on_signal(Signal::BreakerOpen, t0);
    assert_eq!(m.feed(), Feed::Failed);
    let _ = m.on_signal(Signal::PollingStarted, t0);
    assert_eq!((m.state(), m.feed()), (Fallback, Feed::Failed));
}

#[test]
fn the_deadline_is_in_the_snapshot_and_early_timeouts_are_harmless() {
    let t0 = t0();
    let mut m = ConnectionMachine::new(ConnectionConfig::default()).expect("valid");
    let _ = m.on_signal(SUBSCRIBED, t0);
    let _ = m.on_signal(drop(Transient), t0);
    let deadline = ms(t0, 60 * S);
    assert_eq!(m.snapshot().deadline, Some(deadline));
    assert_eq!(m.handle_timeout(ms(t0, 59 * S)), None);
    assert_eq!(m.handle_timeout(ms(t0, 59 * S)), None);
    assert_eq!(m.state(), Failing);
    assert!(m.handle_timeout(deadline).is_some());
    assert_eq!(m.handle_timeout(deadline), None, "twice is harmless");
}
