//! The connection-state machine's lifecycle on a fake clock: connecting,
//! dropping, reconnecting, flapping, failing; the table harness is in
//! `table/mod.rs`.

mod table;

use table::*;

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
