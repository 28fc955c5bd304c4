//! Exactly-once fills: which fills were delivered, and where a reconcile starts.
//!
//! Sans-IO. Per symbol the ledger keeps a *cursor*, a trade id such that every
//! fill of the account with an id up to it has been delivered, and the ids above
//! the cursor delivered while out of sync. A fill `(symbol, trade id)` is
//! delivered only if it is above the cursor and not among those ids, whichever
//! way it arrives (live or reconciled).
//!
//! - In sync (subscribed, last reconcile done), live fills arrive in trade-id
//!   order per symbol, so each one moves the cursor.
//! - After a disconnect the ledger is out of sync: live fills are remembered but
//!   leave the cursor where it was, and the next reconcile fetches every trade
//!   from `cursor + 1` (or, for a symbol with no cursor yet, since the user was
//!   added), delivers the ones not seen, and moves the cursor past everything.

use std::collections::{BTreeMap, BTreeSet};

use super::events::AccountTrade;

/// Where a reconcile fetches a symbol's trades from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum From {
    /// Every trade with an id at least this one.
    Id(u64),
    /// Every trade at or after this time (ms): a symbol without a cursor yet.
    Time(u64),
}

#[derive(Debug, Clone, Default)]
struct Cursor {
    /// Every fill with an id up to this one has been delivered.
    upto: Option<u64>,
    /// Fills above `upto` delivered while out of sync.
    seen: BTreeSet<u64>,
}

/// The delivered fills of one user.
#[derive(Debug, Clone)]
pub(crate) struct FillLedger {
    symbols: BTreeMap<String, Cursor>,
    in_sync: bool,
    /// Fills before this time (ms) are history, never delivered.
    since_ms: u64,
    /// The `updateTime` of the last account snapshot a reconcile delivered.
    snapshot_time: u64,
    duplicates: u64,
}

impl FillLedger {
    /// A ledger for `symbols`, delivering fills from `since_ms` on.
    pub(crate) fn new(symbols: &[String], since_ms: u64) -> Self {
        FillLedger {
            symbols: symbols
                .iter()
                .map(|s| (s.to_ascii_uppercase(), Cursor::default()))
                .collect(),
            in_sync: false,
            since_ms,
            snapshot_time: 0,
            duplicates: 0,
        }
    }

    /// The connection or the subscription is gone: fills may be missed until the
    /// next reconcile.
    pub(crate) fn out_of_sync(&mut self) {
        self.in_sync = false;
    }

    /// Fills before this time (ms) are history.
    pub(crate) fn since_ms(&self) -> u64 {
        self.since_ms
    }

    /// Duplicates removed so far.
    pub(crate) fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// A live fill: true when it is new and must be delivered.
    pub(crate) fn live(&mut self, symbol: &str, trade_id: u64) -> bool {
        let in_sync = self.in_sync;
        let cursor = self.symbols.entry(symbol.to_owned()).or_default();
        if cursor.upto.is_some_and(|upto| trade_id <= upto) || cursor.seen.contains(&trade_id) {
            self.duplicates += 1;
            return false;
        }
        if in_sync {
            cursor.upto = Some(cursor.upto.map_or(trade_id, |u| u.max(trade_id)));
            let upto = cursor.upto.unwrap_or(trade_id);
            cursor.seen.retain(|id| *id > upto);
        } else {
            cursor.seen.insert(trade_id);
        }
        true
    }

    /// Learns symbols (from open orders) so later reconciles cover them.
    pub(crate) fn watch(&mut self, symbol: &str) {
        self.symbols.entry(symbol.to_owned()).or_default();
    }

    /// Stops reconciling a symbol (one the exchange does not list).
    pub(crate) fn forget(&mut self, symbol: &str) {
        self.symbols.remove(symbol);
    }

    /// What a reconcile must fetch, per symbol.
    pub(crate) fn plan(&self) -> Vec<(String, From)> {
        self.symbols
            .iter()
            .map(|(symbol, cursor)| {
                let from = match cursor.upto {
                    Some(upto) => From::Id(upto.saturating_add(1)),
                    None => From::Time(self.since_ms),
                };
                (symbol.clone(), from)
            })
            .collect()
    }

    /// The trades a reconcile fetched for `symbol` (everything from the plan's
    /// start, at the time of the fetch): returns the ones to deliver, oldest first.
    pub(crate) fn reconciled(
        &mut self,
        symbol: &str,
        mut rows: Vec<AccountTrade>,
    ) -> Vec<AccountTrade> {
        rows.sort_by_key(|t| t.id);
        rows.dedup_by_key(|t| t.id);
        let since = self.since_ms;
        let cursor = self.symbols.entry(symbol.to_owned()).or_default();
        let mut fresh = Vec::new();
        for row in rows {
            // Without a cursor, the fetch went by time: older fills are history.
            let old = match cursor.upto {
                Some(upto) => row.id <= upto,
                None => row.time < since,
            };
            let top = cursor.upto.map_or(row.id, |u| u.max(row.id));
            if !old && !cursor.seen.contains(&row.id) {
                fresh.push(row);
            } else if !old {
                self.duplicates += 1;
            }
            cursor.upto = Some(top);
        }
        fresh
    }

    /// The reconcile is complete: everything up to now has been delivered, and
    /// from here on live fills are all there is.
    pub(crate) fn finish(&mut self) {
        for cursor in self.symbols.values_mut() {
            if let Some(&last) = cursor.seen.last() {
                cursor.upto = Some(cursor.upto.map_or(last, |u| u.max(last)));
            }
            cursor.seen.clear();
        }
        self.in_sync = true;
    }

    /// Remembers the time of a delivered account snapshot.
    pub(crate) fn snapshot_at(&mut self, update_time: u64) {
        self.snapshot_time = self.snapshot_time.max(update_time);
    }

    /// True when a live `outboundAccountPosition` of `update_time` is older than
    /// the last snapshot delivered (it was in flight while the snapshot was taken).
    pub(crate) fn is_stale_position(&self, update_time: u64) -> bool {
        update_time < self.snapshot_time
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rust_decimal::Decimal;

    use super::*;

    fn trade(id: u64, time: u64) -> AccountTrade {
        AccountTrade {
            symbol: "BTCUSDT".into(),
            id,
            order_id: 1,
            price: Decimal::ONE,
            qty: Decimal::ONE,
            quote_qty: Decimal::ONE,
            commission: Decimal::ZERO,
            commission_asset: "BTC".into(),
            time,
            is_buyer: true,
            is_maker: false,
            extra: serde_json::Map::new(),
        }
    }

    fn ids(rows: &[AccountTrade]) -> Vec<u64> {
        rows.iter().map(|t| t.id).collect()
    }

    #[test]
    fn every_fill_is_delivered_once_across_a_gap() {
        let mut ledger = FillLedger::new(&["btcusdt".into()], 1_000);
        assert_eq!(ledger.plan(), [("BTCUSDT".into(), From::Time(1_000))]);
        // First reconcile: one fill before the user was added (history), one after.
        let fresh = ledger.reconciled("BTCUSDT", vec![trade(5, 900), trade(6, 1_100)]);
        assert_eq!(ids(&fresh), [6]);
        ledger.finish();
        // In sync: live fills move the cursor; a repeat is a duplicate.
        assert!(ledger.live("BTCUSDT", 7));
        assert!(!ledger.live("BTCUSDT", 7));
        // Disconnected: 8 and 9 happen unseen; after the reconnect 10 arrives live
        // before the reconcile, which then returns 8, 9, 10.
        ledger.out_of_sync();
        assert!(ledger.live("BTCUSDT", 10));
        assert_eq!(ledger.plan(), [("BTCUSDT".into(), From::Id(8))]);
        let fresh = ledger.reconciled(
            "BTCUSDT",
            vec![trade(8, 2_000), trade(9, 2_000), trade(10, 2_000)],
        );
        assert_eq!(ids(&fresh), [8, 9]);
        ledger.finish();
        // 11 arrived live during the reconcile's fetch, after the rows were read.
        assert!(!ledger.live("BTCUSDT", 10));
        assert!(ledger.live("BTCUSDT", 11));
        assert_eq!(ledger.plan(), [("BTCUSDT".into(), From::Id(12))]);
        assert_eq!(ledger.duplicates(), 3);
    }

    #[test]
    fn a_failed_reconcile_leaves_the_cursor_for_the_next() {
        let mut ledger = FillLedger::new(&["BTCUSDT".into()], 0);
        ledger.reconciled("BTCUSDT", vec![trade(1, 1)]);
        ledger.finish();
        ledger.out_of_sync();
        // Live 5 while out of sync; the reconcile fails (never applied); reconnect.
        assert!(ledger.live("BTCUSDT", 5));
        ledger.out_of_sync();
        assert_eq!(ledger.plan(), [("BTCUSDT".into(), From::Id(2))]);
        let fresh = ledger.reconciled("BTCUSDT", (2..=6).map(|id| trade(id, 1)).collect());
        assert_eq!(ids(&fresh), [2, 3, 4, 6]);
    }

    #[derive(Debug, Clone, Copy)]
    enum Step {
        /// The account trades: the next fill happens (live only while subscribed).
        Fill,
        /// The connection drops.
        Disconnect,
        /// Connected and subscribed again: live fills flow, a reconcile is due.
        Subscribe,
        /// The reconcile's REST fetch reads every trade so far.
        Fetch,
        /// The fetched rows are applied (live fills may have come in between).
        Apply,
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            6 => Just(Step::Fill),
            1 => Just(Step::Disconnect),
            1 => Just(Step::Subscribe),
            1 => Just(Step::Fetch),
            1 => Just(Step::Apply),
        ]
    }

    proptest::proptest! {
        /// Whatever the interleaving of fills, disconnects, subscriptions and
        /// reconciles, every fill is delivered exactly once once a last reconcile
        /// has run. (Checked to fail when live fills move the cursor while out of
        /// sync.)
        #[test]
        fn every_fill_exactly_once_for_any_interleaving(steps in proptest::collection::vec(step(), 0..200)) {
            let mut ledger = FillLedger::new(&["BTCUSDT".into()], 0);
            let mut made: u64 = 0;
            let mut delivered: BTreeMap<u64, u32> = BTreeMap::new();
            let mut subscribed = false;
            let mut due = false;
            let mut fetched: Option<Vec<AccountTrade>> = None;
            let all = |made: u64, from: From| -> Vec<AccountTrade> {
                (1..=made)
                    .filter(|id| match from { From::Id(start) => *id >= start, From::Time(t) => *id >= t })
                    .map(|id| trade(id, id))
                    .collect()
            };
            let steps = steps.into_iter().chain([Step::Disconnect, Step::Subscribe, Step::Fetch, Step::Apply]);
            for step in steps {
                match step {
                    Step::Fill => {
                        made += 1;
                        if subscribed && ledger.live("BTCUSDT", made) {
                            *delivered.entry(made).or_default() += 1;
                        }
                    }
                    Step::Disconnect => {
                        subscribed = false;
                        due = false;
                        fetched = None;
                        ledger.out_of_sync();
                    }
                    Step::Subscribe if !subscribed => {
                        subscribed = true;
                        due = true;
                    }
                    Step::Fetch if due && fetched.is_none() => {
                        let plan = ledger.plan();
                        fetched = Some(all(made, plan[0].1));
                    }
                    Step::Apply => {
                        if let Some(rows) = fetched.take() {
                            for row in ledger.reconciled("BTCUSDT", rows) {
                                *delivered.entry(row.id).or_default() += 1;
                            }
                            ledger.finish();
                            due = false;
                        }
                    }
                    _ => {}
                }
            }
            let expected: BTreeMap<u64, u32> = (1..=made).map(|id| (id, 1)).collect();
            proptest::prop_assert_eq!(delivered, expected);
        }
    }

    #[test]
    fn stale_positions_are_recognised() {
        let mut ledger = FillLedger::new(&[], 0);
        ledger.snapshot_at(50);
        assert!(ledger.is_stale_position(49));
        assert!(!ledger.is_stale_position(50));
    }
}
