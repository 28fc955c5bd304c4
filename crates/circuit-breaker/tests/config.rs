//! Bad input: every invalid configuration is rejected at construction
//! (`Breaker::new`, `SharedBreaker::new`, `Registry::new`, `Registry::insert`)
//! with an error that names the field, the value and the rule.

use std::time::Duration;

use circuit_breaker::{
    Breaker, BreakerConfig, Error, FailureRate, MAX_DURATION, Registry, SharedBreaker, Window,
};

fn base() -> BreakerConfig {
    BreakerConfig::default()
}

fn rate(rate: FailureRate) -> BreakerConfig {
    BreakerConfig {
        failure_rate: Some(rate),
        ..base()
    }
}

fn time_window(length: Duration, buckets: u32) -> BreakerConfig {
    rate(FailureRate {
        window: Window::Time { length, buckets },
        ..FailureRate::default()
    })
}

/// (config, field, message)
fn cases() -> Vec<(BreakerConfig, &'static str, &'static str)> {
    let zero = Duration::ZERO;
    vec![
        (
            BreakerConfig {
                consecutive_failures: Some(0),
                ..base()
            },
            "consecutive_failures",
            "consecutive_failures = 0 must be at least 1",
        ),
        (
            BreakerConfig {
                consecutive_failures: None,
                ..base()
            },
            "consecutive_failures",
            "consecutive_failures = None must be set when failure_rate is None: a breaker with \
             no trip rule never opens by itself",
        ),
        (
            BreakerConfig {
                open_duration: zero,
                ..base()
            },
            "open_duration",
            "open_duration = 0ns must be greater than zero",
        ),
        (
            BreakerConfig {
                open_duration: MAX_DURATION + Duration::from_secs(1),
                ..base()
            },
            "open_duration",
            "open_duration = 31536001s must not exceed 365 days",
        ),
        (
            BreakerConfig {
                max_open_duration: Duration::from_secs(10),
                ..base()
            },
            "max_open_duration",
            "max_open_duration = 10s must not be below open_duration = 30s",
        ),
        (
            BreakerConfig {
                max_open_duration: zero,
                ..base()
            },
            "max_open_duration",
            "max_open_duration = 0ns must be greater than zero",
        ),
        (
            BreakerConfig {
                open_multiplier: 0.5,
                ..base()
            },
            "open_multiplier",
            "open_multiplier = 0.5 must be a finite number of at least 1",
        ),
        (
            BreakerConfig {
                open_multiplier: -2.0,
                ..base()
            },
            "open_multiplier",
            "open_multiplier = -2.0 must be a finite number of at least 1",
        ),
        (
            BreakerConfig {
                open_multiplier: f64::INFINITY,
                ..base()
            },
            "open_multiplier",
            "open_multiplier = inf must be a finite number of at least 1",
        ),
        (
            BreakerConfig {
                half_open_probes: 0,
                ..base()
            },
            "half_open_probes",
            "half_open_probes = 0 must be at least 1",
        ),
        (
            BreakerConfig {
                half_open_successes: 0,
                ..base()
            },
            "half_open_successes",
            "half_open_successes = 0 must be at least 1",
        ),
        (
            BreakerConfig {
                probe_timeout: zero,
                ..base()
            },
            "probe_timeout",
            "probe_timeout = 0ns must be greater than zero",
        ),
        (
            BreakerConfig {
                slow_call: Some(zero),
                ..base()
            },
            "slow_call",
            "slow_call = 0ns must be greater than zero",
        ),
        (
            rate(FailureRate {
                threshold: 0.0,
                ..FailureRate::default()
            }),
            "failure_rate.threshold",
            "failure_rate.threshold = 0.0 must be a number above 0 and at most 1",
        ),
        (
            rate(FailureRate {
                threshold: -0.5,
                ..FailureRate::default()
            }),
            "failure_rate.threshold",
            "failure_rate.threshold = -0.5 must be a number above 0 and at most 1",
        ),
        (
            rate(FailureRate {
                threshold: 1.5,
                ..FailureRate::default()
            }),
            "failure_rate.threshold",
            "failure_rate.threshold = 1.5 must be a number above 0 and at most 1",
        ),
        (
            rate(FailureRate {
                threshold: f64::NAN,
                ..FailureRate::default()
            }),
            "failure_rate.threshold",
            "failure_rate.threshold = NaN must be a number above 0 and at most 1",
        ),
        (
            rate(FailureRate {
                minimum_calls: 0,
                ..FailureRate::default()
            }),
            "failure_rate.minimum_calls",
            "failure_rate.minimum_calls = 0 must be at least 1",
        ),
        (
            rate(FailureRate {
                window: Window::Calls(0),
                minimum_calls: 1,
                ..FailureRate::default()
            }),
            "failure_rate.window",
            "failure_rate.window = Calls(0) must hold between 1 and 100000 calls",
        ),
        (
            rate(FailureRate {
                window: Window::Calls(100_001),
                ..FailureRate::default()
            }),
            "failure_rate.window",
            "failure_rate.window = Calls(100001) must hold between 1 and 100000 calls",
        ),
        (
            rate(FailureRate {
                window: Window::Calls(5),
                minimum_calls: 6,
                ..FailureRate::default()
            }),
            "failure_rate.minimum_calls",
            "failure_rate.minimum_calls = 6 must not exceed the window of 5 calls",
        ),
        (
            time_window(zero, 10),
            "failure_rate.window.length",
            "failure_rate.window.length = 0ns must be greater than zero",
        ),
        (
            time_window(Duration::from_secs(10), 0),
            "failure_rate.window.buckets",
            "failure_rate.window.buckets = 0 must be between 1 and 10000",
        ),
        (
            time_window(Duration::from_millis(10), 20),
            "failure_rate.window.buckets",
            "failure_rate.window.buckets = 20 must leave buckets of at least 1ms in a window \
             of 10ms",
        ),
    ]
}

#[test]
fn every_rule_names_its_field_everywhere_a_breaker_is_built() {
    for (config, field, message) in cases() {
        let want = format!("invalid configuration: {message}");
        let err = config.validate().expect_err(message);
        assert_eq!(err.to_string(), want);
        assert!(
            matches!(&err, Error::InvalidConfig { field: f, .. } if *f == field),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(Breaker::new(config.clone()).expect_err(message), err);
        assert_eq!(SharedBreaker::new(config.clone()).expect_err(message), err);
        assert_eq!(
            Registry::<String>::new(config.clone()).expect_err(message),
            err
        );
        let registry = Registry::<String>::new(base()).expect("valid default");
        assert_eq!(registry.insert("x".into(), config).expect_err(message), err);
        assert!(
            registry.is_empty(),
            "a rejected insert leaves no breaker behind"
        );
    }
}

#[test]
fn edge_values_that_are_valid() {
    let valid = [
        BreakerConfig {
            consecutive_failures: Some(1),
            ..base()
        },
        BreakerConfig {
            consecutive_failures: None,
            failure_rate: Some(FailureRate::default()),
            ..base()
        },
        BreakerConfig {
            open_duration: Duration::from_nanos(1),
            ..base()
        },
        BreakerConfig {
            open_duration: MAX_DURATION,
            max_open_duration: MAX_DURATION,
            ..base()
        },
        BreakerConfig {
            open_multiplier: 1.0,
            ..base()
        },
        BreakerConfig {
            open_multiplier: 1e300,
            ..base()
        },
        BreakerConfig {
            half_open_probes: u32::MAX,
            half_open_successes: u32::MAX,
            ..base()
        },
        rate(FailureRate {
            threshold: 1.0,
            minimum_calls: 1,
            window: Window::Calls(1),
        }),
        time_window(Duration::from_millis(10), 10),
    ];
    for config in valid {
        assert_eq!(config.validate(), Ok(()), "{config:?}");
        assert!(Breaker::new(config).is_ok());
    }
}
