//! The endpoint set on a fake clock: scoring, health, fail-over, fail-back,
//! hysteresis, probes and bad input.

use std::time::{Duration, Instant};

use fallback::{
    BreakerState, EndpointConfig, EndpointEvent, EndpointHealth, EndpointSet, Error, FailoverCause,
    SelectReason,
};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

const PRIMARY: &str = "stream.binance.com:9443";
const SECOND: &str = "stream.binance.com:443";
const THIRD: &str = "data-stream.binance.vision";

fn secs(t0: Instant, s: u64) -> Instant {
    t0 + Duration::from_secs(s)
}

fn set() -> EndpointSet<&'static str> {
    EndpointSet::new(vec![PRIMARY, SECOND, THIRD], EndpointConfig::default()).expect("valid")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn events(set: &mut EndpointSet<&'static str>) -> Vec<EndpointEvent<&'static str>> {
    std::iter::from_fn(|| set.poll_event()).collect()
}

#[test]
fn the_score_follows_the_formula() {
    let t0 = t0();
    let mut set = set();
    let score = |set: &EndpointSet<_>, e| set.score(&e).expect("known");
    assert!(close(score(&set, PRIMARY), 1.0));
    set.on_failure(&PRIMARY, t0).expect("known");
    assert!(close(score(&set, PRIMARY), 0.7), "s = 1 - 0.3");
    set.on_failure(&PRIMARY, t0).expect("known");
    assert!(close(score(&set, PRIMARY), 0.49));
    // A success with a 1 s connect: s = 0.49 + 0.3 × 0.51 = 0.643; the
    // latency penalty 0.25 × (1 s / 2 s) = 0.125.
    set.on_success(&PRIMARY, Duration::from_secs(1), t0)
        .expect("known");
    assert!(close(score(&set, PRIMARY), 0.643 * 0.875));
    // A connect slower than slow_connect costs the full 25 %.
    set.on_success(&SECOND, Duration::from_secs(10), t0)
        .expect("known");
    assert!(close(score(&set, SECOND), 0.75));
    // A silence: q = 0.3, penalty 0.5 × 0.3.
    set.on_silence(&THIRD, t0).expect("known");
    assert!(close(score(&set, THIRD), 0.85));
}

#[test]
fn health_moves_through_unhealthy_and_down_and_back_with_events() {
    let t0 = t0();
    let mut set = set();
    for s in 0..5 {
        set.on_failure(&PRIMARY, secs(t0, s)).expect("known");
    }
    let down_until = secs(t0, 4 + 30);
    assert_eq!(
        set.health(&PRIMARY, secs(t0, 5)),
        Some(EndpointHealth::Down {
            until: Some(down_until)
        })
    );
    assert_eq!(set.poll_timeout(), Some(down_until));
    set.handle_timeout(down_until);
    let changes: Vec<_> = events(&mut set)
        .into_iter()
        .map(|e| match e {
            EndpointEvent::HealthChanged { from, to, at, .. } => (from, to, at),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                EndpointHealth::Healthy,
                EndpointHealth::Unhealthy,
                secs(t0, 1)
            ),
            (
                EndpointHealth::Unhealthy,
                EndpointHealth::Down {
                    until: Some(down_until)
                },
                secs(t0, 4)
            ),
            (
                EndpointHealth::Down {
                    until: Some(down_until)
                },
                EndpointHealth::Unhealthy,
                down_until
            ),
        ]
    );
    assert_eq!(set.poll_timeout(), None);
}

#[test]
fn the_primary_is_chosen_first_and_an_unhealthy_one_is_left_after_the_dwell() {
    let t0 = t0();
    let mut set = set();
    let first = set.select(t0).expect("usable");
    assert_eq!(
        (first.endpoint, first.reason),
        (PRIMARY, SelectReason::Initial)
    );
    // One failure: still healthy (0.7), stay.
    set.on_failure(&PRIMARY, secs(t0, 1)).expect("known");
    assert_eq!(
        set.select(secs(t0, 1)).map(|s| s.reason),
        Some(SelectReason::Stay)
    );
    // Two: unhealthy, but the initial choice was under 30 s ago.
    set.on_failure(&PRIMARY, secs(t0, 2)).expect("known");
    let held = set.select(secs(t0, 2)).expect("usable");
    let until = secs(t0, 30);
    assert_eq!(
        (held.endpoint, held.reason),
        (PRIMARY, SelectReason::Held { until })
    );
    assert_eq!(set.poll_timeout(), Some(until));
    let moved = set.select(until).expect("usable");
    assert_eq!(
        (moved.endpoint, moved.index, moved.reason),
        (
            SECOND,
            1,
            SelectReason::Failover {
                from: 0,
                cause: FailoverCause::Unhealthy
            }
        )
    );
    assert!(moved.reason.is_switch());
    assert_eq!(set.snapshot().switches, 1);
}

#[test]
fn fail_over_goes_to_the_best_healthy_alternative_ties_to_the_earlier() {
    let t0 = t0();
    let mut set = set();
    let _ = set.select(t0);
    // The second endpoint connects slowly (0.75), the third fast (≈1).
    set.on_success(&SECOND, Duration::from_secs(5), t0)
        .expect("known");
    set.on_success(&THIRD, Duration::from_millis(20), t0)
        .expect("known");
    set.on_failure(&PRIMARY, t0).expect("known");
    set.on_failure(&PRIMARY, t0).expect("known");
    let moved = set.select(secs(t0, 30)).expect("usable");
    assert_eq!(moved.endpoint, THIRD);

    // With equal scores the earlier endpoint wins.
    let mut set = self::set();
    let _ = set.select(t0);
    set.on_failure(&PRIMARY, t0).expect("known");
    set.on_failure(&PRIMARY, t0).expect("known");
    assert_eq!(set.select(secs(t0, 30)).map(|s| s.endpoint), Some(SECOND));
}

#[test]
fn a_down_endpoint_is_left_at_once_whatever_the_dwell() {
    let t0 = t0();
    let mut set = set();
    let _ = set.select(t0);
    for _ in 0..5 {
        set.on_failure(&PRIMARY, secs(t0, 1)).expect("known");
    }
    let moved = set.select(secs(t0, 1)).expect("usable");
    assert_eq!(
        (moved.endpoint, moved.reason),
        (
            SECOND,
            SelectReason::Failover {
                from: 0,
                cause: FailoverCause::Down
            }
        )
    );
}

#[test]
fn an_open_breaker_makes_an_endpoint_down_until_retry_at_or_closed() {
    let t0 = t0();
    let mut set = set();
    let retry_at = secs(t0, 30);
    set.on_breaker(
        &PRIMARY,
        BreakerState::Open {
            retry_at: Some(retry_at),
        },
        t0,
    )
    .expect("known");
    assert_eq!(
        set.health(&PRIMARY, t0),
        Some(EndpointHealth::Down {
            until: Some(retry_at)
        })
    );
    assert_eq!(set.select(t0).map(|s| s.endpoint), Some(SECOND));
    assert_eq!(
        set.health(&PRIMARY, retry_at),
        Some(EndpointHealth::Healthy)
    );

    set.on_breaker(&SECOND, BreakerState::Open { retry_at: None }, t0)
        .expect("known");
    assert_eq!(
        set.health(&SECOND, secs(t0, 3600)),
        Some(EndpointHealth::Down { until: None })
    );
    set.on_breaker(&SECOND, BreakerState::HalfOpen, secs(t0, 60))
        .expect("known");
    assert!(
        set.health(&SECOND, secs(t0, 60))
            .is_some_and(EndpointHealth::is_usable)
    );
}

#[test]
fn with_every_endpoint_down_there_is_no_selection_and_one_event() {
    let t0 = t0();
    let mut set = set();
    for (i, endpoint) in [PRIMARY, SECOND, THIRD].into_iter().enumerate() {
        let retry_at = secs(t0, 10 + i as u64);
        set.on_breaker(
            &endpoint,
            BreakerState::Open {
                retry_at: Some(retry_at),
            },
            t0,
        )
        .expect("known");
    }
    assert!(!set.any_usable(t0));
    assert_eq!(set.retry_at(t0), Some(secs(t0, 10)));
    assert_eq!(set.select(t0), None);
    assert_eq!(set.select(secs(t0, 1)), None);
    let none: Vec<_> = events(&mut set)
        .into_iter()
        .filter(|e| matches!(e, EndpointEvent::NoneUsable { .. }))
        .collect();
    assert_eq!(
        none,
        vec![EndpointEvent::NoneUsable {
            at: t0,
            retry_at: Some(secs(t0, 10))
        }]
    );
    // The primary's breaker half-opens at 10 s: it is chosen.
    assert!(set.any_usable(secs(t0, 10)));
    assert_eq!(set.select(secs(t0, 10)).map(|s| s.endpoint), Some(PRIMARY));
}

#[test]
fn with_no_healthy_alternative_only_a_clearly_better_score_moves_traffic() {
    let t0 = t0();
    let mut set =
        EndpointSet::new(vec![PRIMARY, SECOND], EndpointConfig::default()).expect("valid");
    let _ = set.select(t0);
    // Both unhealthy: primary 0.49, second 0.49 × (1 − 0.25 × 0.5) ≈ 0.43.
    for endpoint in [PRIMARY, SECOND] {
        set.on_failure(&endpoint, t0).expect("known");
        set.on_failure(&endpoint, t0).expect("known");
    }
    set.on_success(&SECOND, Duration::from_secs(1), t0)
        .expect("known");
    set.on_failure(&SECOND, t0).expect("known");
    assert_eq!(
        set.select(secs(t0, 60)).map(|s| s.reason),
        Some(SelectReason::Stay)
    );
    // The primary drops to 0.343; the second (0.45 × 0.875 ≈ 0.394) is not
    // 0.1 better: stay.
    set.on_failure(&PRIMARY, t0).expect("known");
    assert_eq!(set.select(secs(t0, 60)).map(|s| s.index), Some(0));
    // 0.24: now it is.
    set.on_failure(&PRIMARY, t0).expect("known");
    let moved = set.select(secs(t0, 60)).expect("usable");
    assert_eq!(
        moved.reason,
        SelectReason::Failover {
            from: 0,
            cause: FailoverCause::BetterScore
        }
    );
}

#[test]
fn fail_back_waits_for_the_primary_to_stay_healthy_and_probes_earn_it() {
    let t0 = t0();
    let mut set = set();
    let _ = set.select(t0);
    for _ in 0..5 {
        set.on_failure(&PRIMARY, t0).expect("known");
    }
    assert_eq!(set.select(t0).map(|s| s.endpoint), Some(SECOND));
    // Down until 30 s: no probe before that.
    assert_eq!(set.poll_probe(secs(t0, 29)), None);
    assert_eq!(set.poll_timeout(), Some(secs(t0, 30)));
    set.handle_timeout(secs(t0, 30));
    // From then on a probe every 30 s (from the last contact).
    assert_eq!(set.poll_probe(secs(t0, 30)), Some(PRIMARY));
    assert_eq!(set.poll_probe(secs(t0, 31)), None, "handed out once");
    assert_eq!(set.poll_timeout(), Some(secs(t0, 60)));
    // Each probe succeeds: 0.168 → 0.418 → 0.592 → 0.715, healthy at the
    // third (90 s), so fail-back is due at 90 + 120 s.
    set.on_success(&PRIMARY, Duration::from_millis(50), secs(t0, 30))
        .expect("known");
    for t in [60, 90] {
        assert_eq!(set.poll_probe(secs(t0, t)), Some(PRIMARY), "probe at {t} s");
        set.on_success(&PRIMARY, Duration::from_millis(50), secs(t0, t))
            .expect("known");
    }
    let since = set.snapshot().endpoints[0].healthy_since;
    assert_eq!(since, Some(secs(t0, 90)));
    let eligible = secs(t0, 210);
    assert_eq!(
        set.poll_timeout(),
        Some(secs(t0, 120)),
        "the next probe comes first"
    );
    assert_eq!(set.poll_probe(secs(t0, 120)), Some(PRIMARY));
    set.on_success(&PRIMARY, Duration::from_millis(50), secs(t0, 120))
        .expect("known");
    assert_eq!(set.poll_probe(secs(t0, 150)), Some(PRIMARY));
    set.on_success(&PRIMARY, Duration::from_millis(50), secs(t0, 150))
        .expect("known");
    assert_eq!(set.poll_probe(secs(t0, 180)), Some(PRIMARY));
    set.on_success(&PRIMARY, Duration::from_millis(50), secs(t0, 180))
        .expect("known");
    assert_eq!(set.poll_timeout(), Some(eligible));
    assert_eq!(
        set.select(eligible - Duration::from_secs(1))
            .map(|s| s.reason),
        Some(SelectReason::Stay)
    );
    let back = set.select(eligible).expect("usable");
    assert_eq!(
        (back.endpoint, back.reason),
        (PRIMARY, SelectReason::Failback { from: 1 })
    );
    assert_eq!(
        set.poll_probe(eligible + Duration::from_secs(600)),
        None,
        "on the primary"
    );
}

#[test]
fn a_failure_of_the_primary_restarts_its_fail_back_clock() {
    let t0 = t0();
    let mut set = set();
    let _ = set.select(t0);
    for _ in 0..5 {
        set.on_failure(&PRIMARY, t0).expect("known");
    }
    let _ = set.select(t0);
    let set_on = |s: u64, ok: bool, set: &mut EndpointSet<&'static str>| {
        if ok {
            set.on_success(&PRIMARY, Duration::ZERO, secs(t0, s))
                .expect("known");
        } else {
            set.on_failure(&PRIMARY, secs(t0, s)).expect("known");
        }
    };
    for s in [30, 31, 32, 33, 34] {
        set_on(s, true, &mut set);
    }
    let since = set.snapshot().endpoints[0].healthy_since.expect("healthy");
    set_on(100, false, &mut set);
    set_on(101, true, &mut set);
    assert_eq!(
        set.snapshot().endpoints[0].healthy_since,
        Some(secs(t0, 101))
    );
    assert_eq!(
        set.select(since + Duration::from_secs(120))
            .map(|s| s.index),
        Some(1),
        "the failure at 100 s reset the clock"
    );
    assert_eq!(
        set.select(secs(t0, 221)).map(|s| s.reason),
        Some(SelectReason::Failback { from: 1 })
    );
}

#[test]
fn bad_endpoint_lists_and_unknown_endpoints_are_named() {
    let empty = EndpointSet::<&str>::new(vec![], EndpointConfig::default());
    assert_eq!(empty.err(), Some(Error::NoEndpoints));
    let dup = EndpointSet::new(vec![PRIMARY, SECOND, PRIMARY], EndpointConfig::default());
    let err = dup.expect_err("duplicate");
    assert_eq!(
        err,
        Error::DuplicateEndpoint {
            endpoint: format!("{PRIMARY:?}"),
            first: 0,
            second: 2
        }
    );
    assert!(err.to_string().contains("stream.binance.com:9443"), "{err}");
    assert!(!err.is_retryable());

    let t0 = t0();
    let mut set = set();
    let err = set.on_failure(&"elsewhere:443", t0).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "unknown endpoint \"elsewhere:443\": it is not in the endpoint set"
    );
    assert_eq!(set.score(&"elsewhere:443"), None);
}

#[test]
fn a_driver_on_a_fake_clock_fails_over_probes_and_fails_back() {
    // The primary is down from 10 s to 300 s; the driver reconnects on
    // failure, probes when asked, and selects at every deadline. Steps go
    // from deadline to deadline; the loop is bounded.
    let t0 = t0();
    let mut set = set();
    let primary_up = |t: Instant| t < secs(t0, 10) || t >= secs(t0, 300);
    let mut now = t0;
    let mut current = set.select(now).expect("usable").endpoint;
    let mut switches = vec![];
    for _ in 0..1_000 {
        // The connection in use fails once a second while its endpoint is down.
        if current == PRIMARY && !primary_up(now) {
            set.on_failure(&PRIMARY, now).expect("known");
        }
        if let Some(probe) = set.poll_probe(now) {
            set.on_attempt(&probe, now).expect("known");
            if primary_up(now) {
                set.on_success(&probe, Duration::from_millis(30), now)
                    .expect("known");
            } else {
                set.on_failure(&probe, now).expect("known");
            }
        }
        set.handle_timeout(now);
        if let Some(selection) = set.select(now) {
            if selection.reason.is_switch() {
                switches.push((
                    now.duration_since(t0).as_secs(),
                    selection.endpoint,
                    selection.reason,
                ));
            }
            current = selection.endpoint;
        }
        let next = now + Duration::from_secs(1);
        now = set.poll_timeout().map_or(next, |deadline| {
            deadline.min(next).max(now + Duration::from_millis(1))
        });
        if now > secs(t0, 900) {
            break;
        }
    }
    println!("{switches:?}");
    assert_eq!(switches.len(), 2, "{switches:?}");
    let (out_at, out_to, out_reason) = switches[0];
    assert_eq!((out_to, out_reason.is_switch()), (SECOND, true));
    assert!(out_at <= 30 + 1, "failed over after the dwell: {out_at}");
    let (back_at, back_to, back_reason) = switches[1];
    assert_eq!(
        (back_to, back_reason),
        (PRIMARY, SelectReason::Failback { from: 1 })
    );
    // Up again at 300 s; healthy after a few probes; back 120 s later.
    assert!(
        (300 + 120..=300 + 120 + 4 * 30).contains(&back_at),
        "{back_at}"
    );
}
