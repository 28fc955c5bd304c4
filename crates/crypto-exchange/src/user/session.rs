//! One user's task: connect to the WebSocket API, subscribe with a signature,
//! deliver events, reconcile after every (re)subscription, reconnect on the
//! `reconnect` schedule, and stop for good on an authentication error.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use circuit_breaker::{Admission, Outcome, SharedBreaker};
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use reconnect::rt::ReconnectDriver;
use reconnect::{AttemptBudget, Cause, Decision, Reconnector};
use recovery::Preserved;
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use ws_transport::{Connection, Event as WsEvent, WsConnector, WsUrl};

use super::config::UserManagerConfig;
use super::error::UserError;
use super::events::{
    AccountSnapshot, AccountTrade, Frame, OpenOrder, OpenOrders, UserEvent, decode_frame,
};
use super::ledger::FillLedger;
use super::rest::SignedCalls;
use super::{EventSource, UserStatus, UserUpdate};
use crate::client::driver::cause::{from_close, from_error};

/// Reconcile retries after a failure: 1 s, doubling, at most this.
const MAX_RECONCILE_RETRY: Duration = Duration::from_secs(30);

/// What every user's task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: UserManagerConfig,
    pub(crate) url: WsUrl,
    pub(crate) connector: WsConnector,
    pub(crate) budget: AttemptBudget,
    pub(crate) breaker: SharedBreaker,
    pub(crate) rest: crate::rest::RestClient,
    pub(crate) updates: mpsc::Sender<UserUpdate>,
    /// Events of unknown types and undecodable frames, over every user.
    pub(crate) skipped: std::sync::atomic::AtomicU64,
}

/// One user's fixed part.
#[derive(Debug)]
pub(crate) struct UserTask {
    pub(crate) name: Arc<str>,
    pub(crate) calls: SignedCalls,
    pub(crate) seed: u64,
}

/// How a session (one connection) ended.
enum End {
    /// Asked to stop.
    Stopped,
    /// A permanent error: the user stops.
    Permanent(UserError),
    /// The connection is gone; reconnect.
    Lost(Cause),
}

type ReconcileFuture = Pin<Box<dyn Future<Output = Result<Reconciled, UserError>> + Send>>;

/// What a reconcile fetched.
struct Reconciled {
    account: AccountSnapshot,
    open_orders: Vec<OpenOrder>,
    trades: Vec<(String, Vec<AccountTrade>)>,
    /// Symbols the exchange does not list (-1121): left out from now on.
    unlisted: Vec<String>,
}

impl UserTask {
    async fn emit(&self, shared: &Shared, update: UserUpdate) -> bool {
        shared.updates.send(update).await.is_ok()
    }

    async fn status(&self, shared: &Shared, status: UserStatus) -> bool {
        match &status {
            UserStatus::Stopped { error: Some(error) } => {
                tracing::error!(user = %self.name, %error, "user stopped");
            }
            other => tracing::info!(user = %self.name, status = ?other, "user"),
        }
        self.emit(
            shared,
            UserUpdate::Status {
                user: Arc::clone(&self.name),
                status,
            },
        )
        .await
    }

    async fn event(&self, shared: &Shared, source: EventSource, event: UserEvent) -> bool {
        self.emit(
            shared,
            UserUpdate::Event {
                user: Arc::clone(&self.name),
                source,
                event,
            },
        )
        .await
    }

    /// The task: runs until stopped (then says so) or a permanent error.
    pub(crate) async fn run(
        self: Arc<Self>,
        shared: Arc<Shared>,
        ledger: Preserved<FillLedger>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), String> {
        let result = self.run_until_stopped(&shared, &ledger, &mut stop).await;
        if *stop.borrow() {
            self.status(&shared, UserStatus::Stopped { error: None })
                .await;
        }
        result
    }

    async fn run_until_stopped(
        &self,
        shared: &Shared,
        ledger: &Preserved<FillLedger>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), String> {
        let machine = Reconnector::new(
            shared.config.reconnect.clone(),
            ChaCha8Rng::seed_from_u64(self.seed),
        )
        .map_err(|e| format!("reconnect: {e}"))?;
        let mut driver = ReconnectDriver::new(machine, shared.budget.clone());
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            // The endpoint's breaker: an open breaker waits without spending the
            // reconnect schedule.
            let permit = match shared.breaker.admit(reconnect::rt::now()) {
                Admission::Allowed(permit) => permit,
                Admission::Rejected { retry_at } => {
                    tokio::select! {
                        () = tokio::time::sleep_until(Instant::from_std(retry_at)) => continue,
                        _ = stop.changed() => return Ok(()),
                    }
                }
            };
            tokio::select! {
                _ = driver.acquire() => {}
                _ = stop.changed() => return Ok(()),
            }
            if !self.status(shared, UserStatus::Connecting).await {
                return Ok(());
            }
            let connected = tokio::select! {
                c = shared.connector.connect(&shared.url) => c,
                _ = stop.changed() => return Ok(()),
            };
            let (cause, outcome) = match connected {
                Ok(conn) => {
                    let (end, outcome) =
                        self.session(shared, conn, ledger, stop, &mut driver).await;
                    match end {
                        End::Stopped => {
                            shared.breaker.on_result(
                                permit,
                                Outcome::Success,
                                reconnect::rt::now(),
                            );
                            return Ok(());
                        }
                        End::Permanent(error) => {
                            shared.breaker.on_result(
                                permit,
                                Outcome::Success,
                                reconnect::rt::now(),
                            );
                            self.status(shared, UserStatus::Stopped { error: Some(error) })
                                .await;
                            return Ok(());
                        }
                        End::Lost(cause) => (cause, outcome),
                    }
                }
                Err(error) => (from_error(&error), Outcome::Failure),
            };
            shared
                .breaker
                .on_result(permit, outcome, reconnect::rt::now());
            ledger.update(FillLedger::out_of_sync);
            let reason = cause_text(&cause);
            if !self
                .status(shared, UserStatus::Disconnected { cause: reason })
                .await
            {
                return Ok(());
            }
            let decision = driver.on_disconnect(cause);
            match &decision {
                Decision::Abandon(reason) => {
                    let error = UserError::Config(format!("gave up reconnecting: {reason:?}"));
                    self.status(shared, UserStatus::Stopped { error: Some(error) })
                        .await;
                    return Ok(());
                }
                other => {
                    let delay = other.delay().unwrap_or_default();
                    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                    if !self
                        .status(shared, UserStatus::Reconnecting { delay_ms })
                        .await
                    {
                        return Ok(());
                    }
                }
            }
            tokio::select! {
                _ = reconnect::rt::wait(&decision) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
    }

    fn subscribe_request(&self, id: &str) -> String {
        let calls = &self.calls;
        let api_key = calls.credentials.api_key().expose();
        let timestamp = calls.timestamp();
        // The WS API signs its params sorted by key, without `signature`.
        let payload = format!(
            "apiKey={api_key}&recvWindow={}&timestamp={timestamp}",
            calls.recv_window_ms
        );
        let signature = calls.credentials.sign(&payload);
        json!({
            "id": id,
            "method": "userDataStream.subscribe.signature",
            "params": {
                "apiKey": api_key,
                "recvWindow": calls.recv_window_ms,
                "timestamp": timestamp,
                "signature": signature,
            }
        })
        .to_string()
    }

    fn reconcile(&self, ledger: &Preserved<FillLedger>) -> ReconcileFuture {
        let calls = self.calls.clone();
        let (plan, since) = ledger.with(|l| (l.plan(), l.since_ms()));
        Box::pin(async move {
            let account = calls.account().await?;
            let open_orders = calls.open_orders().await?;
            let mut trades = Vec::new();
            let mut unlisted = Vec::new();
            let mut symbols: Vec<(String, super::ledger::From)> = plan;
            for order in &open_orders {
                if !symbols.iter().any(|(s, _)| *s == order.symbol) {
                    // A symbol learnt now: its fills since the user was added.
                    symbols.push((order.symbol.clone(), super::ledger::From::Time(since)));
                }
            }
            for (symbol, from) in symbols {
                match calls.trades(&symbol, from).await {
                    Ok(rows) => trades.push((symbol, rows)),
                    Err(UserError::Rest(crate::rest::RestError::Refused {
                        code: Some(-1121),
                        ..
                    })) => unlisted.push(symbol),
                    Err(error) => return Err(error),
                }
            }
            Ok(Reconciled {
                account,
                open_orders,
                trades,
                unlisted,
            })
        })
    }

    /// Delivers what a reconcile found; false when the reader is gone.
    async fn apply(
        &self,
        shared: &Shared,
        ledger: &Preserved<FillLedger>,
        found: Reconciled,
    ) -> bool {
        let mut fresh = Vec::new();
        ledger.update(|l| {
            for order in &found.open_orders {
                l.watch(&order.symbol);
            }
            for symbol in &found.unlisted {
                l.forget(symbol);
            }
            for (symbol, rows) in found.trades {
                fresh.extend(l.reconciled(&symbol, rows));
            }
            l.snapshot_at(found.account.update_time);
            l.finish();
        });
        let fills = fresh.len();
        for symbol in found.unlisted {
            let error = format!(
                "symbol {symbol} is not listed by the exchange (-1121): left out of reconciles; check the configured symbols"
            );
            if !self
                .status(shared, UserStatus::ReconcileFailed { error })
                .await
            {
                return false;
            }
        }
        for trade in fresh {
            if !self
                .event(shared, EventSource::Reconcile, UserEvent::Trade(trade))
                .await
            {
                return false;
            }
        }
        let orders = OpenOrders {
            orders: found.open_orders,
        };
        if !self
            .event(
                shared,
                EventSource::Reconcile,
                UserEvent::OpenOrders(orders),
            )
            .await
            || !self
                .event(
                    shared,
                    EventSource::Reconcile,
                    UserEvent::Account(found.account),
                )
                .await
        {
            return false;
        }
        let duplicates = ledger.with(FillLedger::duplicates);
        self.status(shared, UserStatus::Reconciled { fills, duplicates })
            .await
    }

    /// A live event: delivered unless it is a fill already seen or a stale position.
    async fn live(
        &self,
        shared: &Shared,
        ledger: &Preserved<FillLedger>,
        event: UserEvent,
    ) -> bool {
        let deliver = match &event {
            UserEvent::ExecutionReport(report) => match report.fill() {
                Some(fill) => ledger.update(|l| l.live(&fill.symbol, fill.trade_id)),
                None => true,
            },
            UserEvent::AccountPosition(position) => {
                !ledger.with(|l| l.is_stale_position(position.update_time))
            }
            _ => true,
        };
        !deliver || self.event(shared, EventSource::Live, event).await
    }

    /// One connection, from the subscription to its end.
    async fn session(
        &self,
        shared: &Shared,
        mut conn: Connection,
        ledger: &Preserved<FillLedger>,
        stop: &mut watch::Receiver<bool>,
        driver: &mut ReconnectDriver<ChaCha8Rng>,
    ) -> (End, Outcome) {
        let mut request_no: u64 = 0;
        let mut pending: Option<(String, Instant)> = None;
        let mut reconcile: Option<ReconcileFuture> = None;
        let mut retry_at: Option<Instant> = None;
        let mut retry_delay = Duration::from_secs(1);
        let mut subscribed = false;
        let mut outcome = Outcome::Failure;
        let timeout = shared.config.request_timeout;
        // Until this session's first reconcile completes, fills may have been
        // missed (also after a restart of the task, whose ledger was preserved).
        ledger.update(FillLedger::out_of_sync);
        let mut send_subscribe =
            |conn: &mut Connection, pending: &mut Option<(String, Instant)>| {
                request_no += 1;
                let id = format!("uds-{request_no}");
                let sent = conn.send_text(self.subscribe_request(&id));
                *pending = Some((id, Instant::now() + timeout));
                sent
            };
        if send_subscribe(&mut conn, &mut pending).is_err() {
            return (End::Lost(Cause::Reset), outcome);
        }
        loop {
            let deadline = pending.as_ref().map(|(_, at)| *at);
            let end = tokio::select! {
                event = conn.next() => match event {
                    WsEvent::Text(text) => match decode_frame(text.as_str()) {
                        Ok(Frame::Response(answer)) => {
                            let ours = pending.as_ref().is_some_and(|(id, _)| answer.id.as_deref() == Some(id.as_str()));
                            if !ours {
                                continue;
                            }
                            pending = None;
                            if answer.status == 200 {
                                let subscription_id = answer
                                    .result
                                    .as_ref()
                                    .and_then(|r| r.get("subscriptionId"))
                                    .and_then(serde_json::Value::as_u64);
                                if !subscribed {
                                    driver.on_connected();
                                    subscribed = true;
                                    outcome = Outcome::Success;
                                }
                                if !self.status(shared, UserStatus::Subscribed { subscription_id }).await {
                                    Some(End::Stopped)
                                } else {
                                    retry_at = None;
                                    reconcile = Some(self.reconcile(ledger));
                                    None
                                }
                            } else {
                                let (code, message) = answer
                                    .error
                                    .map_or((0, String::new()), |e| (e.code, e.msg));
                                outcome = Outcome::Success;
                                match UserError::from_code(code, &message, self.calls.recv_window_ms) {
                                    Some(error) => Some(End::Permanent(error)),
                                    None => {
                                        tracing::warn!(user = %self.name, code, %message, status = answer.status, "subscription refused; backing off");
                                        Some(End::Lost(Cause::Closed { code: 1013, reason: format!("subscription refused: {message} (code {code})") }))
                                    }
                                }
                            }
                        }
                        Ok(Frame::Event { event, .. }) => {
                            let terminated = matches!(event, UserEvent::StreamTerminated(_));
                            if !self.live(shared, ledger, event).await {
                                Some(End::Stopped)
                            } else if terminated {
                                // The subscription ended (fault, revoked key …): fills may be
                                // missed until it is back; subscribe again, which reconciles.
                                ledger.update(FillLedger::out_of_sync);
                                reconcile = None;
                                retry_at = None;
                                if send_subscribe(&mut conn, &mut pending).is_err() {
                                    Some(End::Lost(Cause::Reset))
                                } else {
                                    None
                                }
                            } else {
                                None
                            }
                        }
                        Ok(Frame::Unknown { event_type }) => {
                            shared.skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if self.status(shared, UserStatus::UnknownEvent { event_type }).await { None } else { Some(End::Stopped) }
                        }
                        Ok(Frame::ServerShutdown) => {
                            let _ = conn.begin_close(1000, "server shutdown");
                            Some(End::Lost(Cause::ServerShutdown))
                        }
                        Err(problem) => {
                            shared.skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            tracing::warn!(user = %self.name, %problem, "undecodable user data frame skipped");
                            if self.status(shared, UserStatus::Undecodable { problem }).await { None } else { Some(End::Stopped) }
                        }
                    },
                    WsEvent::Closed(cause) => Some(End::Lost(from_close(&cause))),
                    _ => None,
                },
                result = async { match reconcile.as_mut() { Some(f) => f.await, None => std::future::pending().await } } => {
                    reconcile = None;
                    match result {
                        Ok(found) => {
                            retry_delay = Duration::from_secs(1);
                            if self.apply(shared, ledger, found).await { None } else { Some(End::Stopped) }
                        }
                        Err(error) if error.is_permanent() => Some(End::Permanent(error)),
                        Err(error) => {
                            retry_at = Some(Instant::now() + retry_delay);
                            retry_delay = (retry_delay * 2).min(MAX_RECONCILE_RETRY);
                            let error = error.to_string();
                            if self.status(shared, UserStatus::ReconcileFailed { error }).await { None } else { Some(End::Stopped) }
                        }
                    }
                }
                () = sleep_until_opt(retry_at) => {
                    retry_at = None;
                    reconcile = Some(self.reconcile(ledger));
                    None
                }
                () = sleep_until_opt(deadline) => {
                    tracing::warn!(user = %self.name, "no answer to the subscription in time");
                    Some(End::Lost(Cause::Timeout))
                }
                _ = stop.changed() => Some(End::Stopped),
            };
            match end {
                None => {}
                Some(End::Stopped) => {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        conn.close(1000, "user removed"),
                    )
                    .await;
                    return (End::Stopped, outcome);
                }
                Some(End::Permanent(error)) => {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        conn.close(1000, "authentication failed"),
                    )
                    .await;
                    return (End::Permanent(error), outcome);
                }
                Some(lost) => return (lost, outcome),
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn cause_text(cause: &Cause) -> String {
    match cause {
        Cause::Closed { code, reason } => format!("closed {code} {reason}"),
        Cause::Permanent { reason } => reason.clone(),
        other => format!("{other:?}"),
    }
}
