//! Query-string parsing and validation, answering bad input with Binance's error codes.
//!
//! Binance reads every parameter of a request, then complains about the first problem it
//! meets; a parameter it did not read is itself an error (-1104). [`Params`] mirrors that:
//! handlers read parameters through typed getters that mark them read and return the
//! documented error on bad input, then call [`Params::finish`]. Nothing here panics, whatever
//! the query holds (invalid percent-escapes, invalid UTF-8, huge numbers, repeated keys).

use std::collections::BTreeSet;
use std::fmt;

use axum::http::StatusCode;

/// The legal range Binance prints for a malformed `symbol` (word characters except lowercase).
pub(crate) const SYMBOL_RANGE: &str = r"^[\w\-._&&[^a-z]]{1,50}$";
/// The legal range Binance prints for a malformed `symbols` JSON array.
pub(crate) const SYMBOLS_RANGE: &str =
    r#"^\[("[\w\-._&&[^a-z]]{1,50}"(,"[\w\-._&&[^a-z]]{1,50}"){0,}){0,1}\]$"#;
/// The legal range Binance prints for a malformed integer.
pub(crate) const NUMBER_RANGE: &str = "^[0-9]{1,20}$";

/// Times above this (9999-12-31T23:59:59.999Z) are clamped, so date arithmetic never overflows.
pub(crate) const MAX_TIME_MS: u64 = 253_402_300_799_999;
/// Time parameters at or above this are read as microseconds (16 digits today) rather than
/// milliseconds (13 digits); 10¹⁴ ms would be the year 5138.
const MICROS_THRESHOLD: u64 = 100_000_000_000_000;

/// A Binance error: an HTTP status and the `{"code","msg"}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The HTTP status (400 for every parameter problem).
    pub(crate) status: StatusCode,
    /// Binance's error code (negative).
    pub(crate) code: i32,
    /// Binance's message.
    pub(crate) msg: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.msg)
    }
}

impl ApiError {
    /// A 400 with `code` and `msg`.
    pub(crate) fn bad(code: i32, msg: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            msg: msg.into(),
        }
    }

    /// -1100: a parameter holds characters outside its legal range.
    pub(crate) fn illegal_chars(name: &str, range: &str) -> Self {
        Self::bad(
            -1100,
            format!("Illegal characters found in parameter '{name}'; legal range is '{range}'."),
        )
    }

    /// -1101: the same parameter was sent twice.
    pub(crate) fn duplicate_parameter() -> Self {
        Self::bad(-1101, "Duplicate values for a parameter detected.")
    }

    /// -1102: a mandatory parameter is missing, empty or malformed.
    pub(crate) fn mandatory(name: &str) -> Self {
        Self::bad(
            -1102,
            format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
        )
    }

    /// -1104: parameters the endpoint does not read were sent.
    pub(crate) fn unread(read: usize, sent: usize) -> Self {
        Self::bad(
            -1104,
            format!(
                "Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'."
            ),
        )
    }

    /// -1105: an optional parameter was sent empty.
    pub(crate) fn empty(name: &str) -> Self {
        Self::bad(-1105, format!("Parameter '{name}' was empty."))
    }

    /// -1108: a number does not fit.
    pub(crate) fn overflow(name: &str) -> Self {
        Self::bad(-1108, format!("Parameter '{name}' overflowed."))
    }

    /// -1120: not a kline interval.
    pub(crate) fn bad_interval() -> Self {
        Self::bad(-1120, "Invalid interval.")
    }

    /// -1121: not a listed symbol.
    pub(crate) fn bad_symbol() -> Self {
        Self::bad(-1121, "Invalid symbol.")
    }

    /// -1122: not a symbol status.
    pub(crate) fn bad_symbol_status() -> Self {
        Self::bad(-1122, "Invalid symbolStatus.")
    }

    /// -1128: optional parameters that cannot be combined.
    pub(crate) fn bad_combination() -> Self {
        Self::bad(-1128, "Combination of optional parameters invalid.")
    }

    /// -1130: a parameter's value is not valid.
    pub(crate) fn invalid(name: &str) -> Self {
        Self::bad(
            -1130,
            format!("Data sent for parameter '{name}' is not valid."),
        )
    }

    /// -1139: `type` is neither `FULL` nor `MINI`.
    pub(crate) fn bad_ticker_type() -> Self {
        Self::bad(-1139, "Invalid ticker type.")
    }

    /// -1151: `symbols` names a symbol twice.
    pub(crate) fn duplicate_symbols() -> Self {
        Self::bad(-1151, "Symbol is present multiple times in the list.")
    }

    /// -1194: bad `X-MBX-TIME-UNIT` header.
    pub(crate) fn bad_time_unit() -> Self {
        Self::bad(
            -1194,
            "Invalid value for time unit; expected either MICROSECOND or MILLISECOND.",
        )
    }

    /// -1220: the symbol's status is not the requested `symbolStatus`.
    pub(crate) fn status_mismatch() -> Self {
        Self::bad(
            -1220,
            "The symbol's status does not match the requested symbolStatus.",
        )
    }
}

/// Whether a parameter must be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Missing or empty is -1102.
    Mandatory,
    /// Missing is fine; empty is -1105.
    Optional,
}

/// The parameters of one request, with a record of which ones the handler read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
    read: BTreeSet<String>,
}

impl Params {
    /// Parses a raw query string (without `?`).
    ///
    /// # Errors
    /// -1101 when a name appears twice; -1100 when a name or value is not UTF-8 once decoded.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for segment in query.unwrap_or("").split('&') {
            if segment.is_empty() {
                continue;
            }
            let (raw_name, raw_value) = segment.split_once('=').unwrap_or((segment, ""));
            let name = decode(raw_name)
                .ok_or_else(|| ApiError::bad(-1100, "Illegal characters found in a parameter."))?;
            let value = decode(raw_value).ok_or_else(|| ApiError::illegal_chars(&name, "UTF-8"))?;
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(ApiError::duplicate_parameter());
            }
            pairs.push((name, value));
        }
        Ok(Params {
            pairs,
            read: BTreeSet::new(),
        })
    }

    /// Parameters given as (name, value) pairs, such as a WebSocket API request's.
    ///
    /// # Errors
    /// -1101 when a name appears twice.
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::duplicate_parameter());
            }
        }
        Ok(Params {
            pairs,
            read: BTreeSet::new(),
        })
    }

    /// The raw value of `name`, without marking it read (for weights, which are computed
    /// before validation).
    pub(crate) fn peek(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// True when `name` was sent (even empty).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.peek(name).is_some()
    }

    /// The raw value of `name`, marked read; `None` when not sent.
    ///
    /// # Errors
    /// -1102 (mandatory) or -1105 (optional) for an empty value; -1102 for a missing
    /// mandatory one.
    pub(crate) fn text(
        &mut self,
        name: &str,
        presence: Presence,
    ) -> Result<Option<String>, ApiError> {
        self.read.insert(name.to_owned());
        match (self.peek(name), presence) {
            (None, Presence::Optional) => Ok(None),
            (None | Some(""), Presence::Mandatory) => Err(ApiError::mandatory(name)),
            (Some(""), Presence::Optional) => Err(ApiError::empty(name)),
            (Some(value), _) => Ok(Some(value.to_owned())),
        }
    }

    /// A symbol name, checked against Binance's legal range (uppercase, at most 50 characters).
    ///
    /// # Errors
    /// As [`Params::text`], and -1100 for characters outside the legal range.
    pub(crate) fn symbol(
        &mut self,
        name: &str,
        presence: Presence,
    ) -> Result<Option<String>, ApiError> {
        let Some(value) = self.text(name, presence)? else {
            return Ok(None);
        };
        if is_symbol(&value) {
            Ok(Some(value))
        } else {
            Err(ApiError::illegal_chars(name, SYMBOL_RANGE))
        }
    }

    /// The `symbols` JSON array, such as `["BTCUSDT","BNBBTC"]` (no spaces, as on Binance).
    ///
    /// # Errors
    /// -1100 for anything but a JSON array of legal symbols, -1105 for an empty value or
    /// an empty array, -1151 for a symbol listed twice.
    pub(crate) fn symbols(&mut self) -> Result<Option<Vec<String>>, ApiError> {
        let Some(value) = self.text("symbols", Presence::Optional)? else {
            return Ok(None);
        };
        let list = parse_string_array(&value, is_symbol)
            .ok_or_else(|| ApiError::illegal_chars("symbols", SYMBOLS_RANGE))?;
        if list.is_empty() {
            return Err(ApiError::empty("symbols"));
        }
        let mut seen = BTreeSet::new();
        if !list.iter().all(|s| seen.insert(s.as_str())) {
            return Err(ApiError::duplicate_symbols());
        }
        Ok(Some(list))
    }

    /// A non-negative integer (Binance's `INT`/`LONG`), at most `i64::MAX`.
    ///
    /// # Errors
    /// -1105 for an empty value, -1100 for anything but 1–20 digits, -1108 above `i64::MAX`.
    pub(crate) fn number(&mut self, name: &str) -> Result<Option<u64>, ApiError> {
        let Some(value) = self.text(name, Presence::Optional)? else {
            return Ok(None);
        };
        parse_number(name, &value).map(Some)
    }

    /// A time parameter in ms or µs (told apart by size), clamped to [`MAX_TIME_MS`].
    ///
    /// # Errors
    /// As [`Params::number`].
    pub(crate) fn time(&mut self, name: &str) -> Result<Option<u64>, ApiError> {
        Ok(self.number(name)?.map(time_to_ms))
    }

    /// `limit`: `default` when absent, capped at `max`, at least 1.
    ///
    /// # Errors
    /// As [`Params::number`], and -1130 for zero.
    pub(crate) fn limit(&mut self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.number("limit")? {
            None => Ok(default),
            Some(0) => Err(ApiError::invalid("limit")),
            Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX).min(max)),
        }
    }

    /// Checks that every parameter sent was read.
    ///
    /// # Errors
    /// -1104 naming how many were read and how many sent.
    pub(crate) fn finish(&self) -> Result<(), ApiError> {
        let read = self
            .pairs
            .iter()
            .filter(|(n, _)| self.read.contains(n))
            .count();
        if read == self.pairs.len() {
            Ok(())
        } else {
            Err(ApiError::unread(read, self.pairs.len()))
        }
    }
}

/// Parses 1–20 ASCII digits into a value no larger than `i64::MAX`.
fn parse_number(name: &str, value: &str) -> Result<u64, ApiError> {
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::illegal_chars(name, NUMBER_RANGE));
    }
    match value.parse::<u64>() {
        Ok(n) if i64::try_from(n).is_ok() => Ok(n),
        _ => Err(ApiError::overflow(name)),
    }
}

/// A time parameter in milliseconds: µs values are scaled down, and far-future values clamped.
pub(crate) fn time_to_ms(value: u64) -> u64 {
    let ms = if value >= MICROS_THRESHOLD {
        value / 1000
    } else {
        value
    };
    ms.min(MAX_TIME_MS)
}

/// True for a legal symbol: 1–50 word characters, `-`, `.` or `_`, none lowercase ASCII.
///
/// Binance's regex uses Java's `\w`; non-ASCII letters are accepted too, since Binance
/// lists UTF-8 symbols (2025-12).
pub(crate) fn is_symbol(text: &str) -> bool {
    let count = text.chars().count();
    (1..=50).contains(&count)
        && text.chars().all(|c| {
            (c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) && !c.is_ascii_lowercase()
        })
}

/// Parses `["A","B"]` (no whitespace, no escapes) where every item passes `valid`.
pub(crate) fn parse_string_array(text: &str, valid: fn(&str) -> bool) -> Option<Vec<String>> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|item| {
            let item = item.strip_prefix('"')?.strip_suffix('"')?;
            valid(item).then(|| item.to_owned())
        })
        .collect()
}

/// Percent-decodes one query component (`+` is a space, as in HTML forms and Java servlets).
///
/// A `%` not followed by two hex digits is kept as is. `None` when the result is not UTF-8.
pub(crate) fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                    let h = std::str::from_utf8(h).ok()?;
                    u8::from_str_radix(h, 16).ok()
                });
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        match Params::parse(Some(query)) {
            Ok(p) => p,
            Err(e) => panic!("{query}: {e}"),
        }
    }

    fn code<T: fmt::Debug>(result: Result<T, ApiError>) -> i32 {
        match result {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e.code,
        }
    }

    #[test]
    fn decodes_percent_escapes_and_plus() {
        assert_eq!(decode("a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(decode("%5B%22X%22%5D").as_deref(), Some(r#"["X"]"#));
        assert_eq!(decode("100%").as_deref(), Some("100%"));
        assert_eq!(decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(decode("%E6%B5%8B").as_deref(), Some("测"));
        assert_eq!(decode("%FF"), None);
    }

    #[test]
    fn duplicates_and_bad_encoding_are_refused() {
        assert_eq!(code(Params::parse(Some("symbol=A&symbol=B"))), -1101);
        assert_eq!(code(Params::parse(Some("symbol=%FF"))), -1100);
        assert!(Params::parse(Some("&&symbol=A&")).is_ok());
        assert!(Params::parse(None).is_ok());
    }

    #[test]
    fn mandatory_and_empty() {
        let mut p = params("symbol=&limit=");
        assert_eq!(code(p.symbol("symbol", Presence::Mandatory)), -1102);
        assert_eq!(code(p.number("limit")), -1105);
        assert_eq!(
            code(params("").symbol("symbol", Presence::Mandatory)),
            -1102
        );
        assert_eq!(params("").symbol("symbol", Presence::Optional), Ok(None));
    }

    #[test]
    fn symbols_follow_binance_ranges() {
        assert_eq!(
            params("symbol=BTCUSDT").symbol("symbol", Presence::Mandatory),
            Ok(Some("BTCUSDT".into()))
        );
        for bad in ["btcusdt", "BTC USDT", "BTC/USDT", &"A".repeat(51)] {
            let mut p = Params::default();
            p.pairs.push(("symbol".into(), bad.to_owned()));
            assert_eq!(
                code(p.symbol("symbol", Presence::Mandatory)),
                -1100,
                "{bad}"
            );
        }
        assert!(is_symbol("这是测试币456"));
        assert_eq!(
            params(r#"symbols=["BTCUSDT","BNBBTC"]"#).symbols(),
            Ok(Some(vec!["BTCUSDT".into(), "BNBBTC".into()]))
        );
        assert_eq!(
            code(params(r#"symbols=["BTCUSDT", "BNBBTC"]"#).symbols()),
            -1100
        );
        assert_eq!(code(params("symbols=BTCUSDT").symbols()), -1100);
        assert_eq!(code(params("symbols=[]").symbols()), -1105);
        assert_eq!(code(params(r#"symbols=["A","A"]"#).symbols()), -1151);
    }

    #[test]
    fn numbers() {
        assert_eq!(params("limit=007").number("limit"), Ok(Some(7)));
        for bad in ["-1", "1.5", "1e3", "+1", "abc", "123456789012345678901"] {
            let mut p = Params::default();
            p.pairs.push(("limit".into(), bad.to_owned()));
            assert_eq!(code(p.number("limit")), -1100, "{bad}");
        }
        assert_eq!(
            code(params("limit=99999999999999999999").number("limit")),
            -1108
        );
        assert_eq!(
            params("limit=9223372036854775807").number("limit"),
            Ok(Some(9_223_372_036_854_775_807))
        );
        assert_eq!(params("limit=5000").limit(100, 1000), Ok(1000));
        assert_eq!(code(params("limit=0").limit(100, 1000)), -1130);
    }

    #[test]
    fn times_accept_micros_and_clamp() {
        assert_eq!(time_to_ms(1_700_000_000_123), 1_700_000_000_123);
        assert_eq!(time_to_ms(1_700_000_000_123_456), 1_700_000_000_123);
        assert_eq!(time_to_ms(9_223_372_036_854_775_807), MAX_TIME_MS);
    }

    #[test]
    fn unread_parameters_are_reported() {
        let mut p = params("symbol=BTCUSDT&foo=1&bar=");
        assert!(p.symbol("symbol", Presence::Mandatory).is_ok());
        assert_eq!(
            p.finish().map_err(|e| e.msg),
            Err(
                "Not all sent parameters were read; read '1' parameter(s) but was sent '3'.".into()
            )
        );
    }
}
