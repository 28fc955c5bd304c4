//! The windows a failure rate is taken over: the last N calls, or the calls
//! of the last T in fixed buckets. Both are allocated once, when the breaker
//! is built, so recording a call never allocates.

use std::time::{Duration, Instant};

use crate::Window;

/// Calls and failures in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
}

/// A failure-rate window of either kind.
#[derive(Debug)]
pub(crate) enum RateWindow {
    Calls(CallWindow),
    Time(TimeWindow),
}

impl RateWindow {
    pub(crate) fn new(window: Window) -> Self {
        match window {
            Window::Calls(calls) => Self::Calls(CallWindow::new(calls)),
            Window::Time { length, buckets } => Self::Time(TimeWindow::new(length, buckets)),
        }
    }

    /// Records one call and returns the counts after it.
    pub(crate) fn record(&mut self, failure: bool, now: Instant) -> Counts {
        match self {
            Self::Calls(window) => window.record(failure),
            Self::Time(window) => window.record(failure, now),
        }
    }

    /// The counts as of the last recorded call.
    pub(crate) fn counts(&self) -> Counts {
        match self {
            Self::Calls(window) => window.counts,
            Self::Time(window) => window.counts,
        }
    }

    /// Forgets every call.
    pub(crate) fn clear(&mut self) {
        match self {
            Self::Calls(window) => window.clear(),
            Self::Time(window) => window.clear(),
        }
    }
}

/// The last `n` calls, as a ring of outcomes.
#[derive(Debug)]
pub(crate) struct CallWindow {
    /// `true` for a failure.
    slots: Box<[bool]>,
    /// Where the next call goes.
    next: usize,
    counts: Counts,
}

impl CallWindow {
    fn new(calls: u32) -> Self {
        // Validation bounds `calls` to `1..=MAX_WINDOW_CALLS`; `max(1)` keeps
        // the ring non-empty even if that were bypassed.
        let len = usize::try_from(calls).unwrap_or(usize::MAX).max(1);
        Self {
            slots: vec![false; len].into_boxed_slice(),
            next: 0,
            counts: Counts::default(),
        }
    }

    fn record(&mut self, failure: bool) -> Counts {
        let len = self.slots.len();
        let Some(slot) = self.slots.get_mut(self.next) else {
            return self.counts;
        };
        if self.counts.calls == len as u64 {
            // Full: the oldest call, in this slot, leaves the window.
            self.counts.failures -= u64::from(*slot);
        } else {
            self.counts.calls += 1;
        }
        *slot = failure;
        self.counts.failures += u64::from(failure);
        self.next += 1;
        if self.next == len {
            self.next = 0;
        }
        self.counts
    }

    fn clear(&mut self) {
        self.slots.fill(false);
        self.next = 0;
        self.counts = Counts::default();
    }
}

/// The calls of the last `length`, in `buckets` buckets of `length /
/// buckets` each, numbered from the first call recorded.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    buckets: Box<[Counts]>,
    bucket_len: Duration,
    /// The start of bucket 0: the time of the first call recorded.
    origin: Option<Instant>,
    /// The number of the current bucket since `origin`.
    current: u64,
    /// When the current bucket ends: the fast path of `record` only compares
    /// against it.
    current_end: Option<Instant>,
    counts: Counts,
}

impl TimeWindow {
    fn new(length: Duration, buckets: u32) -> Self {
        let buckets = buckets.max(1);
        Self {
            buckets: vec![Counts::default(); buckets as usize].into_boxed_slice(),
            bucket_len: (length / buckets).max(Duration::from_nanos(1)),
            origin: None,
            current: 0,
            current_end: None,
            counts: Counts::default(),
        }
    }

    fn record(&mut self, failure: bool, now: Instant) -> Counts {
        self.advance(now);
        let index = self.index(self.current);
        if let Some(bucket) = self.buckets.get_mut(index) {
            bucket.calls = bucket.calls.saturating_add(1);
            bucket.failures = bucket.failures.saturating_add(u64::from(failure));
            self.counts.calls = self.counts.calls.saturating_add(1);
            self.counts.failures = self.counts.failures.saturating_add(u64::from(failure));
        }
        self.counts
    }

    /// Moves the current bucket to the one holding `now`, emptying the
    /// buckets that left the window. A `now` earlier than the current bucket
    /// (time running backwards) counts in the current bucket.
    fn advance(&mut self, now: Instant) {
        let Some(origin) = self.origin else {
            self.origin = Some(now);
            self.current = 0;
            self.current_end = now.checked_add(self.bucket_len);
            return;
        };
        match self.current_end {
            Some(end) if now < end => return,
            // An end past `Instant`'s range: the bucket never ends.
            None => return,
            Some(_) => {}
        }
        let bucket_nanos = self.bucket_len.as_nanos().max(1);
        let elapsed = now.saturating_duration_since(origin).as_nanos();
        let target = u64::try_from(elapsed / bucket_nanos).unwrap_or(u64::MAX);
        let steps = target.saturating_sub(self.current);
        let to_clear = steps.min(self.buckets.len() as u64);
        for step in 1..=to_clear {
            let index = self.index(self.current.wrapping_add(step));
            if let Some(bucket) = self.buckets.get_mut(index) {
                self.counts.calls = self.counts.calls.saturating_sub(bucket.calls);
                self.counts.failures = self.counts.failures.saturating_sub(bucket.failures);
                *bucket = Counts::default();
            }
        }
        self.current = target;
        let into_bucket = elapsed % bucket_nanos;
        let rest = u64::try_from(bucket_nanos - into_bucket).unwrap_or(u64::MAX);
        self.current_end = now.checked_add(Duration::from_nanos(rest));
    }

    fn index(&self, bucket: u64) -> usize {
        // `buckets.len()` is at most MAX_WINDOW_BUCKETS, so the remainder fits.
        usize::try_from(bucket % self.buckets.len() as u64).unwrap_or(0)
    }

    fn clear(&mut self) {
        self.buckets.fill(Counts::default());
        self.origin = None;
        self.current = 0;
        self.current_end = None;
        self.counts = Counts::default();
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
    fn call_window_keeps_the_last_n() {
        let mut window = CallWindow::new(3);
        let outcomes = [true, true, false, false, false, true];
        let failures: Vec<u64> = outcomes
            .iter()
            .map(|&failure| window.record(failure).failures)
            .collect();
        assert_eq!(failures, [1, 2, 2, 1, 0, 1]);
        assert_eq!(window.counts.calls, 3);
        window.clear();
        assert_eq!(window.counts, Counts::default());
    }

    #[test]
    fn time_window_forgets_old_buckets() {
        let t0 = t0();
        let s = Duration::from_secs;
        // 10 s in 10 buckets of 1 s.
        let mut window = TimeWindow::new(s(10), 10);
        assert_eq!(window.record(true, t0).failures, 1);
        assert_eq!(window.record(false, t0 + s(5)).calls, 2);
        // At 9.999 s the first bucket is still in the window.
        let counts = window.record(true, t0 + s(10) - Duration::from_millis(1));
        assert_eq!((counts.calls, counts.failures), (3, 2));
        // At 10 s bucket 0 leaves.
        let counts = window.record(false, t0 + s(10));
        assert_eq!((counts.calls, counts.failures), (3, 1));
        // A long silence empties everything.
        let counts = window.record(false, t0 + s(1_000));
        assert_eq!((counts.calls, counts.failures), (1, 0));
        // Time running backwards counts in the current bucket.
        let counts = window.record(true, t0);
        assert_eq!((counts.calls, counts.failures), (2, 1));
    }
}
