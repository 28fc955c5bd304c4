//! [`wire_struct!`]: declares a payload struct with its decoding and serialization.

/// `true` for fields marked `optional` in [`wire_struct!`]: left out when absent.
macro_rules! wire_skip {
    () => {
        false
    };
    (optional) => {
        true
    };
}
pub(crate) use wire_skip;

/// Declares a payload struct, its decoding and its serialization.
///
/// `tag "e" = "aggTrade";` declares the event type: checked when decoding, written
/// first when serializing, not stored. Each field is `"key" [optional] => name: Type`;
/// `optional` fields (of an `Option` type) are left out when serializing `None`.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident as $payload:literal {
            $(tag $tag_key:literal = $tag_value:literal;)?
            $(
                $(#[$fmeta:meta])*
                $key:literal $($flag:ident)? => $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::domain::wire::Payload for $name {
            fn key_index(key: &str) -> Option<usize> {
                let mut index = 0_usize;
                $( if key == $tag_key { return Some(index); } index += 1; )?
                $( if key == $key { return Some(index); } index += 1; )*
                let _ = index;
                None
            }

            fn read<'de, A: serde::de::MapAccess<'de>>(
                map: &mut A,
                ctx: &$crate::domain::wire::Ctx,
                first: Option<usize>,
            ) -> Result<Self, A::Error> {
                use $crate::domain::wire::{Fault, FieldSeed, KeySeed, WireField};
                $( let mut $field: Option<$ty> = None; )*
                $( let mut tag_seen = false; let _ = $tag_key; )?
                let mut pending = first;
                loop {
                    let found = match pending.take() {
                        Some(index) => index,
                        None => match map.next_key_seed(KeySeed::<Self>::new())? {
                            None => break,
                            Some(Some(index)) => index,
                            Some(None) => {
                                map.next_value::<serde::de::IgnoredAny>()?;
                                continue;
                            }
                        },
                    };
                    let mut index = 0_usize;
                    $(
                        if found == index {
                            if tag_seen {
                                return Err(ctx.fail(Fault::Duplicate { payload: $payload, field: $tag_key }));
                            }
                            map.next_value_seed($crate::domain::wire::TagSeed::new($tag_value, ctx))
                                .map_err(|e| ctx.locate(e, $payload, $tag_key))?;
                            tag_seen = true;
                            continue;
                        }
                        index += 1;
                    )?
                    $(
                        if found == index {
                            if $field.is_some() {
                                return Err(ctx.fail(Fault::Duplicate { payload: $payload, field: $key }));
                            }
                            $field = Some(
                                map.next_value_seed(FieldSeed::<$ty>::new(ctx))
                                    .map_err(|e| ctx.locate(e, $payload, $key))?,
                            );
                            continue;
                        }
                        index += 1;
                    )*
                    let _ = index;
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                $(
                    if !tag_seen {
                        return Err(ctx.fail(Fault::Missing { payload: $payload, field: $tag_key }));
                    }
                )?
                Ok($name {
                    $(
                        $field: match $field.or_else(<$ty as WireField>::when_missing) {
                            Some(value) => value,
                            None => {
                                return Err(ctx.fail(Fault::Missing { payload: $payload, field: $key }));
                            }
                        },
                    )*
                })
            }
        }

        impl $crate::domain::wire::WireField for $name {
            const EXPECTED: &'static str = concat!("an object (", $payload, ")");

            fn from_map<'de, A: serde::de::MapAccess<'de>>(
                mut map: A,
                ctx: &$crate::domain::wire::Ctx,
            ) -> Result<Self, A::Error> {
                <Self as $crate::domain::wire::Payload>::read(&mut map, ctx, None)
            }

            fn write<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(self, serializer)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct as _;
                use $crate::domain::wire::{Wire, skip_field, wire_skip};
                let mut len = 0_usize;
                $( let _ = $tag_key; len += 1; )?
                $( if !skip_field(wire_skip!($($flag)?), &self.$field) { len += 1; } )*
                let mut out = serializer.serialize_struct($payload, len)?;
                $( out.serialize_field($tag_key, $tag_value)?; )?
                $(
                    if skip_field(wire_skip!($($flag)?), &self.$field) {
                        out.skip_field($key)?;
                    } else {
                        out.serialize_field($key, &Wire(&self.$field))?;
                    }
                )*
                out.end()
            }
        }
    };
}
pub(crate) use wire_struct;
