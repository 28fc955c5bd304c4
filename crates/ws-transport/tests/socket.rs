//! Real sockets on loopback: connect, echo, keepalive, pacing, and every close cause.

mod common;

use std::time::Duration;

use common::{drive, last_cause, tcp_server, texts, ws_server, ws_url};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use ws_transport::{CloseCause, Error, Event, Headers, Pacing, TransportConfig, connect};

fn close_frame(code: u16, reason: &str) -> Option<CloseFrame> {
    Some(CloseFrame {
        code: code.into(),
        reason: reason.into(),
    })
}

async fn connect_default(addr: std::net::SocketAddr) -> ws_transport::Connection {
    connect(&ws_url(addr), &TransportConfig::default())
        .await
        .expect("connect")
}

#[tokio::test]
async fn connect_echo_and_close_gracefully() {
    let (seen_tx, seen_rx) = oneshot::channel();
    let (addr, _server) = ws_server(|mut ws| async move {
        let mut seen = Vec::new();
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = &message {
                ws.send(Message::Text(text.clone())).await.unwrap();
            }
            seen.push(message);
        }
        let _ = seen_tx.send(seen);
    })
    .await;
    let mut conn = connect_default(addr).await;
    assert_eq!(conn.peer(), addr.to_string());
    conn.send_text("hello").unwrap();
    assert_eq!(conn.next().await, Event::Text("hello".into()));
    let cause = conn.close(1000, "bye").await.unwrap();
    assert_eq!(
        cause,
        CloseCause::ClosedLocally {
            code: 1000,
            reason: "bye".into(),
            acknowledged: true
        }
    );
    let seen = seen_rx.await.unwrap();
    assert_eq!(
        seen,
        [
            Message::Text("hello".into()),
            Message::Close(close_frame(1000, "bye"))
        ]
    );
}

#[tokio::test]
#[allow(
    clippy::result_large_err,
    reason = "the callback's error type is tungstenite's"
)]
async fn handshake_headers_reach_the_server() {
    let (key_tx, key_rx) = oneshot::channel();
    let (addr, _server) = tcp_server(|tcp| async move {
        let callback = |request: &Request, response: Response| {
            let key = request
                .headers()
                .get("x-mbx-apikey")
                .map(|v| v.to_str().unwrap().to_owned());
            let _ = key_tx.send(key);
            Ok(response)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
            .await
            .unwrap();
        while ws.next().await.is_some() {}
    })
    .await;
    let mut headers = Headers::new();
    headers.insert("X-MBX-APIKEY", "secret-key").unwrap();
    let config = TransportConfig {
        headers,
        ..TransportConfig::default()
    };
    let conn = connect(&ws_url(addr), &config).await.unwrap();
    assert_eq!(key_rx.await.unwrap().as_deref(), Some("secret-key"));
    assert!(!format!("{config:?}{conn:?}").contains("secret-key"));
}

#[tokio::test]
async fn ping_is_answered_promptly_with_the_same_payload() {
    let (reply_tx, reply_rx) = oneshot::channel();
    let (addr, _server) = ws_server(|mut ws| async move {
        let start = std::time::Instant::now();
        ws.send(Message::Ping((&b"keepalive-42"[..]).into()))
            .await
            .unwrap();
        let reply = ws.next().await.unwrap().unwrap();
        let _ = reply_tx.send((reply, start.elapsed()));
        ws.close(close_frame(1000, "")).await.unwrap();
        while ws.next().await.is_some() {}
    })
    .await;
    let client = drive(connect_default(addr).await);
    let (reply, waited) = reply_rx.await.unwrap();
    assert_eq!(reply, Message::Pong((&b"keepalive-42"[..]).into()));
    // Generous bound for a loaded machine; the paced path is measured exactly in memory.rs.
    assert!(waited < Duration::from_secs(1), "pong took {waited:?}");
    let (events, stats) = client.await.unwrap();
    assert_eq!(
        last_cause(&events),
        &CloseCause::Normal {
            reason: String::new()
        }
    );
    assert_eq!((stats.pings_in, stats.pongs_out), (1, 1));
}

#[tokio::test(flavor = "current_thread")]
async fn silence_is_detected_on_a_real_socket() {
    let (addr, _server) = ws_server(|mut ws| async move {
        // Holds the connection open and says nothing.
        while ws.next().await.is_some() {}
    })
    .await;
    let mut conn = connect_default(addr).await;
    // Paused only now: the handshake above needed real time. From here the runtime is
    // idle until the silence deadline, so paused time jumps straight to it.
    tokio::time::pause();
    let opened = conn.stats().opened_at;
    assert_eq!(
        conn.next().await,
        Event::Closed(CloseCause::Silence {
            after: Duration::from_secs(30)
        })
    );
    // The timer wheel rounds deadlines up to the next millisecond.
    let silent_for = opened.elapsed();
    assert!(silent_for >= Duration::from_secs(30), "{silent_for:?}");
    assert!(
        silent_for <= Duration::from_millis(30_002),
        "{silent_for:?}"
    );
}

#[tokio::test]
async fn pacing_holds_on_the_wire_with_server_pings() {
    const FRAMES: usize = 50;
    let pacing = Pacing {
        max_frames: 4,
        window: Duration::from_millis(200),
    };
    let (times_tx, times_rx) = oneshot::channel();
    let (addr, _server) = ws_server(move |mut ws| async move {
        let mut arrivals = Vec::new();
        let (mut texts, mut pongs, mut pings) = (0usize, 0usize, 0u8);
        while texts < FRAMES || pongs < usize::from(pings) {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(_) => texts += 1,
                Message::Pong(_) => pongs += 1,
                other => panic!("unexpected {other:?}"),
            }
            arrivals.push(std::time::Instant::now());
            if texts % 7 == 0 && pings < 6 && texts > usize::from(pings) * 7 {
                ws.send(Message::Ping(vec![pings].into())).await.unwrap();
                pings += 1;
            }
        }
        let _ = times_tx.send((arrivals, pings));
        ws.close(close_frame(1000, "")).await.unwrap();
        while ws.next().await.is_some() {}
    })
    .await;
    let config = TransportConfig {
        pacing,
        ..TransportConfig::default()
    };
    let mut conn = connect(&ws_url(addr), &config).await.unwrap();
    for i in 0..FRAMES {
        conn.send_text(format!("{i}")).unwrap();
    }
    let client = drive(conn);
    let (arrivals, pings) = times_rx.await.unwrap();
    assert_eq!(arrivals.len(), FRAMES + usize::from(pings));
    // Arrival times carry scheduling jitter (client and server share a loaded machine),
    // so allow half a window of slack; a pacer that let a burst through would put five
    // frames within a few milliseconds. memory.rs checks the exact bound on tokio's clock.
    let slack = pacing.window / 2;
    for five in arrivals.windows(5) {
        let span = five[4] - five[0];
        assert!(span >= pacing.window - slack, "5 frames within {span:?}");
    }
    let (events, stats) = client.await.unwrap();
    assert_eq!(
        last_cause(&events),
        &CloseCause::Normal {
            reason: String::new()
        }
    );
    assert_eq!(stats.pongs_out, u64::from(pings));
}

#[tokio::test]
async fn peer_close_codes_are_classified() {
    for (code, reason) in [
        (1000, ""),
        (1001, "restart"),
        (1008, "Too many requests"),
        (4002, "custom"),
    ] {
        let (addr, _server) = ws_server(move |mut ws| async move {
            ws.send(Message::Text("last words".into())).await.unwrap();
            ws.close(close_frame(code, reason)).await.unwrap();
            while ws.next().await.is_some() {}
        })
        .await;
        let (events, _) = drive(connect_default(addr).await).await.unwrap();
        assert_eq!(texts(&events), ["last words"]);
        let cause = last_cause(&events);
        assert_eq!(cause.close_code(), Some(code));
        assert_eq!(cause.is_rate_limit(), code == 1008, "{cause}");
        assert!(cause.to_string().contains(reason), "{cause}");
    }
}

#[tokio::test]
async fn handshake_429_exposes_status_and_retry_after() {
    let (addr, _server) = tcp_server(|mut tcp| async move {
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        let body = r#"{"code":-1003,"msg":"Too many requests."}"#;
        let response = format!(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tcp.write_all(response.as_bytes()).await.unwrap();
        tcp.shutdown().await.unwrap();
    })
    .await;
    let err = connect(&ws_url(addr), &TransportConfig::default())
        .await
        .unwrap_err();
    let Error::Connect(cause) = &err else {
        panic!("expected Connect, got {err:?}")
    };
    assert!(
        matches!(cause, CloseCause::HandshakeRejected { status: 429, body, .. } if body.contains("-1003")),
        "{cause:?}"
    );
    assert_eq!(cause.retry_after(), Some(Duration::from_secs(7)));
    assert!(cause.is_rate_limit() && cause.is_retryable());
    assert!(err.to_string().contains("429"), "{err}");
}

#[tokio::test]
async fn refused_when_nothing_listens() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = connect(&ws_url(addr), &TransportConfig::default())
        .await
        .unwrap_err();
    assert_eq!(err, Error::Connect(CloseCause::Refused));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn reset_by_the_peer() {
    let (addr, _server) = ws_server(|ws| async move {
        // SO_LINGER 0: closing sends RST instead of FIN.
        socket2::SockRef::from(ws.get_ref())
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(ws);
    })
    .await;
    let (events, _) = drive(connect_default(addr).await).await.unwrap();
    assert_eq!(last_cause(&events), &CloseCause::Reset);
}

#[tokio::test(start_paused = true)]
async fn handshake_timeout_when_the_server_never_answers() {
    let (addr, _server) = tcp_server(|mut tcp| async move {
        // Reads the upgrade request and never answers.
        let mut buf = [0u8; 1024];
        while tcp.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    })
    .await;
    let err = connect(&ws_url(addr), &TransportConfig::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Connect(CloseCause::HandshakeTimeout {
            after: Duration::from_secs(10)
        })
    );
}

#[tokio::test]
async fn frame_and_message_limits_end_the_connection_after_earlier_messages() {
    let config = TransportConfig {
        max_frame_size: 1024,
        max_message_size: 2048,
        ..TransportConfig::default()
    };
    // One frame over the frame limit.
    let (close_tx, close_rx) = oneshot::channel();
    let (addr, _server) = ws_server(|mut ws| async move {
        for text in ["a", "b", "c"] {
            ws.send(Message::Text(text.into())).await.unwrap();
        }
        ws.send(Message::Binary(vec![0u8; 2000].into()))
            .await
            .unwrap();
        let _ = close_tx.send(ws.next().await.map(Result::unwrap));
    })
    .await;
    let conn = connect(&ws_url(addr), &config).await.unwrap();
    let (events, _) = drive(conn).await.unwrap();
    assert_eq!(texts(&events), ["a", "b", "c"]);
    assert_eq!(
        last_cause(&events),
        &CloseCause::FrameTooBig {
            size: 2000,
            max: 1024
        }
    );
    assert_eq!(
        close_rx.await.unwrap(),
        Some(Message::Close(close_frame(1009, "")))
    );

    // Fragments each under the frame limit, together over the message limit.
    let (addr, _server) = ws_server(|mut ws| async move {
        ws.send(Message::Text("ok".into())).await.unwrap();
        let parts = [
            (OpCode::Data(Data::Binary), false),
            (OpCode::Data(Data::Continue), false),
            (OpCode::Data(Data::Continue), true),
        ];
        for (opcode, fin) in parts {
            ws.send(Message::Frame(Frame::message(vec![1u8; 1000], opcode, fin)))
                .await
                .unwrap();
        }
        while ws.next().await.is_some() {}
    })
    .await;
    let (events, _) = drive(connect(&ws_url(addr), &config).await.unwrap())
        .await
        .unwrap();
    assert_eq!(texts(&events), ["ok"]);
    assert!(
        matches!(
            last_cause(&events),
            CloseCause::MessageTooBig { max: 2048, .. }
        ),
        "{events:?}"
    );
}

#[tokio::test]
async fn garbage_bytes_are_a_protocol_error() {
    let (close_tx, close_rx) = oneshot::channel();
    let (addr, _server) = ws_server(|mut ws| async move {
        ws.send(Message::Text("fine".into())).await.unwrap();
        // FIN + all three reserved bits set: no extension negotiated, so invalid.
        ws.get_mut().write_all(&[0xF1, 0x00]).await.unwrap();
        let _ = close_tx.send(ws.next().await.map(Result::unwrap));
    })
    .await;
    let (events, _) = drive(connect_default(addr).await).await.unwrap();
    assert_eq!(texts(&events), ["fine"]);
    assert!(
        matches!(last_cause(&events), CloseCause::Protocol { .. }),
        "{events:?}"
    );
    assert_eq!(
        close_rx.await.unwrap(),
        Some(Message::Close(close_frame(1002, "")))
    );
}

#[tokio::test]
async fn tcp_close_without_close_frame_is_eof() {
    let (addr, _server) = ws_server(|mut ws| async move {
        ws.send(Message::Text("only".into())).await.unwrap();
        drop(ws);
    })
    .await;
    let (events, _) = drive(connect_default(addr).await).await.unwrap();
    assert_eq!(texts(&events), ["only"]);
    assert_eq!(last_cause(&events), &CloseCause::Eof);
}

#[tokio::test]
async fn bad_urls_and_configs_are_refused_before_any_io() {
    for url in [
        "",
        "http://127.0.0.1/",
        "127.0.0.1:80",
        "ws://user:pw@127.0.0.1/",
        "ws://127.0.0.1:0/",
    ] {
        let err = connect(url, &TransportConfig::default()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url:?}: {err:?}");
        assert!(!err.is_retryable());
    }
    let config = TransportConfig {
        max_frame_size: 0,
        ..TransportConfig::default()
    };
    let err = connect("ws://127.0.0.1:9/", &config).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                field: "max_frame_size",
                ..
            }
        ),
        "{err:?}"
    );
}
