//! Operator controls on the ops endpoint: `POST /admin/breakers/reset`,
//! `/admin/recovery`, `/admin/fallback`, `/admin/rotate`, each answering JSON
//! with what it did.
//!
//! A token, when configured, is required on every admin call
//! (`Authorization: Bearer …`); both sides are hashed and the digests compared
//! in constant time (`subtle`), so neither the token's bytes nor its length
//! leak through timing. A missing or wrong token gets the same 401, with no
//! hint. Without a token only a loopback address may be bound.

use std::sync::{Arc, Weak};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::driver::FallbackKind;
use super::lifecycle::ConnectionId;
use super::{Client, Inner, observe};
use crate::error::ClientError;
use crate::health::ops::{Exposure, OpsConfig};

/// Largest admin request body accepted; larger ones get 413.
pub const MAX_ADMIN_BODY: usize = 1024;

/// Shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// The admin bearer token. Its `Debug` never shows it; only its SHA-256
/// digest is kept.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl AdminToken {
    /// A token of at least 16 characters, without spaces or control
    /// characters.
    ///
    /// # Errors
    /// [`ClientError::Config`] naming the rule (never the token).
    pub fn new(token: &str) -> Result<Self, ClientError> {
        if token.chars().count() < MIN_TOKEN_LEN {
            return Err(ClientError::Config(vec![format!(
                "ops.admin_token must be at least {MIN_TOKEN_LEN} characters"
            )]));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ClientError::Config(vec![
                "ops.admin_token must not contain spaces or control characters".to_owned(),
            ]));
        }
        Ok(AdminToken {
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// Whether `presented` is the token, in time independent of both.
    fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        self.digest.ct_eq(&digest).into()
    }
}

impl Client {
    /// Serves the ops endpoint ([`serve_ops`](Self::serve_ops)) with the
    /// admin controls mounted:
    ///
    /// | request | effect |
    /// |---|---|
    /// | `POST /admin/breakers/reset` | [`reset_circuit_breakers`](Self::reset_circuit_breakers) |
    /// | `POST /admin/recovery` `{"connection": 1}` or `"all"` | [`trigger_recovery`](Self::trigger_recovery) |
    /// | `POST /admin/fallback` `{"connection": …, "to": "polling" \| "endpoint" \| "websocket"}` | [`trigger_fallback`](Self::trigger_fallback), or back to WebSocket |
    /// | `POST /admin/rotate` `{"connection": …}` | make-before-break now ([`rotate`](Self::rotate)) |
    ///
    /// The same fields may come as a query (`?connection=1&to=polling`); no
    /// `connection` means all. With `token`, every admin call needs
    /// `Authorization: Bearer <token>` and any address may be bound; without
    /// one, only loopback.
    ///
    /// # Errors
    /// [`ClientError::Config`] for a non-loopback address without a token;
    /// as [`serve_ops`](Self::serve_ops) otherwise.
    pub async fn serve_ops_with_admin(
        &self,
        mut config: OpsConfig,
        token: Option<AdminToken>,
    ) -> Result<super::OpsHandle, ClientError> {
        if token.is_some() {
            config.exposure = Exposure::AnyAddress;
        } else if !config.bind.ip().is_loopback() {
            return Err(ClientError::Config(vec![format!(
                "ops.addr = {} is not a loopback address, and no admin token is set: \
                 set ops.admin_token to expose the endpoint, or bind 127.0.0.1",
                config.bind
            )]));
        }
        self.inner.observer.ensure_started();
        let router = router(Arc::downgrade(&self.inner), token.map(Arc::new));
        observe::ops::serve(&self.inner.health, &config, Some(router)).await
    }
}

#[derive(Clone)]
struct AdminState {
    client: Weak<Inner>,
    token: Option<Arc<AdminToken>>,
}

fn router(client: Weak<Inner>, token: Option<Arc<AdminToken>>) -> Router {
    Router::new()
        .route("/admin/breakers/reset", post(breakers_reset))
        .route("/admin/recovery", post(recovery))
        .route("/admin/fallback", post(fallback))
        .route("/admin/rotate", post(rotate))
        .layer(DefaultBodyLimit::max(MAX_ADMIN_BODY))
        .with_state(AdminState { client, token })
}

/// Which connections a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    All,
    One(ConnectionId),
}

/// Where `/admin/fallback` sends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum To {
    Polling,
    Endpoint,
    Websocket,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    connection: Option<serde_json::Value>,
    to: Option<To>,
}

#[derive(Serialize)]
struct Done {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<To>,
    connections: Vec<ConnectionId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    breakers: Vec<BreakerChange>,
}

#[derive(Serialize)]
struct BreakerChange {
    endpoint: String,
    before: String,
    after: String,
}

#[derive(Serialize)]
struct Failure {
    error: String,
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn fail(status: StatusCode, error: impl Into<String>) -> Response {
    json(
        status,
        &Failure {
            error: error.into(),
        },
    )
}

/// Everything a handler needs, once the caller is authorised and the
/// request parsed.
struct Call {
    client: Client,
    request: Request,
}

/// Authorises, parses body and query, and finds the client.
#[allow(
    clippy::result_large_err,
    reason = "the error is the early answer of one admin request"
)]
fn accept(
    state: &AdminState,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Call, Response> {
    if let Some(token) = &state.token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            });
        if !presented.is_some_and(|p| token.matches(p.as_bytes())) {
            let mut response = fail(StatusCode::UNAUTHORIZED, "unauthorized");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return Err(response);
        }
    }
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            fail(
                status,
                format!("the request body is larger than {MAX_ADMIN_BODY} bytes; send a small JSON object like {{\"connection\": 1}}"),
            )
        } else {
            fail(status, format!("cannot read the request body: {rejection}"))
        }
    })?;
    let mut request = if body.iter().all(u8::is_ascii_whitespace) {
        Request::default()
    } else {
        serde_json::from_slice::<Request>(&body).map_err(|e| {
            fail(
                StatusCode::BAD_REQUEST,
                format!(
                    "malformed request body ({e}); send JSON like {{\"connection\": 1}} or {{\"connection\": \"all\"}}"
                ),
            )
        })?
    };
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "connection" if request.connection.is_none() => {
                    request.connection = Some(serde_json::Value::String(value.to_owned()));
                }
                "to" if request.to.is_none() => {
                    request.to = Some(
                        serde_json::from_value(serde_json::Value::String(value.to_owned()))
                            .map_err(|_| bad_to(value))?,
                    );
                }
                "connection" | "to" => {}
                other => {
                    return Err(fail(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "unknown query parameter {other:?}; the parameters are connection and to"
                        ),
                    ));
                }
            }
        }
    }
    let inner = state
        .client
        .upgrade()
        .ok_or_else(|| fail(StatusCode::SERVICE_UNAVAILABLE, "the client has shut down"))?;
    Ok(Call {
        client: Client { inner },
        request,
    })
}

fn bad_to(value: &str) -> Response {
    fail(
        StatusCode::BAD_REQUEST,
        format!("to = {value:?} is not a fallback; use \"polling\", \"endpoint\" or \"websocket\""),
    )
}

impl Call {
    #[allow(
        clippy::result_large_err,
        reason = "the error is the early answer of one admin request"
    )]
    fn target(&self) -> Result<Target, Response> {
        let bad = |shown: &str| {
            fail(
                StatusCode::BAD_REQUEST,
                format!(
                    "connection = {shown} is not a connection id; give a number from /health, or \"all\""
                ),
            )
        };
        match &self.request.connection {
            None => Ok(Target::All),
            Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("all") => Ok(Target::All),
            Some(serde_json::Value::String(s)) => s
                .trim()
                .parse()
                .map(Target::One)
                .map_err(|_| bad(&format!("{s:?}"))),
            Some(serde_json::Value::Number(n)) => n
                .as_u64()
                .map(Target::One)
                .ok_or_else(|| bad(&n.to_string())),
            Some(other) => Err(bad(&other.to_string())),
        }
    }

    /// The connections named, or 404 for an unknown one.
    #[allow(
        clippy::result_large_err,
        reason = "the error is the early answer of one admin request"
    )]
    fn connections(&self) -> Result<Vec<ConnectionId>, Response> {
        let all = self.client.connections();
        match self.target()? {
            Target::All => Ok(all),
            Target::One(id) if all.contains(&id) => Ok(vec![id]),
            Target::One(id) => Err(fail(
                StatusCode::NOT_FOUND,
                format!("no connection {id}; the connections are {all:?}"),
            )),
        }
    }
}

fn done(action: &'static str, to: Option<To>, connections: Vec<ConnectionId>) -> Response {
    tracing::info!(action, ?to, ?connections, "admin control applied");
    json(
        StatusCode::OK,
        &Done {
            action,
            to,
            connections,
            breakers: Vec::new(),
        },
    )
}

fn state_name(snapshot: &circuit_breaker::BreakerSnapshot) -> String {
    use circuit_breaker::State;
    match snapshot.state {
        State::Closed => "closed".to_owned(),
        State::Open => "open".to_owned(),
        State::HalfOpen => "half_open".to_owned(),
        State::ForcedOpen => "forced_open".to_owned(),
        State::Disabled => "disabled".to_owned(),
        #[allow(unreachable_patterns, reason = "State is non_exhaustive")]
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}

async fn breakers_reset(
    State(state): State<AdminState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let call = match accept(&state, &headers, query.as_deref(), body) {
        Ok(call) => call,
        Err(response) => return response,
    };
    let before = call.client.breakers();
    call.client.reset_circuit_breakers();
    let after = call.client.breakers();
    let breakers: Vec<BreakerChange> = before
        .iter()
        .map(|(endpoint, old)| BreakerChange {
            endpoint: health::sanitize_name(endpoint),
            before: state_name(old),
            after: after
                .iter()
                .find(|(e, _)| e == endpoint)
                .map_or_else(|| "unknown".to_owned(), |(_, s)| state_name(s)),
        })
        .collect();
    tracing::info!(
        breakers = breakers.len(),
        "admin control applied: breakers reset"
    );
    json(
        StatusCode::OK,
        &Done {
            action: "breakers_reset",
            to: None,
            connections: call.client.connections(),
            breakers,
        },
    )
}

async fn recovery(
    State(state): State<AdminState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    reconnect_each("recovery", &state, &headers, query.as_deref(), body)
}

/// `recovery` and `rotate`: each connection named (or all) reconnects now,
/// make-before-break when connected (`Client::trigger_recovery`).
fn reconnect_each(
    action: &'static str,
    state: &AdminState,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let call = match accept(state, headers, query, body) {
        Ok(call) => call,
        Err(response) => return response,
    };
    let ids = match call.connections() {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let applied = ids
        .into_iter()
        .filter(|&id| call.client.trigger_recovery(id))
        .collect();
    done(action, None, applied)
}

async fn fallback(
    State(state): State<AdminState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let call = match accept(&state, &headers, query.as_deref(), body) {
        Ok(call) => call,
        Err(response) => return response,
    };
    let Some(to) = call.request.to else {
        return fail(
            StatusCode::BAD_REQUEST,
            "say where to: {\"to\": \"polling\"} (REST polling), \"endpoint\" (the next endpoint) or \"websocket\" (back from polling)",
        );
    };
    let ids = match call.connections() {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let applied = ids
        .into_iter()
        .filter(|&id| match to {
            To::Polling => call.client.trigger_fallback(id, FallbackKind::Polling),
            To::Endpoint => call.client.trigger_fallback(id, FallbackKind::Endpoint),
            To::Websocket => call.client.trigger_recovery(id),
        })
        .collect();
    done("fallback", Some(to), applied)
}

async fn rotate(
    State(state): State<AdminState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    reconnect_each("rotate", &state, &headers, query.as_deref(), body)
}
