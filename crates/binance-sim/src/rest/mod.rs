//! The REST `/api/v3` market-data server: Binance's endpoints, weights, limits, bans and errors.
//!
//! Every request goes through one function, [`dispatch`], in this order:
//! 1. an active [`RestFault`] answers instead (or, for `Slow`, delays the normal answer; the
//!    delay ends early when the simulator shuts down, so a slow request never holds shutdown);
//! 2. an unknown path is 404 and a method other than GET is 405, neither charged;
//! 3. the request's weight is computed from its raw parameters ([`endpoint`]) and the IP's
//!    [`weight::Limiter`] admits it, or answers 429 or 418;
//! 4. the handler ([`handlers`]) validates the parameters ([`params`]) and answers from the
//!    market under its lock; the body ([`body`]) is serialised after the lock is released.
//!
//! Every response, whatever its status, carries `X-MBX-USED-WEIGHT-1M` with the IP's weight
//! in the current calendar minute, and is counted in [`crate::RestStats`].
//!
//! ## Decisions on undocumented behaviour
//!
//! Binance documents the codes but not every detail; where it does not, the simulator does this:
//! - **Weight of rejected requests.** A request answered 429 still adds its weight (community
//!   reports show `X-MBX-USED-WEIGHT-1M` above the limit on 429s); so does a request answered
//!   400 for bad parameters (the weight is computed before validation; when it depends on a
//!   malformed parameter, the endpoint's lightest tier is charged). Requests answered 418
//!   during a ban, 404, 405, and fault responses other than `Slow` add nothing.
//! - **Ban trigger.** An IP answered 429 `requests_before_ban` times in one calendar minute is
//!   banned on its next over-limit request. Bans double per IP, from `ban_duration` to
//!   `max_ban`; the count is kept while the simulator runs (idle IPs without bans are
//!   forgotten past 10,000 IPs). `Retry-After` is rounded up to whole seconds, at least 1.
//! - **Unknown path** → 404 with an empty body; **wrong method** on a known path → 405, empty
//!   body, `Allow: GET`. Paths are case-sensitive and have no trailing slash.
//! - **Faults.** `ServerError(500)` answers -1001 "Internal error; unable to process your
//!   request. Please try again."; 502, 503 and 504 answer -1007 (the backend-timeout body of
//!   `rest_error_timeout_1007.json`: execution status unknown); any other 5xx answers -1000
//!   "An unknown error occurred while processing the request."; a code outside 500–599 is
//!   answered as 500. `TooManyRequests` answers like the limiter's 429 (`Retry-After` to the
//!   end of the weight window); `Banned` answers like a ban that ends when the fault does (or after
//!   `ban_duration` for a fault without an end), without counting in `RestStats::bans`.
//! - **Parameters.** Names are case-sensitive. A repeated name is -1101; a name the endpoint
//!   does not read is -1104; an empty optional value is -1105 and an empty or missing
//!   mandatory one -1102. Integers must be 1–20 ASCII digits (-1100, Binance's `^[0-9]{1,20}$`)
//!   and fit in a signed 64-bit integer (-1108). `limit` is capped at the endpoint's maximum,
//!   and `limit=0` is -1130. Symbols must match Binance's `^[\w\-._&&[^a-z]]{1,50}$` (-1100),
//!   so lowercase symbols are refused; `symbols` must be a JSON array without spaces (-1100);
//!   `symbols=[]` is -1105 and a repeated symbol -1151. `symbol` with `symbols` is -1128, as is
//!   `fromId` with `startTime`/`endTime` on `/aggTrades` and `permissions`/`symbolStatus` with
//!   `symbol`/`symbols` on `/exchangeInfo`. `/ticker` with more than 100 symbols is -1101.
//!   A bad `windowSize`, `timeZone` or `permissions` is -1130, a bad `type` -1139, a bad
//!   `symbolStatus` -1122; `HALT`/`BREAK` matches no simulated symbol (all are `TRADING`):
//!   -1220 for one symbol, filtered out of lists. Time parameters of 10¹⁴ or more are read as
//!   µs, and times are clamped to the year 9999. `startTime` after `endTime` gives an empty list.
//! - **Time unit.** `X-MBX-TIME-UNIT` accepts `MILLISECOND`/`MICROSECOND` in upper or lower
//!   case; anything else is -1194. It changes every time field of a body, `serverTime`
//!   included, but not the epoch-ms in a ban message.
//! - **Retention.** History is what the simulated market keeps (`retention` trades and
//!   aggregate trades per symbol, per-second candles for two hours and per-minute candles for
//!   eight days); a `fromId` older than that starts at the oldest record kept, so the caller
//!   sees the gap in the ids. `/uiKlines` answers the same rows as `/klines`.
//! - `/exchangeInfo` has no `sors` key (no simulated symbol is SOR-enabled) and every symbol
//!   has the permission set `["SPOT","MARGIN"]`.

mod account_body;
mod body;
mod endpoint;
mod handlers;
pub(crate) mod params;
mod signed;
pub(crate) mod weight;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use self::body::ErrorBody;
use self::endpoint::Endpoint;
use self::params::{ApiError, Params};
use self::weight::{Admission, Limiter, secs_until};
use crate::payload::{TimeUnit, to_json};
use crate::state::{RestFault, Shared, lock, now_ms};

/// The response header with the IP's used weight in the current minute.
const USED_WEIGHT_HEADER: &str = "x-mbx-used-weight-1m";
/// The request header that switches times to µs.
const TIME_UNIT_HEADER: &str = "x-mbx-time-unit";
/// Binance's JSON content type.
const JSON: &str = "application/json;charset=UTF-8";
/// The largest request body read (a form of order parameters is far smaller).
const MAX_BODY: usize = 64 * 1024;

/// The REST routes: every path goes to [`dispatch`], which answers 404 for unknown ones.
pub(crate) fn router(shared: Arc<Shared>) -> axum::Router {
    let state = Arc::new(RestState {
        limiter: Mutex::new(Limiter::new(shared.config.rest.clone())),
        shared,
    });
    axum::Router::new().fallback(dispatch).with_state(state)
}

/// What the REST server keeps besides the shared simulator state.
#[derive(Debug)]
struct RestState {
    shared: Arc<Shared>,
    limiter: Mutex<Limiter>,
}

/// A response before it is turned into HTTP, so it can be counted first.
#[derive(Debug)]
struct Outcome {
    status: StatusCode,
    /// The JSON body; `None` for an empty body.
    body: Option<String>,
    /// The IP's weight this minute, for `X-MBX-USED-WEIGHT-1M`.
    used: u32,
    retry_after_secs: Option<u64>,
    /// True when this request started an IP ban.
    new_ban: bool,
    /// The methods served, for the `Allow` header of a 405.
    allow: &'static str,
}

impl Outcome {
    fn empty(status: StatusCode, used: u32) -> Self {
        Outcome {
            status,
            body: None,
            used,
            retry_after_secs: None,
            new_ban: false,
            allow: "GET",
        }
    }

    fn error(error: &ApiError, used: u32) -> Self {
        let body = ErrorBody {
            code: error.code,
            msg: &error.msg,
        };
        Outcome {
            status: error.status,
            body: Some(serde_json::to_string(&body).unwrap_or_default()),
            used,
            retry_after_secs: None,
            new_ban: false,
            allow: "GET",
        }
    }

    fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(USED_WEIGHT_HEADER, HeaderValue::from(self.used));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(header::ALLOW, HeaderValue::from_static(self.allow));
        }
        let body = match self.body {
            Some(json) => {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
                Body::from(json)
            }
            None => Body::empty(),
        };
        (self.status, headers, body).into_response()
    }
}

/// The 429 body for a limit of `limit` weight per minute.
fn too_much_weight(limit: u32) -> ApiError {
    ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: -1003,
        msg: format!(
            "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. \
             Please use WebSocket Streams for live updates to avoid polling the API."
        ),
    }
}

/// The 418 body for a ban ending at `until_ms`.
fn banned_until(until_ms: u64) -> ApiError {
    ApiError {
        status: StatusCode::IM_A_TEAPOT,
        code: -1003,
        msg: format!(
            "Way too much request weight used; IP banned until {until_ms}. \
             Please use WebSocket Streams for live updates to avoid bans."
        ),
    }
}

/// The body of a `ServerError` fault for `status`.
fn server_error(status: StatusCode) -> ApiError {
    let (code, msg) = match status.as_u16() {
        500 => (
            -1001,
            "Internal error; unable to process your request. Please try again.",
        ),
        502..=504 => (
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        ),
        _ => (
            -1000,
            "An unknown error occurred while processing the request.",
        ),
    };
    ApiError {
        status,
        code,
        msg: msg.to_owned(),
    }
}

/// The requested time unit, from `X-MBX-TIME-UNIT`.
fn time_unit(headers: &HeaderMap) -> Result<TimeUnit, ApiError> {
    match headers.get(TIME_UNIT_HEADER) {
        None => Ok(TimeUnit::Millisecond),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(TimeUnit::parse)
            .ok_or_else(ApiError::bad_time_unit),
    }
}

/// Answers every request (see the module docs for the order of checks).
async fn dispatch(State(state): State<Arc<RestState>>, request: Request) -> Response {
    // Without connect info (a router used outside `Sim`), every client shares one account.
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let (parts, body) = request.into_parts();
    // Counted on receipt, so a request still being served (say, under `Slow`) is visible.
    lock(&state.shared.counters.rest).requests += 1;
    // Signed endpoints take their parameters in the query string, the form body or both.
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => String::from_utf8(bytes.to_vec()).ok(),
        Err(_) => None,
    };
    let outcome = state.respond(ip, &parts, body.as_deref()).await;
    state.record(ip, &outcome);
    outcome.into_response()
}

impl RestState {
    async fn respond(&self, ip: IpAddr, parts: &Parts, body: Option<&str>) -> Outcome {
        match self.shared.faults.rest_fault(Instant::now()) {
            Some(RestFault::Slow(delay)) => {
                // Graceful shutdown waits for in-flight requests: a long delay must not hold it.
                let mut shutdown = self.shared.shutdown_signal();
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait_for(|stop| *stop) => {}
                }
            }
            Some(fault) => return self.fault(fault, ip),
            None => {}
        }
        let Some(endpoint) = Endpoint::from_path(parts.uri.path()) else {
            return Outcome::empty(StatusCode::NOT_FOUND, self.used(ip));
        };
        if !endpoint.allows(&parts.method) {
            return Outcome {
                allow: endpoint.allow(),
                ..Outcome::empty(StatusCode::METHOD_NOT_ALLOWED, self.used(ip))
            };
        }
        let params = signed::params(endpoint, parts.uri.query(), body);
        let weight = if endpoint == Endpoint::Order && parts.method == Method::GET {
            4
        } else {
            endpoint.weight(params.as_ref().ok())
        };
        let admission = lock(&self.limiter).admit(ip, weight, now_ms());
        let used = admission.used();
        match admission {
            Admission::Admitted { .. } => {}
            Admission::Limited {
                retry_after_secs, ..
            } => {
                return Outcome::error(
                    &too_much_weight(self.shared.config.rest.weight_per_minute),
                    used,
                )
                .with_retry_after(retry_after_secs);
            }
            Admission::Banned {
                until_ms,
                retry_after_secs,
                new_ban,
                ..
            } => {
                if new_ban {
                    tracing::info!(%ip, until_ms, "binance-sim REST: IP banned");
                }
                let mut outcome = Outcome::error(&banned_until(until_ms), used)
                    .with_retry_after(retry_after_secs);
                outcome.new_ban = new_ban;
                return outcome;
            }
        }
        let answer = if endpoint.is_signed() {
            let request = signed::Request {
                endpoint,
                method: &parts.method,
                query: parts.uri.query(),
                body: body.unwrap_or(""),
                headers: &parts.headers,
            };
            time_unit(&parts.headers)
                .and_then(|unit| signed::handle(&self.shared, &request, params?, unit))
        } else {
            self.answer(endpoint, params, &parts.headers)
        };
        match answer {
            Ok(json) => Outcome {
                body: Some(json),
                ..Outcome::empty(StatusCode::OK, used)
            },
            Err(error) => Outcome::error(&error, used),
        }
    }

    /// Validates the request and renders the endpoint's body.
    fn answer(
        &self,
        endpoint: Endpoint,
        params: Result<Params, ApiError>,
        headers: &HeaderMap,
    ) -> Result<String, ApiError> {
        let mut params = params?;
        let unit = time_unit(headers)?;
        let reply = {
            let market = lock(&self.shared.market);
            handlers::handle(
                endpoint,
                &mut params,
                &market,
                &self.shared.config,
                now_ms(),
            )?
        };
        // The bodies are plain structs of numbers and strings; serialisation cannot fail,
        // but a failure would be answered as Binance's internal error rather than a panic.
        to_json(&reply, unit).map_err(|_| server_error(StatusCode::INTERNAL_SERVER_ERROR))
    }

    /// The answer while a fault (other than `Slow`) is active.
    fn fault(&self, fault: RestFault, ip: IpAddr) -> Outcome {
        let now = now_ms();
        let used = self.used(ip);
        match fault {
            RestFault::ServerError(code) => {
                let status = StatusCode::from_u16(code)
                    .ok()
                    .filter(StatusCode::is_server_error)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Outcome::error(&server_error(status), used)
            }
            RestFault::TooManyRequests => {
                // The end of the current weight window (a calendar minute on Binance).
                let window = u64::try_from(self.shared.config.rest.weight_window.as_millis())
                    .unwrap_or(60_000)
                    .max(1);
                let minute_end = (now / window + 1) * window;
                Outcome::error(
                    &too_much_weight(self.shared.config.rest.weight_per_minute),
                    used,
                )
                .with_retry_after(secs_until(minute_end, now))
            }
            RestFault::Banned => {
                let remaining = lock(&self.shared.faults.rest)
                    .and_then(|active| active.until)
                    .map_or(self.shared.config.rest.ban_duration, |until| {
                        until.saturating_duration_since(Instant::now())
                    });
                let until_ms = now.saturating_add(millis(remaining));
                Outcome::error(&banned_until(until_ms), used)
                    .with_retry_after(secs_until(until_ms, now))
            }
            // `Slow` never reaches here: it delays the normal answer instead.
            RestFault::Slow(_) => Outcome::empty(StatusCode::INTERNAL_SERVER_ERROR, used),
        }
    }

    fn used(&self, ip: IpAddr) -> u32 {
        lock(&self.limiter).used(ip, now_ms())
    }

    /// Counts the response in [`crate::RestStats`].
    fn record(&self, ip: IpAddr, outcome: &Outcome) {
        let mut stats = lock(&self.shared.counters.rest);
        *stats.by_status.entry(outcome.status.as_u16()).or_insert(0) += 1;
        stats.weight_used_1m.insert(ip.to_string(), outcome.used);
        if outcome.new_ban {
            stats.bans += 1;
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
