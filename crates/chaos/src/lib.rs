//! Fault injection for network clients (placeholder docs, rewritten below).

mod error;
mod measure;
mod proxy;
mod report;
mod secs;

pub use error::Error;
pub use measure::{
    BinanceLimits, BookCheck, BreakerState, ConnState, Delivered, FaultMark, FaultWindow,
    Guarantees, HealthLevel, Ids, Lane, LaneKind, LimitKind, LimitsMeasured, LimitsRule,
    LossBasis, Measures, ObservedLimits, Overall, Recorder, RecorderConfig, Recording,
    StateChange, StreamMeasures, StreamSpec, TimeStats, Timeline, Verdict, Violation,
};
pub use proxy::{
    Direction, DirectionCounters, Fault, FaultId, MAX_FAULT_DURATION, Proxy, ProxyConfig,
    ProxyCounters,
};
pub use report::{Report, ReportFiles};
