//! Live subscription requests of one connection: batching streams into few
//! `SUBSCRIBE`/`UNSUBSCRIBE` frames, handing them to the connection as its
//! bounded outbound queue allows, and matching the server's replies by id.

use std::collections::{HashMap, VecDeque};

use serde_json::json;
use ws_transport::{Connection, Error};

/// What a request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pending<S> {
    /// These streams were subscribed.
    Subscribe(Vec<S>),
    /// These streams were unsubscribed.
    Unsubscribe(Vec<S>),
}

/// Requests made on the current connection and not yet answered.
#[derive(Debug)]
pub(crate) struct Requests<S> {
    next_id: i64,
    pending: HashMap<i64, Pending<S>>,
    /// Request frames not yet handed to the connection, oldest first.
    ///
    /// The connection's outbound queue holds `transport.max_queued_frames` (64 by
    /// default) while frames leave at 4 per second, so restoring many streams in
    /// small batches (1000 streams at 10 per frame: 100 frames) makes more frames
    /// than it takes at once. They wait here, and [`flush`](Self::flush) tops the
    /// queue up as it drains; dropping them would leave those streams
    /// unsubscribed on a connection that stays up.
    unsent: VecDeque<String>,
}

impl<S> Default for Requests<S> {
    fn default() -> Self {
        Requests {
            next_id: 0,
            pending: HashMap::new(),
            unsent: VecDeque::new(),
        }
    }
}

impl<S: Clone + std::fmt::Display> Requests<S> {
    /// Forgets every pending and unsent request (the connection that carried them
    /// is gone).
    pub(crate) fn reset(&mut self) {
        self.pending.clear();
        self.unsent.clear();
    }

    /// Makes the frames subscribing (or unsubscribing) `streams`, at most
    /// `per_frame` streams each, and keeps them until [`flush`](Self::flush)
    /// hands them to the connection.
    pub(crate) fn request(&mut self, subscribe: bool, streams: &[S], per_frame: usize) {
        let frames = self.frames(subscribe, streams, per_frame);
        self.unsent.extend(frames);
    }

    /// Hands unsent request frames to `connection`, oldest first, while its
    /// outbound queue has room; the rest wait for the next call.
    ///
    /// # Errors
    /// The connection's error when it is closing or closed; the unsent frames are
    /// dropped then, as the connection will be replaced and the new one restores
    /// every stream from the routes.
    pub(crate) fn flush(&mut self, connection: &mut Connection) -> Result<(), Error> {
        while let Some(frame) = self.unsent.front() {
            // A clone per request frame: they are few, and a refused frame must stay queued.
            match connection.send_text(frame.clone()) {
                Ok(()) => {
                    self.unsent.pop_front();
                }
                Err(Error::QueueFull { .. }) => return Ok(()),
                Err(error) => {
                    self.unsent.clear();
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// True while some request frames wait for room in the connection's queue.
    pub(crate) fn has_unsent(&self) -> bool {
        !self.unsent.is_empty()
    }

    /// Frames subscribing (or unsubscribing) `streams`, at most `per_frame` streams each.
    fn frames(&mut self, subscribe: bool, streams: &[S], per_frame: usize) -> Vec<String> {
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

    /// Requests still unanswered (sent or not yet sent).
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

    #[tokio::test(start_paused = true)]
    async fn frames_the_queue_cannot_take_wait_for_room() -> anyhow::Result<()> {
        let config = ws_transport::TransportConfig {
            max_queued_frames: 2,
            ..ws_transport::TransportConfig::default()
        };
        let (mut connection, _server) = ws_transport::memory::pair(&config)?;
        let mut requests: Requests<String> = Requests::default();
        let streams: Vec<String> = (0..5).map(|i| format!("s{i}@trade")).collect();
        requests.request(true, &streams, 1);
        requests.flush(&mut connection)?;
        assert_eq!(connection.stats().queued, 2);
        assert!(requests.has_unsent());
        // Every request counts as outstanding until answered, sent or not.
        assert_eq!(requests.outstanding(), 5);
        // Nothing is lost while the queue is full.
        requests.flush(&mut connection)?;
        assert_eq!(connection.stats().queued, 2);
        assert!(requests.has_unsent());
        // A closing connection takes nothing more: the frames are dropped, once.
        connection.begin_close(1000, "bye")?;
        assert!(requests.flush(&mut connection).is_err());
        assert!(!requests.has_unsent());
        assert!(requests.flush(&mut connection).is_ok());
        requests.request(true, &streams, 1);
        requests.reset();
        assert!(!requests.has_unsent());
        Ok(())
    }
}
