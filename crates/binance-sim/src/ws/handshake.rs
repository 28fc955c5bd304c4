//! The stream handshake, sans-IO: the request target (`/ws/…`, `/stream?streams=…`,
//! `timeUnit=…`) parsed into what the connection serves, or the HTTP error to answer.
//!
//! The HTTP error bodies are JSON in the style of Binance's stream errors
//! (`{"code":2,"msg":"Invalid request: …"}`); Binance does not document them, see the
//! `ws` module docs.

use std::time::Duration;

use tokio_tungstenite::tungstenite::http::{self, HeaderValue, StatusCode, header};

use crate::payload::TimeUnit;
use crate::stream::StreamName;

/// Which service a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// Market streams (`/ws…`, `/stream…`).
    Streams,
    /// The WebSocket API (`/ws-api/v3`).
    Api,
}

/// What an accepted handshake asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Market streams or the WebSocket API.
    pub(crate) service: Service,
    /// The streams named in the URL, in order, without duplicates.
    pub(crate) streams: Vec<StreamName>,
    /// True for `/stream` (events wrapped as `{"stream":…,"data":…}`).
    pub(crate) combined: bool,
    /// The unit of every time field (`timeUnit=`).
    pub(crate) unit: TimeUnit,
}

/// Why a handshake is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// More connection attempts from this IP than the rules allow (HTTP 429).
    RateLimited {
        /// When an attempt may succeed again.
        retry_after: Duration,
        /// The limit, for the message.
        max_attempts: u32,
        /// The window, for the message.
        window: Duration,
    },
    /// A path other than `/ws[/…]` or `/stream` (HTTP 400).
    UnknownPath,
    /// A stream name that does not parse, or a malformed percent-escape (HTTP 400).
    InvalidStream,
    /// More streams in the URL than one connection may hold (HTTP 400).
    TooManyStreams,
    /// A `timeUnit` other than Binance's four spellings (HTTP 400).
    InvalidTimeUnit,
}

impl Refusal {
    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> String {
        let (code, msg) = match self {
            Refusal::RateLimited {
                max_attempts,
                window,
                ..
            } => (
                -1003,
                format!(
                    "Too many connection attempts; current limit is {max_attempts} connection attempts per {} seconds.",
                    window.as_secs()
                ),
            ),
            Refusal::UnknownPath => (2, "Invalid request: unknown path".to_owned()),
            Refusal::InvalidStream => (2, "Invalid request: invalid stream".to_owned()),
            Refusal::TooManyStreams => (2, "Invalid request: too many streams".to_owned()),
            Refusal::InvalidTimeUnit => (2, "Invalid request: invalid timeUnit".to_owned()),
        };
        serde_json::json!({ "code": code, "msg": msg }).to_string()
    }

    /// The complete HTTP error response.
    pub(crate) fn response(&self) -> http::Response<Option<String>> {
        let body = self.body();
        let mut response = http::Response::new(None);
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        // tungstenite writes the body as-is: the length must be given here.
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        if let Refusal::RateLimited { retry_after, .. } = self {
            // Whole seconds, rounded up, as Binance's REST `Retry-After`.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        *response.body_mut() = Some(body);
        response
    }
}

/// Parses a request target (path and optional query) against the stream limit.
pub(crate) fn parse_target(
    path: &str,
    query: Option<&str>,
    max_streams: usize,
) -> Result<Target, Refusal> {
    let mut streams_param = None;
    let mut unit = TimeUnit::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "timeUnit" => {
                unit = percent_decode(value)
                    .as_deref()
                    .and_then(TimeUnit::parse)
                    .ok_or(Refusal::InvalidTimeUnit)?;
            }
            "streams" => streams_param = Some(value),
            // Other parameters are ignored, as web servers usually do.
            _ => {}
        }
    }
    if path == "/ws-api/v3" {
        return Ok(Target {
            service: Service::Api,
            streams: Vec::new(),
            combined: false,
            unit,
        });
    }
    let (combined, names) = match path {
        "/ws" | "/ws/" => (false, None),
        "/stream" | "/stream/" => (true, streams_param),
        _ => match path.strip_prefix("/ws/") {
            Some(rest) => (false, Some(rest)),
            None => return Err(Refusal::UnknownPath),
        },
    };
    let streams = match names {
        Some(encoded) => parse_stream_list(encoded, max_streams)?,
        None => Vec::new(),
    };
    Ok(Target {
        service: Service::Streams,
        streams,
        combined,
        unit,
    })
}

/// Parses `a/b/c` (percent-decoded first, since 2025-12 Binance accepts URL-encoded
/// stream URLs, where `/` may arrive as `%2F`).
fn parse_stream_list(encoded: &str, max_streams: usize) -> Result<Vec<StreamName>, Refusal> {
    let decoded = percent_decode(encoded).ok_or(Refusal::InvalidStream)?;
    if decoded.is_empty() {
        return Ok(Vec::new());
    }
    let mut streams: Vec<StreamName> = Vec::new();
    for name in decoded.split('/') {
        let stream = StreamName::parse(name).map_err(|_| Refusal::InvalidStream)?;
        if !streams.contains(&stream) {
            streams.push(stream);
        }
    }
    if streams.len() > max_streams {
        return Err(Refusal::TooManyStreams);
    }
    Ok(streams)
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
/// A `+` stays a `+`: it is part of stream names such as `btcusdt@kline_1m@+08:00`.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{DepthSpeed, KlineInterval, StreamKind};

    fn names(target: &Target) -> Vec<String> {
        target.streams.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn raw_and_combined_paths() {
        let raw = parse_target("/ws/btcusdt@trade/ethusdt@depth@100ms", None, 1024);
        let raw = raw.unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!raw.combined);
        assert_eq!(names(&raw), ["btcusdt@trade", "ethusdt@depth@100ms"]);
        assert_eq!(raw.unit, TimeUnit::Millisecond);

        let bare = parse_target("/ws", None, 1024).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!bare.combined && bare.streams.is_empty());

        let combined = parse_target(
            "/stream",
            Some("streams=btcusdt@trade/btcusdt@kline_1m@+08:00&timeUnit=MICROSECOND"),
            1024,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(combined.combined);
        assert_eq!(combined.unit, TimeUnit::Microsecond);
        assert_eq!(
            combined.streams[1].kind,
            StreamKind::Kline {
                interval: KlineInterval::M1,
                utc8: true
            }
        );

        let empty = parse_target("/stream", None, 1024).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(empty.combined && empty.streams.is_empty());

        let api = parse_target("/ws-api/v3", None, 1024).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(api.service, Service::Api);
        assert_eq!(
            parse_target("/ws-api/v2", None, 1024),
            Err(Refusal::UnknownPath)
        );
    }

    #[test]
    fn url_encoded_names_are_decoded() {
        let target = parse_target(
            "/stream",
            Some("streams=btcusdt%40depth%40100ms%2Fbnbbtc%40trade&timeUnit=microsecond"),
            1024,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(target.streams[0].kind, StreamKind::Depth(DepthSpeed::Ms100));
        assert_eq!(names(&target), ["btcusdt@depth@100ms", "bnbbtc@trade"]);
        let unicode = parse_target(
            "/ws/%E8%BF%99%E6%98%AF%E6%B5%8B%E8%AF%95%E5%B8%81456%40trade",
            None,
            1024,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(names(&unicode), ["这是测试币456@trade"]);
    }

    #[test]
    fn duplicates_collapse() {
        let target = parse_target("/ws/btcusdt@trade/btcusdt@trade", None, 1)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(names(&target), ["btcusdt@trade"]);
    }

    #[test]
    fn refusals() {
        for (path, query, refusal) in [
            ("/ws/BTCUSDT@trade", None, Refusal::InvalidStream),
            ("/ws/btcusdt@trade/", None, Refusal::InvalidStream),
            ("/ws/btcusdt@nope", None, Refusal::InvalidStream),
            ("/ws/btcusdt%4", None, Refusal::InvalidStream),
            ("/ws/btcusdt%ff@trade", None, Refusal::InvalidStream),
            (
                "/stream",
                Some("streams=btcusdt@trade/x"),
                Refusal::InvalidStream,
            ),
            ("/ws/a@trade/b@trade/c@trade", None, Refusal::TooManyStreams),
            ("/ws", Some("timeUnit=SECOND"), Refusal::InvalidTimeUnit),
            ("/ws", Some("timeUnit="), Refusal::InvalidTimeUnit),
            (
                "/ws",
                Some("timeUnit=Millisecond"),
                Refusal::InvalidTimeUnit,
            ),
            ("/", None, Refusal::UnknownPath),
            ("/api/v3/ping", None, Refusal::UnknownPath),
            ("/wsx", None, Refusal::UnknownPath),
        ] {
            assert_eq!(
                parse_target(path, query, 2),
                Err(refusal),
                "{path} {query:?}"
            );
        }
    }

    #[test]
    fn error_responses_are_binance_style_json() {
        let response = Refusal::InvalidStream.response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.body().as_deref(),
            Some(r#"{"code":2,"msg":"Invalid request: invalid stream"}"#)
        );
        let limited = Refusal::RateLimited {
            retry_after: Duration::from_millis(1500),
            max_attempts: 300,
            window: Duration::from_secs(300),
        }
        .response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            limited.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(2_u64))
        );
        let body: serde_json::Value =
            serde_json::from_str(limited.body().as_deref().unwrap_or("")).unwrap_or_default();
        assert_eq!(body["code"], -1003);
    }
}
