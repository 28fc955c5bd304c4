//! The optional self-check: a live book compared with a snapshot at the same
//! update id.

use std::time::Duration;

use super::config::BookConfig;
use super::event::{BookEvent, BookState, ResyncReason, SnapshotError};
use super::order_book::Side;
use super::test_util::{Harness, diff, snapshot};

/// A live book at update 10 checking itself every 10 s: bids 100 × 1, 99 × 2;
/// asks 101 × 1.
fn live() -> Harness {
    let config = BookConfig {
        self_check: Some(Duration::from_secs(10)),
        ..BookConfig::default()
    };
    let mut h = Harness::new(config);
    h.diff(diff(10, 10, &[], &[]));
    let request = h.fetch();
    h.snapshot(
        request,
        snapshot(10, &[("100", "1"), ("99", "2")], &[("101", "1")]),
    );
    assert_eq!(h.state(), &BookState::Live);
    h.events();
    h
}

#[test]
fn a_check_at_the_books_own_update_id_matches() {
    let mut h = live();
    h.advance(Duration::from_secs(9));
    assert!(h.fetches().is_empty());
    h.advance(Duration::from_secs(1));
    let request = h.fetch();
    h.snapshot(
        request,
        snapshot(10, &[("100", "1"), ("99", "2")], &[("101", "1")]),
    );
    assert!(matches!(
        h.events()[..],
        [BookEvent::SelfChecked {
            update_id: 10,
            levels: 3,
            ..
        }]
    ));
    // And again at the interval.
    h.advance(Duration::from_secs(10));
    assert_eq!(h.fetches().len(), 1);
}

#[test]
fn a_snapshot_ahead_of_the_book_is_compared_when_the_book_gets_there() {
    let mut h = live();
    h.advance(Duration::from_secs(10));
    let request = h.fetch();
    // At 12 the exchange had bid 100 × 5 (changed by update 11) and 99 × 2;
    // update 13, in the same diff as update 12, changed 99.
    h.snapshot(
        request,
        snapshot(12, &[("100", "5"), ("99", "2")], &[("101", "1")]),
    );
    assert!(h.events().is_empty(), "held until the book reaches 12");
    h.diff(diff(11, 11, &[("100", "5")], &[]));
    assert!(h.events().is_empty());
    h.diff(diff(12, 13, &[("99", "3")], &[]));
    // 99 was touched by the diff that crossed 12, so it is left out.
    assert!(matches!(
        h.events()[..],
        [BookEvent::SelfChecked {
            update_id: 12,
            levels: 2,
            ..
        }]
    ));
    assert_eq!(h.state(), &BookState::Live);
}

#[test]
fn a_mismatch_is_reported_and_the_book_rebuilt() {
    let mut h = live();
    h.advance(Duration::from_secs(10));
    let request = h.fetch();
    h.snapshot(
        request,
        snapshot(10, &[("100", "1"), ("99", "7")], &[("101", "1")]),
    );
    let events = h.events();
    let price = "99".parse().unwrap();
    assert_eq!(
        events[0],
        BookEvent::SelfCheckMismatch {
            symbol: h.sync.symbol().clone(),
            update_id: 10,
            side: Side::Bid,
            price,
            local: Some("2".parse().unwrap()),
            remote: Some("7".parse().unwrap()),
        }
    );
    assert_eq!(
        h.state(),
        &BookState::Resyncing {
            reason: ResyncReason::SelfCheckMismatch {
                update_id: 10,
                side: Side::Bid,
                price
            }
        }
    );
}

#[test]
fn a_snapshot_behind_the_book_is_skipped_and_a_failed_check_retried_later() {
    let mut h = live();
    h.advance(Duration::from_secs(10));
    let request = h.fetch();
    h.diff(diff(11, 12, &[], &[]));
    h.snapshot(request, snapshot(11, &[], &[]));
    assert!(matches!(
        h.events()[..],
        [BookEvent::SelfCheckSkipped {
            snapshot_update_id: 11,
            update_id: 12,
            ..
        }]
    ));
    h.advance(Duration::from_secs(10));
    let request = h.fetch();
    h.fail(
        request,
        SnapshotError::Transient {
            message: "status 503".into(),
            retry_after: None,
        },
    );
    assert_eq!(h.state(), &BookState::Live, "a failed check says nothing");
    h.advance(Duration::from_secs(9));
    assert!(h.fetches().is_empty());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.fetches().len(), 1);
}

#[test]
fn a_resync_drops_a_pending_check() {
    let mut h = live();
    h.advance(Duration::from_secs(10));
    let check = h.fetch();
    h.diff(diff(20, 20, &[], &[]));
    let sync = h.fetch();
    // The check's answer no longer counts; the sync's does.
    h.snapshot(check, snapshot(20, &[], &[]));
    assert!(matches!(h.state(), BookState::Resyncing { .. }));
    h.snapshot(sync, snapshot(20, &[], &[]));
    assert_eq!(h.state(), &BookState::Live);
}
