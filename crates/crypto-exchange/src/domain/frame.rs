//! [`Frame`]: what one text frame from a market-stream connection is, and the
//! control replies it can be ([`Reply`], [`ErrorReply`]).

use std::fmt;

use serde::Serialize;
use serde::de::{
    self, Deserialize as _, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor,
};
use serde::ser::{SerializeMap as _, Serializer};

use super::error::ParseError;
use super::events::{Event, ServerShutdown};
use super::request::RequestId;
use super::stream::StreamName;
use super::symbol::shorten;
use super::wire::{Ctx, Fault, FieldSeed};

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// A stream event.
    Event {
        /// The stream it belongs to: from the combined wrapper, or the stream the
        /// raw connection was opened for.
        stream: StreamName,
        /// The payload.
        event: Event,
    },
    /// The reply to a request (`{"result":…,"id":…}`).
    Reply(Reply),
    /// An error reply (`{"code":…,"msg":…,"id":…}`).
    Error(ErrorReply),
    /// The server will restart soon: reconnect now.
    ServerShutdown(ServerShutdown),
    /// A well-formed frame of a stream or event type this crate does not know.
    /// Count it and move on.
    Unknown(UnknownFrame),
}

impl Frame {
    /// For an event, the `{"stream":…,"data":…}` view that serializes as Binance's
    /// combined payload.
    #[must_use]
    pub fn combined(&self) -> Option<Combined<'_, StreamName, Event>> {
        match self {
            Frame::Event { stream, event } => Some(Combined {
                stream,
                data: event,
            }),
            _ => None,
        }
    }
}

/// A reply to a control request. `result` is `null` for `SUBSCRIBE`,
/// `UNSUBSCRIBE` and `SET_PROPERTY`, a list of stream names for
/// `LIST_SUBSCRIPTIONS`, a value for `GET_PROPERTY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The request's id, or `None` when the request had a `null` id.
    pub id: Option<RequestId>,
    /// The result.
    pub result: serde_json::Value,
}

impl Reply {
    /// True for the `null` result that acknowledges `SUBSCRIBE`, `UNSUBSCRIBE` and
    /// `SET_PROPERTY`.
    #[must_use]
    pub fn is_ack(&self) -> bool {
        self.result.is_null()
    }

    /// The boolean result of `GET_PROPERTY combined`.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        self.result.as_bool()
    }

    /// The streams listed by `LIST_SUBSCRIPTIONS`; `None` when the result is not a
    /// list of strings.
    ///
    /// # Errors
    /// The first name that does not parse (inside the `Some`).
    #[must_use]
    pub fn subscriptions(&self) -> Option<Result<Vec<StreamName>, ParseError>> {
        let names = self.result.as_array()?;
        let names: Option<Vec<&str>> = names.iter().map(serde_json::Value::as_str).collect();
        Some(names?.into_iter().map(StreamName::parse).collect())
    }
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("result", &self.result)?;
        map.serialize_entry("id", &self.id)?;
        map.end()
    }
}

/// An error reply to a control request (PROTOCOL.md §3: code 0 unknown property,
/// 1 bad value type, 2 invalid request, 3 invalid JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    /// The error code.
    pub code: i64,
    /// The message.
    pub msg: String,
    /// The request's id, when the server could read it.
    pub id: Option<RequestId>,
}

impl Serialize for ErrorReply {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("msg", &self.msg)?;
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        map.end()
    }
}

/// What was not recognised in a [`Frame::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnknownFrame {
    /// A combined frame for a stream type this crate does not know (or one Binance retired).
    Stream(String),
    /// A payload whose event type (`e`) this crate does not know.
    EventType(String),
}

impl fmt::Display for UnknownFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnknownFrame::Stream(name) => write!(f, "unknown stream `{name}`"),
            UnknownFrame::EventType(name) => write!(f, "unknown event type `{name}`"),
        }
    }
}

/// A payload with its stream name, serializing as Binance's combined
/// `{"stream":…,"data":…}`.
#[derive(Debug, Clone, Copy)]
pub struct Combined<'a, S: ?Sized, T: ?Sized> {
    /// The stream name (anything that prints as one).
    pub stream: &'a S,
    /// The payload.
    pub data: &'a T,
}

impl<S: fmt::Display + ?Sized, T: Serialize + ?Sized> Serialize for Combined<'_, S, T> {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        struct AsStr<'a, S: ?Sized>(&'a S);
        impl<S: fmt::Display + ?Sized> Serialize for AsStr<'_, S> {
            fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
                serializer.collect_str(self.0)
            }
        }
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("stream", &AsStr(self.stream))?;
        map.serialize_entry("data", self.data)?;
        map.end()
    }
}

/// The keys of a control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlKey {
    Result,
    Id,
    Code,
    Msg,
}

impl ControlKey {
    pub(crate) fn parse(key: &str) -> Option<Self> {
        match key {
            "result" => Some(ControlKey::Result),
            "id" => Some(ControlKey::Id),
            "code" => Some(ControlKey::Code),
            "msg" => Some(ControlKey::Msg),
            _ => None,
        }
    }
}

struct ControlKeySeed;

impl<'de> DeserializeSeed<'de> for ControlKeySeed {
    type Value = Option<ControlKey>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for ControlKeySeed {
    type Value = Option<ControlKey>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ControlKey::parse(v))
    }
}

/// Reads a control frame whose first key, `first`, has been read.
pub(crate) fn read_control<'de, A: MapAccess<'de>>(
    first: ControlKey,
    map: &mut A,
    ctx: &Ctx,
) -> Result<Frame, A::Error> {
    const PAYLOAD: &str = "control reply";
    let mut result: Option<serde_json::Value> = None;
    let mut id: Option<Option<RequestId>> = None;
    let mut code: Option<i64> = None;
    let mut msg: Option<String> = None;
    let mut pending = Some(first);
    loop {
        let key = match pending.take() {
            Some(key) => key,
            None => match map.next_key_seed(ControlKeySeed)? {
                None => break,
                Some(Some(key)) => key,
                Some(None) => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            },
        };
        let (field, seen) = match key {
            ControlKey::Result => ("result", result.is_some()),
            ControlKey::Id => ("id", id.is_some()),
            ControlKey::Code => ("code", code.is_some()),
            ControlKey::Msg => ("msg", msg.is_some()),
        };
        if seen {
            return Err(ctx.fail(Fault::Duplicate {
                payload: PAYLOAD,
                field,
            }));
        }
        let locate = |e| ctx.locate(e, PAYLOAD, field);
        match key {
            ControlKey::Result => result = Some(map.next_value()?),
            ControlKey::Id => id = Some(map.next_value_seed(FieldSeed::new(ctx)).map_err(locate)?),
            ControlKey::Code => {
                code = Some(map.next_value_seed(FieldSeed::new(ctx)).map_err(locate)?);
            }
            ControlKey::Msg => {
                msg = Some(map.next_value_seed(FieldSeed::new(ctx)).map_err(locate)?);
            }
        }
    }
    match (code, result) {
        (Some(code), _) => {
            let msg = msg.ok_or_else(|| {
                ctx.fail(Fault::Missing {
                    payload: "error reply",
                    field: "msg",
                })
            })?;
            Ok(Frame::Error(ErrorReply {
                code,
                msg,
                id: id.flatten(),
            }))
        }
        (None, Some(result)) => Ok(Frame::Reply(Reply {
            id: id.flatten(),
            result,
        })),
        (None, None) => Err(ctx.fail(Fault::Shape(
            "a control frame has `result` (a reply) or `code` and `msg` (an error); this one has \
             neither"
                .to_owned(),
        ))),
    }
}

/// Where the `data` of a combined frame goes, from its `stream`.
pub(crate) enum Target {
    Stream(StreamName),
    ServerShutdown,
    Unknown(String),
}

/// Reads the `stream` of a combined frame.
pub(crate) struct StreamSeed<'c> {
    pub(crate) ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for StreamSeed<'_> {
    type Value = Target;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Target, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl StreamSeed<'_> {
    fn wrong<E: de::Error>(&self, found: impl fmt::Display) -> E {
        self.ctx.fail(Fault::Field {
            payload: "combined frame",
            field: "stream",
            problem: format!("expected a stream name string, found {found}"),
        })
    }
}

impl<'de> Visitor<'de> for StreamSeed<'_> {
    type Value = Target;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stream name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Target, E> {
        if v == ServerShutdown::STREAM {
            return Ok(Target::ServerShutdown);
        }
        match StreamName::parse(v) {
            Ok(name) => Ok(Target::Stream(name)),
            Err(e) if e.is_unknown_stream_type() => Ok(Target::Unknown(shorten(v))),
            Err(e) => Err(self.ctx.fail(Fault::Field {
                payload: "combined frame",
                field: "stream",
                problem: e.to_string(),
            })),
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Target, E> {
        Err(self.wrong(format_args!("boolean {v}")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Target, E> {
        Err(self.wrong(format_args!("number {v}")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Target, E> {
        Err(self.wrong(format_args!("number {v}")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Target, E> {
        Err(self.wrong(format_args!("number {v}")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Target, E> {
        Err(self.wrong("null"))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<Target, A::Error> {
        Err(self.wrong("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Target, A::Error> {
        Err(self.wrong("an object"))
    }
}

/// Decodes the `data` of a combined frame for its [`Target`].
pub(crate) struct DataSeed<'c> {
    pub(crate) target: Target,
    pub(crate) ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Frame;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Frame, D::Error> {
        let ctx = self.ctx;
        match self.target {
            Target::Stream(stream) => {
                let event = super::events::EventSeed {
                    kind: stream.kind(),
                    ctx,
                }
                .deserialize(deserializer)?;
                Ok(Frame::Event { stream, event })
            }
            Target::ServerShutdown => FieldSeed::<ServerShutdown>::new(ctx)
                .deserialize(deserializer)
                .map(Frame::ServerShutdown),
            Target::Unknown(name) => {
                IgnoredAny::deserialize(deserializer)?;
                Ok(Frame::Unknown(UnknownFrame::Stream(name)))
            }
        }
    }
}
