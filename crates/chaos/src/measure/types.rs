//! What the recorder is told, and what it answers: measures and the timeline.

use std::collections::BTreeMap;
use std::time::Duration;

use super::config::BinanceLimits;
use super::states::LaneKind;

/// One event delivered to the application, for
/// [`Recorder::on_event`](crate::Recorder::on_event).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// The event's id (aggTrade `a`, trade `t`, depth `u`), if it has one.
    pub id: Option<u64>,
    /// How old the event was when delivered (receive time minus the
    /// exchange's event time), if known; zero otherwise.
    pub age: Option<Duration>,
}

impl Delivered {
    /// An event with an id.
    #[must_use]
    pub fn id(id: u64) -> Self {
        Self {
            id: Some(id),
            age: None,
        }
    }

    /// An event without an id (a kline update, a ticker).
    #[must_use]
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// The same event, `age` old when delivered.
    #[must_use]
    pub fn aged(self, age: Duration) -> Self {
        Self {
            age: Some(age),
            ..self
        }
    }
}

/// The result of checking a delivered order book against the exchange's,
/// for [`Recorder::on_book_check`](crate::Recorder::on_book_check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookCheck {
    /// The book matched.
    Consistent,
    /// The book differed: the client served a wrong book.
    Mismatch,
}

/// Names a fault window opened by
/// [`Recorder::on_fault_start`](crate::Recorder::on_fault_start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultMark(pub(crate) usize);

/// A duration statistic over several samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeStats {
    /// How many samples.
    pub count: u64,
    /// Their mean, if any.
    #[serde(with = "crate::secs::option")]
    pub mean: Option<Duration>,
    /// The largest, if any.
    #[serde(with = "crate::secs::option")]
    pub max: Option<Duration>,
}

impl TimeStats {
    pub(crate) fn of(samples: &[Duration]) -> Self {
        let count = samples.len() as u64;
        let total: Duration = samples.iter().sum();
        Self {
            count,
            mean: u32::try_from(count)
                .ok()
                .filter(|&n| n > 0)
                .map(|n| total / n),
            max: samples.iter().max().copied(),
        }
    }
}

/// How a stream's lost events were counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossBasis {
    /// Against the truth: expected ids never delivered.
    Truth,
    /// From holes between the lowest and highest id delivered (contiguous
    /// ids, no truth).
    IdHoles,
    /// Not counted: no truth and ids that need not be contiguous.
    Unknown,
}

/// The measures of one stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamMeasures {
    /// The interval the stream was judged by.
    #[serde(with = "crate::secs")]
    pub expected_interval: Duration,
    /// Events delivered.
    pub events: u64,
    /// Share of the observed time during which the last event was at most
    /// `expected_interval` old, 0 to 1.
    pub availability: f64,
    /// Silences longer than `expected_interval` (one in progress at the end
    /// included).
    pub outages: u64,
    /// Available time divided by outages; `None` without outages.
    #[serde(with = "crate::secs::option")]
    pub mtbf: Option<Duration>,
    /// From each fault's start to the stream's first event after it.
    pub mttr: TimeStats,
    /// From each fault's end to the stream's first event after it.
    pub recovery_after_clear: TimeStats,
    /// How long the oldest fault still without an event after it has been
    /// waiting at the end; `None` when every fault was followed by an event.
    #[serde(with = "crate::secs::option")]
    pub unrecovered_for: Option<Duration>,
    /// The longest time between two events (or from the start of
    /// observation to the first, or from the last to the end).
    #[serde(with = "crate::secs")]
    pub max_gap: Duration,
    /// The oldest the freshest delivered data got: at any moment, now minus
    /// the newest event time delivered so far.
    #[serde(with = "crate::secs")]
    pub max_data_age: Duration,
    /// Expected events never delivered (see `loss_basis`).
    pub lost: u64,
    /// Deliveries of an id already delivered.
    pub duplicated: u64,
    /// Deliveries of a new id lower than one delivered before.
    pub out_of_order: u64,
    /// Delivered ids the truth does not hold.
    pub unexpected: u64,
    /// How `lost` was counted.
    pub loss_basis: LossBasis,
    /// Gaps the client reported itself (explicit `Gap` events).
    pub gaps_reported: u64,
    /// Order-book checks made.
    pub book_checks: u64,
    /// Order-book checks that found a wrong book.
    pub book_mismatches: u64,
}

/// The limits the client was held to and what was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LimitsMeasured {
    /// The limits.
    pub allowed: BinanceLimits,
    /// The most frames sent in any rolling second on one connection.
    pub frames_per_sec_max: Option<u64>,
    /// The most connection attempts in any rolling 5 minutes.
    pub connection_attempts_5min_max: Option<u64>,
    /// Connection attempts counted over the whole run.
    pub connection_attempts: u64,
    /// The most REST weight in any rolling minute.
    pub rest_weight_1m_max: Option<u64>,
    /// Every known figure is within its limit.
    pub respected: bool,
}

/// Measures across streams.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Overall {
    /// Events delivered on every stream.
    pub events: u64,
    /// Fault windows opened.
    pub faults: u64,
    /// Faults after which every stream delivered again in time.
    pub faults_recovered: u64,
    /// Faults after which some stream did not.
    pub faults_unrecovered: u64,
    /// Faults not judged: still active, no stream delivering when they
    /// began, or their deadline not yet over at the end.
    pub faults_undecided: u64,
    /// `faults_recovered` over the judged faults; `None` when none was.
    pub recovery_success_rate: Option<f64>,
    /// MTTR over every (fault, stream) pair.
    pub mttr: TimeStats,
    /// Time connected divided by connection failures; `None` without
    /// failures (or without connection states).
    #[serde(with = "crate::secs::option")]
    pub mtbf: Option<Duration>,
    /// Connections that left `connected` for anything but `closed`.
    pub connection_failures: u64,
    /// Time spent connected, summed over connections.
    #[serde(with = "crate::secs")]
    pub connected_time: Duration,
    /// The lowest stream availability; `None` without streams.
    pub min_availability: Option<f64>,
    /// Lost events on every stream.
    pub lost: u64,
    /// Duplicated deliveries on every stream.
    pub duplicated: u64,
    /// Out-of-order deliveries on every stream.
    pub out_of_order: u64,
    /// Wrong books on every stream.
    pub book_mismatches: u64,
    /// The largest `max_data_age` of any stream.
    #[serde(with = "crate::secs")]
    pub max_data_age: Duration,
    /// Binance limits.
    pub limits: LimitsMeasured,
}

/// Every measure of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measures {
    /// From the recorder's start to `finish`.
    #[serde(with = "crate::secs")]
    pub duration: Duration,
    /// Per stream, by name.
    pub streams: BTreeMap<String, StreamMeasures>,
    /// Across streams.
    pub overall: Overall,
}

/// A fault window, in time since the start.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FaultWindow {
    /// What the fault was (`blackhole downstream`).
    pub label: String,
    /// When it began.
    #[serde(with = "crate::secs")]
    pub start: Duration,
    /// When it ended; `None` if still active at the end.
    #[serde(with = "crate::secs::option")]
    pub end: Option<Duration>,
}

/// One change of state in a lane.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateChange {
    /// When, since the start.
    #[serde(with = "crate::secs")]
    pub at: Duration,
    /// The new state's label (`connected`, `open`, `degraded`).
    pub state: String,
    /// How bad it is, 0 to 4.
    pub severity: u8,
}

/// A lane of states over time: one connection, one breaker, or health.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lane {
    /// What the lane shows.
    pub kind: LaneKind,
    /// Which connection or breaker (`system` for health).
    pub name: String,
    /// The changes, in time order.
    pub changes: Vec<StateChange>,
}

/// What happened over time, for the report's picture.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timeline {
    /// The width of a bucket.
    #[serde(with = "crate::secs")]
    pub bucket: Duration,
    /// From the start to the end.
    #[serde(with = "crate::secs")]
    pub duration: Duration,
    /// Events per bucket, per stream; every vector covers the whole run.
    pub streams: BTreeMap<String, Vec<u64>>,
    /// Fault windows, in order of start.
    pub faults: Vec<FaultWindow>,
    /// State lanes: connections, then breakers, then health.
    pub lanes: Vec<Lane>,
}

/// What [`Recorder::finish`](crate::Recorder::finish) returns.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recording {
    /// The measures.
    pub measures: Measures,
    /// The timeline.
    pub timeline: Timeline,
}
