//! Bad configuration: every rule rejected with an error naming the field,
//! the value and the rule.

use std::time::Duration;

use fallback::{
    CacheConfig, ConnectionConfig, ConnectionMachine, EndpointConfig, EndpointSet, Error,
    LastValues, MAX_DURATION, PollBudget, PollPlanner,
};

fn connection(config: ConnectionConfig) -> Error {
    ConnectionMachine::new(config).expect_err("invalid")
}

fn endpoints(config: EndpointConfig) -> Error {
    EndpointSet::new(vec!["a"], config).expect_err("invalid")
}

fn field(error: &Error) -> &'static str {
    match error {
        Error::InvalidConfig { field, .. } => field,
        other => panic!("not a config error: {other:?}"),
    }
}

#[test]
fn connection_config_rules() {
    let base = ConnectionConfig::default;
    let cases = [
        (
            ConnectionConfig {
                unstable_drops: 0,
                ..base()
            },
            "unstable_drops = 0 must be at least 1",
        ),
        (
            ConnectionConfig {
                unstable_window: Duration::ZERO,
                ..base()
            },
            "unstable_window = 0ns must be greater than zero",
        ),
        (
            ConnectionConfig {
                failed_attempts: 0,
                ..base()
            },
            "failed_attempts = 0 must be at least 1",
        ),
        (
            ConnectionConfig {
                failed_after: MAX_DURATION + Duration::from_secs(1),
                ..base()
            },
            "failed_after = 31536001s must not exceed 365 days",
        ),
        (
            ConnectionConfig {
                stable_after: Duration::ZERO,
                ..base()
            },
            "stable_after = 0ns must be greater than zero",
        ),
        (
            ConnectionConfig {
                degraded_errors: 0,
                ..base()
            },
            "degraded_errors = 0 must be at least 1",
        ),
        (
            ConnectionConfig {
                error_window: Duration::ZERO,
                ..base()
            },
            "error_window = 0ns must be greater than zero",
        ),
    ];
    for (config, message) in cases {
        let err = connection(config);
        assert_eq!(err.to_string(), format!("invalid configuration: {message}"));
        assert!(message.starts_with(field(&err)));
        assert!(!err.is_retryable());
    }
}

#[test]
fn endpoint_config_rules() {
    let base = EndpointConfig::default;
    let cases = [
        (
            EndpointConfig {
                ewma_weight: 0.0,
                ..base()
            },
            "ewma_weight = 0.0 must be a number above 0 and at most 1",
        ),
        (
            EndpointConfig {
                ewma_weight: f64::NAN,
                ..base()
            },
            "ewma_weight = NaN must be a number above 0 and at most 1",
        ),
        (
            EndpointConfig {
                healthy_score: 1.5,
                ..base()
            },
            "healthy_score = 1.5 must be a number above 0 and at most 1",
        ),
        (
            EndpointConfig {
                switch_margin: 1.0,
                ..base()
            },
            "switch_margin = 1.0 must be a number at least 0 and below 1",
        ),
        (
            EndpointConfig {
                slow_connect: Duration::ZERO,
                ..base()
            },
            "slow_connect = 0ns must be greater than zero",
        ),
        (
            EndpointConfig {
                latency_weight: -0.1,
                ..base()
            },
            "latency_weight = -0.1 must be a number at least 0 and at most 1",
        ),
        (
            EndpointConfig {
                silence_weight: 2.0,
                ..base()
            },
            "silence_weight = 2.0 must be a number at least 0 and at most 1",
        ),
        (
            EndpointConfig {
                down_after: 0,
                ..base()
            },
            "down_after = 0 must be at least 1",
        ),
        (
            EndpointConfig {
                down_for: Duration::ZERO,
                ..base()
            },
            "down_for = 0ns must be greater than zero",
        ),
        (
            EndpointConfig {
                min_dwell: Duration::ZERO,
                ..base()
            },
            "min_dwell = 0ns must be greater than zero",
        ),
        (
            EndpointConfig {
                failback_after: Duration::ZERO,
                ..base()
            },
            "failback_after = 0ns must be greater than zero",
        ),
        (
            EndpointConfig {
                probe_interval: Some(Duration::ZERO),
                ..base()
            },
            "probe_interval = 0ns must be greater than zero",
        ),
    ];
    for (config, message) in cases {
        let err = endpoints(config);
        assert_eq!(err.to_string(), format!("invalid configuration: {message}"));
        assert!(message.starts_with(field(&err)));
    }
    let no_probes = EndpointConfig {
        probe_interval: None,
        ..base()
    };
    assert!(EndpointSet::new(vec!["a"], no_probes).is_ok());
}

#[test]
fn the_endpoint_list_is_checked_before_the_config() {
    let bad = EndpointConfig {
        min_dwell: Duration::ZERO,
        ..EndpointConfig::default()
    };
    assert_eq!(
        EndpointSet::<u8>::new(vec![], bad.clone()).err(),
        Some(Error::NoEndpoints)
    );
    assert!(matches!(
        EndpointSet::new(vec![1, 1], bad).err(),
        Some(Error::DuplicateEndpoint {
            first: 0,
            second: 1,
            ..
        })
    ));
}

#[test]
fn cache_and_budget_rules() {
    let cache = |config| {
        LastValues::<u8, u8>::new(config)
            .expect_err("invalid")
            .to_string()
    };
    assert_eq!(
        cache(CacheConfig {
            stale_factor: f64::INFINITY,
            ..CacheConfig::default()
        }),
        "invalid configuration: stale_factor = inf must be a finite number of at least 1"
    );
    assert_eq!(
        cache(CacheConfig {
            default_interval: Duration::ZERO,
            ..CacheConfig::default()
        }),
        "invalid configuration: default_interval = 0ns must be greater than zero"
    );
    let budget = |config| PollPlanner::new(config).expect_err("invalid").to_string();
    assert_eq!(
        budget(PollBudget {
            weight: 0,
            ..PollBudget::default()
        }),
        "invalid configuration: weight = 0 must be at least 1"
    );
    assert_eq!(
        budget(PollBudget {
            window: Duration::from_secs(2 * 86_400),
            ..PollBudget::default()
        }),
        "invalid configuration: window = 172800s must be between 1ms and one day"
    );
    assert_eq!(
        budget(PollBudget {
            share: 0.0,
            ..PollBudget::default()
        }),
        "invalid configuration: share = 0.0 must be at least 0.001 and at most 1"
    );
}
