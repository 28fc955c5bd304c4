//! The connection driver over the in-memory link, on paused tokio time: pacing,
//! keepalive, silence and close handshakes, measured exactly on tokio's clock.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};
use ws_transport::memory::{self, Attempt, MemoryConnector, SentFrame, Server};
use ws_transport::{
    CloseCause, Connection, Connector, Error, Event, Outgoing, Stats, TransportConfig, WsUrl,
};

/// Drives a connection until it closes, collecting what it delivered.
fn drive(mut conn: Connection) -> JoinHandle<(Vec<Event>, Stats)> {
    tokio::spawn(async move {
        let mut events = Vec::new();
        loop {
            let event = conn.next().await;
            let done = matches!(event, Event::Closed(_));
            events.push(event);
            if done {
                return (events, conn.stats());
            }
        }
    })
}

fn texts(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn closed(events: &[Event]) -> &CloseCause {
    match events.last() {
        Some(Event::Closed(cause)) => cause,
        other => panic!("expected Closed last, got {other:?}"),
    }
}

async fn expect_frame(server: &mut Server) -> (Instant, SentFrame) {
    let sent = server.recv().await.expect("client is gone");
    (sent.at, sent.frame)
}

#[tokio::test(start_paused = true)]
async fn text_both_ways_and_stats() {
    let (conn, mut server) = memory::pair(&TransportConfig::default()).unwrap();
    let mut conn = conn;
    conn.send_text("subscribe").unwrap();
    conn.send_binary(vec![1u8, 2, 3]).unwrap();
    server.send_text("one");
    server.send_binary(vec![9u8]);
    assert_eq!(conn.next().await, Event::Text("one".into()));
    assert_eq!(conn.next().await, Event::Binary(vec![9u8].into()));
    assert_eq!(
        expect_frame(&mut server).await.1,
        SentFrame::Text("subscribe".into())
    );
    let client = drive(conn);
    assert_eq!(
        expect_frame(&mut server).await.1,
        SentFrame::Binary(vec![1u8, 2, 3].into())
    );
    server.close(1000, "");
    let (events, stats) = client.await.unwrap();
    assert_eq!(
        closed(&events),
        &CloseCause::Normal {
            reason: String::new()
        }
    );
    assert_eq!((stats.frames_in, stats.bytes_in), (3, 4));
    // Out: text, binary and the echo of the peer's close.
    assert_eq!((stats.frames_out, stats.bytes_out), (3, 12));
}

#[tokio::test(start_paused = true)]
async fn ping_is_answered_at_once_with_its_payload() {
    let (conn, mut server) = memory::pair(&TransportConfig::default()).unwrap();
    let client = drive(conn);
    let pinged_at = Instant::now();
    server.ping(&b"hello"[..]);
    let (at, frame) = expect_frame(&mut server).await;
    assert_eq!(frame, SentFrame::Pong((&b"hello"[..]).into()));
    assert_eq!(at, pinged_at, "an idle pacer lets the pong out immediately");
    server.close(1000, "");
    let (_, stats) = client.await.unwrap();
    assert_eq!((stats.pings_in, stats.pongs_out), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn pacing_holds_for_a_burst_of_fifty_plus_server_pings() {
    let config = TransportConfig::default();
    let (mut conn, mut server) = memory::pair(&config).unwrap();
    for i in 0..50 {
        conn.send_text(format!("frame {i}")).unwrap();
    }
    let client = drive(conn);
    let mut pings = tokio::time::interval(Duration::from_millis(300));
    let mut ping_times = Vec::new();
    let mut sent = Vec::new();
    while sent.len() < 50 + ping_times.len() || ping_times.len() < 20 {
        tokio::select! {
            _ = pings.tick(), if ping_times.len() < 20 => {
                server.ping(vec![u8::try_from(ping_times.len()).unwrap()]);
                ping_times.push(Instant::now());
            }
            frame = server.recv() => sent.push(frame.unwrap()),
        }
    }
    server.close(1000, "");
    client.await.unwrap();

    // At most 4 frames in any rolling second: any 5 consecutive frames span >= 1 s.
    let times: Vec<Instant> = sent.iter().map(|s| s.at).collect();
    for five in times.windows(5) {
        assert!(
            five[4] - five[0] >= Duration::from_secs(1),
            "{:?}",
            five[4] - five[0]
        );
    }
    // Every ping was answered with its payload, in order, within one pacing slot.
    let pongs: Vec<_> = sent
        .iter()
        .filter_map(|s| match &s.frame {
            SentFrame::Pong(payload) => Some((s.at, payload.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(pongs.len(), 20);
    for (k, ((at, payload), pinged)) in pongs.iter().zip(&ping_times).enumerate() {
        assert_eq!(payload.as_ref(), [u8::try_from(k).unwrap()]);
        assert!(
            *at - *pinged <= config.pacing.spacing(),
            "pong {k} waited {:?}",
            *at - *pinged
        );
    }
    // Data frames kept their order.
    let data: Vec<_> = sent
        .iter()
        .filter_map(|s| match &s.frame {
            SentFrame::Text(text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        data,
        (0..50).map(|i| format!("frame {i}")).collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn silence_is_detected_after_the_timeout() {
    let (mut conn, server) = memory::pair(&TransportConfig::default()).unwrap();
    let start = Instant::now();
    assert_eq!(
        conn.next().await,
        Event::Closed(CloseCause::Silence {
            after: Duration::from_secs(30)
        })
    );
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    drop(server);
}

#[tokio::test(start_paused = true)]
async fn any_frame_resets_the_silence_deadline() {
    let (conn, server) = memory::pair(&TransportConfig::default()).unwrap();
    let start = Instant::now();
    let client = drive(conn);
    sleep(Duration::from_secs(20)).await;
    server.pong(&b""[..]);
    let (events, _) = client.await.unwrap();
    assert_eq!(
        closed(&events),
        &CloseCause::Silence {
            after: Duration::from_secs(30)
        }
    );
    assert_eq!(start.elapsed(), Duration::from_secs(50));
}

#[tokio::test(start_paused = true)]
async fn own_pings_measure_the_round_trip() {
    let config = TransportConfig {
        ping_interval: Some(Duration::from_secs(10)),
        ..TransportConfig::default()
    };
    let (conn, mut server) = memory::pair(&config).unwrap();
    let start = Instant::now();
    let client = drive(conn);
    let (at, frame) = expect_frame(&mut server).await;
    assert_eq!(at - start, Duration::from_secs(10));
    let SentFrame::Ping(payload) = frame else {
        panic!("expected a ping, got {frame:?}")
    };
    sleep(Duration::from_millis(40)).await;
    server.pong(payload);
    server.close(1000, "");
    let (_, stats) = client.await.unwrap();
    assert_eq!((stats.pings_out, stats.pongs_in), (1, 1));
    assert_eq!(stats.last_rtt, Some(Duration::from_millis(40)));
}

#[tokio::test(start_paused = true)]
async fn peer_close_codes_are_classified_and_echoed() {
    let cases = [
        (
            1000,
            CloseCause::Normal {
                reason: "bye".into(),
            },
        ),
        (
            1001,
            CloseCause::GoingAway {
                reason: "bye".into(),
            },
        ),
        (
            1008,
            CloseCause::PolicyViolation {
                reason: "bye".into(),
            },
        ),
        (
            4001,
            CloseCause::OtherClose {
                code: 4001,
                reason: "bye".into(),
            },
        ),
    ];
    for (code, expected) in cases {
        let (mut conn, mut server) = memory::pair(&TransportConfig::default()).unwrap();
        server.close(code, "bye");
        assert_eq!(conn.next().await, Event::Closed(expected.clone()));
        assert_eq!(
            expect_frame(&mut server).await.1,
            SentFrame::Close {
                code: Some(code),
                reason: "bye".into()
            }
        );
        // Closed is sticky.
        assert_eq!(conn.next().await, Event::Closed(expected));
        assert_eq!(conn.send_text("late"), Err(Error::Closed));
    }
}

#[tokio::test(start_paused = true)]
async fn local_close_is_acknowledged_or_times_out() {
    let (mut conn, mut server) = memory::pair(&TransportConfig::default()).unwrap();
    let cause = conn.close(1000, "done").await.unwrap();
    assert_eq!(
        cause,
        CloseCause::ClosedLocally {
            code: 1000,
            reason: "done".into(),
            acknowledged: true
        }
    );
    assert_eq!(
        expect_frame(&mut server).await.1,
        SentFrame::Close {
            code: Some(1000),
            reason: "done".into()
        }
    );

    let (mut conn, server) = memory::pair(&TransportConfig::default()).unwrap();
    server.ignore_close_requests();
    let start = Instant::now();
    let cause = conn.close(4000, "rotate").await.unwrap();
    assert_eq!(
        cause,
        CloseCause::ClosedLocally {
            code: 4000,
            reason: "rotate".into(),
            acknowledged: false
        }
    );
    assert_eq!(start.elapsed(), TransportConfig::default().close_timeout);
}

#[tokio::test(start_paused = true)]
async fn messages_arriving_during_close_are_delivered() {
    let (mut conn, server) = memory::pair(&TransportConfig::default()).unwrap();
    server.send_text("before");
    conn.begin_close(1000, "").unwrap();
    assert_eq!(conn.next().await, Event::Text("before".into()));
    assert!(matches!(
        conn.next().await,
        Event::Closed(CloseCause::ClosedLocally { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn invalid_close_requests_are_refused() {
    let (mut conn, _server) = memory::pair(&TransportConfig::default()).unwrap();
    for code in [999, 1005, 1006, 1015, 2000, 5000] {
        assert!(
            matches!(conn.begin_close(code, ""), Err(Error::InvalidClose { .. })),
            "{code}"
        );
    }
    let long = "x".repeat(124);
    assert!(matches!(
        conn.begin_close(1000, &long),
        Err(Error::InvalidClose { .. })
    ));
    assert!(!conn.is_closed());
}

#[tokio::test(start_paused = true)]
async fn frame_too_big_keeps_what_came_before_and_tells_the_peer() {
    let config = TransportConfig {
        max_frame_size: 16,
        max_message_size: 16,
        ..TransportConfig::default()
    };
    let (conn, mut server) = memory::pair(&config).unwrap();
    server.send_text("a");
    server.send_text("b");
    server.send_binary(vec![0u8; 100]);
    server.send_text("after");
    let (events, _) = drive(conn).await.unwrap();
    assert_eq!(texts(&events), ["a", "b"]);
    let cause = closed(&events);
    assert_eq!(cause, &CloseCause::FrameTooBig { size: 100, max: 16 });
    assert!(cause.to_string().contains("max_frame_size"), "{cause}");
    assert_eq!(
        expect_frame(&mut server).await.1,
        SentFrame::Close {
            code: Some(1009),
            reason: String::new()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn link_failures_and_eof_end_the_connection_after_earlier_frames() {
    let (conn, server) = memory::pair(&TransportConfig::default()).unwrap();
    server.send_text("x");
    server.fail(CloseCause::Reset);
    let (events, _) = drive(conn).await.unwrap();
    assert_eq!(texts(&events), ["x"]);
    assert_eq!(closed(&events), &CloseCause::Reset);

    let (conn, server) = memory::pair(&TransportConfig::default()).unwrap();
    server.send_text("y");
    drop(server);
    let (events, _) = drive(conn).await.unwrap();
    assert_eq!(texts(&events), ["y"]);
    assert_eq!(closed(&events), &CloseCause::Eof);
}

#[tokio::test(start_paused = true)]
async fn queue_is_bounded_and_unsent_frames_are_recoverable() {
    let config = TransportConfig {
        max_queued_frames: 3,
        ..TransportConfig::default()
    };
    let (mut conn, server) = memory::pair(&config).unwrap();
    for i in 0..3 {
        conn.send_text(format!("{i}")).unwrap();
    }
    let full = conn.send_text("3").unwrap_err();
    assert_eq!(full, Error::QueueFull { capacity: 3 });
    assert!(full.is_retryable());
    assert_eq!(conn.stats().queued, 3);
    server.ignore_close_requests();
    drop(server);
    // The first frame leaves at once; EOF ends the connection before the others may.
    assert_eq!(conn.next().await, Event::Closed(CloseCause::Eof));
    assert_eq!(
        conn.take_unsent(),
        vec![Outgoing::Text("1".into()), Outgoing::Text("2".into())]
    );
}

#[tokio::test(start_paused = true)]
async fn memory_connector_follows_its_script() {
    let (connector, mut acceptor) = MemoryConnector::new(TransportConfig::default()).unwrap();
    let limited = CloseCause::HandshakeRejected {
        status: 429,
        retry_after: Some(Duration::from_secs(30)),
        body: String::new(),
    };
    connector.script([
        Attempt::Fail(limited.clone()),
        Attempt::Fail(CloseCause::Refused),
    ]);
    let url: WsUrl = "wss://stream.example:9443/ws".parse().unwrap();
    let err = connector.connect(&url).await.unwrap_err();
    assert_eq!(err.cause(), Some(&limited));
    assert!(err.cause().unwrap().is_rate_limit());
    assert_eq!(
        connector.connect(&url).await.unwrap_err(),
        Error::Connect(CloseCause::Refused)
    );
    let mut conn = connector.connect(&url).await.unwrap();
    let (accepted_url, server) = acceptor.try_accept().unwrap();
    assert_eq!(accepted_url, url);
    server.send_text("hi");
    assert_eq!(conn.next().await, Event::Text("hi".into()));
}
