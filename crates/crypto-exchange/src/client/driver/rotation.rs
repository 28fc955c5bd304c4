//! Make-before-break rotation: replace a connection (before Binance's 24 h
//! cut-off, or when it announces `serverShutdown`) without a gap and without a
//! duplicate.
//!
//! 1. While the old connection keeps delivering, open a replacement (spending the
//!    shared attempt budget) and subscribe every stream on it.
//! 2. Buffer the replacement's events until, for every stream, it is confirmed and
//!    its first event continues what the old connection last delivered (the old
//!    connection keeps delivering meanwhile, so the two meet).
//! 3. Switch: deliver the buffered events (the per-stream high-water mark removes
//!    what the old connection already delivered), close the old connection with
//!    1000, and serve the replacement.
//!
//! If the replacement fails, the old connection stays and rotation is retried
//! later; if the old one ends first, the switch happens at once; if the overlap
//! takes longer than `rotation.overlap_timeout`, the switch happens anyway.

use std::collections::{HashMap, HashSet};

use circuit_breaker::{Admission, Outcome as BreakerOutcome};
use reconnect::Cause;
use tokio::time::Instant;
use ws_transport::{Connection, Connector, Event as WsEvent};

use super::decode::{Decode, Incoming, Span};
use super::endpoints::now;
use super::requests::{Pending, Requests};
use super::{Command, Driver};
use crate::client::lifecycle::Lifecycle;

/// Events the replacement may buffer before the switch is forced.
const MAX_BUFFERED: usize = 100_000;

/// How a rotation ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The replacement serves now.
    Rotated,
    /// The client shuts down.
    Shutdown,
    /// The old connection ended before a replacement was open.
    OldLost(Cause),
    /// The replacement could not be opened or failed; the old connection stays.
    Failed,
}

/// The replacement's state while it catches up.
struct Catching<S, E> {
    requests: Requests<S>,
    confirmed: HashSet<S>,
    first: HashMap<S, Span>,
    buffer: Vec<(S, Option<u64>, E)>,
}

impl<C, D> Driver<C, D>
where
    C: Connector + Clone + Send + Sync + 'static,
    D: Decode,
{
    /// Replaces `old` make-before-break; on success `old` is the replacement.
    ///
    /// The replacement connects to `rotate_to` when set (a move to another
    /// endpoint: its breaker must admit it, and the endpoint set hears how it
    /// went), else to the current endpoint.
    pub(super) async fn rotate(&mut self, old: &mut Connection, reason: &'static str) -> Outcome {
        let target = self.rotate_to.take().unwrap_or(self.endpoint);
        let endpoint = self.spec.endpoints.get(target);
        let permit = if target == self.endpoint {
            None
        } else {
            match endpoint.breaker.admit(now()) {
                Admission::Allowed(permit) => Some(permit),
                Admission::Rejected { .. } => {
                    self.drain_breaker_events(target);
                    return Outcome::Failed;
                }
            }
        };
        let connector = self.spec.connector.clone();
        let url = endpoint.url.clone();
        let budget = self.spec.budget.clone();
        let endpoints = self.spec.endpoints.clone();
        let connecting = async move {
            reconnect::rt::acquire(&budget).await;
            endpoints.on_attempt(target, now());
            let started = std::time::Instant::now();
            let result = connector.connect(&url).await;
            (result, started.elapsed())
        };
        tokio::pin!(connecting);
        let mut new = loop {
            self.flush_burst();
            tokio::select! {
                (result, took) = &mut connecting => match result {
                    Ok(connection) => {
                        self.spec.endpoints.on_success(target, took, now());
                        if let Some(permit) = permit {
                            self.spec.endpoints.get(target).breaker.on_result(permit, BreakerOutcome::Success, now());
                            self.drain_breaker_events(target);
                        }
                        break connection;
                    }
                    Err(error) => {
                        // A failed attempt like any other (it spent the shared budget),
                        // though the old connection serves on and nothing is signalled.
                        self.spec.counters.connect_failed();
                        self.spec.endpoints.on_failure(target, now());
                        if let Some(permit) = permit {
                            self.spec.endpoints.get(target).breaker.on_result(permit, BreakerOutcome::Failure, now());
                            self.drain_breaker_events(target);
                        }
                        tracing::warn!(connection = self.spec.id, %error, "rotation: the replacement could not connect");
                        return Outcome::Failed;
                    }
                },
                event = old.next() => {
                    if let Some(cause) = self.on_event(event, old) {
                        if let Some(permit) = permit {
                            self.spec.endpoints.get(target).breaker.on_cancel(permit);
                        }
                        return Outcome::OldLost(cause);
                    }
                }
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => {
                        if let Some(permit) = permit {
                            self.spec.endpoints.get(target).breaker.on_cancel(permit);
                        }
                        return Outcome::Shutdown;
                    }
                    Some(other) => self.apply(other, Some(old)),
                },
                Some((id, msg)) = self.backfill_rx.recv() => self.on_backfill(id, msg),
            }
        };

        let mut catching = Catching {
            requests: Requests::default(),
            confirmed: HashSet::new(),
            first: HashMap::new(),
            buffer: Vec::new(),
        };
        let streams = self.routes.streams().to_vec();
        catching
            .requests
            .request(true, &streams, self.spec.config.streams_per_request);
        // Subscription changes during the overlap wait for the switch, so that both
        // connections never disagree about what is subscribed.
        let mut deferred = Vec::new();
        let deadline = Instant::now() + self.spec.config.rotation.overlap_timeout;
        let mut old_alive = true;
        while !self.caught_up(&catching) && catching.buffer.len() < MAX_BUFFERED {
            // More requests than the replacement's queue holds wait their turn
            // (see `Driver::serve`).
            if catching.requests.flush(&mut new).is_err() {
                return Outcome::Failed;
            }
            self.flush_burst();
            let unsent = catching.requests.has_unsent();
            let flush_every = self.flush_every();
            tokio::select! {
                event = old.next(), if old_alive => {
                    if self.on_event(event, old).is_some() {
                        // The old connection is gone: switch now.
                        old_alive = false;
                        break;
                    }
                }
                event = new.next() => match event {
                    WsEvent::Text(text) => self.catch_up(text.as_str(), &mut catching),
                    WsEvent::Closed(cause) => {
                        tracing::warn!(connection = self.spec.id, %cause, "rotation: the replacement closed");
                        return if old_alive { Outcome::Failed } else { Outcome::OldLost(super::cause::from_close(&cause)) };
                    }
                    _ => self.spec.counters.unexpected_frame(),
                },
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => {
                        let _ = new.close(1000, "client shutdown").await;
                        return Outcome::Shutdown;
                    }
                    Some(other) => deferred.push(other),
                },
                Some((id, msg)) = self.backfill_rx.recv() => self.on_backfill(id, msg),
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(connection = self.spec.id, "rotation: overlap timed out; switching anyway");
                    break;
                }
                () = tokio::time::sleep(flush_every), if unsent => {}
            }
        }

        // Switch.
        // Through `offer`: duplicates are removed by the high-water mark, and a
        // gap (an overlap that timed out) starts a backfill.
        let buffered: Vec<_> = catching.buffer.drain(..).collect();
        for (stream, _, event) in buffered {
            self.offer(stream, event);
        }
        self.routes.unconfirm_all();
        for stream in &catching.confirmed {
            if let Some(route) = self.routes.get_mut(stream) {
                route.confirmed = true;
            }
        }
        self.requests = catching.requests;
        self.endpoint = target;
        let mut retired = std::mem::replace(old, new);
        if old_alive {
            tokio::spawn(async move {
                let _ = retired.close(1000, "rotated").await;
            });
        }
        for command in deferred {
            self.apply(command, Some(old));
        }
        self.spec.counters.rotated();
        self.emit(Lifecycle::Rotated {
            connection: self.spec.id,
            reason: reason.to_owned(),
        });
        Outcome::Rotated
    }

    /// True when the replacement confirmed every stream and continues every stream
    /// the old connection has delivered.
    fn caught_up(&self, catching: &Catching<D::Stream, D::Event>) -> bool {
        self.routes.streams().iter().all(|stream| {
            catching.confirmed.contains(stream)
                && match self
                    .routes
                    .get(stream)
                    .and_then(super::routes::Route::last_key)
                {
                    None => true,
                    Some(last) => catching
                        .first
                        .get(stream)
                        .is_some_and(|span| span.continues(last)),
                }
        })
    }

    /// Handles one frame of the replacement while it catches up.
    fn catch_up(&mut self, text: &str, catching: &mut Catching<D::Stream, D::Event>) {
        match self.spec.decoder.decode(text) {
            Incoming::Event { stream, event } => {
                let span = D::span(&event);
                if let Some(span) = span {
                    catching.first.entry(stream.clone()).or_insert(span);
                }
                catching.buffer.push((stream, span.map(|s| s.last), event));
            }
            Incoming::Reply { id } => {
                if let Some(Pending::Subscribe(streams)) = catching.requests.answer(id) {
                    catching.confirmed.extend(streams);
                }
            }
            Incoming::Error { code, msg, id } => {
                if let Some(id) = id {
                    let _ = catching.requests.answer(id);
                }
                self.emit(Lifecycle::RequestFailed {
                    connection: self.spec.id,
                    code,
                    message: msg,
                });
            }
            // The replacement is new; its own shutdown notice is handled once it serves.
            Incoming::ServerShutdown => {}
            Incoming::Unknown(what) => self.spec.counters.unknown(&what),
            Incoming::Invalid(problem) => self.spec.counters.invalid(&problem),
        }
    }
}
