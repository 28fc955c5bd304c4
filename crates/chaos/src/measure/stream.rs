//! What the recorder keeps per stream, updated as events arrive, so a run
//! of millions of events needs no list of them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::config::{Ids, StreamSpec};
use super::ids::IdSet;
use super::types::{BookCheck, Delivered, LossBasis, StreamMeasures, TimeStats};

/// The most timeline buckets kept per stream; later events count in the
/// last one. With 1 s buckets, eleven days.
pub(crate) const MAX_BUCKETS: usize = 1_000_000;

#[derive(Debug, Clone)]
pub(crate) struct StreamLog {
    spec: StreamSpec,
    /// Availability is measured from here.
    since: Duration,
    silences: Silences,
    delivered_any: bool,
    events: u64,
    /// The newest event time delivered, in nanoseconds since the start
    /// (negative for events older than the start).
    newest_event: Option<i128>,
    max_data_age: Duration,
    ids: IdSet,
    max_id: Option<u64>,
    duplicated: u64,
    out_of_order: u64,
    pub(crate) truth: Option<IdSet>,
    pub(crate) buckets: Vec<u64>,
    /// Faults waiting for this stream's first event after they began.
    pending_start: Vec<Duration>,
    /// Faults waiting for this stream's first event after they ended.
    pending_end: Vec<(usize, Duration)>,
    mttr: Vec<Duration>,
    after_clear: Vec<Duration>,
    /// Faults this stream was delivering before.
    pub(crate) affected_by: BTreeSet<usize>,
    /// For each fault that ended, when this stream's next event came.
    pub(crate) first_after_end: BTreeMap<usize, Duration>,
    gaps_reported: u64,
    book_checks: u64,
    book_mismatches: u64,
}

fn nanos(d: Duration) -> i128 {
    i128::try_from(d.as_nanos()).unwrap_or(i128::MAX)
}

fn from_nanos(n: i128) -> Duration {
    // Negative ages (an event time after its receipt: clock skew) count as zero.
    u64::try_from(n.max(0)).map_or(Duration::MAX, Duration::from_nanos)
}

impl StreamLog {
    pub(crate) fn new(spec: StreamSpec, since: Duration) -> Self {
        Self {
            spec,
            since,
            silences: Silences {
                expected: spec.expected_interval,
                last: since,
                unavailable: Duration::ZERO,
                outages: 0,
                max_gap: Duration::ZERO,
            },
            delivered_any: false,
            events: 0,
            newest_event: None,
            max_data_age: Duration::ZERO,
            ids: IdSet::default(),
            max_id: None,
            duplicated: 0,
            out_of_order: 0,
            truth: None,
            buckets: Vec::new(),
            pending_start: Vec::new(),
            pending_end: Vec::new(),
            mttr: Vec::new(),
            after_clear: Vec::new(),
            affected_by: BTreeSet::new(),
            first_after_end: BTreeMap::new(),
            gaps_reported: 0,
            book_checks: 0,
            book_mismatches: 0,
        }
    }

    /// Judges the stream by `spec` from now on.
    pub(crate) fn set_spec(&mut self, spec: StreamSpec) {
        self.spec = spec;
        self.silences.expected = spec.expected_interval;
    }

    pub(crate) fn on_event(&mut self, delivered: Delivered, at: Duration, bucket: Duration) {
        // Observations come in time order; an earlier one counts as now.
        let at = at.max(self.silences.last);
        self.silences.until(at);
        self.delivered_any = true;
        self.events += 1;

        let now = nanos(at);
        if let Some(newest) = self.newest_event {
            self.max_data_age = self.max_data_age.max(from_nanos(now - newest));
        }
        let event_time = now - nanos(delivered.age.unwrap_or_default());
        let newest = self.newest_event.map_or(event_time, |n| n.max(event_time));
        self.newest_event = Some(newest);
        self.max_data_age = self.max_data_age.max(from_nanos(now - newest));

        if let Some(id) = delivered.id {
            if !self.ids.insert(id) {
                self.duplicated += 1;
            } else if self.max_id.is_some_and(|max| id < max) {
                self.out_of_order += 1;
            }
            self.max_id = Some(self.max_id.map_or(id, |max| max.max(id)));
        }

        let index = usize::try_from(at.as_nanos() / bucket.as_nanos().max(1))
            .unwrap_or(usize::MAX)
            .min(MAX_BUCKETS - 1);
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, 0);
        }
        self.buckets[index] += 1;

        for start in self.pending_start.drain(..) {
            self.mttr.push(at.saturating_sub(start));
        }
        for (fault, end) in self.pending_end.drain(..) {
            self.after_clear.push(at.saturating_sub(end));
            self.first_after_end.insert(fault, at);
        }
    }

    pub(crate) fn on_fault_start(&mut self, fault: usize, at: Duration) {
        if self.delivered_any {
            self.pending_start.push(at);
            self.affected_by.insert(fault);
        }
    }

    pub(crate) fn on_fault_end(&mut self, fault: usize, at: Duration) {
        if self.affected_by.contains(&fault) {
            self.pending_end.push((fault, at));
        }
    }

    pub(crate) fn on_gap_reported(&mut self) {
        self.gaps_reported += 1;
    }

    pub(crate) fn on_book_check(&mut self, check: BookCheck) {
        self.book_checks += 1;
        if check == BookCheck::Mismatch {
            self.book_mismatches += 1;
        }
    }

    /// The measures as if the run ended at `end`.
    pub(crate) fn measures(&self, end: Duration) -> StreamMeasures {
        // The silence from the last event to the end counts too.
        let end = end.max(self.silences.last);
        let mut tail = self.silences;
        tail.until(end);
        let observed = end.saturating_sub(self.since);
        let available = observed.saturating_sub(tail.unavailable);
        let availability = if observed.is_zero() {
            1.0
        } else {
            available.as_secs_f64() / observed.as_secs_f64()
        };
        let max_data_age = self.newest_event.map_or(Duration::ZERO, |newest| {
            self.max_data_age.max(from_nanos(nanos(end) - newest))
        });
        let (lost, unexpected, loss_basis) = match (&self.truth, self.spec.ids) {
            (Some(truth), _) => {
                let common = truth.common(&self.ids);
                (
                    truth.len() - common,
                    self.ids.len() - common,
                    LossBasis::Truth,
                )
            }
            (None, Ids::Contiguous) => (self.ids.holes(), 0, LossBasis::IdHoles),
            (None, Ids::Increasing) => (0, 0, LossBasis::Unknown),
        };
        StreamMeasures {
            expected_interval: self.spec.expected_interval,
            events: self.events,
            availability,
            outages: tail.outages,
            mtbf: u32::try_from(tail.outages)
                .ok()
                .filter(|&n| n > 0)
                .map(|n| available / n),
            mttr: TimeStats::of(&self.mttr),
            recovery_after_clear: TimeStats::of(&self.after_clear),
            unrecovered_for: self
                .pending_start
                .iter()
                .min()
                .map(|&start| end.saturating_sub(start)),
            max_gap: tail.max_gap,
            max_data_age,
            lost,
            duplicated: self.duplicated,
            out_of_order: self.out_of_order,
            unexpected,
            loss_basis,
            gaps_reported: self.gaps_reported,
            book_checks: self.book_checks,
            book_mismatches: self.book_mismatches,
        }
    }

    /// Each fault's time to the first event after it, for the overall MTTR.
    pub(crate) fn mttr_samples(&self) -> &[Duration] {
        &self.mttr
    }
}

/// The silences between events: what availability, outages and the
/// longest gap are made of.
#[derive(Debug, Clone, Copy)]
struct Silences {
    expected: Duration,
    /// The last event, or the start of observation before the first.
    last: Duration,
    unavailable: Duration,
    outages: u64,
    max_gap: Duration,
}

impl Silences {
    /// The silence from the last event to `at`, which ends it.
    fn until(&mut self, at: Duration) {
        let gap = at.saturating_sub(self.last);
        self.max_gap = self.max_gap.max(gap);
        if gap > self.expected {
            self.unavailable += gap - self.expected;
            self.outages += 1;
        }
        self.last = at;
    }
}
