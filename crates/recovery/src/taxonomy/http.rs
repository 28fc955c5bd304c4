//! Reading a raw REST response into a [`Failure::Http`]: the `Retry-After`
//! header and the Binance error body, defensively. Nothing here can panic:
//! any bytes, any headers, any status are classified.

use std::time::Duration;

use super::{Classification, Failure};

/// The longest `Retry-After` honoured: 3 days, Binance's longest IP ban
/// (PROTOCOL.md §7). A larger or overflowing value is clamped to it, so a
/// garbled header cannot park a client for years.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// Bodies longer than this (64 KiB) are not parsed for a code: a Binance
/// error body is a few hundred bytes, and a huge one is something else (an
/// HTML error page, a truncated payload).
pub const MAX_BODY_PARSED: usize = 64 * 1024;

/// The most bytes of a body kept in [`Failure::Http::body_excerpt`].
pub const MAX_EXCERPT: usize = 256;

/// Reads an HTTP response that failed into a [`Failure::Http`].
///
/// - `headers`: name/value pairs as bytes (`&str`, `String`, `&[u8]`, or the
///   `http` crate's `HeaderName`/`HeaderValue` all fit); names match
///   case-insensitively. The first `Retry-After` that parses is used.
/// - `body`: the raw body. A Binance error body is
///   `{"code":<int>,"msg":"…"}`; the WebSocket API nests it as
///   `{"error":{"code":…}}`. Anything else carries no code.
///
/// Never panics and never fails: a body that is not JSON, missing headers
/// and garbled values simply carry less information.
#[must_use]
pub fn parse_http<N, V>(
    status: u16,
    headers: impl IntoIterator<Item = (N, V)>,
    body: &[u8],
) -> Failure
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let retry_after = headers.into_iter().find_map(|(name, value)| {
        if name.as_ref().eq_ignore_ascii_case(b"retry-after") {
            parse_retry_after(value.as_ref())
        } else {
            None
        }
    });
    Failure::Http {
        status,
        retry_after,
        binance_code: body_code(body),
        body_excerpt: excerpt(body),
    }
}

/// Classifies an HTTP response that failed: [`parse_http`], then
/// [`Failure::classify`]. See `docs/error-classes.md` for the rules.
///
/// ```
/// use std::time::Duration;
/// use recovery::{ErrorClass, classify_http};
///
/// let body = br#"{"code":-1003,"msg":"Too much request weight used"}"#;
/// let class = classify_http(429, [("Retry-After", "30")], body);
/// assert_eq!(class.class, ErrorClass::RateLimited);
/// assert_eq!(class.retry_after, Some(Duration::from_secs(30)));
///
/// // Not JSON, no headers: still classified.
/// let class = classify_http(502, [] as [(&str, &str); 0], b"<html>Bad Gateway</html>");
/// assert_eq!(class.class, ErrorClass::Server);
/// assert!(class.outcome_unknown);
/// ```
#[must_use]
pub fn classify_http<N, V>(
    status: u16,
    headers: impl IntoIterator<Item = (N, V)>,
    body: &[u8],
) -> Classification
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    parse_http(status, headers, body).classify()
}

/// `Retry-After` as delta-seconds, whole or fractional (`"30"`, `"1.5"`),
/// clamped to [`MAX_RETRY_AFTER`]. An HTTP-date needs a wall clock this
/// crate does not read, so it is ignored, like any garbled value.
fn parse_retry_after(value: &[u8]) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    // Overflowing digit strings are clamped rather than refused: they say
    // "a very long time".
    let Ok(secs) = whole.parse::<u64>() else {
        return Some(MAX_RETRY_AFTER);
    };
    // Nine digits of fraction are nanoseconds; more are below resolution.
    let mut nanos = 0_u32;
    for (i, digit) in fraction.bytes().take(9).enumerate() {
        let place = 10_u32.pow(8 - u32::try_from(i).unwrap_or(8));
        nanos += u32::from(digit - b'0') * place;
    }
    Some(Duration::new(secs.min(MAX_RETRY_AFTER.as_secs()), nanos).min(MAX_RETRY_AFTER))
}

/// The integer `code` of a Binance error body, at the top level or under
/// `error`; `None` for anything else.
fn body_code(body: &[u8]) -> Option<i64> {
    if body.len() > MAX_BODY_PARSED {
        return None;
    }
    // serde_json never panics on input and limits nesting depth, so hostile
    // bytes cost at most a failed parse of 64 KiB.
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = |v: &serde_json::Value| v.get("code").and_then(serde_json::Value::as_i64);
    code(&value).or_else(|| value.get("error").and_then(code))
}

/// The start of the body for logs: at most [`MAX_EXCERPT`] bytes, decoded
/// lossily, control characters replaced by spaces so a hostile body cannot
/// corrupt a terminal or a log line.
fn excerpt(body: &[u8]) -> String {
    let head = body.get(..MAX_EXCERPT).unwrap_or(body);
    String::from_utf8_lossy(head)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let cases: &[(&[u8], Option<Duration>)] = &[
            (b"30", Some(Duration::from_secs(30))),
            (b" 7 ", Some(Duration::from_secs(7))),
            (b"1.5", Some(Duration::from_millis(1_500))),
            (b"0", Some(Duration::ZERO)),
            (b"0.000000001999", Some(Duration::from_nanos(1))),
            (b"99999999999999999999999", Some(MAX_RETRY_AFTER)),
            (b"300000", Some(MAX_RETRY_AFTER)),
            (b"", None),
            (b"-5", None),
            (b"+5", None),
            (b"1e3", None),
            (b".5", None),
            (b"5.", Some(Duration::from_secs(5))),
            (b"1.2.3", None),
            (b"Wed, 21 Oct 2015 07:28:00 GMT", None),
            (b"\xff\xfe", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                parse_retry_after(value),
                *want,
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn body_codes() {
        let cases: &[(&[u8], Option<i64>)] = &[
            (br#"{"code":-1121,"msg":"Invalid symbol."}"#, Some(-1121)),
            (
                br#"{"status":400,"error":{"code":-1102,"msg":"x"}}"#,
                Some(-1102),
            ),
            (br#"{"code":"-1121"}"#, None),
            (br#"{"code":-1121.5}"#, None),
            (br#"{"code":99999999999999999999}"#, None),
            (br"[1,2,3]", None),
            (b"", None),
            (b"<html>", None),
            (br#"{"code":-1003"#, None),
            (b"\x00\x01\x02", None),
        ];
        for (body, want) in cases {
            assert_eq!(
                body_code(body),
                *want,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let mut huge = br#"{"code":-1121,"msg":""#.to_vec();
        huge.resize(MAX_BODY_PARSED + 1, b'a');
        huge.extend_from_slice(br#""}"#);
        assert_eq!(body_code(&huge), None);
    }

    #[test]
    fn excerpt_is_bounded_and_printable() {
        let body = vec![b'\n'; 10_000];
        let text = excerpt(&body);
        assert_eq!(text.len(), MAX_EXCERPT);
        assert!(text.chars().all(|c| c == ' '));
        // A multi-byte character cut at the limit becomes a replacement.
        let mut body = vec![b'a'; MAX_EXCERPT - 1];
        body.extend_from_slice("é".as_bytes());
        assert!(excerpt(&body).ends_with('\u{fffd}'));
    }
}
