//! The delay schedule: nominal delays from `backoff`'s `ExponentialBackoff`,
//! jitter from the injected RNG.
//!
//! `backoff` stays behind this module: no public signature names it, so it
//! can be swapped (it is unmaintained, RUSTSEC-2025-0012; see
//! `docs/decisions/0002-reconnect-backoff.md`). Two of its habits are
//! neutralised here:
//! - its clock: `ExponentialBackoffBuilder::build()` and `Default` call
//!   `Instant::now()`, so the struct is built from its public fields, and its
//!   `Clock` is [`Frozen`], set to the injected `now` before every call;
//!   `max_elapsed_time` is `None`, so time never changes its answer;
//! - its RNG: `next_backoff` always draws from `rand` 0.8's thread RNG, so
//!   `randomization_factor` is 0, which leaves that draw less than 1 ns of
//!   influence, removed by truncating to whole microseconds; jitter is ours.

use std::time::{Duration, Instant};

use backoff::backoff::Backoff as _;
use backoff::exponential::ExponentialBackoff;
use rand::{Rng as _, RngCore};

use crate::ReconnectConfig;

/// A `backoff` clock that answers with the time it was last told.
#[derive(Debug, Clone, Copy)]
struct Frozen(Instant);

impl backoff::Clock for Frozen {
    fn now(&self) -> Instant {
        self.0
    }
}

/// The ordinary schedule's state: where in 1 s, 2 s, 4 s … the next delay is.
#[derive(Debug)]
pub(crate) struct Schedule {
    /// `None` until the first delay of an outage, and again after a reset.
    inner: Option<ExponentialBackoff<Frozen>>,
    initial: Duration,
    multiplier: f64,
    max: Duration,
}

impl Schedule {
    pub(crate) fn new(config: &ReconnectConfig) -> Self {
        Self {
            inner: None,
            initial: config.initial_delay,
            multiplier: config.multiplier,
            max: config.max_delay,
        }
    }

    /// The next nominal (un-jittered) delay, advancing the schedule.
    pub(crate) fn next_nominal(&mut self, now: Instant) -> Duration {
        let max = self.max;
        let backoff = self.inner.get_or_insert(ExponentialBackoff {
            current_interval: self.initial,
            initial_interval: self.initial,
            randomization_factor: 0.0,
            multiplier: self.multiplier,
            max_interval: max,
            start_time: now,
            max_elapsed_time: None,
            clock: Frozen(now),
        });
        backoff.clock = Frozen(now);
        // With `max_elapsed_time: None`, `next_backoff` always answers; the
        // fallback is the cap, never a shorter delay.
        let nominal = backoff.next_backoff().unwrap_or(max);
        truncate_to_micros(nominal).min(max)
    }

    /// Back to `initial_delay` for the next outage.
    pub(crate) fn reset(&mut self) {
        self.inner = None;
    }
}

fn truncate_to_micros(d: Duration) -> Duration {
    Duration::new(d.as_secs(), d.subsec_micros() * 1_000)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A uniform draw from `[nominal × (1 − jitter), min(nominal × (1 + jitter), cap)]`.
///
/// Drawing inside the capped range, rather than clamping a draw from the full
/// range, keeps delays at the cap spread out instead of piling half of them
/// on exactly `cap`.
pub(crate) fn jittered<R: RngCore>(
    rng: &mut R,
    nominal: Duration,
    jitter: f64,
    cap: Duration,
) -> Duration {
    // Every duration here is at most a year (validated), about 3.2e16 ns:
    // f64 holds it to within a few ns and the casts cannot saturate.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "durations are bounded by MAX_DURATION; see the comment above"
    )]
    let (lo, hi) = {
        let n = nanos(nominal) as f64;
        let lo = (n * (1.0 - jitter)).ceil() as u64;
        let hi = (n * (1.0 + jitter)).floor() as u64;
        (lo, hi.min(nanos(cap)))
    };
    let lo = lo.min(hi);
    Duration::from_nanos(rng.random_range(lo..=hi))
}

/// A uniform draw from `[floor, floor × (1 + jitter)]`: never earlier than
/// `floor` (a `Retry-After`), spread so clients told the same `Retry-After`
/// do not return in the same instant.
pub(crate) fn jittered_up<R: RngCore>(rng: &mut R, floor: Duration, jitter: f64) -> Duration {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "durations are bounded by MAX_DURATION"
    )]
    let hi = (nanos(floor) as f64 * (1.0 + jitter)).floor() as u64;
    let lo = nanos(floor);
    Duration::from_nanos(rng.random_range(lo..=hi.max(lo)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use rand_chacha::ChaCha8Rng;

    #[allow(
        clippy::disallowed_methods,
        reason = "tests anchor fake time at one real instant"
    )]
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn nominal_schedule_is_the_contract() {
        let mut schedule = Schedule::new(&ReconnectConfig::default());
        let now = t0();
        let secs: Vec<u64> = (0..8)
            .map(|i| schedule.next_nominal(now + Duration::from_secs(i * 100)))
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        schedule.reset();
        assert_eq!(schedule.next_nominal(now), Duration::from_secs(1));
    }

    #[test]
    fn nominal_is_exact_despite_backoffs_own_rng() {
        let config = ReconnectConfig {
            initial_delay: Duration::from_millis(1_500),
            multiplier: 1.5,
            max_delay: Duration::from_secs(20),
            ..ReconnectConfig::default()
        };
        let now = t0();
        for _ in 0..100 {
            let mut schedule = Schedule::new(&config);
            let got: Vec<Duration> = (0..4).map(|_| schedule.next_nominal(now)).collect();
            let want = [1_500_000, 2_250_000, 3_375_000, 5_062_500].map(Duration::from_micros);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn jitter_stays_in_range_and_under_cap() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let cap = Duration::from_secs(30);
        for _ in 0..10_000 {
            let d = jittered(&mut rng, Duration::from_secs(30), 0.1, cap);
            assert!(d >= Duration::from_secs(27) && d <= cap, "{d:?}");
            let d = jittered(&mut rng, Duration::from_secs(16), 0.1, cap);
            assert!(
                d >= Duration::from_millis(14_400) && d <= Duration::from_millis(17_600),
                "{d:?}"
            );
            let d = jittered_up(&mut rng, Duration::from_secs(60), 0.1);
            assert!(
                d >= Duration::from_secs(60) && d <= Duration::from_secs(66),
                "{d:?}"
            );
        }
        assert_eq!(
            jittered(&mut rng, Duration::from_secs(3), 0.0, cap),
            Duration::from_secs(3)
        );
    }
}
