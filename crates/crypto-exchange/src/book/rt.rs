//! [`OrderBooks`]: the tokio layer that feeds each symbol's [`BookSync`] from a
//! [`Client`] subscription and a [`RestClient`].
//!
//! One task owns the subscription (`<s>@depth@100ms` for every symbol), the
//! client's lifecycle signals, the timers, and the snapshot fetches, which run
//! as separate tasks in a `JoinSet` so that a slow snapshot (the REST budget may
//! make one wait) never holds up another symbol's diffs.
//!
//! Reads go through [`BookHandle`]s (see `handle.rs`).
//!
//! Which connection carries which stream is not visible through the client's
//! public API, so a lifecycle signal that a connection was lost (disconnected,
//! restarted, escalated, abandoned) rebuilds every live book (PROTOCOL.md §5:
//! rebuild after any reconnect). A lost diff is also caught by the gap rule at
//! the symbol's next diff, which is what protects books when the task falls
//! behind its subscription.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::config::BookConfig;
use super::event::{BookEvent, BookState, SnapshotError};
use super::handle::{BookEvents, BookHandle, Shared};
use super::order_book::OrderBook;
use super::sync::{Action, BookSync};
use crate::client::{Client, Lifecycle, Lifecycles, Subscription, Update};
use crate::domain::rest::{ApiError, DepthSnapshot};
use crate::domain::{Event, StreamKind, StreamName, Symbol};
use crate::error::ClientError;
use crate::rest::{RestClient, RestError};

/// Book events kept for a slow reader before the oldest are dropped.
const EVENT_BUFFER: usize = 4096;

enum Command {
    Resync(usize),
    Shutdown,
}

/// Order books for a set of symbols, kept live from one [`Client`]. Dropping it
/// stops the books and unsubscribes their streams.
#[derive(Debug)]
pub struct OrderBooks {
    books: Vec<Arc<Shared>>,
    index: HashMap<Symbol, usize>,
    events: broadcast::Sender<BookEvent>,
    commands: mpsc::UnboundedSender<Command>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl OrderBooks {
    /// Starts keeping a book for each symbol: subscribes to their diff streams
    /// through `client` and fetches snapshots through `rest`. Must be called inside
    /// a tokio runtime.
    ///
    /// # Errors
    /// [`ClientError::Config`] for an invalid `config` or an empty list of symbols.
    pub fn start(
        client: &Client,
        rest: RestClient,
        symbols: impl IntoIterator<Item = Symbol>,
        config: BookConfig,
    ) -> Result<Self, ClientError> {
        let mut problems = config.problems();
        let mut unique: Vec<Symbol> = Vec::new();
        for symbol in symbols {
            if !unique.contains(&symbol) {
                unique.push(symbol);
            }
        }
        if unique.is_empty() {
            problems.push("books: at least one symbol is needed".to_owned());
        }
        let mut streams = Vec::with_capacity(unique.len());
        for symbol in &unique {
            match StreamName::new(symbol.clone(), StreamKind::Depth(config.speed)) {
                Ok(stream) => streams.push(stream),
                Err(error) => problems.push(format!("books: {symbol}: {error}")),
            }
        }
        if !problems.is_empty() {
            return Err(ClientError::Config(problems));
        }
        let now = Instant::now().into_std();
        let books: Vec<Arc<Shared>> = unique
            .iter()
            .map(|symbol| {
                let sync = BookSync::new(symbol.clone(), config.clone(), now);
                let (status, _) = watch::channel((BookState::Syncing, 0));
                Arc::new(Shared {
                    symbol: symbol.clone(),
                    sync: RwLock::new(sync),
                    status,
                })
            })
            .collect();
        let index = unique
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, i))
            .collect();
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (commands, receiver) = mpsc::unbounded_channel();
        // The lifecycle is subscribed before the streams, so that no loss of a
        // connection carrying them can go unseen.
        let lifecycle = client.lifecycle();
        let subscription = client.subscribe_streams(streams);
        let task = Feed {
            books: books.clone(),
            index: HashMap::clone(&index),
            deadlines: vec![None; books.len()],
            events: events.clone(),
            rest,
            fetches: JoinSet::new(),
            in_flight: HashMap::new(),
        };
        let handle = tokio::spawn(task.run(subscription, lifecycle, receiver));
        Ok(OrderBooks {
            books,
            index,
            events,
            commands,
            task: Some(handle),
        })
    }

    /// The book of `symbol`, if it is one of this set's.
    #[must_use]
    pub fn book(&self, symbol: &Symbol) -> Option<BookHandle> {
        let shared = self.books.get(*self.index.get(symbol)?)?;
        Some(BookHandle {
            shared: shared.clone(),
        })
    }

    /// Every book, in the order the symbols were given.
    #[must_use]
    pub fn books(&self) -> Vec<BookHandle> {
        self.books
            .iter()
            .map(|shared| BookHandle {
                shared: shared.clone(),
            })
            .collect()
    }

    /// Book events from now on.
    #[must_use]
    pub fn events(&self) -> BookEvents {
        BookEvents(self.events.subscribe())
    }

    /// Rebuilds one book now (an unavailable symbol is tried again). False when
    /// the symbol is not one of this set's or the books have stopped.
    pub fn resync(&self, symbol: &Symbol) -> bool {
        self.index
            .get(symbol)
            .is_some_and(|&i| self.commands.send(Command::Resync(i)).is_ok())
    }

    /// Stops the books and unsubscribes their streams.
    pub async fn shutdown(mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for OrderBooks {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The task's side of the books.
struct Feed {
    books: Vec<Arc<Shared>>,
    index: HashMap<Symbol, usize>,
    /// Each book's `poll_timeout`, refreshed after every call into it.
    deadlines: Vec<Option<std::time::Instant>>,
    events: broadcast::Sender<BookEvent>,
    rest: RestClient,
    fetches: JoinSet<Result<DepthSnapshot, RestError>>,
    in_flight: HashMap<tokio::task::Id, (usize, u64)>,
}

impl Feed {
    async fn run(
        mut self,
        mut subscription: Subscription,
        mut lifecycle: Lifecycles,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        let mut lifecycle_open = true;
        for i in 0..self.books.len() {
            // The books ask for nothing yet, but their first deadlines must be known.
            self.with(i, |_, _| {});
        }
        loop {
            let deadline = self.deadlines.iter().flatten().min().copied();
            tokio::select! {
                // Lifecycle first: a lost connection must be seen before the
                // diffs of its replacement.
                biased;
                command = commands.recv() => match command {
                    Some(Command::Resync(i)) => self.with(i, BookSync::resync),
                    None | Some(Command::Shutdown) => break,
                },
                signal = lifecycle.next(), if lifecycle_open => match signal {
                    Some(signal) => self.on_lifecycle(&signal),
                    None => lifecycle_open = false,
                },
                done = self.fetches.join_next_with_id(), if !self.fetches.is_empty() => {
                    if let Some(done) = done {
                        self.on_fetched(done);
                    }
                }
                update = subscription.next() => {
                    // `if let` rather than `match`: `Update` may grow variants
                    // the books have no use for.
                    let Some(update) = update else { break };
                    if let Update::Lagged { missed } = update {
                        tracing::warn!(missed, "the order books fell behind their diff stream");
                        let _ = self.events.send(BookEvent::Lagged { missed });
                    } else if let Update::Event(event) = update
                        && let Event::DepthUpdate(diff) = event.event
                    {
                        self.on_diff(diff);
                    }
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    let now = Instant::now().into_std();
                    for i in 0..self.books.len() {
                        if self.deadlines[i].is_some_and(|at| at <= now) {
                            self.with(i, BookSync::handle_timeout);
                        }
                    }
                }
            }
        }
    }

    fn on_diff(&mut self, diff: crate::domain::DepthUpdate) {
        let Some(&i) = self.index.get(&diff.symbol) else {
            return;
        };
        self.with(i, |sync, now| sync.on_diff(diff, now));
    }

    fn on_lifecycle(&mut self, signal: &Lifecycle) {
        let detail = match signal {
            Lifecycle::Disconnected {
                connection, cause, ..
            } => format!("connection {connection} disconnected ({cause})"),
            Lifecycle::Restarted { connection, .. } => {
                format!("connection {connection}'s driver restarted")
            }
            Lifecycle::Escalated { connection, .. } => {
                format!("connection {connection}'s driver stopped")
            }
            Lifecycle::Abandoned { connection, .. } => {
                format!("connection {connection} was abandoned")
            }
            _ => return,
        };
        for i in 0..self.books.len() {
            self.with(i, |sync, now| sync.on_disconnected(&detail, now));
        }
    }

    fn on_fetched(
        &mut self,
        done: Result<(tokio::task::Id, Result<DepthSnapshot, RestError>), tokio::task::JoinError>,
    ) {
        let (id, result) = match done {
            Ok((id, result)) => (id, Ok(result)),
            Err(error) => (error.id(), Err(error.to_string())),
        };
        let Some((i, request)) = self.in_flight.remove(&id) else {
            return;
        };
        self.with(i, |sync, now| match result {
            Ok(Ok(snapshot)) => sync.on_snapshot(request, snapshot, now),
            Ok(Err(error)) => sync.on_snapshot_failed(request, classify(&error), now),
            Err(panic) => {
                let message = format!("the snapshot task failed: {panic}");
                let error = SnapshotError::Transient {
                    message,
                    retry_after: None,
                };
                sync.on_snapshot_failed(request, error, now);
            }
        });
    }

    /// Calls into book `i` under its write lock, then carries out what it asks.
    fn with(&mut self, i: usize, call: impl FnOnce(&mut BookSync, std::time::Instant)) {
        let Some(shared) = self.books.get(i).cloned() else {
            return;
        };
        let mut sync = shared.write();
        call(&mut sync, Instant::now().into_std());
        self.drain(i, &shared, &mut sync);
    }

    fn drain(&mut self, i: usize, shared: &Shared, sync: &mut BookSync) {
        while let Some(Action::FetchSnapshot { request, limit }) = sync.poll_action() {
            let rest = self.rest.clone();
            let symbol = shared.symbol.clone();
            let task = self
                .fetches
                .spawn(async move { rest.depth(&symbol, limit).await });
            self.in_flight.insert(task.id(), (i, request));
        }
        while let Some(event) = sync.poll_event() {
            // What an operator must hear about (a book not live, or not coming)
            // is a warning; the rest is routine.
            match &event {
                BookEvent::Resyncing { .. }
                | BookEvent::Unavailable { .. }
                | BookEvent::SelfCheckMismatch { .. }
                | BookEvent::SnapshotFailed { .. } => tracing::warn!(?event, "order book"),
                _ => tracing::debug!(?event, "order book"),
            }
            let _ = self.events.send(event);
        }
        self.deadlines[i] = sync.poll_timeout();
        let state = sync.state();
        let update_id = sync.book().map_or(0, OrderBook::update_id);
        shared.status.send_if_modified(|status| {
            if status.0 == *state && status.1 == update_id {
                return false;
            }
            if status.0 != *state {
                status.0 = state.clone();
            }
            status.1 = update_id;
            true
        });
    }
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    if let Some(at) = deadline {
        tokio::time::sleep_until(Instant::from_std(at)).await;
    }
}

/// What a REST failure means for the procedure.
fn classify(error: &RestError) -> SnapshotError {
    let message = error.to_string();
    let after = |ms: u64| Some(Duration::from_millis(ms));
    match error {
        RestError::Refused {
            code: Some(ApiError::INVALID_SYMBOL),
            message: exchange,
            ..
        } => SnapshotError::UnknownSymbol {
            message: format!("{exchange} (code {})", ApiError::INVALID_SYMBOL),
        },
        // 403 is a WAF block (rate or security): it passes.
        RestError::Refused { status: 403, .. } => SnapshotError::Transient {
            message,
            retry_after: None,
        },
        RestError::Refused { .. } | RestError::Config(_) => SnapshotError::Refused { message },
        RestError::Banned { until_ms } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            SnapshotError::Transient {
                message,
                retry_after: after(until_ms.saturating_sub(now)),
            }
        }
        RestError::RateLimited { wait_ms } => SnapshotError::Transient {
            message,
            retry_after: after(*wait_ms),
        },
        RestError::CircuitOpen { retry_in_ms } => SnapshotError::Transient {
            message,
            retry_after: after(*retry_in_ms),
        },
        // Server errors, transport failures, undecodable bodies, and whatever the
        // REST client learns to report later: worth another try after a backoff.
        _ => SnapshotError::Transient {
            message,
            retry_after: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_failures_are_classified_by_what_they_mean_for_a_book() {
        let refused = |status, code| RestError::Refused {
            path: "/api/v3/depth".into(),
            status,
            code,
            message: "Invalid symbol.".into(),
        };
        assert!(matches!(
            classify(&refused(400, Some(-1121))),
            SnapshotError::UnknownSymbol { message } if message.contains("Invalid symbol.")
        ));
        assert!(matches!(
            classify(&refused(400, Some(-1100))),
            SnapshotError::Refused { .. }
        ));
        assert!(matches!(
            classify(&refused(403, None)),
            SnapshotError::Transient { .. }
        ));
        assert!(matches!(
            classify(&RestError::RateLimited { wait_ms: 1500 }),
            SnapshotError::Transient { retry_after: Some(d), .. } if d == Duration::from_millis(1500)
        ));
        assert!(matches!(
            classify(&RestError::Transport {
                path: "/api/v3/depth".into(),
                detail: "reset".into()
            }),
            SnapshotError::Transient {
                retry_after: None,
                ..
            }
        ));
    }
}
