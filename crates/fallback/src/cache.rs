//! The last-known-value cache: per stream, the latest value, when and how
//! it arrived, and whether it is stale by the stream's own interval.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::config::positive;
use crate::{CacheConfig, Error};

/// Where a cached value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Source {
    /// The stream's WebSocket.
    Live,
    /// A REST poll standing in for the stream.
    Poll,
    /// A REST backfill of a gap.
    Backfill,
    /// A REST refresh of the latest value after a reconnect.
    Refresh,
}

impl Source {
    /// A stable lower-case name, for metric labels and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Poll => "poll",
            Self::Backfill => "backfill",
            Self::Refresh => "refresh",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cached value, as read at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cached<'a, V> {
    /// The value.
    pub value: &'a V,
    /// When it was stored.
    pub received_at: Instant,
    /// How old it is at the instant it was read.
    pub age: Duration,
    /// Where it came from.
    pub source: Source,
    /// Whether `age` exceeds `stale_factor × expected_interval`.
    pub stale: bool,
    /// The stream's expected interval between values.
    pub expected_interval: Duration,
}

#[derive(Debug, Clone)]
struct Slot<V> {
    value: Option<(V, Instant, Source)>,
    interval: Option<Duration>,
}

/// The last value of each stream, readable while its stream is down,
/// marked with its age, its source and whether it is stale.
///
/// Each stream may have its own expected interval
/// ([`set_interval`](Self::set_interval)); others use
/// [`CacheConfig::default_interval`]. A value is stale once its age exceeds
/// `stale_factor` (3) expected intervals. The last [`put`](Self::put) wins,
/// whatever its source.
#[derive(Debug, Clone)]
pub struct LastValues<K, V> {
    config: CacheConfig,
    slots: HashMap<K, Slot<V>>,
}

impl<K: Clone + Eq + Hash + fmt::Debug, V> LastValues<K, V> {
    /// An empty cache.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`CacheConfig::validate`].
    pub fn new(config: CacheConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            slots: HashMap::new(),
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Sets `stream`'s expected interval between values (a `depth@100ms`
    /// stream: 100 ms; a 1-minute kline: 60 s).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidStream`] if `interval` is zero or above a year.
    pub fn set_interval(&mut self, stream: &K, interval: Duration) -> Result<(), Error> {
        positive("expected_interval", interval).map_err(|_| Error::InvalidStream {
            stream: format!("{stream:?}"),
            field: "expected_interval",
            value: format!("{interval:?}"),
            rule: "must be greater than zero and at most 365 days".to_owned(),
        })?;
        if let Some(slot) = self.slots.get_mut(stream) {
            slot.interval = Some(interval);
        } else {
            let slot = Slot {
                value: None,
                interval: Some(interval),
            };
            self.slots.insert(stream.clone(), slot);
        }
        Ok(())
    }

    /// Stores `value` as `stream`'s latest, received at `now` from
    /// `source`; returns the value it replaces. Allocates only for a stream
    /// seen for the first time.
    pub fn put(&mut self, stream: &K, value: V, source: Source, now: Instant) -> Option<V> {
        let entry = (value, now, source);
        if let Some(slot) = self.slots.get_mut(stream) {
            return slot.value.replace(entry).map(|(old, _, _)| old);
        }
        let slot = Slot {
            value: Some(entry),
            interval: None,
        };
        self.slots.insert(stream.clone(), slot);
        None
    }

    /// `stream`'s latest value as of `now`, with its age, source and
    /// staleness; `None` if no value was ever stored.
    #[must_use]
    pub fn get(&self, stream: &K, now: Instant) -> Option<Cached<'_, V>> {
        self.slots.get(stream).and_then(|slot| self.read(slot, now))
    }

    /// When `stream`'s current value becomes stale; `None` without a value.
    #[must_use]
    pub fn stale_at(&self, stream: &K) -> Option<Instant> {
        let slot = self.slots.get(stream)?;
        let (_, received_at, _) = slot.value.as_ref()?;
        let limit = self.limit(slot);
        Some(received_at.checked_add(limit).unwrap_or(*received_at))
    }

    /// Removes `stream` (value and interval); returns its value.
    pub fn remove(&mut self, stream: &K) -> Option<V> {
        self.slots
            .remove(stream)
            .and_then(|slot| slot.value)
            .map(|(value, _, _)| value)
    }

    /// Every stream with a value, read at `now`.
    pub fn iter(&self, now: Instant) -> impl Iterator<Item = (&K, Cached<'_, V>)> {
        self.slots
            .iter()
            .filter_map(move |(key, slot)| self.read(slot, now).map(|cached| (key, cached)))
    }

    /// Streams with a value.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.values().filter(|s| s.value.is_some()).count()
    }

    /// Whether no stream has a value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn interval(&self, slot: &Slot<V>) -> Duration {
        slot.interval.unwrap_or(self.config.default_interval)
    }

    /// `stale_factor × interval`, saturating.
    fn limit(&self, slot: &Slot<V>) -> Duration {
        let secs = self.interval(slot).as_secs_f64() * self.config.stale_factor;
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }

    fn read<'a>(&self, slot: &'a Slot<V>, now: Instant) -> Option<Cached<'a, V>> {
        let (value, received_at, source) = slot.value.as_ref()?;
        let age = now.saturating_duration_since(*received_at);
        Some(Cached {
            value,
            received_at: *received_at,
            age,
            source: *source,
            stale: age > self.limit(slot),
            expected_interval: self.interval(slot),
        })
    }
}
