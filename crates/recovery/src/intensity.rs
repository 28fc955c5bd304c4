//! Restart intensity: at most `max_restarts` restarts within a sliding
//! `window`, then escalate (OTP's `intensity`/`period`), as a sans-IO core.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::Error;

/// What to do with a child that just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the decision says whether to restart or to escalate"]
pub enum IntensityDecision {
    /// Restart it: this is restart number `restarts_in_window` within the
    /// current window (1 for the first).
    Restart {
        /// Restarts within the window, this one included.
        restarts_in_window: u32,
    },
    /// Do not: `restarts` restarts already happened within `window`. Tell
    /// the parent; the child stays stopped.
    Escalate {
        /// Restarts within the window (the configured maximum).
        restarts: u32,
        /// The window.
        window: Duration,
    },
}

/// Counts restarts of one child in a sliding window.
///
/// A restart counts while less than `window` has passed since it; one
/// exactly `window` old has left the window. With the defaults (5 in 10 s)
/// the 6th failure within 10 s of the first escalates; failures spaced so
/// that no 10 s hold six never do.
///
/// ```
/// use std::time::{Duration, Instant};
/// use recovery::{IntensityDecision, RestartIntensity};
///
/// let mut intensity = RestartIntensity::new(5, Duration::from_secs(10))?;
/// let t0 = Instant::now();
/// for i in 1..=5 {
///     let at = t0 + Duration::from_secs(i);
///     assert_eq!(intensity.on_exit(at), IntensityDecision::Restart { restarts_in_window: i as u32 });
/// }
/// assert!(matches!(intensity.on_exit(t0 + Duration::from_secs(6)), IntensityDecision::Escalate { .. }));
/// # Ok::<(), recovery::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RestartIntensity {
    max_restarts: u32,
    window: Duration,
    /// Instants of the restarts still in the window, oldest first; never
    /// more than `max_restarts`.
    restarts: VecDeque<Instant>,
    total: u64,
}

impl RestartIntensity {
    /// At most `max_restarts` restarts within `window`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming `max_restarts` if it is zero, or
    /// `window` if it is zero or above 365 days.
    pub fn new(max_restarts: u32, window: Duration) -> Result<Self, Error> {
        crate::config::intensity(max_restarts, window)?;
        Ok(Self {
            max_restarts,
            window,
            restarts: VecDeque::new(),
            total: 0,
        })
    }

    /// The child ended at `now` and would be restarted: may it be?
    ///
    /// A [`IntensityDecision::Restart`] is recorded as a restart at `now`;
    /// an [`IntensityDecision::Escalate`] records nothing, so asking again
    /// later (after an operator's fix) can succeed once the window has moved.
    pub fn on_exit(&mut self, now: Instant) -> IntensityDecision {
        self.expire(now);
        let in_window = u32::try_from(self.restarts.len()).unwrap_or(u32::MAX);
        if in_window >= self.max_restarts {
            return IntensityDecision::Escalate {
                restarts: in_window,
                window: self.window,
            };
        }
        self.restarts.push_back(now);
        self.total = self.total.saturating_add(1);
        IntensityDecision::Restart {
            restarts_in_window: in_window + 1,
        }
    }

    /// Restarts still within the window at `now`.
    #[must_use]
    pub fn restarts_in_window(&self, now: Instant) -> u32 {
        let count = self
            .restarts
            .iter()
            .filter(|at| now.saturating_duration_since(**at) < self.window)
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// Restarts granted since construction (or the last [`reset`](Self::reset)).
    #[must_use]
    pub fn total_restarts(&self) -> u64 {
        self.total
    }

    /// The configured maximum.
    #[must_use]
    pub fn max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The configured window.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Forgets every restart.
    pub fn reset(&mut self) {
        self.restarts.clear();
        self.total = 0;
    }

    fn expire(&mut self, now: Instant) {
        while let Some(oldest) = self.restarts.front() {
            if now.saturating_duration_since(*oldest) >= self.window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
    }
}
