//! [`Decoder`]: one text frame in, one [`Frame`] out.
//!
//! A decoder is made per connection and knows two things the frame does not say:
//! the connection's [`TimeUnit`], and, for a raw connection (`/ws/<stream>`), the
//! stream it carries. Raw payloads such as partial depth have neither symbol nor
//! event type, so only the connection can say what they are.
//!
//! What a frame is follows from its first key, so decoding is a single pass over
//! the text: `stream` (a combined payload), `result`/`id`/`code`/`msg` (a control
//! reply), `e` or a payload key (a raw payload of the connection's stream). A
//! combined frame whose `data` comes before its `stream` (Binance never sends one)
//! is still decoded, by reading `data` again once the stream is known.
//!
//! Bad input of any kind gives a [`DecodeError`], never a panic; frames of stream or
//! event types this crate does not know give [`Frame::Unknown`].

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::error::DecodeError;
use super::events::{self, ServerShutdown};
use super::frame::{ControlKey, DataSeed, Frame, StreamSeed, UnknownFrame, read_control};
use super::stream::{StreamKind, StreamName};
use super::symbol::shorten;
use super::time::TimeUnit;
use super::wire::{Ctx, Fault, KNOWN_EVENT_TYPES, decode_text};

/// Decodes the text frames of one market-stream connection.
///
/// ```
/// use crypto_exchange::domain::{Decoder, Event, Frame, TimeUnit};
///
/// let decoder = Decoder::combined(TimeUnit::Millisecond);
/// let frame = decoder.decode(
///     r#"{"stream":"bnbbtc@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BNBBTC",
///     "a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}}"#,
/// )?;
/// let Frame::Event { stream, event: Event::AggTrade(trade) } = frame else {
///     panic!("not an aggTrade");
/// };
/// assert_eq!(stream.to_string(), "bnbbtc@aggTrade");
/// assert_eq!(trade.price.to_string(), "0.001");
/// # Ok::<(), crypto_exchange::domain::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoder {
    unit: TimeUnit,
    raw: Option<StreamName>,
}

impl Decoder {
    /// A decoder for a combined connection (`/stream?streams=…`): payloads arrive
    /// wrapped as `{"stream":…,"data":…}`.
    #[must_use]
    pub const fn combined(unit: TimeUnit) -> Self {
        Decoder { unit, raw: None }
    }

    /// A decoder for a raw connection opened for `stream` (`/ws/<stream>`): payloads
    /// arrive bare and are taken to be `stream`'s. Wrapped payloads are decoded too
    /// (after `SET_PROPERTY combined true`).
    #[must_use]
    pub const fn raw(stream: StreamName, unit: TimeUnit) -> Self {
        Decoder {
            unit,
            raw: Some(stream),
        }
    }

    /// The unit of every time field.
    #[must_use]
    pub const fn time_unit(&self) -> TimeUnit {
        self.unit
    }

    /// The stream of a raw connection.
    #[must_use]
    pub const fn raw_stream(&self) -> Option<&StreamName> {
        self.raw.as_ref()
    }

    /// Decodes one text frame.
    ///
    /// # Errors
    /// [`DecodeError`] naming the problem: not JSON, a shape no connection sends, a
    /// missing or duplicate field, a value of the wrong type or out of range.
    pub fn decode(&self, frame: &str) -> Result<Frame, DecodeError> {
        let ctx = Ctx::new(self.unit);
        let mut deserializer = serde_json::Deserializer::from_str(frame);
        let result = TopSeed {
            decoder: self,
            ctx: &ctx,
        }
        .deserialize(&mut deserializer)
        .and_then(|decoded| deserializer.end().map(|()| decoded));
        match result {
            Ok(decoded) => Ok(decoded),
            Err(error) => match ctx.take() {
                Some(Fault::UnknownEvent(name)) => {
                    Ok(Frame::Unknown(UnknownFrame::EventType(shorten(&name))))
                }
                // Rare: a raw `serverShutdown` where a stream payload was expected.
                Some(Fault::ServerShutdown) => {
                    decode_text::<ServerShutdown>(frame, self.unit).map(Frame::ServerShutdown)
                }
                Some(fault) => Err(fault.into_error()),
                None => Err(DecodeError::Json {
                    message: error.to_string(),
                }),
            },
        }
    }

    /// Decodes a frame given as bytes (a binary WebSocket frame, or text not yet
    /// checked for UTF-8).
    ///
    /// # Errors
    /// [`DecodeError::NotUtf8`] for bytes that are not UTF-8, else as [`decode`](Self::decode).
    pub fn decode_bytes(&self, frame: &[u8]) -> Result<Frame, DecodeError> {
        let text = std::str::from_utf8(frame).map_err(|e| DecodeError::NotUtf8 {
            message: e.to_string(),
        })?;
        self.decode(text)
    }
}

/// The first key of a top-level object.
enum TopKey {
    Stream,
    Data,
    Control(ControlKey),
    /// A key of the raw connection's payload, by position.
    Field(usize),
    /// `e` where the raw payload has none (or on a combined connection).
    Tag,
    Other,
}

struct TopKeySeed {
    raw_kind: Option<StreamKind>,
}

impl<'de> DeserializeSeed<'de> for TopKeySeed {
    type Value = TopKey;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<TopKey, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for TopKeySeed {
    type Value = TopKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<TopKey, E> {
        Ok(match v {
            "stream" => TopKey::Stream,
            "data" => TopKey::Data,
            _ => match ControlKey::parse(v) {
                Some(key) => TopKey::Control(key),
                None => match self.raw_kind.and_then(|kind| events::key_index(kind, v)) {
                    Some(index) => TopKey::Field(index),
                    None if v == "e" => TopKey::Tag,
                    None => TopKey::Other,
                },
            },
        })
    }
}

struct TopSeed<'a> {
    decoder: &'a Decoder,
    ctx: &'a Ctx,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Frame;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Frame, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl TopSeed<'_> {
    fn shape<E: de::Error>(&self, problem: String) -> E {
        self.ctx.fail(Fault::Shape(problem))
    }

    fn not_an_object<E: de::Error>(&self, found: impl fmt::Display) -> E {
        self.shape(format!("expected a JSON object, found {found}"))
    }

    /// The rest of a combined frame whose `stream` key has been read.
    fn stream_first<'de, A: MapAccess<'de>>(&self, mut map: A) -> Result<Frame, A::Error> {
        let ctx = self.ctx;
        let mut target = Some(map.next_value_seed(StreamSeed { ctx })?);
        let mut frame = None;
        while let Some(key) = map.next_key_seed(TopKeySeed { raw_kind: None })? {
            match key {
                TopKey::Data => {
                    let Some(target) = target.take() else {
                        return Err(duplicate("data", ctx));
                    };
                    frame = Some(
                        map.next_value_seed(DataSeed { target, ctx })
                            .map_err(|e| ctx.locate(e, "combined frame", "data"))?,
                    );
                }
                TopKey::Stream => return Err(duplicate("stream", ctx)),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        frame.ok_or_else(|| {
            ctx.fail(Fault::Missing {
                payload: "combined frame",
                field: "data",
            })
        })
    }

    /// The rest of a combined frame whose `data` key has been read first.
    fn data_first<'de, A: MapAccess<'de>>(&self, mut map: A) -> Result<Frame, A::Error> {
        let ctx = self.ctx;
        let data: &RawValue = map.next_value()?;
        let mut target = None;
        while let Some(key) = map.next_key_seed(TopKeySeed { raw_kind: None })? {
            match key {
                TopKey::Stream if target.is_none() => {
                    target = Some(map.next_value_seed(StreamSeed { ctx })?);
                }
                TopKey::Stream => return Err(duplicate("stream", ctx)),
                TopKey::Data => return Err(duplicate("data", ctx)),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let target = target.ok_or_else(|| {
            ctx.fail(Fault::Missing {
                payload: "combined frame",
                field: "stream",
            })
        })?;
        let mut deserializer = serde_json::Deserializer::from_str(data.get());
        DataSeed { target, ctx }
            .deserialize(&mut deserializer)
            .map_err(|e| de::Error::custom(ctx.locate(e, "combined frame", "data")))
    }

    /// Answers an `e` key that is not part of the expected payload.
    fn foreign_tag<'de, A: MapAccess<'de>>(&self, mut map: A) -> Result<Frame, A::Error> {
        let tag = map.next_value::<TagName<'_>>()?;
        let name = tag.0;
        let fault = if name == "serverShutdown" {
            Fault::ServerShutdown
        } else if !KNOWN_EVENT_TYPES.contains(&name.as_ref()) {
            Fault::UnknownEvent(name.into_owned())
        } else {
            Fault::Shape(match &self.decoder.raw {
                Some(stream) => format!("a `{name}` payload on a connection for `{stream}`"),
                None => format!(
                    "a raw `{name}` payload on a combined connection, which wraps payloads as \
                     {{\"stream\":…,\"data\":…}}"
                ),
            })
        };
        Err(self.ctx.fail(fault))
    }
}

fn duplicate<E: de::Error>(field: &'static str, ctx: &Ctx) -> E {
    ctx.fail(Fault::Duplicate {
        payload: "combined frame",
        field,
    })
}

/// The value of an `e` key, borrowed when it can be.
struct TagName<'a>(std::borrow::Cow<'a, str>);

impl<'de> de::Deserialize<'de> for TagName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A non-string `e` is as unknown as an unknown string.
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(TagName(match value {
            serde_json::Value::String(text) => text.into(),
            other => shorten(&other.to_string()).into(),
        }))
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Frame;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a market-stream frame")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Frame, A::Error> {
        let ctx = self.ctx;
        let raw = self.decoder.raw.as_ref();
        let Some(first) = map.next_key_seed(TopKeySeed {
            raw_kind: raw.map(StreamName::kind),
        })?
        else {
            return Err(self.shape("an empty object".to_owned()));
        };
        match (first, raw) {
            (TopKey::Stream, _) => self.stream_first(map),
            (TopKey::Data, _) => self.data_first(map),
            (TopKey::Control(key), _) => read_control(key, &mut map, ctx),
            (TopKey::Tag, _) => self.foreign_tag(map),
            (TopKey::Field(index), Some(stream)) => {
                let event = events::read_event(stream.kind(), &mut map, ctx, Some(index))?;
                Ok(Frame::Event {
                    stream: stream.clone(),
                    event,
                })
            }
            (TopKey::Other, Some(stream)) => {
                map.next_value::<IgnoredAny>()?;
                let event = events::read_event(stream.kind(), &mut map, ctx, None)?;
                Ok(Frame::Event {
                    stream: stream.clone(),
                    event,
                })
            }
            (TopKey::Field(_) | TopKey::Other, None) => Err(self.shape(
                "a combined connection carries {\"stream\":…,\"data\":…}, replies \
                 {\"result\":…,\"id\":…} and errors {\"code\":…,\"msg\":…}; this object is none \
                 of them"
                    .to_owned(),
            )),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Frame, A::Error> {
        match &self.decoder.raw {
            Some(stream) if stream.kind().is_market_wide() => {
                let event = events::read_event_seq(stream.kind(), seq, self.ctx)?;
                Ok(Frame::Event {
                    stream: stream.clone(),
                    event,
                })
            }
            Some(stream) => Err(self.shape(format!(
                "an array on a connection for `{stream}`, whose payloads are objects"
            ))),
            None => Err(self.shape(
                "a bare array on a combined connection, which wraps payloads as \
                 {\"stream\":…,\"data\":…}"
                    .to_owned(),
            )),
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Frame, E> {
        Err(self.not_an_object(format_args!("boolean {v}")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Frame, E> {
        Err(self.not_an_object(format_args!("number {v}")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Frame, E> {
        Err(self.not_an_object(format_args!("number {v}")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Frame, E> {
        Err(self.not_an_object(format_args!("number {v}")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Frame, E> {
        Err(self.not_an_object(format_args!("string \"{}\"", shorten(v))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Frame, E> {
        Err(self.not_an_object("null"))
    }
}
