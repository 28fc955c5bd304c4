//! Durations in JSON as seconds (a number), exact to the nanosecond on the
//! way back: `1.5` is 1 s 500 ms.

use std::time::Duration;

use serde::{Deserialize as _, Deserializer, Serializer};

fn to_duration(secs: f64) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{secs} is not a duration in seconds"));
    }
    // Rounding to the nearest nanosecond undoes the float's own rounding for
    // any duration below about a hundred days.
    let nanos = (secs * 1e9).round();
    if nanos >= 1.8e19 {
        return Err(format!("{secs} s is too long"));
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked: finite, not negative, below u64::MAX"
    )]
    Ok(Duration::from_nanos(nanos as u64))
}

/// `Duration` as seconds.
pub(crate) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(value.as_secs_f64())
}

/// Seconds as a `Duration`.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    to_duration(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

/// `Option<Duration>` as seconds or `null`.
pub(crate) mod option {
    use std::time::Duration;

    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.serialize_some(&duration.as_secs_f64()),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(deserializer)?
            .map(|secs| super::to_duration(secs).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_to_the_nanosecond() {
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(1500),
            Duration::new(86_400 * 30, 123_456_789),
        ] {
            assert_eq!(to_duration(d.as_secs_f64()), Ok(d));
        }
        assert!(to_duration(-1.0).is_err());
        assert!(to_duration(f64::NAN).is_err());
        assert!(to_duration(1e300).is_err());
    }
}
