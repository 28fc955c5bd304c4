//! Trend windows over 1, 5 and 15 minutes on a fake clock.

mod common;

use std::time::Duration;

use health::{ConnectionEvent, DisconnectCause, ErrorClass, ErrorSource, HealthConfig, Monitor};

#[test]
fn one_five_and_fifteen_minutes() {
    let t0 = common::t0();
    let mut monitor = Monitor::new(HealthConfig::default(), t0).expect("valid");
    let conn = monitor.register_connection("conn-0", t0);
    monitor.on_connection(conn, ConnectionEvent::Connected, t0);
    let stream = monitor.register_stream("btcusdt@trade", conn, None, t0);
    // The first minute: 60 messages of 100 bytes a second, 6 errors, 3 failures, 12 lagged.
    for second in 0..60u64 {
        for i in 0..60u64 {
            let at = t0 + Duration::from_millis(second * 1000 + i * 16);
            monitor.on_message(stream, 100, None, at);
        }
        if second % 10 == 5 {
            monitor.on_error(
                ErrorSource::Connection(conn),
                ErrorClass::Decode,
                t0 + Duration::from_secs(second),
            );
            monitor.on_lag(2, t0 + Duration::from_secs(second));
        }
        if second % 20 == 7 {
            let at = t0 + Duration::from_secs(second);
            monitor.on_connection(
                conn,
                ConnectionEvent::Disconnected(DisconnectCause::Reset),
                at,
            );
            monitor.on_connection(conn, ConnectionEvent::Connected, at);
        }
    }
    let at = |secs: u64| t0 + Duration::from_secs(secs);

    // At 60 s the first minute is complete.
    let trends = monitor.trends(at(60));
    assert_eq!(trends.m1.covered, Duration::from_secs(60));
    assert!(
        (trends.m1.messages_per_sec - 60.0).abs() < 1e-9,
        "{trends:#?}"
    );
    assert!((trends.m1.bytes_per_sec - 6000.0).abs() < 1e-9);
    assert!((trends.m1.errors_per_min - 6.0).abs() < 1e-9);
    assert!((trends.m1.failures_per_min - 3.0).abs() < 1e-9);
    assert!((trends.m1.lagged_per_min - 12.0).abs() < 1e-9);
    assert!((trends.m1.error_ratio - 6.0 / 3600.0).abs() < 1e-12);
    // The longer windows cover only the minute the monitor has lived.
    assert_eq!(trends.m15.covered, Duration::from_secs(60));
    assert!((trends.m15.messages_per_sec - 60.0).abs() < 1e-9);

    // At 5 minutes: the last minute is quiet, the 5-minute window averages.
    let trends = monitor.trends(at(300));
    assert_eq!(trends.m1.messages_per_sec, 0.0);
    assert_eq!(trends.m1.errors_per_min, 0.0);
    assert!(
        (trends.m5.messages_per_sec - 12.0).abs() < 1e-9,
        "{trends:#?}"
    );
    assert!((trends.m5.errors_per_min - 1.2).abs() < 1e-9);
    assert!((trends.m15.messages_per_sec - 12.0).abs() < 1e-9);

    // At 15 minutes only the 15-minute window still sees the burst.
    let trends = monitor.trends(at(900));
    assert_eq!(trends.m5.messages_per_sec, 0.0);
    assert_eq!(trends.m15.covered, Duration::from_secs(900));
    assert!((trends.m15.messages_per_sec - 4.0).abs() < 1e-9);
    assert!((trends.m15.errors_per_min - 0.4).abs() < 1e-9);

    // A little later the burst has left every window.
    let trends = monitor.trends(at(970));
    assert_eq!(trends.m15.messages_per_sec, 0.0);
    assert_eq!(trends.m15.errors_per_min, 0.0);
}

#[test]
fn a_partly_filled_bucket_is_not_counted_until_complete() {
    let t0 = common::t0();
    let mut monitor = Monitor::new(HealthConfig::default(), t0).expect("valid");
    let conn = monitor.register_connection("c", t0);
    let stream = monitor.register_stream("s", conn, None, t0);
    for i in 0..10u64 {
        monitor.on_message(stream, 10, None, t0 + Duration::from_millis(500 * i));
    }
    assert_eq!(
        monitor
            .trends(t0 + Duration::from_secs(9))
            .m1
            .messages_per_sec,
        0.0
    );
    let trends = monitor.trends(t0 + Duration::from_secs(10));
    assert_eq!(trends.m1.covered, Duration::from_secs(10));
    assert!((trends.m1.messages_per_sec - 1.0).abs() < 1e-9);
}
