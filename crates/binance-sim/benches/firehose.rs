//! How fast the simulator pushes `aggTrade` events in firehose mode.
//!
//! - `firehose/render`: rendering frames, no IO.
//! - `firehose/socket_raw`: events received per second by a client that reads the
//!   socket and walks the frame headers itself, so the figure is the simulator's
//!   push rate, not a client library's parse rate.
//! - `firehose/socket_tungstenite`: the same through tokio-tungstenite's reader.
//!
//! Run with `cargo xtask bench -- firehose`; figures are recorded in `docs/benchmarks.md`.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::time::{Duration, Instant};

use binance_sim::decimal::Fixed;
use binance_sim::firehose::Firehose;
use binance_sim::payload::TimeUnit;
use binance_sim::{FirehoseConfig, Sim, SimConfig, SimHandle};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

/// Events per measured iteration.
const EVENTS: u64 = 200_000;

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("firehose");
    group.throughput(Throughput::Elements(4096));
    let mut hose = Firehose::new(
        "BTCUSDT",
        Fixed(6_000_000_000_000),
        Fixed(1_000_000),
        Fixed(1_000),
        1,
        1,
    );
    let mut buffer = Vec::with_capacity(4096 * 256);
    group.bench_function("render", |b| {
        b.iter(|| {
            buffer.clear();
            hose.fill(
                &mut buffer,
                4096,
                1_767_225_600_000,
                TimeUnit::Millisecond,
                false,
            );
            buffer.len()
        });
    });
    group.finish();
}

fn start(runtime: &Runtime) -> SimHandle {
    runtime.block_on(async {
        let config = SimConfig {
            firehose: Some(FirehoseConfig {
                symbol: "BTCUSDT".into(),
            }),
            admin_listen: None,
            ..SimConfig::default()
        };
        match Sim::start(config).await {
            Ok(sim) => sim,
            Err(error) => panic!("cannot start the simulator: {error}"),
        }
    })
}

/// Counts complete server frames in `bytes`, keeping a partial frame's tail in `carry`.
fn count_frames(carry: &mut Vec<u8>, bytes: &[u8]) -> u64 {
    carry.extend_from_slice(bytes);
    let mut at = 0;
    let mut frames = 0;
    loop {
        let rest = &carry[at..];
        if rest.len() < 2 {
            break;
        }
        let (len, header) = match rest[1] & 0x7f {
            126 if rest.len() >= 4 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            126 => break,
            127 => panic!("unexpected 64-bit frame length"),
            n => (usize::from(n), 2),
        };
        if rest.len() < header + len {
            break;
        }
        at += header + len;
        frames += 1;
    }
    carry.drain(..at);
    frames
}

fn socket(c: &mut Criterion) {
    let runtime = match Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => panic!("cannot start tokio: {error}"),
    };
    let sim = start(&runtime);
    let url = format!("{}/ws/btcusdt@aggTrade", sim.ws_url());
    let mut group = c.benchmark_group("firehose");
    group.throughput(Throughput::Elements(EVENTS));
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(20);

    group.bench_function("socket_raw", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let (mut ws, _) = match tokio_tungstenite::connect_async(url.as_str()).await {
                    Ok(ws) => ws,
                    Err(error) => panic!("connect: {error}"),
                };
                let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = ws.get_mut() else {
                    panic!("plain TCP expected")
                };
                let mut buffer = vec![0_u8; 1 << 20];
                let mut carry = Vec::new();
                let target = EVENTS * iters;
                let started = Instant::now();
                let mut received = 0;
                while received < target {
                    let n = match tcp.read(&mut buffer).await {
                        Ok(0) | Err(_) => panic!("the firehose ended"),
                        Ok(n) => n,
                    };
                    received += count_frames(&mut carry, &buffer[..n]);
                }
                started.elapsed()
            })
        });
    });

    group.bench_function("socket_tungstenite", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let (mut ws, _) = match tokio_tungstenite::connect_async(url.as_str()).await {
                    Ok(ws) => ws,
                    Err(error) => panic!("connect: {error}"),
                };
                let target = EVENTS * iters;
                let started = Instant::now();
                let mut received = 0;
                while received < target {
                    match ws.next().await {
                        Some(Ok(Message::Text(_))) => received += 1,
                        Some(Ok(_)) => {}
                        _ => panic!("the firehose ended"),
                    }
                }
                started.elapsed()
            })
        });
    });
    group.finish();
    runtime.block_on(sim.shutdown());
}

criterion_group!(benches, render, socket);
criterion_main!(benches);
