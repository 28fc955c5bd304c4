//! Properties that must hold for every input: classification never panics,
//! a retry is never scheduled before `retry_after`, and no window of the
//! restart intensity ever holds more restarts than allowed.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use recovery::{
    Action, ErrorClass, Failure, IntensityDecision, MAX_EXCERPT, MAX_RETRY_AFTER, Recovery,
    RecoveryConfig, RestartIntensity, classify_http, parse_http,
};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

fn header_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"Retry-After".to_vec()),
        Just(b"retry-after".to_vec()),
        Just(b"X-MBX-USED-WEIGHT-1M".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..24),
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9]{1,30}".prop_map(String::into_bytes),
        "[0-9]{1,6}\\.[0-9]{0,12}".prop_map(String::into_bytes),
        "-?[0-9a-zA-Z ,:.+]{0,40}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        (any::<i64>(), ".{0,40}").prop_map(|(code, msg)| { serde_like(code, &msg).into_bytes() }),
        "[\\[\\]{}\",:0-9a-z -]{0,200}".prop_map(String::into_bytes),
    ]
}

/// A Binance-shaped body, by hand (no serde needed in tests).
fn serde_like(code: i64, msg: &str) -> String {
    let escaped: String = msg
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect();
    format!(r#"{{"code":{code},"msg":"{escaped}"}}"#)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn classify_http_never_panics(
        status in any::<u16>(),
        headers in proptest::collection::vec((header_name(), header_value()), 0..6),
        body in body(),
    ) {
        let failure = parse_http(status, headers.iter().map(|(n, v)| (n, v)), &body);
        let class = failure.classify();
        prop_assert_eq!(&class, &classify_http(status, headers.iter().map(|(n, v)| (n, v)), &body));
        if let Some(after) = class.retry_after {
            prop_assert!(after <= MAX_RETRY_AFTER);
        }
        let Failure::Http { body_excerpt, .. } = failure else {
            return Err(TestCaseError::fail("parse_http builds Failure::Http"));
        };
        // Each byte decodes to at most one replacement character (3 bytes).
        prop_assert!(body_excerpt.len() <= MAX_EXCERPT * 3);
        prop_assert!(!body_excerpt.chars().any(char::is_control));
        // Only a 418 (or a WS API ban message) bans.
        if class.banned {
            prop_assert_eq!(status, 418);
        }
        if (500..=599).contains(&status) {
            prop_assert!(class.outcome_unknown);
        }
    }

    #[test]
    fn a_retry_is_never_before_retry_after(
        failures in proptest::collection::vec(
            (0_usize..5, proptest::option::of(0_u64..1_000_000), 0_u64..100_000),
            1..20,
        ),
    ) {
        let mut recovery = Recovery::new(RecoveryConfig::default()).expect("valid");
        let mut now = t0();
        for (class, after_ms, gap_ms) in failures {
            now += Duration::from_millis(gap_ms);
            let failure = recovery::Classification::new(ErrorClass::ALL[class])
                .with_retry_after(after_ms.map(Duration::from_millis));
            let action = recovery.on_failure(&failure, now);
            if let (Some(at), Some(after)) = (action.at(), failure.retry_after) {
                prop_assert!(at >= now + after);
            }
            if let Action::Retry { at, .. } | Action::Wait { until: at, .. } = action {
                prop_assert!(at >= now);
                prop_assert_eq!(recovery.poll_timeout(), Some(at + Duration::from_secs(30)));
            }
        }
    }

    #[test]
    fn no_window_holds_more_than_max_restarts(
        max in 1_u32..8,
        window_ms in 1_u64..20_000,
        gaps in proptest::collection::vec(0_u64..5_000, 1..60),
    ) {
        let window = Duration::from_millis(window_ms);
        let mut intensity = RestartIntensity::new(max, window).expect("valid");
        let start = t0();
        let mut now = start;
        let mut granted: Vec<Instant> = Vec::new();
        for gap in gaps {
            now += Duration::from_millis(gap);
            match intensity.on_exit(now) {
                IntensityDecision::Restart { restarts_in_window } => {
                    granted.push(now);
                    let in_window = granted
                        .iter()
                        .filter(|at| now.duration_since(**at) < window)
                        .count();
                    prop_assert_eq!(in_window, restarts_in_window as usize);
                    prop_assert!(restarts_in_window <= max);
                }
                IntensityDecision::Escalate { restarts, .. } => {
                    let in_window = granted
                        .iter()
                        .filter(|at| now.duration_since(**at) < window)
                        .count();
                    prop_assert_eq!(restarts, max);
                    prop_assert_eq!(in_window, max as usize);
                }
            }
        }
    }
}
