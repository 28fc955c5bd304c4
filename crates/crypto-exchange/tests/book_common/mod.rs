//! Shared helpers for the order-book tests against `binance-sim`: a busy
//! simulator, a client and REST client for it, the simulator's own book as
//! levels, checkpoints, and waits on book events (never sleeps).

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use binance_sim::market::Side as SimSide;
use binance_sim::{Sim, SimConfig, SimHandle};
use crypto_exchange::book::{BookConfig, BookEvent, BookEvents, OrderBooks};
use crypto_exchange::domain::{Decimal, Level, Symbol};
use crypto_exchange::rest::{RestClient, RestConfig};
use crypto_exchange::{Client, ClientConfig};
use tokio::time::timeout;

/// How long any single wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// Market actions per second while a symbol runs.
pub(crate) const RATE: f64 = 200.0;

/// The simulator's three default symbols.
pub(crate) const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "BNBBTC"];

/// A simulator with busy markets.
pub(crate) async fn sim() -> Result<SimHandle> {
    let mut config = SimConfig::default();
    for spec in &mut config.symbols {
        spec.actions_per_sec = RATE;
    }
    Ok(Sim::start(config).await?)
}

/// Symbols by name.
pub(crate) fn symbols(names: &[&str]) -> Result<Vec<Symbol>> {
    names
        .iter()
        .map(|n| Symbol::new(n).context("symbol"))
        .collect()
}

/// A stream client and a REST client for the simulator, with a fast reconnect
/// schedule (these tests run in real time).
pub(crate) fn clients(sim: &SimHandle) -> Result<(Client, RestClient)> {
    let mut config = ClientConfig::with_endpoints(sim.ws_url(), sim.rest_url());
    config.reconnect.initial_delay = Duration::from_millis(100);
    config.reconnect.max_delay = Duration::from_millis(800);
    let client = Client::new(config)?;
    let rest = RestClient::new(RestConfig {
        base_url: sim.rest_url(),
        retry_backoff: Duration::from_millis(100),
        ..RestConfig::default()
    })?;
    Ok((client, rest))
}

/// Books for `names` on the simulator, with `adjust` applied to the defaults.
pub(crate) fn books(
    sim: &SimHandle,
    names: &[&str],
    adjust: impl FnOnce(&mut BookConfig),
) -> Result<(Client, OrderBooks)> {
    let (client, rest) = clients(sim)?;
    let mut config = BookConfig::default();
    adjust(&mut config);
    let books = OrderBooks::start(&client, rest, symbols(names)?, config)?;
    Ok((client, books))
}

/// The simulator's own book of `symbol`: its update id, bids and asks, best first.
pub(crate) fn sim_book(sim: &SimHandle, symbol: &str) -> Result<(u64, Vec<Level>, Vec<Level>)> {
    sim.with_market(|market| {
        let m = market.symbol(symbol).context("symbol not listed")?;
        let side = |side| {
            m.book()
                .top(side, usize::MAX)
                .into_iter()
                .map(|(p, q)| Level::new(Decimal::new(p.0, 8), Decimal::new(q.0, 8)))
                .collect()
        };
        Ok((m.update_id(), side(SimSide::Bid), side(SimSide::Ask)))
    })
}

/// Waits until every book of `names` is live.
pub(crate) async fn all_live(books: &OrderBooks, names: &[&str]) -> Result<()> {
    for symbol in symbols(names)? {
        let book = books.book(&symbol).context("no such book")?;
        book.wait_live(WAIT).await?;
    }
    Ok(())
}

/// Freezes the markets of `names`, waits until each local book has applied
/// everything up to the simulator's frozen update id, and compares every level;
/// then lets the markets run again. Every book must be live when it starts
/// (a book cannot finish a sync while its market is frozen: no diff comes).
pub(crate) async fn checkpoint(sim: &SimHandle, books: &OrderBooks, names: &[&str]) -> Result<()> {
    all_live(books, names).await?;
    for name in names {
        sim.set_symbol_rate(name, 0.0)?;
    }
    let result = compare_frozen(sim, books, names).await;
    for name in names {
        sim.set_symbol_rate(name, RATE)?;
    }
    result
}

async fn compare_frozen(sim: &SimHandle, books: &OrderBooks, names: &[&str]) -> Result<()> {
    for name in names {
        let (frozen, bids, asks) = sim_book(sim, name)?;
        let book = books.book(&Symbol::new(name)?).context("no such book")?;
        let reached = book.wait_until(frozen, WAIT).await?;
        ensure!(
            reached == frozen,
            "{name}: local book at {reached}, past the frozen {frozen}"
        );
        let local = book.top(usize::MAX)?;
        ensure!(local.update_id == frozen, "{name}: moved while frozen");
        ensure!(
            !bids.is_empty() && !asks.is_empty(),
            "{name}: the simulator's book is empty"
        );
        ensure!(
            local.bids == bids,
            "{name} bids differ at {frozen}:\nlocal {:?}\nsim   {:?}",
            local.bids,
            bids
        );
        ensure!(local.asks == asks, "{name} asks differ at {frozen}");
    }
    Ok(())
}

/// Waits for an event matching `pred`, keeping every event seen on the way in `seen`.
pub(crate) async fn wait_event(
    events: &mut BookEvents,
    seen: &mut Vec<BookEvent>,
    pred: impl Fn(&BookEvent) -> bool,
) -> Result<BookEvent> {
    timeout(WAIT, async {
        loop {
            match events.next().await {
                Some(event) => {
                    seen.push(event.clone());
                    if pred(&event) {
                        return Ok(event);
                    }
                }
                None => bail!("the books stopped"),
            }
        }
    })
    .await
    .with_context(|| format!("event not seen in time; seen: {seen:#?}"))?
}

/// True when `event` is about `name`.
pub(crate) fn about(event: &BookEvent, name: &str) -> bool {
    event.symbol().is_some_and(|s| s.as_str() == name)
}
