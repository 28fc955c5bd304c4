//! Outbound pacing: at most N frames in any rolling window, on governor's GCRA.
//!
//! Why burst 1: a GCRA with burst `b` and emission interval `T` admits up to
//! `b + ceil(W / T) - 1` cells in a window of length `W`. Binance-style limits
//! are "N per rolling window", so with the natural `T = W / N` any burst above
//! one lets `N + b - 1` frames into some window (governor's `per_second(4)`
//! admits 4 at once and a fifth 250 ms later: five in one second). With burst 1
//! and `T = ceil(W / N)`, frames are at least `T` apart, so any `N + 1`
//! consecutive frames span at least `N * T >= W`: no half-open window of length
//! `W` holds more than N. The price is that N frames take `(N - 1) * T` instead
//! of leaving at once; the sustained rate is still the full N per W.

use std::ops::Add;
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::config::Pacing;

/// A point on tokio's clock, so that paused-time tests drive the pacer too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TokioInstant(pub(crate) tokio::time::Instant);

impl Add<Nanos> for TokioInstant {
    type Output = Self;

    fn add(self, rhs: Nanos) -> Self {
        Self(self.0 + Duration::from_nanos(rhs.as_u64()))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        self.0
            .checked_sub(Duration::from_nanos(duration.as_u64()))
            .map_or(*self, Self)
    }
}

/// governor clock reading `tokio::time::Instant::now()`, which follows `tokio::time::pause`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TokioClock;

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(tokio::time::Instant::now())
    }
}

/// Admits frames no closer than `pacing.spacing()` apart.
pub(crate) struct Pacer<C: Clock = TokioClock> {
    limiter: RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>,
}

impl<C: Clock> Pacer<C> {
    pub(crate) fn new(pacing: Pacing, clock: C) -> Self {
        // `spacing()` is at least 1 ns for a validated config; governor refuses a zero period.
        let period = pacing.spacing().max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MIN));
        Self {
            limiter: RateLimiter::direct_with_clock(quota, clock),
        }
    }

    /// Takes one cell now, or says when the next one is free.
    pub(crate) fn try_acquire(&self) -> Result<(), C::Instant> {
        self.limiter
            .check()
            .map_err(|not_until| not_until.earliest_possible())
    }
}

impl std::fmt::Debug for Pacer<TokioClock> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use proptest::prelude::*;

    use super::*;

    /// A clock that only moves when the test says so, in nanoseconds.
    #[derive(Clone, Default)]
    struct ManualClock(Arc<AtomicU64>);

    impl ManualClock {
        fn set(&self, nanos: u64) {
            self.0.store(nanos, Ordering::SeqCst);
        }
    }

    impl Clock for ManualClock {
        type Instant = Duration;

        fn now(&self) -> Duration {
            Duration::from_nanos(self.0.load(Ordering::SeqCst))
        }
    }

    /// Offers a frame at each given time, as a driver would: if refused, the frame is
    /// retried at the earliest time the pacer named (or at the next offer, if sooner
    /// offers keep coming). Returns the admission times.
    fn run(pacing: Pacing, offers: &[u64]) -> Vec<u64> {
        let clock = ManualClock::default();
        let pacer = Pacer::new(pacing, clock.clone());
        let mut admitted = Vec::new();
        let mut pending = 0usize;
        let mut times: Vec<u64> = offers.to_vec();
        times.sort_unstable();
        let mut next_retry: Option<u64> = None;
        let mut offers = times.into_iter().peekable();
        loop {
            // The next moment anything happens: an offer or the retry the pacer asked for.
            let now = match (offers.peek().copied(), next_retry) {
                (Some(o), Some(r)) => o.min(r),
                (Some(o), None) => o,
                (None, Some(r)) => r,
                (None, None) => break,
            };
            while offers.peek() == Some(&now) {
                offers.next();
                pending += 1;
            }
            clock.set(now);
            next_retry = None;
            while pending > 0 {
                match pacer.try_acquire() {
                    Ok(()) => {
                        admitted.push(now);
                        pending -= 1;
                    }
                    Err(at) => {
                        let at = u64::try_from(at.as_nanos()).unwrap();
                        assert!(at > now, "pacer refused but named a time not in the future");
                        next_retry = Some(at);
                        break;
                    }
                }
            }
        }
        assert_eq!(pending, 0, "every offered frame is eventually admitted");
        admitted
    }

    /// The rolling-window invariant: any N + 1 consecutive frames span at least the window.
    fn assert_window(pacing: Pacing, admitted: &[u64]) {
        let n = usize::try_from(pacing.max_frames).unwrap();
        let window = u64::try_from(pacing.window.as_nanos()).unwrap();
        for pair in admitted.windows(n + 1) {
            let span = pair[n] - pair[0];
            assert!(
                span >= window,
                "{} frames within {span} ns < {window} ns: {admitted:?}",
                n + 1
            );
        }
    }

    #[test]
    fn burst_of_fifty_leaves_at_the_pace() {
        let pacing = Pacing::default();
        let admitted = run(pacing, &[0; 50]);
        assert_eq!(admitted.len(), 50);
        assert_window(pacing, &admitted);
        // Full throughput: frame k leaves at exactly k * 250 ms.
        for (k, at) in admitted.iter().enumerate() {
            assert_eq!(*at, u64::try_from(k).unwrap() * 250_000_000);
        }
    }

    #[test]
    fn governor_default_burst_would_break_the_window() {
        // Evidence for burst 1: governor's own per-second quota admits 4 at once, then a
        // fifth after 250 ms, i.e. five frames in one rolling second.
        let clock = ManualClock::default();
        let limiter = RateLimiter::direct_with_clock(
            Quota::per_second(std::num::NonZeroU32::new(4).unwrap()),
            clock.clone(),
        );
        let mut admitted = 0;
        for now in [0, 0, 0, 0, 250_000_000] {
            clock.set(now);
            admitted += usize::from(limiter.check().is_ok());
        }
        assert_eq!(admitted, 5);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_more_than_n_in_any_window(
            max_frames in 1u32..8,
            window_ms in 1u64..2_000,
            offers in prop::collection::vec(0u64..10_000_000_000, 0..120),
        ) {
            let pacing = Pacing { max_frames, window: Duration::from_millis(window_ms) };
            let admitted = run(pacing, &offers);
            prop_assert_eq!(admitted.len(), offers.len());
            assert_window(pacing, &admitted);
            // Nothing waits longer than needed: a frame is admitted at its offer time, or
            // exactly one spacing after the previous frame.
            let spacing = u64::try_from(pacing.spacing().as_nanos()).unwrap();
            let mut sorted = offers.clone();
            sorted.sort_unstable();
            for (k, at) in admitted.iter().enumerate() {
                let offered = sorted[k];
                prop_assert!(*at >= offered);
                if *at > offered {
                    prop_assert_eq!(*at - admitted[k - 1], spacing);
                }
            }
        }
    }
}
