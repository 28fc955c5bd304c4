//! Diagnostics derived from the statistics, on a fake clock.

mod common;

use std::time::Duration;

use common::World;
use health::{ConnectionEvent, Diagnostic, DisconnectCause, Level, RestLimit, RestStatus};

fn find<'a>(diagnostics: &'a [Diagnostic], code: &str) -> &'a Diagnostic {
    diagnostics
        .iter()
        .find(|d| d.code == code)
        .unwrap_or_else(|| panic!("no {code} in {diagnostics:#?}"))
}

#[test]
fn nothing_to_say_when_healthy() {
    let mut world = World::new(2, 2);
    world.feed_all(30);
    assert_eq!(world.monitor.diagnostics(world.at(30.0)), vec![]);
}

#[test]
fn reconnect_loop_after_1008_closes() {
    let mut world = World::new(1, 1);
    for i in 0..4 {
        let at = 11.0 + f64::from(i) * 4.0;
        world.event(
            0,
            ConnectionEvent::Disconnected(DisconnectCause::PolicyViolation),
            at,
        );
        world.event(
            0,
            ConnectionEvent::Reconnecting {
                delay: Duration::from_secs(1),
            },
            at,
        );
        world.event(0, ConnectionEvent::Connected, at + 1.0);
    }
    let diagnostics = world.monitor.diagnostics(world.at(28.0));
    let loop_ = find(&diagnostics, "reconnect_loop_policy_violation");
    assert_eq!(loop_.subject, "conn-0");
    assert!(loop_.finding.contains("after 1008 closes"), "{loop_:#?}");
    assert!(loop_.action.contains("lower the subscription batch rate"));
    assert!(
        loop_
            .evidence
            .starts_with("4 failures in the last 5m00s, 4 closed with 1008"),
        "{loop_:#?}"
    );
}

#[test]
fn stream_silent_while_its_connection_is_alive() {
    let mut world = World::new(1, 3);
    world.feed(30, &[(0, 1)]);
    let diagnostics = world.monitor.diagnostics(world.at(30.0));
    let stall = find(&diagnostics, "stream_stalled");
    assert_eq!(stall.subject, "s0-1@trade");
    assert!(stall.finding.contains("server-side stall"));
    assert!(stall.action.contains("recycled"));
    assert!(
        stall.evidence.contains("1 of 3 streams on conn-0 silent"),
        "{stall:#?}"
    );
}

#[test]
fn whole_connection_silent_while_open() {
    let world = World::new(1, 2);
    let diagnostics = world.monitor.diagnostics(world.at(25.0));
    let stalls: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.code == "stream_stalled")
        .collect();
    assert_eq!(stalls.len(), 2);
    assert!(stalls[0].finding.contains("half-open connection"));
}

#[test]
fn rest_ban_is_critical_and_first() {
    let mut world = World::new(1, 1);
    let (now, until) = (world.at(10.0), world.at(130.0));
    world.monitor.on_lag(5, now);
    world.monitor.on_rest(
        RestStatus {
            used_weight: 6200,
            weight_limit: 6000,
            limit: RestLimit::Banned { until },
        },
        now,
    );
    let diagnostics = world.monitor.diagnostics(world.at(10.0));
    assert_eq!(diagnostics[0].code, "rest_banned");
    assert_eq!(diagnostics[0].level, Level::Critical);
    assert!(
        diagnostics[0].evidence.starts_with("ban ends in 2m00s"),
        "{diagnostics:#?}"
    );
    let lag = find(&diagnostics, "subscriber_lag");
    assert!(
        lag.evidence
            .starts_with("5 events missed in the last minute")
    );
}

#[test]
fn rest_weight_close_to_the_limit() {
    let mut world = World::new(1, 1);
    let now = world.at(10.0);
    world.monitor.on_rest(
        RestStatus {
            used_weight: 5400,
            weight_limit: 6000,
            limit: RestLimit::Clear,
        },
        now,
    );
    let diagnostics = world.monitor.diagnostics(now);
    assert!(
        find(&diagnostics, "rest_weight_high")
            .evidence
            .contains("(90%)")
    );
}

#[test]
fn handshake_refusals_and_unstable_network() {
    let mut world = World::new(1, 1);
    let causes = [
        DisconnectCause::Reset,
        DisconnectCause::Timeout,
        DisconnectCause::Silence,
        DisconnectCause::Reset,
        DisconnectCause::Refused,
        DisconnectCause::RateLimited,
        DisconnectCause::RateLimited,
    ];
    for (i, cause) in causes.into_iter().enumerate() {
        world.event(
            0,
            ConnectionEvent::Disconnected(cause),
            11.0 + i as f64 * 10.0,
        );
    }
    let diagnostics = world.monitor.diagnostics(world.at(90.0));
    assert!(
        find(&diagnostics, "unstable_network")
            .evidence
            .starts_with("5 network failures")
    );
    assert!(
        find(&diagnostics, "handshake_rate_limited")
            .evidence
            .starts_with("2 refusals")
    );
}

#[test]
fn late_events_everywhere_point_at_the_clock() {
    let mut world = World::new(1, 2);
    for second in 11..=60u64 {
        let now = world.at(second as f64);
        for &id in &world.streams[0].clone() {
            world
                .monitor
                .on_message(id, 100, Some(common::EPOCH + second * 1000 - 3000), now);
        }
    }
    let diagnostics = world.monitor.diagnostics(world.at(60.0));
    let late = find(&diagnostics, "high_latency");
    assert!(late.finding.contains("host clock"), "{late:#?}");
    assert!(
        late.evidence.starts_with("2 of 2 streams above 1.0s"),
        "{late:#?}"
    );
}
