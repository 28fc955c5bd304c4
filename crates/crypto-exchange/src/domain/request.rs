//! Control requests of the live subscription protocol (PROTOCOL.md §3):
//! [`Request`], its [`RequestId`], and [`batch`], which packs many streams into
//! few `SUBSCRIBE`/`UNSUBSCRIBE` frames.
//!
//! Every frame a client sends counts toward Binance's 5 messages per second per
//! connection, so restoring a large subscription set must use few frames. Binance
//! documents no size limit for a control frame (the simulator reads up to 64 KiB);
//! [`DEFAULT_MAX_FRAME_BYTES`] is a conservative 4 KiB, which packs about 180
//! typical stream names per frame: 1024 streams, the most one connection may hold,
//! fit in 6 frames, under 2 s at 4 frames per second.

use std::fmt;

use compact_str::CompactString;
use serde::ser::{SerializeMap as _, Serializer};

use super::error::ParseError;
use super::stream::StreamName;
use super::symbol::shorten;
use super::wire::{Ctx, Fault, WireField, wrong_type};

/// The default size budget of one batched control frame, in bytes.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 4096;

/// A request id: a signed 64-bit integer or a string of 1 to 36 ASCII letters,
/// digits or `-` (a hyphenated UUID fits). The reply echoes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(IdRepr);

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum IdRepr {
    Int(i64),
    Text(CompactString),
}

impl RequestId {
    /// The longest string id Binance accepts.
    pub const MAX_TEXT_LEN: usize = 36;

    /// An integer id.
    #[must_use]
    pub const fn int(id: i64) -> Self {
        RequestId(IdRepr::Int(id))
    }

    /// A string id.
    ///
    /// # Errors
    /// [`ParseError::RequestId`] when the text is empty, longer than 36 bytes, or
    /// has characters other than ASCII letters, digits and `-`.
    pub fn text(id: &str) -> Result<Self, ParseError> {
        check_text_id(id).map_err(|reason| ParseError::RequestId {
            input: id.to_owned(),
            reason,
        })?;
        Ok(RequestId(IdRepr::Text(CompactString::new(id))))
    }

    /// The id if it is an integer.
    #[must_use]
    pub const fn as_i64(&self) -> Option<i64> {
        match self.0 {
            IdRepr::Int(id) => Some(id),
            IdRepr::Text(_) => None,
        }
    }

    /// The id if it is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.0 {
            IdRepr::Int(_) => None,
            IdRepr::Text(id) => Some(id.as_str()),
        }
    }
}

fn check_text_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        Err("a string id cannot be empty")
    } else if id.len() > RequestId::MAX_TEXT_LEN {
        Err("a string id has at most 36 characters")
    } else if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Err("a string id has only ASCII letters, digits and `-`")
    } else {
        Ok(())
    }
}

impl From<i64> for RequestId {
    fn from(id: i64) -> Self {
        RequestId::int(id)
    }
}

impl From<u32> for RequestId {
    fn from(id: u32) -> Self {
        RequestId::int(i64::from(id))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            IdRepr::Int(id) => write!(f, "{id}"),
            IdRepr::Text(id) => f.write_str(id),
        }
    }
}

impl serde::Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.write(serializer)
    }
}

impl WireField for RequestId {
    const EXPECTED: &'static str = "a request id (an integer or a string)";

    fn from_u64(value: u64, _ctx: &Ctx) -> Result<Self, Fault> {
        i64::try_from(value)
            .map(RequestId::int)
            .map_err(|_| wrong_type::<Self>(format_args!("number {value} (beyond 64 bits)")))
    }

    fn from_i64(value: i64, _ctx: &Ctx) -> Result<Self, Fault> {
        Ok(RequestId::int(value))
    }

    fn from_str(value: &str, _ctx: &Ctx) -> Result<Self, Fault> {
        check_text_id(value)
            .map_err(|reason| Fault::Value(format!("\"{}\": {reason}", shorten(value))))?;
        Ok(RequestId(IdRepr::Text(CompactString::new(value))))
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            IdRepr::Int(id) => serializer.serialize_i64(*id),
            IdRepr::Text(id) => serializer.serialize_str(id),
        }
    }
}

/// The methods of the live subscription protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `SUBSCRIBE`
    Subscribe,
    /// `UNSUBSCRIBE`
    Unsubscribe,
    /// `LIST_SUBSCRIPTIONS`
    ListSubscriptions,
    /// `SET_PROPERTY`
    SetProperty,
    /// `GET_PROPERTY`
    GetProperty,
}

impl Method {
    /// The method as sent (`SUBSCRIBE`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Subscribe => "SUBSCRIBE",
            Method::Unsubscribe => "UNSUBSCRIBE",
            Method::ListSubscriptions => "LIST_SUBSCRIPTIONS",
            Method::SetProperty => "SET_PROPERTY",
            Method::GetProperty => "GET_PROPERTY",
        }
    }
}

/// A connection property (`combined` is the only one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Property {
    /// `combined`: whether payloads arrive wrapped as `{"stream":…,"data":…}`.
    Combined,
}

impl Property {
    /// The property's name as sent.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Property::Combined => "combined",
        }
    }
}

/// A value to set with `SET_PROPERTY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyValue {
    /// `["combined", <bool>]`: wrap payloads (`true`) or send them raw (`false`).
    Combined(bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Params {
    Streams(Vec<StreamName>),
    None,
    Set(PropertyValue),
    Get(Property),
}

/// One control request, serialized as Binance's `{"method":…,"params":[…],"id":…}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    params: Params,
    id: RequestId,
}

impl Request {
    /// `SUBSCRIBE` to `streams`.
    #[must_use]
    pub fn subscribe(id: RequestId, streams: impl IntoIterator<Item = StreamName>) -> Self {
        Request {
            method: Method::Subscribe,
            params: Params::Streams(streams.into_iter().collect()),
            id,
        }
    }

    /// `UNSUBSCRIBE` from `streams`.
    #[must_use]
    pub fn unsubscribe(id: RequestId, streams: impl IntoIterator<Item = StreamName>) -> Self {
        Request {
            method: Method::Unsubscribe,
            params: Params::Streams(streams.into_iter().collect()),
            id,
        }
    }

    /// `LIST_SUBSCRIPTIONS`.
    #[must_use]
    pub const fn list_subscriptions(id: RequestId) -> Self {
        Request {
            method: Method::ListSubscriptions,
            params: Params::None,
            id,
        }
    }

    /// `SET_PROPERTY`.
    #[must_use]
    pub const fn set_property(id: RequestId, value: PropertyValue) -> Self {
        Request {
            method: Method::SetProperty,
            params: Params::Set(value),
            id,
        }
    }

    /// `GET_PROPERTY`.
    #[must_use]
    pub const fn get_property(id: RequestId, property: Property) -> Self {
        Request {
            method: Method::GetProperty,
            params: Params::Get(property),
            id,
        }
    }

    /// The method.
    #[must_use]
    pub const fn method(&self) -> Method {
        self.method
    }

    /// The id the reply will echo.
    #[must_use]
    pub const fn id(&self) -> &RequestId {
        &self.id
    }

    /// The streams of a `SUBSCRIBE` or `UNSUBSCRIBE`; empty for other methods.
    #[must_use]
    pub fn streams(&self) -> &[StreamName] {
        match &self.params {
            Params::Streams(streams) => streams,
            Params::None | Params::Set(_) | Params::Get(_) => &[],
        }
    }

    /// The frame text.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serializing strings, numbers and booleans into a `Vec` cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl serde::Serialize for Request {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("method", self.method.as_str())?;
        match &self.params {
            Params::Streams(streams) => map.serialize_entry("params", streams)?,
            Params::None => {}
            Params::Set(PropertyValue::Combined(value)) => {
                map.serialize_entry("params", &(Property::Combined.as_str(), value))?;
            }
            Params::Get(property) => map.serialize_entry("params", &[property.as_str()])?,
        }
        map.serialize_entry("id", &self.id)?;
        map.end()
    }
}

/// Which batched request [`batch`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchMethod {
    /// `SUBSCRIBE`
    Subscribe,
    /// `UNSUBSCRIBE`
    Unsubscribe,
}

/// A stream whose name alone does not fit the frame budget of [`batch`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "stream `{stream}` alone needs a {needed}-byte frame, over the {limit}-byte budget: raise the budget"
)]
pub struct BatchError {
    /// The stream.
    pub stream: String,
    /// The size of a frame holding only it.
    pub needed: usize,
    /// The budget.
    pub limit: usize,
}

/// Packs `streams` into as few `method` frames as fit `max_frame_bytes` each, in
/// order, taking an id from `next_id` for each frame.
///
/// # Errors
/// [`BatchError`] when one stream alone does not fit (the budget is absurdly small).
pub fn batch(
    method: BatchMethod,
    streams: &[StreamName],
    max_frame_bytes: usize,
    mut next_id: impl FnMut() -> RequestId,
) -> Result<Vec<Request>, BatchError> {
    let method = match method {
        BatchMethod::Subscribe => Method::Subscribe,
        BatchMethod::Unsubscribe => Method::Unsubscribe,
    };
    let mut frames = Vec::new();
    let mut rest = streams;
    while !rest.is_empty() {
        let id = next_id();
        // `{"method":"SUBSCRIBE","params":[` … `],"id":<id>}`
        let id_len = serde_json::to_string(&id).map_or(0, |text| text.len());
        let overhead = r#"{"method":"","params":[],"id":}"#.len() + method.as_str().len() + id_len;
        let mut size = overhead;
        let mut count = 0;
        for stream in rest {
            // Quotes, and a comma after the first; names never need escaping.
            let item = stream.to_string().len() + 2 + usize::from(count > 0);
            if size + item > max_frame_bytes {
                break;
            }
            size += item;
            count += 1;
        }
        if count == 0 {
            let stream = rest[0].to_string();
            return Err(BatchError {
                needed: overhead + stream.len() + 2,
                stream,
                limit: max_frame_bytes,
            });
        }
        let (now, later) = rest.split_at(count);
        frames.push(Request {
            method,
            params: Params::Streams(now.to_vec()),
            id,
        });
        rest = later;
    }
    Ok(frames)
}
