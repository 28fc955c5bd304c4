//! Property tests on a fake clock. Each case takes a `seed` for the jitter
//! RNG; proptest prints the failing input, seed included, so a failure can
//! be replayed with `Reconnector::new(config, ChaCha8Rng::seed_from_u64(seed))`.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use reconnect::{Cause, Decision, ReconnectConfig, Reconnector};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

const NOMINAL_SECS: [u64; 6] = [1, 2, 4, 8, 16, 30];

fn machine(config: ReconnectConfig, seed: u64) -> Reconnector<ChaCha8Rng> {
    Reconnector::new(config, ChaCha8Rng::seed_from_u64(seed)).expect("valid config")
}

fn within(delay: Duration, nominal: Duration, jitter: f64) -> bool {
    delay >= nominal.mul_f64(1.0 - jitter) && delay <= nominal.mul_f64(1.0 + jitter)
}

fn transient_cause() -> impl Strategy<Value = Cause> {
    prop_oneof![
        Just(Cause::Reset),
        Just(Cause::Refused),
        Just(Cause::Dns),
        Just(Cause::Tls),
        Just(Cause::Timeout),
        Just(Cause::Silence),
        Just(Cause::Protocol),
        Just(Cause::FrameTooBig),
        (1000u16..1008).prop_map(|code| Cause::Closed {
            code,
            reason: String::new()
        }),
        (500u16..600)
            .prop_filter("503 is rate-limited", |s| *s != 503)
            .prop_map(|status| Cause::HandshakeRejected {
                status,
                retry_after: None
            }),
    ]
}

fn any_cause() -> impl Strategy<Value = Cause> {
    prop_oneof![
        4 => transient_cause(),
        1 => (prop_oneof![Just(429u16), Just(418), Just(403), Just(503)],
              proptest::option::of(0u64..400_000))
            .prop_map(|(status, after)| Cause::HandshakeRejected {
                status,
                retry_after: after.map(Duration::from_secs),
            }),
        1 => Just(Cause::Closed { code: 1008, reason: "Too many requests".into() }),
        1 => prop_oneof![Just(Cause::ServerShutdown), Just(Cause::Rotation)],
    ]
}

/// What the simulated connection does next.
#[derive(Debug, Clone)]
enum Op {
    /// The next attempt fails with this cause.
    Fail(Cause),
    /// The next attempt opens a connection that lives this many ms, then
    /// ends with this cause; timers are handled on the way when `tick`.
    Live { ms: u64, cause: Cause, tick: bool },
}

fn op(cause: BoxedStrategy<Cause>) -> impl Strategy<Value = Op> {
    prop_oneof![
        cause.clone().prop_map(Op::Fail),
        (0u64..200_000, cause, any::<bool>()).prop_map(|(ms, cause, tick)| Op::Live {
            ms,
            cause,
            tick
        }),
    ]
}

/// Runs `ops` against `machine`, always starting the next attempt at the
/// decided instant, and returns every decision with the connection lifetime
/// (if any) that preceded it. Stops at an abandon.
fn simulate(
    machine: &mut Reconnector<ChaCha8Rng>,
    ops: &[Op],
) -> Vec<(Option<Duration>, Decision)> {
    let mut now = t0();
    let mut out = Vec::new();
    for op in ops {
        let (lived, cause) = match op {
            Op::Fail(cause) => (None, cause.clone()),
            Op::Live { ms, cause, tick } => {
                machine.on_connected(now);
                let end = now + Duration::from_millis(*ms);
                if *tick && let Some(deadline) = machine.poll_timeout().filter(|d| *d <= end) {
                    machine.handle_timeout(deadline);
                }
                now = end;
                (Some(Duration::from_millis(*ms)), cause.clone())
            }
        };
        let decision = machine.on_disconnect(cause, now);
        let Some(at) = decision.at() else {
            out.push((lived, decision));
            break;
        };
        out.push((lived, decision));
        now = at;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The first six delays of an outage fall in [0.9, 1.1] × {1, 2, 4, 8, 16, 30} s,
    /// whatever transient causes and short-lived connections make it up.
    #[test]
    fn first_six_delays_follow_the_contract(
        seed in any::<u64>(),
        ops in proptest::collection::vec(
            prop_oneof![
                transient_cause().prop_map(Op::Fail),
                (0u64..59_999, transient_cause(), any::<bool>())
                    .prop_map(|(ms, cause, tick)| Op::Live { ms, cause, tick }),
            ],
            6,
        ),
    ) {
        let mut machine = machine(ReconnectConfig::default(), seed);
        let decisions = simulate(&mut machine, &ops);
        prop_assert_eq!(decisions.len(), 6);
        for (i, (_, decision)) in decisions.iter().enumerate() {
            let Decision::Reconnect { delay, .. } = decision else {
                return Err(TestCaseError::fail(format!("seed {seed}: {decision:?}")));
            };
            let nominal = Duration::from_secs(NOMINAL_SECS[i]);
            prop_assert!(
                within(*delay, nominal, 0.1),
                "seed {}: delay {} = {:?}, nominal {:?}", seed, i, delay, nominal
            );
        }
    }

    /// No `Reconnect` delay ever exceeds `max_delay` (30 s by default), for any
    /// valid schedule and any sequence of causes; a `Backoff` never exceeds
    /// the rate-limit cap or the (clamped, jittered) `Retry-After`.
    #[test]
    fn no_delay_exceeds_its_cap(
        seed in any::<u64>(),
        initial_ms in 1u64..5_000,
        multiplier in 1.0f64..4.0,
        extra_max_ms in 0u64..60_000,
        jitter in 0.0f64..=0.5,
        ops in proptest::collection::vec(op(any_cause().boxed()), 1..60),
    ) {
        let config = ReconnectConfig {
            initial_delay: Duration::from_millis(initial_ms),
            multiplier,
            max_delay: Duration::from_millis(initial_ms + extra_max_ms),
            jitter,
            ..ReconnectConfig::default()
        };
        let mut machine = machine(config.clone(), seed);
        for (i, (_, decision)) in simulate(&mut machine, &ops).iter().enumerate() {
            match decision {
                Decision::Reconnect { delay, .. } => prop_assert!(
                    *delay <= config.max_delay,
                    "seed {}: decision {}: {:?} above {:?}", seed, i, delay, config.max_delay
                ),
                Decision::Backoff { delay, .. } => {
                    let retry_after_cap = config.max_retry_after.mul_f64(1.0 + jitter);
                    prop_assert!(
                        *delay <= config.rate_limit_max_delay.max(retry_after_cap),
                        "seed {}: decision {}: {:?}", seed, i, delay
                    );
                    prop_assert!(*delay >= config.rate_limit_delay.mul_f64(1.0 - jitter));
                }
                Decision::Abandon(reason) => {
                    return Err(TestCaseError::fail(format!("seed {seed}: abandoned: {reason}")));
                }
            }
        }
    }

    /// With the default schedule, no delay of any kind exceeds 30 s when no
    /// rate-limit cause occurs.
    #[test]
    fn default_schedule_never_exceeds_30s(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(transient_cause().boxed()), 1..80),
    ) {
        let mut machine = machine(ReconnectConfig::default(), seed);
        for (_, decision) in simulate(&mut machine, &ops) {
            let delay = decision.delay().expect("transient causes never abandon");
            prop_assert!(delay <= Duration::from_secs(30), "seed {}: {:?}", seed, delay);
        }
    }

    /// The schedule resets only after a connection stayed open for
    /// `healthy_after`: a model counts failures since the last healthy
    /// connection, and every delay must match the model's nominal value.
    #[test]
    fn resets_only_after_a_healthy_period(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(transient_cause().boxed()), 1..80),
    ) {
        let config = ReconnectConfig::default();
        let mut machine = machine(config.clone(), seed);
        let mut climbed = 0usize;
        for (i, (lived, decision)) in simulate(&mut machine, &ops).iter().enumerate() {
            if lived.is_some_and(|lived| lived >= config.healthy_after) {
                climbed = 0;
            }
            let nominal = Duration::from_secs(NOMINAL_SECS[climbed.min(5)]);
            let delay = decision.delay().expect("transient causes never abandon");
            prop_assert!(
                within(delay, nominal, config.jitter),
                "seed {}: decision {} after {:?}: {:?}, nominal {:?}", seed, i, lived, delay, nominal
            );
            climbed += 1;
        }
    }

    /// A seed replays exactly: same inputs, same decisions.
    #[test]
    fn a_seed_replays_exactly(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(any_cause().boxed()), 1..40),
    ) {
        let delays = |machine: &mut Reconnector<ChaCha8Rng>| -> Vec<Option<Duration>> {
            simulate(machine, &ops).iter().map(|(_, d)| d.delay()).collect()
        };
        let first = delays(&mut machine(ReconnectConfig::default(), seed));
        let second = delays(&mut machine(ReconnectConfig::default(), seed));
        prop_assert_eq!(first, second);
    }
}

/// Jitter is actually spread: across seeds the first delay takes many values
/// covering most of [0.9, 1.1] s, not a constant.
#[test]
fn jitter_spreads_delays() {
    let start = t0();
    let delays: Vec<Duration> = (0..2_000)
        .map(|seed| {
            machine(ReconnectConfig::default(), seed)
                .on_disconnect(Cause::Reset, start)
                .delay()
                .expect("reconnect")
        })
        .collect();
    let min = delays.iter().min().copied().expect("some");
    let max = delays.iter().max().copied().expect("some");
    assert!(min < Duration::from_millis(905), "{min:?}");
    assert!(max > Duration::from_millis(1_095), "{max:?}");
}
