//! Durations as people write them (`"30s"`, `"500ms"`, `"23h 30m"`), for
//! `#[serde(with = "human")]`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

pub(super) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*value))
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

/// `30s`, `23h 30m`, `500ms`.
pub(crate) fn format(value: Duration) -> String {
    humantime::format_duration(value).to_string()
}

/// Parses a duration, or says how to write one.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("{text:?} is not a duration ({e}); write it like \"30s\", \"500ms\" or \"5m\"")
    })
}
