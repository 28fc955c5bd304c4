//! Configuration round-trips through serde; missing fields take defaults;
//! unknown fields are an error.
#![cfg(feature = "serde")]

use std::time::Duration;

use fallback::{CacheConfig, ConnectionConfig, EndpointConfig, PollBudget};

#[test]
fn configs_round_trip_and_fill_defaults() {
    let connection = ConnectionConfig {
        unstable_drops: 4,
        ..ConnectionConfig::default()
    };
    let json = serde_json::to_string(&connection).expect("serialize");
    assert_eq!(
        serde_json::from_str::<ConnectionConfig>(&json).expect("deserialize"),
        connection
    );

    let endpoints: EndpointConfig =
        serde_json::from_str(r#"{"min_dwell":{"secs":60,"nanos":0},"probe_interval":null}"#)
            .expect("deserialize");
    assert_eq!(endpoints.min_dwell, Duration::from_secs(60));
    assert_eq!(endpoints.probe_interval, None);
    assert_eq!(endpoints.failback_after, Duration::from_secs(120));
    assert_eq!(endpoints.validate(), Ok(()));

    let cache: CacheConfig = serde_json::from_str(r#"{"stale_factor":5.0}"#).expect("deserialize");
    assert_eq!(cache.default_interval, Duration::from_secs(10));
    let budget: PollBudget = serde_json::from_str(r#"{"weight":4800}"#).expect("deserialize");
    assert_eq!((budget.weight, budget.share), (4800, 0.5));
}

#[test]
fn unknown_fields_are_an_error() {
    let err = serde_json::from_str::<EndpointConfig>(r#"{"min_dwel":{"secs":60,"nanos":0}}"#)
        .expect_err("typo");
    assert!(
        err.to_string().contains("unknown field `min_dwel`"),
        "{err}"
    );
}
