//! Configuration round-trips through serde; missing fields take defaults;
//! a typo is an error, and bad values are still caught by `validate`.
#![cfg(feature = "serde")]

use std::time::Duration;

use circuit_breaker::{Breaker, BreakerConfig, FailureRate, Window};

#[test]
fn config_round_trips_and_fills_defaults() {
    let config = BreakerConfig {
        failure_rate: Some(FailureRate {
            window: Window::Calls(50),
            ..FailureRate::default()
        }),
        slow_call: Some(Duration::from_secs(2)),
        ..BreakerConfig::default()
    };
    let json = serde_json::to_string(&config).expect("serialize");
    let back: BreakerConfig = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, config);

    let partial: BreakerConfig = serde_json::from_str(
        r#"{"half_open_probes":3,"failure_rate":{"window":{"time":{"length":{"secs":30,"nanos":0},"buckets":6}}}}"#,
    )
    .expect("deserialize");
    assert_eq!(partial.half_open_probes, 3);
    assert_eq!(partial.consecutive_failures, Some(5));
    let rate = partial.failure_rate.as_ref().expect("set");
    assert_eq!(rate.threshold, 0.5);
    assert_eq!(
        rate.window,
        Window::Time {
            length: Duration::from_secs(30),
            buckets: 6
        }
    );
    assert!(Breaker::new(partial).is_ok());

    let zero: BreakerConfig =
        serde_json::from_str(r#"{"half_open_probes":0}"#).expect("deserialize");
    let err = Breaker::new(zero).expect_err("zero probes");
    assert_eq!(
        err.to_string(),
        "invalid configuration: half_open_probes = 0 must be at least 1"
    );
}

#[test]
fn unknown_fields_are_an_error() {
    let err = serde_json::from_str::<BreakerConfig>(r#"{"half_open_probe":3}"#).expect_err("typo");
    assert!(
        err.to_string().contains("unknown field `half_open_probe`"),
        "{err}"
    );
    let err = serde_json::from_str::<BreakerConfig>(r#"{"open_duration":{"secs":-1,"nanos":0}}"#)
        .expect_err("negative");
    assert!(err.to_string().contains("invalid value"), "{err}");
}
