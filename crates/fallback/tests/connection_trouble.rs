//! The connection-state machine's trouble rules on a fake clock: breakers,
//! errors, silences, polling, planned closes, reset; every state reachable.
//! The table harness is in `table/mod.rs`.

mod table;

use std::collections::BTreeSet;

use table::*;

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
