//! The taxonomy as data: every table here is both what [`Failure::classify`]
//! consults and what `docs/error-classes.md` shows, so they cannot drift.
//!
//! [`Failure::classify`]: crate::Failure::classify

use super::{Classification, ConnectFailure, ErrorClass};

use ErrorClass::{Authentication, Configuration, RateLimited, Server, Transient};

/// What one table row says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub(crate) class: ErrorClass,
    pub(crate) outcome_unknown: bool,
    pub(crate) banned: bool,
    pub(crate) note: &'static str,
}

impl Row {
    pub(crate) fn classification(&self) -> Classification {
        Classification {
            class: self.class,
            retry_after: None,
            outcome_unknown: self.outcome_unknown,
            banned: self.banned,
            code: None,
            reason: self.note,
        }
    }
}

const fn row(class: ErrorClass, note: &'static str) -> Row {
    Row {
        class,
        outcome_unknown: false,
        banned: false,
        note,
    }
}

/// A row whose request may have been executed.
const fn unknown(class: ErrorClass, note: &'static str) -> Row {
    Row {
        class,
        outcome_unknown: true,
        banned: false,
        note,
    }
}

/// A Binance error code, with its name from Binance's `errors.md`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeRow {
    pub(crate) code: i64,
    pub(crate) name: &'static str,
    pub(crate) row: Row,
}

const fn code(code: i64, name: &'static str, row: Row) -> CodeRow {
    CodeRow { code, name, row }
}

/// A range of values (inclusive) and what they mean; the first matching
/// range of a table wins, and every table ends with a catch-all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RangeRow<T> {
    pub(crate) lo: T,
    pub(crate) hi: T,
    pub(crate) label: &'static str,
    pub(crate) row: Row,
}

const fn range<T>(lo: T, hi: T, label: &'static str, row: Row) -> RangeRow<T> {
    RangeRow { lo, hi, label, row }
}

/// Known Binance codes (PROTOCOL.md §3, §7, §8a; names from `errors.md`).
#[rustfmt::skip] // One row per line: the tables read as tables.
pub(crate) const BINANCE_CODES: &[CodeRow] = &[
    code(0, "(stream) Unknown property", row(Configuration, "market-stream control reply: bad property name in SET/GET_PROPERTY")),
    code(1, "(stream) Invalid value type", row(Configuration, "market-stream control reply: a property value of the wrong type")),
    code(2, "(stream) Invalid request", row(Configuration, "market-stream control reply: bad method, id or parameters; our request is wrong")),
    code(3, "(stream) Invalid JSON", row(Configuration, "market-stream control reply: we sent malformed JSON")),
    code(-1000, "UNKNOWN", unknown(Server, "unknown error while processing the request; status unknown")),
    code(-1001, "DISCONNECTED", row(Server, "internal error, unable to process the request; retry")),
    code(-1002, "UNAUTHORIZED", row(Authentication, "not authorized to execute this request")),
    code(-1003, "TOO_MANY_REQUESTS", row(RateLimited, "request weight or queue limit broken; with HTTP 418 the IP is banned")),
    code(-1006, "UNEXPECTED_RESP", unknown(Server, "unexpected response from the message bus; execution status unknown")),
    code(-1007, "TIMEOUT", unknown(Server, "backend timed out (10 s); send and execution status unknown")),
    code(-1008, "SERVER_BUSY", row(Server, "server overloaded; retry later on a growing schedule")),
    code(-1013, "INVALID_MESSAGE", row(Configuration, "request rejected by the API (a filter failed)")),
    code(-1014, "UNKNOWN_ORDER_COMPOSITION", row(Configuration, "unsupported order combination")),
    code(-1015, "TOO_MANY_ORDERS", row(RateLimited, "order rate limit broken")),
    code(-1016, "SERVICE_SHUTTING_DOWN", row(Configuration, "the service is no longer available; use its replacement")),
    code(-1020, "UNSUPPORTED_OPERATION", row(Configuration, "operation not supported")),
    code(-1021, "INVALID_TIMESTAMP", row(Transient, "timestamp outside recvWindow: latency or clock skew; re-sync the server time offset, then retry with a fresh timestamp")),
    code(-1022, "INVALID_SIGNATURE", row(Authentication, "signature not valid: wrong secret or payload")),
    code(-1034, "TOO_MANY_CONNECTIONS", row(RateLimited, "too many concurrent connections")),
    code(-1100, "ILLEGAL_CHARS", row(Configuration, "illegal characters in a parameter")),
    code(-1101, "TOO_MANY_PARAMETERS", row(Configuration, "too many parameters")),
    code(-1102, "MANDATORY_PARAM_EMPTY_OR_MALFORMED", row(Configuration, "a mandatory parameter is missing or malformed")),
    code(-1103, "UNKNOWN_PARAM", row(Configuration, "an unknown parameter was sent")),
    code(-1104, "UNREAD_PARAMETERS", row(Configuration, "not every parameter was read")),
    code(-1105, "PARAM_EMPTY", row(Configuration, "a parameter was empty")),
    code(-1106, "PARAM_NOT_REQUIRED", row(Configuration, "a parameter was sent when not required")),
    code(-1108, "PARAM_OVERFLOW", row(Configuration, "a parameter overflowed")),
    code(-1111, "BAD_PRECISION", row(Configuration, "precision above the symbol's")),
    code(-1112, "NO_DEPTH", row(Configuration, "no orders on the book for the symbol")),
    code(-1120, "BAD_INTERVAL", row(Configuration, "invalid interval")),
    code(-1121, "BAD_SYMBOL", row(Configuration, "invalid (unknown) symbol")),
    code(-1122, "INVALID_SYMBOLSTATUS", row(Configuration, "invalid symbolStatus")),
    code(-1125, "INVALID_LISTEN_KEY", row(Authentication, "the listenKey does not exist (expired): a session credential to obtain again")),
    code(-1127, "MORE_THAN_XX_HOURS", row(Configuration, "lookup interval too long")),
    code(-1128, "OPTIONAL_PARAMS_BAD_COMBO", row(Configuration, "combination of optional parameters invalid")),
    code(-1130, "INVALID_PARAMETER", row(Configuration, "invalid data sent for a parameter")),
    code(-1135, "INVALID_JSON", row(Configuration, "a JSON parameter is malformed")),
    code(-1151, "DUPLICATE_SYMBOLS", row(Configuration, "a symbol is repeated in the list")),
    code(-1220, "SYMBOL_DOES_NOT_MATCH_STATUS", row(Configuration, "the symbol's status does not match the requested symbolStatus")),
    code(-2010, "NEW_ORDER_REJECTED", row(Configuration, "new order rejected")),
    code(-2011, "CANCEL_REJECTED", row(Configuration, "cancel rejected")),
    code(-2013, "NO_SUCH_ORDER", row(Configuration, "order does not exist")),
    code(-2014, "BAD_API_KEY_FMT", row(Authentication, "API key format invalid")),
    code(-2015, "REJECTED_MBX_KEY", row(Authentication, "invalid API key, IP or permissions for the action")),
    code(-2026, "ORDER_ARCHIVED", row(Configuration, "order archived; query it differently")),
];

/// Codes the table does not know, by range.
#[rustfmt::skip] // One row per line: the tables read as tables.
pub(crate) const CODE_RANGES: &[RangeRow<i64>] = &[
    range(0, i64::MAX, "unknown code ≥ 0", row(Configuration, "market-stream control replies use non-negative codes, all for requests we got wrong")),
    range(-1099, -1000, "unknown -1000 … -1099", unknown(Server, "10xx are general server or network issues; status unknown")),
    range(-1199, -1100, "unknown -1100 … -1199", row(Configuration, "11xx are request issues: the same request fails again")),
    range(-2099, -2000, "unknown -2000 … -2099", row(Configuration, "20xx are processing rejections of this request")),
    range(i64::MIN, -1, "any other negative code", row(Configuration, "documented codes outside 10xx all describe the request (filters, parameters), so repeating it fails the same way")),
];

/// HTTP statuses; see [`HTTP_PRECEDENCE`] for how they combine with codes.
#[rustfmt::skip] // One row per line: the tables read as tables.
pub(crate) const HTTP_STATUS: &[RangeRow<u16>] = &[
    range(418, 418, "418", Row { class: RateLimited, outcome_unknown: false, banned: true, note: "IP banned after repeated 429s (2 min to 3 days); stop every request until Retry-After" }),
    range(429, 429, "429", row(RateLimited, "a request limit was broken; back off at least Retry-After to avoid a ban")),
    range(403, 403, "403", row(RateLimited, "Binance's WAF blocked the request (rate or security); back off")),
    range(401, 401, "401", row(Authentication, "credentials missing or rejected")),
    range(408, 408, "408", row(Transient, "the request timed out; this attempt only")),
    range(425, 425, "425", row(Transient, "too early; this attempt only")),
    range(409, 409, "409", unknown(Server, "cancelReplace partly succeeded: query the order before anything else")),
    range(400, 499, "other 4xx", row(Configuration, "a client error repeats on every attempt (wrong path, bad parameter, 451 restricted location)")),
    range(500, 599, "5xx", unknown(Server, "server failed; execution status unknown: query to confirm before re-sending")),
    range(0, u16::MAX, "1xx–3xx, or not a valid status", row(Transient, "a proxy or misbehaving server answered something unexpected; nothing lasting")),
];

/// How an HTTP status and a Binance code in the body combine.
pub(crate) const HTTP_PRECEDENCE: &[&str] = &[
    "418 and 429 decide by status alone (a 418 marks the IP as banned).",
    "Otherwise a known Binance code decides the class; a 5xx status still marks the outcome unknown.",
    "Otherwise a 4xx or 5xx status decides, so an unknown code under a 401 is still authentication.",
    "Otherwise (1xx–3xx or an invalid status) an unknown code decides by its range.",
    "Otherwise the status decides.",
    "A `Retry-After` in whole or fractional seconds is honoured on any status, up to the clamp; an HTTP-date, a negative or a garbled value is ignored.",
    "A body that is not JSON, not an object, has no integer `code`, or is above the parse limit carries no code; it is never an error.",
];

/// WebSocket close codes (RFC 6455 §7.4); the first matching row wins.
#[rustfmt::skip] // One row per line: the tables read as tables.
pub(crate) const CLOSE_CODES: &[RangeRow<u16>] = &[
    range(1000, 1000, "1000 normal closure", row(Transient, "the server ended the session (e.g. at the 24 h limit); reconnect")),
    range(1001, 1001, "1001 going away", row(Transient, "server restart or maintenance; reconnect")),
    range(1008, 1008, "1008 policy violation", row(RateLimited, "Binance: \"Too many requests\" (over 5 messages/s); back off, then reconnect")),
    range(1011, 1011, "1011 internal error", row(Server, "the server failed; retry on a growing schedule")),
    range(1012, 1012, "1012 service restart", row(Transient, "planned restart; reconnect")),
    range(1013, 1013, "1013 try again later", row(RateLimited, "the server asks us to come back later")),
    range(1014, 1014, "1014 bad gateway", row(Server, "a gateway failed upstream")),
    range(1002, 1015, "other 1002–1015", row(Transient, "protocol-level trouble (1002, 1003, 1006, 1007, 1009 …); a fresh connection clears it")),
    range(4000, 4999, "4000–4999", row(Transient, "application-defined and undocumented by Binance; reconnect")),
    range(0, u16::MAX, "any other code", row(Transient, "unknown codes say nothing lasting; reconnect")),
];

/// Transport failures without a close frame or status.
#[rustfmt::skip] // One row per line: the tables read as tables.
pub(crate) const CONNECT: &[(ConnectFailure, Row)] = &[
    (ConnectFailure::Refused, row(Transient, "nothing listens now; it may again")),
    (ConnectFailure::Reset, row(Transient, "the network or peer dropped the connection")),
    (ConnectFailure::Eof, row(Transient, "ended without a close frame (1006)")),
    (ConnectFailure::Dns, row(Transient, "resolver failure; a lasting one shows as repeated failures and escalates")),
    (ConnectFailure::Tls, row(Transient, "handshake failure other than the certificate")),
    (ConnectFailure::Certificate, row(Configuration, "the certificate is rejected on every attempt: fix trust roots or use another endpoint")),
    (ConnectFailure::Timeout, row(Transient, "connect or handshake too slow")),
    (ConnectFailure::Silence, row(Transient, "no frame within the keepalive limit: the connection is dead")),
    (ConnectFailure::Protocol, row(Transient, "the peer broke the WebSocket protocol; a fresh connection clears it")),
    (ConnectFailure::FrameTooBig, row(Transient, "a frame above our size limit; a fresh connection resumes")),
];

/// A task panicked.
pub(crate) const PANIC: Row = row(
    Transient,
    "restart with preserved state; a crash loop is caught by the restart intensity and escalates",
);

/// An operation outlived its deadline.
pub(crate) const TIMEOUT: Row = row(Transient, "try again; repeated timeouts escalate");

/// `Failure::Other` rows for the docs: the caller's class is kept.
pub(crate) const OTHER_NOTE: &str = "the class the caller chose";

fn find_range<T: PartialOrd + Copy>(table: &[RangeRow<T>], value: T) -> Option<&RangeRow<T>> {
    table.iter().find(|r| r.lo <= value && value <= r.hi)
}

fn known_code(value: i64) -> Option<&'static CodeRow> {
    BINANCE_CODES.iter().find(|r| r.code == value)
}

/// The row a code alone selects: the known code, else its range.
fn code_row(value: i64) -> Row {
    if let Some(known) = known_code(value) {
        return known.row;
    }
    // The last range is a catch-all for negative codes and the first for
    // non-negative ones, so a range always matches; the fallback keeps the
    // function total.
    find_range(CODE_RANGES, value).map_or(row(Configuration, "unknown code"), |r| r.row)
}

fn status_row(status: u16) -> Row {
    // The last row covers every u16; the fallback keeps the function total.
    find_range(HTTP_STATUS, status).map_or(row(Transient, "unknown status"), |r| r.row)
}

pub(crate) fn binance_code(value: i64) -> Classification {
    let mut class = code_row(value).classification();
    class.code = Some(value);
    class
}

pub(crate) fn http(status: u16, code: Option<i64>) -> Classification {
    let failing = (400..=599).contains(&status);
    let server_error = (500..=599).contains(&status);
    let chosen = match code {
        _ if matches!(status, 418 | 429) => status_row(status),
        Some(value) if known_code(value).is_some() => code_row(value),
        _ if failing => status_row(status),
        Some(value) => code_row(value),
        None => status_row(status),
    };
    let mut class = chosen.classification();
    class.outcome_unknown |= server_error;
    class.code = code;
    class
}

pub(crate) fn close_code(value: u16) -> Classification {
    find_range(CLOSE_CODES, value)
        .map_or(row(Transient, "unknown close code"), |r| r.row)
        .classification()
}

pub(crate) fn connect(kind: ConnectFailure) -> Classification {
    CONNECT
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(row(Transient, "transport failure"), |(_, r)| *r)
        .classification()
}
