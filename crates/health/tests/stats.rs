//! Statistics and readiness on a fake clock: uptime, session age, MTTR and
//! MTBF, rates, readiness across reconnects, rotations and moves; names
//! cleaned; foreign handles ignored.

mod common;

use std::time::Duration;

use common::World;
use health::{
    BackfillOutcome, ConnectionEvent, ConnectionState, DisconnectCause, ErrorClass, ErrorSource,
    HealthConfig, Level, Monitor,
};

#[test]
fn uptime_session_age_mttr_and_mtbf() {
    let mut world = World::new(1, 1);
    // Connected 0..100 s; Reset at 100, back at 104; 1008 at 200, back at 210;
    // a planned rotation at 250 (no outage); read at 300.
    world.feed_all(100);
    world.event(
        0,
        ConnectionEvent::Disconnected(DisconnectCause::Reset),
        100.0,
    );
    world.event(
        0,
        ConnectionEvent::Reconnecting {
            delay: Duration::from_secs(1),
        },
        100.0,
    );
    world.event(0, ConnectionEvent::Connecting, 103.0);
    world.event(0, ConnectionEvent::Connected, 104.0);
    world.feed_all(200);
    world.event(
        0,
        ConnectionEvent::Disconnected(DisconnectCause::PolicyViolation),
        200.0,
    );
    world.event(0, ConnectionEvent::Connected, 210.0);
    world.feed_all(250);
    world.event(0, ConnectionEvent::Rotated, 250.0);
    world.feed_all(300);
    let stats = world
        .monitor
        .connection_stats(world.conns[0], world.at(300.0))
        .expect("registered");
    assert_eq!(stats.state, ConnectionState::Connected);
    assert_eq!(stats.uptime, Duration::from_secs(286));
    assert_eq!(stats.session_age, Some(Duration::from_secs(50)));
    assert_eq!(stats.connects, 3);
    assert_eq!(stats.reconnects, 2);
    assert_eq!(stats.rotations, 1);
    assert_eq!(stats.failures, 2);
    assert_eq!(
        stats.recoveries,
        vec![Duration::from_secs(4), Duration::from_secs(10)]
    );
    assert_eq!(stats.mttr, Some(Duration::from_secs(7)));
    assert_eq!(stats.mtbf, Some(Duration::from_secs(143)));
    assert_eq!(stats.last_cause, Some(DisconnectCause::PolicyViolation));
    assert!((stats.availability - 286.0 / 300.0).abs() < 1e-9);
    assert!((stats.messages_per_sec - 1.0).abs() < 0.05, "{stats:#?}");
    assert_eq!(stats.outage, None);
    let totals = world.monitor.totals();
    assert_eq!((totals.failures, totals.recoveries), (2, 2));
    let causes = world.monitor.causes(world.conns[0]).expect("registered");
    assert_eq!(causes[DisconnectCause::Reset as usize], 1);
}

#[test]
fn an_outage_under_way_is_measured() {
    let mut world = World::new(1, 1);
    world.event(0, ConnectionEvent::Disconnected(DisconnectCause::Dns), 10.0);
    let stats = world
        .monitor
        .connection_stats(world.conns[0], world.at(75.0))
        .expect("registered");
    assert_eq!(stats.outage, Some(Duration::from_secs(65)));
    assert_eq!(stats.session_age, None);
    let health = world.monitor.evaluate(world.at(75.0));
    assert_eq!(health.level, Level::Unhealthy);
    assert!(world.monitor.alerts().any(|a| a.cause == "slow_recovery"));
}

#[test]
fn stream_statistics() {
    let mut world = World::new(1, 1);
    world.feed_all(60);
    let id = world.streams[0][0];
    let now = world.at(60.0);
    world
        .monitor
        .on_error(ErrorSource::Stream(id), ErrorClass::Decode, now);
    world.monitor.on_gap(id, now);
    world
        .monitor
        .on_backfill(id, BackfillOutcome::Recovered, now);
    let stats = world
        .monitor
        .stream_stats(id, world.at(60.5))
        .expect("registered");
    assert_eq!(stats.messages, 60);
    assert_eq!(stats.bytes, 9000);
    assert!((stats.messages_per_sec - 1.0).abs() < 0.05, "{stats:#?}");
    assert!((stats.bytes_per_sec - 150.0).abs() < 8.0, "{stats:#?}");
    assert_eq!(stats.last_message_age, Some(Duration::from_millis(500)));
    assert_eq!(stats.normal_interval, Duration::from_secs(1));
    assert_eq!(stats.latency, Some(Duration::from_millis(30)));
    assert!((stats.errors_per_min - 1.0).abs() < 1e-9);
    assert_eq!((stats.gaps, stats.backfills), (1, [1, 0, 0]));
    assert_eq!(stats.connection, "conn-0");
    let all = world.monitor.stats(world.at(61.0));
    assert_eq!((all.connections.len(), all.streams.len()), (1, 1));
    assert_eq!(all.totals.messages, 60);
    assert_eq!(
        world.monitor.errors_by_class()[ErrorClass::Decode as usize],
        1
    );
}

#[test]
fn readiness_follows_reconnects_rotations_and_moves() {
    let mut world = World::new(2, 2);
    assert!(world.monitor.readiness().ready);
    // A reconnect: not ready until each stream of that connection delivers again.
    world.event(
        1,
        ConnectionEvent::Disconnected(DisconnectCause::Reset),
        10.5,
    );
    world.event(1, ConnectionEvent::Connected, 11.0);
    let readiness = world.monitor.readiness();
    assert!(!readiness.ready);
    assert_eq!((readiness.waiting, readiness.streams), (2, 4));
    assert_eq!(readiness.waiting_streams, vec!["s1-0@trade", "s1-1@trade"]);
    world.feed(12, &[(1, 1)]);
    assert_eq!(world.monitor.readiness().waiting, 1);
    world.feed_all(13);
    assert!(world.monitor.readiness().ready);
    // A make-before-break rotation keeps readiness.
    world.event(0, ConnectionEvent::Rotated, 13.5);
    assert!(world.monitor.readiness().ready);
    // A stream moved to another connection must deliver there.
    let moved = world.streams[0][0];
    let now = world.at(14.0);
    world.monitor.move_stream(moved, world.conns[1], now);
    assert!(!world.monitor.readiness().ready);
    // An unsubscribed stream is not awaited.
    world.monitor.unregister_stream(moved);
    assert!(world.monitor.readiness().ready);
    // Registering it again reactivates the same handle.
    let again = world
        .monitor
        .register_stream("s0-0@trade", world.conns[0], None, now);
    assert_eq!(again, moved);
    assert!(!world.monitor.readiness().ready);
}

#[test]
fn names_are_cleaned_and_foreign_handles_ignored() {
    let t0 = common::t0();
    let mut monitor = Monitor::new(HealthConfig::default(), t0).expect("valid");
    let secret = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1";
    let conn = monitor.register_connection("wss://user:hunter2@stream.example:9443/ws?key=x", t0);
    let stream = monitor.register_stream(secret, conn, None, t0);
    monitor.on_breaker(
        &format!("api.example?apiKey={secret}"),
        health::BreakerState::Open,
        t0,
    );
    let report = monitor.report(t0 + Duration::from_secs(60));
    let text = format!("{report:?}{:?}", monitor.stats(t0));
    assert!(!text.contains(secret));
    assert!(!text.contains("hunter2"));
    assert!(text.contains("wss://stream.example:9443/ws"));
    assert_eq!(monitor.stream_id(secret), Some(stream));

    // Handles from another monitor are ignored, never a panic.
    let mut other = Monitor::new(HealthConfig::default(), t0).expect("valid");
    let foreign_conn = other.register_connection("a", t0);
    let _ = other.register_connection("b", t0);
    let foreign = other.register_stream("x", foreign_conn, None, t0);
    let _ = other.register_stream("y", foreign_conn, None, t0);
    let foreign2 = other.register_stream("z", foreign_conn, None, t0);
    let mut fresh = Monitor::new(HealthConfig::default(), t0).expect("valid");
    fresh.on_message(foreign, 10, Some(1), t0);
    fresh.on_message(foreign2, 10, None, t0);
    fresh.on_connection(foreign_conn, ConnectionEvent::Connected, t0);
    fresh.on_gap(foreign2, t0);
    fresh.on_error(ErrorSource::Stream(foreign2), ErrorClass::Other, t0);
    assert_eq!(fresh.totals().messages, 0);
    assert!(fresh.stream_stats(foreign2, t0).is_none());
}

#[test]
fn config_is_validated() {
    let config = HealthConfig {
        flap_reconnects: 0,
        ..HealthConfig::default()
    };
    let err = Monitor::new(config, common::t0()).expect_err("invalid");
    assert!(err.to_string().contains("flap_reconnects"));
    assert!(!err.is_retryable());
}

#[test]
fn time_going_backwards_or_far_ahead_never_panics() {
    let mut world = World::new(2, 2);
    let id = world.streams[0][0];
    let conn = world.conns[0];
    let past = world.t0;
    let future = world.at(400.0 * 24.0 * 3600.0);
    for now in [world.at(50.0), past, future, world.at(5.0), past] {
        world
            .monitor
            .on_message(id, usize::MAX / 2, Some(u64::MAX), now);
        world.monitor.on_message(id, 0, Some(0), now);
        world.monitor.on_connection(
            conn,
            ConnectionEvent::Disconnected(DisconnectCause::Reset),
            now,
        );
        world
            .monitor
            .on_connection(conn, ConnectionEvent::Connected, now);
        world
            .monitor
            .on_error(ErrorSource::Connection(conn), ErrorClass::Other, now);
        world.monitor.on_gap(id, now);
        world.monitor.on_backfill(id, BackfillOutcome::Lost, now);
        world.monitor.on_lag(u64::MAX / 4, now);
        world.monitor.on_rest(
            health::RestStatus {
                used_weight: u32::MAX,
                weight_limit: 0,
                limit: health::RestLimit::Banned { until: past },
            },
            now,
        );
        let _ = world.monitor.report(now);
        let _ = world.monitor.stats(now);
        let _ = world.monitor.diagnostics(now);
    }
}
