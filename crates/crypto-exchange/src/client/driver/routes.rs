//! Routing inside one connection driver: which subscribers get each stream's
//! events, and the per-stream high-water mark that removes duplicates.
//!
//! Every stream is served by exactly one driver, so its routes live in that
//! driver's task: delivering an event takes no lock and no allocation beyond the
//! channel's own slot.

use std::collections::HashMap;
use std::hash::Hash;

use super::decode::Span;

use tokio::sync::broadcast;

/// Identifies one subscription handle of the client.
pub(crate) type SinkId = u64;

/// One stream's route.
#[derive(Debug, Clone)]
pub(crate) struct Route<T> {
    sinks: Vec<(SinkId, broadcast::Sender<T>)>,
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

/// Every stream's route, in subscription order (restored in that order).
#[derive(Debug, Clone)]
pub(crate) struct Routes<S, T> {
    order: Vec<S>,
    routes: HashMap<S, Route<T>>,
}

impl<S, T> Default for Routes<S, T> {
    fn default() -> Self {
        Routes {
            order: Vec::new(),
            routes: HashMap::new(),
        }
    }
}

impl<S: Clone + Eq + Hash, T: Clone> Routes<S, T> {
    /// Adds a subscriber to a stream; returns true when the stream is new here
    /// (and so must be subscribed on the connection).
    pub(crate) fn add(&mut self, stream: &S, sink: SinkId, sender: broadcast::Sender<T>) -> bool {
        let new = !self.routes.contains_key(stream);
        if new {
            self.order.push(stream.clone());
        }
        let route = self.routes.entry(stream.clone()).or_insert_with(Route::new);
        if !route.sinks.iter().any(|(id, _)| *id == sink) {
            route.sinks.push((sink, sender));
        }
        new
    }

    /// Removes a subscriber from a stream; returns true when nobody listens to the
    /// stream any more (so it must be unsubscribed on the connection).
    pub(crate) fn remove(&mut self, stream: &S, sink: SinkId) -> bool {
        let Some(route) = self.routes.get_mut(stream) else {
            return false;
        };
        route.sinks.retain(|(id, _)| *id != sink);
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
        Offered::Delivered(self.deliver(stream, span.map(|s| s.last), event))
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
    pub(crate) fn notify(&self, stream: &S, notice: &T) {
        if let Some(route) = self.routes.get(stream) {
            for (_, sender) in &route.sinks {
                let _ = sender.send(notice.clone());
            }
        }
    }

    /// Delivers an event to the stream's subscribers, unless its ordering `key` (an
    /// id or time that grows along the stream) is not above the last one delivered.
    ///
    /// A subscriber that is behind is not waited for: the channel drops its oldest
    /// events and the subscriber sees `Lagged`.
    pub(crate) fn deliver(&mut self, stream: &S, key: Option<u64>, event: T) -> Delivered {
        let Some(route) = self.routes.get_mut(stream) else {
            return Delivered::Unrouted;
        };
        if let Some(key) = key {
            if route.last_key.is_some_and(|last| key <= last) {
                return Delivered::Duplicate;
            }
            route.last_key = Some(key);
        }
        let mut sent = 0;
        for (_, sender) in &route.sinks {
            // An error means every receiver of that handle is gone; the handle's
            // drop also tells the driver, which removes the route.
            if sender.send(event.clone()).is_ok() {
                sent += 1;
            }
        }
        Delivered::To(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Ev(Option<u64>);

    fn deliver(routes: &mut Routes<&'static str, Ev>, stream: &'static str, ev: Ev) -> Delivered {
        routes.deliver(&stream, ev.0, ev)
    }

    #[test]
    fn delivers_in_order_and_drops_duplicates() {
        let mut routes = Routes::default();
        let (tx, mut rx) = broadcast::channel(16);
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
        assert_eq!(rx.try_recv().ok(), Some(Ev(Some(5))));
        assert_eq!(rx.try_recv().ok(), Some(Ev(Some(6))));
        assert_eq!(rx.try_recv().ok(), Some(Ev(None)));
    }

    #[test]
    fn removing_the_last_subscriber_unsubscribes() {
        let mut routes: Routes<&'static str, Ev> = Routes::default();
        let (tx, _rx) = broadcast::channel(4);
        routes.add(&"a", 1, tx.clone());
        routes.add(&"a", 2, tx.clone());
        routes.add(&"b", 2, tx);
        assert!(!routes.remove(&"a", 1));
        assert!(routes.remove(&"a", 2));
        assert!(routes.remove(&"b", 2));
        assert_eq!(routes.len(), 0);
    }
}
