//! The driver's side of endpoint failover (`client/endpoints.rs`): which
//! endpoint each connection attempt goes to, each endpoint's circuit breaker,
//! what the client's endpoint set is told, the probes of the primary while
//! traffic is on an alternative, and when a live connection follows a switch
//! (make-before-break, `rotation.rs`).

use std::time::{Duration, Instant};

use circuit_breaker::{Admission, BreakerEvent, Outcome, Permit};
use fallback::{EndpointEvent, Signal};
use reconnect::Cause;
use ws_transport::Connector;

use super::decode::Decode;
use super::{Driver, Waited, cause};
use crate::client::endpoints::reason_label;
use crate::client::lifecycle::{Lifecycle, millis};

/// The longest a connected driver goes without looking at the endpoint set.
const CHECK_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

/// How long a driver leaves the set's choice alone after failing to move to it.
const FOLLOW_BACKOFF: Duration = Duration::from_secs(5);

/// What `trigger_fallback(connection, Endpoint)` asked for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pin {
    /// The endpoint this connection stays on…
    pub(super) endpoint: usize,
    /// …until the set's own choice moves away from this one.
    pub(super) set_current: Option<usize>,
}

/// The clock every policy of the driver reads (tokio's: paused in tests).
pub(super) fn now() -> Instant {
    circuit_breaker::rt::now()
}

impl<C, D> Driver<C, D>
where
    C: Connector + Clone + Send + Sync + 'static,
    D: Decode,
{
    /// The current endpoint's name (`scheme://host:port`).
    pub(super) fn endpoint(&self) -> String {
        self.spec.endpoints.get(self.endpoint).key.clone()
    }

    /// Waits until an endpoint's breaker admits a connection attempt, serving
    /// commands (and polling) meanwhile; the endpoint and the permit, or
    /// `None` on shutdown.
    ///
    /// The endpoint is the set's choice (or a requested one); a breaker that
    /// refuses makes its endpoint down, and the next choice fails over at
    /// once. With every endpoint down, it waits for the first to come back.
    pub(super) async fn admitted(&mut self) -> Option<(usize, Permit)> {
        let mut refused: Vec<usize> = Vec::new();
        loop {
            if self.forced_polling && !self.hold_polling().await {
                return None;
            }
            let now = now();
            let choice = self.choose(now).filter(|i| !refused.contains(i));
            self.update_availability(now);
            if let Some(index) = choice {
                let endpoint = self.spec.endpoints.get(index);
                let admission = endpoint.breaker.admit(now);
                self.drain_breaker_events(index);
                match admission {
                    Admission::Allowed(permit) => return Some((index, permit)),
                    Admission::Rejected { retry_at } => {
                        self.emit(Lifecycle::CircuitOpen {
                            connection: self.spec.id,
                            endpoint: endpoint.key.clone(),
                            retry_in_ms: millis(retry_at.saturating_duration_since(now)),
                        });
                        refused.push(index);
                        if self.pin.is_some_and(|p| p.endpoint == index) {
                            self.pin = None;
                        }
                        continue;
                    }
                }
            }
            // No endpoint may be tried now: wait for the first to come back.
            self.signal(Signal::BreakerOpen);
            let retry_at = self
                .spec
                .endpoints
                .retry_at(now)
                .unwrap_or(now + CHECK_AT_LEAST_EVERY)
                .max(now + Duration::from_millis(10));
            if refused.is_empty() {
                self.emit(Lifecycle::CircuitOpen {
                    connection: self.spec.id,
                    endpoint: self.endpoint(),
                    retry_in_ms: millis(retry_at.saturating_duration_since(now)),
                });
            }
            refused.clear();
            let wake = tokio::time::Instant::from_std(retry_at);
            if let Waited::Shutdown = self.between(tokio::time::sleep_until(wake), true).await {
                return None;
            }
        }
    }

    /// The endpoint for the next attempt: a requested one, the pinned one,
    /// else the set's choice.
    fn choose(&mut self, now: Instant) -> Option<usize> {
        let selected = self.spec.endpoints.select(now).map(|(i, _)| i);
        self.emit_endpoint_events();
        if let Some(pin) = self.pin {
            if self.spec.endpoints.current() == pin.set_current {
                return Some(pin.endpoint);
            }
            self.pin = None;
        }
        selected
    }

    /// Tells the degradation plan whether any endpoint may be tried.
    pub(super) fn update_availability(&self, now: Instant) {
        if let Some(degrade) = &self.spec.degrade {
            degrade.set_websocket(self.spec.endpoints.availability(now), now);
        }
    }

    /// Turns the set's switches into lifecycle signals.
    pub(super) fn emit_endpoint_events(&self) {
        for event in self.spec.endpoints.take_events() {
            match event {
                EndpointEvent::Switched {
                    from: Some(from),
                    to,
                    reason,
                    ..
                } => {
                    tracing::warn!(%from, %to, reason = reason_label(reason), "endpoint switched");
                    self.emit(Lifecycle::EndpointSwitched {
                        from: Some(from),
                        to,
                        reason: reason_label(reason).to_owned(),
                    });
                }
                EndpointEvent::HealthChanged {
                    endpoint, from, to, ..
                } => {
                    tracing::info!(%endpoint, from = from.as_str(), to = to.as_str(), "endpoint health changed");
                }
                EndpointEvent::NoneUsable { .. } => {
                    tracing::warn!("no market-stream endpoint is usable");
                }
                _ => {}
            }
        }
    }

    /// For a connected driver, at the set's deadline: the time rules, a due
    /// probe of the primary, and the endpoint to move to, if traffic should
    /// move.
    pub(super) fn endpoint_check(&mut self) -> Option<usize> {
        let now = now();
        let check = self.spec.endpoints.check(now);
        self.emit_endpoint_events();
        self.update_availability(now);
        if let Some(probe) = check.probe {
            self.spawn_probe(probe);
        }
        if let Some(pin) = self.pin {
            if check.current == pin.set_current {
                return None;
            }
            self.pin = None;
        }
        let target = check.current?;
        if target == self.endpoint || self.follow_after.is_some_and(|at| now < at) {
            return None;
        }
        Some(target)
    }

    /// When a connected driver looks at the set next.
    pub(super) fn endpoint_deadline(&self) -> tokio::time::Instant {
        let now = now();
        let next = self
            .spec
            .endpoints
            .poll_timeout()
            .map_or(now + CHECK_AT_LEAST_EVERY, |at| {
                at.clamp(now + Duration::from_millis(10), now + CHECK_AT_LEAST_EVERY)
            });
        tokio::time::Instant::from_std(next)
    }

    /// A switch to another endpoint failed: leave the set's choice alone a while.
    pub(super) fn follow_failed(&mut self) {
        self.follow_after = Some(now() + FOLLOW_BACKOFF);
    }

    /// Probes endpoint `index` with a bare handshake, in the background: its
    /// breaker admits it (so an open breaker is never hammered), the attempt
    /// budget pays for it, and the outcome is reported like any other. This is
    /// how the primary earns its fail-back.
    fn spawn_probe(&self, index: usize) {
        let endpoints = self.spec.endpoints.clone();
        let connector = self.spec.connector.clone();
        let budget = self.spec.budget.clone();
        tokio::spawn(async move {
            let endpoint = endpoints.get(index);
            let Admission::Allowed(permit) = endpoint.breaker.admit(now()) else {
                return;
            };
            reconnect::rt::acquire(&budget).await;
            endpoints.on_attempt(index, now());
            let started = Instant::now();
            match connector.connect(&endpoint.url).await {
                Ok(mut connection) => {
                    endpoints.on_success(index, started.elapsed(), now());
                    endpoint.breaker.on_result(permit, Outcome::Success, now());
                    let _ = connection.close(1000, "probe").await;
                }
                Err(error) => {
                    tracing::info!(endpoint = %endpoint.key, %error, "probe of the primary endpoint failed");
                    endpoints.on_failure(index, now());
                    endpoint.breaker.on_result(permit, Outcome::Failure, now());
                }
            }
        });
    }

    /// A connection attempt to the current endpoint failed.
    pub(super) fn attempt_failed(&mut self, cause: &Cause) {
        let now = now();
        self.spec.endpoints.on_failure(self.endpoint, now);
        self.signal(Signal::AttemptFailed {
            class: cause::class(cause),
        });
        self.update_availability(now);
    }

    /// The serving connection ended.
    pub(super) fn connection_lost(&mut self, cause: &Cause) {
        let now = now();
        let class = cause::class(cause);
        if class != fallback::ErrorClass::Planned {
            self.spec.endpoints.on_failure(self.endpoint, now);
        }
        if matches!(cause, Cause::Silence) {
            self.spec.endpoints.on_silence(self.endpoint, now);
        }
        self.signal(Signal::Dropped { class });
        self.update_availability(now);
    }

    /// Records the outcome of the pending connection attempt, if still pending.
    pub(super) fn settle_permit(&mut self, outcome: Outcome) {
        if let Some(permit) = self.pending_permit.take() {
            self.breaker_result(permit, outcome);
        }
    }

    /// Gives the pending permit back without an outcome (shutdown).
    pub(super) fn cancel_permit(&mut self) {
        if let Some(permit) = self.pending_permit.take() {
            self.spec
                .endpoints
                .get(self.endpoint)
                .breaker
                .on_cancel(permit);
        }
    }

    /// The outcome of an attempt on the current endpoint, for its breaker.
    pub(super) fn breaker_result(&mut self, permit: Permit, outcome: Outcome) {
        self.spec
            .endpoints
            .get(self.endpoint)
            .breaker
            .on_result(permit, outcome, now());
        self.drain_breaker_events(self.endpoint);
    }

    /// Turns endpoint `index`'s breaker transitions into lifecycle signals.
    pub(super) fn drain_breaker_events(&self, index: usize) {
        let endpoint = self.spec.endpoints.get(index);
        let mut events = Vec::new();
        endpoint.breaker.drain_events(&mut events);
        for event in events {
            let state = match event {
                BreakerEvent::Opened { .. } => "open",
                BreakerEvent::HalfOpened { .. } => "half_open",
                BreakerEvent::Closed { .. } => "closed",
                BreakerEvent::ForcedOpen { .. } => "forced_open",
                BreakerEvent::Disabled => "disabled",
                BreakerEvent::Reset { .. } => "reset",
                _ => continue,
            };
            self.emit(Lifecycle::Breaker {
                endpoint: endpoint.key.clone(),
                state: state.to_owned(),
            });
        }
    }
}
