//! [`BookSync`] with hand-made diffs and snapshots on a fake clock: each rule of
//! the procedure and each kind of bad input.

use std::time::Duration;

use super::config::BookConfig;
use super::event::{BookEvent, BookState, ResyncReason, SnapshotError};
use super::order_book::{Malformed, Side};
use super::test_util::{Harness, diff, snapshot, symbol};

fn transient(message: &str) -> SnapshotError {
    SnapshotError::Transient {
        message: message.into(),
        retry_after: None,
    }
}

/// A live book at update 101: bid 100 × 2, ask 101 × 1.
fn live() -> Harness {
    let mut h = Harness::new(BookConfig::default());
    h.diff(diff(98, 101, &[("100", "2")], &[]));
    let request = h.fetch();
    h.snapshot(request, snapshot(99, &[("100", "1")], &[("101", "1")]));
    assert_eq!(h.state(), &BookState::Live);
    assert_eq!(
        h.events(),
        [BookEvent::Synced {
            symbol: symbol(),
            update_id: 101
        }]
    );
    h
}

#[test]
fn the_first_diff_asks_for_a_snapshot_and_buffered_diffs_are_replayed() {
    let mut h = Harness::new(BookConfig::default());
    assert_eq!(h.state(), &BookState::Syncing);
    assert!(h.sync.book().is_err(), "no levels while syncing");
    h.diff(diff(10, 12, &[("1", "1")], &[]));
    let request = h.fetch();
    h.diff(diff(13, 15, &[("2", "1")], &[]));
    h.diff(diff(16, 16, &[("3", "1")], &[]));
    assert!(h.fetches().is_empty(), "one snapshot at a time");
    assert_eq!(h.sync.buffered(), 3);
    // The snapshot is at 14: the first diff is dropped, the second overlaps it.
    h.snapshot(request, snapshot(14, &[("0.5", "1")], &[]));
    let book = h.sync.book().unwrap();
    assert_eq!(book.update_id(), 16);
    assert_eq!(book.depth(Side::Bid), 3);
    assert_eq!(book.quantity(Side::Bid, "1".parse().unwrap()), None);
    assert_eq!(h.sync.buffered(), 0);
}

#[test]
fn a_snapshot_older_than_the_first_diff_is_fetched_again_after_a_backoff() {
    let mut h = Harness::new(BookConfig::default());
    h.diff(diff(10, 12, &[], &[]));
    let request = h.fetch();
    // lastUpdateId 8: 8 + 1 < 10, too old.
    h.snapshot(request, snapshot(8, &[], &[]));
    assert!(matches!(
        h.events()[..],
        [BookEvent::SnapshotTooOld { last_update_id: 8, first_update_id: 10, attempt: 1, retry_in, .. }]
            if retry_in == Duration::from_millis(250)
    ));
    assert!(h.fetches().is_empty(), "not at once");
    h.advance(Duration::from_millis(249));
    assert!(h.fetches().is_empty());
    h.advance(Duration::from_millis(1));
    let request = h.fetch();
    // lastUpdateId 9 = U - 1: the book continues exactly into the first diff.
    h.snapshot(request, snapshot(9, &[], &[]));
    assert_eq!(h.sync.book().unwrap().update_id(), 12);
}

#[test]
fn too_old_snapshots_are_bounded_and_never_spin() {
    let config = BookConfig {
        max_refetches: 3,
        ..BookConfig::default()
    };
    let mut h = Harness::new(config);
    h.diff(diff(1000, 1000, &[], &[]));
    let mut fetched_at = Vec::new();
    for _ in 0..8 {
        let request = h.fetch();
        fetched_at.push(h.now);
        h.snapshot(request, snapshot(5, &[], &[]));
        h.diff(diff(1001, 1001, &[], &[]));
        h.advance(Duration::from_secs(60));
    }
    // Snapshots never come faster than the backoff allows.
    let gaps: Vec<Duration> = fetched_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(250)),
        "{gaps:?}"
    );
    let events = h.events();
    let restarts = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                BookEvent::Resyncing {
                    reason: ResyncReason::SnapshotsTooOld { attempts: 3 },
                    ..
                }
            )
        })
        .count();
    assert!(
        restarts >= 2,
        "the buffer is dropped every 3 attempts: {events:?}"
    );
    assert!(matches!(h.state(), BookState::Resyncing { .. }));
}

#[test]
fn a_gap_rebuilds_from_the_diff_after_it() {
    let mut h = live();
    h.diff(diff(102, 103, &[("100", "5")], &[]));
    assert_eq!(h.sync.book().unwrap().update_id(), 103);
    h.diff(diff(106, 107, &[("100", "7")], &[]));
    let reason = ResyncReason::Gap {
        expected: 104,
        got: 106,
    };
    assert_eq!(
        h.state(),
        &BookState::Resyncing {
            reason: reason.clone()
        }
    );
    let err = h.sync.book().unwrap_err();
    assert!(err.to_string().contains("gap"), "{err}");
    assert_eq!(
        h.sync.buffered(),
        1,
        "the diff after the gap starts the new buffer"
    );
    let request = h.fetch();
    h.snapshot(request, snapshot(106, &[("100", "6")], &[]));
    let book = h.sync.book().unwrap();
    assert_eq!(book.update_id(), 107);
    assert_eq!(
        book.quantity(Side::Bid, "100".parse().unwrap()),
        Some("7".parse().unwrap())
    );
    assert_eq!(
        h.events(),
        [
            BookEvent::Resyncing {
                symbol: symbol(),
                reason: reason.clone()
            },
            BookEvent::Resynced {
                symbol: symbol(),
                reason,
                update_id: 107
            }
        ]
    );
}

#[test]
fn a_gap_inside_the_buffer_starts_over_from_the_diff_after_it() {
    let mut h = Harness::new(BookConfig::default());
    h.diff(diff(10, 11, &[], &[]));
    let request = h.fetch();
    h.diff(diff(14, 15, &[], &[]));
    h.diff(diff(16, 16, &[], &[]));
    h.snapshot(request, snapshot(11, &[], &[]));
    assert!(matches!(
        h.state(),
        BookState::Resyncing {
            reason: ResyncReason::Gap {
                expected: 12,
                got: 14
            }
        }
    ));
    assert_eq!(h.sync.buffered(), 2);
    let request = h.fetch();
    h.snapshot(request, snapshot(15, &[], &[]));
    assert_eq!(h.sync.book().unwrap().update_id(), 16);
}

#[test]
fn duplicates_and_stale_diffs_are_ignored_with_an_event() {
    let mut h = live();
    let d = diff(102, 103, &[("100", "5")], &[]);
    h.diff(d.clone());
    h.diff(d);
    h.diff(diff(50, 60, &[("100", "9")], &[]));
    assert_eq!(h.state(), &BookState::Live);
    let book = h.sync.book().unwrap();
    assert_eq!(
        book.quantity(Side::Bid, "100".parse().unwrap()),
        Some("5".parse().unwrap())
    );
    let events = h.events();
    assert_eq!(events.len(), 2);
    assert!(matches!(
        events[0],
        BookEvent::StaleDiff {
            first_update_id: 102,
            final_update_id: 103,
            update_id: 103,
            ..
        }
    ));
    assert!(h.fetches().is_empty(), "no resync");
}

#[test]
fn a_diff_with_u_below_first_u_resyncs_with_its_reason() {
    let mut h = live();
    h.diff(diff(105, 102, &[("100", "5")], &[]));
    let problem = Malformed::Reversed {
        first_update_id: 105,
        final_update_id: 102,
    };
    assert_eq!(
        h.state(),
        &BookState::Resyncing {
            reason: ResyncReason::Malformed(problem)
        }
    );
    assert_eq!(h.sync.buffered(), 0, "the bad diff is not kept");
    // While syncing, a malformed diff drops the buffer as well.
    h.diff(diff(110, 111, &[], &[]));
    let request = h.fetch();
    h.diff(diff(113, 112, &[], &[]));
    assert_eq!(h.sync.buffered(), 0);
    // The awaited snapshot stays useful: it is held for the next first diff.
    h.snapshot(request, snapshot(113, &[], &[]));
    h.diff(diff(114, 114, &[], &[]));
    assert_eq!(h.sync.book().unwrap().update_id(), 114);
    assert!(h.fetches().is_empty());
}

#[test]
fn a_negative_quantity_resyncs() {
    let mut h = live();
    h.diff(diff(102, 102, &[("100", "-1")], &[]));
    assert!(matches!(
        h.state(),
        BookState::Resyncing {
            reason: ResyncReason::Malformed(Malformed::NegativeQuantity { .. })
        }
    ));
}

#[test]
fn the_buffer_is_bounded() {
    let config = BookConfig {
        buffer_capacity: 3,
        ..BookConfig::default()
    };
    let mut h = Harness::new(config);
    for i in 0..3 {
        h.diff(diff(10 + i, 10 + i, &[], &[]));
    }
    let request = h.fetch();
    h.diff(diff(13, 13, &[], &[]));
    assert_eq!(
        h.state(),
        &BookState::Resyncing {
            reason: ResyncReason::BufferOverflow { capacity: 3 }
        }
    );
    assert_eq!(h.sync.buffered(), 1);
    assert!(
        h.fetches().is_empty(),
        "the snapshot in flight is still awaited"
    );
    h.snapshot(request, snapshot(13, &[], &[]));
    assert_eq!(h.sync.book().unwrap().update_id(), 13);
}

#[test]
fn an_unknown_symbol_is_found_without_a_diff_and_never_fetched_again() {
    let mut h = Harness::new(BookConfig::default());
    assert!(h.fetches().is_empty());
    h.advance(Duration::from_secs(5));
    let request = h.fetch();
    let message = "Invalid symbol. (code -1121)".to_owned();
    h.fail(
        request,
        SnapshotError::UnknownSymbol {
            message: message.clone(),
        },
    );
    assert_eq!(
        h.state(),
        &BookState::Unavailable {
            reason: message.clone()
        }
    );
    assert_eq!(
        h.events(),
        [BookEvent::Unavailable {
            symbol: symbol(),
            reason: message
        }]
    );
    // Nothing more: no timer, no fetch, whatever arrives.
    for i in 0..100 {
        h.diff(diff(i * 2 + 1, i * 2 + 1, &[], &[]));
        h.sync.on_disconnected("reset", h.now);
        h.advance(Duration::from_secs(60));
    }
    assert!(h.fetches().is_empty());
    assert_eq!(h.sync.poll_timeout(), None);
    assert!(h.events().is_empty());
    // Until someone asks.
    h.sync.resync(h.now);
    h.diff(diff(500, 500, &[], &[]));
    assert_eq!(h.fetches().len(), 1);
}

#[test]
fn a_symbol_removed_while_live_is_found_by_the_self_check() {
    let config = BookConfig {
        self_check: Some(Duration::from_secs(10)),
        ..BookConfig::default()
    };
    let mut h = Harness::new(config);
    h.diff(diff(5, 5, &[], &[]));
    let request = h.fetch();
    h.snapshot(request, snapshot(5, &[], &[]));
    h.advance(Duration::from_secs(10));
    let request = h.fetch();
    h.fail(
        request,
        SnapshotError::UnknownSymbol {
            message: "Invalid symbol.".into(),
        },
    );
    assert!(matches!(h.state(), BookState::Unavailable { .. }));
}

#[test]
fn transient_failures_back_off_and_honour_retry_after() {
    let mut h = Harness::new(BookConfig::default());
    h.diff(diff(10, 10, &[], &[]));
    let mut retries = Vec::new();
    for _ in 0..4 {
        let request = h.fetch();
        h.fail(request, transient("status 502"));
        let Some(BookEvent::SnapshotFailed {
            retry_in, error, ..
        }) = h.events().pop()
        else {
            panic!("no failure event");
        };
        assert_eq!(error, "status 502");
        retries.push(retry_in.as_millis());
        h.advance(retry_in);
    }
    assert_eq!(retries, [250, 500, 1000, 2000]);
    let request = h.fetch();
    h.fail(
        request,
        SnapshotError::Transient {
            message: "banned".into(),
            retry_after: Some(Duration::from_secs(120)),
        },
    );
    h.advance(Duration::from_secs(119));
    assert!(h.fetches().is_empty(), "not before retry_after");
    h.advance(Duration::from_secs(1));
    let request = h.fetch();
    h.snapshot(request, snapshot(10, &[], &[]));
    assert_eq!(h.state(), &BookState::Live);
}

#[test]
fn answers_to_abandoned_requests_are_ignored() {
    let mut h = Harness::new(BookConfig::default());
    h.diff(diff(10, 10, &[], &[]));
    let old = h.fetch();
    h.fail(old, transient("timeout"));
    h.advance(Duration::from_secs(1));
    let new = h.fetch();
    h.snapshot(old, snapshot(10, &[], &[]));
    h.fail(
        old,
        SnapshotError::UnknownSymbol {
            message: "late".into(),
        },
    );
    h.snapshot(999, snapshot(10, &[], &[]));
    assert_eq!(h.state(), &BookState::Syncing);
    h.snapshot(new, snapshot(10, &[], &[]));
    assert_eq!(h.state(), &BookState::Live);
}

#[test]
fn a_lost_connection_rebuilds_a_live_book_once() {
    let mut h = live();
    h.sync
        .on_disconnected("connection 1 disconnected (reset)", h.now);
    assert!(matches!(
        h.state(),
        BookState::Resyncing { reason: ResyncReason::Disconnected { detail } } if detail.contains("reset")
    ));
    assert_eq!(h.events().len(), 1);
    // Further signals of the same outage (failed attempts) change nothing.
    h.sync
        .on_disconnected("connection 1 disconnected (refused)", h.now);
    assert!(h.events().is_empty());
    assert!(
        h.fetches().is_empty(),
        "no snapshot before the stream is back"
    );
    h.diff(diff(150, 152, &[], &[]));
    let request = h.fetch();
    h.snapshot(request, snapshot(151, &[], &[]));
    assert!(matches!(
        h.events()[..],
        [BookEvent::Resynced {
            reason: ResyncReason::Disconnected { .. },
            update_id: 152,
            ..
        }]
    ));
}

#[test]
fn a_probe_snapshot_is_held_for_the_first_diff() {
    let mut h = Harness::new(BookConfig::default());
    h.advance(Duration::from_secs(5));
    let request = h.fetch();
    h.snapshot(request, snapshot(20, &[("1", "1")], &[]));
    assert_eq!(h.state(), &BookState::Syncing, "not live without a diff");
    // The first diff continues it: live without another snapshot.
    h.diff(diff(21, 22, &[("2", "1")], &[]));
    assert_eq!(h.sync.book().unwrap().depth(Side::Bid), 2);
    assert!(h.fetches().is_empty());

    // A first diff that does not continue the held snapshot: fetched again.
    let mut h = Harness::new(BookConfig::default());
    h.advance(Duration::from_secs(5));
    let request = h.fetch();
    h.snapshot(request, snapshot(20, &[], &[]));
    h.diff(diff(30, 31, &[], &[]));
    assert!(matches!(h.events()[..], [BookEvent::SnapshotTooOld { .. }]));
    h.advance(Duration::from_secs(1));
    let request = h.fetch();
    h.snapshot(request, snapshot(31, &[], &[]));
    assert_eq!(h.sync.book().unwrap().update_id(), 31);
}
