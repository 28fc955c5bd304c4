//! The feed's translation of the client's signals into monitor inputs.

use health::{BackfillOutcome, ConnectionState, HealthConfig, Level};

use super::HealthFeed;
use crate::client::lifecycle::Lifecycle;

fn feed() -> HealthFeed {
    HealthFeed::new(HealthConfig::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn connecting(connection: u64) -> Lifecycle {
    Lifecycle::Connecting {
        connection,
        endpoint: "ws://127.0.0.1:1".into(),
        attempt: 1,
    }
}

fn connected(connection: u64) -> Lifecycle {
    Lifecycle::Connected {
        connection,
        endpoint: "ws://127.0.0.1:1".into(),
    }
}

#[test]
fn lifecycle_signals_drive_the_connection() {
    let feed = feed();
    let stream = feed.register_stream("btcusdt@aggTrade", 1);
    feed.on_lifecycle(&connecting(1));
    feed.on_lifecycle(&connected(1));
    assert!(!feed.report().readiness.ready, "waits for the stream");
    feed.on_message(stream, 180, None);
    assert!(feed.report().readiness.ready);

    feed.on_lifecycle(&Lifecycle::Disconnected {
        connection: 1,
        cause: "handshake_rejected".into(),
        detail: "could not connect: server rejected the websocket upgrade with http 429".into(),
    });
    feed.on_lifecycle(&Lifecycle::Reconnecting {
        connection: 1,
        delay_ms: 1000,
        rate_limited: true,
    });
    let stats = feed.with(|m| m.stats(super::now()));
    let conn = &stats.connections[0];
    assert_eq!(conn.name, "conn-1");
    assert_eq!(conn.state, ConnectionState::Reconnecting);
    assert_eq!(conn.failures, 1);
    assert_eq!(conn.last_cause, Some(health::DisconnectCause::RateLimited));
    assert!(
        !feed.report().readiness.ready,
        "a new session must deliver again"
    );

    feed.on_lifecycle(&connected(1));
    feed.on_lifecycle(&Lifecycle::Rotated {
        connection: 1,
        reason: "lifetime".into(),
    });
    feed.on_message(stream, 180, None);
    let stats = feed.with(|m| m.stats(super::now()));
    assert_eq!(stats.connections[0].rotations, 1);
    assert!(feed.report().readiness.ready, "a rotation keeps readiness");

    feed.on_lifecycle(&Lifecycle::Escalated {
        connection: 1,
        reason: "too many restarts".into(),
    });
    assert_eq!(
        feed.report().level,
        Level::Critical,
        "every connection abandoned"
    );
}

#[test]
fn a_closed_slot_is_not_judged_and_stays_closed() {
    let feed = feed();
    feed.register_stream("btcusdt@aggTrade", 1);
    feed.on_lifecycle(&connected(1));
    feed.close(1);
    feed.on_lifecycle(&connecting(1));
    let report = feed.report();
    assert_eq!(report.readiness.streams, 0);
    assert_eq!(report.level, Level::Healthy, "{report:?}");
    let state = feed.with(|m| m.stats(super::now())).connections[0].state;
    assert_eq!(state, ConnectionState::Closed);
}

#[test]
fn gaps_close_recovered_or_lost_once() {
    let feed = feed();
    let stream = feed.register_stream("btcusdt@trade", 1);
    feed.on_gap(stream);
    feed.on_backfilled(stream);
    // A loss during a backfill closes the gap; its end adds nothing.
    feed.on_gap(stream);
    feed.on_lost(stream);
    feed.on_backfilled(stream);
    // A loss without a backfill (none configured) is a gap too.
    feed.on_lost(stream);
    let totals = feed.with(|m| m.totals());
    assert_eq!(totals.gaps, 3);
    assert_eq!(totals.backfills[BackfillOutcome::Recovered as usize], 1);
    assert_eq!(totals.backfills[BackfillOutcome::Lost as usize], 2);
}

#[test]
fn breakers_and_request_errors_are_reported() {
    let feed = feed();
    feed.on_lifecycle(&connected(1));
    feed.on_lifecycle(&Lifecycle::Breaker {
        endpoint: "ws://127.0.0.1:1".into(),
        state: "open".into(),
    });
    feed.on_lifecycle(&Lifecycle::RequestFailed {
        connection: 1,
        code: -1121,
        message: "Invalid symbol.".into(),
    });
    let stats = feed.with(|m| m.stats(super::now()));
    assert_eq!(stats.breakers[0].state, health::BreakerState::Open);
    assert_eq!(stats.totals.errors, 1);
    let report = feed.report();
    assert!(
        report
            .components
            .iter()
            .any(|c| c.name == "ws://127.0.0.1:1" && c.level == Level::Degraded)
    );
}
