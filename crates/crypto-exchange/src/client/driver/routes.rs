//! Routing inside one connection driver: which subscribers get each stream's
//! events, and the per-stream high-water mark that removes duplicates.
//!
//! Every stream is served by exactly one driver, so its routes live in that
//! driver's task. Delivering an event stages it for each subscriber (no lock, no
//! allocation once the staging buffers have grown); [`Routes::flush`] hands each
//! subscriber its staged events at the end of a burst of frames, one lock and at
//! most one wake-up per subscriber (`client/sink.rs`).

use std::collections::HashMap;
use std::hash::Hash;

use super::decode::Span;
use crate::client::sink::Sender;

/// The maps of the per-event path: streams and subscribers are keys the client
/// made itself, so a fast hash without flooding resistance is enough.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Identifies one subscription handle of the client.
pub(crate) type SinkId = u64;

/// One stream's route.
#[derive(Debug, Clone)]
pub(crate) struct Route<T> {
    sinks: Vec<(SinkId, Sender<T>)>,
    /// The highest key delivered on this stream.
    last_key: Option<u64>,
    /// Whether the server confirmed the subscription on the current connection.
    pub(crate) confirmed: bool,
    /// While a missed range is being backfilled: the live events held back, in
    /// arrival order, with their ordering spans.
    held: Option<Vec<(Option<Span>, T)>>,
    /// The stream's handle in the client's health monitor, once registered.
    pub(crate) health: Option<health::StreamId>,
}

impl<T> Route<T> {
    fn new() -> Self {
        Route {
            sinks: Vec::new(),
            last_key: None,
            confirmed: false,
            held: None,
            health: None,
        }
    }

    /// The highest key delivered so far.
    pub(crate) fn last_key(&self) -> Option<u64> {
        self.last_key
    }
}

/// What delivering an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// Sent to this many subscribers.
    To(usize),
    /// Not sent: its key was not above the last one delivered on the stream.
    Duplicate,
    /// The stream has no route here (an event for a stream not subscribed).
    Unrouted,
}

/// What offering a live event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offered {
    /// Delivered (or dropped as a duplicate, or unrouted): see [`Delivered`].
    Delivered(Delivered),
    /// Held back: the stream is being backfilled.
    Held,
    /// The event skips ids: it is held back, and `from..=to` must be backfilled.
    Gap {
        /// The first missing id.
        from: u64,
        /// The last missing id.
        to: u64,
    },
    /// Held back too many events while backfilling: the backfill is abandoned;
    /// the caller reports `from..=to` as lost and releases the held events.
    Overflow {
        /// The first id that will not be recovered.
        from: u64,
        /// The last id that will not be recovered.
        to: u64,
    },
}

/// Live events a stream may hold back while it is backfilled.
pub(crate) const MAX_HELD: usize = 200_000;

/// Events staged for one subscriber until the next [`Routes::flush`].
#[derive(Debug)]
struct Staged<T> {
    sender: Sender<T>,
    events: Vec<T>,
    /// Streams of this driver the subscriber receives.
    streams: usize,
}

impl<T> Clone for Staged<T> {
    /// A copy for a checkpoint: staged events belong to this driver alone (and
    /// are flushed before any checkpoint).
    fn clone(&self) -> Self {
        Staged {
            sender: self.sender.clone(),
            events: Vec::new(),
            streams: self.streams,
        }
    }
}

/// Staged events of one subscriber are handed over when this many are waiting
/// (or half its buffer, if smaller), even within a burst: a long release of held
/// events then reaches a subscriber that keeps up, instead of overflowing it.
const FLUSH_AT: usize = 256;

/// Every stream's route, in subscription order (restored in that order).
#[derive(Debug, Clone)]
pub(crate) struct Routes<S, T> {
    order: Vec<S>,
    routes: FastMap<S, Route<T>>,
    /// Each subscriber's staged events.
    outbox: FastMap<SinkId, Staged<T>>,
    /// Subscribers with staged events, in the order they got their first.
    dirty: Vec<SinkId>,
}

impl<S, T> Default for Routes<S, T> {
    fn default() -> Self {
        Routes {
            order: Vec::new(),
            routes: FastMap::default(),
            outbox: FastMap::default(),
            dirty: Vec::new(),
        }
    }
}

/// Stages `event` for each of `sinks`; the number of subscribers still there.
fn stage<T: Clone>(
    outbox: &mut FastMap<SinkId, Staged<T>>,
    dirty: &mut Vec<SinkId>,
    sinks: &[(SinkId, Sender<T>)],
    event: T,
) -> usize {
    let mut sent = 0;
    let Some(((last_id, _), rest)) = sinks.split_last() else {
        return 0;
    };
    for (id, _) in rest {
        sent += usize::from(stage_one(outbox, dirty, *id, event.clone()));
    }
    sent + usize::from(stage_one(outbox, dirty, *last_id, event))
}

fn stage_one<T>(
    outbox: &mut FastMap<SinkId, Staged<T>>,
    dirty: &mut Vec<SinkId>,
    id: SinkId,
    event: T,
) -> bool {
    let Some(staged) = outbox.get_mut(&id) else {
        return false;
    };
    // A subscriber whose handle is gone is not staged for; its drop also tells
    // the driver, which removes its routes.
    if !staged.sender.is_open() {
        return false;
    }
    if staged.events.is_empty() {
        dirty.push(id);
    }
    staged.events.push(event);
    if staged.events.len() >= FLUSH_AT.min(staged.sender.capacity() / 2).max(1) {
        staged.sender.send_batch(&mut staged.events);
    }
    true
}

impl<S: Clone + Eq + Hash, T: Clone> Routes<S, T> {
    /// Adds a subscriber to a stream; returns true when the stream is new here
    /// (and so must be subscribed on the connection).
    pub(crate) fn add(&mut self, stream: &S, sink: SinkId, sender: Sender<T>) -> bool {
        let new = !self.routes.contains_key(stream);
        if new {
            self.order.push(stream.clone());
        }
        let route = self.routes.entry(stream.clone()).or_insert_with(Route::new);
        if !route.sinks.iter().any(|(id, _)| *id == sink) {
            match self.outbox.get_mut(&sink) {
                Some(staged) => staged.streams += 1,
                None => {
                    self.outbox.insert(
                        sink,
                        Staged {
                            sender: sender.clone(),
                            events: Vec::new(),
                            streams: 1,
                        },
                    );
                }
            }
            route.sinks.push((sink, sender));
        }
        new
    }

    /// Hands every subscriber the events staged for it since the last flush.
    pub(crate) fn flush(&mut self) {
        for id in self.dirty.drain(..) {
            if let Some(staged) = self.outbox.get_mut(&id) {
                staged.sender.send_batch(&mut staged.events);
            }
        }
    }

    /// Removes a subscriber from a stream; returns true when nobody listens to the
    /// stream any more (so it must be unsubscribed on the connection).
    pub(crate) fn remove(&mut self, stream: &S, sink: SinkId) -> bool {
        let Some(route) = self.routes.get_mut(stream) else {
            return false;
        };
        let before = route.sinks.len();
        route.sinks.retain(|(id, _)| *id != sink);
        if route.sinks.len() < before
            && let Some(staged) = self.outbox.get_mut(&sink)
        {
            staged.streams -= 1;
            if staged.streams == 0 {
                // Hand over what is staged before forgetting the subscriber.
                staged.sender.send_batch(&mut staged.events);
                self.outbox.remove(&sink);
            }
        }
        if route.sinks.is_empty() {
            self.routes.remove(stream);
            self.order.retain(|s| s != stream);
            return true;
        }
        false
    }

    /// The streams, in subscription order.
    pub(crate) fn streams(&self) -> &[S] {
        &self.order
    }

    /// The number of streams.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// One stream's route.
    pub(crate) fn get(&self, stream: &S) -> Option<&Route<T>> {
        self.routes.get(stream)
    }

    /// One stream's route, mutable.
    pub(crate) fn get_mut(&mut self, stream: &S) -> Option<&mut Route<T>> {
        self.routes.get_mut(stream)
    }

    /// Marks every stream unconfirmed (a new connection must confirm again).
    pub(crate) fn unconfirm_all(&mut self) {
        for route in self.routes.values_mut() {
            route.confirmed = false;
        }
    }

    /// True when every stream is confirmed on the current connection.
    pub(crate) fn all_confirmed(&self) -> bool {
        self.routes.values().all(|r| r.confirmed)
    }

    /// Offers a live event: delivered at once, unless the stream is being
    /// backfilled (held back), or `backfillable` and the event's contiguous span
    /// skips ids after the last delivered one (held back; the caller starts a
    /// backfill of the range).
    pub(crate) fn offer(
        &mut self,
        stream: &S,
        span: Option<Span>,
        event: T,
        backfillable: bool,
    ) -> Offered {
        let Some(route) = self.routes.get_mut(stream) else {
            return Offered::Delivered(Delivered::Unrouted);
        };
        if let Some(held) = &mut route.held {
            held.push((span, event));
            if held.len() >= MAX_HELD {
                let from = route.last_key.map_or(0, |k| k + 1);
                let to = held
                    .iter()
                    .find_map(|(s, _)| s.map(|s| s.first))
                    .map_or(from, |first| first.saturating_sub(1));
                return Offered::Overflow { from, to };
            }
            return Offered::Held;
        }
        if backfillable
            && let (Some(span), Some(last)) = (span, route.last_key)
            && span.contiguous
            && span.first > last.saturating_add(1)
        {
            route.held = Some(vec![(Some(span), event)]);
            return Offered::Gap {
                from: last + 1,
                to: span.first - 1,
            };
        }
        Offered::Delivered(Self::deliver_to(
            route,
            &mut self.outbox,
            &mut self.dirty,
            span.map(|s| s.last),
            event,
        ))
    }

    /// True while the stream holds live events back for a backfill.
    pub(crate) fn is_held(&self, stream: &S) -> bool {
        self.routes.get(stream).is_some_and(|r| r.held.is_some())
    }

    /// The span of the first held-back event of a stream.
    pub(crate) fn first_held_span(&self, stream: &S) -> Option<Span> {
        self.routes
            .get(stream)?
            .held
            .as_ref()?
            .iter()
            .find_map(|(span, _)| *span)
    }

    /// Ends a backfill: returns the held-back live events (to offer again, in order).
    pub(crate) fn release(&mut self, stream: &S) -> Vec<(Option<Span>, T)> {
        self.routes
            .get_mut(stream)
            .and_then(|r| r.held.take())
            .unwrap_or_default()
    }

    /// Ids up to `to` will never be delivered (reported lost): raises the stream's
    /// high-water mark to `to`, so that what follows the lost range continues it.
    pub(crate) fn skip_to(&mut self, stream: &S, to: u64) {
        if let Some(route) = self.routes.get_mut(stream)
            && route.last_key.is_none_or(|last| last < to)
        {
            route.last_key = Some(to);
        }
    }

    /// Sends a notice (no ordering key, never a duplicate) to the stream's subscribers.
    pub(crate) fn notify(&mut self, stream: &S, notice: &T) {
        if let Some(route) = self.routes.get(stream) {
            stage(
                &mut self.outbox,
                &mut self.dirty,
                &route.sinks,
                notice.clone(),
            );
        }
    }

    /// Delivers an event to the stream's subscribers, unless its ordering `key` (an
    /// id or time that grows along the stream) is not above the last one delivered.
    ///
    /// A subscriber that is behind is not waited for: the channel drops its oldest
    /// events and the subscriber sees `Lagged`. The event is staged: subscribers
    /// get it at the next [`flush`](Self::flush).
    pub(crate) fn deliver(&mut self, stream: &S, key: Option<u64>, event: T) -> Delivered {
        let Some(route) = self.routes.get_mut(stream) else {
            return Delivered::Unrouted;
        };
        Self::deliver_to(route, &mut self.outbox, &mut self.dirty, key, event)
    }

    fn deliver_to(
        route: &mut Route<T>,
        outbox: &mut FastMap<SinkId, Staged<T>>,
        dirty: &mut Vec<SinkId>,
        key: Option<u64>,
        event: T,
    ) -> Delivered {
        if let Some(key) = key {
            if route.last_key.is_some_and(|last| key <= last) {
                return Delivered::Duplicate;
            }
            route.last_key = Some(key);
        }
        Delivered::To(stage(outbox, dirty, &route.sinks, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::sink::{Recv, channel};

    #[derive(Debug, Clone, PartialEq)]
    struct Ev(Option<u64>);

    fn deliver(routes: &mut Routes<&'static str, Ev>, stream: &'static str, ev: Ev) -> Delivered {
        routes.deliver(&stream, ev.0, ev)
    }

    #[test]
    fn delivers_in_order_and_drops_duplicates() {
        let mut routes = Routes::default();
        let (tx, mut rx) = channel(16);
        assert!(routes.add(&"btcusdt@aggTrade", 1, tx.clone()));
        assert!(!routes.add(&"btcusdt@aggTrade", 1, tx));
        assert_eq!(
            deliver(&mut routes, "btcusdt@aggTrade", Ev(Some(5))),
            Delivered::To(1)
        );
        assert_eq!(
            deliver(&mut routes, "btcusdt@aggTrade", Ev(Some(5))),
            Delivered::Duplicate
        );
        assert_eq!(
            deliver(&mut routes, "btcusdt@aggTrade", Ev(Some(4))),
            Delivered::Duplicate
        );
        assert_eq!(
            deliver(&mut routes, "btcusdt@aggTrade", Ev(Some(6))),
            Delivered::To(1)
        );
        assert_eq!(
            deliver(&mut routes, "btcusdt@aggTrade", Ev(None)),
            Delivered::To(1)
        );
        assert_eq!(
            deliver(&mut routes, "ethusdt@aggTrade", Ev(Some(1))),
            Delivered::Unrouted
        );
        // Staged until the end of the burst.
        assert_eq!(rx.try_recv(), None);
        routes.flush();
        assert_eq!(rx.try_recv(), Some(Recv::Item(Ev(Some(5)))));
        assert_eq!(rx.try_recv(), Some(Recv::Item(Ev(Some(6)))));
        assert_eq!(rx.try_recv(), Some(Recv::Item(Ev(None))));
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn each_subscriber_gets_its_streams_in_arrival_order_once_per_flush() {
        let mut routes: Routes<&'static str, Ev> = Routes::default();
        let (one, mut rx_one) = channel(16);
        let (two, mut rx_two) = channel(16);
        routes.add(&"a", 1, one.clone());
        routes.add(&"b", 1, one);
        routes.add(&"b", 2, two);
        for (stream, key) in [("a", 1), ("b", 1), ("a", 2), ("b", 2)] {
            routes.deliver(
                &stream,
                Some(key),
                Ev(Some(key * 10 + u64::from(stream == "b"))),
            );
        }
        routes.flush();
        let got = |rx: &mut crate::client::sink::Receiver<Ev>| {
            std::iter::from_fn(|| rx.try_recv()).collect::<Vec<_>>()
        };
        let item = |v| Recv::Item(Ev(Some(v)));
        assert_eq!(
            got(&mut rx_one),
            vec![item(10), item(11), item(20), item(21)]
        );
        assert_eq!(got(&mut rx_two), vec![item(11), item(21)]);
    }

    #[test]
    fn a_long_burst_reaches_the_subscriber_before_the_flush() {
        let mut routes: Routes<&'static str, Ev> = Routes::default();
        let (tx, mut rx) = channel(100_000);
        routes.add(&"a", 1, tx);
        for key in 0..(FLUSH_AT as u64) {
            routes.deliver(&"a", Some(key), Ev(Some(key)));
        }
        assert_eq!(rx.try_recv(), Some(Recv::Item(Ev(Some(0)))));
    }

    #[test]
    fn removing_the_last_subscriber_unsubscribes() {
        let mut routes: Routes<&'static str, Ev> = Routes::default();
        let (tx, _rx) = channel(4);
        routes.add(&"a", 1, tx.clone());
        routes.add(&"a", 2, tx.clone());
        routes.add(&"b", 2, tx);
        assert!(!routes.remove(&"a", 1));
        assert!(routes.remove(&"a", 2));
        assert!(routes.remove(&"b", 2));
        assert_eq!(routes.len(), 0);
    }
}
