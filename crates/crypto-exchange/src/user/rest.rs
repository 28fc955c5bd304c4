//! Signed REST reads of a reconcile: `GET /api/v3/account`, `/openOrders` and
//! `/myTrades`, through the facade's one REST client (weight budget, 429/418,
//! breaker, retries).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::credentials::{Credentials, encode_query_value};
use super::error::UserError;
use super::events::{AccountSnapshot, AccountTrade, OpenOrder};
use super::ledger::From;
use crate::rest::{Auth, RestClient, RestError};

/// Most rows `myTrades` returns per call.
const TRADES_LIMIT: usize = 1000;
/// Binance refuses a `startTime` window over 24 h; stay inside it.
const MAX_WINDOW_MS: u64 = 23 * 60 * 60 * 1000;

/// Milliseconds since the epoch on the local clock.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What signs one user's requests, and how.
#[derive(Debug, Clone)]
pub(crate) struct SignedCalls {
    pub(crate) rest: RestClient,
    pub(crate) credentials: Arc<Credentials>,
    pub(crate) recv_window_ms: u64,
    /// Added to the local clock for every timestamp (ms; may be negative).
    pub(crate) clock_offset_ms: i64,
}

impl SignedCalls {
    /// The timestamp to sign with.
    pub(crate) fn timestamp(&self) -> u64 {
        now_ms().saturating_add_signed(self.clock_offset_ms)
    }

    /// A signed GET of `path` with `params` (already in sending order).
    async fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
        weight: u32,
    ) -> Result<String, UserError> {
        let mut base = String::new();
        for (key, value) in params {
            base.push_str(key);
            base.push('=');
            base.push_str(&encode_query_value(value));
            base.push('&');
        }
        base.push_str(&format!("recvWindow={}", self.recv_window_ms));
        let signed_query = move || {
            let payload = format!("{base}&timestamp={}", self.timestamp());
            let signature = encode_query_value(&self.credentials.sign(&payload));
            format!("{payload}&signature={signature}")
        };
        let auth = Auth {
            api_key: self.credentials.api_key().expose(),
            signed_query: &signed_query,
        };
        match self.rest.get_signed(path, weight, &auth).await {
            Ok(response) => Ok(response.body),
            Err(error) => {
                Err(UserError::from_rest(&error, self.recv_window_ms)
                    .unwrap_or(UserError::Rest(error)))
            }
        }
    }

    /// Every balance.
    pub(crate) async fn account(&self) -> Result<AccountSnapshot, UserError> {
        let body = self.get("/api/v3/account", &[], 20).await?;
        decode("/api/v3/account", &body)
    }

    /// Every open order, of every symbol.
    pub(crate) async fn open_orders(&self) -> Result<Vec<OpenOrder>, UserError> {
        let body = self.get("/api/v3/openOrders", &[], 80).await?;
        decode("/api/v3/openOrders", &body)
    }

    /// Every trade of `symbol` from `from` on, oldest first, paging by id.
    pub(crate) async fn trades(
        &self,
        symbol: &str,
        from: From,
    ) -> Result<Vec<AccountTrade>, UserError> {
        let mut rows: Vec<AccountTrade> = Vec::new();
        let mut next = from;
        loop {
            let mut params = vec![("symbol", symbol.to_owned())];
            match next {
                From::Id(id) => params.push(("fromId", id.to_string())),
                From::Time(ms) => {
                    let earliest = self.timestamp().saturating_sub(MAX_WINDOW_MS);
                    params.push(("startTime", ms.max(earliest).to_string()));
                }
            }
            params.push(("limit", TRADES_LIMIT.to_string()));
            let body = self.get("/api/v3/myTrades", &params, 20).await?;
            let page: Vec<AccountTrade> = decode("/api/v3/myTrades", &body)?;
            let count = page.len();
            let last = page.iter().map(|t| t.id).max();
            rows.extend(page);
            match last {
                Some(last) if count >= TRADES_LIMIT => next = From::Id(last.saturating_add(1)),
                _ => return Ok(rows),
            }
        }
    }
}

fn decode<T: for<'de> Deserialize<'de>>(path: &str, body: &str) -> Result<T, UserError> {
    serde_json::from_str(body).map_err(|e| {
        UserError::Rest(RestError::Decode {
            path: path.to_owned(),
            detail: e.to_string(),
        })
    })
}
