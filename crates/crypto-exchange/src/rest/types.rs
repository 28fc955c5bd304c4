//! The REST client's vocabulary: its settings, its events and its errors.

use std::time::Duration;

use circuit_breaker::BreakerConfig;
use serde::Serialize;

use super::BudgetConfig;

/// Settings of the REST client.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Base URL of the primary REST host (`https://api.binance.com`).
    pub base_url: String,
    /// Further base URLs, in order of preference (default none). A call goes to
    /// the first host whose circuit breaker admits it; a host that fails it
    /// (transport error, 5xx, a body that is not JSON) hands it to the next.
    /// The weight budget is shared: Binance counts weight per IP.
    pub fallback_urls: Vec<String>,
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
            fallback_urls: Vec::new(),
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
        let mut seen: Vec<String> = Vec::new();
        for (field, url) in std::iter::once(("rest.base_url", &self.base_url))
            .chain(self.fallback_urls.iter().map(|u| ("rest.fallback_urls", u)))
        {
            if let Some(problem) = url_problem(field, url) {
                problems.push(problem);
                continue;
            }
            let normalized = url.trim_end_matches('/').to_ascii_lowercase();
            if seen.contains(&normalized) {
                problems.push(format!(
                    "{field}: {url:?} is listed twice; list each REST host once"
                ));
            } else {
                seen.push(normalized);
            }
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

/// What is wrong with a REST base URL, if anything.
fn url_problem(field: &str, url: &str) -> Option<String> {
    let host = ["http://", "https://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
            .map(|_| &url[scheme.len()..])
    });
    match host {
        Some(host)
            if !host.is_empty() && !host.starts_with('/') && !host.contains(char::is_whitespace) =>
        {
            None
        }
        _ => Some(format!(
            "{field} = {url:?} must be an http:// or https:// URL, like https://api.binance.com"
        )),
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
    /// The host answered 2xx with a body that is not JSON at all (an HTML page
    /// from a proxy, garbage): counted against the host's breaker (transient).
    #[error("{host} answered {path} with something that is not JSON: {excerpt:?}")]
    NotJson {
        /// The host's base URL.
        host: String,
        /// The path.
        path: String,
        /// The start of the body.
        excerpt: String,
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
                | RestError::NotJson { .. }
        )
    }
}

