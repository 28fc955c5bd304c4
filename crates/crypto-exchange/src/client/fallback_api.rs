//! The facade's fallback calls: every stream's last value with its age,
//! source and staleness; how each stream is served (live, polled, stale,
//! unavailable) and at what poll interval; an operator's fallback of one
//! connection; the endpoint a new connection would use.

use std::time::Duration;

use fallback::{EndpointSnapshot, ServiceLevel, StreamStatus};
use serde::Serialize;

use super::driver::FallbackKind;
use super::lifecycle::ConnectionId;
use super::live::{Source, StreamEvent};
use super::{Client, observe};
use crate::domain::StreamName;

/// A stream's last value, as read now ([`Client::last`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LastValue {
    /// The last event delivered on the stream.
    pub event: StreamEvent,
    /// How long ago it was delivered.
    pub age: Duration,
    /// Where it came from (live, backfill, refresh, poll).
    pub source: Source,
    /// Whether it is older than `fallback.cache.stale_factor` (3) times the
    /// stream's usual interval (`fallback.cache.default_interval`, 10 s, for
    /// streams without one, like trades).
    pub stale: bool,
    /// The stream's usual interval the staleness is judged against.
    pub expected_interval: Duration,
}

/// One stream served by REST polling ([`Client::polled_streams`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PolledStream {
    /// The stream.
    pub stream: StreamName,
    /// The REST weight of one poll.
    pub weight: u32,
    /// How often it would be polled with budget to spare.
    #[serde(with = "millis")]
    pub normal_interval: Duration,
    /// How often it is polled: the normal interval, or longer to stay within
    /// the REST weight budget.
    #[serde(with = "millis")]
    pub interval: Duration,
    /// Whether `interval` is longer than `normal_interval`.
    pub slower_than_normal: bool,
}

mod millis {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

impl Client {
    /// `stream`'s last value, with its age, source and staleness; `None` if
    /// it is not subscribed or has delivered nothing yet. Readable while the
    /// stream is down: that is what it is for.
    #[must_use]
    pub fn last(&self, stream: &StreamName) -> Option<LastValue> {
        let last = self.inner.degrade.last(stream, observe::now())?;
        Some(LastValue {
            source: last.value.source,
            event: last.value,
            age: last.age,
            stale: last.stale,
            expected_interval: last.expected_interval,
        })
    }

    /// How each subscribed stream is served: `Live` (over its WebSocket),
    /// `Polled` (REST polling, events marked `source: poll`), `Stale` (not
    /// served; its last value is readable) or `Unavailable` (not served and
    /// never had a value).
    #[must_use]
    pub fn stream_status(&self) -> Vec<(StreamName, StreamStatus)> {
        self.inner.degrade.statuses()
    }

    /// Every stream served by polling, with its interval and whether it is
    /// polled slower than normal to stay within the REST weight budget.
    #[must_use]
    pub fn polled_streams(&self) -> Vec<PolledStream> {
        self.inner
            .degrade
            .assignments()
            .into_iter()
            .map(|a| PolledStream {
                stream: a.stream,
                weight: a.weight,
                normal_interval: a.normal_interval,
                interval: a.interval,
                slower_than_normal: a.slower_than_normal,
            })
            .collect()
    }

    /// The service level: `Full` (every stream live), `Degraded` (every
    /// stream served, some polled), `Partial` or `Down`.
    #[must_use]
    pub fn service_level(&self) -> ServiceLevel {
        self.inner.degrade.snapshot().service
    }

    /// An operator's fallback for one connection: [`FallbackKind::Endpoint`]
    /// moves it to the best other usable endpoint now (make-before-break when
    /// connected, so no event is lost or repeated); [`FallbackKind::Polling`]
    /// closes it and serves its streams by REST polling until
    /// [`trigger_recovery`](Self::trigger_recovery). False when no such
    /// connection exists.
    pub fn trigger_fallback(&self, connection: ConnectionId, kind: FallbackKind) -> bool {
        self.inner.pool().fallback(connection, kind)
    }

    /// The market-stream endpoint (its base URL as configured) a new
    /// connection would use now: the current one if usable, else the best
    /// usable one by health score; `None` when every endpoint is down.
    #[must_use]
    pub fn best_endpoint(&self) -> Option<String> {
        let endpoints = &self.inner.endpoints;
        endpoints
            .best(observe::now())
            .map(|i| endpoints.get(i).base.clone())
    }

    /// Every market-stream endpoint's score and health, and which one is in
    /// use (`scheme://host:port` names).
    #[must_use]
    pub fn endpoint_status(&self) -> EndpointSnapshot<String> {
        self.inner.endpoints.snapshot(observe::now())
    }
}
