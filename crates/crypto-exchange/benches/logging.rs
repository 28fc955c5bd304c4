//! What logging costs on the per-event path: binance-sim's firehose → one
//! client connection (socket read, WebSocket framing, decode, route, the
//! broadcast) → one subscriber, as in `benches/pipeline.rs` (its `split`
//! layout), under three tracing set-ups:
//!
//! - `off`: no subscriber (`tracing`'s no-op dispatcher);
//! - `warn`: the CLI's default subscriber at its default level: the `fmt`
//!   text formatter behind an `EnvFilter` of `warn` (as `Logs::init` in
//!   `src/cli/logs.rs` builds it), writing to a sink;
//! - `info`: the same at `info` (`RUST_LOG=info`), writing to a sink, so what
//!   is measured is the filtering and formatting, not a terminal.
//!
//! Each set-up gets a fresh simulator, client runtime (one worker, thread
//! `bench-client`) and subscriber (the bench's main thread); the set-up's
//! dispatcher is the default on the client's worker and on the main thread
//! (thread-scoped, so the three can run in one process).
//!
//! Run with `cargo bench -p crypto-exchange --bench logging`; figures are
//! recorded in `docs/benchmarks.md`.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::time::{Duration, Instant};

use binance_sim::{FirehoseConfig, Sim, SimConfig, SimHandle};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use crypto_exchange::{Client, ClientConfig, Subscription, Update};
use tokio::runtime::{Builder, Runtime};
use tracing::Dispatch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;

/// Events per criterion iteration.
const EVENTS_PER_ITER: u64 = 200_000;
/// Events per iteration when run as a test rather than a benchmark.
const SMOKE_EVENTS: u64 = 1_000;

/// The firehose endpoint; see `firehose_endpoint` in `benches/pipeline.rs`.
fn firehose_endpoint(ws: &str) -> String {
    format!("{ws}/stream?streams=btcusdt@aggTrade&then=/stream")
}

/// The CLI's text subscriber (`Logs::init`) at `level`, writing to a sink.
fn cli_subscriber(level: &str) -> Dispatch {
    Dispatch::new(
        tracing_subscriber::registry()
            .with(EnvFilter::new(level))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::io::sink),
            ),
    )
}

/// A running simulator, client and subscriber under one dispatcher.
struct Pipeline {
    sim_runtime: Runtime,
    sim: SimHandle,
    runtime: Runtime,
    client: Client,
    subscription: Subscription,
    dispatch: Dispatch,
}

impl Pipeline {
    fn start(dispatch: &Dispatch) -> Pipeline {
        let sim_runtime = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-sim")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start a tokio runtime: {e}"));
        let for_worker = dispatch.clone();
        let runtime = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-client")
            .on_thread_start(move || {
                // The worker lives as long as the runtime: keep the dispatcher
                // its default for that whole life.
                std::mem::forget(tracing::dispatcher::set_default(&for_worker));
            })
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start a tokio runtime: {e}"));
        let sim = sim_runtime
            .block_on(Sim::start(SimConfig {
                firehose: Some(FirehoseConfig {
                    symbol: "BTCUSDT".into(),
                }),
                admin_listen: None,
                ..SimConfig::default()
            }))
            .unwrap_or_else(|e| panic!("cannot start the simulator: {e}"));
        let (client, subscription) = tracing::dispatcher::with_default(dispatch, || {
            runtime.block_on(async {
                let config =
                    ClientConfig::with_endpoints(firehose_endpoint(&sim.ws_url()), sim.rest_url());
                let client = Client::new(config).unwrap_or_else(|e| panic!("client: {e}"));
                let mut subscription = client
                    .subscribe(["btcusdt@aggTrade"])
                    .unwrap_or_else(|e| panic!("subscribe: {e}"));
                let first =
                    tokio::time::timeout(Duration::from_secs(10), deliver(&mut subscription, 1));
                if first.await.is_err() {
                    panic!("no event from the firehose within 10 s");
                }
                (client, subscription)
            })
        });
        Pipeline {
            sim_runtime,
            sim,
            runtime,
            client,
            subscription,
            dispatch: dispatch.clone(),
        }
    }

    /// Skips to the live edge, then times `count` delivered events.
    fn timed(&mut self, count: u64) -> Duration {
        let Pipeline {
            runtime,
            subscription,
            dispatch,
            ..
        } = self;
        tracing::dispatcher::with_default(dispatch, || {
            runtime.block_on(async {
                catch_up(subscription).await;
                let started = Instant::now();
                deliver(subscription, count).await;
                started.elapsed()
            })
        })
    }

    fn stop(self) {
        let Pipeline {
            sim_runtime,
            sim,
            runtime,
            client,
            subscription,
            ..
        } = self;
        drop(subscription);
        drop(client);
        runtime.shutdown_timeout(Duration::from_secs(1));
        sim_runtime.block_on(sim.shutdown());
        sim_runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// Receives until `count` events were delivered; lag notices do not count.
async fn deliver(subscription: &mut Subscription, count: u64) {
    let mut delivered = 0;
    while delivered < count {
        match subscription.next().await {
            Some(Update::Event(event)) => {
                delivered += 1;
                std::hint::black_box(&event);
            }
            Some(Update::Lagged { .. }) => {}
            Some(other) => panic!("unexpected update {other:?}"),
            None => panic!("the subscription ended: the client lost the firehose"),
        }
    }
}

/// Drains what was buffered while criterion analysed, up to the first live
/// event after a lag notice or an empty buffer.
async fn catch_up(subscription: &mut Subscription) {
    loop {
        match subscription.next().await {
            Some(Update::Lagged { .. }) => {}
            Some(Update::Event(_)) => return,
            Some(other) => panic!("unexpected update {other:?}"),
            None => panic!("the subscription ended: the client lost the firehose"),
        }
    }
}

fn logging(c: &mut Criterion) {
    // `cargo test --benches` runs each benchmark once: keep that short.
    let events = if std::env::args().any(|a| a == "--bench") {
        EVENTS_PER_ITER
    } else {
        SMOKE_EVENTS
    };
    let mut group = c.benchmark_group("logging");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    for (name, dispatch) in [
        ("off", Dispatch::none()),
        ("warn", cli_subscriber("warn")),
        ("info", cli_subscriber("info")),
    ] {
        let mut pipeline = Pipeline::start(&dispatch);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| pipeline.timed(events)).sum::<Duration>());
        });
        pipeline.stop();
    }
    group.finish();
}

criterion_group!(benches, logging);
criterion_main!(benches);
