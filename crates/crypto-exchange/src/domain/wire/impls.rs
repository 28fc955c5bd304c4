//! [`WireField`] for the primitive field types: integers, booleans, strings,
//! timestamps, symbols, and `Option`/`Vec` of any field type.

use serde::de::{MapAccess, SeqAccess};
use serde::ser::Serializer;

use super::{Ctx, Fault, FieldSeed, Wire, WireField, wrong_type};
use crate::domain::symbol::Symbol;
use crate::domain::time::Timestamp;

impl WireField for u64 {
    const EXPECTED: &'static str = "an unsigned integer";

    fn from_u64(value: u64, _ctx: &Ctx) -> Result<Self, Fault> {
        Ok(value)
    }

    fn from_i64(value: i64, _ctx: &Ctx) -> Result<Self, Fault> {
        u64::try_from(value).map_err(|_| wrong_type::<Self>(format_args!("number {value}")))
    }

    fn from_f64(value: f64, _ctx: &Ctx) -> Result<Self, Fault> {
        Err(wrong_type::<Self>(format_args!(
            "number {value} (a fraction, or beyond 64 bits)"
        )))
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(*self)
    }
}

impl WireField for i64 {
    const EXPECTED: &'static str = "an integer";

    fn from_u64(value: u64, _ctx: &Ctx) -> Result<Self, Fault> {
        i64::try_from(value).map_err(|_| {
            wrong_type::<Self>(format_args!(
                "number {value} (beyond a signed 64-bit integer)"
            ))
        })
    }

    fn from_i64(value: i64, _ctx: &Ctx) -> Result<Self, Fault> {
        Ok(value)
    }

    fn from_f64(value: f64, _ctx: &Ctx) -> Result<Self, Fault> {
        Err(wrong_type::<Self>(format_args!(
            "number {value} (a fraction, or beyond 64 bits)"
        )))
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(*self)
    }
}

impl WireField for bool {
    const EXPECTED: &'static str = "a boolean";

    fn from_bool(value: bool, _ctx: &Ctx) -> Result<Self, Fault> {
        Ok(value)
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(*self)
    }
}

impl WireField for String {
    const EXPECTED: &'static str = "a string";

    fn from_str(value: &str, _ctx: &Ctx) -> Result<Self, Fault> {
        Ok(value.to_owned())
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

impl WireField for Timestamp {
    const EXPECTED: &'static str = "an integer time since the epoch";

    fn from_u64(value: u64, ctx: &Ctx) -> Result<Self, Fault> {
        Ok(Timestamp::new(value, ctx.unit()))
    }

    fn from_i64(value: i64, ctx: &Ctx) -> Result<Self, Fault> {
        u64::try_from(value)
            .map(|v| Timestamp::new(v, ctx.unit()))
            .map_err(|_| wrong_type::<Self>(format_args!("negative number {value}")))
    }

    fn from_f64(value: f64, _ctx: &Ctx) -> Result<Self, Fault> {
        Err(wrong_type::<Self>(format_args!(
            "number {value} (a fraction, or beyond 64 bits)"
        )))
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.value())
    }
}

impl WireField for Symbol {
    const EXPECTED: &'static str = "a symbol string";

    fn from_str(value: &str, _ctx: &Ctx) -> Result<Self, Fault> {
        Symbol::from_wire(value).map_err(Fault::Value)
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<T: WireField> WireField for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;

    fn from_bool(value: bool, ctx: &Ctx) -> Result<Self, Fault> {
        T::from_bool(value, ctx).map(Some)
    }

    fn from_u64(value: u64, ctx: &Ctx) -> Result<Self, Fault> {
        T::from_u64(value, ctx).map(Some)
    }

    fn from_i64(value: i64, ctx: &Ctx) -> Result<Self, Fault> {
        T::from_i64(value, ctx).map(Some)
    }

    fn from_f64(value: f64, ctx: &Ctx) -> Result<Self, Fault> {
        T::from_f64(value, ctx).map(Some)
    }

    fn from_str(value: &str, ctx: &Ctx) -> Result<Self, Fault> {
        T::from_str(value, ctx).map(Some)
    }

    fn from_null(_ctx: &Ctx) -> Result<Self, Fault> {
        Ok(None)
    }

    fn from_seq<'de, A: SeqAccess<'de>>(seq: A, ctx: &Ctx) -> Result<Self, A::Error> {
        T::from_seq(seq, ctx).map(Some)
    }

    fn from_map<'de, A: MapAccess<'de>>(map: A, ctx: &Ctx) -> Result<Self, A::Error> {
        T::from_map(map, ctx).map(Some)
    }

    fn when_missing() -> Option<Self> {
        Some(None)
    }

    fn is_absent(&self) -> bool {
        self.is_none()
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(value) => value.write(serializer),
            None => serializer.serialize_none(),
        }
    }
}

impl<T: WireField> WireField for Vec<T> {
    const EXPECTED: &'static str = "an array";

    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A, ctx: &Ctx) -> Result<Self, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(FieldSeed::<T>::new(ctx))? {
            items.push(item);
        }
        Ok(items)
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Wire))
    }
}
