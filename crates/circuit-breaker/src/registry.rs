//! Named breakers: one per dependency (the facade keeps one per WebSocket
//! endpoint and one per REST host), created on first use.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::{Breaker, BreakerConfig, BreakerEvent, BreakerSnapshot, Error, SharedBreaker};

/// Named [`SharedBreaker`]s, thread-safe, in name order.
///
/// The map is locked only to find or add a breaker; each breaker has its
/// own lock, so callers of different breakers never wait for each other.
/// Snapshots and events are collected breaker by breaker, not as one
/// atomic picture.
#[derive(Debug)]
pub struct Registry<K = String> {
    default_config: BreakerConfig,
    breakers: Mutex<BTreeMap<K, SharedBreaker>>,
}

impl<K: Ord + Clone> Registry<K> {
    /// An empty registry whose new breakers use `default_config`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `default_config` breaks a rule of
    /// [`BreakerConfig::validate`].
    pub fn new(default_config: BreakerConfig) -> Result<Self, Error> {
        default_config.validate()?;
        Ok(Self {
            default_config,
            breakers: Mutex::new(BTreeMap::new()),
        })
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<K, SharedBreaker>> {
        // The map is only read or extended under the lock; a panic elsewhere
        // cannot leave it inconsistent.
        self.breakers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configuration of breakers created by
    /// [`get_or_insert`](Self::get_or_insert).
    #[must_use]
    pub fn default_config(&self) -> &BreakerConfig {
        &self.default_config
    }

    /// The breaker called `name`, created closed with the default
    /// configuration if there is none. The name is copied only when a
    /// breaker is created.
    pub fn get_or_insert<Q>(&self, name: &Q) -> SharedBreaker
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
    {
        let mut map = self.map();
        if let Some(breaker) = map.get(name) {
            return breaker.clone();
        }
        let breaker = SharedBreaker::from(Breaker::from_valid(self.default_config.clone()));
        map.insert(name.to_owned(), breaker.clone());
        breaker
    }

    /// Adds a breaker called `name` with its own configuration, replacing
    /// any breaker of that name (clones of the old one keep working, apart).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `config` breaks a rule of
    /// [`BreakerConfig::validate`]; the registry is unchanged.
    pub fn insert(&self, name: K, config: BreakerConfig) -> Result<SharedBreaker, Error> {
        let breaker = SharedBreaker::new(config)?;
        self.map().insert(name, breaker.clone());
        Ok(breaker)
    }

    /// The breaker called `name`, if there is one.
    #[must_use]
    pub fn get<Q>(&self, name: &Q) -> Option<SharedBreaker>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map().get(name).cloned()
    }

    /// Removes the breaker called `name` and returns it.
    pub fn remove<Q>(&self, name: &Q) -> Option<SharedBreaker>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map().remove(name)
    }

    /// The names, in order.
    #[must_use]
    pub fn names(&self) -> Vec<K> {
        self.map().keys().cloned().collect()
    }

    /// How many breakers there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    /// Every breaker with its name, in name order (for iteration without
    /// holding the registry's lock).
    #[must_use]
    pub fn breakers(&self) -> Vec<(K, SharedBreaker)> {
        self.map()
            .iter()
            .map(|(name, breaker)| (name.clone(), breaker.clone()))
            .collect()
    }

    /// A snapshot of every breaker, in name order, for health.
    #[must_use]
    pub fn snapshots(&self) -> Vec<(K, BreakerSnapshot)> {
        self.breakers()
            .into_iter()
            .map(|(name, breaker)| (name, breaker.snapshot()))
            .collect()
    }

    /// Every pending event of every breaker, with the breaker's name: in
    /// name order, each breaker's events oldest first. For metrics and
    /// health; call it regularly (each breaker keeps its last 64 events).
    #[must_use]
    pub fn drain_events(&self) -> Vec<(K, BreakerEvent)> {
        let mut all = Vec::new();
        let mut events = Vec::new();
        for (name, breaker) in self.breakers() {
            breaker.drain_events(&mut events);
            all.extend(events.drain(..).map(|event| (name.clone(), event)));
        }
        all
    }

    /// The earliest [`Breaker::poll_timeout`] of all breakers.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.breakers()
            .iter()
            .filter_map(|(_, breaker)| breaker.poll_timeout())
            .min()
    }

    /// [`Breaker::handle_timeout`] on every breaker.
    pub fn handle_timeout(&self, now: Instant) {
        for (_, breaker) in self.breakers() {
            breaker.handle_timeout(now);
        }
    }
}
