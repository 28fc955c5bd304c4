//! The recorder's configuration and what it is told about each stream.

use std::time::Duration;

use crate::Error;

/// How a [`Recorder`](crate::Recorder) judges what it observes.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `default_stream` | 1 s, increasing ids | the spec of a stream never declared |
/// | `bucket` | 1 s | the timeline's resolution (events per bucket) |
/// | `recovery_deadline` | 60 s | how soon after a fault ends every stream must deliver again for the fault to count as recovered |
/// | `limits` | Binance's | the limits a client must respect ([`BinanceLimits`]) |
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecorderConfig {
    /// The spec of a stream that was never declared, used from its first
    /// event on.
    pub default_stream: StreamSpec,
    /// The width of a timeline bucket; between 1 ms and 1 h.
    #[serde(with = "crate::secs")]
    pub bucket: Duration,
    /// A fault counts as recovered when every stream that was delivering
    /// when it began delivers again within this long after it ends; at
    /// least 1 ms.
    #[serde(with = "crate::secs")]
    pub recovery_deadline: Duration,
    /// The limits checked by [`Verdict`](crate::Verdict).
    pub limits: BinanceLimits,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            default_stream: StreamSpec::default(),
            bucket: Duration::from_secs(1),
            recovery_deadline: Duration::from_secs(60),
            limits: BinanceLimits::default(),
        }
    }
}

impl RecorderConfig {
    /// Checks every rule; the first broken one comes back.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule.
    pub fn validate(&self) -> Result<(), Error> {
        self.default_stream.validate()?;
        if self.bucket < Duration::from_millis(1) || self.bucket > Duration::from_secs(3600) {
            return Err(Error::invalid(
                "bucket",
                self.bucket,
                "must be between 1ms and 1h",
            ));
        }
        if self.recovery_deadline < Duration::from_millis(1) {
            return Err(Error::invalid(
                "recovery_deadline",
                self.recovery_deadline,
                "must be at least 1ms",
            ));
        }
        Ok(())
    }
}

/// What to expect of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamSpec {
    /// The stream is available while its last event is at most this old;
    /// a longer silence is an outage. Between 1 µs and 1 day.
    #[serde(with = "crate::secs")]
    pub expected_interval: Duration,
    /// What the event ids promise.
    pub ids: Ids,
}

impl Default for StreamSpec {
    fn default() -> Self {
        Self {
            expected_interval: Duration::from_secs(1),
            ids: Ids::Increasing,
        }
    }
}

impl StreamSpec {
    /// A spec with this interval and increasing ids.
    #[must_use]
    pub fn every(expected_interval: Duration) -> Self {
        Self {
            expected_interval,
            ids: Ids::Increasing,
        }
    }

    /// The same spec with contiguous ids (aggTrade, trade).
    #[must_use]
    pub fn contiguous(self) -> Self {
        Self {
            ids: Ids::Contiguous,
            ..self
        }
    }

    /// Checks the interval.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for an interval outside 1 µs to 1 day.
    pub fn validate(&self) -> Result<(), Error> {
        if self.expected_interval < Duration::from_micros(1)
            || self.expected_interval > Duration::from_secs(86_400)
        {
            return Err(Error::invalid(
                "expected_interval",
                self.expected_interval,
                "must be between 1us and 1d",
            ));
        }
        Ok(())
    }
}

/// What a stream's event ids promise, which decides how loss is counted
/// when no truth is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ids {
    /// Each id is the previous plus one (aggTrade `a`, trade `t`): a hole
    /// between the lowest and highest id delivered is a lost event.
    Contiguous,
    /// Ids only increase (depth `u`, bookTicker `u`): duplicates and
    /// disorder are counted, loss only against a truth.
    Increasing,
}

/// Binance's limits on what a client sends (PROTOCOL.md §2, §7).
///
/// | field | default | Binance rule |
/// |---|---|---|
/// | `frames_per_sec` | 5 | at most 5 incoming messages per second per connection, or it is disconnected |
/// | `connection_attempts_per_5min` | 300 | at most 300 connection attempts per 5 minutes per IP |
/// | `rest_weight_per_min` | 6000 | at most 6000 request weight per minute per IP |
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BinanceLimits {
    /// Frames a client may send per rolling second on one connection.
    pub frames_per_sec: u64,
    /// Connection attempts per rolling 5 minutes.
    pub connection_attempts_per_5min: u64,
    /// REST request weight per rolling minute.
    pub rest_weight_per_min: u64,
}

impl Default for BinanceLimits {
    fn default() -> Self {
        Self {
            frames_per_sec: 5,
            connection_attempts_per_5min: 300,
            rest_weight_per_min: 6000,
        }
    }
}

/// Limits as another party counted them (the simulator's counters, the
/// server's `X-MBX-USED-WEIGHT-1M`), for
/// [`Recorder::on_limits`](crate::Recorder::on_limits). `None`: not known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObservedLimits {
    /// The most frames received from the client in any rolling second on
    /// one connection.
    pub frames_per_sec_max: Option<u64>,
    /// The most connection attempts in any rolling 5 minutes.
    pub connection_attempts_5min_max: Option<u64>,
    /// The most REST weight used in any rolling minute.
    pub rest_weight_1m_max: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_rules_name_the_field() {
        assert!(RecorderConfig::default().validate().is_ok());
        let zero_bucket = RecorderConfig {
            bucket: Duration::ZERO,
            ..RecorderConfig::default()
        };
        assert!(
            zero_bucket
                .validate()
                .is_err_and(|e| e.to_string().contains("bucket"))
        );
        let no_deadline = RecorderConfig {
            recovery_deadline: Duration::ZERO,
            ..RecorderConfig::default()
        };
        assert!(no_deadline.validate().is_err());
        assert!(StreamSpec::every(Duration::ZERO).validate().is_err());
        assert_eq!(
            StreamSpec::every(Duration::from_millis(100))
                .contiguous()
                .ids,
            Ids::Contiguous
        );
    }
}
