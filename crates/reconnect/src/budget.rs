//! A connection-attempt budget shared by every connection of a client.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::{BudgetConfig, Error};

/// A `governor` clock that follows the injected time: nanoseconds since the
/// budget's anchor, advanced by [`AttemptBudget::try_acquire`] and never
/// moved backwards.
#[derive(Debug, Clone, Default)]
struct InjectedClock {
    nanos: Arc<AtomicU64>,
}

impl Clock for InjectedClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::new(self.nanos.load(Ordering::Acquire))
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, InjectedClock, NoOpMiddleware<Nanos>>;

/// The budget is spent until `retry_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUntil {
    /// The earliest instant at which an attempt can be granted.
    pub retry_at: Instant,
}

impl NotUntil {
    /// How long to wait from `now` until [`retry_at`](Self::retry_at)
    /// (zero if it has passed).
    #[must_use]
    pub fn wait_time_from(&self, now: Instant) -> Duration {
        self.retry_at.saturating_duration_since(now)
    }
}

struct Inner {
    config: BudgetConfig,
    /// The instant governor's time 0 stands for: the `now` of the first
    /// `try_acquire`, so the budget itself never reads the clock.
    anchor: OnceLock<Instant>,
    clock: InjectedClock,
    limiter: Limiter,
}

/// A budget of connection attempts (300 per 5 minutes by default), shared by
/// all connections of a client.
///
/// Cheap to clone: clones share one budget (an `Arc` inside); `Send + Sync`.
/// Ask before every connection attempt, including the first: the attempt may
/// start if [`try_acquire`](Self::try_acquire) grants it, otherwise not
/// before [`NotUntil::retry_at`].
///
/// It is a GCRA limiter from `governor` driven by the injected time, sized so
/// that no window of `window` ever holds more than `attempts` grants (see
/// [`BudgetConfig`]). Time passed in is never allowed to run backwards: a
/// `now` earlier than one already seen counts as the latest seen.
#[derive(Clone)]
pub struct AttemptBudget {
    inner: Arc<Inner>,
}

impl AttemptBudget {
    /// A full budget.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`BudgetConfig::validate`].
    pub fn new(config: BudgetConfig) -> Result<Self, Error> {
        config.validate()?;
        let burst = std::num::NonZeroU32::new(config.burst)
            .ok_or_else(|| Error::invalid("burst", config.burst, "must be at least 1"))?;
        let quota = Quota::with_period(config.refill_interval())
            .ok_or_else(|| Error::invalid("window", config.window, "must be greater than zero"))?
            .allow_burst(burst);
        let clock = InjectedClock::default();
        let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                anchor: OnceLock::new(),
                clock,
                limiter,
            }),
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &BudgetConfig {
        &self.inner.config
    }

    /// Takes one attempt from the budget at `now`.
    ///
    /// # Errors
    ///
    /// [`NotUntil`] if the budget is spent: no attempt may start before its
    /// `retry_at`. Nothing is taken from the budget then.
    pub fn try_acquire(&self, now: Instant) -> Result<(), NotUntil> {
        let inner = &*self.inner;
        let anchor = *inner.anchor.get_or_init(|| now);
        let since =
            u64::try_from(now.saturating_duration_since(anchor).as_nanos()).unwrap_or(u64::MAX);
        inner.clock.nanos.fetch_max(since, Ordering::AcqRel);
        inner.limiter.check().map_err(|not_until| {
            let earliest = Duration::from(not_until.earliest_possible());
            NotUntil {
                // The earliest time is at most a window (≤ 1 year) past the
                // latest `now`, so the sum exists; `now` keeps this total.
                retry_at: anchor.checked_add(earliest).unwrap_or(now),
            }
        })
    }
}

impl fmt::Debug for AttemptBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttemptBudget")
            .field("config", &self.inner.config)
            .field("anchor", &self.inner.anchor.get())
            .field(
                "clock_nanos",
                &self.inner.clock.nanos.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(
        clippy::disallowed_methods,
        reason = "tests anchor fake time at one real instant"
    )]
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn burst_then_refill() {
        let budget = AttemptBudget::new(BudgetConfig::default()).expect("valid");
        let t0 = t0();
        for _ in 0..150 {
            assert_eq!(budget.try_acquire(t0), Ok(()));
        }
        let denied = budget.try_acquire(t0).expect_err("burst spent");
        assert_eq!(denied.retry_at, t0 + Duration::from_secs(2));
        assert_eq!(denied.wait_time_from(t0), Duration::from_secs(2));
        assert!(
            budget
                .try_acquire(t0 + Duration::from_millis(1_999))
                .is_err()
        );
        assert_eq!(budget.try_acquire(t0 + Duration::from_secs(2)), Ok(()));
    }

    #[test]
    fn clones_share_one_budget() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<AttemptBudget>();
        let budget = AttemptBudget::new(BudgetConfig {
            attempts: 4,
            window: Duration::from_secs(60),
            burst: 2,
        })
        .expect("valid");
        let other = budget.clone();
        let t0 = t0();
        assert!(budget.try_acquire(t0).is_ok());
        assert!(other.try_acquire(t0).is_ok());
        assert!(budget.try_acquire(t0).is_err());
        assert!(other.try_acquire(t0).is_err());
    }

    #[test]
    fn time_never_runs_backwards() {
        let budget = AttemptBudget::new(BudgetConfig {
            attempts: 2,
            window: Duration::from_secs(10),
            burst: 1,
        })
        .expect("valid");
        let t0 = t0();
        let later = t0 + Duration::from_secs(100);
        assert!(budget.try_acquire(later).is_ok());
        // An earlier `now` is judged at the latest time seen.
        let denied = budget.try_acquire(t0).expect_err("spent");
        assert_eq!(denied.retry_at, later + Duration::from_secs(10));
    }
}
