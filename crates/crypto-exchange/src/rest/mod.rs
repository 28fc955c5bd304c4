//! The REST client: one client for every REST call the facade makes (order-book
//! snapshots, trade backfill, polling), kept inside Binance's request-weight
//! limit.
//!
//! - Every request's weight is reserved in a [`WeightBudget`] that mirrors
//!   Binance's per-minute window and stays under a share of the limit (80 % by
//!   default); `X-MBX-USED-WEIGHT-1M` from every response corrects it.
//! - 429: nothing goes until `Retry-After` has passed, then the request is retried.
//! - 418: the IP is banned; every call fails at once with [`RestError::Banned`]
//!   until the ban ends, and a [`RestEvent::Banned`] is raised.
//! - 5xx: the outcome is unknown; the facade's calls are all idempotent GETs, so
//!   they are retried with a linear backoff a few times.
//! - Anything else is a typed error naming the status, Binance's code and message.

mod budget;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use circuit_breaker::{Admission, BreakerConfig, BreakerSnapshot, Outcome, SharedBreaker};
use serde::Serialize;
use tokio::sync::broadcast;

pub use budget::{BudgetConfig, Verdict, WeightBudget};

use crate::domain::rest::{
    AggTradeRecord, DepthSnapshot, TradeRecord, decode_agg_trades, decode_api_error,
    decode_depth_snapshot, decode_trades,
};
use crate::domain::{Symbol, TimeUnit};

/// Settings of the REST client.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Base URL (`https://api.binance.com`).
    pub base_url: String,
    /// The weight budget.
    pub budget: BudgetConfig,
    /// Timeout of one request, connection included (default 10 s, Binance's backend timeout).
    pub timeout: Duration,
    /// Retries of a request after 429, 5xx or a transport error (default 3).
    pub max_retries: u32,
    /// Backoff after a 5xx or transport error, times the attempt number (default 1 s).
    pub retry_backoff: Duration,
    /// The longest wait for budget or `Retry-After` before a call fails instead
    /// (default 5 min).
    pub max_wait: Duration,
    /// The REST host's circuit breaker: 5xx answers and transport failures count
    /// as failures; while it is open, calls fail at once.
    pub breaker: BreakerConfig,
}

impl Default for RestConfig {
    fn default() -> Self {
        RestConfig {
            base_url: crate::client::BINANCE_REST_ENDPOINT.to_owned(),
            budget: BudgetConfig::default(),
            timeout: Duration::from_secs(10),
            max_retries: 3,
            retry_backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(300),
            breaker: BreakerConfig::default(),
        }
    }
}

impl RestConfig {
    /// Every problem with the settings, each naming the field.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.budget.problems();
        let url_ok = (self.base_url.starts_with("https://")
            || self.base_url.starts_with("http://"))
            && self.base_url.len() > "http://".len();
        if !url_ok {
            problems.push(format!(
                "rest.base_url = {:?} must be an http:// or https:// URL, like https://api.binance.com",
                self.base_url
            ));
        }
        if self.timeout.is_zero() {
            problems.push("rest.timeout must be above zero".to_owned());
        }
        if let Err(error) = self.breaker.validate() {
            problems.push(format!("rest.breaker: {error}"));
        }
        problems
    }
}

/// What happened to REST access, for logs, metrics and health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rest", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RestEvent {
    /// The server answered 429; requests wait this long.
    Throttled {
        /// Milliseconds until requests may go again.
        retry_after_ms: u64,
    },
    /// The server answered 418: the IP is banned; no REST call goes until then.
    Banned {
        /// End of the ban, ms since the epoch.
        until_ms: u64,
    },
    /// A 5xx or transport failure; the request is retried.
    Retrying {
        /// The path.
        path: String,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// What failed.
        reason: String,
    },
}

/// Why a REST call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestError {
    /// The IP is banned (418) until then; nothing is sent until it ends (transient, long).
    #[error(
        "the IP is banned by Binance until {until_ms} ms since the epoch (418): REST calls stop until then"
    )]
    Banned {
        /// End of the ban, ms since the epoch.
        until_ms: u64,
    },
    /// The weight budget or a 429 asks for a longer wait than `max_wait` (transient).
    #[error("rate limited: the next request may go in {wait_ms} ms, longer than rest.max_wait")]
    RateLimited {
        /// Milliseconds until a request may go.
        wait_ms: u64,
    },
    /// The server failed (5xx) on every attempt; the outcome of a write would be unknown (transient).
    #[error("server error {status} on {path} after {attempts} attempts{}", code_suffix(*code, message))]
    Server {
        /// The path.
        path: String,
        /// HTTP status.
        status: u16,
        /// Binance's error code, if the body had one.
        code: Option<i64>,
        /// Binance's message, if any.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The request was refused (4xx other than 418/429) (permanent for this request).
    #[error("request refused: {status} on {path}{}", code_suffix(*code, message))]
    Refused {
        /// The path.
        path: String,
        /// HTTP status.
        status: u16,
        /// Binance's error code, if the body had one.
        code: Option<i64>,
        /// Binance's message, or the start of the body.
        message: String,
    },
    /// The request did not complete (connection, TLS, timeout) on any attempt (transient).
    #[error("cannot reach {path}: {detail}")]
    Transport {
        /// The path.
        path: String,
        /// What failed.
        detail: String,
    },
    /// The response could not be decoded (permanent for this response).
    #[error("unexpected response from {path}: {detail}")]
    Decode {
        /// The path.
        path: String,
        /// What was wrong.
        detail: String,
    },
    /// The REST host's circuit breaker is open: the call was not made (transient).
    #[error("the REST host's circuit breaker is open: no call for {retry_in_ms} ms")]
    CircuitOpen {
        /// Milliseconds until the breaker admits a probe.
        retry_in_ms: u64,
    },
    /// The client's configuration is invalid (permanent).
    #[error("invalid REST configuration: {0}")]
    Config(String),
}

fn code_suffix(code: Option<i64>, message: &str) -> String {
    match code {
        Some(code) => format!(": {message} (code {code})"),
        None if message.is_empty() => String::new(),
        None => format!(": {message}"),
    }
}

impl RestError {
    /// True when the same call may succeed later.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RestError::Banned { .. }
                | RestError::RateLimited { .. }
                | RestError::Server { .. }
                | RestError::Transport { .. }
        )
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct RestResponse {
    /// HTTP status.
    pub status: u16,
    /// `X-MBX-USED-WEIGHT-1M`, when present.
    pub used_weight: Option<u32>,
    /// The body.
    pub body: String,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn header_u64(headers: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The REST client. Cheap to clone; clones share the budget.
#[derive(Debug, Clone)]
pub struct RestClient {
    http: reqwest::Client,
    breaker: SharedBreaker,
    config: Arc<RestConfig>,
    budget: Arc<Mutex<WeightBudget>>,
    events: broadcast::Sender<RestEvent>,
}

impl RestClient {
    /// A client with `config`.
    ///
    /// # Errors
    /// [`RestError::Config`] naming every bad setting.
    pub fn new(config: RestConfig) -> Result<Self, RestError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(RestError::Config(problems.join("; ")));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("crypto-exchange/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RestError::Config(format!("cannot build the HTTP client: {e}")))?;
        let breaker = SharedBreaker::new(config.breaker.clone())
            .map_err(|e| RestError::Config(format!("rest.breaker: {e}")))?;
        let (events, _) = broadcast::channel(256);
        Ok(RestClient {
            http,
            breaker,
            budget: Arc::new(Mutex::new(WeightBudget::new(config.budget))),
            config: Arc::new(config),
            events,
        })
    }

    /// REST events from now on.
    #[must_use]
    pub fn events(&self) -> broadcast::Receiver<RestEvent> {
        self.events.subscribe()
    }

    /// Weight counted in the current window (ours, or the server's when higher).
    #[must_use]
    pub fn used_weight(&self) -> u32 {
        self.budget().used()
    }

    /// The end of the current IP ban, if any (ms since the epoch).
    #[must_use]
    pub fn banned_until(&self) -> Option<u64> {
        self.budget().banned_until(now_ms())
    }

    fn budget(&self) -> std::sync::MutexGuard<'_, WeightBudget> {
        self.budget.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn emit(&self, event: RestEvent) {
        tracing::info!(?event, "rest");
        let _ = self.events.send(event);
    }

    /// Waits until the budget lets a request of `weight` go.
    async fn reserve(&self, weight: u32) -> Result<(), RestError> {
        loop {
            let now = now_ms();
            let verdict = self.budget().reserve(weight, now);
            match verdict {
                Verdict::Go => return Ok(()),
                Verdict::Banned(until_ms) => return Err(RestError::Banned { until_ms }),
                Verdict::WaitUntil(at) => {
                    let wait = Duration::from_millis(at.saturating_sub(now));
                    if wait > self.config.max_wait {
                        return Err(RestError::RateLimited {
                            wait_ms: at.saturating_sub(now),
                        });
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// The REST host's circuit-breaker snapshot.
    #[must_use]
    pub fn breaker(&self) -> BreakerSnapshot {
        self.breaker.snapshot()
    }

    /// Closes the REST host's circuit breaker and forgets its counts.
    pub fn reset_breaker(&self) {
        self.breaker.reset(circuit_breaker::rt::now());
    }

    /// `GET path?query` with the given weight: breaker, budget, retries, 429 and
    /// 418 handling.
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        weight: u32,
    ) -> Result<RestResponse, RestError> {
        let now = circuit_breaker::rt::now();
        let permit = match self.breaker.admit(now) {
            Admission::Allowed(permit) => permit,
            Admission::Rejected { retry_at } => {
                let wait = retry_at.saturating_duration_since(now).as_millis();
                return Err(RestError::CircuitOpen {
                    retry_in_ms: u64::try_from(wait).unwrap_or(u64::MAX),
                });
            }
        };
        let result = self.get_admitted(path, query, weight).await;
        let outcome = match &result {
            Ok(_) | Err(RestError::Refused { .. }) => Outcome::Success,
            Err(RestError::Server { .. } | RestError::Transport { .. }) => Outcome::Failure,
            // Rate limits, bans and bad bodies say nothing about the host's health.
            Err(_) => Outcome::Ignored,
        };
        self.breaker
            .on_result(permit, outcome, circuit_breaker::rt::now());
        result
    }

    async fn get_admitted(
        &self,
        path: &str,
        query: &[(&str, String)],
        weight: u32,
    ) -> Result<RestResponse, RestError> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.reserve(weight).await?;
            let sent = self
                .http
                .get(&url)
                .query(query)
                .header("X-MBX-TIME-UNIT", TimeUnit::Millisecond.as_query_value())
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    let detail = error.to_string();
                    if attempt <= self.config.max_retries {
                        self.retry_after_failure(path, attempt, &detail).await;
                        continue;
                    }
                    return Err(RestError::Transport {
                        path: path.to_owned(),
                        detail,
                    });
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let used_weight =
                header_u64(&headers, "x-mbx-used-weight-1m").and_then(|u| u32::try_from(u).ok());
            if let Some(used) = used_weight {
                self.budget().observe_used(used, now_ms());
            }
            let retry_after = header_u64(&headers, "retry-after").map(Duration::from_secs);
            let body = match response.text().await {
                Ok(body) => body,
                Err(error) => {
                    let detail = format!("reading the body failed: {error}");
                    if attempt <= self.config.max_retries {
                        self.retry_after_failure(path, attempt, &detail).await;
                        continue;
                    }
                    return Err(RestError::Transport {
                        path: path.to_owned(),
                        detail,
                    });
                }
            };
            match status {
                200..=299 => {
                    return Ok(RestResponse {
                        status,
                        used_weight,
                        body,
                    });
                }
                429 => {
                    let until = self.budget().on_throttled(retry_after, now_ms());
                    self.emit(RestEvent::Throttled {
                        retry_after_ms: until.saturating_sub(now_ms()),
                    });
                    if attempt > self.config.max_retries {
                        return Err(RestError::RateLimited {
                            wait_ms: until.saturating_sub(now_ms()),
                        });
                    }
                }
                418 => {
                    let until_ms = self.budget().on_banned(retry_after, now_ms());
                    self.emit(RestEvent::Banned { until_ms });
                    return Err(RestError::Banned { until_ms });
                }
                500..=599 => {
                    let (code, message) = describe_error(&body);
                    if attempt <= self.config.max_retries {
                        self.retry_after_failure(path, attempt, &format!("status {status}"))
                            .await;
                        continue;
                    }
                    return Err(RestError::Server {
                        path: path.to_owned(),
                        status,
                        code,
                        message,
                        attempts: attempt,
                    });
                }
                _ => {
                    let (code, message) = describe_error(&body);
                    return Err(RestError::Refused {
                        path: path.to_owned(),
                        status,
                        code,
                        message,
                    });
                }
            }
        }
    }

    async fn retry_after_failure(&self, path: &str, attempt: u32, reason: &str) {
        self.emit(RestEvent::Retrying {
            path: path.to_owned(),
            attempt,
            reason: reason.to_owned(),
        });
        tokio::time::sleep(self.config.retry_backoff.saturating_mul(attempt)).await;
    }

    /// `GET /api/v3/depth`: an order-book snapshot (weight 5 to 250 by `limit`).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn depth(&self, symbol: &Symbol, limit: u32) -> Result<DepthSnapshot, RestError> {
        let limit = limit.clamp(1, 5000);
        let weight = match limit {
            1..=100 => 5,
            101..=500 => 25,
            501..=1000 => 50,
            _ => 250,
        };
        let path = "/api/v3/depth";
        let response = self
            .get(
                path,
                &[
                    ("symbol", symbol.as_str().to_owned()),
                    ("limit", limit.to_string()),
                ],
                weight,
            )
            .await?;
        decode_depth_snapshot(&response.body).map_err(|e| decode_error(path, &e))
    }

    /// `GET /api/v3/aggTrades?fromId=`: up to `limit` (≤ 1000) aggregate trades from
    /// `from_id` on, oldest first (weight 4).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn agg_trades(
        &self,
        symbol: &Symbol,
        from_id: u64,
        limit: u16,
    ) -> Result<Vec<AggTradeRecord>, RestError> {
        let path = "/api/v3/aggTrades";
        let query = [
            ("symbol", symbol.as_str().to_owned()),
            ("fromId", from_id.to_string()),
            ("limit", limit.clamp(1, 1000).to_string()),
        ];
        let response = self.get(path, &query, 4).await?;
        decode_agg_trades(&response.body, TimeUnit::Millisecond).map_err(|e| decode_error(path, &e))
    }

    /// `GET /api/v3/historicalTrades?fromId=`: up to `limit` (≤ 1000) trades from
    /// `from_id` on, oldest first (weight 25).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn historical_trades(
        &self,
        symbol: &Symbol,
        from_id: u64,
        limit: u16,
    ) -> Result<Vec<TradeRecord>, RestError> {
        let path = "/api/v3/historicalTrades";
        let query = [
            ("symbol", symbol.as_str().to_owned()),
            ("fromId", from_id.to_string()),
            ("limit", limit.clamp(1, 1000).to_string()),
        ];
        let response = self.get(path, &query, 25).await?;
        decode_trades(&response.body, TimeUnit::Millisecond).map_err(|e| decode_error(path, &e))
    }

    /// `GET /api/v3/ping` (weight 1).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn ping(&self) -> Result<(), RestError> {
        self.get("/api/v3/ping", &[], 1).await.map(drop)
    }
}

fn decode_error(path: &str, error: &crate::domain::DecodeError) -> RestError {
    RestError::Decode {
        path: path.to_owned(),
        detail: error.to_string(),
    }
}

/// Binance's code and message from an error body, or the start of a body that is not one.
fn describe_error(body: &str) -> (Option<i64>, String) {
    match decode_api_error(body) {
        Ok(error) => (Some(error.code), error.msg),
        Err(_) => {
            let excerpt: String = body.chars().take(200).collect();
            (None, excerpt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_described_whatever_they_are() {
        assert_eq!(
            describe_error(r#"{"code":-1121,"msg":"Invalid symbol."}"#),
            (Some(-1121), "Invalid symbol.".to_owned())
        );
        assert_eq!(
            describe_error("<html>bad gateway</html>"),
            (None, "<html>bad gateway</html>".to_owned())
        );
        assert_eq!(describe_error(""), (None, String::new()));
        let long = "x".repeat(10_000);
        assert_eq!(describe_error(&long).1.len(), 200);
    }

    #[test]
    fn configuration_is_checked() {
        let bad = RestConfig {
            base_url: "ftp://x".into(),
            timeout: Duration::ZERO,
            ..RestConfig::default()
        };
        let Err(RestError::Config(problems)) = RestClient::new(bad) else {
            panic!("bad configuration accepted");
        };
        assert!(
            problems.contains("ftp://x") && problems.contains("timeout"),
            "{problems}"
        );
    }
}
