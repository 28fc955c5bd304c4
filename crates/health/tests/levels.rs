//! The level rules of docs/health.md, one row per rule, on a fake clock.

mod common;

use std::time::Duration;

use common::World;
use health::{
    BreakerState, ComponentKind, ConnectionEvent, DisconnectCause, ErrorClass, ErrorSource, Level,
    RestLimit, RestStatus,
};

struct Case {
    name: &'static str,
    /// Sets the world up; returns the evaluation time in seconds.
    setup: fn(&mut World) -> f64,
    system: Level,
    /// `(kind, name, level)` of components to check.
    components: &'static [(ComponentKind, &'static str, Level)],
}

fn down(w: &mut World, conn: usize, at: f64, until: u64) {
    w.event(
        conn,
        ConnectionEvent::Disconnected(DisconnectCause::Reset),
        at,
    );
    w.event(
        conn,
        ConnectionEvent::Reconnecting {
            delay: Duration::from_secs(1),
        },
        at,
    );
    w.feed_all(until);
}

const CASES: &[Case] = &[
    Case {
        name: "every stream delivering",
        setup: |w| {
            w.feed_all(20);
            20.0
        },
        system: Level::Healthy,
        components: &[
            (ComponentKind::Connection, "conn-0", Level::Healthy),
            (ComponentKind::Stream, "s0-0@trade", Level::Healthy),
        ],
    },
    Case {
        name: "a stream silent for 3x its interval is a warning",
        setup: |w| {
            w.feed(14, &[(0, 0)]);
            13.5
        },
        system: Level::Warning,
        components: &[
            (ComponentKind::Stream, "s0-0@trade", Level::Warning),
            (ComponentKind::Stream, "s0-1@trade", Level::Healthy),
        ],
    },
    Case {
        name: "a stream silent for 10x its interval is degraded",
        setup: |w| {
            w.feed(21, &[(0, 0)]);
            20.5
        },
        system: Level::Degraded,
        components: &[(ComponentKind::Stream, "s0-0@trade", Level::Degraded)],
    },
    Case {
        name: "a connection down within the grace is a warning",
        setup: |w| {
            down(w, 1, 10.5, 12);
            12.0
        },
        system: Level::Warning,
        components: &[
            (ComponentKind::Connection, "conn-1", Level::Warning),
            (ComponentKind::Stream, "s1-0@trade", Level::Warning),
            (ComponentKind::Connection, "conn-0", Level::Healthy),
        ],
    },
    Case {
        name: "one connection down past the grace: unhealthy component, degraded system",
        setup: |w| {
            down(w, 1, 10.5, 17);
            17.0
        },
        system: Level::Degraded,
        components: &[
            (ComponentKind::Connection, "conn-1", Level::Unhealthy),
            (ComponentKind::Stream, "s1-0@trade", Level::Degraded),
        ],
    },
    Case {
        name: "no connected WebSocket within the grace is degraded",
        setup: |w| {
            down(w, 0, 10.5, 10);
            down(w, 1, 10.5, 12);
            12.0
        },
        system: Level::Degraded,
        components: &[],
    },
    Case {
        name: "no connected WebSocket past the grace is unhealthy",
        setup: |w| {
            down(w, 0, 10.5, 10);
            down(w, 1, 10.5, 16);
            16.0
        },
        system: Level::Unhealthy,
        components: &[],
    },
    Case {
        name: "every stream stale while connected is unhealthy",
        setup: |w| {
            w.feed(21, &[(0, 0), (0, 1), (1, 0), (1, 1)]);
            21.0
        },
        system: Level::Unhealthy,
        components: &[],
    },
    Case {
        name: "every connection abandoned is critical",
        setup: |w| {
            for c in 0..2 {
                w.event(
                    c,
                    ConnectionEvent::Disconnected(DisconnectCause::Certificate),
                    10.5,
                );
                w.event(c, ConnectionEvent::Abandoned, 10.5);
            }
            11.0
        },
        system: Level::Critical,
        components: &[(ComponentKind::Connection, "conn-0", Level::Critical)],
    },
    Case {
        name: "a REST ban is critical",
        setup: |w| {
            let until = w.at(600.0);
            let now = w.at(10.0);
            w.monitor.on_rest(
                RestStatus {
                    used_weight: 6100,
                    weight_limit: 6000,
                    limit: RestLimit::Banned { until },
                },
                now,
            );
            10.0
        },
        system: Level::Critical,
        components: &[(ComponentKind::Rest, "rest", Level::Critical)],
    },
    Case {
        name: "a 429 Retry-After in force is degraded",
        setup: |w| {
            let until = w.at(40.0);
            let now = w.at(10.0);
            w.monitor.on_rest(
                RestStatus {
                    used_weight: 100,
                    weight_limit: 6000,
                    limit: RestLimit::RetryAfter { until },
                },
                now,
            );
            10.0
        },
        system: Level::Degraded,
        components: &[(ComponentKind::Rest, "rest", Level::Degraded)],
    },
    Case {
        name: "REST weight at 85% is a warning",
        setup: |w| {
            let now = w.at(10.0);
            w.monitor.on_rest(
                RestStatus {
                    used_weight: 5100,
                    weight_limit: 6000,
                    limit: RestLimit::Clear,
                },
                now,
            );
            10.0
        },
        system: Level::Warning,
        components: &[(ComponentKind::Rest, "rest", Level::Warning)],
    },
    Case {
        name: "an expired ban no longer counts",
        setup: |w| {
            let until = w.at(5.0);
            let now = w.at(4.0);
            w.monitor.on_rest(
                RestStatus {
                    used_weight: 0,
                    weight_limit: 6000,
                    limit: RestLimit::Banned { until },
                },
                now,
            );
            10.0
        },
        system: Level::Healthy,
        components: &[(ComponentKind::Rest, "rest", Level::Healthy)],
    },
    Case {
        name: "one breaker open of two is degraded",
        setup: |w| {
            let now = w.at(10.0);
            w.monitor
                .on_breaker("stream.example:9443", BreakerState::Open, now);
            w.monitor
                .on_breaker("stream.example:443", BreakerState::Closed, now);
            10.0
        },
        system: Level::Degraded,
        components: &[
            (
                ComponentKind::Breaker,
                "stream.example:9443",
                Level::Degraded,
            ),
            (ComponentKind::Breaker, "stream.example:443", Level::Healthy),
        ],
    },
    Case {
        name: "a half-open breaker is a warning",
        setup: |w| {
            let now = w.at(10.0);
            w.monitor
                .on_breaker("stream.example:9443", BreakerState::HalfOpen, now);
            10.0
        },
        system: Level::Warning,
        components: &[(
            ComponentKind::Breaker,
            "stream.example:9443",
            Level::Warning,
        )],
    },
    Case {
        name: "every breaker open (every endpoint down) is critical",
        setup: |w| {
            let now = w.at(10.0);
            w.monitor
                .on_breaker("stream.example:9443", BreakerState::Open, now);
            w.monitor
                .on_breaker("stream.example:443", BreakerState::ForcedOpen, now);
            10.0
        },
        system: Level::Critical,
        components: &[],
    },
    Case {
        name: "subscriber lag is a warning, heavy lag degraded",
        setup: |w| {
            let now = w.at(10.0);
            w.monitor.on_lag(2000, now);
            10.0
        },
        system: Level::Degraded,
        components: &[(ComponentKind::Subscribers, "subscribers", Level::Degraded)],
    },
    Case {
        name: "lag that left the last minute no longer counts",
        setup: |w| {
            let now = w.at(1.0);
            w.monitor.on_lag(5, now);
            w.feed_all(80);
            80.0
        },
        system: Level::Healthy,
        components: &[(ComponentKind::Subscribers, "subscribers", Level::Healthy)],
    },
    Case {
        name: "five failures in five minutes is a reconnect loop (degraded)",
        setup: |w| {
            for i in 0..5 {
                let at = 11.0 + f64::from(i) * 3.0;
                w.event(
                    0,
                    ConnectionEvent::Disconnected(DisconnectCause::PolicyViolation),
                    at,
                );
                w.event(0, ConnectionEvent::Connected, at + 1.0);
            }
            w.feed_all(27);
            27.0
        },
        system: Level::Degraded,
        components: &[(ComponentKind::Connection, "conn-0", Level::Degraded)],
    },
    Case {
        name: "connection errors at 15/min are a warning",
        setup: |w| {
            for i in 0..15 {
                let now = w.at(10.0 + f64::from(i));
                let conn = w.conns[0];
                w.monitor.on_error(
                    health::ErrorSource::Connection(conn),
                    ErrorClass::Decode,
                    now,
                );
            }
            w.feed_all(25);
            25.0
        },
        system: Level::Warning,
        components: &[(ComponentKind::Connection, "conn-0", Level::Warning)],
    },
    Case {
        name: "system errors at 70/min are degraded",
        setup: |w| {
            for i in 0..70 {
                let now = w.at(10.0 + f64::from(i) * 0.5);
                w.monitor
                    .on_error(ErrorSource::Other, ErrorClass::Server, now);
            }
            w.feed_all(45);
            45.0
        },
        system: Level::Degraded,
        components: &[],
    },
    Case {
        name: "latency over 1 s is a warning",
        setup: |w| {
            // The average has a 10 s half-life: 30 s of late events lift it.
            for second in 11..=40u64 {
                let now = w.at(second as f64);
                let id = w.streams[0][0];
                w.monitor
                    .on_message(id, 100, Some(common::EPOCH + second * 1000 - 2000), now);
            }
            w.feed(40, &[(0, 0)]);
            40.0
        },
        system: Level::Warning,
        components: &[(ComponentKind::Stream, "s0-0@trade", Level::Warning)],
    },
    Case {
        name: "a gap being backfilled is a warning",
        setup: |w| {
            let now = w.at(10.0);
            let id = w.streams[0][0];
            w.monitor.on_gap(id, now);
            w.feed_all(15);
            15.0
        },
        system: Level::Warning,
        components: &[(ComponentKind::Stream, "s0-0@trade", Level::Warning)],
    },
    Case {
        name: "a gap open past 30 s is degraded",
        setup: |w| {
            let now = w.at(10.0);
            let id = w.streams[0][0];
            w.monitor.on_gap(id, now);
            w.feed_all(45);
            45.0
        },
        system: Level::Degraded,
        components: &[(ComponentKind::Stream, "s0-0@trade", Level::Degraded)],
    },
    Case {
        name: "data lost keeps a stream degraded for the loss window",
        setup: |w| {
            let (gap, filled) = (w.at(10.0), w.at(12.0));
            let id = w.streams[0][0];
            w.monitor.on_gap(id, gap);
            w.monitor
                .on_backfill(id, health::BackfillOutcome::Lost, filled);
            w.feed_all(100);
            100.0
        },
        system: Level::Degraded,
        components: &[(ComponentKind::Stream, "s0-0@trade", Level::Degraded)],
    },
    Case {
        name: "a recovered gap is healthy again",
        setup: |w| {
            let (gap, filled) = (w.at(10.0), w.at(12.0));
            let id = w.streams[0][0];
            w.monitor.on_gap(id, gap);
            w.monitor
                .on_backfill(id, health::BackfillOutcome::Recovered, filled);
            w.feed_all(15);
            15.0
        },
        system: Level::Healthy,
        components: &[(ComponentKind::Stream, "s0-0@trade", Level::Healthy)],
    },
    Case {
        name: "a closed connection is not judged",
        setup: |w| {
            w.event(
                1,
                ConnectionEvent::Disconnected(DisconnectCause::Local),
                10.5,
            );
            w.event(1, ConnectionEvent::Closed, 10.5);
            w.feed_all(30);
            30.0
        },
        system: Level::Healthy,
        components: &[],
    },
];

#[test]
fn level_rules() {
    for case in CASES {
        let mut world = World::new(2, 2);
        let at = (case.setup)(&mut world);
        let now = world.at(at);
        let health = world.monitor.evaluate(now);
        assert_eq!(health.level, case.system, "{}: {health:#?}", case.name);
        for &(kind, name, level) in case.components {
            let component = health
                .component(kind, name)
                .unwrap_or_else(|| panic!("{}: no component {kind} {name}", case.name));
            assert_eq!(component.level, level, "{}: {component:#?}", case.name);
            assert_eq!(
                component.reasons.is_empty(),
                level == Level::Healthy,
                "{}",
                case.name
            );
        }
    }
}

#[test]
fn a_closed_connection_and_its_streams_are_left_out() {
    let mut world = World::new(2, 1);
    world.event(1, ConnectionEvent::Closed, 10.5);
    let health = world.monitor.evaluate(world.at(30.0));
    assert!(
        health
            .component(ComponentKind::Connection, "conn-1")
            .is_none()
    );
    assert!(
        health
            .component(ComponentKind::Stream, "s1-0@trade")
            .is_none()
    );
    assert!(world.monitor.readiness().ready);
}

#[test]
fn learned_intervals_judge_quiet_streams_by_their_own_rhythm() {
    let mut world = World::new(1, 0);
    let conn = world.conns[0];
    let t0 = world.t0;
    // A stream that bursts every 5 s: its normal interval is learned as ~5 s.
    let slow = world
        .monitor
        .register_stream("quiet@aggTrade", conn, None, t0);
    for burst in 0..12u64 {
        for i in 0..3u64 {
            world.monitor.on_message(
                slow,
                120,
                None,
                t0 + Duration::from_millis(burst * 5000 + i * 10),
            );
        }
    }
    let last = 11 * 5;
    let quiet = world.monitor.evaluate(world.at(f64::from(last) + 8.0));
    let stream = quiet
        .component(ComponentKind::Stream, "quiet@aggTrade")
        .expect("registered");
    assert_eq!(stream.level, Level::Healthy, "{stream:#?}");
    let stalled = world.monitor.evaluate(world.at(f64::from(last) + 20.0));
    let stream = stalled
        .component(ComponentKind::Stream, "quiet@aggTrade")
        .expect("registered");
    assert_eq!(stream.level, Level::Warning, "{stream:#?}");
    let stats = world
        .monitor
        .stream_stats(slow, world.at(60.0))
        .expect("registered");
    assert!(
        stats.normal_interval >= Duration::from_secs(4),
        "{stats:#?}"
    );
}
