//! What the proxy costs with no fault active, on loopback.
//!
//! - `proxy_round_trip/{direct,proxied}`: a 64-byte write echoed back by a
//!   server; through the proxy each round trip forwards two chunks, so the
//!   added cost per forwarded chunk is (proxied − direct) / 2.
//! - `proxy_bulk/{direct,proxied}`: bytes per second of a server streaming
//!   64 KiB writes as fast as it can.
//! - `proxy_firehose/{direct,proxied}`: the simulator's `aggTrade` firehose
//!   read raw (frame headers walked, not parsed), directly and through the
//!   proxy: events and bytes per second.
//!
//! Run with `cargo bench -p chaos --bench proxy`; figures are recorded in
//! `docs/benchmarks.md`.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use binance_sim::{FirehoseConfig, Sim, SimConfig, SimHandle};
use chaos::{Proxy, ProxyConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

const BULK_BYTES: u64 = 64 * 1024 * 1024;
const FIREHOSE_EVENTS: u64 = 200_000;

fn runtime() -> Runtime {
    match Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => panic!("cannot start tokio: {error}"),
    }
}

fn must<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: {error}"),
    }
}

/// A server that echoes everything, or streams zeros forever.
async fn server(echo: bool) -> SocketAddr {
    let listener = must(TcpListener::bind("127.0.0.1:0").await, "bind");
    let addr = must(listener.local_addr(), "addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.set_nodelay(true);
            tokio::spawn(async move {
                let mut buffer = vec![0_u8; 64 * 1024];
                if echo {
                    while let Ok(n) = socket.read(&mut buffer).await {
                        if n == 0 || socket.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                } else {
                    while socket.write_all(&buffer).await.is_ok() {}
                }
            });
        }
    });
    addr
}

async fn proxy_to(upstream: SocketAddr) -> Proxy {
    must(Proxy::start(ProxyConfig::new(upstream)).await, "proxy")
}

fn round_trip(c: &mut Criterion) {
    let rt = runtime();
    let (echo, proxy) = rt.block_on(async {
        let echo = server(true).await;
        (echo, proxy_to(echo).await)
    });
    let mut group = c.benchmark_group("proxy_round_trip");
    group.measurement_time(Duration::from_secs(5));
    for (name, target) in [("direct", echo), ("proxied", proxy.addr())] {
        let mut socket = rt.block_on(async {
            let socket = must(TcpStream::connect(target).await, "connect");
            must(socket.set_nodelay(true), "nodelay");
            socket
        });
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let message = [7_u8; 64];
                    let mut answer = [0_u8; 64];
                    let started = Instant::now();
                    for _ in 0..iters {
                        must(socket.write_all(&message).await, "write");
                        must(socket.read_exact(&mut answer).await, "read");
                    }
                    started.elapsed()
                })
            });
        });
    }
    group.finish();
    rt.block_on(proxy.shutdown());
}

fn bulk(c: &mut Criterion) {
    let rt = runtime();
    let (source, proxy) = rt.block_on(async {
        let source = server(false).await;
        (source, proxy_to(source).await)
    });
    let mut group = c.benchmark_group("proxy_bulk");
    group.throughput(Throughput::Bytes(BULK_BYTES));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    for (name, target) in [("direct", source), ("proxied", proxy.addr())] {
        let mut socket = rt.block_on(async { must(TcpStream::connect(target).await, "connect") });
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut buffer = vec![0_u8; 256 * 1024];
                    let target = BULK_BYTES * iters;
                    let started = Instant::now();
                    let mut received = 0;
                    while received < target {
                        let n = must(socket.read(&mut buffer).await, "read");
                        assert!(n > 0, "the stream ended");
                        received += n as u64;
                    }
                    started.elapsed()
                })
            });
        });
    }
    group.finish();
    rt.block_on(proxy.shutdown());
}

/// Counts complete server frames in `bytes`, keeping a partial frame's tail in `carry`.
fn count_frames(carry: &mut Vec<u8>, bytes: &[u8]) -> u64 {
    carry.extend_from_slice(bytes);
    let mut at = 0;
    let mut frames = 0;
    while carry.len() - at >= 2 {
        let rest = &carry[at..];
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

fn firehose(c: &mut Criterion) {
    let rt = runtime();
    let (sim, proxy): (SimHandle, Proxy) = rt.block_on(async {
        let config = SimConfig {
            firehose: Some(FirehoseConfig {
                symbol: "BTCUSDT".into(),
            }),
            admin_listen: None,
            ..SimConfig::default()
        };
        let sim = must(Sim::start(config).await, "simulator");
        let proxy = proxy_to(sim.ws_addr()).await;
        (sim, proxy)
    });
    let mut group = c.benchmark_group("proxy_firehose");
    group.throughput(Throughput::Elements(FIREHOSE_EVENTS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    for (name, addr) in [("direct", sim.ws_addr()), ("proxied", proxy.addr())] {
        let url = format!("ws://{addr}/ws/btcusdt@aggTrade");
        let mut bytes_total = 0_u64;
        let mut time_total = Duration::ZERO;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let (mut ws, _) = must(
                        tokio_tungstenite::connect_async(url.as_str()).await,
                        "connect",
                    );
                    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = ws.get_mut() else {
                        panic!("plain TCP expected")
                    };
                    let mut buffer = vec![0_u8; 1 << 20];
                    let mut carry = Vec::new();
                    let target = FIREHOSE_EVENTS * iters;
                    let started = Instant::now();
                    let mut received = 0;
                    while received < target {
                        let n = must(tcp.read(&mut buffer).await, "read");
                        assert!(n > 0, "the firehose ended");
                        bytes_total += n as u64;
                        received += count_frames(&mut carry, &buffer[..n]);
                    }
                    let elapsed = started.elapsed();
                    time_total += elapsed;
                    elapsed
                })
            });
        });
        #[allow(clippy::cast_precision_loss, reason = "a figure for people")]
        let mb_per_sec = bytes_total as f64 / time_total.as_secs_f64() / 1e6;
        println!("proxy_firehose/{name}: {mb_per_sec:.0} MB/s of WebSocket frames");
    }
    group.finish();
    rt.block_on(async {
        proxy.shutdown().await;
        sim.shutdown().await;
    });
}

criterion_group!(benches, round_trip, bulk, firehose);
criterion_main!(benches);
