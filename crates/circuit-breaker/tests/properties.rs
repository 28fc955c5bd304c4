//! Property tests on a fake clock: arbitrary interleavings of admissions,
//! results, cancellations, manual controls and time from many callers.
//! proptest prints the failing config and operations, so a failure replays.
//!
//! - The probe limit holds, and the breaker's count of probes in flight is
//!   exactly the number of probe permits issued in the current half-open
//!   period and not yet given back.
//! - An open breaker never admits before its `retry_at`, and rejects with
//!   that `retry_at`; once it has passed, the next caller is a probe.
//! - A rejection's `retry_at` is always in the future.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use circuit_breaker::{
    Admission, Breaker, BreakerConfig, BreakerEvent, FailureRate, Outcome, Permit, PermitKind,
    State, Window,
};
use proptest::prelude::*;

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

const CALLERS: usize = 8;

#[derive(Debug, Clone)]
enum Op {
    Admit(usize),
    Finish(usize, Outcome),
    Cancel(usize),
    Advance(u64),
    ForceOpen,
    Disable,
    Reset,
    Timeout,
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        4 => Just(Outcome::Success),
        4 => Just(Outcome::Failure),
        1 => Just(Outcome::Ignored),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let caller = 0..CALLERS;
    prop_oneof![
        30 => caller.clone().prop_map(Op::Admit),
        20 => (caller.clone(), outcome()).prop_map(|(c, o)| Op::Finish(c, o)),
        5 => caller.prop_map(Op::Cancel),
        15 => prop_oneof![0..1_000u64, 0..70_000u64].prop_map(Op::Advance),
        1 => Just(Op::ForceOpen),
        1 => Just(Op::Disable),
        1 => Just(Op::Reset),
        3 => Just(Op::Timeout),
    ]
}

fn config() -> impl Strategy<Value = BreakerConfig> {
    (
        1..6u32,
        1..5u32,
        1..5u32,
        prop_oneof![Just(1.0), Just(2.0), Just(1e300)],
        1..60u64,
        1..60u64,
        proptest::option::of(1..10_000u64),
        proptest::bool::ANY,
    )
        .prop_map(
            |(failures, probes, successes, multiplier, open, timeout, slow, with_rate)| {
                BreakerConfig {
                    consecutive_failures: Some(failures),
                    failure_rate: with_rate.then_some(FailureRate {
                        threshold: 0.5,
                        minimum_calls: 4,
                        window: Window::Calls(8),
                    }),
                    slow_call: slow.map(Duration::from_millis),
                    open_duration: Duration::from_secs(open),
                    open_multiplier: multiplier,
                    max_open_duration: Duration::from_secs(600),
                    half_open_probes: probes,
                    half_open_successes: successes,
                    probe_timeout: Duration::from_secs(timeout),
                }
            },
        )
}

/// A permit a caller holds, with the half-open period (generation) it was
/// issued in.
struct Held {
    permit: Permit,
    generation: u64,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn probe_limit_and_retry_at_hold(config in config(), ops in proptest::collection::vec(op(), 1..300)) {
        let limit = config.half_open_probes;
        let mut breaker = Breaker::new(config).expect("valid");
        let mut now = t0();
        let mut held: Vec<VecDeque<Held>> = (0..CALLERS).map(|_| VecDeque::new()).collect();
        // Bumped on every transition: permits from an older generation are late.
        let mut generation = 0_u64;
        for op in ops {
            let before = breaker.snapshot();
            let mut admitted = None;
            match op {
                Op::Admit(caller) => {
                    let admission = breaker.admit(now);
                    if before.state == State::Open {
                        let retry_at = before.retry_at.expect("open has a retry_at");
                        if now < retry_at {
                            prop_assert_eq!(&admission, &Admission::Rejected { retry_at });
                        } else {
                            prop_assert!(
                                matches!(&admission, Admission::Allowed(p) if p.kind() == PermitKind::Probe),
                                "the first caller after retry_at is a probe: {:?}", admission
                            );
                        }
                    }
                    if before.state == State::ForcedOpen {
                        prop_assert!(!admission.is_allowed());
                    }
                    match admission {
                        Admission::Allowed(permit) => admitted = Some((caller, permit)),
                        Admission::Rejected { retry_at } => {
                            prop_assert!(retry_at > now, "retry_at in the past");
                        }
                    }
                }
                Op::Finish(caller, outcome) => {
                    if let Some(h) = held[caller].pop_front() {
                        breaker.on_result(h.permit, outcome, now);
                    }
                }
                Op::Cancel(caller) => {
                    if let Some(h) = held[caller].pop_front() {
                        breaker.on_cancel(h.permit);
                    }
                }
                Op::Advance(ms) => now += Duration::from_millis(ms),
                Op::ForceOpen => breaker.force_open(now),
                Op::Disable => breaker.disable(),
                Op::Reset => breaker.reset(now),
                Op::Timeout => breaker.handle_timeout(now),
            }
            let events: Vec<BreakerEvent> = std::iter::from_fn(|| breaker.poll_event()).collect();
            generation += events.len() as u64;
            if let Some((caller, permit)) = admitted {
                held[caller].push_back(Held { permit, generation });
            }
            let after = breaker.snapshot();
            let current_probes = held
                .iter()
                .flatten()
                .filter(|h| h.generation == generation && h.permit.kind() == PermitKind::Probe)
                .count() as u32;
            prop_assert!(after.probes_in_flight <= limit, "{} probes > {}", after.probes_in_flight, limit);
            if after.state == State::HalfOpen {
                prop_assert_eq!(after.probes_in_flight, current_probes);
            } else {
                prop_assert_eq!(after.probes_in_flight, 0);
                prop_assert_eq!(current_probes, 0);
            }
            if after.state == State::Open {
                prop_assert!(after.retry_at.expect("open") > after.since.expect("open"));
            }
        }
    }

    /// However results and time interleave, an open breaker answers every
    /// caller before `retry_at` with that `retry_at` and admits none.
    #[test]
    fn never_admits_while_open_before_retry_at(
        failures in 1..10u32,
        open_secs in 1..120u64,
        probes in proptest::collection::vec(0..200_000u64, 1..50),
    ) {
        let config = BreakerConfig {
            consecutive_failures: Some(failures),
            open_duration: Duration::from_secs(open_secs),
            ..BreakerConfig::default()
        };
        let mut breaker = Breaker::new(config).expect("valid");
        let t0 = t0();
        for _ in 0..failures {
            let Admission::Allowed(permit) = breaker.admit(t0) else {
                return Err(TestCaseError::fail("closed rejects"));
            };
            breaker.on_result(permit, Outcome::Failure, t0);
        }
        let retry_at = t0 + Duration::from_secs(open_secs);
        let mut sorted = probes;
        sorted.sort_unstable();
        for offset in sorted {
            let now = t0 + Duration::from_millis(offset);
            match breaker.admit(now) {
                Admission::Rejected { retry_at: r } if now < retry_at => prop_assert_eq!(r, retry_at),
                Admission::Allowed(permit) => {
                    prop_assert!(now >= retry_at, "admitted {:?} early", retry_at - now);
                    // The probe never answers; cancel it so the next caller
                    // past retry_at is admitted too.
                    breaker.on_cancel(permit);
                }
                Admission::Rejected { .. } => prop_assert!(false, "rejected at or after retry_at"),
            }
        }
    }
}
