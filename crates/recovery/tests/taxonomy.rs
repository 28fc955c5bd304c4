//! The classification table, end to end: every kind of failure the issue
//! names, and bad input (not JSON, huge bodies, garbled or missing headers,
//! unknown codes) that must be classified, never panic.

use std::time::Duration;

use recovery::{
    Classification, ConnectFailure, ErrorClass, Failure, MAX_EXCERPT, MAX_RETRY_AFTER,
    classify_http, parse_http,
};

use ErrorClass::{Authentication, Configuration, RateLimited, Server, Transient};

const NO_HEADERS: [(&str, &str); 0] = [];

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn binance(code: i64) -> Classification {
    Failure::Binance {
        code,
        msg: String::new(),
    }
    .classify()
}

fn close(code: u16) -> Classification {
    Failure::Close {
        code,
        reason: String::new(),
    }
    .classify()
}

fn http(status: u16, body: &str) -> Classification {
    classify_http(status, NO_HEADERS, body.as_bytes())
}

fn error_body(code: i64) -> String {
    format!(r#"{{"code":{code},"msg":"whatever"}}"#)
}

#[test]
fn binance_codes_named_in_the_issue() {
    let table = [
        (-1003, RateLimited, false),
        (-1121, Configuration, false),
        (-2015, Authentication, false),
        (-1007, Server, true),
        (-1000, Server, true),
        (-1001, Server, false),
        (-1006, Server, true),
        (-1008, Server, false),
        (-1021, Transient, false),
        (-1022, Authentication, false),
        (-1100, Configuration, false),
        (-1101, Configuration, false),
        (-1102, Configuration, false),
        (-1103, Configuration, false),
        (-1104, Configuration, false),
        (-1105, Configuration, false),
        (-1106, Configuration, false),
        (-1111, Configuration, false),
        (-1120, Configuration, false),
        (-1125, Authentication, false),
        (-1128, Configuration, false),
        (-1151, Configuration, false),
        (-1220, Configuration, false),
        (-2014, Authentication, false),
        // Market-stream control replies.
        (0, Configuration, false),
        (2, Configuration, false),
        (3, Configuration, false),
    ];
    for (code, class, outcome_unknown) in table {
        let got = binance(code);
        assert_eq!(got.class, class, "{code}");
        assert_eq!(got.outcome_unknown, outcome_unknown, "{code}");
        assert_eq!(got.code, Some(code));
        assert!(!got.reason.is_empty(), "{code} has a reason");
    }
}

#[test]
fn unknown_codes_fall_back_by_range() {
    let table = [
        (-1099, Server, true),
        (-1050, Server, true),
        (-1199, Configuration, false),
        (-1150, Configuration, false),
        (-2099, Configuration, false),
        (-3000, Configuration, false),
        (-9999, Configuration, false),
        (i64::MIN, Configuration, false),
        (4, Configuration, false),
        (i64::MAX, Configuration, false),
    ];
    for (code, class, outcome_unknown) in table {
        let got = binance(code);
        assert_eq!(
            (got.class, got.outcome_unknown),
            (class, outcome_unknown),
            "{code}"
        );
    }
}

#[test]
fn http_statuses_and_codes_combine() {
    // (status, body, class, outcome unknown, banned)
    let cases = [
        (429, error_body(-1003), RateLimited, false, false),
        (418, error_body(-1003), RateLimited, false, true),
        (418, String::new(), RateLimited, false, true),
        // 429 decides even over a code that says otherwise.
        (429, error_body(-1121), RateLimited, false, false),
        (400, error_body(-1121), Configuration, false, false),
        (400, error_body(-1021), Transient, false, false),
        (401, error_body(-2015), Authentication, false, false),
        (400, error_body(-2015), Authentication, false, false),
        (403, String::new(), RateLimited, false, false),
        (409, String::new(), Server, true, false),
        (404, String::new(), Configuration, false, false),
        (451, String::new(), Configuration, false, false),
        (408, String::new(), Transient, false, false),
        (500, String::new(), Server, true, false),
        (502, String::new(), Server, true, false),
        (503, error_body(-1008), Server, true, false),
        (504, error_body(-1007), Server, true, false),
        // A known code under a 5xx keeps its class; the outcome is unknown.
        (500, error_body(-1121), Configuration, true, false),
        // An unknown code under a failing status: the status decides.
        (401, error_body(-2999), Authentication, false, false),
        (503, error_body(-5555), Server, true, false),
        // An unknown code under a non-failing status: the range decides.
        (200, error_body(-1050), Server, true, false),
        (200, error_body(-1150), Configuration, false, false),
        (200, String::new(), Transient, false, false),
        (302, String::new(), Transient, false, false),
        (0, String::new(), Transient, false, false),
        (999, String::new(), Transient, false, false),
        (u16::MAX, error_body(-1121), Configuration, false, false),
    ];
    for (status, body, class, outcome_unknown, banned) in cases {
        let got = http(status, &body);
        assert_eq!(
            (got.class, got.outcome_unknown, got.banned),
            (class, outcome_unknown, banned),
            "{status} {body}"
        );
    }
}

#[test]
fn retry_after_is_read_case_insensitively_from_any_header_position() {
    let headers = [
        ("X-MBX-USED-WEIGHT-1M", "6001"),
        ("retry-AFTER", "120"),
        ("Retry-After", "5"),
    ];
    let got = classify_http(418, headers, error_body(-1003).as_bytes());
    assert_eq!(got.retry_after, Some(secs(120)));
    assert!(got.banned);
    // Owned and byte-string headers work too.
    let owned = vec![(b"Retry-After".to_vec(), b"7".to_vec())];
    assert_eq!(classify_http(429, owned, b"").retry_after, Some(secs(7)));
    // A garbled first value is skipped for a later valid one.
    let headers = [("Retry-After", "soon"), ("Retry-After", "9")];
    assert_eq!(classify_http(429, headers, b"").retry_after, Some(secs(9)));
}

#[test]
fn bad_input_is_classified_never_panics() {
    let huge_json = {
        let mut body = br#"{"code":-1121,"msg":""#.to_vec();
        body.resize(1 << 20, b'x');
        body.extend_from_slice(br#""}"#);
        body
    };
    let deep = "[".repeat(100_000);
    let garbled: &[(&str, &str)] = &[
        ("Retry-After", ""),
        ("Retry-After", "-1"),
        ("Retry-After", "NaN"),
        ("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ("Retry-After", "1e9"),
        ("", ""),
    ];
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        (
            "html",
            b"<html><body>502 Bad Gateway</body></html>".to_vec(),
        ),
        ("empty", Vec::new()),
        ("truncated json", br#"{"code":-1003,"msg":"Too m"#.to_vec()),
        ("string code", br#"{"code":"-1003"}"#.to_vec()),
        ("array", b"[-1003]".to_vec()),
        ("null", b"null".to_vec()),
        ("binary", vec![0xff, 0x00, 0xfe, 0x80, 0x1b, b'[']),
        ("huge json", huge_json),
        ("deep nesting", deep.into_bytes()),
        ("nul bytes", vec![0; 4096]),
    ];
    for (name, body) in &bodies {
        for status in [200, 400, 418, 429, 500, 503, 0] {
            let failure = parse_http(status, garbled.iter().copied(), body);
            let Failure::Http {
                retry_after,
                binance_code,
                body_excerpt,
                ..
            } = &failure
            else {
                panic!("parse_http builds Failure::Http");
            };
            assert_eq!(*retry_after, None, "{name}");
            assert_eq!(*binance_code, None, "{name}: no code is trusted");
            assert!(
                body_excerpt.len() <= MAX_EXCERPT * 3,
                "{name}: excerpt bounded"
            );
            assert!(!body_excerpt.chars().any(char::is_control), "{name}");
            let class = failure.classify();
            assert_eq!(class, classify_http(status, garbled.iter().copied(), body));
        }
    }
    // No headers, non-JSON body, a 5xx: server, outcome unknown.
    let got = classify_http(503, NO_HEADERS, b"Service Unavailable.");
    assert_eq!((got.class, got.outcome_unknown), (Server, true));
}

#[test]
fn huge_retry_after_is_clamped() {
    let got = classify_http(418, [("Retry-After", "999999999999999999999999")], b"");
    assert_eq!(got.retry_after, Some(MAX_RETRY_AFTER));
    let built = Failure::Http {
        status: 429,
        retry_after: Some(Duration::MAX),
        binance_code: None,
        body_excerpt: String::new(),
    };
    assert_eq!(built.classify().retry_after, Some(MAX_RETRY_AFTER));
}

#[test]
fn close_codes() {
    let table = [
        (1000, Transient),
        (1001, Transient),
        (1002, Transient),
        (1006, Transient),
        (1008, RateLimited),
        (1009, Transient),
        (1011, Server),
        (1012, Transient),
        (1013, RateLimited),
        (1014, Server),
        (1015, Transient),
        (4000, Transient),
        (0, Transient),
        (u16::MAX, Transient),
    ];
    for (code, class) in table {
        assert_eq!(close(code).class, class, "{code}");
        assert_eq!(close(code).retry_after, None);
    }
}

#[test]
fn transport_and_other_failures() {
    for kind in ConnectFailure::ALL {
        let want = if kind == ConnectFailure::Certificate {
            Configuration
        } else {
            Transient
        };
        assert_eq!(Failure::Connect(kind).classify().class, want, "{kind:?}");
    }
    assert_eq!(Failure::Panic("boom".into()).classify().class, Transient);
    assert_eq!(Failure::Timeout.classify().class, Transient);
    let other = Failure::Other {
        class: Authentication,
        reason: "key revoked".into(),
    };
    assert_eq!(other.classify().class, Authentication);
    assert_eq!(other.to_string(), "authentication failure: key revoked");
}

#[test]
fn a_ws_api_ban_is_banned() {
    let banned = Failure::Binance {
        code: -1003,
        msg: "Way too much request weight used; IP banned until 1700000000000.".into(),
    };
    assert!(banned.classify().banned);
    assert!(!binance(-1003).banned);
    assert!(
        !Failure::Binance {
            code: -1121,
            msg: "banned".into()
        }
        .classify()
        .banned
    );
}

#[test]
fn classes_say_whether_retries_help() {
    let retryable: Vec<_> = ErrorClass::ALL
        .into_iter()
        .filter(|class| class.is_retryable())
        .map(ErrorClass::as_str)
        .collect();
    assert_eq!(retryable, ["transient", "rate-limited", "server"]);
    assert_eq!(RateLimited.to_string(), "rate-limited");
}

#[test]
fn displays_name_the_failure() {
    let cases = [
        (
            Failure::Close {
                code: 1008,
                reason: "Too many requests".into(),
            },
            "closed by peer with code 1008 (Too many requests)",
        ),
        (
            Failure::Connect(ConnectFailure::Dns),
            "connection failed: Dns",
        ),
        (
            parse_http(400, NO_HEADERS, error_body(-1121).as_bytes()),
            "http 400 with binance code -1121",
        ),
        (parse_http(502, NO_HEADERS, b""), "http 502"),
        (
            Failure::Binance {
                code: -2015,
                msg: "Invalid API-key.".into(),
            },
            "binance error -2015: Invalid API-key.",
        ),
        (Failure::Panic("boom".into()), "task panicked: boom"),
        (Failure::Timeout, "timed out"),
    ];
    for (failure, text) in cases {
        assert_eq!(failure.to_string(), text);
    }
}
