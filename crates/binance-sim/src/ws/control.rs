//! The live subscription protocol (PROTOCOL.md §3), sans-IO: a client frame in, the
//! exact reply frame out, and the subscription changes for the IO layer to apply.
//!
//! Requests are deserialised with serde into a typed [`Request`], as Binance's own
//! (Rust) server evidently does: its error messages are serde_json's, so ours are
//! produced the same way and match word for word (`unknown variant`, `missing field`,
//! positions included). Checks that Binance reports without a position (the id, the
//! parameter count, property names and values) run after deserialisation.
//!
//! Decisions on behaviour Binance does not document are listed in the `ws` module docs.

use std::collections::HashSet;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::stream::StreamName;

/// The methods of the live subscription protocol. The variant names as serialised
/// are what serde lists in the `unknown variant` error, exactly as Binance does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Method {
    Subscribe,
    Unsubscribe,
    ListSubscriptions,
    SetProperty,
    GetProperty,
}

/// A request as it arrives. `id` is kept as raw JSON so that a missing id, a `null`
/// id and an id of the wrong type can be told apart after parsing.
#[derive(Debug, Deserialize)]
struct Request {
    method: Method,
    #[serde(default)]
    params: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
}

/// Marks a field that is present (even as `null`) as `Some`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The longest string id Binance accepts.
const MAX_ID_LEN: usize = 36;

/// A request id, echoed in the reply exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum RequestId {
    /// A signed 64-bit integer.
    Int(i64),
    /// A string of 1 to 36 ASCII letters, digits or `-`.
    Str(String),
    /// `null`.
    Null,
}

impl RequestId {
    /// The id if `value` is one Binance accepts.
    ///
    /// Strings may contain `-` besides letters and digits: the 36-character limit is
    /// exactly a hyphenated UUID, and Binance's WebSocket API examples use such ids.
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(RequestId::Null),
            Value::Number(n) => n.as_i64().map(RequestId::Int),
            Value::String(s)
                if !s.is_empty()
                    && s.len() <= MAX_ID_LEN
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                Some(RequestId::Str(s.clone()))
            }
            _ => None,
        }
    }
}

/// A reply frame: a result, or an error with Binance's code and message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Reply {
    /// `{"result":…,"id":…}`
    Result {
        /// `null` for non-query requests, else the answer.
        result: Value,
        /// The request's id.
        id: RequestId,
    },
    /// `{"code":…,"msg":…}`, with the id only for code 0, as Binance does.
    Error {
        /// Binance's error code (0 to 3).
        code: u8,
        /// The message.
        msg: String,
        /// The request's id (only for "Unknown property").
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<RequestId>,
    },
}

impl Reply {
    fn ok(result: Value, id: RequestId) -> Self {
        Reply::Result { result, id }
    }

    fn error(code: u8, msg: impl Into<String>) -> Self {
        Reply::Error {
            code,
            msg: msg.into(),
            id: None,
        }
    }

    /// The frame text.
    pub(crate) fn to_json(&self) -> String {
        // A reply holds only strings, integers, booleans and nulls: it always
        // serialises. Fall back to a fixed error frame rather than panic anyway.
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"code":2,"msg":"Invalid request"}"#.to_owned())
    }
}

/// `Invalid request: invalid stream`: a stream name that does not parse.
const INVALID_STREAM: &str = "Invalid request: invalid stream";
/// A SUBSCRIBE that would take the connection over its stream limit.
const TOO_MANY_STREAMS: &str = "Invalid request: too many streams";

fn bad_id() -> Reply {
    Reply::error(2, "Invalid request: request ID must be an unsigned integer")
}

fn too_many_parameters() -> Reply {
    Reply::error(2, "Invalid request: too many parameters")
}

fn property_name_not_string() -> Reply {
    Reply::error(2, "Invalid request: property name must be a string")
}

/// The reply to a frame that is not a request: code 3 for bad JSON, code 2 for JSON
/// that is not a valid request. The message is serde_json's, with its position.
fn parse_error(error: &serde_json::Error) -> Reply {
    match error.classify() {
        serde_json::error::Category::Data => Reply::error(2, format!("Invalid request: {error}")),
        _ => Reply::error(3, format!("Invalid JSON: {error}")),
    }
}

/// What handling one client frame produced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Handled {
    /// The reply frame to send.
    pub(crate) reply: Reply,
    /// Streams that became subscribed, in order.
    pub(crate) added: Vec<StreamName>,
    /// Streams that stopped being subscribed.
    pub(crate) removed: Vec<StreamName>,
}

impl Handled {
    fn reply(reply: Reply) -> Self {
        Handled {
            reply,
            added: Vec::new(),
            removed: Vec::new(),
        }
    }
}

/// The protocol state of one connection: its subscriptions and its `combined` property.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// Subscribed streams in subscription order (what LIST_SUBSCRIPTIONS answers).
    order: Vec<StreamName>,
    /// The same streams, for the per-event membership test.
    set: HashSet<StreamName>,
    combined: bool,
    max_streams: usize,
}

impl Session {
    /// A session subscribed to `streams` (duplicates ignored), with the given `combined`
    /// property and stream limit.
    pub(crate) fn new(streams: Vec<StreamName>, combined: bool, max_streams: usize) -> Self {
        let mut session = Session {
            order: Vec::with_capacity(streams.len()),
            set: HashSet::with_capacity(streams.len()),
            combined,
            max_streams,
        };
        for stream in streams {
            if session.set.insert(stream.clone()) {
                session.order.push(stream);
            }
        }
        session
    }

    /// Whether events of `stream` go to this connection.
    pub(crate) fn wants(&self, stream: &StreamName) -> bool {
        self.set.contains(stream)
    }

    /// Whether events are wrapped as `{"stream":…,"data":…}`.
    pub(crate) fn combined(&self) -> bool {
        self.combined
    }

    /// The subscribed streams, in subscription order.
    pub(crate) fn streams(&self) -> &[StreamName] {
        &self.order
    }

    /// Handles a text frame.
    pub(crate) fn handle_text(&mut self, text: &str) -> Handled {
        let request: Request = match serde_json::from_str(text) {
            Ok(request) => request,
            Err(error) => return Handled::reply(parse_error(&error)),
        };
        self.handle_request(request)
    }

    /// Handles a binary frame: a request if it is UTF-8, else the code-3 JSON error
    /// (serde_json's own wording for bytes that are not UTF-8).
    pub(crate) fn handle_binary(&mut self, bytes: &[u8]) -> Handled {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.handle_text(text),
            Err(error) => {
                let valid = bytes.get(..error.valid_up_to()).unwrap_or_default();
                let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
                let column =
                    valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
                Handled::reply(Reply::error(
                    3,
                    format!(
                        "Invalid JSON: invalid unicode code point at line {line} column {column}"
                    ),
                ))
            }
        }
    }

    fn handle_request(&mut self, request: Request) -> Handled {
        let Some(id) = request.id.as_ref().and_then(RequestId::from_value) else {
            return Handled::reply(bad_id());
        };
        let params = request.params.unwrap_or_default();
        match request.method {
            Method::Subscribe => self.subscribe(id, &params),
            Method::Unsubscribe => self.unsubscribe(id, &params),
            Method::ListSubscriptions => {
                if !params.is_empty() {
                    return Handled::reply(too_many_parameters());
                }
                let names = self
                    .order
                    .iter()
                    .map(|s| Value::String(s.to_string()))
                    .collect();
                Handled::reply(Reply::ok(Value::Array(names), id))
            }
            Method::SetProperty => {
                if params.len() > 2 {
                    return Handled::reply(too_many_parameters());
                }
                if let Err(reply) = property(&params, &id) {
                    return Handled::reply(reply);
                }
                match params.get(1) {
                    Some(Value::Bool(value)) => {
                        self.combined = *value;
                        Handled::reply(Reply::ok(Value::Null, id))
                    }
                    _ => Handled::reply(Reply::error(1, "Invalid value type: expected Boolean")),
                }
            }
            Method::GetProperty => {
                if params.len() > 1 {
                    return Handled::reply(too_many_parameters());
                }
                if let Err(reply) = property(&params, &id) {
                    return Handled::reply(reply);
                }
                Handled::reply(Reply::ok(Value::Bool(self.combined), id))
            }
        }
    }

    fn subscribe(&mut self, id: RequestId, params: &[Value]) -> Handled {
        let names = match parse_streams(params) {
            Ok(names) => names,
            Err(reply) => return Handled::reply(reply),
        };
        let mut seen = HashSet::new();
        let added: Vec<StreamName> = names
            .into_iter()
            .filter(|name| !self.set.contains(name) && seen.insert(name.clone()))
            .collect();
        // All or nothing: a request that would pass the limit subscribes nothing.
        if self.order.len() + added.len() > self.max_streams {
            return Handled::reply(Reply::error(2, TOO_MANY_STREAMS));
        }
        for name in &added {
            self.set.insert(name.clone());
            self.order.push(name.clone());
        }
        Handled {
            reply: Reply::ok(Value::Null, id),
            added,
            removed: Vec::new(),
        }
    }

    fn unsubscribe(&mut self, id: RequestId, params: &[Value]) -> Handled {
        let names = match parse_streams(params) {
            Ok(names) => names,
            Err(reply) => return Handled::reply(reply),
        };
        let mut removed = Vec::new();
        for name in names {
            if self.set.remove(&name) {
                removed.push(name);
            }
        }
        if !removed.is_empty() {
            self.order.retain(|s| self.set.contains(s));
        }
        Handled {
            reply: Reply::ok(Value::Null, id),
            added: Vec::new(),
            removed,
        }
    }
}

/// Parses every parameter as a stream name; one bad name refuses the whole request.
fn parse_streams(params: &[Value]) -> Result<Vec<StreamName>, Reply> {
    params
        .iter()
        .map(|p| {
            p.as_str()
                .and_then(|s| StreamName::parse(s).ok())
                .ok_or_else(|| Reply::error(2, INVALID_STREAM))
        })
        .collect()
}

/// Checks the property name of SET/GET_PROPERTY; `combined` is the only property.
fn property(params: &[Value], id: &RequestId) -> Result<(), Reply> {
    match params.first() {
        Some(Value::String(name)) if name == "combined" => Ok(()),
        Some(Value::String(_)) => Err(Reply::Error {
            code: 0,
            msg: "Unknown property".to_owned(),
            id: Some(id.clone()),
        }),
        _ => Err(property_name_not_string()),
    }
}

#[cfg(test)]
mod tests;
