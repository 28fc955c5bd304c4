//! WebSocket connections for long-lived market-data feeds: connect, keep alive,
//! detect a dead link, pace what you send, and say exactly how it ended.
//!
//! `ws-transport` owns everything between a URL and a stream of messages:
//! - connecting over `ws://` and `wss://` (tokio-tungstenite; TLS by rustls on
//!   the `ring` provider with the Mozilla roots, certificate checks on) within a
//!   handshake timeout, with limits on incoming frame and message sizes;
//! - answering every ping with its payload, and optionally pinging the peer;
//! - declaring a connection dead after a configurable silence (default 30 s);
//! - pacing *every* outbound frame, pongs included: at most N in any rolling
//!   window (default 4 per second; Binance disconnects above 5);
//! - closing gracefully, and classifying every way a connection ends as a
//!   [`CloseCause`] that policies can act on ([`CloseCause::is_rate_limit`],
//!   [`CloseCause::retry_after`], [`CloseCause::is_retryable`]).
//!
//! ## Design
//!
//! A [`Connection`] has one owner that awaits [`Connection::next`] in a loop;
//! all housekeeping (pongs, own pings, pacing, silence, close handshakes)
//! happens inside that call, so there is no background task, no lock and no
//! channel, and the future is cancel-safe for `tokio::select!`. Sending only
//! queues ([`Connection::send_text`]); frames leave as the pacer allows.
//!
//! Pacing uses governor's GCRA with a burst of one and a spacing of
//! `window / N` rounded up, on a clock that follows tokio's (so paused-time
//! tests drive it). A larger burst would let `N + burst - 1` frames into one
//! window; with burst one, any `N + 1` consecutive frames span at least the
//! window, which a property test checks over arbitrary send patterns.
//!
//! What it does **not** do: reconnect, back off, resubscribe or choose an
//! endpoint (that is `reconnect`, `fallback` and the `crypto-exchange` facade);
//! know anything about Binance; or read anything but its own configuration.
//! It depends on no other workspace crate.
//!
//! For tests without sockets, [`memory::pair`] gives a real [`Connection`]
//! over an in-memory link plus a [`memory::Server`] that plays the peer, and
//! code that reconnects can be written against the [`Connector`] trait and run
//! against [`memory::MemoryConnector`].
//!
//! ## Example
//!
//! ```no_run
//! use ws_transport::{Event, TransportConfig, WsConnector, WsUrl};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ws_transport::Error> {
//! let connector = WsConnector::new(TransportConfig::default())?;
//! let url: WsUrl = "wss://stream.binance.com:9443/stream".parse()?;
//! let mut conn = connector.connect(&url).await?;
//! conn.send_text(r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}"#)?;
//! loop {
//!     match conn.next().await {
//!         Event::Text(text) => println!("{text}"),
//!         Event::Binary(_) => {}
//!         Event::Closed(cause) => {
//!             eprintln!("closed: {cause} (rate limit: {})", cause.is_rate_limit());
//!             break;
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
//!
//! None: the crate is tokio-based I/O by nature, and TLS (rustls with `ring`)
//! is always built in. It never pulls in `aws-lc-rs`, so no C toolchain beyond
//! what `ring` needs.
#![doc(test(attr(deny(warnings))))]

mod cause;
mod config;
mod connection;
mod connector;
mod driver;
mod error;
mod event;
mod link;
pub mod memory;
mod pacer;
mod tls;
mod url;

pub use cause::CloseCause;
pub use config::{Headers, Pacing, TlsPolicy, TransportConfig};
pub use connection::Connection;
pub use connector::{Connector, WsConnector, connect};
pub use error::Error;
pub use event::{Event, Outgoing, Stats, Text};
pub use url::WsUrl;
