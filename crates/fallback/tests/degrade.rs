//! The degradation plan: each stream's status from its feed, the
//! WebSocket's and REST's availability; partial service; the poll plan
//! redone as the polled set changes; an event for every change.

use std::time::{Duration, Instant};

use fallback::{
    DegradationPlan, Error, Feed, PlanEvent, PollBudget, Polling, RestAvailability, ServiceLevel,
    StreamStatus, WsAvailability,
};

use StreamStatus::{Live, Polled, Stale, Unavailable};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

const TICKER: Polling = Polling::Supported {
    weight: 2,
    normal_interval: Duration::from_secs(1),
};

fn plan() -> DegradationPlan<&'static str> {
    DegradationPlan::new(PollBudget::default()).expect("valid")
}

fn events(plan: &mut DegradationPlan<&'static str>) -> Vec<PlanEvent<&'static str>> {
    std::iter::from_fn(|| plan.poll_event()).collect()
}

fn statuses(plan: &DegradationPlan<&'static str>) -> Vec<(&'static str, StreamStatus)> {
    let mut all: Vec<_> = plan.statuses().map(|(k, s)| (*k, s)).collect();
    all.sort_unstable();
    all
}

#[test]
fn the_rule_table() {
    // (feed, websocket, pollable, rest, has value) → status
    let rows = [
        (Feed::Live, WsAvailability::Usable, true, true, false, Live),
        (
            Feed::Live,
            WsAvailability::Unusable,
            false,
            false,
            false,
            Live,
        ),
        (
            Feed::Failed,
            WsAvailability::Usable,
            true,
            true,
            false,
            Polled,
        ),
        (
            Feed::Failed,
            WsAvailability::Usable,
            true,
            false,
            true,
            Stale,
        ),
        (
            Feed::Failed,
            WsAvailability::Usable,
            false,
            true,
            true,
            Stale,
        ),
        (
            Feed::Failed,
            WsAvailability::Usable,
            false,
            true,
            false,
            Unavailable,
        ),
        (
            Feed::Interrupted,
            WsAvailability::Usable,
            true,
            true,
            true,
            Stale,
        ),
        (
            Feed::Interrupted,
            WsAvailability::Usable,
            true,
            true,
            false,
            Unavailable,
        ),
        (
            Feed::Interrupted,
            WsAvailability::Unusable,
            true,
            true,
            false,
            Polled,
        ),
        (
            Feed::Interrupted,
            WsAvailability::Unusable,
            true,
            false,
            false,
            Unavailable,
        ),
    ];
    let t0 = t0();
    for (i, &(feed, ws, pollable, rest, value, expected)) in rows.iter().enumerate() {
        let mut plan = plan();
        let polling = if pollable {
            TICKER
        } else {
            Polling::Unsupported
        };
        plan.add_stream("s", polling, t0).expect("new");
        plan.set_websocket(ws, t0);
        let rest = if rest {
            RestAvailability::Available
        } else {
            RestAvailability::Unavailable
        };
        plan.set_rest(rest, t0);
        if value {
            plan.on_value(&"s", t0).expect("known");
        }
        plan.set_feed(&"s", feed, t0).expect("known");
        assert_eq!(plan.status(&"s"), Some(expected), "row {i}: {:?}", rows[i]);
    }
}

#[test]
fn failing_connections_degrade_stream_by_stream_with_events() {
    let t0 = t0();
    let t1 = t0 + Duration::from_secs(1);
    let mut plan = plan();
    assert_eq!(plan.add_stream("btc@ticker", TICKER, t0), Ok(Unavailable));
    assert_eq!(
        plan.add_stream("btc@depth", Polling::Unsupported, t0),
        Ok(Unavailable)
    );
    assert_eq!(plan.add_stream("eth@ticker", TICKER, t0), Ok(Unavailable));
    assert_eq!(plan.service(), ServiceLevel::Down);
    plan.set_feeds(&["btc@ticker", "btc@depth", "eth@ticker"], Feed::Live, t0)
        .expect("known");
    plan.on_value(&"btc@depth", t0).expect("known");
    assert_eq!(plan.service(), ServiceLevel::Full);
    let _ = events(&mut plan);

    // The connection carrying btc fails: the ticker is polled, the depth
    // stream has no REST stand-in and serves its last value.
    plan.set_feeds(&["btc@ticker", "btc@depth"], Feed::Failed, t1)
        .expect("known");
    assert_eq!(
        statuses(&plan),
        vec![
            ("btc@depth", Stale),
            ("btc@ticker", Polled),
            ("eth@ticker", Live)
        ]
    );
    assert_eq!(plan.service(), ServiceLevel::Partial);
    assert_eq!(
        events(&mut plan),
        vec![
            PlanEvent::StatusChanged {
                stream: "btc@ticker",
                from: Live,
                to: Polled,
                at: t1
            },
            PlanEvent::StatusChanged {
                stream: "btc@depth",
                from: Live,
                to: Stale,
                at: t1
            },
            PlanEvent::PollPlanChanged {
                at: t1,
                polled: 1,
                slowed: 0
            },
            PlanEvent::ServiceChanged {
                from: ServiceLevel::Full,
                to: ServiceLevel::Partial,
                at: t1
            },
        ]
    );
    let assignment = plan.poll_plan().get(&"btc@ticker").expect("polled");
    assert_eq!(assignment.interval, Duration::from_secs(1));
    assert!(!assignment.slower_than_normal);

    // The first poll answers; then REST is rate-limited: the ticker goes
    // stale too, and nothing is polled.
    plan.on_value(&"btc@ticker", t1).expect("known");
    plan.set_rest(RestAvailability::Unavailable, t1);
    assert_eq!(plan.status(&"btc@ticker"), Some(Stale));
    assert_eq!(plan.status(&"eth@ticker"), Some(Live));
    assert!(plan.poll_plan().is_empty());
    // Back, and the connection recovers: live again, polling stops.
    plan.set_rest(RestAvailability::Available, t1);
    plan.set_feeds(&["btc@ticker", "btc@depth"], Feed::Live, t1)
        .expect("known");
    assert_eq!(plan.service(), ServiceLevel::Full);
    assert!(plan.poll_plan().is_empty());
    let snapshot = plan.snapshot();
    assert_eq!((snapshot.live, snapshot.polled, snapshot.stale), (3, 0, 0));
}

#[test]
fn with_no_usable_endpoint_every_pollable_stream_is_polled_at_once() {
    let t0 = t0();
    let mut plan = DegradationPlan::new(PollBudget::default()).expect("valid");
    let names: Vec<String> = (0..100).map(|i| format!("s{i}@bookTicker")).collect();
    for name in &names {
        plan.add_stream(name.clone(), TICKER, t0).expect("new");
    }
    plan.set_feeds(&names, Feed::Live, t0).expect("known");
    // Every connection is reconnecting (interrupted): not polled yet.
    plan.set_feeds(&names, Feed::Interrupted, t0)
        .expect("known");
    assert_eq!(plan.service(), ServiceLevel::Down);
    while plan.poll_event().is_some() {}
    // Then every breaker is open.
    plan.set_websocket(WsAvailability::Unusable, t0);
    assert_eq!(plan.service(), ServiceLevel::Degraded);
    let snapshot = plan.snapshot();
    assert_eq!((snapshot.polled, snapshot.polled_slower), (100, 100));
    assert!(snapshot.poll_weight_per_window <= snapshot.poll_budget_per_window);
    // 100 tickers at weight 2 share 3,000 per minute: every 4 s, slower than 1 s.
    let assignment = plan.poll_plan().get(&names[0]).expect("polled");
    assert_eq!(assignment.interval, Duration::from_secs(4));
    assert!(assignment.slower_than_normal);
    let replans: Vec<_> = std::iter::from_fn(|| plan.poll_event())
        .filter(|e| matches!(e, PlanEvent::PollPlanChanged { .. }))
        .collect();
    assert_eq!(
        replans,
        vec![PlanEvent::PollPlanChanged {
            at: t0,
            polled: 100,
            slowed: 100
        }]
    );

    // Half the streams come back live: the rest poll faster (every 2 s).
    plan.set_websocket(WsAvailability::Usable, t0);
    plan.set_feeds(&names[..50], Feed::Live, t0).expect("known");
    plan.set_feeds(&names[50..], Feed::Failed, t0)
        .expect("known");
    assert_eq!(plan.service(), ServiceLevel::Degraded);
    assert_eq!(plan.poll_plan().len(), 50);
    assert_eq!(
        plan.poll_plan().get(&names[99]).map(|a| a.interval),
        Some(Duration::from_secs(2))
    );
    // Removing polled streams re-plans too.
    for name in &names[50..75] {
        plan.remove_stream(name, t0).expect("known");
    }
    assert_eq!(plan.poll_plan().len(), 25);
    assert_eq!(plan.poll_plan().slowed(), 0, "25 × 120 = 3,000 fits");
    assert_eq!(plan.status(&names[60]), None);
}

#[test]
fn bad_input_is_named() {
    let t0 = t0();
    let mut plan = plan();
    plan.add_stream("a", TICKER, t0).expect("new");
    assert_eq!(
        plan.add_stream("a", TICKER, t0),
        Err(Error::DuplicateStream {
            stream: "\"a\"".into()
        })
    );
    let err = plan.set_feed(&"b", Feed::Live, t0).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "unknown stream \"b\": add it before reporting on it"
    );
    let heavy = Polling::Supported {
        weight: 0,
        normal_interval: Duration::from_secs(1),
    };
    assert!(matches!(
        plan.add_stream("c", heavy, t0),
        Err(Error::InvalidStream {
            field: "weight",
            ..
        })
    ));
    assert_eq!(plan.status(&"c"), None, "a refused stream is not added");
    assert!(plan.set_feeds(&["a", "b"], Feed::Live, t0).is_err());
    assert_eq!(
        plan.status(&"a"),
        Some(Live),
        "streams before the unknown one are updated"
    );
    let bad = DegradationPlan::<&str>::new(PollBudget {
        weight: 0,
        ..PollBudget::default()
    });
    assert_eq!(
        bad.err().map(|e| e.to_string()),
        Some("invalid configuration: weight = 0 must be at least 1".into())
    );
}
