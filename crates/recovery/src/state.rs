//! State that survives a restart: a shared cell each incarnation of a task
//! reads on start and writes as it goes, and a ready-made shape for a
//! stream task's subscription set and resume points.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A value shared by every incarnation of a supervised task, so what one
/// incarnation recorded is there for the next after a panic or error.
///
/// Cloning is cheap (an `Arc`); all clones see the same value. The lock is
/// held only inside one call, never across an `await`.
///
/// A task that panics while inside [`update`](Self::update) would poison
/// an ordinary mutex; here the value stays readable (recovering from that
/// panic is the point), holding whatever the closure had written before it
/// panicked. Keep each update a single step (insert one resume point) and
/// that is a consistent value.
///
/// ```
/// use recovery::Preserved;
///
/// let state = Preserved::new(Vec::<u64>::new());
/// let for_the_task = state.clone();
/// for_the_task.update(|ids| ids.push(42));
/// assert_eq!(state.get(), vec![42]);
/// ```
#[derive(Debug, Default)]
pub struct Preserved<T> {
    inner: Arc<Mutex<T>>,
}

impl<T> Clone for Preserved<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> Preserved<T> {
    /// A new cell holding `value`.
    #[must_use]
    pub fn new(value: T) -> Self {
        Self {
            inner: Arc::new(Mutex::new(value)),
        }
    }

    /// Reads the value through `f`.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the value through `f`, returning what `f` returns.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }

    /// Replaces the value, returning the old one.
    pub fn replace(&self, value: T) -> T {
        std::mem::replace(&mut *self.lock(), value)
    }

    /// Whether `self` and `other` are clones of one cell.
    #[must_use]
    pub fn same_cell(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Clone> Preserved<T> {
    /// A copy of the value.
    #[must_use]
    pub fn get(&self) -> T {
        self.lock().clone()
    }
}

/// A stream task's subscription set and, per stream, where to resume (the
/// last event id delivered, a sequence number …: any `P`).
///
/// Keep it in a [`Preserved`] so a restarted task resubscribes the same
/// streams and backfills from the right point.
///
/// ```
/// use recovery::Subscriptions;
///
/// let mut subs = Subscriptions::<u64>::default();
/// subs.subscribe("btcusdt@aggTrade");
/// subs.record("btcusdt@aggTrade", 1_001);
/// assert_eq!(subs.resume_point("btcusdt@aggTrade"), Some(&1_001));
/// subs.unsubscribe("btcusdt@aggTrade");
/// assert_eq!(subs.resume_point("btcusdt@aggTrade"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriptions<P> {
    streams: BTreeSet<String>,
    resume: BTreeMap<String, P>,
}

impl<P> Default for Subscriptions<P> {
    fn default() -> Self {
        Self {
            streams: BTreeSet::new(),
            resume: BTreeMap::new(),
        }
    }
}

impl<P> Subscriptions<P> {
    /// Adds `stream` to the set; `false` if it was already there.
    pub fn subscribe(&mut self, stream: impl Into<String>) -> bool {
        self.streams.insert(stream.into())
    }

    /// Removes `stream` and its resume point; `false` if it was not there.
    pub fn unsubscribe(&mut self, stream: &str) -> bool {
        self.resume.remove(stream);
        self.streams.remove(stream)
    }

    /// Records where `stream` resumes. A stream not in the set is ignored,
    /// so a late event after an unsubscribe cannot resurrect a resume point;
    /// returns whether it was recorded.
    pub fn record(&mut self, stream: &str, point: P) -> bool {
        if !self.streams.contains(stream) {
            return false;
        }
        self.resume.insert(stream.to_owned(), point);
        true
    }

    /// Where `stream` resumes, if a point was recorded.
    #[must_use]
    pub fn resume_point(&self, stream: &str) -> Option<&P> {
        self.resume.get(stream)
    }

    /// Whether `stream` is in the set.
    #[must_use]
    pub fn contains(&self, stream: &str) -> bool {
        self.streams.contains(stream)
    }

    /// The subscribed streams, in order.
    pub fn streams(&self) -> impl Iterator<Item = &str> {
        self.streams.iter().map(String::as_str)
    }

    /// Every recorded resume point, by stream.
    pub fn resume_points(&self) -> impl Iterator<Item = (&str, &P)> {
        self.resume
            .iter()
            .map(|(stream, point)| (stream.as_str(), point))
    }

    /// How many streams are subscribed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether no stream is subscribed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_update_leaves_the_value_readable() {
        let state = Preserved::new(Subscriptions::<u64>::default());
        state.update(|s| s.subscribe("a"));
        let clone = state.clone();
        let result = std::thread::spawn(move || {
            clone.update(|s| {
                s.record("a", 7);
                panic!("task crashed mid-update");
            });
        })
        .join();
        assert!(result.is_err());
        assert_eq!(state.with(|s| s.resume_point("a").copied()), Some(7));
        assert!(state.same_cell(&state.clone()));
        assert!(!state.same_cell(&Preserved::new(Subscriptions::default())));
    }

    #[test]
    fn resume_points_follow_the_set() {
        let mut subs = Subscriptions::<u64>::default();
        assert!(subs.is_empty());
        assert!(subs.subscribe("a"));
        assert!(!subs.subscribe("a"));
        assert!(!subs.record("b", 1));
        assert!(subs.record("a", 1));
        assert!(subs.record("a", 2));
        assert_eq!(subs.resume_points().collect::<Vec<_>>(), vec![("a", &2)]);
        assert_eq!(subs.len(), 1);
        assert!(subs.unsubscribe("a"));
        assert!(!subs.unsubscribe("a"));
        assert_eq!(subs.resume_point("a"), None);
        assert!(!subs.contains("a"));
        assert_eq!(subs.streams().count(), 0);
    }
}
