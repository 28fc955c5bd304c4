//! The registry of named breakers and the shared breaker, from several
//! threads, on a fake clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use circuit_breaker::{
    Admission, BreakerConfig, BreakerEvent, Error, OpenReason, Outcome, PermitKind, Registry,
    SharedBreaker, State,
};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

fn fail(breaker: &SharedBreaker, times: u32, now: Instant) {
    for _ in 0..times {
        let Admission::Allowed(permit) = breaker.admit(now) else {
            panic!("rejected while failing it");
        };
        breaker.on_result(permit, Outcome::Failure, now);
    }
}

#[test]
fn get_or_insert_creates_once_with_the_default_config() {
    let registry: Registry = Registry::new(BreakerConfig::default()).expect("valid");
    let ws = registry.get_or_insert("wss://stream.binance.com:9443");
    let same = registry.get_or_insert("wss://stream.binance.com:9443");
    let rest = registry.get_or_insert("api.binance.com");
    assert_eq!(registry.len(), 2);
    assert_eq!(
        registry.names(),
        ["api.binance.com", "wss://stream.binance.com:9443"]
    );
    // Clones are the same breaker.
    let t0 = t0();
    fail(&ws, 5, t0);
    assert_eq!(same.state(), State::Open);
    assert_eq!(rest.state(), State::Closed);
    assert!(registry.get("nope").is_none());
    assert_eq!(
        registry
            .get("wss://stream.binance.com:9443")
            .map(|b| b.state()),
        Some(State::Open)
    );
}

#[test]
fn insert_with_its_own_config_and_remove() {
    let registry: Registry = Registry::new(BreakerConfig::default()).expect("valid");
    let strict = registry
        .insert(
            "strict".to_owned(),
            BreakerConfig {
                consecutive_failures: Some(1),
                ..BreakerConfig::default()
            },
        )
        .expect("valid");
    fail(&strict, 1, t0());
    assert_eq!(strict.state(), State::Open);
    assert_eq!(registry.get_or_insert("strict").state(), State::Open);
    assert!(registry.remove("strict").is_some());
    assert!(registry.is_empty());
}

#[test]
fn snapshots_and_events_of_all_breakers_by_name() {
    let registry: Registry = Registry::new(BreakerConfig::default()).expect("valid");
    let t0 = t0();
    let b = registry.get_or_insert("b");
    let a = registry.get_or_insert("a");
    fail(&b, 5, t0);
    a.force_open(t0);
    a.reset(t0 + Duration::from_secs(1));

    let snapshots = registry.snapshots();
    let states: Vec<(&str, State)> = snapshots
        .iter()
        .map(|(name, s)| (name.as_str(), s.state))
        .collect();
    assert_eq!(states, [("a", State::Closed), ("b", State::Open)]);
    assert_eq!(snapshots[1].1.retry_at, Some(t0 + Duration::from_secs(30)));

    let events = registry.drain_events();
    let names: Vec<(&str, State)> = events
        .iter()
        .map(|(name, event)| (name.as_str(), event.state()))
        .collect();
    assert_eq!(
        names,
        [
            ("a", State::ForcedOpen),
            ("a", State::Closed),
            ("b", State::Open)
        ]
    );
    assert!(matches!(
        events[2].1,
        BreakerEvent::Opened {
            reason: OpenReason::ConsecutiveFailures { failures: 5 },
            ..
        }
    ));
    assert!(registry.drain_events().is_empty(), "drained");

    // The registry's timer is the earliest of its breakers'.
    assert_eq!(registry.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    registry.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn a_dropped_guard_gives_its_probe_back() {
    let breaker = SharedBreaker::new(BreakerConfig::default()).expect("valid");
    let t0 = t0();
    fail(&breaker, 5, t0);
    let half_open = t0 + Duration::from_secs(30);
    {
        let guard = breaker.admit_guard(half_open).expect("probe");
        assert_eq!(guard.kind(), Some(PermitKind::Probe));
        let err = breaker.admit_guard(half_open).expect_err("one probe");
        assert_eq!(
            err,
            Error::CircuitOpen {
                retry_at: half_open + Duration::from_secs(30)
            }
        );
        assert!(err.is_retryable());
        // The caller bails out (`?`, a panic): the guard is dropped.
    }
    assert_eq!(breaker.snapshot().probes_in_flight, 0);
    assert_eq!(breaker.snapshot().totals.cancelled, 1);
    let guard = breaker.admit_guard(half_open).expect("the slot is free");
    guard.finish(Outcome::Success, half_open);
    assert_eq!(breaker.state(), State::Closed);
}

/// Real threads hammer a half-open breaker: no more than
/// `half_open_probes` calls are ever inside at once, and every slot is back
/// at the end.
#[test]
fn probe_limit_holds_across_threads() {
    const PROBES: u32 = 3;
    let config = BreakerConfig {
        half_open_probes: PROBES,
        // Never close, so the breaker stays half-open for the whole test.
        half_open_successes: u32::MAX,
        probe_timeout: Duration::from_secs(3_600),
        ..BreakerConfig::default()
    };
    let breaker = SharedBreaker::new(config).expect("valid");
    let t0 = t0();
    fail(&breaker, 5, t0);
    let now = t0 + Duration::from_secs(30);
    breaker.handle_timeout(now);
    assert_eq!(breaker.state(), State::HalfOpen);

    let inside = Arc::new(AtomicU32::new(0));
    let most = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let (breaker, inside, most) = (breaker.clone(), inside.clone(), most.clone());
            std::thread::spawn(move || {
                let mut admitted = 0_u32;
                for i in 0..5_000_u32 {
                    let Admission::Allowed(permit) = breaker.admit(now) else {
                        continue;
                    };
                    admitted += 1;
                    let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::yield_now();
                    inside.fetch_sub(1, Ordering::SeqCst);
                    match (thread + i) % 3 {
                        0 => breaker.on_cancel(permit),
                        1 => breaker.on_result(permit, Outcome::Ignored, now),
                        _ => breaker.on_result(permit, Outcome::Success, now),
                    }
                }
                admitted
            })
        })
        .collect();
    let admitted: u32 = threads.into_iter().map(|t| t.join().expect("thread")).sum();
    let most = most.load(Ordering::SeqCst);
    assert!(most <= PROBES, "{most} probes at once");
    assert!(admitted > 0);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(snapshot.probes_in_flight, 0);
}
