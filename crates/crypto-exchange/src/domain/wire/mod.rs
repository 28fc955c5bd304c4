//! The decoding machinery shared by stream payloads, control frames and REST bodies.
//!
//! serde drives the JSON parser; the visitors here turn each JSON value into a
//! domain type straight from the borrowed input, so a payload decodes without a
//! heap allocation unless it holds a list (depth levels) or a long string.
//!
//! Every decode call owns a [`Ctx`]: the connection's [`TimeUnit`] for the
//! timestamps it meets, and a slot for the first [`Fault`]. A visitor that refuses
//! a value records the fault there and returns a bare serde error; the field that
//! holds the value adds its payload and key on the way out. The decoder then turns
//! the recorded fault, not serde's message, into a [`DecodeError`], so messages say
//! `field `p` of aggTrade: expected a decimal string, found number 5`.
//!
//! Payload structs are declared with [`wire_struct!`], which writes the struct, its
//! decoding (case-sensitive keys, unknown keys skipped, duplicates and missing
//! fields refused) and its serialization with Binance's keys in Binance's order.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use super::error::DecodeError;
use super::symbol::shorten;
use super::time::TimeUnit;

mod impls;
mod macros;

pub(crate) use macros::{wire_skip, wire_struct};

/// The event types this crate decodes, as in `e`.
pub(crate) const KNOWN_EVENT_TYPES: [&str; 13] = [
    "aggTrade",
    "trade",
    "blockTrade",
    "kline",
    "24hrMiniTicker",
    "24hrTicker",
    "1hTicker",
    "4hTicker",
    "1dTicker",
    "avgPrice",
    "referencePrice",
    "depthUpdate",
    "serverShutdown",
];

/// What went wrong while decoding, recorded where it was noticed.
#[derive(Debug)]
pub(crate) enum Fault {
    /// A value was refused; the field holding it is added on the way out.
    Value(String),
    /// A value of a known field was refused.
    Field {
        payload: &'static str,
        field: &'static str,
        problem: String,
    },
    /// A required field is absent.
    Missing {
        payload: &'static str,
        field: &'static str,
    },
    /// A field appears twice.
    Duplicate {
        payload: &'static str,
        field: &'static str,
    },
    /// A payload of an event type this crate does not know (not an error).
    UnknownEvent(String),
    /// A `serverShutdown` arrived where a stream payload was expected (not an error).
    ServerShutdown,
    /// The frame is none of the expected shapes.
    Shape(String),
}

impl Fault {
    /// The error for a fault that is an error.
    pub(crate) fn into_error(self) -> DecodeError {
        match self {
            Fault::Value(problem) | Fault::Shape(problem) => DecodeError::Shape { problem },
            Fault::Field {
                payload,
                field,
                problem,
            } => DecodeError::Field {
                payload,
                field,
                problem,
            },
            Fault::Missing { payload, field } => DecodeError::MissingField { payload, field },
            Fault::Duplicate { payload, field } => DecodeError::DuplicateField { payload, field },
            Fault::UnknownEvent(name) => DecodeError::Shape {
                problem: format!("unknown event type `{}`", shorten(&name)),
            },
            Fault::ServerShutdown => DecodeError::Shape {
                problem: "a `serverShutdown` event inside a stream payload".to_owned(),
            },
        }
    }
}

/// The state of one decode call.
pub(crate) struct Ctx {
    unit: TimeUnit,
    fault: Cell<Option<Fault>>,
}

impl Ctx {
    /// A context decoding times in `unit`.
    pub(crate) const fn new(unit: TimeUnit) -> Self {
        Ctx {
            unit,
            fault: Cell::new(None),
        }
    }

    /// The unit of every time field.
    pub(crate) const fn unit(&self) -> TimeUnit {
        self.unit
    }

    /// Records `fault` (unless one is recorded already: the first is the cause) and
    /// returns the serde error that unwinds the parse.
    pub(crate) fn fail<E: de::Error>(&self, fault: Fault) -> E {
        let first = self.fault.take();
        self.fault.set(Some(first.unwrap_or(fault)));
        E::custom("invalid payload")
    }

    /// Attributes an unattributed value fault to `field` of `payload`.
    pub(crate) fn locate<E>(&self, error: E, payload: &'static str, field: &'static str) -> E {
        let fault = match self.fault.take() {
            Some(Fault::Value(problem)) => Some(Fault::Field {
                payload,
                field,
                problem,
            }),
            other => other,
        };
        self.fault.set(fault);
        error
    }

    /// The recorded fault, if any.
    pub(crate) fn take(&self) -> Option<Fault> {
        self.fault.take()
    }
}

/// The fault for a value of the wrong JSON type.
pub(crate) fn wrong_type<T: WireField>(found: impl fmt::Display) -> Fault {
    Fault::Value(format!("expected {}, found {found}", T::EXPECTED))
}

/// The fault for an `e` that is not `expected`.
pub(crate) fn tag_fault(expected: &str, found: &str) -> Fault {
    if found == "serverShutdown" {
        Fault::ServerShutdown
    } else if KNOWN_EVENT_TYPES.contains(&found) {
        Fault::Value(format!(
            "expected event type {expected}, found `{found}`: the payload does not belong to \
             this stream"
        ))
    } else {
        Fault::UnknownEvent(found.to_owned())
    }
}

/// A value type of a payload field: how it decodes from each JSON type and how it
/// serializes back. Every `from_*` refuses by default.
pub(crate) trait WireField: Sized {
    /// What the field expects, for messages (`a decimal string`).
    const EXPECTED: &'static str;

    fn from_bool(value: bool, _ctx: &Ctx) -> Result<Self, Fault> {
        Err(wrong_type::<Self>(format_args!("boolean {value}")))
    }

    fn from_u64(value: u64, _ctx: &Ctx) -> Result<Self, Fault> {
        Err(wrong_type::<Self>(format_args!("number {value}")))
    }

    fn from_i64(value: i64, _ctx: &Ctx) -> Result<Self, Fault> {
        Err(wrong_type::<Self>(format_args!("number {value}")))
    }

    fn from_f64(value: f64, _ctx: &Ctx) -> Result<Self, Fault> {
        Err(wrong_type::<Self>(format_args!("number {value}")))
    }

    fn from_str(value: &str, _ctx: &Ctx) -> Result<Self, Fault> {
        Err(wrong_type::<Self>(format_args!(
            "string \"{}\"",
            shorten(value)
        )))
    }

    fn from_null(_ctx: &Ctx) -> Result<Self, Fault> {
        Err(wrong_type::<Self>("null"))
    }

    fn from_seq<'de, A: SeqAccess<'de>>(seq: A, ctx: &Ctx) -> Result<Self, A::Error> {
        drop(seq);
        Err(ctx.fail(wrong_type::<Self>("an array")))
    }

    fn from_map<'de, A: MapAccess<'de>>(map: A, ctx: &Ctx) -> Result<Self, A::Error> {
        drop(map);
        Err(ctx.fail(wrong_type::<Self>("an object")))
    }

    /// The value of an absent field, or `None` when the field is required.
    fn when_missing() -> Option<Self> {
        None
    }

    /// True for a value that an optional field leaves out when serializing.
    fn is_absent(&self) -> bool {
        false
    }

    /// Serializes the value as Binance writes it.
    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

/// Whether an optional field is left out: `skippable` and absent.
pub(crate) fn skip_field<T: WireField>(skippable: bool, value: &T) -> bool {
    skippable && value.is_absent()
}

/// Serializes a [`WireField`].
pub(crate) struct Wire<'a, T>(pub(crate) &'a T);

impl<T: WireField> Serialize for Wire<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.write(serializer)
    }
}

/// Decodes one value as `T`.
pub(crate) struct FieldSeed<'c, T> {
    ctx: &'c Ctx,
    marker: PhantomData<fn() -> T>,
}

impl<'c, T> FieldSeed<'c, T> {
    pub(crate) const fn new(ctx: &'c Ctx) -> Self {
        FieldSeed {
            ctx,
            marker: PhantomData,
        }
    }
}

impl<'de, T: WireField> DeserializeSeed<'de> for FieldSeed<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(FieldVisitor::<T> {
            ctx: self.ctx,
            marker: PhantomData,
        })
    }
}

struct FieldVisitor<'c, T> {
    ctx: &'c Ctx,
    marker: PhantomData<fn() -> T>,
}

impl<'de, T: WireField> Visitor<'de> for FieldVisitor<'_, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        T::from_bool(v, self.ctx).map_err(|f| self.ctx.fail(f))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::from_i64(v, self.ctx).map_err(|f| self.ctx.fail(f))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::from_u64(v, self.ctx).map_err(|f| self.ctx.fail(f))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        T::from_f64(v, self.ctx).map_err(|f| self.ctx.fail(f))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_str(v, self.ctx).map_err(|f| self.ctx.fail(f))
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        T::from_null(self.ctx).map_err(|f| self.ctx.fail(f))
    }

    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::from_seq(seq, self.ctx)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map, self.ctx)
    }
}

/// A struct decoded from a JSON object by [`wire_struct!`].
pub(crate) trait Payload: Sized {
    /// The position of `key` in the field table, or `None` for a key to skip.
    fn key_index(key: &str) -> Option<usize>;

    /// Reads the object's fields; `first` is a key already read whose value is next.
    fn read<'de, A: MapAccess<'de>>(
        map: &mut A,
        ctx: &Ctx,
        first: Option<usize>,
    ) -> Result<Self, A::Error>;
}

/// Reads a map key and looks it up in `T`'s field table, without allocating.
pub(crate) struct KeySeed<T>(PhantomData<fn() -> T>);

impl<T> KeySeed<T> {
    pub(crate) const fn new() -> Self {
        KeySeed(PhantomData)
    }
}

impl<'de, T: Payload> DeserializeSeed<'de> for KeySeed<T> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<T: Payload> Visitor<'_> for KeySeed<T> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(T::key_index(v))
    }
}

/// Checks that `e` is the expected event type.
pub(crate) struct TagSeed<'c> {
    expected: &'static str,
    ctx: &'c Ctx,
}

impl<'c> TagSeed<'c> {
    pub(crate) const fn new(expected: &'static str, ctx: &'c Ctx) -> Self {
        TagSeed { expected, ctx }
    }

    fn wrong<E: de::Error>(&self, found: impl fmt::Display) -> E {
        self.ctx.fail(Fault::Value(format!(
            "expected the event type string `{}`, found {found}",
            self.expected
        )))
    }
}

impl<'de> DeserializeSeed<'de> for TagSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TagSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the event type `{}`", self.expected)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if v == self.expected {
            Ok(())
        } else {
            Err(self.ctx.fail(tag_fault(&format!("`{}`", self.expected), v)))
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        Err(self.wrong(format_args!("boolean {v}")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        Err(self.wrong(format_args!("number {v}")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        Err(self.wrong(format_args!("number {v}")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        Err(self.wrong(format_args!("number {v}")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.wrong("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<(), A::Error> {
        Err(self.wrong("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
        Err(self.wrong("an object"))
    }
}

/// Decodes a whole text as `T` (a REST body, or a frame re-read in another shape).
pub(crate) fn decode_text<T: WireField>(text: &str, unit: TimeUnit) -> Result<T, DecodeError> {
    let ctx = Ctx::new(unit);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let result = FieldSeed::<T>::new(&ctx)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    result.map_err(|error| match ctx.take() {
        Some(fault) => fault.into_error(),
        None => DecodeError::Json {
            message: error.to_string(),
        },
    })
}
