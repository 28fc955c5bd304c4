//! Polling rate planning: per-stream poll intervals that fit a share of the
//! REST weight budget, as a pure function.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use crate::config::MAX_DURATION;
use crate::{Error, PollBudget};

/// The heaviest poll the planner accepts, in weight.
pub const MAX_POLL_WEIGHT: u32 = 1_000_000;

/// Weight is planned in millionths, so every sum is an exact integer.
const MICRO: u128 = 1_000_000;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// One stream to poll: what a poll costs and how often it would be polled
/// if the budget allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRequest<K> {
    /// The stream.
    pub stream: K,
    /// The REST weight of one poll; in `1..=MAX_POLL_WEIGHT`.
    pub weight: u32,
    /// The interval the stream would be polled at with budget to spare: its
    /// normal interval. Between 1 ms and [`MAX_DURATION`].
    pub normal_interval: Duration,
}

impl<K> PollRequest<K> {
    /// A request for `stream`, each poll costing `weight`, ideally every
    /// `normal_interval`.
    pub fn new(stream: K, weight: u32, normal_interval: Duration) -> Self {
        Self {
            stream,
            weight,
            normal_interval,
        }
    }
}

/// The interval one stream is polled at.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollAssignment<K> {
    /// The stream.
    pub stream: K,
    /// The weight of one poll.
    pub weight: u32,
    /// The interval it asked for.
    pub normal_interval: Duration,
    /// The interval it gets: `normal_interval`, or longer when the budget
    /// is short. [`Duration::MAX`] when the budget cannot give it even a
    /// millionth of a weight per window: it is not polled at all.
    pub interval: Duration,
    /// Whether `interval` is longer than `normal_interval`: the stream is
    /// polled slower than normal, and its consumers should be told.
    pub slower_than_normal: bool,
    /// When to poll first, after the plan starts: `interval × i / n` for
    /// the `i`-th of `n` streams, so first polls spread over the interval
    /// instead of landing together (zero for an interval of
    /// [`Duration::MAX`]).
    pub offset: Duration,
}

impl<K> PollAssignment<K> {
    /// The weight this stream spends per budget window, on average:
    /// `weight × window / interval`.
    #[must_use]
    pub fn weight_per(&self, window: Duration) -> f64 {
        f64::from(self.weight) * window.as_secs_f64() / self.interval.as_secs_f64()
    }
}

/// Per-stream poll intervals within the budget, from [`PollPlanner::plan`].
#[derive(Debug, Clone)]
pub struct PollPlan<K> {
    assignments: Vec<PollAssignment<K>>,
    index: HashMap<K, usize>,
    window: Duration,
    budget: f64,
}

impl<K: PartialEq> PartialEq for PollPlan<K> {
    fn eq(&self, other: &Self) -> bool {
        // The index is derived from the assignments.
        self.assignments == other.assignments
            && self.window == other.window
            && self.budget.total_cmp(&other.budget).is_eq()
    }
}

impl<K: Eq + Hash> PollPlan<K> {
    /// An empty plan: nothing polled.
    #[must_use]
    pub fn empty(budget: &PollBudget) -> Self {
        Self {
            assignments: Vec::new(),
            index: HashMap::new(),
            window: budget.window,
            budget: budget.polling_weight(),
        }
    }

    /// Every stream's assignment, in the order the streams were given.
    #[must_use]
    pub fn assignments(&self) -> &[PollAssignment<K>] {
        &self.assignments
    }

    /// One stream's assignment.
    #[must_use]
    pub fn get(&self, stream: &K) -> Option<&PollAssignment<K>> {
        self.index.get(stream).map(|&i| &self.assignments[i])
    }

    /// Streams in the plan.
    #[must_use]
    pub fn len(&self) -> usize {
        self.assignments.len()
    }

    /// Whether no stream is polled.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.assignments.is_empty()
    }

    /// Streams polled slower than normal.
    #[must_use]
    pub fn slowed(&self) -> usize {
        self.assignments
            .iter()
            .filter(|a| a.slower_than_normal)
            .count()
    }

    /// The budget window.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The weight polling may spend per window (`weight × share`).
    #[must_use]
    pub fn budget_per_window(&self) -> f64 {
        self.budget
    }

    /// The weight the plan spends per window on average: `Σ weight × window
    /// / interval`. Never above [`budget_per_window`](Self::budget_per_window).
    #[must_use]
    pub fn weight_per_window(&self) -> f64 {
        self.assignments
            .iter()
            .map(|a| a.weight_per(self.window))
            .sum()
    }

    /// The most weight any one window can see if every stream's polls line
    /// up as badly as they can: `Σ weight × ⌈window / interval⌉` over the
    /// streams polled at all. Above the average by at most one poll per
    /// stream; starting each stream at its
    /// [`offset`](PollAssignment::offset) keeps real windows near the
    /// average.
    #[must_use]
    pub fn peak_window_weight(&self) -> u64 {
        let window = self.window.as_nanos();
        self.assignments
            .iter()
            .filter(|a| a.interval != Duration::MAX)
            .map(|a| {
                let polls = window.div_ceil(a.interval.as_nanos().max(1));
                u64::try_from(u128::from(a.weight) * polls).unwrap_or(u64::MAX)
            })
            .fold(0, u64::saturating_add)
    }
}

/// Plans poll intervals against a [`PollBudget`].
///
/// Max-min fair: every stream polled at its normal interval if the budget
/// allows; otherwise each slowed stream gets an equal share of the weight
/// per window, and streams that need less than that share keep their
/// normal interval (`docs/fallback.md` has the math and figures).
#[derive(Debug, Clone, PartialEq)]
pub struct PollPlanner {
    budget: PollBudget,
}

impl PollPlanner {
    /// A planner for `budget`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `budget` breaks a rule of
    /// [`PollBudget::validate`].
    pub fn new(budget: PollBudget) -> Result<Self, Error> {
        budget.validate()?;
        Ok(Self { budget })
    }

    /// The budget in use.
    #[must_use]
    pub fn budget(&self) -> &PollBudget {
        &self.budget
    }

    /// Poll intervals for `streams` whose average weight per window,
    /// `Σ weight × window / interval`, never exceeds the polling share of
    /// the budget; a stream is [`slower_than_normal`](PollAssignment::slower_than_normal)
    /// exactly when its interval is longer than its normal interval.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateStream`] naming a stream given twice;
    /// [`Error::InvalidStream`] naming a stream whose weight or normal
    /// interval is out of range.
    pub fn plan<K>(
        &self,
        streams: impl IntoIterator<Item = PollRequest<K>>,
    ) -> Result<PollPlan<K>, Error>
    where
        K: Clone + Eq + Hash + fmt::Debug,
    {
        let requests: Vec<PollRequest<K>> = streams.into_iter().collect();
        let mut index = HashMap::with_capacity(requests.len());
        for (i, request) in requests.iter().enumerate() {
            validate(request)?;
            if index.insert(request.stream.clone(), i).is_some() {
                return Err(Error::duplicate_stream(&request.stream));
            }
        }
        let window = self.budget.window.as_nanos();
        // Demand per stream, in millionths of a weight per window, rounded up.
        let demand: Vec<u128> = requests
            .iter()
            .map(|r| cost(r.weight, window).div_ceil(r.normal_interval.as_nanos()))
            .collect();
        let mut order: Vec<usize> = (0..requests.len()).collect();
        order.sort_by_key(|&i| (demand[i], i));
        let mut intervals = vec![None; requests.len()];
        let mut remaining = self.budget_micro();
        let mut left = requests.len() as u128;
        for i in order {
            let fair = remaining / left.max(1);
            left -= 1;
            if demand[i] <= fair {
                remaining -= demand[i];
            } else {
                remaining -= fair;
                intervals[i] = Some(slowed_interval(cost(requests[i].weight, window), fair));
            }
        }
        let count = requests.len();
        let assignments = requests
            .into_iter()
            .zip(intervals)
            .enumerate()
            .map(|(i, (request, interval))| {
                let interval = interval.map_or(request.normal_interval, |slow: Duration| {
                    slow.max(request.normal_interval)
                });
                PollAssignment {
                    slower_than_normal: interval > request.normal_interval,
                    stream: request.stream,
                    weight: request.weight,
                    normal_interval: request.normal_interval,
                    offset: spread(interval, i, count),
                    interval,
                }
            })
            .collect();
        Ok(PollPlan {
            assignments,
            index,
            window: self.budget.window,
            budget: self.budget.polling_weight(),
        })
    }

    /// The polling share in millionths of a weight per window, rounded down.
    fn budget_micro(&self) -> u128 {
        // weight × share × 10⁶ is below 2⁵³, so the f64 is exact enough and
        // the floor never rounds above the budget.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a validated, non-negative value below 2^53"
        )]
        let micro = (f64::from(self.budget.weight) * self.budget.share * 1e6).floor() as u128;
        micro
    }
}

/// `weight × 10⁶ × window_ns`: the numerator of a stream's micro-weight per
/// window at an interval, `cost / interval_ns`.
fn cost(weight: u32, window_nanos: u128) -> u128 {
    u128::from(weight) * MICRO * window_nanos
}

/// The shortest interval (rounded up to the nanosecond) at which a stream
/// of `cost` spends at most `share` micro-weight per window.
fn slowed_interval(cost: u128, share: u128) -> Duration {
    if share == 0 {
        return Duration::MAX;
    }
    nanos_to_duration(cost.div_ceil(share))
}

/// `interval × i / n`, below `interval`; zero for a stream never polled.
fn spread(interval: Duration, i: usize, n: usize) -> Duration {
    if interval == Duration::MAX || n == 0 {
        return Duration::ZERO;
    }
    let nanos = interval.as_nanos() * i as u128 / n as u128;
    nanos_to_duration(nanos)
}

fn nanos_to_duration(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the remainder of a division by 10^9 fits in u32"
    )]
    let subsec = (nanos % NANOS_PER_SEC) as u32;
    Duration::new(secs, subsec)
}

fn validate<K: fmt::Debug>(request: &PollRequest<K>) -> Result<(), Error> {
    let invalid = |field, value: String, rule: &str| Error::InvalidStream {
        stream: format!("{:?}", request.stream),
        field,
        value,
        rule: rule.to_owned(),
    };
    if !(1..=MAX_POLL_WEIGHT).contains(&request.weight) {
        return Err(invalid(
            "weight",
            request.weight.to_string(),
            "must be between 1 and 1000000",
        ));
    }
    let interval = request.normal_interval;
    if interval < Duration::from_millis(1) || interval > MAX_DURATION {
        return Err(invalid(
            "normal_interval",
            format!("{interval:?}"),
            "must be between 1ms and 365 days",
        ));
    }
    Ok(())
}
