//! The ops endpoint on a real loopback listener: every path, 404 and 405,
//! 503 when failing, readiness, `/metrics` with every documented metric,
//! and a stuck client that cannot block the feed.

#![cfg(feature = "http")]

mod common;

use std::time::Duration;

use health::metrics::{DEFAULT_PREFIX, METRICS, MetricsConfig};
use health::ops::{self, Exposure, OpsConfig};
use health::{
    BackfillOutcome, BreakerState, ConnectionEvent, DisconnectCause, ErrorClass, ErrorSource,
    HealthConfig, Monitor, RestLimit, RestStatus,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One request over a fresh connection: status and body.
async fn request(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("answer within 10 s")
        .expect("read");
    let text = String::from_utf8(raw).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head[9..12].parse().expect("a status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn start(state: ops::OpsState) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let server = ops::bind(&OpsConfig::default()).await.expect("bind");
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve(state, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test]
async fn every_path_404_405_and_503() {
    let (publisher, state) = ops::channel(None);
    let (addr, _stop) = start(state).await;

    // Before the first report: live, but neither healthy nor ready.
    assert_eq!(request(addr, "GET", "/health/live").await.0, 200);
    let (status, body) = request(addr, "GET", "/health").await;
    assert_eq!(
        (status, json(&body)["status"].as_str()),
        (503, Some("starting"))
    );
    assert_eq!(request(addr, "GET", "/health/ready").await.0, 503);

    let mut world = common::World::new(1, 2);
    publisher.publish(world.monitor.report(world.at(10.0)));
    let (status, body) = request(addr, "GET", "/health").await;
    assert_eq!(status, 200, "{body}");
    let body = json(&body);
    assert_eq!(body["level"], "healthy");
    assert_eq!(body["components"].as_array().map(Vec::len), Some(3));
    assert_eq!(body["readiness"]["ready"], true);
    assert_eq!(request(addr, "GET", "/health/ready").await.0, 200);

    // The connection drops: not ready at once, unhealthy (503) after 5 s.
    world.event(
        0,
        ConnectionEvent::Disconnected(DisconnectCause::Reset),
        10.5,
    );
    publisher.publish(world.monitor.report(world.at(11.0)));
    let (status, body) = request(addr, "GET", "/health/ready").await;
    assert_eq!(status, 503);
    assert_eq!(json(&body)["waiting"], 2);
    assert_eq!(
        request(addr, "GET", "/health").await.0,
        200,
        "degraded still serves 200"
    );
    publisher.publish(world.monitor.report(world.at(16.0)));
    let (status, body) = request(addr, "GET", "/health").await;
    assert_eq!(status, 503);
    let body = json(&body);
    assert_eq!(body["level"], "unhealthy");
    assert_eq!(body["status"], "failing");
    let causes: Vec<_> = body["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["cause"].clone())
        .collect();
    assert!(
        causes.contains(&Value::from("connection_down")),
        "{causes:?}"
    );
    assert!(causes.contains(&Value::from("no_connection")), "{causes:?}");

    // Back: healthy, and the resolved alerts show in /alerts.
    world.event(0, ConnectionEvent::Connected, 17.0);
    world.fed = 17;
    for second in 18..=40u64 {
        world.feed_all(second);
        publisher.publish(world.monitor.report(world.at(second as f64)));
    }
    assert_eq!(request(addr, "GET", "/health").await.0, 200);
    let (status, body) = request(addr, "GET", "/alerts").await;
    assert_eq!(status, 200);
    let body = json(&body);
    assert_eq!(body["active"].as_array().map(Vec::len), Some(0), "{body}");
    let history = body["history"].as_array().expect("history");
    assert!(
        history
            .iter()
            .any(|a| a["cause"] == "connection_down" && a["active"] == false)
    );
    assert!(
        history
            .iter()
            .all(|a| a["first_seen_ms"].as_u64().is_some())
    );

    // Without a Prometheus handle /metrics is absent.
    assert_eq!(request(addr, "GET", "/metrics").await.0, 404);
    // Unknown paths and wrong methods.
    let (status, body) = request(addr, "GET", "/nope").await;
    assert_eq!(status, 404);
    assert_eq!(json(&body)["paths"][0], "/health");
    assert_eq!(request(addr, "GET", "/health/").await.0, 404);
    assert_eq!(request(addr, "POST", "/health").await.0, 405);
    assert_eq!(request(addr, "DELETE", "/alerts").await.0, 405);
    assert_eq!(request(addr, "PUT", "/metrics").await.0, 405);
    assert_eq!(request(addr, "HEAD", "/health/live").await.0, 200);
}

#[test]
fn non_loopback_needs_explicit_exposure() {
    let config = OpsConfig {
        bind: "0.0.0.0:9100".parse().expect("addr"),
        ..OpsConfig::default()
    };
    let err = config.validate().expect_err("refused");
    assert!(err.to_string().contains("not a loopback address"), "{err}");
    let allowed = OpsConfig {
        exposure: Exposure::AnyAddress,
        ..config
    };
    assert_eq!(allowed.validate(), Ok(()));
    let zero = OpsConfig {
        upkeep_interval: Duration::ZERO,
        ..OpsConfig::default()
    };
    assert!(zero.validate().is_err());
    assert!(OpsConfig::default().bind.ip().is_loopback());
}

/// A monitor fed with every kind of input, its metrics in a local recorder.
fn fed_monitor(recorder: &metrics_exporter_prometheus::PrometheusRecorder) -> Monitor {
    metrics::with_local_recorder(recorder, || {
        let t0 = common::t0();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut monitor = Monitor::new(HealthConfig::default(), t0).expect("valid");
        monitor.sync_clock(t0, common::EPOCH);
        monitor.enable_metrics(&MetricsConfig::default());
        let conn = monitor.register_connection("conn-1", t0);
        monitor.on_connection(conn, ConnectionEvent::Connected, t0);
        let stream = monitor.register_stream("btcusdt@aggTrade", conn, None, t0);
        for i in 0..20 {
            monitor.on_message(stream, 180, Some(common::EPOCH + i * 1000 - 25), at(i));
        }
        monitor.on_connection(
            conn,
            ConnectionEvent::Disconnected(DisconnectCause::PolicyViolation),
            at(20),
        );
        monitor.on_connection(conn, ConnectionEvent::Connected, at(22));
        monitor.on_error(ErrorSource::Stream(stream), ErrorClass::Decode, at(22));
        monitor.on_breaker("stream.example:9443", BreakerState::HalfOpen, at(22));
        monitor.on_rest(
            RestStatus {
                used_weight: 120,
                weight_limit: 6000,
                limit: RestLimit::Banned { until: at(100) },
            },
            at(22),
        );
        monitor.on_lag(7, at(22));
        monitor.on_gap(stream, at(22));
        monitor.on_backfill(stream, BackfillOutcome::Recovered, at(23));
        let _ = monitor.evaluate(at(23));
        monitor
    })
}

#[tokio::test]
async fn metrics_renders_every_documented_name() {
    let recorder = ops::prometheus_builder(DEFAULT_PREFIX)
        .expect("buckets")
        .build_recorder();
    let handle = recorder.handle();
    let _monitor = fed_monitor(&recorder);
    let (_publisher, state) = ops::channel(Some(handle));
    let (addr, _stop) = start(state).await;
    let (status, text) = request(addr, "GET", "/metrics").await;
    assert_eq!(status, 200);
    for &(suffix, kind, _, _) in METRICS {
        let name = format!("{DEFAULT_PREFIX}_{suffix}");
        let sample = if kind == "histogram" {
            format!("{name}_bucket")
        } else {
            name.clone()
        };
        assert!(
            text.lines().any(|l| l.starts_with(&sample)),
            "{name} missing from /metrics:\n{text}"
        );
    }
    // Values, bounded labels and explicit buckets.
    assert!(
        text.contains("crypto_exchange_messages_total{stream=\"btcusdt@aggTrade\"} 20"),
        "{text}"
    );
    assert!(text.contains("crypto_exchange_reconnects_total{cause=\"policy_violation\"} 1"));
    assert!(text.contains("crypto_exchange_rest_banned 1"));
    assert!(text.contains("crypto_exchange_breaker_state{breaker=\"stream.example:9443\"} 1"));
    assert!(
        text.contains("crypto_exchange_reconnect_duration_seconds_bucket{le=\"2\"} 1"),
        "{text}"
    );
    assert!(text.contains("crypto_exchange_event_latency_seconds_bucket{le=\"0.025\"}"));
    assert!(text.contains("crypto_exchange_subscriber_lagged_events_total 7"));
    // Every sample line parses as `name{labels} value`.
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (_, value) = line.rsplit_once(' ').expect("name and value");
        assert!(value.parse::<f64>().is_ok(), "bad sample: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_client_cannot_block_the_feed() {
    // 1,000 streams, so /metrics is larger than the socket buffers.
    let recorder = ops::prometheus_builder(DEFAULT_PREFIX)
        .expect("buckets")
        .build_recorder();
    let handle = recorder.handle();
    let t0 = common::t0();
    let (mut monitor, streams) = metrics::with_local_recorder(&recorder, || {
        let mut monitor = Monitor::new(HealthConfig::default(), t0).expect("valid");
        monitor.enable_metrics(&MetricsConfig::default());
        let conn = monitor.register_connection("conn-1", t0);
        monitor.on_connection(conn, ConnectionEvent::Connected, t0);
        let streams: Vec<_> = (0..1000)
            .map(|i| monitor.register_stream(&format!("sym{i}usdt@aggTrade"), conn, None, t0))
            .collect();
        (monitor, streams)
    });
    let (publisher, state) = ops::channel(Some(handle));
    let (addr, _stop) = start(state).await;

    // One client asks for /metrics and never reads; another sends half a request.
    let mut reader_stuck = TcpStream::connect(addr).await.expect("connect");
    reader_stuck
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut half = TcpStream::connect(addr).await.expect("connect");
    half.write_all(b"GET /health HTTP/1.1\r\nHo")
        .await
        .expect("write");

    // The feed keeps going: 200,000 messages and 200 reports.
    let feed = tokio::task::spawn_blocking(move || {
        for round in 0..200u64 {
            for i in 0..1000u64 {
                let at = t0 + Duration::from_millis(round * 10 + i / 100);
                monitor.on_message(streams[i as usize], 100, None, at);
            }
            publisher.publish(monitor.report(t0 + Duration::from_millis(round * 10 + 10)));
        }
        (monitor.totals().messages, publisher)
    });
    let (messages, _publisher) = tokio::time::timeout(Duration::from_secs(30), feed)
        .await
        .expect("the feed finished while clients were stuck")
        .expect("no panic");
    assert_eq!(messages, 200_000);
    // Other clients are still served.
    let (status, body) = request(addr, "GET", "/health/ready").await;
    assert_eq!(status, 200, "{body}");
    drop((reader_stuck, half));
}
