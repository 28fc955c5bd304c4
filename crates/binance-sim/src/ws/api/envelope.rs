//! The WebSocket API's request and response envelopes, sans-IO.
//!
//! A request is `{"id":…,"method":"…","params":{…}}`; the answer is
//! `{"id":…,"status":200,"result":…,"rateLimits":[…]}` or
//! `{"id":…,"status":4xx,"error":{"code":…,"msg":…},"rateLimits":[…]}`
//! (the `wsapi_*` fixtures). Parameter values keep their exact text: a number is
//! signed as it was written, so `params` are read as raw JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::rest::params::ApiError;

/// The longest string id accepted (a hyphenated UUID).
const MAX_ID_LEN: usize = 36;

/// A request as it arrives.
#[derive(Debug, Deserialize)]
struct RawRequest<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<Value>,
    #[serde(default, borrow)]
    params: Option<BTreeMap<String, &'a RawValue>>,
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiRequest {
    /// The id, echoed in the answer (a valid id, or `null`).
    pub(crate) id: Value,
    /// The method.
    pub(crate) method: String,
    /// The parameters as (name, text), strings unquoted and numbers as written.
    pub(crate) params: Vec<(String, String)>,
}

/// An id Binance accepts: a signed 64-bit integer, 1–36 letters, digits or `-`, or `null`.
fn valid_id(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Number(n) => n.as_i64().is_some(),
        Value::String(s) => {
            !s.is_empty()
                && s.len() <= MAX_ID_LEN
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }
        _ => false,
    }
}

/// Parses a request frame. On failure, the error and the id to answer with (`null`
/// when the id itself is unusable).
pub(crate) fn parse(text: &str) -> Result<ApiRequest, (Value, ApiError)> {
    let invalid = |detail: String| {
        (
            Value::Null,
            ApiError::bad(-1000, format!("Invalid JSON request: {detail}")),
        )
    };
    // serde would also read a struct from a JSON array: only an object is a request.
    if !text.trim_start().starts_with('{') {
        return Err(invalid("expected a JSON object".to_owned()));
    }
    let raw: RawRequest<'_> = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let id = raw.id.unwrap_or(Value::Null);
    if !valid_id(&id) {
        return Err((Value::Null, ApiError::mandatory("id")));
    }
    let method = match raw.method {
        Some(Value::String(method)) if !method.is_empty() => method,
        _ => return Err((id, ApiError::mandatory("method"))),
    };
    let mut params = Vec::new();
    for (name, value) in raw.params.unwrap_or_default() {
        let text = value.get();
        let rendered = match text.as_bytes().first() {
            Some(b'"') => serde_json::from_str::<String>(text).ok(),
            Some(b'-' | b'0'..=b'9') => Some(text.to_owned()),
            _ if text == "true" || text == "false" => Some(text.to_owned()),
            _ => None,
        };
        match rendered {
            Some(value) => params.push((name, value)),
            None => {
                return Err((
                    id,
                    ApiError::illegal_chars(&name, "a string, number or boolean"),
                ));
            }
        }
    }
    Ok(ApiRequest { id, method, params })
}

/// One `rateLimits` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RateLimitCount {
    pub(crate) rate_limit_type: &'static str,
    pub(crate) interval: &'static str,
    pub(crate) interval_num: u32,
    pub(crate) limit: u32,
    pub(crate) count: u32,
}

/// The `error` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct ErrorObject<'a> {
    code: i32,
    msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
}

/// An answer frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Response<'a> {
    id: &'a Value,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorObject<'a>>,
    #[serde(rename = "rateLimits", skip_serializing_if = "Option::is_none")]
    rate_limits: Option<&'a [RateLimitCount]>,
}

/// A successful answer.
pub(crate) fn success(id: &Value, result: &Value, limits: Option<&[RateLimitCount]>) -> String {
    render(&Response {
        id,
        status: 200,
        result: Some(result),
        error: None,
        rate_limits: limits,
    })
}

/// An error answer, with `data` (such as `retryAfter`) when given.
pub(crate) fn failure(
    id: &Value,
    error: &ApiError,
    data: Option<Value>,
    limits: Option<&[RateLimitCount]>,
) -> String {
    render(&Response {
        id,
        status: error.status.as_u16(),
        result: None,
        error: Some(ErrorObject {
            code: error.code,
            msg: &error.msg,
            data,
        }),
        rate_limits: limits,
    })
}

fn render(response: &Response<'_>) -> String {
    // Plain data always serialises; the fallback only avoids a panic path.
    serde_json::to_string(response).unwrap_or_else(|_| {
        r#"{"id":null,"status":500,"error":{"code":-1000,"msg":"An unknown error occurred while processing the request."}}"#.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<ApiRequest, (Value, ApiError)>) -> (Value, i32) {
        match result {
            Ok(r) => panic!("expected an error, got {r:?}"),
            Err((id, e)) => (id, e.code),
        }
    }

    #[test]
    fn parses_the_fixture_request() {
        let text = include_str!(
            "../../../tests/fixtures/wsapi_userDataStream_subscribe_signature_request.json"
        );
        let request = parse(text).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(request.method, "userDataStream.subscribe.signature");
        assert_eq!(
            request.id,
            Value::String("d3df8a22-98ea-4fe0-9f4e-0fcea5d418b7".into())
        );
        let names: Vec<&str> = request.params.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["apiKey", "signature", "timestamp"]);
        assert_eq!(request.params[2].1, "1747385641636");
    }

    #[test]
    fn numbers_keep_their_text_and_bad_input_is_an_error() {
        let r = parse(r#"{"id":1,"method":"m","params":{"price":"52000.00","qty":1.50,"b":true}}"#)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            r.params,
            [
                ("b".to_owned(), "true".to_owned()),
                ("price".to_owned(), "52000.00".to_owned()),
                ("qty".to_owned(), "1.50".to_owned()),
            ]
        );
        assert_eq!(code(parse("not json")), (Value::Null, -1000));
        assert_eq!(code(parse("[1]")), (Value::Null, -1000));
        assert_eq!(
            code(parse(r#"{"id":{},"method":"m"}"#)),
            (Value::Null, -1102)
        );
        assert_eq!(code(parse(r#"{"id":7}"#)), (Value::from(7), -1102));
        assert_eq!(
            code(parse(r#"{"id":7,"method":"m","params":{"x":[1]}}"#)),
            (Value::from(7), -1100)
        );
        assert_eq!(
            code(parse(r#"{"id":7,"method":"m","params":{"x":null}}"#)),
            (Value::from(7), -1100)
        );
    }

    #[test]
    fn answers_have_the_fixture_shape() {
        let limits = [RateLimitCount {
            rate_limit_type: "REQUEST_WEIGHT",
            interval: "MINUTE",
            interval_num: 1,
            limit: 6000,
            count: 2,
        }];
        let ok = success(
            &Value::from("abc"),
            &serde_json::json!({"subscriptionId": 0}),
            Some(&limits),
        );
        assert_eq!(
            ok,
            r#"{"id":"abc","status":200,"result":{"subscriptionId":0},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":2}]}"#
        );
        let error = failure(
            &Value::Null,
            &ApiError::bad(-1022, "Signature for this request is not valid."),
            None,
            None,
        );
        assert_eq!(
            error,
            r#"{"id":null,"status":400,"error":{"code":-1022,"msg":"Signature for this request is not valid."}}"#
        );
    }
}
