//! Configuration round-trips through serde; missing fields take defaults.
#![cfg(feature = "serde")]

use std::time::Duration;

use reconnect::{BudgetConfig, ReconnectConfig};

#[test]
fn config_round_trips_and_fills_defaults() {
    let config = ReconnectConfig {
        max_attempts: Some(10),
        ..ReconnectConfig::default()
    };
    let json = serde_json::to_string(&config).expect("serialize");
    let back: ReconnectConfig = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, config);

    let partial: ReconnectConfig =
        serde_json::from_str(r#"{"max_delay":{"secs":60,"nanos":0}}"#).expect("deserialize");
    assert_eq!(partial.max_delay, Duration::from_secs(60));
    assert_eq!(partial.initial_delay, Duration::from_secs(1));
    assert_eq!(partial.validate(), Ok(()));

    let budget: BudgetConfig = serde_json::from_str(r#"{"attempts":100}"#).expect("deserialize");
    assert_eq!(budget.burst, 150);
    assert!(
        budget.validate().is_err(),
        "burst above attempts is refused"
    );
}

#[test]
fn unknown_fields_are_an_error() {
    let err = serde_json::from_str::<ReconnectConfig>(r#"{"max_dealy":{"secs":60,"nanos":0}}"#)
        .expect_err("typo");
    assert!(
        err.to_string().contains("unknown field `max_dealy`"),
        "{err}"
    );
}
