//! Local order books, kept from the `<s>@depth@100ms` diff stream and REST
//! snapshots by the procedure of PROTOCOL.md §5, one per symbol.
//!
//! - [`OrderBook`]: one symbol's levels (exact [`Decimal`](rust_decimal::Decimal)
//!   prices and quantities in ordered maps) and §5's apply rule,
//!   [`OrderBook::apply_diff`] → [`Applied`].
//! - [`BookSync`]: the procedure for one symbol as a sans-IO state machine:
//!   buffer, snapshot (again while too old), replay, live, and a rebuild of only
//!   that symbol on a gap, a malformed diff, a lost connection or a failed
//!   self-check. Its [`BookState`] is visible; reads while it is not live answer
//!   [`NotLive`] instead of stale levels.
//! - [`OrderBooks`]: the tokio layer. It subscribes through a [`Client`], fetches
//!   snapshots through a [`RestClient`] (concurrently, one symbol never waiting
//!   for another), watches the client's lifecycle, and hands out [`BookHandle`]s
//!   for reads and a stream of [`BookEvent`]s.
//!
//! ```no_run
//! use crypto_exchange::book::{BookConfig, OrderBooks};
//! use crypto_exchange::domain::Symbol;
//! use crypto_exchange::rest::{RestClient, RestConfig};
//! use crypto_exchange::{Client, ClientConfig};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(ClientConfig::default())?;
//! let rest = RestClient::new(RestConfig::default())?;
//! let symbols = [Symbol::new("BTCUSDT")?, Symbol::new("ETHUSDT")?];
//! let books = OrderBooks::start(&client, rest, symbols, BookConfig::default())?;
//! let btc = books.book(&Symbol::new("BTCUSDT")?).expect("subscribed above");
//! btc.wait_live(std::time::Duration::from_secs(30)).await?;
//! match btc.best_bid_ask() {
//!     Ok(best) => println!("{:?} / {:?} at update {}", best.bid, best.ask, best.update_id),
//!     Err(not_live) => println!("{not_live}"), // resyncing after a gap, …
//! }
//! # Ok(()) }
//! ```
//!
//! The procedure, its states and events, and the rule for each kind of bad input
//! are in `docs/order-books.md`.
//!
//! [`Client`]: crate::Client
//! [`RestClient`]: crate::rest::RestClient

mod config;
mod event;
mod handle;
mod order_book;
#[cfg(test)]
mod order_book_tests;
mod rt;
#[cfg(test)]
mod self_check_tests;
mod sync;
#[cfg(test)]
mod sync_props;
#[cfg(test)]
mod sync_tests;
#[cfg(test)]
pub(crate) mod test_util;

pub use config::BookConfig;
pub use event::{BookEvent, BookState, NotLive, ResyncReason, SnapshotError};
pub use handle::{BestBidAsk, BookEvents, BookHandle, BookLevels, WaitTimeout};
pub use order_book::{Applied, Levels, Malformed, OrderBook, Side};
pub use rt::OrderBooks;
pub use sync::{Action, BookSync};
