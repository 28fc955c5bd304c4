//! Hand-made diffs and snapshots for the unit tests.

use crate::domain::rest::DepthSnapshot;
use crate::domain::{DepthUpdate, Level, Symbol, Timestamp};

/// Levels from `(price, quantity)` strings.
pub(crate) fn levels(pairs: &[(&str, &str)]) -> Vec<Level> {
    pairs
        .iter()
        .map(|(p, q)| Level::new(p.parse().unwrap(), q.parse().unwrap()))
        .collect()
}

/// A `BTCUSDT` diff `U..=u`.
pub(crate) fn diff(
    first: u64,
    last: u64,
    bids: &[(&str, &str)],
    asks: &[(&str, &str)],
) -> DepthUpdate {
    DepthUpdate {
        event_time: Timestamp::from_millis(1_700_000_000_000),
        symbol: symbol(),
        first_update_id: first,
        final_update_id: last,
        bids: levels(bids),
        asks: levels(asks),
    }
}

/// A snapshot at `last_update_id`.
pub(crate) fn snapshot(
    last_update_id: u64,
    bids: &[(&str, &str)],
    asks: &[(&str, &str)],
) -> DepthSnapshot {
    DepthSnapshot {
        last_update_id,
        bids: levels(bids),
        asks: levels(asks),
    }
}

/// `BTCUSDT`.
pub(crate) fn symbol() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}
