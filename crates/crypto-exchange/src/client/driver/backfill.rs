//! Gap-free id streams: when a live event skips ids (after a reconnect, a restart
//! or a jump), the driver holds the stream's live events back, backfills the
//! missed range from REST in the background, delivers it (`source: backfill`),
//! then releases the held live events; each stream's high-water mark makes every
//! id arrive exactly once, in order. What cannot be recovered becomes an explicit
//! `Gap`, never silence.

use std::collections::HashMap;

use ws_transport::Connector;

use super::decode::{BackfillMsg, Decode, Span};
use super::routes::{Delivered, Offered};
use super::{Delivery, Driver};

/// The tag of refresh messages (backfills are numbered from 1).
const REFRESH: u64 = 0;

/// The backfills in flight, by stream: an id per backfill, so that a stale
/// backfill's late messages cannot release a newer one's held events.
#[derive(Debug)]
pub(crate) struct Inflight<S> {
    next: u64,
    current: HashMap<S, (u64, u64)>,
}

impl<S> Default for Inflight<S> {
    fn default() -> Self {
        Inflight {
            next: 0,
            current: HashMap::new(),
        }
    }
}

impl<C, D> Driver<C, D>
where
    C: Connector + Clone + Send + Sync + 'static,
    D: Decode,
{
    /// Offers a live event to its stream's subscribers (see [`Offered`]).
    pub(super) fn offer(&mut self, stream: D::Stream, event: D::Event) {
        let span = D::span(&event);
        self.remember(&stream, &event);
        let backfillable = self
            .spec
            .backfill
            .as_ref()
            .is_some_and(|b| b.supports(&stream));
        let offered = self
            .routes
            .offer(&stream, span, Delivery::Event(event), backfillable);
        self.count(offered, &stream);
        match offered {
            Offered::Gap { from, to } => self.start_backfill(stream, from, to),
            Offered::Overflow { from, to } => {
                // Too much held back: give the range up and let live events flow.
                self.inflight.current.remove(&stream);
                self.lost(&stream, from, to);
                self.release(&stream, false);
            }
            _ => {}
        }
    }

    fn count(&self, offered: Offered, stream: &D::Stream) {
        match offered {
            Offered::Delivered(Delivered::To(_)) => self.spec.counters.delivered(),
            Offered::Delivered(Delivered::Duplicate) => self.spec.counters.duplicate(),
            Offered::Delivered(Delivered::Unrouted) => {
                self.spec.counters.unrouted(&stream.to_string());
            }
            _ => {}
        }
    }

    fn start_backfill(&mut self, stream: D::Stream, from: u64, to: u64) {
        let Some(backfill) = self.spec.backfill.clone() else {
            self.lost(&stream, from, to);
            self.release(&stream, false);
            return;
        };
        self.inflight.next += 1;
        let id = self.inflight.next;
        self.inflight.current.insert(stream.clone(), (id, 0));
        self.observe_gap(&stream);
        tracing::info!(connection = self.spec.id, %stream, from, to, "backfilling missed ids from REST");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        backfill.start(stream, from, to, tx);
        // Tag the backfill's messages with its id on their way to the driver.
        let out = self.backfill_tx.clone();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                if out.send((id, msg)).is_err() {
                    break;
                }
            }
        });
    }

    /// After a reconnect: fetches the current value of every latest-value stream.
    pub(super) fn refresh_latest(&self) {
        let Some(refresh) = self.spec.refresh.clone() else {
            return;
        };
        for stream in self.routes.streams() {
            if refresh.supports(stream) {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                refresh.start(stream.clone(), tx);
                let out = self.backfill_tx.clone();
                tokio::spawn(async move {
                    while let Some(msg) = rx.recv().await {
                        if out.send((REFRESH, msg)).is_err() {
                            break;
                        }
                    }
                });
            }
        }
    }

    /// Handles a batch of backfilled events, or the end of a backfill.
    pub(super) fn on_backfill(&mut self, id: u64, msg: BackfillMsg<D::Stream, D::Event>) {
        if id == super::polling::POLL {
            self.on_polled(msg);
            return;
        }
        let stream = msg.stream;
        if id == REFRESH {
            // A refreshed latest value: no stream position, never a duplicate.
            for (_, event) in msg.events {
                self.remember(&stream, &event);
                if let Delivered::To(_) = self.routes.deliver(&stream, None, Delivery::Event(event))
                {
                    self.spec.counters.refreshed();
                }
            }
            return;
        }
        let is_current = self
            .inflight
            .current
            .get(&stream)
            .is_some_and(|(cur, _)| *cur == id);
        if let Some((from, to)) = msg.lost
            && is_current
        {
            self.lost(&stream, from, to);
            // What follows the lost range continues it: without this, a lost end
            // of range would start the same backfill again on release.
            self.routes.skip_to(&stream, to);
        }
        let mut delivered = 0;
        // While live events are held back, they are newer than what is backfilled.
        let held = self.routes.is_held(&stream);
        for (span, event) in msg.events {
            if !held {
                self.remember(&stream, &event);
            }
            match self
                .routes
                .deliver(&stream, span.map(|s| s.last), Delivery::Event(event))
            {
                Delivered::To(_) => {
                    delivered += 1;
                    self.spec.counters.backfilled();
                }
                Delivered::Duplicate => self.spec.counters.duplicate(),
                Delivered::Unrouted => {}
            }
        }
        let current = self
            .inflight
            .current
            .get_mut(&stream)
            .filter(|(cur, _)| *cur == id);
        let Some(current) = current else {
            return; // a stale backfill: its events were deduplicated above
        };
        current.1 += delivered;
        if msg.done {
            let count = current.1;
            self.inflight.current.remove(&stream);
            self.observe_backfilled(&stream);
            self.routes.notify(
                &stream,
                &Delivery::Backfilled {
                    stream: stream.clone(),
                    count,
                },
            );
            self.release(&stream, true);
        }
    }

    /// Reports a range that will not be recovered.
    pub(super) fn lost(&mut self, stream: &D::Stream, from: u64, to: u64) {
        tracing::warn!(connection = self.spec.id, %stream, from, to, "ids could not be recovered: gap");
        self.spec.counters.gap(to.saturating_sub(from) + 1);
        self.observe_lost(stream);
        self.routes.notify(
            stream,
            &Delivery::Gap {
                stream: stream.clone(),
                from,
                to,
            },
        );
    }

    /// Releases the held live events and offers them again, in order (a further
    /// gap among them starts another backfill, which holds the rest back again).
    fn release(&mut self, stream: &D::Stream, backfillable: bool) {
        for (span, delivery) in self.routes.release(stream) {
            let offered = self.routes.offer(stream, span, delivery, backfillable);
            self.count(offered, stream);
            match offered {
                Offered::Gap { from, to } => self.start_backfill(stream.clone(), from, to),
                Offered::Overflow { from, to } => self.lost(stream, from, to),
                _ => {}
            }
        }
    }

    /// After a restart: streams still holding events back lost their backfill with
    /// the previous incarnation; start it again.
    pub(super) fn resume_held(&mut self) {
        let held: Vec<(D::Stream, Option<u64>, Option<Span>)> = self
            .routes
            .streams()
            .iter()
            .filter(|s| self.routes.is_held(s))
            .map(|s| {
                let route = self.routes.get(s);
                (
                    s.clone(),
                    route.and_then(super::routes::Route::last_key),
                    self.routes.first_held_span(s),
                )
            })
            .collect();
        for (stream, last, first) in held {
            match (last, first) {
                (Some(last), Some(first)) if first.first > last + 1 => {
                    self.start_backfill(stream, last + 1, first.first - 1);
                }
                _ => self.release(&stream, false),
            }
        }
    }
}
