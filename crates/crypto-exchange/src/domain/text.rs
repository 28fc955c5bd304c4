//! [`ShortText`]: a short free-form string from a payload, stored inline.

use std::fmt;

use compact_str::CompactString;
use serde::Serializer;

use super::wire::{Ctx, Fault, WireField};

/// A short string field Binance does not give a fixed vocabulary (`avgPrice`'s
/// `"i":"5m"`, the kline's ignored `"B"`). Up to 24 bytes are stored inline, so
/// decoding one does not allocate.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ShortText(CompactString);

impl ShortText {
    /// The text.
    #[must_use]
    pub fn new(text: &str) -> Self {
        ShortText(CompactString::new(text))
    }

    /// The text as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl AsRef<str> for ShortText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ShortText {
    fn from(text: &str) -> Self {
        ShortText::new(text)
    }
}

impl serde::Serialize for ShortText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl WireField for ShortText {
    const EXPECTED: &'static str = "a string";

    fn from_str(value: &str, _ctx: &Ctx) -> Result<Self, Fault> {
        Ok(ShortText::new(value))
    }

    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
