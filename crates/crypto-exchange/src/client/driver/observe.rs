//! The driver's reports to the client's health feed (`client::observe`):
//! streams as their routes come and go, each received event, gaps and
//! backfills. Each stream's monitor handle is kept in its route, registered
//! when the route is added, so reporting an event takes no name lookup in
//! the monitor. Without a feed (driver tests) every call does nothing.
//!
//! Received events are reported per burst: each is noted in the driver's own
//! buffer, and the buffer goes to the feed in one lock at the end of the burst
//! (`flush_observed`), and before any other report, so the monitor sees
//! everything in the order it happened.

use ws_transport::Connector;

use super::Driver;
use super::decode::Decode;

impl<C, D> Driver<C, D>
where
    C: Connector + Clone + Send + Sync + 'static,
    D: Decode,
{
    /// Registers new streams with the monitor and keeps their handles.
    pub(super) fn observe_added(&mut self, streams: &[D::Stream]) {
        let Some(feed) = &self.spec.health else {
            return;
        };
        for stream in streams {
            let id = feed.register_stream(&stream.to_string(), self.spec.id);
            if let Some(route) = self.routes.get_mut(stream) {
                route.health = Some(id);
            }
        }
    }

    /// Tells the monitor these streams are no longer subscribed (their routes
    /// are gone, so the handle is found by name).
    pub(super) fn observe_removed(&self, streams: &[D::Stream]) {
        self.flush_observed();
        let Some(feed) = &self.spec.health else {
            return;
        };
        for stream in streams {
            let name = stream.to_string();
            if let Some(id) = feed.with(|monitor| monitor.stream_id(&name)) {
                feed.unregister_stream(id);
            }
        }
    }

    /// The per-event report: `bytes` of frame received for `stream`, noted for
    /// the end of the burst.
    #[inline]
    pub(super) fn observe_event(&self, stream: &D::Stream, bytes: usize, event: &D::Event) {
        if self.spec.health.is_some()
            && let Some(id) = self.routes.get(stream).and_then(|route| route.health)
        {
            self.observed
                .borrow_mut()
                .push((id, bytes, D::event_time_ms(event)));
        }
    }

    /// Hands the events noted since the last call to the feed.
    pub(super) fn flush_observed(&self) {
        if let Some(feed) = &self.spec.health {
            feed.on_messages(&mut self.observed.borrow_mut());
        }
    }

    /// The end of a burst: subscribers get their staged events, the feed the
    /// events received.
    pub(super) fn flush_burst(&mut self) {
        self.flush_observed();
        self.routes.flush();
    }

    /// A gap was found on `stream`: a backfill starts.
    pub(super) fn observe_gap(&self, stream: &D::Stream) {
        self.flush_observed();
        if let Some((feed, id)) = self.feed_and_id(stream) {
            feed.on_gap(id);
        }
    }

    /// Ids of `stream` were reported lost.
    pub(super) fn observe_lost(&self, stream: &D::Stream) {
        self.flush_observed();
        if let Some((feed, id)) = self.feed_and_id(stream) {
            feed.on_lost(id);
        }
    }

    /// The backfill of `stream` finished.
    pub(super) fn observe_backfilled(&self, stream: &D::Stream) {
        self.flush_observed();
        if let Some((feed, id)) = self.feed_and_id(stream) {
            feed.on_backfilled(id);
        }
    }

    fn feed_and_id(
        &self,
        stream: &D::Stream,
    ) -> Option<(&crate::client::observe::HealthFeed, health::StreamId)> {
        let feed = self.spec.health.as_deref()?;
        let id = self.routes.get(stream)?.health?;
        Some((feed, id))
    }
}
