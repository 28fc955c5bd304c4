//! [`BookConfig`]: how books are synced, with documented defaults.

use std::time::Duration;

use crate::domain::UpdateSpeed;

/// How order books are kept. Every value is validated by [`BookConfig::problems`].
///
/// | field | default | why |
/// |---|---|---|
/// | `depth_limit` | 1000 | levels per side of a sync snapshot; REST weight 50 (5000 would cost 250, PROTOCOL.md §6) |
/// | `speed` | 100 ms | `<s>@depth@100ms` |
/// | `buffer_capacity` | 4096 diffs | ~7 min of 100 ms diffs waiting for a snapshot |
/// | `first_diff_timeout` | 5 s | a book with no diff by then fetches a snapshot anyway, so an unknown symbol (silent stream) is found |
/// | `max_refetches` | 5 | too-old snapshots for one buffer before the buffer is dropped |
/// | `retry_initial` / `retry_max` | 250 ms / 30 s | backoff between failed or too-old snapshots, doubling |
/// | `self_check` | off | interval of the optional self-check |
/// | `self_check_limit` | 100 | levels per side the self-check compares; REST weight 5 |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookConfig {
    /// Levels per side of a sync snapshot (`GET /api/v3/depth?limit=`), 1–5000.
    /// Deeper levels stay unknown until they change (PROTOCOL.md §5).
    pub depth_limit: u32,
    /// The diff stream's speed.
    pub speed: UpdateSpeed,
    /// Diffs buffered while waiting for a snapshot; one more restarts the sync.
    pub buffer_capacity: usize,
    /// A syncing book that has received no diff for this long fetches a snapshot
    /// anyway (and holds it until the first diff), so a symbol the exchange does
    /// not know is reported instead of waited for.
    pub first_diff_timeout: Duration,
    /// Snapshots older than the buffered diffs fetched for one buffer before the
    /// buffer is dropped and the sync starts over.
    pub max_refetches: u32,
    /// The wait after the first failed or too-old snapshot; it doubles with each
    /// further one.
    pub retry_initial: Duration,
    /// The longest wait between snapshot attempts.
    pub retry_max: Duration,
    /// When set, a live book compares itself with a fresh snapshot this often.
    pub self_check: Option<Duration>,
    /// Levels per side fetched and compared by the self-check, 1–5000.
    pub self_check_limit: u32,
}

impl Default for BookConfig {
    fn default() -> Self {
        BookConfig {
            depth_limit: 1000,
            speed: UpdateSpeed::Ms100,
            buffer_capacity: 4096,
            first_diff_timeout: Duration::from_secs(5),
            max_refetches: 5,
            retry_initial: Duration::from_millis(250),
            retry_max: Duration::from_secs(30),
            self_check: None,
            self_check_limit: 100,
        }
    }
}

impl BookConfig {
    /// Every problem with the settings, each naming the field, its value and the rule.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, value) in [
            ("depth_limit", self.depth_limit),
            ("self_check_limit", self.self_check_limit),
        ] {
            if !(1..=5000).contains(&value) {
                problems.push(format!(
                    "books.{name} = {value} must be within 1..=5000 (Binance's depth limits)"
                ));
            }
        }
        if self.buffer_capacity == 0 {
            problems.push("books.buffer_capacity must be at least 1".to_owned());
        }
        if self.first_diff_timeout.is_zero() {
            problems.push("books.first_diff_timeout must be above zero".to_owned());
        }
        if self.retry_initial.is_zero() {
            problems.push(
                "books.retry_initial must be above zero, or failed snapshots would be fetched again at once"
                    .to_owned(),
            );
        }
        if self.retry_max < self.retry_initial {
            problems.push(format!(
                "books.retry_max = {:?} must not be below books.retry_initial = {:?}",
                self.retry_max, self.retry_initial
            ));
        }
        if self.self_check.is_some_and(|every| every.is_zero()) {
            problems.push("books.self_check must be above zero when set".to_owned());
        }
        problems
    }

    /// The wait before the next snapshot after `failures` failed or too-old ones
    /// in a row (1 → `retry_initial`), doubling up to `retry_max`.
    #[must_use]
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.retry_initial
            .saturating_mul(1 << doublings)
            .min(self.retry_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(BookConfig::default().problems().is_empty());
        let bad = BookConfig {
            depth_limit: 0,
            self_check_limit: 6000,
            buffer_capacity: 0,
            first_diff_timeout: Duration::ZERO,
            retry_initial: Duration::ZERO,
            self_check: Some(Duration::ZERO),
            ..BookConfig::default()
        };
        let problems = bad.problems().join("\n");
        for field in [
            "depth_limit",
            "self_check_limit",
            "buffer_capacity",
            "first_diff_timeout",
            "retry_initial",
            "books.self_check must",
        ] {
            assert!(problems.contains(field), "{field} not named in {problems}");
        }
    }

    #[test]
    fn the_retry_delay_doubles_up_to_its_cap() {
        let config = BookConfig::default();
        let delays: Vec<u128> = (1..=10)
            .map(|n| config.retry_delay(n).as_millis())
            .collect();
        assert_eq!(
            delays,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(config.retry_delay(u32::MAX), config.retry_max);
    }
}
