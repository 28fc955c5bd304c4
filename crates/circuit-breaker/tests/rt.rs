//! The tokio adapter on paused time: 30 s open periods in microseconds.
#![cfg(feature = "tokio")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use circuit_breaker::rt::{self, CallError};
use circuit_breaker::{BreakerConfig, BreakerEvent, Outcome, SharedBreaker, State};

fn breaker(config: BreakerConfig) -> SharedBreaker {
    SharedBreaker::new(config).expect("valid")
}

async fn failing() -> Result<(), &'static str> {
    Err("refused")
}

async fn trip(breaker: &SharedBreaker) {
    for _ in 0..5 {
        let result = breaker.call(failing()).await;
        assert!(matches!(result, Err(CallError::Inner("refused"))));
    }
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn open_rejects_without_running_the_call_then_half_opens_after_30s() {
    let breaker = breaker(BreakerConfig::default());
    assert_eq!(breaker.call(async { Ok::<_, ()>(7) }).await.ok(), Some(7));
    let opened = rt::now();
    trip(&breaker).await;

    let ran = AtomicBool::new(false);
    let result = breaker
        .call(async {
            ran.store(true, Ordering::SeqCst);
            Ok::<_, &str>(())
        })
        .await;
    let retry_at = opened + Duration::from_secs(30);
    assert!(matches!(result, Err(CallError::Open { retry_at: r }) if r == retry_at));
    assert!(!ran.load(Ordering::SeqCst), "the protected call never runs");
    let err = result.expect_err("open");
    assert!(err.is_open());
    assert_eq!(err.retry_at(), Some(retry_at));
    assert!(err.to_string().starts_with("circuit open"));

    tokio::time::sleep_until(tokio::time::Instant::from_std(retry_at)).await;
    let probe = breaker.call(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<_, ()>("pong")
    });
    assert_eq!(probe.await.ok(), Some("pong"));
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_gives_its_probe_back() {
    let breaker = breaker(BreakerConfig::default());
    trip(&breaker).await;
    tokio::time::advance(Duration::from_secs(30)).await;

    // The probe hangs; the caller gives up after 1 s and drops the call.
    let hung = breaker.call(std::future::pending::<Result<(), ()>>());
    let timed_out = tokio::time::timeout(Duration::from_secs(1), hung).await;
    assert!(timed_out.is_err());
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(snapshot.probes_in_flight, 0, "the slot came back");
    assert_eq!(snapshot.totals.cancelled, 1);

    // So the next caller may probe at once, and its success closes.
    assert!(breaker.call(async { Ok::<_, ()>(()) }).await.is_ok());
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn an_unpolled_call_holds_nothing() {
    let breaker = breaker(BreakerConfig::default());
    trip(&breaker).await;
    tokio::time::advance(Duration::from_secs(30)).await;
    let never_polled = breaker.call(async { Ok::<_, ()>(()) });
    drop(never_polled);
    assert_eq!(breaker.snapshot().totals.admitted, 5);
    assert!(breaker.call(async { Ok::<_, ()>(()) }).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_get_at_most_the_probe_limit() {
    let breaker = breaker(BreakerConfig {
        half_open_probes: 2,
        half_open_successes: 2,
        ..BreakerConfig::default()
    });
    trip(&breaker).await;
    tokio::time::advance(Duration::from_secs(30)).await;
    let ran = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (breaker, ran) = (breaker.clone(), ran.clone());
            tokio::spawn(async move {
                breaker
                    .call(async {
                        ran.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        Ok::<_, ()>(())
                    })
                    .await
            })
        })
        .collect();
    let mut rejected = 0;
    for task in tasks {
        if let Err(err) = task.await.expect("task") {
            assert!(err.is_open());
            rejected += 1;
        }
    }
    assert_eq!(ran.load(Ordering::SeqCst), 2);
    assert_eq!(rejected, 8);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn slow_successes_are_failures() {
    let breaker = breaker(BreakerConfig {
        slow_call: Some(Duration::from_secs(5)),
        ..BreakerConfig::default()
    });
    for _ in 0..5 {
        let slow = breaker.call(async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, ()>(())
        });
        assert!(slow.await.is_ok(), "the caller still gets its value");
    }
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Open);
    assert_eq!(snapshot.totals.slow_calls, 5);
}

#[tokio::test(start_paused = true)]
async fn the_classifier_decides_which_errors_count() {
    #[derive(Debug, PartialEq)]
    enum ApiError {
        BadRequest,
        Unavailable,
    }
    let classify = |e: &ApiError| match e {
        ApiError::BadRequest => Outcome::Ignored,
        ApiError::Unavailable => Outcome::Failure,
    };
    let breaker = breaker(BreakerConfig::default());
    for _ in 0..20 {
        let result = breaker
            .call_classified(async { Err::<(), _>(ApiError::BadRequest) }, classify)
            .await;
        assert_eq!(
            result.expect_err("err").into_inner(),
            Some(ApiError::BadRequest)
        );
    }
    assert_eq!(breaker.state(), State::Closed);
    for _ in 0..5 {
        let _ = breaker
            .call_classified(async { Err::<(), _>(ApiError::Unavailable) }, classify)
            .await;
    }
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn timer_turns_deadlines_into_events_on_time() {
    let breaker = breaker(BreakerConfig::default());
    trip(&breaker).await;
    let opened = rt::now();
    assert!(matches!(
        breaker.poll_event(),
        Some(BreakerEvent::Opened { .. })
    ));
    breaker.timer().await;
    assert_eq!(rt::now() - opened, Duration::from_secs(30));
    assert_eq!(
        breaker.poll_event(),
        Some(BreakerEvent::HalfOpened {
            at: opened + Duration::from_secs(30)
        })
    );
    // Half-open with no probe out: no deadline, the timer never completes.
    let pending = tokio::time::timeout(Duration::from_secs(3_600), breaker.timer()).await;
    assert!(pending.is_err());
}

#[tokio::test(start_paused = true)]
async fn rt_now_follows_paused_time() {
    let before = rt::now();
    tokio::time::advance(Duration::from_secs(90)).await;
    assert_eq!(rt::now() - before, Duration::from_secs(90));
}
