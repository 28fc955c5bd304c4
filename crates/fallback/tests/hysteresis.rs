//! Property tests of the selection policy's hysteresis on a fake clock.
//! proptest prints the failing input (the whole schedule), so a failure
//! replays exactly.

use std::time::{Duration, Instant};

use fallback::{BreakerState, EndpointConfig, EndpointSet, FailoverCause, SelectReason};
use proptest::prelude::*;

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Success(u64),
    Failure,
    Silence,
    BreakerOpen(Option<u64>),
    BreakerClosed,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..4_000).prop_map(Op::Success),
        4 => Just(Op::Failure),
        1 => Just(Op::Silence),
        1 => proptest::option::of(0u64..90_000).prop_map(Op::BreakerOpen),
        1 => Just(Op::BreakerClosed),
    ]
}

fn config() -> impl Strategy<Value = EndpointConfig> {
    (1u64..120, 1u64..300, 0.05f64..1.0).prop_map(|(dwell, failback, alpha)| EndpointConfig {
        min_dwell: Duration::from_secs(dwell),
        failback_after: Duration::from_secs(failback),
        ewma_weight: alpha,
        ..EndpointConfig::default()
    })
}

/// Applies `op` to endpoint `e` at `now`.
fn apply(set: &mut EndpointSet<u8>, e: u8, op: Op, now: Instant) {
    let result = match op {
        Op::Success(ms) => set.on_success(&e, Duration::from_millis(ms), now),
        Op::Failure => set.on_failure(&e, now),
        Op::Silence => set.on_silence(&e, now),
        Op::BreakerOpen(retry) => {
            let retry_at = retry.map(|ms| now + Duration::from_millis(ms));
            set.on_breaker(&e, BreakerState::Open { retry_at }, now)
        }
        Op::BreakerClosed => set.on_breaker(&e, BreakerState::Closed, now),
    };
    result.expect("known endpoint");
}

/// Switch instants and reasons, the initial choice first.
fn switches_of(
    set: &mut EndpointSet<u8>,
    schedule: &[(u64, u8, Op)],
    t0: Instant,
) -> Vec<(Instant, SelectReason)> {
    let mut switches = Vec::new();
    let mut now = t0;
    if let Some(first) = set.select(now) {
        switches.push((now, first.reason));
    }
    for &(dt, e, op) in schedule {
        now += Duration::from_millis(dt);
        apply(set, e, op, now);
        // A driver selects at reconnects and at deadlines; here, after
        // every report and at every deadline passed on the way.
        while let Some(deadline) = set.poll_timeout().filter(|d| *d <= now) {
            set.handle_timeout(deadline);
            let _ = set.select(deadline);
            let _ = set.poll_probe(deadline);
            if set.poll_timeout() == Some(deadline) {
                break;
            }
        }
        if let Some(selection) = set.select(now)
            && (selection.reason.is_switch() || selection.reason == SelectReason::Initial)
        {
            switches.push((now, selection.reason));
        }
    }
    switches
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever happens, two switches are at least `min_dwell` apart,
    /// except a switch away from a down endpoint.
    #[test]
    fn only_a_down_endpoint_is_left_within_the_dwell(
        config in config(),
        schedule in proptest::collection::vec((0u64..20_000, 0u8..3, op()), 1..200),
    ) {
        let t0 = t0();
        let dwell = config.min_dwell;
        let mut set = EndpointSet::new(vec![0u8, 1, 2], config).expect("valid");
        let switches = switches_of(&mut set, &schedule, t0);
        for pair in switches.windows(2) {
            let (before, _) = pair[0];
            let (after, reason) = pair[1];
            let forced = matches!(reason, SelectReason::Failover { cause: FailoverCause::Down, .. });
            prop_assert!(
                forced || after.duration_since(before) >= dwell,
                "switch {reason:?} {:?} after the previous one (dwell {dwell:?})",
                after.duration_since(before)
            );
        }
    }

    /// One flapping endpoint (runs of up to four failures between
    /// successes, silences mixed in) among steady ones never causes more
    /// than one switch per `min_dwell`.
    #[test]
    fn a_flapping_endpoint_causes_at_most_one_switch_per_dwell(
        config in config(),
        flapper in 0u8..3,
        runs in proptest::collection::vec((1usize..=4, 1usize..=4, 0usize..2, 0u64..15_000), 1..80),
    ) {
        let t0 = t0();
        let dwell = config.min_dwell;
        let mut set = EndpointSet::new(vec![0u8, 1, 2], config).expect("valid");
        let mut schedule = Vec::new();
        for (failures, successes, silences, dt) in runs {
            for _ in 0..failures {
                schedule.push((dt, flapper, Op::Failure));
            }
            for _ in 0..silences {
                schedule.push((dt, flapper, Op::Silence));
            }
            for _ in 0..successes {
                schedule.push((dt, flapper, Op::Success(100)));
                // The steady endpoints keep succeeding.
                let steady = (flapper + 1) % 3;
                schedule.push((0, steady, Op::Success(100)));
            }
        }
        let switches = switches_of(&mut set, &schedule, t0);
        for pair in switches.windows(2) {
            let gap = pair[1].0.duration_since(pair[0].0);
            prop_assert!(gap >= dwell, "{:?} after {gap:?} (dwell {dwell:?})", pair[1].1);
        }
    }

    /// Scores stay in [0, 1] and health agrees with the score.
    #[test]
    fn scores_stay_in_range(
        schedule in proptest::collection::vec((0u64..20_000, 0u8..3, op()), 1..200),
    ) {
        let t0 = t0();
        let config = EndpointConfig::default();
        let healthy = config.healthy_score;
        let mut set = EndpointSet::new(vec![0u8, 1, 2], config).expect("valid");
        let mut now = t0;
        for (dt, e, op) in schedule {
            now += Duration::from_millis(dt);
            apply(&mut set, e, op, now);
            for endpoint in 0u8..3 {
                let score = set.score(&endpoint).expect("known");
                prop_assert!((0.0..=1.0).contains(&score), "{score}");
                let health = set.health(&endpoint, now).expect("known");
                if health.is_usable() {
                    prop_assert_eq!(score >= healthy, health == fallback::EndpointHealth::Healthy);
                }
            }
        }
    }
}
