//! Resilience measures computed by counting: a sans-IO [`Recorder`] told
//! what was delivered and when faults came and went, and a [`Verdict`] that
//! checks the measures against [`Guarantees`].

mod config;
mod ids;
mod recorder;
mod states;
mod stream;
mod types;
mod verdict;
mod window;

pub use config::{BinanceLimits, Ids, ObservedLimits, RecorderConfig, StreamSpec};
pub use recorder::Recorder;
pub use states::{BreakerState, ConnState, HealthLevel, LaneKind};
pub use types::{
    BookCheck, Delivered, FaultMark, FaultWindow, Lane, LimitsMeasured, LossBasis, Measures,
    Overall, Recording, StateChange, StreamMeasures, TimeStats, Timeline,
};
pub use verdict::{Guarantees, LimitKind, LimitsRule, Verdict, Violation};
