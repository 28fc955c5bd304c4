//! [`OrderBook`]'s apply rule with hand-made diffs, and a property test against
//! a reference map.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::order_book::{Applied, Malformed, OrderBook, Side};
use super::test_util::{diff, levels, snapshot};
use crate::domain::Level;

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn book() -> OrderBook {
    OrderBook::from_snapshot(&snapshot(
        100,
        &[("100", "1"), ("99", "2"), ("98", "0")],
        &[("101", "1"), ("102", "2")],
    ))
    .unwrap()
}

#[test]
fn a_snapshot_sets_the_levels_and_the_update_id() {
    let book = book();
    assert_eq!(book.update_id(), 100);
    assert_eq!(book.best_bid(), Some(Level::new(d("100"), d("1"))));
    assert_eq!(book.best_ask(), Some(Level::new(d("101"), d("1"))));
    // A zero quantity in a snapshot is no level.
    assert_eq!(book.depth(Side::Bid), 2);
    assert_eq!(book.top(Side::Bid, 5), levels(&[("100", "1"), ("99", "2")]));
    assert_eq!(book.top(Side::Ask, 1), levels(&[("101", "1")]));
    assert_eq!(book.best(Side::Ask), book.best_ask());
}

#[test]
fn the_apply_rule_follows_protocol_section_5() {
    let mut b = book();
    // u < bookId: stale. u == bookId: already in the book, stale as well.
    assert_eq!(
        b.apply_diff(&diff(90, 99, &[("100", "9")], &[])),
        Applied::Stale
    );
    assert_eq!(
        b.apply_diff(&diff(95, 100, &[("100", "9")], &[])),
        Applied::Stale
    );
    // U > bookId + 1: a gap (the 2025-11-12 rule), book unchanged.
    assert_eq!(
        b.apply_diff(&diff(102, 103, &[("100", "9")], &[])),
        Applied::Gap {
            expected: 101,
            got: 102
        }
    );
    assert_eq!(b, book());
    // U == bookId + 1: contiguous. Quantity 0 removes; removing an absent level is fine.
    assert_eq!(
        b.apply_diff(&diff(
            101,
            101,
            &[("100", "0"), ("97", "0"), ("100.5", "3")],
            &[("101", "4")]
        )),
        Applied::Applied
    );
    assert_eq!(b.update_id(), 101);
    assert_eq!(b.best_bid(), Some(Level::new(d("100.5"), d("3"))));
    assert_eq!(b.quantity(Side::Bid, d("100")), None);
    assert_eq!(b.best_ask(), Some(Level::new(d("101"), d("4"))));
    // U <= bookId < u: overlapping the book, applied (the first diff after a snapshot).
    assert_eq!(
        b.apply_diff(&diff(99, 105, &[], &[("101.5", "1")])),
        Applied::Applied
    );
    assert_eq!(b.update_id(), 105);
    assert_eq!(b.best_ask(), Some(Level::new(d("101"), d("4"))));
}

#[test]
fn prices_compare_by_value_whatever_their_scale() {
    let mut b = book();
    assert_eq!(
        b.apply_diff(&diff(101, 101, &[("100.00000000", "0")], &[])),
        Applied::Applied
    );
    assert_eq!(b.best_bid(), Some(Level::new(d("99"), d("2"))));
}

#[test]
fn malformed_diffs_change_nothing() {
    let mut b = book();
    assert_eq!(
        b.apply_diff(&diff(105, 104, &[("100", "9")], &[])),
        Applied::Malformed(Malformed::Reversed {
            first_update_id: 105,
            final_update_id: 104
        })
    );
    // One bad level refuses the whole diff, even after good ones.
    assert_eq!(
        b.apply_diff(&diff(101, 101, &[("100", "9")], &[("101", "-1")])),
        Applied::Malformed(Malformed::NegativeQuantity {
            side: Side::Ask,
            price: d("101")
        })
    );
    assert_eq!(b, book());
    // A minus zero is zero: it removes.
    assert_eq!(
        b.apply_diff(&diff(101, 101, &[("100", "-0.000")], &[])),
        Applied::Applied
    );
    assert_eq!(b.quantity(Side::Bid, d("100")), None);
    assert!(OrderBook::from_snapshot(&snapshot(1, &[("1", "-2")], &[])).is_err());
    assert!(
        Malformed::Reversed {
            first_update_id: 2,
            final_update_id: 1
        }
        .to_string()
        .contains("below")
    );
}

#[test]
fn clearing_empties_the_book() {
    let mut b = book();
    b.clear();
    assert_eq!(b, OrderBook::new());
    assert_eq!(b.best_bid(), None);
    assert_eq!(b.levels(Side::Ask).size_hint(), (0, Some(0)));
}

/// A change: side, price index, quantity (0 removes).
type Change = (bool, u8, u8);

fn price(index: u8) -> Decimal {
    Decimal::new(6_000_000 + i64::from(index), 2)
}

fn as_levels(changes: &[Change], bid: bool) -> Vec<Level> {
    changes
        .iter()
        .filter(|c| c.0 == bid)
        .map(|&(_, p, q)| Level::new(price(p), Decimal::from(q)))
        .collect()
}

proptest! {
    /// Applying a contiguous sequence equals replaying the changes into a map.
    #[test]
    fn contiguous_diffs_equal_a_replay_into_a_map(
        steps in prop::collection::vec((1_u64..4, prop::collection::vec((any::<bool>(), 0_u8..40, 0_u8..4), 0..12)), 1..60),
    ) {
        let mut book = OrderBook::from_snapshot(&snapshot(10, &[], &[])).unwrap();
        let mut bids: BTreeMap<Decimal, Decimal> = BTreeMap::new();
        let mut asks: BTreeMap<Decimal, Decimal> = BTreeMap::new();
        let mut next = 11;
        for (span, changes) in &steps {
            let mut update = diff(next, next + span - 1, &[], &[]);
            update.bids = as_levels(changes, true);
            update.asks = as_levels(changes, false);
            prop_assert_eq!(book.apply_diff(&update), Applied::Applied);
            for &(bid, p, q) in changes {
                let side = if bid { &mut bids } else { &mut asks };
                if q == 0 { side.remove(&price(p)); } else { side.insert(price(p), Decimal::from(q)); }
            }
            next += span;
        }
        prop_assert_eq!(book.update_id(), next - 1);
        let expect = |m: &BTreeMap<Decimal, Decimal>, rev: bool| -> Vec<Level> {
            let mut v: Vec<Level> = m.iter().map(|(&p, &q)| Level::new(p, q)).collect();
            if rev { v.reverse(); }
            v
        };
        prop_assert_eq!(book.levels(Side::Bid).collect::<Vec<_>>(), expect(&bids, true));
        prop_assert_eq!(book.levels(Side::Ask).collect::<Vec<_>>(), expect(&asks, false));
    }

    /// Any diff at all: never a panic, and a book that refuses a diff is unchanged.
    #[test]
    fn any_diff_is_applied_or_refused_whole(
        diffs in prop::collection::vec((0_u64..30, 0_u64..30, prop::collection::vec((any::<bool>(), 0_u8..10, -2_i8..3), 0..6)), 1..40),
    ) {
        let mut book = OrderBook::from_snapshot(&snapshot(10, &[("60000", "1")], &[("60001", "1")])).unwrap();
        for (first, last, changes) in diffs {
            let before = book.clone();
            let mut update = diff(first, last, &[], &[]);
            for (bid, p, q) in changes {
                let level = Level::new(price(p), Decimal::from(q));
                if bid { update.bids.push(level) } else { update.asks.push(level) }
            }
            match book.apply_diff(&update) {
                Applied::Applied => prop_assert_eq!(book.update_id(), last),
                _ => prop_assert_eq!(&book, &before),
            }
        }
    }
}
