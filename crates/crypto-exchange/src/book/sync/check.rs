//! The optional self-check of a live book: every `self_check`, a snapshot is
//! fetched and compared with the book at the snapshot's update id.
//!
//! The book moves by whole diffs, so it is seldom at exactly the snapshot's
//! `lastUpdateId` (L): the diff that takes it past L may also carry changes made
//! after L. Levels that diff touched are left out of the comparison; every other
//! level has not changed between L and the book's id, so it must equal the
//! snapshot's. When the diff ends at L exactly, nothing is left out.

use std::time::Instant;

use rust_decimal::Decimal;

use super::BookSync;
use crate::book::event::{BookEvent, ResyncReason};
use crate::book::order_book::{OrderBook, Side};
use crate::domain::rest::DepthSnapshot;
use crate::domain::{DepthUpdate, Level};

/// The self-check of a live book.
#[derive(Debug)]
pub(super) enum Check {
    Off,
    Due {
        at: Instant,
    },
    InFlight {
        request: u64,
    },
    /// A snapshot ahead of the book: compared when the book reaches it.
    Held(DepthSnapshot),
}

/// What the comparison found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Equal; this many levels compared.
    Match(usize),
    /// The first difference.
    Mismatch {
        side: Side,
        price: Decimal,
        local: Option<Decimal>,
        remote: Option<Decimal>,
    },
}

/// Compares `book` with `snapshot` (fetched with `limit` levels per side) over
/// the price range the snapshot covers, leaving out the levels `crossing` touched.
fn compare(
    book: &OrderBook,
    snapshot: &DepthSnapshot,
    limit: usize,
    crossing: Option<&DepthUpdate>,
) -> Verdict {
    let mut compared = 0;
    for (side, remote) in [(Side::Bid, &snapshot.bids), (Side::Ask, &snapshot.asks)] {
        let touched: &[Level] = match (crossing, side) {
            (Some(diff), Side::Bid) => &diff.bids,
            (Some(diff), Side::Ask) => &diff.asks,
            (None, _) => &[],
        };
        let kept = |level: &Level| !touched.iter().any(|t| t.price == level.price);
        // A full snapshot side ends at its worst level; deeper book levels are
        // outside what it can vouch for. A shorter side is the whole side.
        let worst = (remote.len() >= limit)
            .then(|| remote.last().map(|l| l.price))
            .flatten();
        let within = |level: &Level| match (worst, side) {
            (None, _) => true,
            (Some(worst), Side::Bid) => level.price >= worst,
            (Some(worst), Side::Ask) => level.price <= worst,
        };
        let mut local_levels = book.levels(side).take_while(within).filter(kept);
        let mut remote_levels = remote
            .iter()
            .copied()
            .filter(|l| !l.quantity.is_zero())
            .filter(kept);
        loop {
            match (local_levels.next(), remote_levels.next()) {
                (None, None) => break,
                (Some(a), Some(b)) if a == b => compared += 1,
                (a, b) => {
                    let price = better(side, a, b);
                    return Verdict::Mismatch {
                        side,
                        price,
                        local: book.quantity(side, price),
                        remote: remote
                            .iter()
                            .find(|l| l.price == price && !l.quantity.is_zero())
                            .map(|l| l.quantity),
                    };
                }
            }
        }
    }
    Verdict::Match(compared)
}

/// The better-placed price of two levels (at least one is present).
fn better(side: Side, a: Option<Level>, b: Option<Level>) -> Decimal {
    match (a, b) {
        (Some(a), Some(b)) => match side {
            Side::Bid => a.price.max(b.price),
            Side::Ask => a.price.min(b.price),
        },
        (Some(only), None) | (None, Some(only)) => only.price,
        (None, None) => Decimal::ZERO,
    }
}

impl BookSync {
    /// After a live diff: compares with a held snapshot once the book has
    /// reached its update id.
    pub(super) fn after_applied(&mut self, diff: &DepthUpdate, now: Instant) {
        let Check::Held(snapshot) = &self.check else {
            return;
        };
        let target = snapshot.last_update_id;
        let update_id = self.book.update_id();
        if update_id < target {
            return;
        }
        let crossing = (update_id > target).then_some(diff);
        let limit = usize::try_from(self.config.self_check_limit).unwrap_or(usize::MAX);
        let verdict = compare(&self.book, snapshot, limit, crossing);
        self.judge(verdict, target, now);
    }

    /// A self-check snapshot: compared now, held until the book reaches it, or
    /// skipped when the book is already past it.
    pub(super) fn self_check_arrived(&mut self, snapshot: DepthSnapshot, now: Instant) {
        if !self.state.is_live() {
            return;
        }
        let target = snapshot.last_update_id;
        let update_id = self.book.update_id();
        if update_id < target {
            self.check = Check::Held(snapshot);
        } else if update_id == target {
            let limit = usize::try_from(self.config.self_check_limit).unwrap_or(usize::MAX);
            let verdict = compare(&self.book, &snapshot, limit, None);
            self.judge(verdict, target, now);
        } else {
            self.schedule_check(now);
            self.event(|symbol| BookEvent::SelfCheckSkipped {
                symbol,
                snapshot_update_id: target,
                update_id,
            });
        }
    }

    /// Reports a comparison; a difference rebuilds the book.
    fn judge(&mut self, verdict: Verdict, update_id: u64, now: Instant) {
        match verdict {
            Verdict::Match(levels) => {
                self.schedule_check(now);
                self.event(|symbol| BookEvent::SelfChecked {
                    symbol,
                    update_id,
                    levels,
                });
            }
            Verdict::Mismatch {
                side,
                price,
                local,
                remote,
            } => {
                self.event(|symbol| BookEvent::SelfCheckMismatch {
                    symbol,
                    update_id,
                    side,
                    price,
                    local,
                    remote,
                });
                let reason = ResyncReason::SelfCheckMismatch {
                    update_id,
                    side,
                    price,
                };
                self.restart(reason, now);
            }
        }
    }

    /// The next self-check, when one is configured.
    pub(super) fn schedule_check(&mut self, now: Instant) {
        self.check = match self.config.self_check {
            Some(every) => Check::Due { at: now + every },
            None => Check::Off,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::test_util::{diff, snapshot};

    fn book() -> OrderBook {
        OrderBook::from_snapshot(&snapshot(
            10,
            &[("100", "1"), ("99", "2"), ("98", "3")],
            &[("101", "1"), ("102", "2"), ("103", "3")],
        ))
        .unwrap()
    }

    #[test]
    fn equal_books_match_over_the_snapshots_range() {
        let remote = snapshot(10, &[("100", "1"), ("99", "2")], &[("101", "1")]);
        // Both sides are full (at least `limit` levels): the book's levels past
        // the snapshot's worst are not compared.
        assert_eq!(compare(&book(), &remote, 1, None), Verdict::Match(3));
        let full = snapshot(10, &[("100", "1"), ("99", "2"), ("98", "3")], &[]);
        assert!(matches!(
            compare(&book(), &full, 5, None),
            Verdict::Mismatch {
                side: Side::Ask,
                local: Some(_),
                remote: None,
                ..
            }
        ));
    }

    #[test]
    fn a_difference_names_the_best_price_that_differs() {
        let remote = snapshot(
            10,
            &[("100", "1"), ("99", "5"), ("98", "3")],
            &[("101", "1"), ("102", "2"), ("103", "3")],
        );
        assert_eq!(
            compare(&book(), &remote, 1000, None),
            Verdict::Mismatch {
                side: Side::Bid,
                price: "99".parse().unwrap(),
                local: Some("2".parse().unwrap()),
                remote: Some("5".parse().unwrap()),
            }
        );
    }

    #[test]
    fn levels_the_crossing_diff_touched_are_left_out() {
        let remote = snapshot(
            10,
            &[("100", "7"), ("99", "2"), ("98", "3")],
            &[("101", "1"), ("102", "2"), ("103", "3")],
        );
        let crossing = diff(9, 11, &[("100", "1")], &[]);
        assert_eq!(
            compare(&book(), &remote, 1000, Some(&crossing)),
            Verdict::Match(5)
        );
    }
}
