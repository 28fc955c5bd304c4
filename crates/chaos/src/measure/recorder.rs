//! The recorder: told what happened and when, it counts, and computes the
//! measures and the timeline on demand.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::config::{ObservedLimits, RecorderConfig, StreamSpec};
use super::ids::IdSet;
use super::states::{BreakerState, ConnState, HealthLevel, LaneKind};
use super::stream::{MAX_BUCKETS, StreamLog};
use super::types::{
    BookCheck, Delivered, FaultMark, FaultWindow, Lane, LimitsMeasured, Measures, Overall,
    Recording, StateChange, TimeStats, Timeline,
};
use super::window::RollingMax;
use crate::Error;

/// Counts what a client delivered while faults came and went, and computes
/// the resilience measures from those counts.
///
/// Sans-IO: it never reads the clock. Every observation carries its instant
/// (`at`), and observations must come in time order; an instant earlier than
/// a stream's previous one counts as that one. Instants before the
/// recorder's start count as the start.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// use chaos::{Delivered, Recorder, RecorderConfig, StreamSpec};
///
/// let t0 = Instant::now();
/// let s = |secs: u64| t0 + Duration::from_secs(secs);
/// let mut recorder = Recorder::new(RecorderConfig::default(), t0)?;
/// recorder.declare_stream("btcusdt@aggTrade", StreamSpec::every(Duration::from_secs(1)).contiguous(), t0);
/// recorder.on_event("btcusdt@aggTrade", Delivered::id(1), s(1));
/// let fault = recorder.on_fault_start("blackhole downstream", s(2));
/// recorder.on_fault_end(fault, s(5));
/// recorder.on_event("btcusdt@aggTrade", Delivered::id(2), s(6));
///
/// let measures = recorder.finish(s(6)).measures;
/// let stream = &measures.streams["btcusdt@aggTrade"];
/// assert_eq!(stream.mttr.max, Some(Duration::from_secs(4)));   // 2 s → 6 s
/// assert_eq!(stream.availability, 2.0 / 6.0);                  // silent 1 s → 6 s: 4 s beyond 1 s
/// assert_eq!(measures.overall.recovery_success_rate, Some(1.0));
/// # Ok::<(), chaos::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Recorder {
    config: RecorderConfig,
    start: Instant,
    streams: BTreeMap<String, StreamLog>,
    faults: Vec<FaultWindow>,
    lanes: BTreeMap<(LaneKind, String), Vec<StateChange>>,
    attempts: RollingMax,
    frames: BTreeMap<String, RollingMax>,
    rest_weight: RollingMax,
    observed: ObservedLimits,
}

impl Recorder {
    /// A recorder whose time starts at `start`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the configuration breaks a rule.
    pub fn new(config: RecorderConfig, start: Instant) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            start,
            streams: BTreeMap::new(),
            faults: Vec::new(),
            lanes: BTreeMap::new(),
            attempts: RollingMax::new(Duration::from_secs(300)),
            frames: BTreeMap::new(),
            rest_weight: RollingMax::new(Duration::from_secs(60)),
            observed: ObservedLimits::default(),
        })
    }

    /// The instant the recorder's time starts at.
    #[must_use]
    pub fn start(&self) -> Instant {
        self.start
    }

    fn offset(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    fn stream(&mut self, stream: &str, at: Duration) -> &mut StreamLog {
        let spec = self.config.default_stream;
        self.streams
            .entry(stream.to_owned())
            .or_insert_with(|| StreamLog::new(spec, at))
    }

    /// Announces a stream (at subscription): its availability is measured
    /// from `at`, so a slow first event counts against it. A stream never
    /// declared is measured from its first event with the default spec.
    /// Declaring a stream again changes its spec from then on.
    pub fn declare_stream(&mut self, stream: &str, spec: StreamSpec, at: Instant) {
        let at = self.offset(at);
        match self.streams.get_mut(stream) {
            Some(log) => log.set_spec(spec),
            None => {
                self.streams
                    .insert(stream.to_owned(), StreamLog::new(spec, at));
            }
        }
    }

    /// Gives the ids the stream should deliver over the run (from the
    /// simulator's history, say), so lost and unexpected events are counted
    /// exactly. Ids are taken to increase in delivery order.
    pub fn set_truth(&mut self, stream: &str, ids: impl IntoIterator<Item = u64>) {
        let mut truth = IdSet::default();
        for id in ids {
            truth.insert(id);
        }
        let spec = self.config.default_stream;
        self.streams
            .entry(stream.to_owned())
            .or_insert_with(|| StreamLog::new(spec, Duration::ZERO))
            .truth = Some(truth);
    }

    /// An event delivered to the application.
    pub fn on_event(&mut self, stream: &str, delivered: Delivered, at: Instant) {
        let at = self.offset(at);
        let bucket = self.config.bucket;
        self.stream(stream, at).on_event(delivered, at, bucket);
    }

    /// The client reported a gap on the stream (events it could not recover).
    pub fn on_gap_reported(&mut self, stream: &str, at: Instant) {
        let at = self.offset(at);
        self.stream(stream, at).on_gap_reported();
    }

    /// The delivered order book of a stream was checked against the
    /// exchange's.
    pub fn on_book_check(&mut self, stream: &str, check: BookCheck, at: Instant) {
        let at = self.offset(at);
        self.stream(stream, at).on_book_check(check);
    }

    /// A fault began (`label` says what: a [`Fault`](crate::Fault)'s
    /// `to_string()`, or a simulator fault). Faults may overlap.
    pub fn on_fault_start(&mut self, label: impl Into<String>, at: Instant) -> FaultMark {
        let at = self.offset(at);
        let index = self.faults.len();
        self.faults.push(FaultWindow {
            label: label.into(),
            start: at,
            end: None,
        });
        for log in self.streams.values_mut() {
            log.on_fault_start(index, at);
        }
        FaultMark(index)
    }

    /// The fault ended; ending it again changes nothing.
    pub fn on_fault_end(&mut self, mark: FaultMark, at: Instant) {
        let at = self.offset(at);
        let Some(window) = self.faults.get_mut(mark.0) else {
            return;
        };
        if window.end.is_some() {
            return;
        }
        let end = at.max(window.start);
        window.end = Some(end);
        for log in self.streams.values_mut() {
            log.on_fault_end(mark.0, end);
        }
    }

    fn lane(&mut self, kind: LaneKind, name: &str, state: &str, severity: u8, at: Instant) {
        let at = self.offset(at);
        let changes = self.lanes.entry((kind, name.to_owned())).or_default();
        if changes.last().is_some_and(|last| last.state == state) {
            return;
        }
        let at = changes.last().map_or(at, |last| at.max(last.at));
        changes.push(StateChange {
            at,
            state: state.to_owned(),
            severity,
        });
    }

    /// A connection changed state.
    pub fn on_connection_state(&mut self, connection: &str, state: ConnState, at: Instant) {
        self.lane(
            LaneKind::Connection,
            connection,
            state.as_str(),
            state.severity(),
            at,
        );
    }

    /// A circuit breaker changed state.
    pub fn on_breaker(&mut self, breaker: &str, state: BreakerState, at: Instant) {
        self.lane(
            LaneKind::Breaker,
            breaker,
            state.as_str(),
            state.severity(),
            at,
        );
    }

    /// The system's health level changed.
    pub fn on_health(&mut self, level: HealthLevel, at: Instant) {
        self.lane(
            LaneKind::Health,
            "system",
            level.as_str(),
            level.severity(),
            at,
        );
    }

    /// The client began a connection attempt (counted per rolling 5 minutes).
    pub fn on_connection_attempt(&mut self, at: Instant) {
        let at = self.offset(at);
        self.attempts.add(at, 1);
    }

    /// The client sent a frame on a connection (counted per rolling second).
    pub fn on_outbound_frame(&mut self, connection: &str, at: Instant) {
        let at = self.offset(at);
        self.frames
            .entry(connection.to_owned())
            .or_insert_with(|| RollingMax::new(Duration::from_secs(1)))
            .add(at, 1);
    }

    /// The client made a REST request of this weight (counted per rolling
    /// minute).
    pub fn on_rest_weight(&mut self, weight: u64, at: Instant) {
        let at = self.offset(at);
        self.rest_weight.add(at, weight);
    }

    /// Limits as another party counted them; each figure keeps the largest
    /// value given here or counted by the recorder.
    pub fn on_limits(&mut self, observed: ObservedLimits) {
        let max = |a: Option<u64>, b: Option<u64>| a.max(b);
        self.observed = ObservedLimits {
            frames_per_sec_max: max(
                self.observed.frames_per_sec_max,
                observed.frames_per_sec_max,
            ),
            connection_attempts_5min_max: max(
                self.observed.connection_attempts_5min_max,
                observed.connection_attempts_5min_max,
            ),
            rest_weight_1m_max: max(
                self.observed.rest_weight_1m_max,
                observed.rest_weight_1m_max,
            ),
        };
    }

    /// The measures and the timeline as if the run ended at `now`; the
    /// recorder can go on recording afterwards.
    #[must_use]
    pub fn finish(&self, now: Instant) -> Recording {
        let end = self.offset(now);
        let streams: BTreeMap<String, _> = self
            .streams
            .iter()
            .map(|(name, log)| (name.clone(), log.measures(end)))
            .collect();
        let (recovered, unrecovered, undecided) = self.judge_faults(end);
        let (connected_time, connection_failures) = self.connection_uptime(end);
        let mttr_samples: Vec<Duration> = self
            .streams
            .values()
            .flat_map(|log| log.mttr_samples().iter().copied())
            .collect();
        let judged = recovered + unrecovered;
        #[allow(clippy::cast_precision_loss, reason = "fault counts are small")]
        let recovery_success_rate = (judged > 0).then(|| recovered as f64 / judged as f64);
        let overall = Overall {
            events: streams.values().map(|s| s.events).sum(),
            faults: self.faults.len() as u64,
            faults_recovered: recovered,
            faults_unrecovered: unrecovered,
            faults_undecided: undecided,
            recovery_success_rate,
            mttr: TimeStats::of(&mttr_samples),
            mtbf: u32::try_from(connection_failures)
                .ok()
                .filter(|&n| n > 0)
                .map(|n| connected_time / n),
            connection_failures,
            connected_time,
            min_availability: streams.values().map(|s| s.availability).reduce(f64::min),
            lost: streams.values().map(|s| s.lost).sum(),
            duplicated: streams.values().map(|s| s.duplicated).sum(),
            out_of_order: streams.values().map(|s| s.out_of_order).sum(),
            book_mismatches: streams.values().map(|s| s.book_mismatches).sum(),
            max_data_age: streams
                .values()
                .map(|s| s.max_data_age)
                .max()
                .unwrap_or_default(),
            limits: self.limits(),
        };
        Recording {
            measures: Measures {
                duration: end,
                streams,
                overall,
            },
            timeline: self.timeline(end),
        }
    }

    /// Counts faults recovered, unrecovered and undecided at `end`.
    fn judge_faults(&self, end: Duration) -> (u64, u64, u64) {
        let deadline = self.config.recovery_deadline;
        let (mut recovered, mut unrecovered, mut undecided) = (0, 0, 0);
        for (index, window) in self.faults.iter().enumerate() {
            let affected: Vec<&StreamLog> = self
                .streams
                .values()
                .filter(|log| log.affected_by.contains(&index))
                .collect();
            let Some(fault_end) = window.end else {
                undecided += 1;
                continue;
            };
            if affected.is_empty() {
                undecided += 1;
                continue;
            }
            let in_time = |log: &&StreamLog| {
                log.first_after_end
                    .get(&index)
                    .is_some_and(|&at| at.saturating_sub(fault_end) <= deadline)
            };
            if affected.iter().all(in_time) {
                recovered += 1;
            } else if end.saturating_sub(fault_end) > deadline {
                // A stream that delivered late, or not at all, by the deadline.
                unrecovered += 1;
            } else {
                undecided += 1;
            }
        }
        (recovered, unrecovered, undecided)
    }

    /// Time connected and failures (leaving `connected` for anything but
    /// `closed`), over every connection lane.
    fn connection_uptime(&self, end: Duration) -> (Duration, u64) {
        let mut connected = Duration::ZERO;
        let mut failures = 0;
        for ((kind, _), changes) in &self.lanes {
            if *kind != LaneKind::Connection {
                continue;
            }
            let mut up_since: Option<Duration> = None;
            for change in changes {
                let is_up = change.state == ConnState::Connected.as_str();
                match (up_since, is_up) {
                    (None, true) => up_since = Some(change.at),
                    (Some(since), false) => {
                        connected += change.at.saturating_sub(since);
                        up_since = None;
                        if change.state != ConnState::Closed.as_str() {
                            failures += 1;
                        }
                    }
                    _ => {}
                }
            }
            if let Some(since) = up_since {
                connected += end.saturating_sub(since);
            }
        }
        (connected, failures)
    }

    fn limits(&self) -> LimitsMeasured {
        let allowed = self.config.limits;
        let counted = |window: &RollingMax| (window.total() > 0).then(|| window.max());
        let frames = self.frames.values().map(RollingMax::max).max();
        let frames_per_sec_max = frames.max(self.observed.frames_per_sec_max);
        let connection_attempts_5min_max =
            counted(&self.attempts).max(self.observed.connection_attempts_5min_max);
        let rest_weight_1m_max = counted(&self.rest_weight).max(self.observed.rest_weight_1m_max);
        let within = |figure: Option<u64>, limit: u64| figure.is_none_or(|f| f <= limit);
        LimitsMeasured {
            allowed,
            frames_per_sec_max,
            connection_attempts_5min_max,
            connection_attempts: self.attempts.total(),
            rest_weight_1m_max,
            respected: within(frames_per_sec_max, allowed.frames_per_sec)
                && within(
                    connection_attempts_5min_max,
                    allowed.connection_attempts_per_5min,
                )
                && within(rest_weight_1m_max, allowed.rest_weight_per_min),
        }
    }

    fn timeline(&self, end: Duration) -> Timeline {
        let bucket = self.config.bucket;
        let buckets = usize::try_from(end.as_nanos().div_ceil(bucket.as_nanos().max(1)))
            .unwrap_or(MAX_BUCKETS)
            .min(MAX_BUCKETS);
        let streams = self
            .streams
            .iter()
            .map(|(name, log)| {
                let mut counts = log.buckets.clone();
                counts.resize(buckets.max(counts.len()), 0);
                (name.clone(), counts)
            })
            .collect();
        let lanes = self
            .lanes
            .iter()
            .map(|((kind, name), changes)| Lane {
                kind: *kind,
                name: name.clone(),
                changes: changes.clone(),
            })
            .collect();
        Timeline {
            bucket,
            duration: end,
            streams,
            faults: self.faults.clone(),
            lanes,
        }
    }
}
