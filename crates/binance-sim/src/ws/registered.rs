//! The bookkeeping that must hold on every path out of a connection: the simulator's
//! interest registry equals the union of all subscriptions, and every connection
//! that ends has a close record.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio_tungstenite::tungstenite::Message;

use super::control::Session;
use crate::state::{CloseRecord, ConnCounters, Shared};

/// Keeps `shared.interest` equal to this connection's subscriptions, on every path:
/// each change goes through here, and dropping it removes what is left.
#[derive(Debug)]
pub(super) struct Registered {
    pub(super) session: Session,
    shared: Arc<Shared>,
    counters: Arc<ConnCounters>,
}

impl Registered {
    pub(super) fn new(session: Session, shared: Arc<Shared>, counters: Arc<ConnCounters>) -> Self {
        for stream in session.streams() {
            shared.interest.add(stream);
        }
        counters
            .subscriptions
            .store(session.streams().len(), Ordering::Relaxed);
        Registered {
            session,
            shared,
            counters,
        }
    }

    /// Handles a client text or binary frame and returns the reply frame.
    pub(super) fn handle(&mut self, frame: &Message) -> Option<String> {
        let handled = match frame {
            Message::Text(text) => self.session.handle_text(text),
            Message::Binary(bytes) => self.session.handle_binary(bytes),
            _ => return None,
        };
        for stream in &handled.added {
            self.shared.interest.add(stream);
        }
        for stream in &handled.removed {
            self.shared.interest.remove(stream);
        }
        self.counters
            .subscriptions
            .store(self.session.streams().len(), Ordering::Relaxed);
        Some(handled.reply.to_json())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        for stream in self.session.streams() {
            self.shared.interest.remove(stream);
        }
        self.counters.subscriptions.store(0, Ordering::Relaxed);
    }
}

/// Records an end for a connection whose task stops without one (a panic, or an
/// abort when the simulator stops), so its stats never stay "open".
#[derive(Debug)]
pub(super) struct CloseGuard(pub(super) Arc<ConnCounters>);

impl Drop for CloseGuard {
    fn drop(&mut self) {
        self.0.record_close(CloseRecord {
            code: 1006,
            reason: "connection task ended".to_owned(),
            by_server: true,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::config::SimConfig;
    use crate::stream::{StreamKind, StreamName};

    fn shared() -> Arc<Shared> {
        Arc::new(Shared::new(SimConfig {
            warmup_actions: 0,
            ..SimConfig::default()
        }))
    }

    fn wanted(shared: &Shared, stream: &StreamName) -> bool {
        shared.interest.with(|interest| interest.wants(stream))
    }

    fn counters(shared: &Shared) -> Arc<ConnCounters> {
        shared
            .counters
            .open(SocketAddr::from(([127, 0, 0, 1], 1)), "/ws".to_owned())
    }

    #[test]
    fn interest_follows_every_connection_and_every_path() {
        let shared = shared();
        let trade = StreamName::new("btcusdt", StreamKind::Trade);
        let agg = StreamName::new("btcusdt", StreamKind::AggTrade);
        let a_counters = counters(&shared);
        let mut a = Registered::new(
            Session::new(vec![trade.clone()], false, 10),
            shared.clone(),
            a_counters.clone(),
        );
        let b = Registered::new(
            Session::new(vec![trade.clone()], false, 10),
            shared.clone(),
            counters(&shared),
        );
        assert!(wanted(&shared, &trade) && !wanted(&shared, &agg));
        assert_eq!(a_counters.subscriptions.load(Ordering::Relaxed), 1);

        let subscribe =
            Message::text(r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}"#);
        assert_eq!(
            a.handle(&subscribe).as_deref(),
            Some(r#"{"result":null,"id":1}"#)
        );
        assert!(wanted(&shared, &agg));
        assert_eq!(a_counters.subscriptions.load(Ordering::Relaxed), 2);
        // Subscribing twice counts once.
        let _ = a.handle(&subscribe);
        let unsubscribe = Message::text(
            r#"{"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@trade"],"id":2}"#,
        );
        let _ = a.handle(&unsubscribe);
        assert!(!wanted(&shared, &agg));
        // b still listens to the trade stream.
        assert!(wanted(&shared, &trade));
        assert_eq!(a_counters.subscriptions.load(Ordering::Relaxed), 0);
        // Pings and other frames are not requests.
        assert_eq!(a.handle(&Message::Ping(Vec::new().into())), None);

        drop(b);
        assert!(!wanted(&shared, &trade));
        let _ = a.handle(&subscribe);
        drop(a);
        assert!(!wanted(&shared, &agg));
        assert_eq!(a_counters.subscriptions.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_close_guard_records_only_a_missing_end() {
        let shared = shared();
        let ended = counters(&shared);
        ended.record_close(CloseRecord {
            code: 1000,
            reason: "bye".to_owned(),
            by_server: false,
        });
        drop(CloseGuard(ended.clone()));
        let silent = counters(&shared);
        drop(CloseGuard(silent.clone()));
        let closes: Vec<_> = shared
            .counters
            .connections()
            .into_iter()
            .map(|c| c.close.map(|r| r.code))
            .collect();
        assert_eq!(closes, [Some(1000), Some(1006)]);
    }
}
