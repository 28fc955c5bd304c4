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
//! - Several hosts (`base_url`, then `fallback_urls`), each with its circuit
//!   breaker: a call goes to the first host whose breaker admits it, and moves
//!   on to the next when that host fails (transport error, 5xx after the
//!   retries, a body that is not JSON). Fail-back is the primary breaker's
//!   half-open probe: the first call after its open period tries it again.

mod budget;
mod market;
mod types;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use circuit_breaker::{Admission, BreakerSnapshot, Outcome, SharedBreaker, State};
use tokio::sync::broadcast;

pub use budget::{BudgetConfig, Verdict, WeightBudget};
pub use market::depth_weight;
pub use types::{RestConfig, RestError, RestEvent};

use crate::domain::TimeUnit;
use crate::domain::rest::decode_api_error;

/// How a signed request authenticates: the API key for the header, and what
/// builds the signed query string for each attempt.
pub(crate) struct Auth<'a> {
    /// The API key, sent in `X-MBX-APIKEY`.
    pub(crate) api_key: &'a str,
    /// Builds `params&timestamp=…&signature=…` at the moment of sending.
    pub(crate) signed_query: &'a (dyn Fn() -> String + Send + Sync),
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

/// One REST host and its circuit breaker.
#[derive(Debug)]
struct Host {
    base_url: String,
    breaker: SharedBreaker,
}

/// The REST client. Cheap to clone; clones share the budget.
#[derive(Debug, Clone)]
pub struct RestClient {
    http: reqwest::Client,
    hosts: Arc<[Host]>,
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
        let hosts = std::iter::once(&config.base_url)
            .chain(&config.fallback_urls)
            .map(|url| {
                let breaker = SharedBreaker::new(config.breaker.clone())
                    .map_err(|e| RestError::Config(format!("rest.breaker: {e}")))?;
                Ok(Host {
                    base_url: url.trim_end_matches('/').to_owned(),
                    breaker,
                })
            })
            .collect::<Result<Vec<Host>, RestError>>()?;
        let (events, _) = broadcast::channel(256);
        Ok(RestClient {
            http,
            hosts: hosts.into(),
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

    /// The REST circuit breaker as one: the snapshot of the first host whose
    /// breaker is not open, or the primary's when every one is open (so it
    /// reads open only when no host may be called).
    #[must_use]
    pub fn breaker(&self) -> BreakerSnapshot {
        let snapshots: Vec<BreakerSnapshot> = self
            .hosts
            .iter()
            .map(|host| host.breaker.snapshot())
            .collect();
        let usable = snapshots
            .iter()
            .position(|s| !matches!(s.state, State::Open | State::ForcedOpen));
        let index = usable.unwrap_or(0);
        snapshots
            .into_iter()
            .nth(index)
            .unwrap_or_else(|| self.hosts[0].breaker.snapshot())
    }

    /// Every host's base URL and circuit-breaker snapshot, the primary first.
    #[must_use]
    pub fn hosts(&self) -> Vec<(String, BreakerSnapshot)> {
        self.hosts
            .iter()
            .map(|host| (host.base_url.clone(), host.breaker.snapshot()))
            .collect()
    }

    /// Closes every host's circuit breaker and forgets its counts.
    pub fn reset_breaker(&self) {
        let now = circuit_breaker::rt::now();
        for host in self.hosts.iter() {
            host.breaker.reset(now);
        }
    }

    /// `GET path?query` with the given weight: breaker, budget, retries, 429 and
    /// 418 handling, then the next host if this one failed.
    ///
    /// # Errors
    /// See [`RestError`]; with several hosts, the last host's error (or
    /// [`RestError::CircuitOpen`] when every breaker refused).
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        weight: u32,
    ) -> Result<RestResponse, RestError> {
        self.get_inner(path, query, weight, None).await
    }

    /// A `SIGNED` GET (user data): like [`get`](Self::get), with the API key in
    /// `X-MBX-APIKEY` (marked sensitive, so it never shows in `Debug`) and the query
    /// string built and signed afresh for every attempt, so a retry after a 429
    /// carries a new timestamp.
    pub(crate) async fn get_signed(
        &self,
        path: &str,
        weight: u32,
        auth: &Auth<'_>,
    ) -> Result<RestResponse, RestError> {
        self.get_inner(path, &[], weight, Some(auth)).await
    }

    async fn get_inner(
        &self,
        path: &str,
        query: &[(&str, String)],
        weight: u32,
        auth: Option<&Auth<'_>>,
    ) -> Result<RestResponse, RestError> {
        let mut failed = None;
        let mut retry_in: Option<u64> = None;
        for host in self.hosts.iter() {
            let now = circuit_breaker::rt::now();
            let permit = match host.breaker.admit(now) {
                Admission::Allowed(permit) => permit,
                Admission::Rejected { retry_at } => {
                    let wait = retry_at.saturating_duration_since(now).as_millis();
                    let wait = u64::try_from(wait).unwrap_or(u64::MAX);
                    retry_in = Some(retry_in.map_or(wait, |r| r.min(wait)));
                    continue;
                }
            };
            let result = self.get_admitted(host, path, query, weight, auth).await;
            let outcome = match &result {
                Ok(_) | Err(RestError::Refused { .. }) => Outcome::Success,
                Err(
                    RestError::Server { .. }
                    | RestError::Transport { .. }
                    | RestError::NotJson { .. },
                ) => Outcome::Failure,
                // Rate limits, bans and bodies of the wrong shape say nothing
                // about the host's health (bans are per IP, for every host).
                Err(_) => Outcome::Ignored,
            };
            host.breaker
                .on_result(permit, outcome, circuit_breaker::rt::now());
            match result {
                Err(error) if matches!(outcome, Outcome::Failure) => {
                    tracing::warn!(host = %host.base_url, path, %error, "REST host failed; trying the next one, if any");
                    failed = Some(error);
                }
                other => return other,
            }
        }
        Err(failed.unwrap_or(RestError::CircuitOpen {
            retry_in_ms: retry_in.unwrap_or(0),
        }))
    }

    async fn get_admitted(
        &self,
        host: &Host,
        path: &str,
        query: &[(&str, String)],
        weight: u32,
        auth: Option<&Auth<'_>>,
    ) -> Result<RestResponse, RestError> {
        let url = format!("{}{path}", host.base_url);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.reserve(weight).await?;
            let request = match auth {
                None => self.http.get(&url).query(query),
                Some(auth) => {
                    let mut key =
                        reqwest::header::HeaderValue::from_str(auth.api_key).map_err(|_| {
                            RestError::Config("the API key cannot be sent in a header".to_owned())
                        })?;
                    key.set_sensitive(true);
                    let signed = (auth.signed_query)();
                    self.http
                        .get(format!("{url}?{signed}"))
                        .header("X-MBX-APIKEY", key)
                }
            };
            let sent = request
                .header("X-MBX-TIME-UNIT", TimeUnit::Millisecond.as_query_value())
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    let detail = format!("{}: {error}", host.base_url);
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
                    let detail = format!("{}: reading the body failed: {error}", host.base_url);
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
                    // Every Binance endpoint answers JSON: anything else comes from
                    // something in between (a proxy's HTML page, garbage).
                    let start = body.trim_start();
                    if !(start.starts_with('{') || start.starts_with('[')) {
                        return Err(RestError::NotJson {
                            host: host.base_url.clone(),
                            path: path.to_owned(),
                            excerpt: body.chars().take(120).collect(),
                        });
                    }
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
