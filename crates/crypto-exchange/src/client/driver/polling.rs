//! Graceful degradation inside one driver: the connection's state machine
//! (`fallback::ConnectionMachine`), what it means for the driver's streams in
//! the client's degradation plan, REST polling of the streams the plan says
//! are polled, and the last-known values the driver delivers.
//!
//! Polling runs only in the waiting loop (`Driver::between`): while the
//! driver connects, waits for a reconnect or for a breaker. Each polled
//! stream is polled at the interval the client's planner gave it (within the
//! REST budget), first at its offset so polls spread out; one poll per
//! stream is in flight at a time. A connection that opens makes the machine
//! "up", the plan live, and polling stops.
//!
//! Polled events go through the stream's route like any other: trade ids
//! through the high-water mark (a poll continues from the last id delivered,
//! so ids stay continuous across both switches, and a reconnect's gap
//! detection backfills the rest), latest values without a position.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use fallback::{ConnectionMachine, Feed, Polling, Signal, Transition};
use ws_transport::Connector;

use super::decode::{BackfillMsg, Decode};
use super::endpoints::now;
use super::routes::Delivered;
use super::{Delivery, Driver, Waited};
use crate::client::config::PollingMode;
use crate::client::degrade::Assigned;
use crate::client::lifecycle::Lifecycle;

/// The tag of poll results on the driver's backfill channel.
pub(super) const POLL: u64 = u64::MAX;

/// What an operator's `trigger_fallback` asks of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FallbackKind {
    /// Move the connection to the best other endpoint now (make-before-break
    /// when connected); it stays there until the client's own choice of
    /// endpoint changes.
    Endpoint,
    /// Close the connection and serve its streams by REST polling until
    /// [`Client::trigger_recovery`](crate::Client::trigger_recovery).
    Polling,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    interval: Duration,
    next: Instant,
    inflight: bool,
}

/// The driver's polled streams and when each is due.
#[derive(Debug)]
pub(super) struct Poller<S> {
    active: bool,
    slots: HashMap<S, Slot>,
}

impl<S> Default for Poller<S> {
    fn default() -> Self {
        Poller {
            active: false,
            slots: HashMap::new(),
        }
    }
}

impl<S: Clone + Eq + Hash> Poller<S> {
    /// Takes the plan's assignments; true when the set or an interval changed.
    fn update(&mut self, assigned: &[Assigned<S>], now: Instant) -> bool {
        let mut changed = assigned.len() != self.slots.len();
        self.slots
            .retain(|s, _| assigned.iter().any(|a| &a.stream == s));
        for a in assigned {
            match self.slots.get_mut(&a.stream) {
                Some(slot) if slot.interval == a.interval => {}
                Some(slot) => {
                    changed = true;
                    slot.interval = a.interval;
                    slot.next = slot.next.min(later(now, a.interval));
                }
                None => {
                    changed = true;
                    let slot = Slot {
                        interval: a.interval,
                        next: later(now, a.offset),
                        inflight: false,
                    };
                    self.slots.insert(a.stream.clone(), slot);
                }
            }
        }
        changed
    }

    /// When the next poll is due.
    fn next_due(&self) -> Option<Instant> {
        self.slots
            .values()
            .filter(|s| !s.inflight && s.interval != Duration::MAX)
            .map(|s| s.next)
            .min()
    }

    /// The streams due at `now`, marked in flight and scheduled again.
    fn take_due(&mut self, now: Instant) -> Vec<S> {
        let mut due = Vec::new();
        for (stream, slot) in &mut self.slots {
            if !slot.inflight && slot.interval != Duration::MAX && slot.next <= now {
                slot.inflight = true;
                // Keep the cadence, but never schedule into the past.
                slot.next = later(slot.next, slot.interval).max(now);
                due.push(stream.clone());
            }
        }
        due
    }

    fn done(&mut self, stream: &S) {
        if let Some(slot) = self.slots.get_mut(stream) {
            slot.inflight = false;
        }
    }

    fn contains(&self, stream: &S) -> bool {
        self.slots.contains_key(stream)
    }
}

fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by).unwrap_or(at + Duration::from_secs(365 * 24 * 3600))
}

/// Sleeps until `at`, or forever without one.
pub(super) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

impl<C, D> Driver<C, D>
where
    C: Connector + Clone + Send + Sync + 'static,
    D: Decode,
{
    /// Applies a signal to the connection machine; a transition updates the
    /// plan and polling.
    pub(super) fn signal(&mut self, signal: Signal) {
        let now = now();
        let transition = self
            .machine
            .as_mut()
            .and_then(|machine| machine.on_signal(signal, now));
        if let Some(transition) = transition {
            self.on_transition(transition);
        }
    }

    fn on_transition(&mut self, transition: Transition) {
        tracing::debug!(connection = self.spec.id, from = %transition.from, to = %transition.to, reason = ?transition.reason, "connection state");
        self.emit(Lifecycle::State {
            connection: self.spec.id,
            from: transition.from.as_str().to_owned(),
            to: transition.to.as_str().to_owned(),
        });
        self.publish_feed();
    }

    /// What the connection means for its streams now.
    fn feed(&self) -> Feed {
        if self.forced_polling {
            return Feed::Failed;
        }
        self.machine
            .as_ref()
            .map_or(Feed::Interrupted, ConnectionMachine::feed)
    }

    /// Tells the plan the feed of every stream of this driver, and polls
    /// what it says is polled.
    pub(super) fn publish_feed(&mut self) {
        if let Some(degrade) = &self.spec.degrade {
            degrade.set_feeds(self.routes.streams(), self.feed(), now());
        }
        self.sync_polling();
    }

    /// Registers new streams with the plan (and their expected intervals
    /// with the cache).
    pub(super) fn plan_added(&mut self, streams: &[D::Stream]) {
        let Some(degrade) = self.spec.degrade.clone() else {
            return;
        };
        let now = now();
        let feed = self.feed();
        for stream in streams {
            let (polling, expected) = match &self.spec.poll {
                Some(poll) => (poll.polling(stream), poll.expected_interval(stream)),
                None => (Polling::Unsupported, None),
            };
            let polling = match self.spec.config.fallback.polling {
                PollingMode::Enabled => polling,
                _ => Polling::Unsupported,
            };
            degrade.add_stream(stream, polling, expected, feed, now);
        }
        self.sync_polling();
    }

    /// Removes unsubscribed streams from the plan.
    pub(super) fn plan_removed(&mut self, streams: &[D::Stream]) {
        if let Some(degrade) = &self.spec.degrade {
            for stream in streams {
                degrade.remove_stream(stream, now());
            }
        }
        self.sync_polling();
    }

    /// When the waiting loop must wake up for the fallback: a machine
    /// deadline or a poll.
    pub(super) fn fallback_deadline(&self) -> Option<Instant> {
        let machine = self.machine.as_ref().and_then(ConnectionMachine::poll_timeout);
        let poll = self.poller.next_due();
        match (machine, poll) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// At the fallback deadline: the machine's time rules, then due polls.
    pub(super) fn on_fallback_timer(&mut self) {
        let now = now();
        let transition = self.machine.as_mut().and_then(|machine| {
            machine
                .poll_timeout()
                .filter(|&at| at <= now)
                .and_then(|_| machine.handle_timeout(now))
        });
        if let Some(transition) = transition {
            self.on_transition(transition);
        }
        self.poll_due(now);
    }

    /// Starts or stops polling this driver's streams as the plan says.
    pub(super) fn sync_polling(&mut self) {
        let Some(degrade) = self.spec.degrade.clone() else {
            return;
        };
        let assigned = degrade.polled(self.routes.streams());
        let now = now();
        if assigned.is_empty() {
            if self.poller.active {
                self.poller = Poller::default();
                tracing::info!(connection = self.spec.id, "polling stopped");
                self.emit(Lifecycle::PollingStopped {
                    connection: self.spec.id,
                });
                self.signal(Signal::PollingStopped);
            }
            return;
        }
        let changed = self.poller.update(&assigned, now);
        let slowed = assigned.iter().filter(|a| a.slower_than_normal).count();
        let signal = Lifecycle::Polling {
            connection: self.spec.id,
            streams: assigned.len(),
            slowed,
        };
        if !self.poller.active {
            self.poller.active = true;
            tracing::warn!(connection = self.spec.id, streams = assigned.len(), slowed, "no WebSocket: serving streams by REST polling");
            self.emit(signal);
            self.signal(Signal::PollingStarted);
        } else if changed {
            self.emit(signal);
        }
    }

    /// Starts the polls due at `now`.
    fn poll_due(&mut self, now: Instant) {
        let Some(poll) = self.spec.poll.clone() else {
            return;
        };
        for stream in self.poller.take_due(now) {
            // A backfill of the stream is under way: it fetches these ids.
            if self.routes.is_held(&stream) {
                self.poller.done(&stream);
                continue;
            }
            let next_id = self
                .routes
                .get(&stream)
                .and_then(super::routes::Route::last_key)
                .map(|last| last.saturating_add(1));
            self.spec.counters.poll();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            poll.start(stream, next_id, tx);
            let out = self.backfill_tx.clone();
            tokio::spawn(async move {
                while let Some(msg) = rx.recv().await {
                    if out.send((POLL, msg)).is_err() {
                        break;
                    }
                }
            });
        }
    }

    /// Delivers what a poll got. Trade ids continue the stream: one at or
    /// below the high-water mark is a duplicate, one beyond the next id
    /// means the exchange no longer has the ids between (a `Gap`).
    pub(super) fn on_polled(&mut self, msg: BackfillMsg<D::Stream, D::Event>) {
        let stream = msg.stream;
        let polling = self.poller.contains(&stream);
        self.poller.done(&stream);
        if self.routes.is_held(&stream) {
            return;
        }
        for (span, event) in msg.events {
            let key = match span {
                Some(span) if span.contiguous => {
                    let last = self
                        .routes
                        .get(&stream)
                        .and_then(super::routes::Route::last_key);
                    if let Some(last) = last
                        && span.first > last.saturating_add(1)
                    {
                        self.lost(&stream, last + 1, span.first - 1);
                        self.routes.skip_to(&stream, span.first - 1);
                    }
                    Some(span.last)
                }
                // A latest value that arrives after polling stopped is older
                // than what the WebSocket delivers now.
                _ if !polling => continue,
                other => other.map(|s| s.last),
            };
            self.observe_event(&stream, 0, &event);
            self.remember(&stream, &event);
            match self.routes.deliver(&stream, key, Delivery::Event(event)) {
                Delivered::To(_) => self.spec.counters.polled(),
                Delivered::Duplicate => self.spec.counters.duplicate(),
                Delivered::Unrouted => {}
            }
        }
    }

    /// Keeps `event` as its stream's latest, for the cache (flushed in batches).
    #[inline]
    pub(super) fn remember(&mut self, stream: &D::Stream, event: &D::Event) {
        if self.spec.degrade.is_none() {
            return;
        }
        if let Some(slot) = self.latest.get_mut(stream) {
            slot.clone_from(event);
        } else {
            self.latest.insert(stream.clone(), event.clone());
        }
    }

    /// Stores the remembered latest values in the client's cache.
    pub(super) fn flush_latest(&mut self) {
        if self.latest.is_empty() {
            return;
        }
        if let Some(degrade) = &self.spec.degrade {
            let values = self.latest.drain().map(|(s, e)| {
                let source = D::source(&e);
                (s, e, source)
            });
            degrade.record(values, now());
        } else {
            self.latest.clear();
        }
    }

    /// An operator's `trigger_fallback`; `true` when the waiting loop should
    /// act on it at once.
    pub(super) fn on_trigger(&mut self, kind: FallbackKind, connected: bool) -> bool {
        match kind {
            FallbackKind::Endpoint => {
                let Some(target) = self.spec.endpoints.best_other(self.endpoint, now()) else {
                    tracing::warn!(connection = self.spec.id, "no other usable endpoint to move to");
                    return false;
                };
                self.pin = Some(super::endpoints::Pin {
                    endpoint: target,
                    set_current: self.spec.endpoints.current(),
                });
                self.emit(Lifecycle::EndpointSwitched {
                    from: Some(self.endpoint()),
                    to: self.spec.endpoints.get(target).key.clone(),
                    reason: "requested".to_owned(),
                });
                if connected {
                    self.rotate_to = Some(target);
                    self.rotate_requested = Some(super::ENDPOINT_SWITCH);
                }
                true
            }
            FallbackKind::Polling => {
                self.forced_polling = true;
                self.publish_feed();
                true
            }
        }
    }

    /// While polling is forced: serve commands and poll until a
    /// `trigger_recovery`; `false` on shutdown.
    pub(super) async fn hold_polling(&mut self) -> bool {
        while self.forced_polling {
            match self.between(std::future::pending::<()>(), true).await {
                Waited::Shutdown => return false,
                Waited::Retry => {
                    self.forced_polling = false;
                    self.publish_feed();
                }
                Waited::Done(()) | Waited::Triggered => {}
            }
        }
        true
    }
}
