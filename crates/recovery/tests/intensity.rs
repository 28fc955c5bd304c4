//! Restart intensity on a fake clock, and the supervisor configuration's
//! bad-input rules.

use std::time::{Duration, Instant};

use recovery::{IntensityDecision, RestartIntensity, SupervisorConfig, duration_from_secs};

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

fn restart(n: u32) -> IntensityDecision {
    IntensityDecision::Restart {
        restarts_in_window: n,
    }
}

fn escalate() -> IntensityDecision {
    IntensityDecision::Escalate {
        restarts: 5,
        window: Duration::from_secs(10),
    }
}

#[test]
fn five_in_ten_seconds_then_escalate() {
    // (failure times in ms, expected decisions)
    let table: Vec<(&str, Vec<u64>, Vec<IntensityDecision>)> = vec![
        (
            "six failures at once: the sixth escalates",
            vec![0, 0, 0, 0, 0, 0],
            vec![
                restart(1),
                restart(2),
                restart(3),
                restart(4),
                restart(5),
                escalate(),
            ],
        ),
        (
            "the sixth 9.999 s after the first escalates",
            vec![0, 1, 2, 3, 4, 9_999],
            vec![
                restart(1),
                restart(2),
                restart(3),
                restart(4),
                restart(5),
                escalate(),
            ],
        ),
        (
            "exactly 10 s after the first, the first has left the window",
            vec![0, 1, 2, 3, 4, 10_000],
            vec![
                restart(1),
                restart(2),
                restart(3),
                restart(4),
                restart(5),
                restart(5),
            ],
        ),
        (
            "every 2 s forever: at most 5 in any 10 s",
            (0..30).map(|i| i * 2_000).collect(),
            (0..30).map(|i| restart((i + 1).min(5))).collect(),
        ),
        (
            "a burst after a quiet spell starts afresh",
            vec![
                0, 1, 2, 3, 4, 60_000, 60_001, 60_002, 60_003, 60_004, 60_005,
            ],
            vec![
                restart(1),
                restart(2),
                restart(3),
                restart(4),
                restart(5),
                restart(1),
                restart(2),
                restart(3),
                restart(4),
                restart(5),
                escalate(),
            ],
        ),
    ];
    for (name, times, wants) in table {
        let mut intensity = RestartIntensity::new(5, Duration::from_secs(10)).expect("valid");
        let start = t0();
        for (at, want) in times.iter().zip(wants) {
            assert_eq!(
                intensity.on_exit(start + ms(*at)),
                want,
                "{name} at {at} ms"
            );
        }
    }
}

#[test]
fn an_escalation_records_nothing() {
    let mut intensity = RestartIntensity::new(1, Duration::from_secs(10)).expect("valid");
    let start = t0();
    assert_eq!(intensity.on_exit(start), restart(1));
    let escalated = IntensityDecision::Escalate {
        restarts: 1,
        window: Duration::from_secs(10),
    };
    assert_eq!(intensity.on_exit(start + ms(1)), escalated);
    assert_eq!(intensity.on_exit(start + ms(9_999)), escalated);
    // The window moved on: a restart is allowed again.
    assert_eq!(intensity.on_exit(start + ms(10_000)), restart(1));
    assert_eq!(intensity.total_restarts(), 2);
    assert_eq!(intensity.restarts_in_window(start + ms(10_000)), 1);
    assert_eq!(intensity.restarts_in_window(start + ms(20_000)), 0);
    intensity.reset();
    assert_eq!(intensity.total_restarts(), 0);
    assert_eq!(
        (intensity.max_restarts(), intensity.window()),
        (1, Duration::from_secs(10))
    );
}

#[test]
fn zero_thresholds_and_durations_are_rejected_naming_the_field() {
    let cases = [
        (
            RestartIntensity::new(0, Duration::from_secs(10)).map(drop),
            "invalid configuration: max_restarts = 0 must be at least 1",
        ),
        (
            RestartIntensity::new(5, Duration::ZERO).map(drop),
            "invalid configuration: window = 0ns must be greater than zero",
        ),
        (
            SupervisorConfig {
                max_restarts: 0,
                ..SupervisorConfig::default()
            }
            .validate(),
            "invalid configuration: max_restarts = 0 must be at least 1",
        ),
        (
            SupervisorConfig {
                window: Duration::ZERO,
                ..SupervisorConfig::default()
            }
            .validate(),
            "invalid configuration: window = 0ns must be greater than zero",
        ),
        (
            SupervisorConfig {
                shutdown_deadline: Duration::ZERO,
                ..SupervisorConfig::default()
            }
            .validate(),
            "invalid configuration: shutdown_deadline = 0ns must be greater than zero",
        ),
        (
            SupervisorConfig {
                window: Duration::from_secs(366 * 24 * 3600),
                ..SupervisorConfig::default()
            }
            .validate(),
            "invalid configuration: window = 31622400s must not exceed 365 days",
        ),
        (
            SupervisorConfig {
                event_capacity: 0,
                ..SupervisorConfig::default()
            }
            .validate(),
            "invalid configuration: event_capacity = 0 must be between 1 and 1048576",
        ),
        // Negative durations cannot be a `Duration`; from a config file they
        // arrive as numbers and are caught on the way in.
        (
            duration_from_secs("shutdown_deadline", -5.0).map(drop),
            "invalid configuration: shutdown_deadline = -5.0 must not be negative",
        ),
        (
            duration_from_secs("window", f64::NEG_INFINITY).map(drop),
            "invalid configuration: window = -inf must be a finite number of seconds",
        ),
    ];
    for (result, message) in cases {
        let err = result.expect_err(message);
        assert_eq!(err.to_string(), message);
        assert!(!err.is_retryable());
    }
}
