//! Event times: [`TimeUnit`] and [`Timestamp`].
//!
//! Binance sends times as integers since the Unix epoch, in milliseconds by default
//! or in microseconds when the connection asked for `timeUnit=MICROSECOND`
//! (PROTOCOL.md §1). A number alone does not say which, so the unit is a property
//! of the connection: the [`Decoder`](super::Decoder) is told it once and stamps
//! it on every [`Timestamp`] it decodes. A timestamp keeps its raw value and unit,
//! so it serializes back to exactly the number it was decoded from.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The unit of every time field on one connection (`timeUnit=` on the stream URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimeUnit {
    /// Milliseconds since the epoch: Binance's default.
    #[default]
    Millisecond,
    /// Microseconds since the epoch (`timeUnit=MICROSECOND`).
    Microsecond,
}

impl TimeUnit {
    /// Parses the spellings Binance accepts: `MILLISECOND`, `millisecond`,
    /// `MICROSECOND` and `microsecond`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "MILLISECOND" | "millisecond" => Some(TimeUnit::Millisecond),
            "MICROSECOND" | "microsecond" => Some(TimeUnit::Microsecond),
            _ => None,
        }
    }

    /// The value for the `timeUnit` URL parameter (`MILLISECOND` or `MICROSECOND`).
    #[must_use]
    pub const fn as_query_value(self) -> &'static str {
        match self {
            TimeUnit::Millisecond => "MILLISECOND",
            TimeUnit::Microsecond => "MICROSECOND",
        }
    }

    /// How many microseconds one unit is.
    const fn micros_per_unit(self) -> u64 {
        match self {
            TimeUnit::Millisecond => 1000,
            TimeUnit::Microsecond => 1,
        }
    }
}

/// A time from a payload: the raw integer and the unit it is in.
///
/// Comparison, ordering and hashing are by the instant, so `1 ms` equals
/// `1000 µs`; [`value`](Self::value) and [`unit`](Self::unit) give back what was on
/// the wire.
#[derive(Debug, Clone, Copy)]
pub struct Timestamp {
    value: u64,
    unit: TimeUnit,
}

impl Timestamp {
    /// A time of `value` units since the epoch.
    #[must_use]
    pub const fn new(value: u64, unit: TimeUnit) -> Self {
        Timestamp { value, unit }
    }

    /// A time in milliseconds since the epoch.
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        Timestamp::new(millis, TimeUnit::Millisecond)
    }

    /// A time in microseconds since the epoch.
    #[must_use]
    pub const fn from_micros(micros: u64) -> Self {
        Timestamp::new(micros, TimeUnit::Microsecond)
    }

    /// The raw value, in [`unit`](Self::unit)s since the epoch.
    #[must_use]
    pub const fn value(self) -> u64 {
        self.value
    }

    /// The unit the value is in.
    #[must_use]
    pub const fn unit(self) -> TimeUnit {
        self.unit
    }

    /// Milliseconds since the epoch; microseconds are truncated.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        match self.unit {
            TimeUnit::Millisecond => self.value,
            TimeUnit::Microsecond => self.value / 1000,
        }
    }

    /// Microseconds since the epoch, exact. Saturates at `u64::MAX` (a date some
    /// 584,000 years away, which only a corrupt payload can reach).
    #[must_use]
    pub const fn as_micros(self) -> u64 {
        self.value.saturating_mul(self.unit.micros_per_unit())
    }

    /// The same instant in another unit (truncated when going to milliseconds).
    #[must_use]
    pub const fn to_unit(self, unit: TimeUnit) -> Self {
        let value = match unit {
            TimeUnit::Millisecond => self.as_millis(),
            TimeUnit::Microsecond => self.as_micros(),
        };
        Timestamp::new(value, unit)
    }

    /// The instant as a [`SystemTime`].
    #[must_use]
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.as_micros())
    }

    /// The exact instant in microseconds, wide enough never to saturate.
    fn instant(self) -> u128 {
        u128::from(self.value) * u128::from(self.unit.micros_per_unit())
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.instant() == other.instant()
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.instant().cmp(&other.instant())
    }
}

impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.instant().hash(state);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit {
            TimeUnit::Millisecond => write!(f, "{}ms", self.value),
            TimeUnit::Microsecond => write!(f, "{}µs", self.value),
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_compare_by_instant() {
        let ms = Timestamp::from_millis(1_672_515_782_136);
        let us = Timestamp::from_micros(1_672_515_782_136_000);
        assert_eq!(ms, us);
        assert_eq!(us.as_millis(), ms.value());
        assert_eq!(ms.as_micros(), us.value());
        assert!(Timestamp::from_micros(1_672_515_782_136_001) > ms);
        assert_eq!(ms.to_unit(TimeUnit::Microsecond).value(), us.value());
        assert_eq!(
            ms.to_system_time(),
            UNIX_EPOCH + Duration::from_millis(1_672_515_782_136)
        );
    }

    #[test]
    fn parses_binance_spellings() {
        assert_eq!(TimeUnit::parse("microsecond"), Some(TimeUnit::Microsecond));
        assert_eq!(TimeUnit::parse("MILLISECOND"), Some(TimeUnit::Millisecond));
        assert_eq!(TimeUnit::parse("Microsecond"), None);
        assert_eq!(TimeUnit::Microsecond.as_query_value(), "MICROSECOND");
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        assert_eq!(Timestamp::from_millis(u64::MAX).as_micros(), u64::MAX);
        assert!(Timestamp::from_millis(u64::MAX) > Timestamp::from_micros(u64::MAX));
    }
}
