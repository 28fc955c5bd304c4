//! End to end: binance-sim's firehose → one client connection → typed `aggTrade`
//! events → one subscriber.
//!
//! - `pipeline/aggTrade_one_connection` (criterion): events per second delivered
//!   to one [`Subscription`] as [`Update::Event`]. The client's tasks run on a
//!   one-worker tokio runtime (thread `bench-client`: socket reads, WebSocket
//!   framing, decoding, routing, batched delivery), the subscriber on the bench's
//!   main thread, the simulator on its own one-worker runtime (`bench-sim`).
//! - After criterion's samples, fixed runs print one labelled `pipeline-cpu:` line
//!   each on stderr: events per second, CPU time per event (`utime + stime` from
//!   `/proc/self/task/*/stat`, in clock ticks) by thread, heap allocations per
//!   event (whole process), and lag:
//!   1. `split`: the layout above, [`FIXED_RUN`] delivered events;
//!   2. `shared`: the simulator and the client on one multi-thread runtime (two
//!      workers), the subscriber on the main thread, as a `#[tokio::main]`
//!      application would run it;
//!   3. `one-thread`: the client and the subscriber on one current-thread runtime,
//!      the simulator on its own thread; runs until [`FIXED_RUN`] events were
//!      handled (delivered or missed), since the subscriber lags here.
//!
//! A subscriber that falls behind gets `Update::Lagged { missed }`: missed events
//! are counted and reported separately, never as delivered.
//!
//! Run with `cargo bench -p crypto-exchange --bench pipeline` or
//! `cargo xtask bench -- pipeline`; figures are recorded in `docs/benchmarks.md`.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use binance_sim::{FirehoseConfig, Sim, SimConfig, SimHandle};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use crypto_exchange::domain::Event;
use crypto_exchange::{Client, ClientConfig, StreamEvent, Subscription, Update};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio::runtime::{Builder, Runtime};

/// Counts allocations, for the allocations-per-event figure. It costs an atomic
/// increment per allocation, which is nothing if the hot path does not allocate.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Events per criterion iteration.
/// Large, so that the (up to 4096) events buffered when an iteration starts,
/// which the subscriber drains faster than live ones, weigh under 1 %.
const EVENTS_PER_ITER: u64 = 500_000;
/// Events per iteration when run as a test rather than a benchmark.
const SMOKE_EVENTS: u64 = 1_000;
/// Events of each fixed run.
const FIXED_RUN: u64 = 2_000_000;
/// Thread names (as `/proc` shows them: at most 15 bytes).
const SIM_THREAD: &str = "bench-sim";
const CLIENT_THREAD: &str = "bench-client";
const SHARED_THREAD: &str = "bench-shared";

/// The client's endpoint for the simulator's firehose.
///
/// The simulator turns a connection into a firehose when its handshake URL names
/// exactly the firehose stream; the client connects to `<endpoint>/stream` and
/// subscribes with `SUBSCRIBE` frames, which the firehose ignores. So the stream
/// goes into the endpoint's query, and the query ends in `/stream` so that the
/// client keeps the URL as it is instead of appending `/stream` to the query
/// (the simulator ignores the unknown `then` parameter).
fn firehose_endpoint(ws: &str) -> String {
    format!("{ws}/stream?streams=btcusdt@aggTrade&then=/stream")
}

fn sim_config() -> SimConfig {
    SimConfig {
        firehose: Some(FirehoseConfig {
            symbol: "BTCUSDT".into(),
        }),
        admin_listen: None,
        ..SimConfig::default()
    }
}

/// What one subscriber saw.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    delivered: u64,
    missed: u64,
    lag_notices: u64,
    /// `aggTrade` ids that did not follow their predecessor (not counting lags).
    out_of_order: u64,
    last_id: Option<u64>,
}

impl Tally {
    /// Counts one update; panics when the subscription ended.
    fn record(&mut self, update: Option<Update>) {
        match update {
            Some(Update::Event(event)) => {
                self.delivered += 1;
                if let Event::AggTrade(trade) = &event.event {
                    let id = trade.agg_trade_id;
                    if self.last_id.is_some_and(|last| id != last + 1) {
                        self.out_of_order += 1;
                    }
                    self.last_id = Some(id);
                }
                black_box(&event);
            }
            Some(Update::Lagged { missed }) => {
                self.missed += missed;
                self.lag_notices += 1;
                self.last_id = None;
            }
            Some(other) => panic!("unexpected update {other:?}"),
            None => panic!("the subscription ended: the client lost the firehose"),
        }
    }

    /// Receives until `count` more events were delivered.
    async fn deliver(&mut self, subscription: &mut Subscription, count: u64) {
        let goal = self.delivered + count;
        while self.delivered < goal {
            self.record(subscription.next().await);
        }
    }

    /// Receives until `count` more events were delivered or missed.
    async fn handle(&mut self, subscription: &mut Subscription, count: u64) {
        let goal = self.delivered + self.missed + count;
        while self.delivered + self.missed < goal {
            self.record(subscription.next().await);
        }
    }

    fn since(self, before: Tally) -> Tally {
        Tally {
            delivered: self.delivered - before.delivered,
            missed: self.missed - before.missed,
            lag_notices: self.lag_notices - before.lag_notices,
            out_of_order: self.out_of_order - before.out_of_order,
            last_id: self.last_id,
        }
    }
}

/// Skips to the live edge before a timed iteration: while criterion analyses, the
/// client's worker keeps receiving and nobody reads, so the subscriber starts
/// behind. Returns the events missed meanwhile (not part of any measurement).
async fn catch_up(subscription: &mut Subscription, tally: &mut Tally) -> u64 {
    let mut missed = 0;
    loop {
        match subscription.next().await {
            Some(Update::Lagged { missed: m }) => missed += m,
            Some(Update::Event(event)) => {
                tally.last_id = match &event.event {
                    Event::AggTrade(trade) => Some(trade.agg_trade_id),
                    _ => None,
                };
                return missed;
            }
            other => tally.record(other),
        }
    }
}

/// Clock ticks per second of `/proc`'s CPU times (`getconf CLK_TCK`, else 100).
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|&hz| hz > 0)
        .unwrap_or(100)
}

/// `(name, utime + stime)` from a `/proc/…/stat` file.
fn stat_cpu(path: &str) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    // The name is in parentheses and may contain spaces: split at the last `)`.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    // Fields after the name start at field 3 (state); utime and stime are 14 and 15.
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// CPU ticks of the process, of the calling (main) thread, and per thread name.
#[derive(Debug, Clone)]
struct Cpu {
    process: u64,
    main: u64,
    by_name: Vec<(String, u64)>,
}

impl Cpu {
    fn now() -> Cpu {
        let mut by_name: Vec<(String, u64)> = Vec::new();
        let tasks = std::fs::read_dir("/proc/self/task").into_iter().flatten();
        for task in tasks.flatten() {
            if let Some((name, ticks)) = stat_cpu(&format!("{}/stat", task.path().display())) {
                match by_name.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, sum)) => *sum += ticks,
                    None => by_name.push((name, ticks)),
                }
            }
        }
        let ticks = |path: &str| stat_cpu(path).map_or(0, |(_, ticks)| ticks);
        Cpu {
            process: ticks("/proc/self/stat"),
            main: ticks("/proc/thread-self/stat"),
            by_name,
        }
    }

    fn named(&self, name: &str) -> u64 {
        self.by_name
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| t)
            .sum()
    }
}

/// One measured fixed run, for its `pipeline-cpu:` line.
struct Measured {
    tally: Tally,
    wall: Duration,
    before: Cpu,
    after: Cpu,
    allocations: usize,
}

#[allow(clippy::cast_precision_loss, reason = "figures for people")]
impl Measured {
    /// Prints the line; CPU per event is over `delivered + missed` events, since
    /// the client handled the missed ones too.
    fn report(&self, layout: &str, threads: &[(&str, &str)]) {
        let hz = clock_ticks_per_second();
        let t = &self.tally;
        let handled = (t.delivered + t.missed).max(1);
        let seconds = self.wall.as_secs_f64();
        let ns = |ticks: u64| ticks as f64 * 1e9 / hz as f64 / handled as f64;
        let mut cpu = String::new();
        for (label, name) in threads {
            let ticks = if *name == "main" {
                self.after.main - self.before.main
            } else {
                self.after.named(name) - self.before.named(name)
            };
            cpu.push_str(&format!("{label} {:.0}, ", ns(ticks)));
        }
        eprintln!(
            "pipeline-cpu: {layout}: {} events delivered in {seconds:.2} s = {:.3} M events/s; \
             missed (lagged) {} in {} notices = {:.3} M events/s; ids out of order {}; \
             cpu ns/event: {cpu}process {:.0} (CLK_TCK {hz}); heap allocations/event (process) {:.3}",
            t.delivered,
            t.delivered as f64 / seconds / 1e6,
            t.missed,
            t.lag_notices,
            t.missed as f64 / seconds / 1e6,
            t.out_of_order,
            ns(self.after.process - self.before.process),
            self.allocations as f64 / handled as f64,
        );
    }
}

/// Measures `run` for wall time, CPU and allocations.
async fn measure(tally: &mut Tally, run: impl AsyncFnOnce(&mut Tally)) -> Measured {
    let start = *tally;
    let before = Cpu::now();
    let region = Region::new(GLOBAL);
    let started = Instant::now();
    run(tally).await;
    let wall = started.elapsed();
    let allocated = region.change();
    let after = Cpu::now();
    Measured {
        tally: tally.since(start),
        wall,
        before,
        after,
        allocations: allocated.allocations + allocated.reallocations,
    }
}

/// How the simulator, the client and the subscriber share threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Simulator on `bench-sim`, client on `bench-client`, subscriber on main.
    Split,
    /// Simulator and client on two `bench-shared` workers, subscriber on main.
    Shared,
    /// Simulator on `bench-sim`, client and subscriber on main (current-thread).
    OneThread,
}

fn runtime(workers: Option<usize>, name: &str) -> Runtime {
    let built = match workers {
        Some(workers) => Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(name)
            .enable_all()
            .build(),
        None => Builder::new_current_thread().enable_all().build(),
    };
    built.unwrap_or_else(|e| panic!("cannot start a tokio runtime: {e}"))
}

/// A running simulator, client and subscriber.
struct Pipeline {
    /// The simulator's own runtime, unless it shares the client's.
    sim_runtime: Option<Runtime>,
    sim: SimHandle,
    runtime: Runtime,
    client: Client,
    subscription: Subscription,
    tally: Tally,
}

impl Pipeline {
    fn start(layout: Layout) -> Pipeline {
        let (sim_runtime, runtime) = match layout {
            Layout::Split => (
                Some(runtime(Some(1), SIM_THREAD)),
                runtime(Some(1), CLIENT_THREAD),
            ),
            Layout::Shared => (None, runtime(Some(2), SHARED_THREAD)),
            Layout::OneThread => (Some(runtime(Some(1), SIM_THREAD)), runtime(None, "")),
        };
        let sim = sim_runtime
            .as_ref()
            .unwrap_or(&runtime)
            .block_on(Sim::start(sim_config()))
            .unwrap_or_else(|e| panic!("cannot start the simulator: {e}"));
        let (client, subscription, tally) = runtime.block_on(async {
            let config =
                ClientConfig::with_endpoints(firehose_endpoint(&sim.ws_url()), sim.rest_url());
            let client = Client::new(config).unwrap_or_else(|e| panic!("client: {e}"));
            let mut subscription = client
                .subscribe(["btcusdt@aggTrade"])
                .unwrap_or_else(|e| panic!("subscribe: {e}"));
            let mut tally = Tally::default();
            let first =
                tokio::time::timeout(Duration::from_secs(10), tally.deliver(&mut subscription, 1));
            if first.await.is_err() {
                panic!("no event from the firehose within 10 s");
            }
            (client, subscription, tally)
        });
        Pipeline {
            sim_runtime,
            sim,
            runtime,
            client,
            subscription,
            tally,
        }
    }

    /// Catches up with the live edge, then receives `count` events: the wall time
    /// they took, and the events missed before the clock started.
    fn timed(&mut self, count: u64) -> (Duration, u64) {
        let Pipeline {
            runtime,
            subscription,
            tally,
            ..
        } = self;
        runtime.block_on(async {
            let skipped = catch_up(subscription, tally).await;
            let started = Instant::now();
            tally.deliver(subscription, count).await;
            (started.elapsed(), skipped)
        })
    }

    /// A measured run of [`FIXED_RUN`] events (delivered, or handled when the
    /// subscriber is expected to lag), after catching up with the live edge.
    fn fixed_run(&mut self, handled: bool) -> Measured {
        let Pipeline {
            runtime,
            subscription,
            tally,
            ..
        } = self;
        runtime.block_on(async {
            catch_up(subscription, tally).await;
            measure(tally, async |tally| {
                if handled {
                    tally.handle(subscription, FIXED_RUN).await;
                } else {
                    tally.deliver(subscription, FIXED_RUN).await;
                }
            })
            .await
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
        // Dropping the client's runtime ends its tasks and closes the socket at
        // once (a graceful close would wait for the firehose's close frame, which
        // never comes); the firehose then sees the socket fail.
        drop(subscription);
        drop(client);
        match sim_runtime {
            Some(sim_runtime) => {
                runtime.shutdown_timeout(Duration::from_secs(1));
                sim_runtime.block_on(sim.shutdown());
                sim_runtime.shutdown_timeout(Duration::from_secs(1));
            }
            None => {
                runtime.block_on(sim.shutdown());
                runtime.shutdown_timeout(Duration::from_secs(1));
            }
        }
    }
}

/// True under `cargo bench` (not `cargo test --benches` or `--list`), where the
/// fixed runs are worth their seconds.
fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list")
}

fn fixed_runs() {
    let mut split = Pipeline::start(Layout::Split);
    split.fixed_run(false).report(
        "split (client on one worker, subscriber on main, simulator on its own thread)",
        &[
            ("client worker", CLIENT_THREAD),
            ("subscriber (main)", "main"),
            ("simulator", SIM_THREAD),
        ],
    );
    split.stop();

    let mut shared = Pipeline::start(Layout::Shared);
    shared.fixed_run(false).report(
        "shared (simulator and client on one 2-worker runtime, subscriber on main)",
        &[
            ("workers (client + simulator)", SHARED_THREAD),
            ("subscriber (main)", "main"),
        ],
    );
    shared.stop();

    let mut one = Pipeline::start(Layout::OneThread);
    one.fixed_run(true).report(
        "one-thread (client and subscriber on one current-thread runtime, simulator on its own thread)",
        &[("client + subscriber (main)", "main"), ("simulator", SIM_THREAD)],
    );
    one.stop();
}

fn pipeline(c: &mut Criterion) {
    // `cargo test --all-targets` runs each benchmark once, unoptimised, as a smoke
    // test: a few events prove the pipeline works without costing CI seconds.
    let per_iter = if benchmarking() {
        EVENTS_PER_ITER
    } else {
        SMOKE_EVENTS
    };
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(per_iter));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    // Started on first use, so a filter that skips this benchmark starts nothing.
    let mut pipeline: Option<Pipeline> = None;
    let mut skipped = 0;
    group.bench_function("aggTrade_one_connection", |b| {
        let pipeline = pipeline.get_or_insert_with(|| Pipeline::start(Layout::Split));
        b.iter_custom(|iters| {
            let (elapsed, missed) = pipeline.timed(iters * per_iter);
            skipped += missed;
            elapsed
        });
    });
    group.finish();
    let Some(pipeline) = pipeline else {
        return;
    };
    let seen = pipeline.tally;
    eprintln!(
        "pipeline: criterion's timed iterations delivered {} events; lagged while timed: {} missed \
         in {} notices; ids out of order: {}; skipped between iterations (untimed): {skipped}; \
         size_of::<StreamEvent>() = {} bytes (moved through the subscriber's channel)",
        seen.delivered,
        seen.missed,
        seen.lag_notices,
        seen.out_of_order,
        std::mem::size_of::<StreamEvent>()
    );
    pipeline.stop();
    if benchmarking() {
        fixed_runs();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
