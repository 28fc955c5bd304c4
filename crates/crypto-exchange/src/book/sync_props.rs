//! A property test of the whole procedure against an exchange's true book: under
//! any mix of dropped, repeated and malformed diffs, old and new snapshots,
//! failed fetches, lost connections and time, a book that says it is live equals
//! the true book at its update id; and once the stream and REST behave, it gets
//! live again.

use std::time::Duration;

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::config::BookConfig;
use super::event::SnapshotError;
use super::order_book::{OrderBook, Side};
use super::test_util::{Harness, diff};
use crate::domain::rest::DepthSnapshot;
use crate::domain::{DepthUpdate, Level};

/// One true diff: how many update ids it spans, and its (bid?, price, quantity) changes.
type Step = (u64, Vec<(bool, u8, u8)>);

/// Diffs kept back for the final, well-behaved phase.
const TAIL: usize = 12;

#[derive(Debug, Clone)]
enum Op {
    Deliver,
    Drop,
    Duplicate,
    Reversed,
    /// Answer the oldest fetch with the true book this many diffs from now.
    Answer(i8),
    Fail,
    Disconnect,
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Deliver),
        1 => Just(Op::Drop),
        1 => Just(Op::Duplicate),
        1 => Just(Op::Reversed),
        3 => (-3_i8..=3).prop_map(Op::Answer),
        1 => Just(Op::Fail),
        1 => Just(Op::Disconnect),
        2 => (0_u16..3000).prop_map(Op::Advance),
    ]
}

/// The exchange: its diffs and its book after each (index 0: before any).
struct Truth {
    diffs: Vec<DepthUpdate>,
    books: Vec<OrderBook>,
}

impl Truth {
    fn new(steps: &[Step]) -> Self {
        let mut book = OrderBook::new();
        let mut books = vec![book.clone()];
        let mut diffs = Vec::new();
        let mut next = 1;
        for (span, changes) in steps {
            let mut d = diff(next, next + span - 1, &[], &[]);
            for &(bid, p, q) in changes {
                let level = Level::new(Decimal::new(1000 + i64::from(p), 1), Decimal::from(q));
                if bid {
                    d.bids.push(level);
                } else {
                    d.asks.push(level);
                }
            }
            book.apply_diff(&d);
            books.push(book.clone());
            diffs.push(d);
            next += span;
        }
        Truth { diffs, books }
    }

    fn snapshot(&self, index: usize) -> DepthSnapshot {
        let book = &self.books[index.min(self.books.len() - 1)];
        DepthSnapshot {
            last_update_id: book.update_id(),
            bids: book.top(Side::Bid, usize::MAX),
            asks: book.top(Side::Ask, usize::MAX),
        }
    }

    fn book_at(&self, update_id: u64) -> Option<&OrderBook> {
        self.books.iter().find(|b| b.update_id() == update_id)
    }
}

/// The machine and the exchange side of the conversation.
struct World {
    h: Harness,
    truth: Truth,
    /// Diffs the exchange has produced so far.
    pos: usize,
    requests: Vec<u64>,
}

impl World {
    fn collect(&mut self) {
        self.requests.extend(self.h.fetches());
        self.h.events();
    }

    fn deliver(&mut self) {
        if let Some(d) = self.truth.diffs.get(self.pos).cloned() {
            self.h.diff(d);
        }
        self.pos += 1;
    }

    fn answer(&mut self, offset: i8) {
        if self.requests.is_empty() {
            return;
        }
        let request = self.requests.remove(0);
        let index = self.pos.saturating_add_signed(isize::from(offset));
        let snapshot = self.truth.snapshot(index);
        self.h.snapshot(request, snapshot);
    }

    fn step(&mut self, op: &Op) {
        let last_ops_diff = self.truth.diffs.len() - TAIL;
        match op {
            Op::Deliver if self.pos < last_ops_diff => self.deliver(),
            Op::Drop if self.pos < last_ops_diff => self.pos += 1,
            Op::Duplicate if self.pos > 0 => {
                let d = self.truth.diffs[self.pos - 1].clone();
                self.h.diff(d);
            }
            Op::Reversed => {
                let at = u64::try_from(self.pos).unwrap_or(0) * 10 + 5;
                self.h.diff(diff(at, at - 1, &[], &[]));
            }
            Op::Answer(offset) => self.answer(*offset),
            Op::Fail if !self.requests.is_empty() => {
                let request = self.requests.remove(0);
                let error = SnapshotError::Transient {
                    message: "status 502".into(),
                    retry_after: None,
                };
                self.h.fail(request, error);
            }
            Op::Disconnect => self.h.sync.on_disconnected("reset", self.h.now),
            Op::Advance(ms) => self.h.advance(Duration::from_millis(u64::from(*ms))),
            _ => {}
        }
        self.collect();
    }

    /// A live book must be the exchange's book at its update id.
    fn check(&self) -> Result<(), TestCaseError> {
        if let Ok(book) = self.h.sync.book() {
            let truth = self.truth.book_at(book.update_id());
            prop_assert!(
                truth.is_some(),
                "live at {} which is no boundary",
                book.update_id()
            );
            prop_assert_eq!(Some(book), truth);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_live_book_always_equals_the_true_book(
        steps in prop::collection::vec(
            (1_u64..4, prop::collection::vec((any::<bool>(), 0_u8..30, 0_u8..4), 0..8)),
            TAIL + 10..TAIL + 80,
        ),
        ops in prop::collection::vec(op(), 1..250),
    ) {
        let config = BookConfig { buffer_capacity: 16, max_refetches: 3, ..BookConfig::default() };
        let mut world = World { h: Harness::new(config), truth: Truth::new(&steps), pos: 0, requests: Vec::new() };
        world.collect();
        for op in &ops {
            world.step(op);
            world.check()?;
        }
        // The stream and REST behave from now on: every fetch is answered with
        // the current book, and the book gets live.
        for _ in 0..TAIL {
            world.deliver();
            world.collect();
            while !world.requests.is_empty() {
                world.answer(0);
                world.collect();
                world.check()?;
            }
            world.h.advance(Duration::from_secs(60));
            world.collect();
        }
        prop_assert!(world.h.state().is_live(), "not live at the end: {:?}", world.h.state());
        world.check()?;
    }
}
