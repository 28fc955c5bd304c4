//! The largest sum over any rolling window, counted exactly.

use std::collections::VecDeque;
use std::time::Duration;

/// Sums weights over the window `(t − width, t]` at every observation and
/// keeps the largest sum seen.
#[derive(Debug, Clone)]
pub(crate) struct RollingMax {
    width: Duration,
    inside: VecDeque<(Duration, u64)>,
    sum: u64,
    max: u64,
    total: u64,
}

impl RollingMax {
    pub(crate) fn new(width: Duration) -> Self {
        Self {
            width,
            inside: VecDeque::new(),
            sum: 0,
            max: 0,
            total: 0,
        }
    }

    /// Adds `weight` at `at` (observations come in time order).
    pub(crate) fn add(&mut self, at: Duration, weight: u64) {
        while let Some(&(then, w)) = self.inside.front() {
            if then + self.width > at {
                break;
            }
            self.sum -= w;
            self.inside.pop_front();
        }
        self.inside.push_back((at, weight));
        self.sum += weight;
        self.total += weight;
        self.max = self.max.max(self.sum);
    }

    /// The largest window sum so far.
    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// Everything added.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_busiest_window() {
        let ms = Duration::from_millis;
        let mut frames = RollingMax::new(Duration::from_secs(1));
        for t in [0, 100, 200, 300, 999] {
            frames.add(ms(t), 1);
        }
        assert_eq!(frames.max(), 5);
        // At 1000 ms the frame at 0 has left the window (0 + 1 s is not after 1000 ms).
        frames.add(ms(1000), 1);
        assert_eq!(frames.max(), 5);
        frames.add(ms(1001), 1);
        assert_eq!(frames.max(), 6);
        assert_eq!(frames.total(), 7);
    }
}
