//! How fast a local order book applies `depthUpdate` diffs (issue 6: below
//! 200 ns per level change).
//!
//! The book holds 1000 levels per side (prices with Binance's 8-digit scale).
//! Each diff changes `k` levels; diffs alternate between two shapes so the book
//! keeps its size: the first changes the quantity of the best `k/2` levels of
//! each side and inserts `k/2` levels between them, the second removes the
//! inserted levels and puts the quantities back.
//!
//! - `apply/top_k<k>`: `OrderBook::apply_diff` with `k` changes near the top;
//!   throughput is level changes, so criterion prints changes per second and the
//!   time per diff divided by `k` is the time per change.
//! - `apply/deep_k10`: ten changes deeper down (around levels 3, 202 and 401).
//! - `sync/on_diff_top_k10`: the same diff through `BookSync::on_diff` (a live
//!   machine: the state check and the self-check hook on top of the apply).
//! - `read/top10`, `read/best`: reads of a 1000-level book.
//!
//! Run with `cargo bench -p crypto-exchange --bench book` (add `-- --quick` for a
//! short run).

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use crypto_exchange::book::{Applied, BookConfig, BookSync, OrderBook, Side};
use crypto_exchange::domain::rest::DepthSnapshot;
use crypto_exchange::domain::{Decimal, DepthUpdate, Level, Symbol, Timestamp};

const LEVELS: i64 = 1000;
/// 60000.00000000 in units of 10⁻⁸.
const MID: i64 = 6_000_000_000_000;
/// One tick, 0.01, in units of 10⁻⁸.
const TICK: i64 = 1_000_000;

fn decimal(units: i64) -> Decimal {
    Decimal::new(units, 8)
}

fn level(price: i64, qty: i64) -> Level {
    Level::new(decimal(price), decimal(qty))
}

fn bid_price(i: i64) -> i64 {
    MID - TICK * i
}

fn ask_price(i: i64) -> i64 {
    MID + TICK * (i + 1)
}

fn snapshot() -> DepthSnapshot {
    DepthSnapshot {
        last_update_id: 1,
        bids: (0..LEVELS)
            .map(|i| level(bid_price(i), 100_000_000))
            .collect(),
        asks: (0..LEVELS)
            .map(|i| level(ask_price(i), 100_000_000))
            .collect(),
    }
}

fn symbol() -> Symbol {
    Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}"))
}

fn empty_diff() -> DepthUpdate {
    DepthUpdate {
        event_time: Timestamp::from_millis(1_700_000_000_000),
        symbol: symbol(),
        first_update_id: 0,
        final_update_id: 0,
        bids: Vec::new(),
        asks: Vec::new(),
    }
}

/// The two alternating diffs with `k` changes at the levels `index(n)` of each
/// side: half of them change a quantity, half insert a level half a tick
/// behind it (and the second diff undoes the first).
fn diffs(k: i64, index: impl Fn(i64) -> i64) -> [DepthUpdate; 2] {
    let (mut there, mut back) = (empty_diff(), empty_diff());
    let per_side = (k / 2).max(1);
    for j in 0..per_side {
        let i = index(j / 2);
        let (bid, ask, qty) = if j % 2 == 0 {
            (bid_price(i), ask_price(i), 200_000_000 + j)
        } else {
            (bid_price(i) - TICK / 2, ask_price(i) + TICK / 2, 50_000_000)
        };
        let old = if j % 2 == 0 { 100_000_000 } else { 0 };
        there.bids.push(level(bid, qty));
        there.asks.push(level(ask, qty));
        back.bids.push(level(bid, old));
        back.asks.push(level(ask, old));
    }
    if k == 1 {
        there.asks.clear();
        back.asks.clear();
    }
    [there, back]
}

fn changes(diffs: &[DepthUpdate; 2]) -> u64 {
    (diffs[0].bids.len() + diffs[0].asks.len()) as u64
}

/// Checks once that the diffs apply and undo each other.
fn check(diffs: &[DepthUpdate; 2]) {
    let mut book = OrderBook::from_snapshot(&snapshot()).unwrap_or_else(|e| panic!("{e}"));
    let before = book.top(Side::Bid, usize::MAX);
    for (n, diff) in diffs.iter().enumerate() {
        let mut diff = diff.clone();
        diff.first_update_id = 2 + n as u64;
        diff.final_update_id = 2 + n as u64;
        assert_eq!(book.apply_diff(&diff), Applied::Applied);
    }
    assert_eq!(book.top(Side::Bid, usize::MAX), before);
}

/// A benchmark's name, its `k`, and which level the `n`-th change pair touches.
type Case = (&'static str, i64, fn(i64) -> i64);

fn bench_apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply");
    let cases: [Case; 4] = [
        ("top_k1", 1, |j| j),
        ("top_k10", 10, |j| j),
        ("top_k50", 50, |j| j),
        ("deep_k10", 10, |j| j * 199 + 3),
    ];
    for (name, k, index) in cases {
        let mut diffs = diffs(k, index);
        check(&diffs);
        group.throughput(Throughput::Elements(changes(&diffs)));
        let mut book = OrderBook::from_snapshot(&snapshot()).unwrap_or_else(|e| panic!("{e}"));
        let mut next = 2_u64;
        let mut turn = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                let diff = &mut diffs[turn];
                diff.first_update_id = next;
                diff.final_update_id = next;
                black_box(book.apply_diff(black_box(diff)));
                next += 1;
                turn ^= 1;
            });
        });
    }
    group.finish();
}

fn bench_sync(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync");
    let diffs = diffs(10, |j| j);
    group.throughput(Throughput::Elements(changes(&diffs)));
    let now = Instant::now();
    let mut sync = BookSync::new(symbol(), BookConfig::default(), now);
    let mut first = empty_diff();
    first.first_update_id = 1;
    first.final_update_id = 1;
    sync.on_diff(first, now);
    while sync.poll_action().is_some() {}
    sync.on_snapshot(1, snapshot(), now);
    assert!(sync.state().is_live());
    let mut next = 2_u64;
    let mut turn = 0;
    group.bench_function("on_diff_top_k10", |b| {
        b.iter_batched(
            || {
                let mut diff = diffs[turn].clone();
                diff.first_update_id = next;
                diff.final_update_id = next;
                next += 1;
                turn ^= 1;
                diff
            },
            |diff| sync.on_diff(diff, now),
            BatchSize::SmallInput,
        );
    });
    assert!(sync.state().is_live());
    group.finish();
}

fn bench_read(c: &mut Criterion) {
    let mut group = c.benchmark_group("read");
    let book = OrderBook::from_snapshot(&snapshot()).unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("top10", |b| {
        b.iter(|| black_box(black_box(&book).top(Side::Bid, 10)));
    });
    group.bench_function("best", |b| {
        b.iter(|| black_box((black_box(&book).best_bid(), book.best_ask())));
    });
    group.finish();
}

criterion_group!(benches, bench_apply, bench_sync, bench_read);
criterion_main!(benches);
