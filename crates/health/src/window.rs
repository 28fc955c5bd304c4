//! Counting primitives: a ring of fixed time buckets (trends, errors per
//! minute) and a per-stream meter (moving averages of rates, gaps and
//! latency). Both are O(1) per update and never allocate.

use std::time::{Duration, Instant};

/// Length of one bucket of a [`Ring`].
pub(crate) const BUCKET: Duration = Duration::from_secs(10);
const BUCKET_SECS: u64 = 10;

/// The counters of one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    pub(crate) errors: u64,
    pub(crate) failures: u64,
    pub(crate) lagged: u64,
}

impl Counts {
    fn add(&mut self, other: &Self) {
        self.messages = self.messages.saturating_add(other.messages);
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.errors = self.errors.saturating_add(other.errors);
        self.failures = self.failures.saturating_add(other.failures);
        self.lagged = self.lagged.saturating_add(other.lagged);
    }
}

/// `N` buckets of [`BUCKET`] each, numbered from `origin`; the slot of
/// bucket `b` is `b % N`.
#[derive(Debug, Clone)]
pub(crate) struct Ring<const N: usize> {
    origin: Instant,
    current: u64,
    /// `current % N`, cached: a 64-bit division per message is not free.
    slot: usize,
    end: Instant,
    slots: [Counts; N],
}

impl<const N: usize> Ring<N> {
    pub(crate) fn new(origin: Instant) -> Self {
        Self {
            origin,
            current: 0,
            slot: 0,
            end: origin + BUCKET,
            slots: [Counts::default(); N],
        }
    }

    fn bucket_of(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_secs() / BUCKET_SECS
    }

    /// The bucket `now` falls in, for counting. Time that goes backwards
    /// counts in the current bucket.
    #[inline]
    pub(crate) fn at(&mut self, now: Instant) -> &mut Counts {
        if now >= self.end {
            self.roll(now);
        }
        &mut self.slots[self.slot]
    }

    #[cold]
    #[inline(never)]
    fn roll(&mut self, now: Instant) {
        let target = self.bucket_of(now);
        if target <= self.current {
            return;
        }
        let steps = (target - self.current).min(N as u64);
        for step in 1..=steps {
            #[allow(clippy::cast_possible_truncation, reason = "the remainder is below N")]
            let slot = ((self.current + step) % N as u64) as usize;
            self.slots[slot] = Counts::default();
        }
        self.current = target;
        #[allow(clippy::cast_possible_truncation, reason = "the remainder is below N")]
        {
            self.slot = (target % N as u64) as usize;
        }
        self.end = self.origin + BUCKET * u32::try_from(target + 1).unwrap_or(u32::MAX);
    }

    fn slot(&self, bucket: u64) -> Option<&Counts> {
        if bucket > self.current || self.current - bucket >= N as u64 {
            return None;
        }
        #[allow(clippy::cast_possible_truncation, reason = "the remainder is below N")]
        let slot = (bucket % N as u64) as usize;
        Some(&self.slots[slot])
    }

    /// The last `buckets` buckets up to and including the one `now` falls in
    /// (partly elapsed): "the last minute" for thresholds.
    pub(crate) fn recent(&self, now: Instant, buckets: u64) -> Counts {
        let last = self.bucket_of(now).max(self.current);
        let mut sum = Counts::default();
        for bucket in (last + 1).saturating_sub(buckets)..=last {
            if let Some(counts) = self.slot(bucket) {
                sum.add(counts);
            }
        }
        sum
    }

    /// The last `buckets` complete buckets before the one `now` falls in,
    /// and the time they span (shorter while the ring is younger than the
    /// window): for trends, which lag by less than one bucket.
    pub(crate) fn complete(&self, now: Instant, buckets: u64) -> (Counts, Duration) {
        let last = self.bucket_of(now);
        let first = last.saturating_sub(buckets);
        let mut sum = Counts::default();
        for bucket in first..last {
            if let Some(counts) = self.slot(bucket) {
                sum.add(counts);
            }
        }
        let span = BUCKET * u32::try_from(last - first).unwrap_or(u32::MAX);
        (sum, span)
    }
}

/// Moving averages of one stream: messages/s, bytes/s, the normal silence
/// between messages and the event latency.
///
/// Messages are counted in periods of at least one second; the first
/// message after a period ends folds it into the averages (so folding costs
/// once per second, not per message) with weight `1 − 2^(−span / half-life)`.
#[derive(Debug, Clone)]
pub(crate) struct Meter {
    period_start: Option<Instant>,
    period_end: Option<Instant>,
    count: u64,
    bytes: u64,
    max_gap: Duration,
    latency_sum_ms: u64,
    latency_count: u64,
    rate: Option<f64>,
    byte_rate: f64,
    gap_secs: Option<f64>,
    latency_ms: Option<f64>,
}

const PERIOD: Duration = Duration::from_secs(1);

impl Meter {
    pub(crate) fn new() -> Self {
        Self {
            period_start: None,
            period_end: None,
            count: 0,
            bytes: 0,
            max_gap: Duration::ZERO,
            latency_sum_ms: 0,
            latency_count: 0,
            rate: None,
            byte_rate: 0.0,
            gap_secs: None,
            latency_ms: None,
        }
    }

    /// Counts one message. `gap` is the time since the stream's previous
    /// message (`None` for its first); `latency_ms` the event latency.
    #[inline]
    pub(crate) fn record(
        &mut self,
        bytes: u64,
        gap: Option<Duration>,
        latency_ms: Option<u64>,
        now: Instant,
        half_life: f64,
    ) {
        match self.period_end {
            Some(end) if now < end => {
                if let Some(gap) = gap
                    && gap > self.max_gap
                {
                    self.max_gap = gap;
                }
            }
            _ => self.fold(gap, now, half_life),
        }
        self.count += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if let Some(latency) = latency_ms {
            self.latency_sum_ms = self.latency_sum_ms.saturating_add(latency);
            self.latency_count += 1;
        }
    }

    #[cold]
    #[inline(never)]
    fn fold(&mut self, gap: Option<Duration>, now: Instant, half_life: f64) {
        if let Some(start) = self.period_start {
            let span = now.saturating_duration_since(start).as_secs_f64().max(1e-3);
            let alpha = weight(span, half_life);
            #[allow(clippy::cast_precision_loss, reason = "rates need no exact counts")]
            let (rate, byte_rate) = (self.count as f64 / span, self.bytes as f64 / span);
            // The byte rate starts with its first sample, like the message rate.
            self.byte_rate = ewma(self.rate.map(|_| self.byte_rate), byte_rate, alpha);
            self.rate = Some(ewma(self.rate, rate, alpha));
            let gap = gap
                .unwrap_or(Duration::ZERO)
                .max(self.max_gap)
                .as_secs_f64();
            self.gap_secs = Some(ewma(self.gap_secs, gap, alpha));
            if self.latency_count > 0 {
                #[allow(
                    clippy::cast_precision_loss,
                    reason = "milliseconds need no exact sums"
                )]
                let mean = self.latency_sum_ms as f64 / self.latency_count as f64;
                self.latency_ms = Some(ewma(self.latency_ms, mean, alpha));
            }
        }
        self.period_start = Some(now);
        self.period_end = Some(now + PERIOD);
        self.count = 0;
        self.bytes = 0;
        self.max_gap = Duration::ZERO;
        self.latency_sum_ms = 0;
        self.latency_count = 0;
    }

    /// The averages as of `now`, with the open period folded in when it is
    /// at least a second old, so a silent stream's rate decays to zero.
    pub(crate) fn read(&self, now: Instant, half_life: f64) -> MeterReading {
        let mut reading = MeterReading {
            messages_per_sec: self.rate.unwrap_or(0.0),
            bytes_per_sec: self.byte_rate,
            normal_gap: self.gap_secs.map(Duration::from_secs_f64),
            latency: self
                .latency_ms
                .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0)),
        };
        if let Some(start) = self.period_start {
            let span = now.saturating_duration_since(start).as_secs_f64();
            if span >= PERIOD.as_secs_f64() {
                let alpha = weight(span, half_life);
                #[allow(clippy::cast_precision_loss, reason = "rates need no exact counts")]
                let (rate, byte_rate) = (self.count as f64 / span, self.bytes as f64 / span);
                reading.messages_per_sec = ewma(self.rate, rate, alpha);
                reading.bytes_per_sec = ewma(self.rate.map(|_| self.byte_rate), byte_rate, alpha);
            }
        }
        reading
    }
}

/// What a [`Meter`] reads at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MeterReading {
    pub(crate) messages_per_sec: f64,
    pub(crate) bytes_per_sec: f64,
    /// The learned normal silence between messages, if known.
    pub(crate) normal_gap: Option<Duration>,
    pub(crate) latency: Option<Duration>,
}

/// The weight of a sample spanning `span` seconds: `1 − 2^(−span / half_life)`.
fn weight(span: f64, half_life: f64) -> f64 {
    1.0 - (-span / half_life).exp2()
}

fn ewma(previous: Option<f64>, sample: f64, alpha: f64) -> f64 {
    match previous {
        Some(previous) => previous + alpha * (sample - previous),
        None => sample,
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
    fn ring_recent_and_complete() {
        let t0 = t0();
        let mut ring: Ring<7> = Ring::new(t0);
        for s in 0..60 {
            ring.at(t0 + Duration::from_secs(s)).messages += 1;
        }
        let now = t0 + Duration::from_secs(60);
        let (counts, span) = ring.complete(now, 6);
        assert_eq!((counts.messages, span), (60, Duration::from_secs(60)));
        assert_eq!(ring.recent(now, 6).messages, 50);
        // Two minutes later every bucket is stale.
        let later = t0 + Duration::from_secs(180);
        assert_eq!(ring.recent(later, 6).messages, 0);
        ring.at(later).errors += 2;
        assert_eq!(
            ring.recent(later, 6),
            Counts {
                errors: 2,
                ..Counts::default()
            }
        );
        let (young, span) = Ring::<7>::new(t0).complete(t0 + Duration::from_secs(25), 6);
        assert_eq!((young.messages, span), (0, Duration::from_secs(20)));
    }

    #[test]
    fn meter_learns_rate_gap_and_latency() {
        let t0 = t0();
        let mut meter = Meter::new();
        let mut previous = None;
        for i in 0..100u64 {
            let now = t0 + Duration::from_millis(100 * i);
            let gap = previous.map(|p: Instant| now - p);
            meter.record(200, gap, Some(50), now, 10.0);
            previous = Some(now);
        }
        let reading = meter.read(t0 + Duration::from_millis(9_950), 10.0);
        assert!((reading.messages_per_sec - 10.0).abs() < 0.5, "{reading:?}");
        assert!(
            (reading.bytes_per_sec - 2000.0).abs() < 100.0,
            "{reading:?}"
        );
        let gap = reading.normal_gap.expect("learned");
        assert!(gap >= Duration::from_millis(99) && gap <= Duration::from_millis(101));
        assert_eq!(reading.latency, Some(Duration::from_millis(50)));
        // A minute of silence: the rate decays, the normal gap stays.
        let silent = meter.read(t0 + Duration::from_secs(70), 10.0);
        assert!(silent.messages_per_sec < 0.5, "{silent:?}");
        assert_eq!(silent.normal_gap, reading.normal_gap);
    }
}
