//! Unit tests of the control protocol: every request and error of PROTOCOL.md §3,
//! compared with Binance's documented frames.

use serde_json::{Value, json};

use super::*;

fn session() -> Session {
    Session::new(Vec::new(), false, 4)
}

/// Handles `request` and returns the reply as JSON.
fn reply(session: &mut Session, request: &str) -> Value {
    let text = session.handle_text(request).reply.to_json();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("reply {text:?} is not JSON: {e}"))
}

fn names(session: &Session) -> Vec<String> {
    session.streams().iter().map(ToString::to_string).collect()
}

#[test]
fn documented_requests_get_documented_replies() {
    let mut s = session();
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}"#
        ),
        json!({"result": null, "id": 1})
    );
    assert_eq!(names(&s), ["btcusdt@aggTrade", "btcusdt@depth"]);
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":312}"#
        ),
        json!({"result": null, "id": 312})
    );
    assert_eq!(
        reply(&mut s, r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#),
        json!({"result": ["btcusdt@aggTrade"], "id": 3})
    );
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#
        ),
        json!({"result": null, "id": 5})
    );
    assert!(s.combined());
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"GET_PROPERTY","params":["combined"],"id":2}"#
        ),
        json!({"result": true, "id": 2})
    );
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"SET_PROPERTY","params":["combined",false],"id":6}"#
        ),
        json!({"result": null, "id": 6})
    );
    assert!(!s.combined());
}

#[test]
fn replies_are_byte_exact() {
    let mut s = session();
    let handled = s.handle_text(r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}"#);
    assert_eq!(handled.reply.to_json(), r#"{"result":null,"id":1}"#);
    let handled = s.handle_text(r#"{"method":"LIST_SUBSCRIPTIONS","id":"a-1"}"#);
    assert_eq!(
        handled.reply.to_json(),
        r#"{"result":["btcusdt@trade"],"id":"a-1"}"#
    );
    let handled = s.handle_text(r#"{"method":"GET_PROPERTY","params":["nope"],"id":null}"#);
    assert_eq!(
        handled.reply.to_json(),
        r#"{"code":0,"msg":"Unknown property","id":null}"#
    );
    let handled = s.handle_text("nope");
    assert_eq!(
        handled.reply.to_json(),
        r#"{"code":3,"msg":"Invalid JSON: expected ident at line 1 column 2"}"#
    );
}

#[test]
fn every_accepted_id_kind_is_echoed() {
    for id in [
        json!(0),
        json!(-1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!("abc123"),
        json!("e9d6b4349871b40611412680b3445fac"),
        json!("922bcc6e-9de8-440d-9e84-7c80933a8d0d"),
        json!("x"),
        Value::Null,
    ] {
        let mut s = session();
        let request = json!({"method": "LIST_SUBSCRIPTIONS", "id": id}).to_string();
        assert_eq!(
            reply(&mut s, &request),
            json!({"result": [], "id": id}),
            "{id}"
        );
    }
}

#[test]
fn bad_ids_are_refused_without_an_id() {
    let expected =
        json!({"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"});
    for request in [
        r#"{"method":"LIST_SUBSCRIPTIONS"}"#.to_owned(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": 1.5}).to_string(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": u64::MAX}).to_string(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": true}).to_string(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": [1]}).to_string(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": {"a": 1}}).to_string(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": ""}).to_string(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": "a".repeat(37)}).to_string(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": "has space"}).to_string(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": "under_score"}).to_string(),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": "ünï"}).to_string(),
        json!({"method": "SUBSCRIBE", "params": ["btcusdt@trade"]}).to_string(),
    ] {
        let mut s = session();
        assert_eq!(reply(&mut s, &request), expected, "{request}");
        assert!(s.streams().is_empty(), "{request} subscribed");
    }
    // 36 characters is the limit, inclusive.
    let mut s = session();
    let id = "a".repeat(36);
    let request = json!({"method": "LIST_SUBSCRIPTIONS", "id": id}).to_string();
    assert_eq!(reply(&mut s, &request), json!({"result": [], "id": id}));
}

#[test]
fn malformed_json_is_code_3_with_serde_position() {
    let mut s = session();
    for (request, msg) in [
        ("x", "Invalid JSON: expected value at line 1 column 1"),
        (
            "",
            "Invalid JSON: EOF while parsing a value at line 1 column 0",
        ),
        (
            "{",
            "Invalid JSON: EOF while parsing an object at line 1 column 1",
        ),
        (
            r#"{"method":"LIST_SUBSCRIPTIONS","id":1"#,
            "Invalid JSON: EOF while parsing an object at line 1 column 37",
        ),
        (
            r#"{"method":"LIST_SUBSCRIPTIONS","id":1} x"#,
            "Invalid JSON: trailing characters at line 1 column 40",
        ),
        (
            "{\n\"method\" 1}",
            "Invalid JSON: expected `:` at line 2 column 10",
        ),
    ] {
        assert_eq!(
            reply(&mut s, request),
            json!({"code": 3, "msg": msg}),
            "{request:?}"
        );
    }
}

#[test]
fn unknown_and_missing_methods_are_code_2_with_serde_wording() {
    let mut s = session();
    assert_eq!(
        reply(&mut s, r#"{"method":"SUBSCRIBEE","params":[],"id":1}"#),
        json!({"code": 2, "msg": "Invalid request: unknown variant `SUBSCRIBEE`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` at line 1 column 22"})
    );
    // Method names are case-sensitive.
    assert_eq!(
        reply(&mut s, r#"{"method":"subscribe","id":1}"#)["code"],
        json!(2)
    );
    // The docs' example: the error points at the end of the object.
    let request = r#"{"params":["btcusdt@aggTrade","btcusdt@depth"],"id":1,"extra":"abcdefgh"}"#;
    assert_eq!(request.len(), 73);
    assert_eq!(
        reply(&mut s, request),
        json!({"code": 2, "msg": "Invalid request: missing field `method` at line 1 column 73"})
    );
    // serde_json reports a method of the wrong type as a syntax error (code 3);
    // Binance, deserialising with serde_json too, must do the same.
    assert_eq!(
        reply(&mut s, r#"{"method":5,"id":1}"#),
        json!({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 11"})
    );
    assert_eq!(
        reply(&mut s, "[]"),
        json!({"code": 2, "msg": "Invalid request: invalid length 0, expected struct Request with 3 elements at line 1 column 2"})
    );
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"SUBSCRIBE","params":"btcusdt@trade","id":1}"#
        ),
        json!({"code": 2, "msg": "Invalid request: invalid type: string \"btcusdt@trade\", expected a sequence at line 1 column 46"})
    );
}

#[test]
fn too_many_parameters() {
    let expected = json!({"code": 2, "msg": "Invalid request: too many parameters"});
    let mut s = session();
    for request in [
        r#"{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":1}"#,
        r#"{"method":"GET_PROPERTY","params":["combined","x"],"id":1}"#,
        r#"{"method":"SET_PROPERTY","params":["combined",true,1],"id":1}"#,
    ] {
        assert_eq!(reply(&mut s, request), expected, "{request}");
    }
    assert!(!s.combined());
    // Empty or null params are no params.
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"LIST_SUBSCRIPTIONS","params":[],"id":1}"#
        ),
        json!({"result": [], "id": 1})
    );
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"LIST_SUBSCRIPTIONS","params":null,"id":1}"#
        ),
        json!({"result": [], "id": 1})
    );
}

#[test]
fn property_errors() {
    let mut s = session();
    let not_string = json!({"code": 2, "msg": "Invalid request: property name must be a string"});
    for request in [
        r#"{"method":"SET_PROPERTY","id":1}"#,
        r#"{"method":"SET_PROPERTY","params":[],"id":1}"#,
        r#"{"method":"SET_PROPERTY","params":[true,true],"id":1}"#,
        r#"{"method":"GET_PROPERTY","params":[1],"id":1}"#,
        r#"{"method":"GET_PROPERTY","params":[null],"id":1}"#,
    ] {
        assert_eq!(reply(&mut s, request), not_string, "{request}");
    }
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"SET_PROPERTY","params":["Combined",true],"id":5}"#
        ),
        json!({"code": 0, "msg": "Unknown property", "id": 5})
    );
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"GET_PROPERTY","params":["x"],"id":"q"}"#
        ),
        json!({"code": 0, "msg": "Unknown property", "id": "q"})
    );
    let bad_value = json!({"code": 1, "msg": "Invalid value type: expected Boolean"});
    for request in [
        r#"{"method":"SET_PROPERTY","params":["combined"],"id":1}"#,
        r#"{"method":"SET_PROPERTY","params":["combined","true"],"id":1}"#,
        r#"{"method":"SET_PROPERTY","params":["combined",1],"id":1}"#,
        r#"{"method":"SET_PROPERTY","params":["combined",null],"id":1}"#,
    ] {
        assert_eq!(reply(&mut s, request), bad_value, "{request}");
    }
    assert!(!s.combined());
}

#[test]
fn subscribe_edge_cases() {
    let mut s = session();
    // Idempotent, in subscription order, canonical names.
    let handled = s.handle_text(
        r#"{"method":"SUBSCRIBE","params":["btcusdt@depth@1000ms","btcusdt@trade","btcusdt@depth"],"id":1}"#,
    );
    assert_eq!(names(&s), ["btcusdt@depth", "btcusdt@trade"]);
    assert_eq!(handled.added.len(), 2);
    let handled = s.handle_text(r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":2}"#);
    assert!(handled.added.is_empty());
    assert_eq!(handled.reply.to_json(), r#"{"result":null,"id":2}"#);
    // An unlisted but well-formed symbol is accepted.
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"SUBSCRIBE","params":["nosuchcoin@trade"],"id":3}"#
        ),
        json!({"result": null, "id": 3})
    );
    // One invalid name refuses the whole request.
    let invalid = json!({"code": 2, "msg": "Invalid request: invalid stream"});
    for request in [
        r#"{"method":"SUBSCRIBE","params":["ethusdt@trade","BTCUSDT@trade"],"id":4}"#,
        r#"{"method":"SUBSCRIBE","params":["ethusdt@trade",7],"id":4}"#,
        r#"{"method":"SUBSCRIBE","params":["ethusdt@trade","btcusdt@kline_2m"],"id":4}"#,
        r#"{"method":"UNSUBSCRIBE","params":["btcusdt@trade","!bookTicker"],"id":4}"#,
    ] {
        assert_eq!(reply(&mut s, request), invalid, "{request}");
    }
    assert_eq!(
        names(&s),
        ["btcusdt@depth", "btcusdt@trade", "nosuchcoin@trade"]
    );
    // The limit (4) is all or nothing.
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"SUBSCRIBE","params":["a@trade","b@trade"],"id":5}"#
        ),
        json!({"code": 2, "msg": "Invalid request: too many streams"})
    );
    assert_eq!(s.streams().len(), 3);
    assert_eq!(
        reply(
            &mut s,
            r#"{"method":"SUBSCRIBE","params":["a@trade","btcusdt@trade","a@trade"],"id":6}"#
        ),
        json!({"result": null, "id": 6})
    );
    assert_eq!(s.streams().len(), 4);
    // Unsubscribing what is not subscribed is fine; order is kept.
    let handled =
        s.handle_text(r#"{"method":"UNSUBSCRIBE","params":["btcusdt@trade","zzz@trade"],"id":7}"#);
    assert_eq!(handled.removed.len(), 1);
    assert_eq!(names(&s), ["btcusdt@depth", "nosuchcoin@trade", "a@trade"]);
    assert!(!s.wants(&StreamName::new(
        "btcusdt",
        crate::stream::StreamKind::Trade
    )));
    // SUBSCRIBE without params is a no-op.
    assert_eq!(
        reply(&mut s, r#"{"method":"SUBSCRIBE","id":8}"#),
        json!({"result": null, "id": 8})
    );
}

#[test]
fn binary_frames() {
    let mut s = session();
    let handled = s.handle_binary(br#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#);
    assert_eq!(handled.reply.to_json(), r#"{"result":[],"id":1}"#);
    let handled = s.handle_binary(b"{\"method\":\xff}");
    assert_eq!(
        handled.reply.to_json(),
        r#"{"code":3,"msg":"Invalid JSON: invalid unicode code point at line 1 column 11"}"#
    );
    let handled = s.handle_binary(&[0x80, 0x81]);
    assert_eq!(
        handled.reply.to_json(),
        r#"{"code":3,"msg":"Invalid JSON: invalid unicode code point at line 1 column 1"}"#
    );
}

#[test]
fn initial_streams_deduplicate() {
    let a = StreamName::new("btcusdt", crate::stream::StreamKind::Trade);
    let s = Session::new(vec![a.clone(), a.clone()], true, 10);
    assert_eq!(s.streams(), [a]);
    assert!(s.combined());
}

#[test]
fn arbitrary_input_never_panics() {
    // A cheap fuzz over truncations and byte flips of valid requests.
    let requests = [
        r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}"#,
        r#"{"method":"SET_PROPERTY","params":["combined",true],"id":"abc"}"#,
    ];
    let mut s = session();
    for request in requests {
        let bytes = request.as_bytes();
        for cut in 0..bytes.len() {
            let _ = s.handle_binary(&bytes[..cut]);
            let mut flipped = bytes.to_vec();
            flipped[cut] ^= 0xA5;
            let _ = s.handle_binary(&flipped);
        }
    }
}
