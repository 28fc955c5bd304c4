//! A set of event ids stored as runs of consecutive ids, so a stream of
//! millions of contiguous ids costs a few map entries.

use std::collections::BTreeMap;

/// Ids as inclusive runs `start ..= end`, never touching or overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IdSet {
    runs: BTreeMap<u64, u64>,
    len: u64,
}

impl IdSet {
    /// Adds `id`; `false` if it was there already.
    pub(crate) fn insert(&mut self, id: u64) -> bool {
        let before = self.runs.range(..=id).next_back().map(|(&s, &e)| (s, e));
        if before.is_some_and(|(_, end)| id <= end) {
            return false;
        }
        let joins_before = before.filter(|&(_, end)| end.checked_add(1) == Some(id));
        let after = id
            .checked_add(1)
            .and_then(|next| self.runs.remove(&next).map(|end| (next, end)));
        let start = joins_before.map_or(id, |(start, _)| start);
        let end = after.map_or(id, |(_, end)| end);
        self.runs.insert(start, end);
        self.len += 1;
        true
    }

    /// How many ids.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The lowest and highest id.
    pub(crate) fn bounds(&self) -> Option<(u64, u64)> {
        let (&low, _) = self.runs.first_key_value()?;
        let (_, &high) = self.runs.last_key_value()?;
        Some((low, high))
    }

    /// Ids missing between the lowest and the highest.
    pub(crate) fn holes(&self) -> u64 {
        self.bounds()
            .map_or(0, |(low, high)| (high - low + 1).saturating_sub(self.len))
    }

    /// How many ids both sets hold.
    pub(crate) fn common(&self, other: &Self) -> u64 {
        let mut mine = self.runs.iter().map(|(&s, &e)| (s, e)).peekable();
        let mut theirs = other.runs.iter().map(|(&s, &e)| (s, e)).peekable();
        let mut common = 0;
        while let (Some(&(s1, e1)), Some(&(s2, e2))) = (mine.peek(), theirs.peek()) {
            let (start, end) = (s1.max(s2), e1.min(e2));
            if start <= end {
                common += end - start + 1;
            }
            if e1 < e2 {
                mine.next();
            } else {
                theirs.next();
            }
        }
        common
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u64]) -> IdSet {
        let mut set = IdSet::default();
        for &id in ids {
            set.insert(id);
        }
        set
    }

    #[test]
    fn runs_merge_and_duplicates_are_refused() {
        let mut ids = IdSet::default();
        for id in [5, 7, 6, 1, 2, 10] {
            assert!(ids.insert(id));
        }
        assert!(!ids.insert(6));
        assert!(!ids.insert(1));
        assert_eq!(ids.len(), 6);
        assert_eq!(ids.runs.len(), 3, "{:?}", ids.runs);
        assert_eq!(ids.bounds(), Some((1, 10)));
        assert_eq!(ids.holes(), 4);
        assert!(ids.insert(u64::MAX));
        assert!(ids.insert(0));
        assert_eq!(ids.bounds(), Some((0, u64::MAX)));
    }

    #[test]
    fn common_counts_the_intersection() {
        let truth = set(&(100..200).collect::<Vec<_>>());
        let delivered = set(&[99, 100, 101, 150, 151, 199, 200, 300]);
        assert_eq!(truth.common(&delivered), 5);
        assert_eq!(delivered.common(&truth), 5);
        assert_eq!(IdSet::default().common(&truth), 0);
        assert_eq!(IdSet::default().holes(), 0);
    }
}
