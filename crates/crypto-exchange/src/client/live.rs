//! The production frame decoder: Binance's combined frames into [`StreamEvent`]s,
//! with each stream's ordering span for duplicate removal and rotation.

use serde::Serialize;

use super::driver::decode::{Decode, Incoming, Span};
use crate::domain::fast::FastReader;
use crate::domain::{Decoder, Event, Frame, StreamName, TimeUnit, Timestamp};

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// The live WebSocket stream.
    Live,
    /// Recovered from REST after a gap in the stream's ids.
    Backfill,
    /// A latest value fetched from REST after a reconnect (tickers, book tickers, klines).
    Refresh,
    /// Fetched by REST polling while no WebSocket could serve the stream
    /// (`docs/fallback.md`, "In the facade").
    Poll,
}

impl From<Source> for fallback::Source {
    fn from(source: Source) -> Self {
        match source {
            Source::Live => fallback::Source::Live,
            Source::Backfill => fallback::Source::Backfill,
            Source::Refresh => fallback::Source::Refresh,
            Source::Poll => fallback::Source::Poll,
        }
    }
}

/// One event on one stream, as delivered to subscribers.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    /// The stream.
    pub stream: StreamName,
    /// The typed payload.
    pub event: Event,
    /// Where it came from.
    pub source: Source,
}

impl Serialize for StreamEvent {
    /// Binance's combined shape plus the source:
    /// `{"stream":"btcusdt@aggTrade","data":{…},"source":"live"}`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("stream", &self.stream)?;
        map.serialize_entry("data", &self.event)?;
        map.serialize_entry("source", &self.source)?;
        map.end()
    }
}

/// Decodes combined-stream frames (every connection of the client is combined).
///
/// `aggTrade`, `trade` and `bookTicker` frames of Binance's exact shape take a
/// fast path (`domain/fast.rs`); every other frame, and any surprise in one,
/// goes through the general [`Decoder`], with the same result.
pub(crate) struct LiveDecoder {
    decoder: Decoder,
    fast: FastReader,
}

impl LiveDecoder {
    pub(crate) fn new() -> Self {
        LiveDecoder {
            decoder: Decoder::combined(TimeUnit::Millisecond),
            fast: FastReader::default(),
        }
    }
}

impl Decode for LiveDecoder {
    type Stream = StreamName;
    type Event = StreamEvent;

    fn decode(&mut self, text: &str) -> Incoming<StreamName, StreamEvent> {
        if let Some((stream, event)) = self.fast.read(text, self.decoder.time_unit()) {
            return Incoming::Event {
                stream: stream.clone(),
                event: StreamEvent {
                    stream,
                    event,
                    source: Source::Live,
                },
            };
        }
        match self.decoder.decode(text) {
            Ok(Frame::Event { stream, event }) => Incoming::Event {
                stream: stream.clone(),
                event: StreamEvent {
                    stream,
                    event,
                    source: Source::Live,
                },
            },
            Ok(Frame::Reply(reply)) => {
                match reply.id.as_ref().and_then(crate::domain::RequestId::as_i64) {
                    Some(id) => Incoming::Reply { id },
                    None => Incoming::Unknown(
                        "a reply to a request this client did not send".to_owned(),
                    ),
                }
            }
            Ok(Frame::Error(error)) => Incoming::Error {
                code: error.code,
                id: error.id.as_ref().and_then(crate::domain::RequestId::as_i64),
                msg: error.msg,
            },
            Ok(Frame::ServerShutdown(_)) => Incoming::ServerShutdown,
            Ok(Frame::Unknown(unknown)) => Incoming::Unknown(unknown.to_string()),
            Err(error) => Incoming::Invalid(error.to_string()),
        }
    }

    fn source(event: &StreamEvent) -> fallback::Source {
        event.source.into()
    }

    fn event_time_ms(event: &StreamEvent) -> Option<u64> {
        event.event.event_time().map(Timestamp::as_millis)
    }

    fn span(event: &StreamEvent) -> Option<Span> {
        let contiguous = |first, last| Span {
            first,
            last,
            contiguous: true,
        };
        let growing = |key| Span {
            first: key,
            last: key,
            contiguous: false,
        };
        Some(match &event.event {
            Event::AggTrade(e) => contiguous(e.agg_trade_id, e.agg_trade_id),
            Event::Trade(e) => contiguous(e.trade_id, e.trade_id),
            Event::DepthUpdate(e) => contiguous(e.first_update_id, e.final_update_id),
            Event::BookTicker(e) => growing(e.update_id),
            Event::PartialDepth(e) => growing(e.last_update_id),
            // A closed candle and the next one are pushed with the same event time:
            // order them closed-first inside that time.
            Event::Kline(e) => {
                growing(e.event_time.as_micros() * 2 + u64::from(!e.candle.is_closed))
            }
            Event::AllMiniTickers(all) => {
                growing(all.iter().map(|t| t.event_time.as_micros()).max()?)
            }
            Event::AllRollingTickers(all) => {
                growing(all.iter().map(|t| t.event_time.as_micros()).max()?)
            }
            other => growing(other.event_time()?.as_micros()),
        })
    }
}
