//! The channel from connection drivers to one [`Subscription`](super::Subscription):
//! bounded, filled in batches, with an exact count of what a slow subscriber missed.
//!
//! A driver stages the events of a burst of frames per subscriber and hands them
//! over with [`Sender::send_batch`]: one lock and at most one wake-up per burst,
//! instead of one per event (a fast subscriber is parked whenever the next event
//! comes, so waking it per event cost a futex call each). The receiver takes
//! everything waiting in one lock and then yields from its own queue without
//! touching shared state, except for one plain atomic store per event that tells
//! senders how far it got.
//!
//! The bound is exact: at most `capacity` events are held for a subscriber at
//! any time, counting those it has taken but not yet yielded. When a batch does
//! not fit, the oldest events still waiting are dropped first (the newest ones
//! when everything held was already taken), each counted; the receiver yields
//! `Lagged { missed }` with that exact count at the place of the gap, after the
//! events taken before it and before the events that follow it. Senders never
//! wait for a receiver.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// What a receiver yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recv<T> {
    /// The next item.
    Item(T),
    /// This many items were dropped here because the receiver fell behind.
    Lagged(u64),
}

struct State<T> {
    /// Items handed over and not yet taken by the receiver.
    queue: VecDeque<T>,
    /// Items dropped since the receiver last looked.
    missed: u64,
    /// Items the receiver has taken out of `queue`, in total.
    taken: u64,
    /// The receiver, parked on an empty queue.
    waker: Option<Waker>,
    /// Every sender is gone.
    closed: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Items the receiver has yielded, in total (written by the receiver only).
    yielded: AtomicU64,
    capacity: usize,
    senders: AtomicUsize,
    receiver_alive: AtomicBool,
}

impl<T> Shared<T> {
    fn state(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding the lock leaves the queue consistent (every
        // operation on it is a single push, pop or swap).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A channel holding at most `capacity` (at least 1) items for its receiver.
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            missed: 0,
            taken: 0,
            waker: None,
            closed: false,
        }),
        yielded: AtomicU64::new(0),
        capacity: capacity.max(1),
        senders: AtomicUsize::new(1),
        receiver_alive: AtomicBool::new(true),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            local: VecDeque::new(),
            yielded: 0,
        },
    )
}

/// The sending side; cheap to clone. The receiver ends once every clone is gone.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            let waker = {
                let mut state = self.shared.state();
                state.closed = true;
                state.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> Sender<T> {
    /// The most items held for the receiver.
    pub(crate) fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// True while the receiver exists.
    pub(crate) fn is_open(&self) -> bool {
        self.shared.receiver_alive.load(Ordering::Relaxed)
    }

    /// Hands `items` (emptied, its capacity kept) to the receiver, in order, and
    /// wakes it; items that do not fit are dropped and counted as missed. False
    /// when the receiver is gone (the items are dropped).
    pub(crate) fn send_batch(&self, items: &mut Vec<T>) -> bool {
        if items.is_empty() {
            return self.is_open();
        }
        if !self.is_open() {
            items.clear();
            return false;
        }
        let waker = {
            let mut state = self.shared.state();
            // Taken by the receiver but not yet yielded: still held for it.
            let yielded = self.shared.yielded.load(Ordering::Acquire);
            let unyielded =
                usize::try_from(state.taken.saturating_sub(yielded)).unwrap_or(usize::MAX);
            let room = self.shared.capacity.saturating_sub(unyielded);
            for item in items.drain(..) {
                while state.queue.len() >= room && state.queue.pop_front().is_some() {
                    state.missed += 1;
                }
                if state.queue.len() < room {
                    state.queue.push_back(item);
                } else {
                    // Everything held was already taken: this one cannot be kept.
                    state.missed += 1;
                }
            }
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// A handle that does not keep the receiver open.
    pub(crate) fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

/// A sender that does not keep the channel open (see [`Sender::downgrade`]).
pub(crate) struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> WeakSender<T> {
    /// A sender, unless every sender is already gone (the channel is closed).
    pub(crate) fn upgrade(&self) -> Option<Sender<T>> {
        self.shared
            .senders
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n > 0).then_some(n + 1)
            })
            .ok()
            .map(|_| Sender {
                shared: self.shared.clone(),
            })
    }
}

/// The receiving side.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// Items taken from the shared queue, yielded from here without locking.
    local: VecDeque<T>,
    /// Items yielded, in total (mirrored in `Shared::yielded`).
    yielded: u64,
}

impl<T> Receiver<T> {
    /// The next item or lag notice; `None` once every sender is gone and
    /// everything sent was yielded.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Recv<T>>> {
        if let Some(item) = self.pop_local() {
            return Poll::Ready(Some(Recv::Item(item)));
        }
        let mut state = self.shared.state();
        if state.missed > 0 {
            return Poll::Ready(Some(Recv::Lagged(std::mem::take(&mut state.missed))));
        }
        if !state.queue.is_empty() {
            // The local queue is empty: swapping gives the senders its capacity back.
            std::mem::swap(&mut state.queue, &mut self.local);
            state.taken += self.local.len() as u64;
            drop(state);
            return Poll::Ready(self.pop_local().map(Recv::Item));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next item or lag notice (see [`poll_recv`](Self::poll_recv)).
    #[cfg(test)]
    pub(crate) async fn recv(&mut self) -> Option<Recv<T>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item if one is ready now.
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Option<Recv<T>> {
        let waker = Waker::noop();
        match self.poll_recv(&mut Context::from_waker(waker)) {
            Poll::Ready(next) => next,
            Poll::Pending => None,
        }
    }

    fn pop_local(&mut self) -> Option<T> {
        let item = self.local.pop_front()?;
        self.yielded += 1;
        // A plain store (one writer); senders read it once per batch.
        self.shared.yielded.store(self.yielded, Ordering::Release);
        Some(item)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_alive.store(false, Ordering::Relaxed);
        let queue = std::mem::take(&mut self.shared.state().queue);
        drop(queue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(receiver: &mut Receiver<u32>) -> Vec<Recv<u32>> {
        std::iter::from_fn(|| receiver.try_recv()).collect()
    }

    #[test]
    fn delivers_batches_in_order() {
        let (tx, mut rx) = channel(8);
        assert!(tx.send_batch(&mut vec![1, 2, 3]));
        assert!(tx.send_batch(&mut vec![4]));
        assert_eq!(
            items(&mut rx),
            vec![Recv::Item(1), Recv::Item(2), Recv::Item(3), Recv::Item(4)]
        );
    }

    #[test]
    fn a_full_buffer_drops_the_oldest_waiting_and_counts_them_exactly() {
        let (tx, mut rx) = channel(4);
        tx.send_batch(&mut (1..=10).collect());
        assert_eq!(
            items(&mut rx),
            vec![
                Recv::Lagged(6),
                Recv::Item(7),
                Recv::Item(8),
                Recv::Item(9),
                Recv::Item(10)
            ]
        );
    }

    #[test]
    fn taken_but_not_yielded_items_count_against_the_bound() {
        let (tx, mut rx) = channel(4);
        tx.send_batch(&mut vec![1, 2, 3, 4]);
        // The receiver takes all four and yields one: three are still held.
        assert_eq!(rx.try_recv(), Some(Recv::Item(1)));
        tx.send_batch(&mut vec![5, 6, 7]);
        // Room for one: 5 and 6 are dropped, 7 waits.
        assert_eq!(
            items(&mut rx),
            vec![
                Recv::Item(2),
                Recv::Item(3),
                Recv::Item(4),
                Recv::Lagged(2),
                Recv::Item(7)
            ]
        );
        // Nothing is held now: the full capacity is free again.
        tx.send_batch(&mut vec![8, 9, 10, 11]);
        assert_eq!(items(&mut rx).len(), 4);
    }

    #[test]
    fn with_everything_taken_new_items_are_dropped_and_counted() {
        let (tx, mut rx) = channel(2);
        tx.send_batch(&mut vec![1, 2]);
        assert_eq!(rx.try_recv(), Some(Recv::Item(1)));
        // 2 is taken, not yielded; one free place.
        tx.send_batch(&mut vec![3, 4, 5]);
        assert_eq!(
            items(&mut rx),
            vec![Recv::Item(2), Recv::Lagged(2), Recv::Item(5)]
        );
    }

    #[test]
    fn ends_when_every_sender_is_gone_after_the_last_item() {
        let (tx, mut rx) = channel(4);
        let weak = tx.downgrade();
        let other = weak.upgrade().expect("a sender is alive");
        tx.send_batch(&mut vec![1]);
        drop(tx);
        drop(other);
        assert!(weak.upgrade().is_none());
        assert_eq!(rx.try_recv(), Some(Recv::Item(1)));
        let waker = Waker::noop();
        assert_eq!(
            rx.poll_recv(&mut Context::from_waker(waker)),
            Poll::Ready(None)
        );
    }

    #[test]
    fn a_sender_sees_the_receiver_go() {
        let (tx, rx) = channel::<u32>(4);
        assert!(tx.is_open());
        drop(rx);
        assert!(!tx.is_open());
        let mut batch = vec![1];
        assert!(!tx.send_batch(&mut batch));
        assert!(batch.is_empty());
    }

    #[tokio::test]
    async fn a_parked_receiver_is_woken_by_a_batch() {
        let (tx, mut rx) = channel(16);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(next) = rx.recv().await {
                got.push(next);
            }
            got
        });
        tokio::task::yield_now().await;
        tx.send_batch(&mut vec![1, 2]);
        tx.send_batch(&mut vec![3]);
        drop(tx);
        let got = reader.await.expect("the reader ends");
        assert_eq!(got, vec![Recv::Item(1), Recv::Item(2), Recv::Item(3)]);
    }
}
