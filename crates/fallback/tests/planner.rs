//! The poll planner: figures at 10, 100 and 1,000 streams (the ones in
//! docs/fallback.md), a property test that no stream set exceeds the
//! budget, and bad input.

use std::time::Duration;

use fallback::{Error, PollBudget, PollPlan, PollPlanner, PollRequest};
use proptest::prelude::*;

fn planner() -> PollPlanner {
    PollPlanner::new(PollBudget::default()).expect("valid")
}

/// (weight, normal interval): a book ticker, an aggTrades page, a 1-minute
/// kline, a 100-level depth snapshot.
const KINDS: [(u32, Duration); 4] = [
    (2, Duration::from_secs(1)),
    (4, Duration::from_secs(1)),
    (2, Duration::from_secs(60)),
    (5, Duration::from_secs(1)),
];

fn mixed(n: usize) -> Vec<PollRequest<String>> {
    (0..n)
        .map(|i| {
            let (weight, normal) = KINDS[i % KINDS.len()];
            PollRequest::new(format!("s{i}"), weight, normal)
        })
        .collect()
}

fn uniform(n: usize) -> Vec<PollRequest<String>> {
    (0..n)
        .map(|i| PollRequest::new(format!("s{i}"), 2, Duration::from_secs(1)))
        .collect()
}

/// The exact check: the sum of each stream's millionths of a weight per
/// window, each rounded up, is within the polling share (rounded down).
fn within_budget<K: Eq + std::hash::Hash>(plan: &PollPlan<K>, budget: &PollBudget) -> bool {
    let window = plan.window().as_nanos();
    let used: u128 = plan
        .assignments()
        .iter()
        // An interval of Duration::MAX is never polled.
        .filter(|a| a.interval != Duration::MAX)
        .map(|a| (u128::from(a.weight) * 1_000_000 * window).div_ceil(a.interval.as_nanos()))
        .sum();
    let allowed = (f64::from(budget.weight) * budget.share * 1e6).floor();
    #[allow(clippy::cast_precision_loss, reason = "a test bound far below 2^53")]
    let used = used as f64;
    used <= allowed
}

fn interval_of(plan: &PollPlan<String>, stream: &str) -> Duration {
    plan.get(&stream.to_owned()).expect("planned").interval
}

fn near(actual: Duration, expected_ms: u64) -> bool {
    actual.abs_diff(Duration::from_millis(expected_ms)) < Duration::from_millis(1)
}

#[test]
fn uniform_figures_at_10_100_and_1000_streams() {
    let budget = PollBudget::default(); // 3,000 of 6,000 per minute for polling
    for (n, interval, slowed) in [(10, 1_000, 0), (100, 4_000, 100), (1_000, 40_000, 1_000)] {
        let plan = planner().plan(uniform(n)).expect("valid");
        assert_eq!(plan.len(), n);
        assert_eq!(plan.slowed(), slowed, "{n} streams");
        assert!(
            plan.assignments()
                .iter()
                .all(|a| a.interval == Duration::from_millis(interval))
        );
        assert!(within_budget(&plan, &budget), "{n} streams");
    }
    // 10 streams use 1,200 per minute; 100 and 1,000 use the whole share.
    let ten = planner().plan(uniform(10)).expect("valid");
    assert!((ten.weight_per_window() - 1_200.0).abs() < 1e-6);
    let hundred = planner().plan(uniform(100)).expect("valid");
    assert!((hundred.weight_per_window() - 3_000.0).abs() < 1e-6);
}

#[test]
fn mixed_figures_at_10_100_and_1000_streams() {
    let budget = PollBudget::default();
    // 10 streams ask for 1,684 per minute: everyone at the normal interval.
    let ten = planner().plan(mixed(10)).expect("valid");
    assert_eq!(ten.slowed(), 0);
    assert!((ten.weight_per_window() - 1_684.0).abs() < 1e-6);

    // 100 streams ask for 16,550: the klines (2 per minute each) keep their
    // interval; the other 75 share the remaining 2,950 equally, 39.3 each.
    let hundred = planner().plan(mixed(100)).expect("valid");
    assert_eq!(hundred.slowed(), 75);
    assert_eq!(interval_of(&hundred, "s2"), Duration::from_secs(60));
    assert!(
        near(interval_of(&hundred, "s0"), 3_051),
        "{:?}",
        interval_of(&hundred, "s0")
    );
    assert!(near(interval_of(&hundred, "s1"), 6_102));
    assert!(near(interval_of(&hundred, "s3"), 7_628));

    // 1,000 streams: the klines still fit (2 ≤ 3 each); the other 750
    // share 2,500, 3.33 each.
    let thousand = planner().plan(mixed(1_000)).expect("valid");
    assert_eq!(thousand.slowed(), 750);
    assert_eq!(interval_of(&thousand, "s2"), Duration::from_secs(60));
    assert!(near(interval_of(&thousand, "s0"), 36_000));
    assert!(near(interval_of(&thousand, "s1"), 72_000));
    assert!(near(interval_of(&thousand, "s3"), 90_000));

    for plan in [&ten, &hundred, &thousand] {
        assert!(within_budget(plan, &budget));
        assert!(plan.weight_per_window() <= plan.budget_per_window());
        #[allow(clippy::cast_precision_loss, reason = "small test figures")]
        let peak = plan.peak_window_weight() as f64;
        assert!(peak >= plan.weight_per_window());
    }
}

#[test]
fn a_stream_the_budget_cannot_feed_is_not_polled_and_says_so() {
    let budget = PollBudget {
        weight: 1,
        window: Duration::from_secs(60),
        share: 0.001,
    };
    let planner = PollPlanner::new(budget.clone()).expect("valid");
    // 1,000 millionths of a weight per minute for 2,000 streams: half get
    // one millionth each (a poll every 2 × 60 s × 10⁶, 3.8 years), half
    // nothing at all.
    let plan = planner.plan(uniform(2_000)).expect("valid");
    assert_eq!(plan.slowed(), 2_000);
    let starved = plan
        .assignments()
        .iter()
        .filter(|a| a.interval == Duration::MAX)
        .count();
    assert_eq!(starved, 1_000);
    assert!(
        plan.assignments()
            .iter()
            .all(|a| a.interval == Duration::MAX || a.interval == Duration::from_secs(120_000_000))
    );
    assert!(within_budget(&plan, &budget));
    assert_eq!(plan.peak_window_weight(), 1_000 * 2);
}

#[test]
fn an_empty_set_is_an_empty_plan() {
    let plan = planner()
        .plan(Vec::<PollRequest<String>>::new())
        .expect("valid");
    assert!(plan.is_empty());
    assert!(plan.weight_per_window().abs() < f64::EPSILON);
    assert_eq!(plan.peak_window_weight(), 0);
}

#[test]
fn bad_streams_are_named() {
    let dup = planner().plan(vec![
        PollRequest::new("btcusdt@bookTicker", 2, Duration::from_secs(1)),
        PollRequest::new("btcusdt@bookTicker", 2, Duration::from_secs(5)),
    ]);
    let err = dup.expect_err("duplicate");
    assert_eq!(
        err.to_string(),
        "invalid input: stream \"btcusdt@bookTicker\" is given twice; give each stream once"
    );
    let zero = planner().plan(vec![PollRequest::new("a", 0, Duration::from_secs(1))]);
    assert_eq!(
        zero.expect_err("weight 0").to_string(),
        "invalid input: stream \"a\": weight = 0 must be between 1 and 1000000"
    );
    let fast = planner().plan(vec![PollRequest::new("a", 1, Duration::ZERO)]);
    assert!(matches!(
        fast,
        Err(Error::InvalidStream {
            field: "normal_interval",
            ..
        })
    ));
    let bad_budget = PollPlanner::new(PollBudget {
        share: 1.5,
        ..PollBudget::default()
    });
    assert_eq!(
        bad_budget.expect_err("share").to_string(),
        "invalid configuration: share = 1.5 must be at least 0.001 and at most 1"
    );
}

fn request() -> impl Strategy<Value = (u32, u64)> {
    (1u32..300, 10u64..3_600_000)
}

fn budget() -> impl Strategy<Value = PollBudget> {
    (1u32..100_000, 1u64..600, 0.001f64..=1.0).prop_map(|(weight, window, share)| PollBudget {
        weight,
        window: Duration::from_secs(window),
        share,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the streams and the budget: within the budget, never faster
    /// than normal, the flag exact, nobody slowed when all fit, and slowed
    /// streams share equally while the others need less than that share.
    #[test]
    fn the_plan_never_exceeds_the_budget(
        budget in budget(),
        requests in proptest::collection::vec(request(), 0..1_500),
    ) {
        let planner = PollPlanner::new(budget.clone()).expect("valid");
        let streams: Vec<_> = requests
            .iter()
            .enumerate()
            .map(|(i, &(w, ms))| PollRequest::new(i, w, Duration::from_millis(ms)))
            .collect();
        let plan = planner.plan(streams).expect("valid");
        prop_assert!(within_budget(&plan, &budget));
        prop_assert!(plan.weight_per_window() <= plan.budget_per_window() * (1.0 + 1e-12));
        let window = budget.window.as_secs_f64();
        let demand: f64 = requests
            .iter()
            .map(|&(w, ms)| f64::from(w) * window / (ms as f64 / 1e3))
            .sum();
        if demand <= budget.polling_weight() * (1.0 - 1e-9) {
            prop_assert_eq!(plan.slowed(), 0, "demand {} fits {}", demand, budget.polling_weight());
        }
        let mut share: Option<f64> = None;
        for a in plan.assignments() {
            prop_assert!(a.interval >= a.normal_interval);
            prop_assert_eq!(a.slower_than_normal, a.interval > a.normal_interval);
            if a.slower_than_normal && a.interval != Duration::MAX {
                let used = a.weight_per(budget.window);
                let top = *share.get_or_insert(used);
                prop_assert!((used - top).abs() <= top * 1e-6 + 1e-6, "{} vs {}", used, top);
            }
        }
        if let Some(share) = share {
            for a in plan.assignments().iter().filter(|a| !a.slower_than_normal) {
                prop_assert!(a.weight_per(budget.window) <= share * (1.0 + 1e-6) + 1e-6);
            }
        }
    }
}

/// The heaviest sliding window (stepped by 100 ms over 10 minutes) when
/// each stream starts at its offset.
fn busiest_window(plan: &PollPlan<String>) -> u64 {
    let horizon = Duration::from_secs(600);
    let mut polls: Vec<(Duration, u64)> = Vec::new();
    for a in plan.assignments() {
        let mut at = a.offset;
        while at < horizon {
            polls.push((at, u64::from(a.weight)));
            at += a.interval;
        }
    }
    polls.sort_unstable();
    let window = plan.window();
    let mut busiest = 0;
    let (mut lo, mut hi, mut sum) = (0, 0, 0);
    let mut start = Duration::ZERO;
    while start + window <= horizon {
        while hi < polls.len() && polls[hi].0 < start + window {
            sum += polls[hi].1;
            hi += 1;
        }
        while lo < hi && polls[lo].0 < start {
            sum -= polls[lo].1;
            lo += 1;
        }
        busiest = busiest.max(sum);
        start += Duration::from_millis(100);
    }
    busiest
}

#[test]
fn offsets_keep_every_window_near_the_average() {
    for streams in [uniform(1_000), mixed(1_000), mixed(100)] {
        let plan = planner().plan(streams).expect("valid");
        let busiest = busiest_window(&plan);
        // Lined up, 1,000 tickers every 40 s would put 4,000 in one minute;
        // spread, every minute holds the average give or take a few polls.
        assert!(
            busiest <= 3_000 + 10,
            "busiest window {busiest}, peak {}",
            plan.peak_window_weight()
        );
    }
}
