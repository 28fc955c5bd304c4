//! Order books through faults, against `binance-sim`: dropped connections,
//! reads while a book is not live, and a symbol the exchange does not know.

mod book_common;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use binance_sim::{DropKind, RestFault};
use book_common::{SYMBOLS, about, books, checkpoint, sim, wait_event};
use crypto_exchange::book::{BookEvent, BookState, ResyncReason};
use crypto_exchange::domain::Symbol;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn books_rebuild_after_every_connection_is_dropped_and_converge() -> Result<()> {
    let sim = sim().await?;
    let (client, books) = books(&sim, &SYMBOLS, |_| {})?;
    checkpoint(&sim, &books, &SYMBOLS).await?;
    let mut events = books.events();
    let mut seen = Vec::new();

    ensure!(sim.drop_connections(DropKind::Reset) >= 1, "a connection");
    let resynced = |seen: &[BookEvent], name: &str| {
        seen.iter()
            .any(|e| about(e, name) && matches!(e, BookEvent::Resynced { .. }))
    };
    for name in SYMBOLS {
        if !resynced(&seen, name) {
            wait_event(&mut events, &mut seen, |e| {
                about(e, name) && matches!(e, BookEvent::Resynced { .. })
            })
            .await?;
        }
    }
    for name in SYMBOLS {
        ensure!(
            seen.iter().any(|e| about(e, name)
                && matches!(
                    e,
                    BookEvent::Resynced {
                        reason: ResyncReason::Disconnected { .. },
                        ..
                    }
                )),
            "{name} resynced after the drop: {seen:#?}"
        );
    }
    checkpoint(&sim, &books, &SYMBOLS).await?;

    books.shutdown().await;
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_say_not_live_while_syncing_and_resyncing() -> Result<()> {
    let sim = sim().await?;
    let (client, books) = books(&sim, &["BTCUSDT"], |_| {})?;
    let book = books.book(&Symbol::new("BTCUSDT")?).context("book")?;
    // Right after the start nothing can have synced: no diff has arrived yet.
    let not_live = book.best_bid_ask().expect_err("levels while syncing");
    ensure!(not_live.state == BookState::Syncing, "{not_live}");
    ensure!(
        book.top(5).is_err() && book.update_id().is_err(),
        "every read"
    );
    book.wait_live(book_common::WAIT).await?;
    let best = book.best_bid_ask()?;
    ensure!(
        best.bid
            .zip(best.ask)
            .is_some_and(|(b, a)| b.price < a.price),
        "a sane top of book: {best:?}"
    );

    // Slow snapshots hold the rebuild after a gap, so the state can be read.
    let mut events = books.events();
    let mut seen = Vec::new();
    sim.set_rest_fault(RestFault::Slow(Duration::from_secs(3)), None);
    sim.inject_depth_gap("BTCUSDT")?;
    wait_event(&mut events, &mut seen, |e| {
        matches!(e, BookEvent::Resyncing { .. })
    })
    .await?;
    let not_live = book.top(10).expect_err("levels while resyncing");
    ensure!(
        matches!(
            not_live.state,
            BookState::Resyncing {
                reason: ResyncReason::Gap { .. }
            }
        ),
        "{not_live}"
    );
    ensure!(not_live.to_string().contains("gap"), "{not_live}");
    sim.clear_rest_fault();
    wait_event(&mut events, &mut seen, |e| {
        matches!(e, BookEvent::Resynced { .. })
    })
    .await?;
    checkpoint(&sim, &books, &["BTCUSDT"]).await?;

    books.shutdown().await;
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symbol_the_exchange_does_not_know_is_unavailable_without_a_fetch_loop() -> Result<()> {
    let sim = sim().await?;
    // The simulator, like Binance, accepts a stream for an unlisted symbol and
    // sends nothing on it; the book asks for a snapshot after a quiet spell.
    let (client, books) = books(&sim, &["NOSUCHUSDT", "BTCUSDT"], |config| {
        config.first_diff_timeout = Duration::from_millis(300);
    })?;
    let mut events = books.events();
    let mut seen = Vec::new();
    let event = wait_event(&mut events, &mut seen, |e| {
        matches!(e, BookEvent::Unavailable { .. })
    })
    .await?;
    ensure!(about(&event, "NOSUCHUSDT"), "{event:?}");
    let book = books.book(&Symbol::new("NOSUCHUSDT")?).context("book")?;
    let BookState::Unavailable { reason } = book.state() else {
        anyhow::bail!("not unavailable: {}", book.state());
    };
    ensure!(reason.contains("-1121"), "{reason}");
    let refused = || sim.rest_stats().by_status.get(&400).copied().unwrap_or(0);
    ensure!(refused() == 1, "one refused snapshot");

    // Time passes (the other book syncs and is compared); nothing more is asked.
    checkpoint(&sim, &books, &["BTCUSDT"]).await?;
    checkpoint(&sim, &books, &["BTCUSDT"]).await?;
    ensure!(refused() == 1, "no fetch loop: {} refusals", refused());
    ensure!(
        matches!(book.state(), BookState::Unavailable { .. }),
        "still unavailable"
    );
    ensure!(book.best_bid_ask().is_err(), "no levels");
    ensure!(
        !seen
            .iter()
            .any(|e| about(e, "BTCUSDT") && matches!(e, BookEvent::Resyncing { .. })),
        "the known symbol was not disturbed: {seen:#?}"
    );

    // Asked to, it tries again, and is refused again: one more fetch.
    ensure!(books.resync(&Symbol::new("NOSUCHUSDT")?), "resync accepted");
    wait_event(&mut events, &mut seen, |e| {
        about(e, "NOSUCHUSDT") && matches!(e, BookEvent::Unavailable { .. })
    })
    .await?;
    ensure!(refused() == 2, "one fetch per request");

    books.shutdown().await;
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
