//! Live subscription requests of one connection: batching streams into few
//! `SUBSCRIBE`/`UNSUBSCRIBE` frames and matching the server's replies by id.

use std::collections::HashMap;

use serde_json::json;

/// What a request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pending<S> {
    /// These streams were subscribed.
    Subscribe(Vec<S>),
    /// These streams were unsubscribed.
    Unsubscribe(Vec<S>),
}

/// Requests sent on the current connection and not yet answered.
#[derive(Debug)]
pub(crate) struct Requests<S> {
    next_id: i64,
    pending: HashMap<i64, Pending<S>>,
}

impl<S> Default for Requests<S> {
    fn default() -> Self {
        Requests {
            next_id: 0,
            pending: HashMap::new(),
        }
    }
}

impl<S: Clone + std::fmt::Display> Requests<S> {
    /// Forgets every pending request (the connection that carried them is gone).
    pub(crate) fn reset(&mut self) {
        self.pending.clear();
    }

    /// Frames subscribing (or unsubscribing) `streams`, at most `per_frame` streams each.
    pub(crate) fn frames(
        &mut self,
        subscribe: bool,
        streams: &[S],
        per_frame: usize,
    ) -> Vec<String> {
        streams
            .chunks(per_frame.max(1))
            .map(|chunk| {
                self.next_id += 1;
                let id = self.next_id;
                let method = if subscribe {
                    "SUBSCRIBE"
                } else {
                    "UNSUBSCRIBE"
                };
                let pending = if subscribe {
                    Pending::Subscribe(chunk.to_vec())
                } else {
                    Pending::Unsubscribe(chunk.to_vec())
                };
                self.pending.insert(id, pending);
                let params: Vec<String> = chunk.iter().map(ToString::to_string).collect();
                json!({ "method": method, "params": params, "id": id }).to_string()
            })
            .collect()
    }

    /// The request a reply with this id answers, if it is ours.
    pub(crate) fn answer(&mut self, id: i64) -> Option<Pending<S>> {
        self.pending.remove(&id)
    }

    /// Requests still unanswered.
    pub(crate) fn outstanding(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_answers() {
        let mut requests: Requests<String> = Requests::default();
        let streams: Vec<String> = (0..5).map(|i| format!("s{i}@trade")).collect();
        let frames = requests.frames(true, &streams, 2);
        assert_eq!(frames.len(), 3);
        assert_eq!(
            frames[0],
            r#"{"id":1,"method":"SUBSCRIBE","params":["s0@trade","s1@trade"]}"#
        );
        assert_eq!(requests.outstanding(), 3);
        assert_eq!(
            requests.answer(3),
            Some(Pending::Subscribe(vec!["s4@trade".into()]))
        );
        assert_eq!(requests.answer(3), None);
        requests.reset();
        assert_eq!(requests.outstanding(), 0);
    }
}
