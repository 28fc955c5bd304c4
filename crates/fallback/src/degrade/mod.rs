//! The degradation plan: per stream, live, polled, stale or unavailable,
//! from the WebSocket's and REST's availability, with a poll plan within
//! the REST budget for the polled ones.

mod types;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::time::Instant;

pub use types::{
    PlanEvent, PlanSnapshot, Polling, RestAvailability, ServiceLevel, StreamStatus, WsAvailability,
};

use crate::planner::{PollPlan, PollPlanner, PollRequest};
use crate::{Error, Feed, PollBudget};

#[derive(Debug, Clone)]
struct Stream<K> {
    key: K,
    polling: Polling,
    feed: Feed,
    has_value: bool,
    status: StreamStatus,
}

/// Decides, per stream, how it is served when WebSocket endpoints fail:
/// live, polled within the REST budget, stale (its last value) or
/// unavailable, and says so with an event for every change.
///
/// The rule for one stream (`docs/fallback.md`):
///
/// | its feed | WebSocket endpoints | pollable and REST available | status |
/// |---|---|---|---|
/// | live | any | any | live |
/// | failed | any | yes | polled |
/// | interrupted | all unusable | yes | polled |
/// | otherwise | | | stale if it ever had a value, else unavailable |
///
/// A brief interruption (a reconnect) is not polled: the connection is
/// expected back before a poll would help. Polled streams share the
/// polling share of the REST budget ([`PollPlanner`]); the plan is redone
/// whenever the polled set changes, with a [`PlanEvent::PollPlanChanged`].
#[derive(Debug, Clone)]
pub struct DegradationPlan<K> {
    planner: PollPlanner,
    streams: Vec<Stream<K>>,
    index: HashMap<K, usize>,
    websocket: WsAvailability,
    rest: RestAvailability,
    plan: PollPlan<K>,
    service: ServiceLevel,
    events: VecDeque<PlanEvent<K>>,
    dropped_events: u64,
}

impl<K: Clone + Eq + Hash + fmt::Debug> DegradationPlan<K> {
    /// An empty plan polling within `budget`; WebSocket usable, REST
    /// available.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `budget` breaks a rule of
    /// [`PollBudget::validate`].
    pub fn new(budget: PollBudget) -> Result<Self, Error> {
        let plan = PollPlan::empty(&budget);
        Ok(Self {
            planner: PollPlanner::new(budget)?,
            streams: Vec::new(),
            index: HashMap::new(),
            websocket: WsAvailability::Usable,
            rest: RestAvailability::Available,
            plan,
            service: ServiceLevel::Full,
            events: VecDeque::new(),
            dropped_events: 0,
        })
    }

    /// Adds a stream, its feed [`Feed::Interrupted`] until told otherwise;
    /// returns its status.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateStream`] if it is already in the plan;
    /// [`Error::InvalidStream`] if its polling weight or interval is out of
    /// range (see [`PollRequest`]).
    pub fn add_stream(
        &mut self,
        stream: K,
        polling: Polling,
        now: Instant,
    ) -> Result<StreamStatus, Error> {
        if self.index.contains_key(&stream) {
            return Err(Error::duplicate_stream(&stream));
        }
        if let Polling::Supported {
            weight,
            normal_interval,
        } = polling
        {
            // Checked now, so a later re-plan cannot fail on it.
            self.planner
                .plan([PollRequest::new(stream.clone(), weight, normal_interval)])?;
        }
        let entry = Stream {
            key: stream.clone(),
            polling,
            feed: Feed::Interrupted,
            has_value: false,
            status: StreamStatus::Unavailable,
        };
        let status = self.rule(&entry);
        self.index.insert(stream, self.streams.len());
        self.streams.push(Stream { status, ..entry });
        self.settle(now);
        Ok(status)
    }

    /// Removes a stream (unsubscribed).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownStream`] if it is not in the plan.
    pub fn remove_stream(&mut self, stream: &K, now: Instant) -> Result<(), Error> {
        let i = self.position(stream)?;
        self.index.remove(stream);
        self.streams.swap_remove(i);
        if let Some(moved) = self.streams.get(i) {
            self.index.insert(moved.key.clone(), i);
        }
        self.settle(now);
        Ok(())
    }

    /// What the stream's connection means for it
    /// ([`ConnectionMachine::feed`](crate::ConnectionMachine::feed)).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownStream`] if it is not in the plan.
    pub fn set_feed(&mut self, stream: &K, feed: Feed, now: Instant) -> Result<(), Error> {
        let i = self.position(stream)?;
        self.streams[i].feed = feed;
        self.settle(now);
        Ok(())
    }

    /// [`set_feed`](Self::set_feed) for many streams at once (a
    /// connection's), with one re-plan.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownStream`] for the first stream not in the plan; the
    /// streams before it are updated.
    pub fn set_feeds<'a>(
        &mut self,
        streams: impl IntoIterator<Item = &'a K>,
        feed: Feed,
        now: Instant,
    ) -> Result<(), Error>
    where
        K: 'a,
    {
        let mut result = Ok(());
        for stream in streams {
            match self.position(stream) {
                Ok(i) => self.streams[i].feed = feed,
                Err(error) => {
                    result = Err(error);
                    break;
                }
            }
        }
        self.settle(now);
        result
    }

    /// Whether any WebSocket endpoint is usable.
    pub fn set_websocket(&mut self, websocket: WsAvailability, now: Instant) {
        self.websocket = websocket;
        self.settle(now);
    }

    /// Whether REST requests may be made.
    pub fn set_rest(&mut self, rest: RestAvailability, now: Instant) {
        self.rest = rest;
        self.settle(now);
    }

    /// A value of `stream` was received (from any source): from now on it
    /// is stale rather than unavailable when not served. Cheap after the
    /// first call.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownStream`] if it is not in the plan.
    pub fn on_value(&mut self, stream: &K, now: Instant) -> Result<(), Error> {
        let i = self.position(stream)?;
        if !self.streams[i].has_value {
            self.streams[i].has_value = true;
            self.settle(now);
        }
        Ok(())
    }

    /// A stream's status; `None` if it is not in the plan.
    #[must_use]
    pub fn status(&self, stream: &K) -> Option<StreamStatus> {
        self.index.get(stream).map(|&i| self.streams[i].status)
    }

    /// Every stream and its status.
    pub fn statuses(&self) -> impl ExactSizeIterator<Item = (&K, StreamStatus)> {
        self.streams.iter().map(|s| (&s.key, s.status))
    }

    /// The poll intervals of the polled streams.
    #[must_use]
    pub fn poll_plan(&self) -> &PollPlan<K> {
        &self.plan
    }

    /// The service level.
    #[must_use]
    pub fn service(&self) -> ServiceLevel {
        self.service
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<PlanEvent<K>> {
        self.events.pop_front()
    }

    /// Counts by status, and the inputs as last reported.
    #[must_use]
    pub fn snapshot(&self) -> PlanSnapshot {
        let count = |status| self.streams.iter().filter(|s| s.status == status).count();
        PlanSnapshot {
            service: self.service,
            live: count(StreamStatus::Live),
            polled: count(StreamStatus::Polled),
            polled_slower: self.plan.slowed(),
            stale: count(StreamStatus::Stale),
            unavailable: count(StreamStatus::Unavailable),
            websocket: self.websocket,
            rest: self.rest,
            poll_weight_per_window: self.plan.weight_per_window(),
            poll_budget_per_window: self.plan.budget_per_window(),
            dropped_events: self.dropped_events,
        }
    }

    fn position(&self, stream: &K) -> Result<usize, Error> {
        self.index
            .get(stream)
            .copied()
            .ok_or_else(|| Error::unknown_stream(stream))
    }

    fn rule(&self, stream: &Stream<K>) -> StreamStatus {
        let poll_wanted = stream.feed == Feed::Failed || self.websocket == WsAvailability::Unusable;
        let pollable = matches!(stream.polling, Polling::Supported { .. })
            && self.rest == RestAvailability::Available;
        if stream.feed == Feed::Live {
            StreamStatus::Live
        } else if poll_wanted && pollable {
            StreamStatus::Polled
        } else if stream.has_value {
            StreamStatus::Stale
        } else {
            StreamStatus::Unavailable
        }
    }

    /// Recomputes every status, the poll plan and the service level, with
    /// an event for each change.
    fn settle(&mut self, now: Instant) {
        let mut polled_changed = false;
        for i in 0..self.streams.len() {
            let status = self.rule(&self.streams[i]);
            let stream = &mut self.streams[i];
            if status == stream.status {
                continue;
            }
            let from = std::mem::replace(&mut stream.status, status);
            polled_changed |= from == StreamStatus::Polled || status == StreamStatus::Polled;
            let event = PlanEvent::StatusChanged {
                stream: stream.key.clone(),
                from,
                to: status,
                at: now,
            };
            self.push(event);
        }
        let polled = self
            .streams
            .iter()
            .filter(|s| s.status == StreamStatus::Polled)
            .count();
        if polled_changed || polled != self.plan.len() {
            self.replan(now);
        }
        let service = self.service_level();
        if service != self.service {
            let from = std::mem::replace(&mut self.service, service);
            self.push(PlanEvent::ServiceChanged {
                from,
                to: service,
                at: now,
            });
        }
    }

    fn polled_requests(&self) -> Vec<PollRequest<K>> {
        self.streams
            .iter()
            .filter(|s| s.status == StreamStatus::Polled)
            .filter_map(|s| match s.polling {
                Polling::Supported {
                    weight,
                    normal_interval,
                } => Some(PollRequest::new(s.key.clone(), weight, normal_interval)),
                Polling::Unsupported => None,
            })
            .collect()
    }

    fn replan(&mut self, now: Instant) {
        let polled = self.polled_requests();
        // Every request was validated when its stream was added and keys
        // are unique, so planning cannot fail; an empty plan is the safe
        // answer if it ever did.
        self.plan = self
            .planner
            .plan(polled)
            .unwrap_or_else(|_| PollPlan::empty(self.planner.budget()));
        let event = PlanEvent::PollPlanChanged {
            at: now,
            polled: self.plan.len(),
            slowed: self.plan.slowed(),
        };
        self.push(event);
    }

    fn service_level(&self) -> ServiceLevel {
        let served = self.streams.iter().filter(|s| s.status.is_served()).count();
        let live = self
            .streams
            .iter()
            .filter(|s| s.status == StreamStatus::Live)
            .count();
        let total = self.streams.len();
        if live == total {
            ServiceLevel::Full
        } else if served == total {
            ServiceLevel::Degraded
        } else if served > 0 {
            ServiceLevel::Partial
        } else {
            ServiceLevel::Down
        }
    }

    fn push(&mut self, event: PlanEvent<K>) {
        // Room for every stream to change twice between polls.
        let capacity = self.streams.len().saturating_mul(2).max(64);
        while self.events.len() >= capacity {
            self.events.pop_front();
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
        self.events.push_back(event);
    }
}
