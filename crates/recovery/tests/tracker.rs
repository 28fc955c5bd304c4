//! The recovery tracker on a fake clock: tables of (failures, expected
//! actions), attempt limits, attempt timeouts and operator resumes.

use std::time::{Duration, Instant};

use recovery::{
    Action, Classification, ErrorClass, EscalateReason, Failure, Phase, Recovery, RecoveryConfig,
    RecoveryEvent, Strategy, StrategyKind, StrategyPolicy, classify_http,
};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn class(class: ErrorClass) -> Classification {
    Classification::new(class)
}

fn tracker() -> Recovery {
    Recovery::new(RecoveryConfig::default()).expect("valid")
}

/// What a failure should bring back: the delay and kind, or no retry.
#[derive(Debug, PartialEq)]
enum Want {
    Retry(u64, StrategyKind),
    Wait(u64),
    Operator,
    Escalate,
}

fn want(action: &Action) -> Want {
    match action {
        Action::Retry {
            delay, strategy, ..
        } => Want::Retry(delay.as_secs(), *strategy),
        Action::Wait { delay, .. } => Want::Wait(delay.as_secs()),
        Action::AwaitOperator { .. } => Want::Operator,
        Action::Escalate(_) => Want::Escalate,
    }
}

#[test]
fn the_class_chooses_the_strategy() {
    use StrategyKind::{Immediate, Progressive};
    let rate_limited = |after: Option<u64>| {
        Classification::new(ErrorClass::RateLimited).with_retry_after(after.map(secs))
    };
    // (failures of one episode, one second apart; the expected actions)
    let scenarios: Vec<(&str, Vec<Classification>, Vec<Want>)> = vec![
        (
            "transient: immediate, five times, then escalate",
            vec![class(ErrorClass::Transient); 6],
            vec![
                Want::Retry(0, Immediate),
                Want::Retry(0, Immediate),
                Want::Retry(0, Immediate),
                Want::Retry(0, Immediate),
                Want::Retry(0, Immediate),
                Want::Escalate,
            ],
        ),
        (
            "server: the progressive schedule",
            vec![class(ErrorClass::Server); 6],
            vec![
                Want::Retry(1, Progressive),
                Want::Retry(2, Progressive),
                Want::Retry(4, Progressive),
                Want::Retry(8, Progressive),
                Want::Retry(16, Progressive),
                Want::Escalate,
            ],
        ),
        (
            "rate-limited: a minute, or Retry-After when longer",
            vec![
                rate_limited(None),
                rate_limited(Some(5)),
                rate_limited(Some(600)),
            ],
            vec![Want::Wait(60), Want::Wait(60), Want::Wait(600)],
        ),
        (
            "authentication: an operator",
            vec![class(ErrorClass::Authentication)],
            vec![Want::Operator],
        ),
        (
            "configuration: an operator, and it stays that way",
            vec![
                class(ErrorClass::Configuration),
                class(ErrorClass::Transient),
            ],
            vec![Want::Operator, Want::Operator],
        ),
        (
            "a transient failure with a Retry-After waits for it",
            vec![class(ErrorClass::Transient).with_retry_after(Some(secs(3)))],
            vec![Want::Retry(3, Immediate)],
        ),
    ];
    for (name, failures, wants) in scenarios {
        let mut recovery = tracker();
        let start = t0();
        for (i, (failure, expected)) in failures.iter().zip(wants).enumerate() {
            let now = start + secs(u64::try_from(i).expect("small"));
            let action = recovery.on_failure(failure, now);
            assert_eq!(want(&action), expected, "{name}, failure {}", i + 1);
            if let Some(at) = action.at() {
                assert!(at >= now, "{name}: never in the past");
            }
        }
    }
}

#[test]
fn actions_carry_attempt_numbers_and_flags() {
    let mut recovery = tracker();
    let now = t0();
    let server = classify_http(503, [] as [(&str, &str); 0], b"");
    let Action::Retry {
        attempt,
        verify_first,
        at,
        ..
    } = recovery.on_failure(&server, now)
    else {
        panic!("a retry");
    };
    assert_eq!((attempt, verify_first), (1, true));
    assert_eq!(at, now + secs(1));
    let banned = classify_http(418, [("Retry-After", "120")], b"");
    let action = recovery.on_failure(&banned, now + secs(2));
    assert_eq!(
        action,
        Action::Wait {
            until: now + secs(122),
            delay: secs(120),
            attempt: 2,
            banned: true
        }
    );
}

#[test]
fn success_ends_the_episode_and_the_schedule_starts_over() {
    let mut recovery = tracker();
    let now = t0();
    let server = class(ErrorClass::Server);
    let _ = recovery.on_failure(&server, now);
    let _ = recovery.on_failure(&server, now + secs(1));
    recovery.on_success(now + secs(10));
    assert_eq!(recovery.phase(), &Phase::Healthy);
    let events: Vec<_> = std::iter::from_fn(|| recovery.poll_event()).collect();
    assert!(events.contains(&RecoveryEvent::Recovered {
        at: now + secs(10),
        failures: 2,
        outage: secs(10),
    }));
    let action = recovery.on_failure(&server, now + secs(20));
    assert_eq!(want(&action), Want::Retry(1, StrategyKind::Progressive));
    let snapshot = recovery.snapshot();
    assert_eq!((snapshot.failures, snapshot.recoveries), (1, 1));
    // A success with nothing to recover from is no event.
    recovery.on_success(now + secs(21));
    recovery.on_success(now + secs(22));
    assert_eq!(recovery.snapshot().recoveries, 2);
}

#[test]
fn a_stuck_attempt_times_out_and_escalates() {
    let mut recovery = tracker();
    let now = t0();
    let _ = recovery.on_failure(&class(ErrorClass::Server), now);
    // Due at 1 s; the default attempt timeout is 30 s after that.
    let deadline = recovery.poll_timeout().expect("a deadline");
    assert_eq!(deadline, now + secs(31));
    assert_eq!(recovery.handle_timeout(now + secs(30)), None);
    // Started late (waiting for a budget): the timeout counts from the start.
    recovery.on_attempt_started(now + secs(5));
    assert_eq!(recovery.poll_timeout(), Some(now + secs(35)));
    assert_eq!(recovery.handle_timeout(now + secs(34)), None);
    let action = recovery.handle_timeout(now + secs(35));
    assert_eq!(
        action,
        Some(Action::Escalate(EscalateReason::AttemptTimedOut {
            attempt: 1,
            after: secs(30)
        }))
    );
    assert_eq!(recovery.poll_timeout(), None);
    // Escalated: further failures answer the same until a success or resume.
    let again = recovery.on_failure(&class(ErrorClass::Transient), now + secs(40));
    assert!(matches!(
        again,
        Action::Escalate(EscalateReason::AttemptTimedOut { .. })
    ));
    assert_eq!(recovery.snapshot().escalations, 1);
}

#[test]
fn an_operator_resumes_a_manual_or_escalated_component() {
    let mut recovery = tracker();
    let now = t0();
    let failure = Failure::Binance {
        code: -2015,
        msg: "Invalid API-key, IP, or permissions for action.".into(),
    }
    .classify();
    assert_eq!(
        recovery.on_failure(&failure, now),
        Action::AwaitOperator {
            class: ErrorClass::Authentication
        }
    );
    assert_eq!(
        recovery.poll_timeout(),
        None,
        "no timer while waiting for a person"
    );
    let action = recovery.resume(now + secs(600));
    assert_eq!(
        action,
        Action::Retry {
            at: now + secs(600),
            delay: Duration::ZERO,
            attempt: 0,
            strategy: StrategyKind::Manual,
            verify_first: false,
        }
    );
    // The resumed attempt is timed too.
    assert_eq!(recovery.poll_timeout(), Some(now + secs(630)));
    recovery.on_success(now + secs(601));
    assert_eq!(recovery.phase(), &Phase::Healthy);
}

#[test]
fn the_policy_and_limits_are_configurable() {
    let config = RecoveryConfig {
        policy: StrategyPolicy {
            transient: Strategy::Delayed(secs(2)),
            authentication: Strategy::Progressive(vec![secs(10)]),
            ..StrategyPolicy::default()
        },
        max_attempts: 2,
        attempt_timeout: secs(1),
    };
    let mut recovery = Recovery::new(config).expect("valid");
    let now = t0();
    let auth = class(ErrorClass::Authentication);
    assert_eq!(
        want(&recovery.on_failure(&auth, now)),
        Want::Retry(10, StrategyKind::Progressive)
    );
    let transient = class(ErrorClass::Transient);
    assert_eq!(
        want(&recovery.on_failure(&transient, now)),
        Want::Retry(2, StrategyKind::Delayed)
    );
    assert_eq!(
        recovery.on_failure(&transient, now),
        Action::Escalate(EscalateReason::AttemptLimit {
            attempts: 2,
            class: ErrorClass::Transient
        })
    );
    recovery.reset();
    assert_eq!(recovery.phase(), &Phase::Healthy);
}

#[test]
fn invalid_configuration_names_the_field() {
    let cases = [
        (
            RecoveryConfig {
                max_attempts: 0,
                ..RecoveryConfig::default()
            },
            "invalid configuration: max_attempts = 0 must be at least 1",
        ),
        (
            RecoveryConfig {
                attempt_timeout: Duration::ZERO,
                ..RecoveryConfig::default()
            },
            "invalid configuration: attempt_timeout = 0ns must be greater than zero",
        ),
        (
            RecoveryConfig {
                policy: StrategyPolicy {
                    server: Strategy::Progressive(vec![]),
                    ..StrategyPolicy::default()
                },
                ..RecoveryConfig::default()
            },
            "invalid configuration: policy.server = Progressive([]) must have at least one step",
        ),
    ];
    for (config, message) in cases {
        let err = Recovery::new(config).expect_err(message);
        assert_eq!(err.to_string(), message);
        assert!(!err.is_retryable());
    }
}

#[test]
fn events_are_bounded_when_nobody_polls() {
    let mut recovery = tracker();
    let now = t0();
    for i in 0..200 {
        let _ = recovery.on_failure(&class(ErrorClass::Transient), now + secs(i));
        recovery.on_success(now + secs(i));
    }
    let kept = std::iter::from_fn(|| recovery.poll_event()).count();
    assert_eq!(kept, 64);
    assert!(recovery.snapshot().dropped_events > 0);
}
