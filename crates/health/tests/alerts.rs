//! Alerts on a fake clock: deduplication by cause, suppression while
//! active, re-notification, escalation, resolution after the hold-down,
//! the bounded history and the four kinds.

mod common;

use std::time::Duration;

use common::World;
use health::{
    AlertChange, AlertConfig, AlertKind, AlertState, ConnectionEvent, DisconnectCause,
    HealthConfig, Level, RestLimit, RestStatus,
};

fn drain(world: &mut World) -> Vec<(AlertChange, String, Level)> {
    std::iter::from_fn(|| world.monitor.poll_alert_event())
        .map(|e| (e.change, e.alert.key, e.alert.severity))
        .collect()
}

fn config(renotify: u64, history: usize) -> HealthConfig {
    HealthConfig {
        alerts: AlertConfig {
            renotify_after: Duration::from_secs(renotify),
            clear_after: Duration::from_secs(10),
            history,
            event_capacity: 256,
        },
        ..HealthConfig::default()
    }
}

const SILENT: &str = "stream_silent:s0-0@trade";

#[test]
fn deduplicated_suppressed_escalated_renotified() {
    let mut world = World::with_config(config(60, 100), 1, 2);
    // s0-0 stops after 10 s: warning at 13 s, degraded at 20 s.
    let mut events = Vec::new();
    for second in 11..=150u64 {
        world.feed(second, &[(0, 0)]);
        world.monitor.evaluate(world.at(second as f64));
        events.extend(drain(&mut world).into_iter().map(|e| (second, e)));
    }
    let silent: Vec<_> = events
        .iter()
        .filter(|(_, (_, key, _))| key == SILENT)
        .collect();
    let expected = [
        (13, AlertChange::Raised, Level::Warning),
        (20, AlertChange::Escalated, Level::Degraded),
        (80, AlertChange::Renotified, Level::Degraded),
        (140, AlertChange::Renotified, Level::Degraded),
    ];
    assert_eq!(silent.len(), expected.len(), "{silent:#?}");
    for ((second, (change, _, level)), (want_second, want_change, want_level)) in
        silent.iter().zip(expected)
    {
        assert_eq!(
            (*second, *change, *level),
            (want_second, want_change, want_level)
        );
    }
    // One alert, however many evaluations saw it.
    let active: Vec<_> = world.monitor.alerts().filter(|a| a.key == SILENT).collect();
    assert_eq!(active.len(), 1);
    let alert = active[0];
    assert_eq!(
        (alert.kind, alert.cause, alert.subject.as_str()),
        (AlertKind::Performance, "stream_silent", "s0-0@trade")
    );
    assert_eq!(alert.count, 1);
    assert_eq!(alert.first_seen, world.at(13.0));
    assert_eq!(alert.last_seen, world.at(150.0));
    assert_eq!(alert.state, AlertState::Active);
}

#[test]
fn resolved_only_after_the_condition_stays_clear() {
    let mut world = World::with_config(config(600, 100), 1, 2);
    for second in 11..=20u64 {
        world.feed(second, &[(0, 0)]);
        world.monitor.evaluate(world.at(second as f64));
    }
    assert_eq!(drain(&mut world).len(), 2, "raised then escalated");
    // The stream comes back at 21 s; the condition is clear from then on.
    for second in 21..=30u64 {
        world.feed_all(second);
        world.monitor.evaluate(world.at(second as f64));
        assert!(drain(&mut world).is_empty(), "still held down at {second}s");
    }
    world.feed_all(31);
    world.monitor.evaluate(world.at(31.0));
    let events = drain(&mut world);
    assert_eq!(
        events,
        vec![(AlertChange::Resolved, SILENT.to_owned(), Level::Degraded)]
    );
    assert_eq!(world.monitor.alerts().count(), 0);
    let resolved: Vec<_> = world.monitor.alert_history().collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        resolved[0].state,
        AlertState::Resolved { at: world.at(31.0) }
    );
}

#[test]
fn a_condition_back_within_the_hold_down_is_the_same_alert() {
    let mut world = World::with_config(config(600, 100), 1, 2);
    // Silent 11..=14 (warning at 13), back at 15, silent again 16..=19.
    for second in 11..=14u64 {
        world.feed(second, &[(0, 0)]);
        world.monitor.evaluate(world.at(second as f64));
    }
    world.feed_all(15);
    world.monitor.evaluate(world.at(15.0));
    for second in 16..=19u64 {
        world.feed(second, &[(0, 0)]);
        world.monitor.evaluate(world.at(second as f64));
    }
    let events = drain(&mut world);
    assert_eq!(
        events,
        vec![(AlertChange::Raised, SILENT.to_owned(), Level::Warning)]
    );
    let alert = world
        .monitor
        .alerts()
        .find(|a| a.key == SILENT)
        .expect("active");
    assert_eq!(alert.count, 2, "two occurrences folded into one alert");
}

#[test]
fn history_is_bounded_newest_first() {
    let mut world = World::with_config(config(600, 3), 1, 5);
    // Each stream in turn goes silent for 5 s, then delivers again.
    let mut second = 10;
    for s in 0..5 {
        for _ in 0..5 {
            second += 1;
            world.feed(second, &[(0, s)]);
            world.monitor.evaluate(world.at(second as f64));
        }
    }
    for _ in 0..15 {
        second += 1;
        world.feed_all(second);
        world.monitor.evaluate(world.at(second as f64));
    }
    let history: Vec<_> = world
        .monitor
        .alert_history()
        .map(|a| a.key.clone())
        .collect();
    assert_eq!(
        history,
        vec![
            "stream_silent:s0-4@trade".to_owned(),
            "stream_silent:s0-3@trade".to_owned(),
            "stream_silent:s0-2@trade".to_owned(),
        ]
    );
}

#[test]
fn unpolled_notifications_are_bounded_and_counted() {
    let mut config = config(600, 10);
    config.alerts.event_capacity = 2;
    let mut world = World::with_config(config, 1, 4);
    world.feed(14, &[(0, 0), (0, 1), (0, 2), (0, 3)]);
    world.monitor.evaluate(world.at(14.0));
    assert_eq!(world.monitor.dropped_alert_events(), 2);
    assert_eq!(drain(&mut world).len(), 2);
}

#[test]
fn four_kinds() {
    let mut world = World::new(2, 1);
    // Connection: conn-1 down past the grace.
    world.event(
        1,
        ConnectionEvent::Disconnected(DisconnectCause::Reset),
        10.5,
    );
    // Recovery: conn-0 loops on 1008.
    for i in 0..5 {
        let at = 11.0 + f64::from(i) * 2.0;
        world.event(
            0,
            ConnectionEvent::Disconnected(DisconnectCause::PolicyViolation),
            at,
        );
        world.event(0, ConnectionEvent::Connected, at + 0.5);
    }
    // System: a REST ban. Performance: subscriber lag.
    let (now, until) = (world.at(20.0), world.at(900.0));
    world.monitor.on_rest(
        RestStatus {
            used_weight: 0,
            weight_limit: 6000,
            limit: RestLimit::Banned { until },
        },
        now,
    );
    world.monitor.on_lag(3, now);
    world.feed_all(20);
    world.monitor.evaluate(world.at(20.0));
    let mut found: Vec<_> = world.monitor.alerts().map(|a| (a.kind, a.cause)).collect();
    found.sort_unstable();
    assert_eq!(
        found,
        vec![
            (AlertKind::Connection, "connection_down"),
            (AlertKind::Performance, "subscriber_lag"),
            (AlertKind::System, "rest_banned"),
            (AlertKind::Recovery, "reconnect_loop"),
        ]
    );
    assert_eq!(world.monitor.active_alerts_by_kind(), [1, 1, 1, 1]);
    let ban = world
        .monitor
        .alerts()
        .find(|a| a.cause == "rest_banned")
        .expect("raised");
    assert_eq!(ban.severity, Level::Critical);
}
