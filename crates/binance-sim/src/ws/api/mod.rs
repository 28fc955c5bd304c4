//! The WebSocket API (`/ws-api/v3`) as far as user data goes: the request/response
//! envelope, `userDataStream.subscribe.signature`, `userDataStream.unsubscribe`,
//! `session.subscriptions`, `session.status`, `ping` and `time` (PROTOCOL.md §8).
//!
//! [`ApiSession`] is the protocol state of one connection; `conn.rs` feeds it client
//! frames and user data bus events and sends what it returns, under the same
//! connection rules and faults as the market streams.
//!
//! Decisions on behaviour Binance does not document:
//! - A frame that is not a JSON object is answered `{"id":null,"status":400}` with
//!   -1000 "Invalid JSON request: …"; a missing or malformed `id` or `method` is -1102;
//!   a parameter that is not a string, number or boolean is -1100; an unknown method
//!   is -1020 "This operation is not supported.".
//! - A second subscription to the same account on one connection, more than 1,000
//!   active subscriptions or more than 65,535 over the connection's life are answered
//!   400 with -1013 and a message saying which.
//! - `userDataStream.subscribe` (after `session.logon`, which the simulator does not
//!   serve) is -1002 "You are not authorized to execute this request.".
//! - `userDataStream.unsubscribe` answers `{}` first, then sends `eventStreamTerminated`
//!   for each subscription it ended.
//! - Weight is counted per IP with the REST rules but in its own account (2 per
//!   connection, 2 per user data request, 1 for `ping`/`time`); over the limit is 429,
//!   banned is 418 with `retryAfter` in `error.data`, after which the server closes
//!   with 1008.

mod envelope;

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};

use self::envelope::{ApiRequest, RateLimitCount};
use crate::account::auth::{authenticate, now_us, ws_payload};
use crate::account::events::{terminated, wrap};
use crate::account::{Permission, UserEvent};
use crate::rest::params::{ApiError, Params, Presence};
use crate::rest::weight::Admission;
use crate::state::{Shared, lock, now_ms};

/// Active subscriptions one connection may hold.
const MAX_ACTIVE: usize = 1_000;
/// Subscriptions one connection may open over its life.
const MAX_LIFETIME: u64 = 65_535;

/// What a client frame produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handled {
    /// Frames to send, in order.
    pub(crate) frames: Vec<String>,
    /// True when the connection must be closed afterwards (a banned IP).
    pub(crate) close: bool,
}

/// The WebSocket API state of one connection.
#[derive(Debug)]
pub(crate) struct ApiSession {
    shared: Arc<Shared>,
    ip: IpAddr,
    connected_at: u64,
    /// Active subscriptions as (subscription id, account), oldest first.
    subscriptions: Vec<(u64, usize)>,
    /// Subscriptions opened so far (the next id).
    opened: u64,
}

impl ApiSession {
    /// A session for a client at `ip`; connecting costs 2 weight.
    pub(crate) fn new(shared: Arc<Shared>, ip: IpAddr) -> Self {
        let _ = lock(&shared.api_weight).admit(ip, 2, now_ms());
        ApiSession {
            shared,
            ip,
            connected_at: now_ms(),
            subscriptions: Vec::new(),
            opened: 0,
        }
    }

    /// Handles a text frame.
    pub(crate) fn handle_text(&mut self, text: &str) -> Handled {
        let request = match envelope::parse(text) {
            Ok(request) => request,
            Err((id, error)) => {
                return Handled {
                    frames: vec![envelope::failure(&id, &error, None, None)],
                    close: false,
                };
            }
        };
        let weight = match request.method.as_str() {
            "ping" | "time" => 1,
            _ => 2,
        };
        let now = now_ms();
        let admission = lock(&self.shared.api_weight).admit(self.ip, weight, now);
        let limits = [RateLimitCount {
            rate_limit_type: "REQUEST_WEIGHT",
            interval: "MINUTE",
            interval_num: 1,
            limit: self.shared.config.rest.weight_per_minute,
            count: admission.used(),
        }];
        match admission {
            Admission::Admitted { .. } => {}
            Admission::Limited {
                retry_after_secs, ..
            } => {
                let error = ApiError {
                    status: axum::http::StatusCode::TOO_MANY_REQUESTS,
                    code: -1003,
                    msg: format!(
                        "Too much request weight used; current limit is {} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
                        self.shared.config.rest.weight_per_minute
                    ),
                };
                let data = json!({"serverTime": now, "retryAfter": now + retry_after_secs * 1000});
                return Handled {
                    frames: vec![envelope::failure(
                        &request.id,
                        &error,
                        Some(data),
                        Some(&limits),
                    )],
                    close: false,
                };
            }
            Admission::Banned { until_ms, .. } => {
                let error = ApiError {
                    status: axum::http::StatusCode::IM_A_TEAPOT,
                    code: -1003,
                    msg: format!(
                        "Way too much request weight used; IP banned until {until_ms}. Please use WebSocket Streams for live updates to avoid bans."
                    ),
                };
                let data = json!({"serverTime": now, "retryAfter": until_ms});
                return Handled {
                    frames: vec![envelope::failure(
                        &request.id,
                        &error,
                        Some(data),
                        Some(&limits),
                    )],
                    close: true,
                };
            }
        }
        let mut frames = Vec::new();
        let answer = self.dispatch(&request, now, &mut frames);
        let (answer, show_limits) = match answer {
            Ok((result, show)) => (Ok(result), show),
            Err(error) => (Err(error), true),
        };
        let limits = show_limits.then_some(&limits[..]);
        let reply = match answer {
            Ok(result) => envelope::success(&request.id, &result, limits),
            Err(error) => envelope::failure(&request.id, &error, None, limits),
        };
        frames.insert(0, reply);
        Handled {
            frames,
            close: false,
        }
    }

    /// Runs a request; `Ok((result, show rate limits))`. Frames that follow the answer
    /// (such as `eventStreamTerminated`) are appended to `after`.
    fn dispatch(
        &mut self,
        request: &ApiRequest,
        now: u64,
        after: &mut Vec<String>,
    ) -> Result<(Value, bool), ApiError> {
        let mut params = Params::from_pairs(request.params.clone())?;
        let show_limits = match params
            .text("returnRateLimits", Presence::Optional)?
            .as_deref()
        {
            None | Some("true") => true,
            Some("false") => false,
            Some(_) => return Err(ApiError::invalid("returnRateLimits")),
        };
        let result = match request.method.as_str() {
            "ping" => {
                params.finish()?;
                json!({})
            }
            "time" => {
                params.finish()?;
                json!({ "serverTime": now })
            }
            "userDataStream.subscribe.signature" => self.subscribe(&mut params, &request.params)?,
            "userDataStream.unsubscribe" => {
                let id = params.number("subscriptionId")?;
                params.finish()?;
                let ended: Vec<u64> = self
                    .subscriptions
                    .iter()
                    .map(|&(sid, _)| sid)
                    .filter(|sid| id.is_none_or(|id| id == *sid))
                    .collect();
                self.subscriptions.retain(|(sid, _)| !ended.contains(sid));
                after.extend(ended.into_iter().map(|sid| terminated(sid, now)));
                json!({})
            }
            "session.subscriptions" => {
                params.finish()?;
                Value::Array(
                    self.subscriptions
                        .iter()
                        .map(|(sid, _)| json!({ "subscriptionId": sid }))
                        .collect(),
                )
            }
            "session.status" => {
                params.finish()?;
                json!({
                    "apiKey": null,
                    "authorizedSince": null,
                    "connectedSince": self.connected_at,
                    "returnRateLimits": true,
                    "serverTime": now,
                    "userDataStream": !self.subscriptions.is_empty(),
                })
            }
            "userDataStream.subscribe" => {
                return Err(ApiError {
                    status: axum::http::StatusCode::UNAUTHORIZED,
                    code: -1002,
                    msg: "You are not authorized to execute this request.".to_owned(),
                });
            }
            _ => return Err(ApiError::bad(-1020, "This operation is not supported.")),
        };
        Ok((result, show_limits))
    }

    fn subscribe(
        &mut self,
        params: &mut Params,
        raw: &[(String, String)],
    ) -> Result<Value, ApiError> {
        let api_key = params
            .text("apiKey", Presence::Mandatory)?
            .ok_or_else(|| ApiError::mandatory("apiKey"))?;
        let payload = ws_payload(raw);
        let account = {
            let ledger = lock(&self.shared.ledger);
            authenticate(
                &ledger,
                Some(&api_key),
                params,
                payload.as_bytes(),
                Permission::UserStream,
                now_us(),
            )?
        };
        params.finish()?;
        if self.subscriptions.iter().any(|&(_, a)| a == account) {
            return Err(ApiError::bad(
                -1013,
                "This account already has a User Data Stream subscription on this connection.",
            ));
        }
        if self.subscriptions.len() >= MAX_ACTIVE {
            return Err(ApiError::bad(
                -1013,
                "Too many active User Data Stream subscriptions on this connection (at most 1000).",
            ));
        }
        if self.opened >= MAX_LIFETIME {
            return Err(ApiError::bad(
                -1013,
                "Too many User Data Stream subscriptions over this connection's lifetime (at most 65535); reconnect.",
            ));
        }
        let id = self.opened;
        self.opened += 1;
        self.subscriptions.push((id, account));
        Ok(json!({ "subscriptionId": id }))
    }

    /// The frames an event of the user data bus means for this connection. While
    /// `stalled`, account events are dropped (as market events are); terminations
    /// still take effect.
    pub(crate) fn on_user_event(&mut self, event: &UserEvent, stalled: bool) -> Vec<String> {
        match event {
            UserEvent::Event { account, json } => {
                if stalled {
                    return Vec::new();
                }
                self.subscriptions
                    .iter()
                    .filter(|(_, a)| a == account)
                    .map(|(sid, _)| wrap(*sid, json))
                    .collect()
            }
            UserEvent::Terminate { account } => {
                let now = now_ms();
                let mut frames = Vec::new();
                self.subscriptions.retain(|&(sid, a)| {
                    let ends = account.is_none_or(|target| target == a);
                    if ends {
                        frames.push(terminated(sid, now));
                    }
                    !ends
                });
                frames
            }
        }
    }

    /// Active subscriptions.
    pub(crate) fn subscription_count(&self) -> usize {
        self.subscriptions.len()
    }
}
