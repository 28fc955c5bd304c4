//! Data-driven tests on a fake clock: tables of (events, expected decisions).
//!
//! Jitter is 0 here so every delay is exact; the jittered bounds are the
//! property tests' job (`tests/properties.rs`).

use std::time::{Duration, Instant};

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use reconnect::{
    AbandonReason, Cause, Decision, DelayKind, Phase, ReconnectConfig, ReconnectEvent, Reconnector,
};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn exact() -> ReconnectConfig {
    ReconnectConfig {
        jitter: 0.0,
        ..ReconnectConfig::default()
    }
}

fn closed(code: u16) -> Cause {
    Cause::Closed {
        code,
        reason: String::new(),
    }
}

fn rejected(status: u16, retry_after_secs: Option<u64>) -> Cause {
    Cause::HandshakeRejected {
        status,
        retry_after: retry_after_secs.map(Duration::from_secs),
    }
}

/// What a step of a scenario expects back.
#[derive(Debug)]
enum Want {
    Reconnect(u64),
    Backoff(u64),
    Permanent,
    AttemptLimit(u32),
    TimeLimit(u64),
}

/// One step; times are milliseconds after the scenario's start.
#[derive(Debug)]
enum Step {
    Connect(u64),
    Tick(u64),
    Drop(u64, Cause, Want),
    Reset,
    Failures(u32),
}
use Step::{Connect, Drop, Failures, Reset, Tick};
use Want::{AttemptLimit, Backoff, Permanent, Reconnect, TimeLimit};

fn check(decision: &Decision, want: &Want, start: Instant, at_ms: u64) -> bool {
    let now = start + ms(at_ms);
    match (decision, want) {
        (Decision::Reconnect { delay, at }, Reconnect(w))
        | (Decision::Backoff { delay, at }, Backoff(w)) => *delay == ms(*w) && *at == now + ms(*w),
        (Decision::Abandon(AbandonReason::Permanent(_)), Permanent) => true,
        (Decision::Abandon(AbandonReason::AttemptLimit { attempts }), AttemptLimit(w)) => {
            attempts == w
        }
        (Decision::Abandon(AbandonReason::TimeLimit { elapsed }), TimeLimit(w)) => {
            *elapsed == ms(*w)
        }
        _ => false,
    }
}

fn run(name: &str, config: ReconnectConfig, steps: Vec<Step>) {
    let mut machine = Reconnector::new(config, ChaCha8Rng::seed_from_u64(0)).expect("valid");
    let start = t0();
    for (i, step) in steps.iter().enumerate() {
        match step {
            Connect(at) => machine.on_connected(start + ms(*at)),
            Tick(at) => machine.handle_timeout(start + ms(*at)),
            Reset => machine.reset(),
            Failures(want) => {
                assert_eq!(machine.failures(), *want, "{name}: step {i} {step:?}");
            }
            Drop(at, cause, want) => {
                let decision = machine.on_disconnect(cause.clone(), start + ms(*at));
                assert!(
                    check(&decision, want, start, *at),
                    "{name}: step {i} {step:?} got {decision:?}"
                );
            }
        }
    }
}

#[test]
fn decision_tables() {
    let scenarios: Vec<(&str, ReconnectConfig, Vec<Step>)> = vec![
        (
            "failed attempts climb 1, 2, 4, 8, 16, 30, 30 s",
            exact(),
            vec![
                Drop(0, Cause::Refused, Reconnect(1_000)),
                Drop(1_000, Cause::Refused, Reconnect(2_000)),
                Drop(3_000, Cause::Dns, Reconnect(4_000)),
                Drop(7_000, Cause::Timeout, Reconnect(8_000)),
                Drop(15_000, Cause::Tls, Reconnect(16_000)),
                Drop(31_000, Cause::Reset, Reconnect(30_000)),
                Drop(61_000, rejected(502, None), Reconnect(30_000)),
                Failures(7),
            ],
        ),
        (
            "connections that drop before healthy_after keep climbing",
            exact(),
            vec![
                Connect(0),
                Drop(5_000, Cause::Reset, Reconnect(1_000)),
                Connect(6_000),
                Drop(10_000, Cause::Silence, Reconnect(2_000)),
                Connect(12_000),
                // 59.999 s: one millisecond short of healthy.
                Drop(71_999, closed(1006), Reconnect(4_000)),
                Failures(3),
            ],
        ),
        (
            "a connection open for healthy_after resets the schedule",
            exact(),
            vec![
                Drop(0, Cause::Refused, Reconnect(1_000)),
                Drop(1_000, Cause::Refused, Reconnect(2_000)),
                Connect(3_000),
                Drop(63_000, Cause::Reset, Reconnect(1_000)),
                Failures(1),
            ],
        ),
        (
            "handle_timeout marks the connection healthy at its deadline",
            exact(),
            vec![
                Drop(0, Cause::Refused, Reconnect(1_000)),
                Connect(1_000),
                Tick(60_999),
                Failures(1),
                Tick(61_000),
                Failures(0),
                Drop(90_000, Cause::Reset, Reconnect(1_000)),
            ],
        ),
        (
            "rate-limit causes back off 60 s, doubling to 5 min",
            exact(),
            vec![
                Drop(0, closed(1008), Backoff(60_000)),
                Drop(60_000, closed(1008), Backoff(120_000)),
                Drop(180_000, rejected(429, None), Backoff(240_000)),
                Drop(420_000, closed(1013), Backoff(300_000)),
                Drop(720_000, rejected(403, None), Backoff(300_000)),
            ],
        ),
        (
            "a longer Retry-After wins, clamped to 3 days",
            exact(),
            vec![
                Drop(0, rejected(429, Some(600)), Backoff(600_000)),
                Drop(
                    600_000,
                    rejected(418, Some(10 * 86_400)),
                    Backoff(3 * 86_400_000),
                ),
            ],
        ),
        (
            "a shorter Retry-After does not shorten the rate-limit delay",
            exact(),
            vec![Drop(0, rejected(429, Some(5)), Backoff(60_000))],
        ),
        (
            "rate-limit causes advance the ordinary schedule too",
            exact(),
            vec![
                Drop(0, closed(1008), Backoff(60_000)),
                Drop(60_000, Cause::Reset, Reconnect(2_000)),
            ],
        ),
        (
            "rate-limit doubling restarts after a healthy connection",
            exact(),
            vec![
                Drop(0, closed(1008), Backoff(60_000)),
                Connect(60_000),
                Drop(200_000, closed(1008), Backoff(60_000)),
            ],
        ),
        (
            "a planned end of a healthy connection reconnects at once",
            exact(),
            vec![
                Connect(0),
                Drop(3_600_000, Cause::ServerShutdown, Reconnect(0)),
                Connect(3_600_100),
                Drop(7_200_000, Cause::Rotation, Reconnect(0)),
                Failures(0),
            ],
        ),
        (
            "a planned end of a short-lived connection climbs like a failure",
            exact(),
            vec![
                Connect(0),
                Drop(1_000, Cause::ServerShutdown, Reconnect(1_000)),
                Connect(2_000),
                Drop(3_000, Cause::ServerShutdown, Reconnect(2_000)),
            ],
        ),
        (
            "permanent causes abandon, and stay abandoned until reset",
            exact(),
            vec![
                Drop(0, Cause::Refused, Reconnect(1_000)),
                Drop(1_000, rejected(404, None), Permanent),
                Drop(2_000, Cause::Reset, Permanent),
                Reset,
                Failures(0),
                Drop(3_000, Cause::Reset, Reconnect(1_000)),
            ],
        ),
        (
            "certificate errors and caller-declared causes are permanent",
            exact(),
            vec![
                Drop(0, Cause::Certificate, Permanent),
                Reset,
                Connect(0),
                Drop(
                    90_000,
                    Cause::Permanent {
                        reason: "unknown symbol".into(),
                    },
                    Permanent,
                ),
            ],
        ),
        (
            "max_attempts abandons after that many attempts in one outage",
            ReconnectConfig {
                max_attempts: Some(3),
                ..exact()
            },
            vec![
                Drop(0, Cause::Refused, Reconnect(1_000)),
                Drop(1_000, Cause::Refused, Reconnect(2_000)),
                Connect(3_000),
                Drop(4_000, Cause::Reset, Reconnect(4_000)),
                Drop(8_000, Cause::Refused, AttemptLimit(3)),
            ],
        ),
        (
            "max_attempts counts per outage: a healthy connection starts afresh",
            ReconnectConfig {
                max_attempts: Some(2),
                ..exact()
            },
            vec![
                Drop(0, Cause::Refused, Reconnect(1_000)),
                Drop(1_000, Cause::Refused, Reconnect(2_000)),
                Connect(3_000),
                Drop(100_000, Cause::Reset, Reconnect(1_000)),
                Drop(101_000, Cause::Reset, Reconnect(2_000)),
                Drop(103_000, Cause::Reset, AttemptLimit(2)),
            ],
        ),
        (
            "max_attempts = 0 never retries",
            ReconnectConfig {
                max_attempts: Some(0),
                ..exact()
            },
            vec![Drop(0, Cause::Reset, AttemptLimit(0))],
        ),
        (
            "max_elapsed abandons when the next attempt would start too late",
            ReconnectConfig {
                max_elapsed: Some(ms(10_000)),
                ..exact()
            },
            vec![
                Drop(0, Cause::Refused, Reconnect(1_000)),
                Drop(1_000, Cause::Refused, Reconnect(2_000)),
                // Retry at 3 s + 4 s = 7 s: inside the limit.
                Drop(3_000, Cause::Refused, Reconnect(4_000)),
                // Retry at 7 s + 8 s = 15 s: past it.
                Drop(7_000, Cause::Refused, TimeLimit(7_000)),
            ],
        ),
    ];
    for (name, config, steps) in scenarios {
        run(name, config, steps);
    }
}

#[test]
fn events_transcript() {
    let mut machine = Reconnector::new(exact(), ChaCha8Rng::seed_from_u64(0)).expect("valid");
    let start = t0();
    let at = |n: u64| start + ms(n);
    let _ = machine.on_disconnect(Cause::Refused, at(0));
    machine.on_connected(at(1_000));
    assert_eq!(machine.poll_timeout(), Some(at(61_000)));
    machine.handle_timeout(at(61_000));
    assert_eq!(machine.poll_timeout(), None);
    let _ = machine.on_disconnect(closed(1008), at(70_000));
    let events: Vec<ReconnectEvent> = std::iter::from_fn(|| machine.poll_event()).collect();
    let want = vec![
        ReconnectEvent::Disconnected {
            at: at(0),
            cause: Cause::Refused,
            class: reconnect::CauseClass::Transient,
            connected_for: None,
        },
        ReconnectEvent::Scheduled {
            at: at(0),
            attempt: 1,
            kind: DelayKind::Schedule,
            delay: ms(1_000),
            retry_at: at(1_000),
        },
        ReconnectEvent::Connected {
            at: at(1_000),
            after_failures: 1,
        },
        ReconnectEvent::Healthy {
            at: at(61_000),
            reset_failures: 1,
        },
        ReconnectEvent::Disconnected {
            at: at(70_000),
            cause: closed(1008),
            class: reconnect::CauseClass::RateLimited,
            connected_for: Some(ms(69_000)),
        },
        ReconnectEvent::Scheduled {
            at: at(70_000),
            attempt: 1,
            kind: DelayKind::RateLimit,
            delay: ms(60_000),
            retry_at: at(130_000),
        },
    ];
    assert_eq!(events, want);

    let snapshot = machine.snapshot();
    assert_eq!(
        snapshot.phase,
        Phase::Waiting {
            until: at(130_000),
            kind: DelayKind::RateLimit
        }
    );
    assert_eq!(snapshot.failures, 1);
    assert_eq!(snapshot.rate_limited, 1);
    assert_eq!(snapshot.outage_since, Some(at(70_000)));
    assert_eq!(snapshot.last_delay, Some(ms(60_000)));
    assert_eq!(snapshot.last_cause, Some(closed(1008)));
}

#[test]
fn unpolled_events_stay_bounded() {
    let mut machine = Reconnector::new(exact(), ChaCha8Rng::seed_from_u64(0)).expect("valid");
    let start = t0();
    for i in 0..100 {
        let _ = machine.on_disconnect(Cause::Reset, start + Duration::from_secs(i * 60));
    }
    // Two events per disconnect, 64 kept.
    assert_eq!(machine.snapshot().dropped_events, 200 - 64);
    assert_eq!(std::iter::from_fn(|| machine.poll_event()).count(), 64);
}

#[test]
fn invalid_config_is_refused() {
    let config = ReconnectConfig {
        initial_delay: Duration::from_secs(30),
        max_delay: Duration::from_secs(10),
        ..ReconnectConfig::default()
    };
    let err = Reconnector::new(config, ChaCha8Rng::seed_from_u64(0)).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid configuration: max_delay = 10s must not be below initial_delay = 30s"
    );
}
