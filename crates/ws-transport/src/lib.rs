//! WebSocket connections for long-lived market-data feeds.
//!
//! `ws-transport` will own everything between a URL and a stream of frames:
//! connecting over `ws://` and `wss://` (tokio-tungstenite with rustls and
//! certificate checks on), answering pings, detecting a dead connection by
//! silence, pacing outbound frames, and classifying every way a connection
//! ends so that policies can decide what to do next.
//!
//! ## Design
//!
//! The crate knows nothing of Binance and makes no policy decisions: it does
//! not reconnect, back off or resubscribe. Those belong to `reconnect` and to
//! the `crypto-exchange` facade.
//!
//! ## Status
//!
//! Not built yet: this crate arrives with the resilient-connections work
//! (issue 3). Nothing is exported today.
