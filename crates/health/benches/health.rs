//! Criterion benchmarks: per-message accounting (`Monitor::on_message`),
//! with and without metrics, an evaluation with 1,000 streams, and a
//! `/metrics` render with 1,000 streams. Figures go to docs/benchmarks.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use health::metrics::{DEFAULT_PREFIX, MetricsConfig};
use health::{ConnectionEvent, HealthConfig, Monitor, StreamId};
use metrics_exporter_prometheus::PrometheusRecorder;

const STREAMS: usize = 1000;
const EPOCH: u64 = 1_700_000_000_000;

#[allow(
    clippy::disallowed_methods,
    reason = "benchmarks anchor fake time at one real instant"
)]
fn t0() -> Instant {
    Instant::now()
}

/// A monitor with `STREAMS` streams over 5 connections, all connected.
fn monitor(t0: Instant, metrics: bool) -> (Monitor, Vec<StreamId>) {
    let mut monitor = Monitor::new(HealthConfig::default(), t0).expect("valid");
    monitor.sync_clock(t0, EPOCH);
    if metrics {
        monitor.enable_metrics(&MetricsConfig::default());
    }
    let conns: Vec<_> = (0..5)
        .map(|c| {
            let id = monitor.register_connection(&format!("conn-{c}"), t0);
            monitor.on_connection(id, ConnectionEvent::Connected, t0);
            id
        })
        .collect();
    let streams = (0..STREAMS)
        .map(|i| monitor.register_stream(&format!("sym{i}usdt@aggTrade"), conns[i % 5], None, t0))
        .collect();
    (monitor, streams)
}

/// Feeds `seconds` of one message per stream per 10 ms.
fn feed(monitor: &mut Monitor, streams: &[StreamId], t0: Instant, seconds: u64) {
    for tick in 0..seconds * 100 {
        let now = t0 + Duration::from_millis(tick * 10);
        for &id in streams {
            monitor.on_message(id, 180, Some(EPOCH + tick * 10 - 20), now);
        }
    }
}

fn per_message(
    c: &mut Criterion,
    name: &str,
    monitor: &mut Monitor,
    streams: &[StreamId],
    t0: Instant,
) {
    // 1 µs per message: every stream folds its averages about once a second
    // of simulated time, as in production.
    let step = Duration::from_micros(1);
    let mut now = t0 + Duration::from_secs(2);
    let mut i = 0usize;
    let mut event = EPOCH + 2000;
    c.bench_function(name, |b| {
        b.iter(|| {
            now += step;
            i += 1;
            if i == STREAMS {
                i = 0;
                event += 1;
            }
            monitor.on_message(
                black_box(streams[i]),
                black_box(180),
                black_box(Some(event)),
                now,
            );
        });
    });
}

fn bench_on_message(c: &mut Criterion) {
    let t0 = t0();
    let (mut plain, streams) = monitor(t0, false);
    per_message(c, "on_message/core", &mut plain, &streams, t0);

    let recorder: PrometheusRecorder = health::ops::prometheus_builder(DEFAULT_PREFIX)
        .expect("buckets")
        .build_recorder();
    let (mut mirrored, streams) = metrics::with_local_recorder(&recorder, || monitor(t0, true));
    per_message(c, "on_message/with_metrics", &mut mirrored, &streams, t0);
    black_box(recorder.handle().render().len());
}

fn bench_evaluate_and_render(c: &mut Criterion) {
    let t0 = t0();
    let recorder = health::ops::prometheus_builder(DEFAULT_PREFIX)
        .expect("buckets")
        .build_recorder();
    let handle = recorder.handle();
    let (mut monitor, streams) = metrics::with_local_recorder(&recorder, || monitor(t0, true));
    feed(&mut monitor, &streams, t0, 3);
    let now = t0 + Duration::from_secs(3);
    c.bench_function("report/1000_streams", |b| {
        b.iter(|| black_box(monitor.report(now)));
    });
    handle.run_upkeep();
    let size = handle.render().len();
    println!("/metrics with {STREAMS} streams: {size} bytes");
    c.bench_function("metrics_render/1000_streams", |b| {
        b.iter(|| black_box(handle.render()));
    });
}

criterion_group!(benches, bench_on_message, bench_evaluate_and_render);
criterion_main!(benches);
