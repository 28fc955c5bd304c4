//! Graceful degradation (placeholder docs, rewritten below).
#![doc(test(attr(deny(warnings))))]

mod cache;
mod config;
mod connection;
mod degrade;
mod endpoint;
mod error;
mod planner;

#[cfg(feature = "tokio")]
pub mod rt;

pub use cache::{Cached, LastValues, Source};
pub use config::{CacheConfig, ConnectionConfig, EndpointConfig, MAX_DURATION, PollBudget};
pub use connection::{
    ConnState, ConnectionMachine, ConnectionSnapshot, ErrorClass, Feed, Link, Reason, Signal,
    Transition,
};
pub use degrade::{
    DegradationPlan, PlanEvent, PlanSnapshot, Polling, RestAvailability, ServiceLevel,
    StreamStatus, WsAvailability,
};
pub use endpoint::{
    BreakerState, EndpointEvent, EndpointHealth, EndpointSet, EndpointSnapshot, EndpointStatus,
    FailoverCause, SelectReason, Selection,
};
pub use error::Error;
pub use planner::{MAX_POLL_WEIGHT, PollAssignment, PollPlan, PollPlanner, PollRequest};
