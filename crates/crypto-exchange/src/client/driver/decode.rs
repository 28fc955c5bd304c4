//! What a driver needs from a frame decoder: the frame's kind, the stream an
//! event belongs to, and the event's ordering span for duplicate removal and
//! make-before-break rotation.

/// One decoded text frame.
#[derive(Debug)]
pub(crate) enum Incoming<S, E> {
    /// An event on a stream (combined wrapper's `stream`).
    Event {
        /// The stream it belongs to.
        stream: S,
        /// The decoded event.
        event: E,
    },
    /// A successful reply to request `id`.
    Reply {
        /// The request id.
        id: i64,
    },
    /// An error reply (`{"code":…,"msg":…}`), with the request id when it has one.
    Error {
        /// Binance's code.
        code: i64,
        /// Binance's message.
        msg: String,
        /// The request id, if the reply carried one.
        id: Option<i64>,
    },
    /// Binance announced a planned restart: rotate now.
    ServerShutdown,
    /// A well-formed frame the client does not know (a new event type): counted, not fatal.
    Unknown(String),
    /// A frame that could not be decoded: counted and logged, not fatal.
    Invalid(String),
}

/// The ordering of an event within its stream.
///
/// `first..=last` are the ids (or times) the event covers: one aggregate-trade id,
/// a depth diff's `U..=u`, an event time. Events whose `last` is not above the
/// last delivered one are duplicates; during rotation, the new connection's
/// events continue the old one's once the first of them starts at or before the
/// old connection's last plus one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// The first id (or time) covered.
    pub(crate) first: u64,
    /// The last id (or time) covered; the stream's high-water mark.
    pub(crate) last: u64,
    /// True when consecutive events are contiguous (`next.first == last + 1`), as
    /// for trade ids and depth update ids; false for times.
    pub(crate) contiguous: bool,
}

impl Span {
    /// True when an event starting with this span continues a stream whose last
    /// delivered key is `last_delivered`, without a gap.
    pub(crate) fn continues(&self, last_delivered: u64) -> bool {
        if self.contiguous {
            self.first <= last_delivered.saturating_add(1)
        } else {
            self.first <= last_delivered
        }
    }
}

/// Decodes a connection's text frames.
pub(crate) trait Decode: Send + 'static {
    /// A stream's name.
    type Stream: Clone
        + Eq
        + std::hash::Hash
        + std::fmt::Display
        + std::fmt::Debug
        + Send
        + Sync
        + 'static;
    /// The event type delivered to subscribers.
    type Event: Clone + Send + 'static;

    /// Decodes one text frame; never panics.
    fn decode(&mut self, text: &str) -> Incoming<Self::Stream, Self::Event>;

    /// The event's ordering span, if its stream has one.
    fn span(event: &Self::Event) -> Option<Span>;

    /// Where the event came from, for the last-known-value cache.
    fn source(_event: &Self::Event) -> fallback::Source {
        fallback::Source::Live
    }

    /// The event's time in ms since the epoch, if it carries one (for the
    /// health monitor's event latency).
    fn event_time_ms(_event: &Self::Event) -> Option<u64> {
        None
    }
}

/// A batch of backfilled events, or the end of a backfill.
#[derive(Debug)]
pub(crate) struct BackfillMsg<S, E> {
    /// The stream.
    pub(crate) stream: S,
    /// Recovered events, ascending, with their spans.
    pub(crate) events: Vec<(Option<Span>, E)>,
    /// A range that could not be recovered (older than the exchange keeps, or the
    /// REST call failed for good).
    pub(crate) lost: Option<(u64, u64)>,
    /// True on the last message of this backfill.
    pub(crate) done: bool,
}

/// Recovers missed ranges of id-ordered streams (trades) from REST.
pub(crate) trait Backfill<S, E>: Send + Sync {
    /// Whether missed ranges of `stream` can be recovered.
    fn supports(&self, stream: &S) -> bool;

    /// Starts recovering ids `from..=to` of `stream` in the background, sending
    /// batches (ascending) and finally a message with `done` to `out`.
    fn start(
        &self,
        stream: S,
        from: u64,
        to: u64,
        out: tokio::sync::mpsc::UnboundedSender<BackfillMsg<S, E>>,
    );
}

/// Serves streams by REST polling while their connection cannot
/// (`driver/polling.rs`).
pub(crate) trait Poll<S, E>: Send + Sync {
    /// Whether `stream` can be polled, at what weight and how often at best.
    fn polling(&self, stream: &S) -> fallback::Polling;

    /// The stream's usual time between values, if it has one (for staleness).
    fn expected_interval(&self, stream: &S) -> Option<std::time::Duration>;

    /// Polls `stream` once in the background and sends what it got (one
    /// message, `done`) to `out`, with spans where the stream has positions;
    /// `next_id` is the id to continue from for id-ordered streams (trades),
    /// `None` when nothing was delivered yet. A failure is logged and sends a
    /// message without events.
    fn start(
        &self,
        stream: S,
        next_id: Option<u64>,
        out: tokio::sync::mpsc::UnboundedSender<BackfillMsg<S, E>>,
    );
}

/// Refreshes latest-value streams (tickers, book tickers, klines) from REST after
/// a reconnect.
pub(crate) trait Refresh<S, E>: Send + Sync {
    /// Whether `stream` has a REST source for its current value.
    fn supports(&self, stream: &S) -> bool;

    /// Fetches the current value in the background and sends it (one message,
    /// `done`) to `out`; a failure is logged and sends nothing.
    fn start(&self, stream: S, out: tokio::sync::mpsc::UnboundedSender<BackfillMsg<S, E>>);
}
