//! The last-known-value cache on a fake clock: age, source, staleness by
//! each stream's own interval.

use std::time::{Duration, Instant};

use fallback::{CacheConfig, Error, LastValues, Source};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

fn ms(t0: Instant, at: u64) -> Instant {
    t0 + Duration::from_millis(at)
}

fn cache() -> LastValues<String, f64> {
    LastValues::new(CacheConfig::default()).expect("valid")
}

#[test]
fn a_value_is_stale_once_older_than_three_expected_intervals() {
    let t0 = t0();
    let mut cache = cache();
    let ticker = "btcusdt@bookTicker".to_owned();
    cache
        .set_interval(&ticker, Duration::from_secs(1))
        .expect("valid");
    assert!(
        cache.get(&ticker, t0).is_none(),
        "an interval is not a value"
    );
    assert_eq!(cache.put(&ticker, 100.5, Source::Live, t0), None);

    let fresh = cache.get(&ticker, ms(t0, 3_000)).expect("stored");
    assert_eq!(*fresh.value, 100.5);
    assert_eq!(
        (fresh.age, fresh.source, fresh.stale),
        (Duration::from_secs(3), Source::Live, false)
    );
    assert_eq!(fresh.received_at, t0);
    assert_eq!(fresh.expected_interval, Duration::from_secs(1));
    assert!(cache.get(&ticker, ms(t0, 3_001)).expect("stored").stale);
    assert_eq!(cache.stale_at(&ticker), Some(ms(t0, 3_000)));

    // A poll replaces it; the age and source follow.
    assert_eq!(
        cache.put(&ticker, 101.0, Source::Poll, ms(t0, 5_000)),
        Some(100.5)
    );
    let polled = cache.get(&ticker, ms(t0, 6_000)).expect("stored");
    assert_eq!(
        (*polled.value, polled.source, polled.stale),
        (101.0, Source::Poll, false)
    );
    assert_eq!(polled.age, Duration::from_secs(1));
}

#[test]
fn streams_without_an_interval_use_the_default_and_the_factor_is_configurable() {
    let t0 = t0();
    let mut cache = cache();
    let kline = "btcusdt@kline_1m".to_owned();
    cache.put(&kline, 1.0, Source::Backfill, t0);
    assert!(
        !cache.get(&kline, ms(t0, 30_000)).expect("stored").stale,
        "3 × 10 s"
    );
    assert!(cache.get(&kline, ms(t0, 30_001)).expect("stored").stale);
    // The interval can come after the value.
    cache
        .set_interval(&kline, Duration::from_secs(60))
        .expect("valid");
    assert!(!cache.get(&kline, ms(t0, 180_000)).expect("stored").stale);

    let mut strict = LastValues::new(CacheConfig {
        stale_factor: 1.5,
        ..CacheConfig::default()
    })
    .expect("valid");
    strict.put(&"s", 'x', Source::Refresh, t0);
    assert!(strict.get(&"s", ms(t0, 15_001)).expect("stored").stale);
}

#[test]
fn iteration_removal_and_counts() {
    let t0 = t0();
    let mut cache = cache();
    assert!(cache.is_empty());
    cache
        .set_interval(&"a".to_owned(), Duration::from_secs(1))
        .expect("valid");
    cache.put(&"b".to_owned(), 2.0, Source::Live, t0);
    cache.put(&"c".to_owned(), 3.0, Source::Live, ms(t0, 40_000));
    assert_eq!(cache.len(), 2);
    let mut stale: Vec<(String, bool)> = cache
        .iter(ms(t0, 40_000))
        .map(|(k, cached)| (k.clone(), cached.stale))
        .collect();
    stale.sort();
    assert_eq!(stale, vec![("b".to_owned(), true), ("c".to_owned(), false)]);
    assert_eq!(cache.remove(&"b".to_owned()), Some(2.0));
    assert_eq!(cache.remove(&"a".to_owned()), None, "an interval only");
    assert_eq!(cache.len(), 1);
    assert_eq!(Source::Backfill.to_string(), "backfill");
}

#[test]
fn a_time_before_the_value_reads_as_age_zero() {
    let t0 = t0();
    let mut cache = cache();
    cache.put(&"s".to_owned(), 1.0, Source::Live, ms(t0, 1_000));
    let cached = cache.get(&"s".to_owned(), t0).expect("stored");
    assert_eq!(cached.age, Duration::ZERO);
}

#[test]
fn bad_intervals_and_configs_are_named() {
    let mut cache = cache();
    let err = cache
        .set_interval(&"btcusdt@depth".to_owned(), Duration::ZERO)
        .expect_err("zero");
    assert_eq!(
        err.to_string(),
        "invalid input: stream \"btcusdt@depth\": expected_interval = 0ns must be greater than \
         zero and at most 365 days"
    );
    let bad = LastValues::<String, f64>::new(CacheConfig {
        stale_factor: 0.5,
        ..CacheConfig::default()
    });
    assert!(matches!(
        bad,
        Err(Error::InvalidConfig {
            field: "stale_factor",
            ..
        })
    ));
}
