//! Order books against `binance-sim`: every local book equals the simulator's
//! own book at checkpoints; a sequence gap on one symbol rebuilds only that
//! symbol's book; a repeated diff changes nothing.

mod book_common;

use anyhow::{Context, Result, ensure};
use book_common::{SYMBOLS, about, all_live, books, checkpoint, sim, sim_book, wait_event};
use crypto_exchange::book::{BookEvent, BookState, ResyncReason};
use crypto_exchange::domain::Symbol;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_books_equal_the_simulators_books_at_checkpoints() -> Result<()> {
    let sim = sim().await?;
    let (client, books) = books(&sim, &SYMBOLS, |_| {})?;
    let mut events = books.events();
    all_live(&books, &SYMBOLS).await?;
    for _ in 0..3 {
        // Let a good number of diffs flow, then compare everything.
        for name in SYMBOLS {
            let book = books.book(&Symbol::new(name)?).context("book")?;
            let (now, _, _) = sim_book(&sim, name)?;
            book.wait_until(now + 100, book_common::WAIT).await?;
        }
        checkpoint(&sim, &books, &SYMBOLS).await?;
    }
    let mut seen = Vec::new();
    books.shutdown().await;
    while let Some(event) = events.next().await {
        seen.push(event);
    }
    let synced = seen
        .iter()
        .filter(|e| matches!(e, BookEvent::Synced { .. }))
        .count();
    ensure!(synced == 3, "each book synced once: {seen:#?}");
    ensure!(
        !seen
            .iter()
            .any(|e| matches!(e, BookEvent::Resyncing { .. })),
        "no resync without a fault: {seen:#?}"
    );
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_on_one_symbol_rebuilds_only_that_symbols_book() -> Result<()> {
    let sim = sim().await?;
    let (client, books) = books(&sim, &SYMBOLS, |_| {})?;
    checkpoint(&sim, &books, &SYMBOLS).await?;
    let mut events = books.events();
    let mut seen = Vec::new();

    sim.inject_depth_gap("ETHUSDT")?;
    let resynced = wait_event(&mut events, &mut seen, |e| {
        about(e, "ETHUSDT") && matches!(e, BookEvent::Resynced { .. })
    })
    .await?;
    let BookEvent::Resynced {
        reason: ResyncReason::Gap { expected, got },
        ..
    } = resynced
    else {
        anyhow::bail!("resynced for another reason: {resynced:?}");
    };
    ensure!(got > expected, "a gap: expected {expected}, got {got}");
    ensure!(
        seen.iter().any(|e| about(e, "ETHUSDT")
            && matches!(
                e,
                BookEvent::Resyncing {
                    reason: ResyncReason::Gap { .. },
                    ..
                }
            )),
        "the book said it was resyncing: {seen:#?}"
    );
    // The other books stayed live throughout: no event about them at all, and
    // live now.
    for other in ["BTCUSDT", "BNBBTC"] {
        ensure!(
            !seen.iter().any(|e| about(e, other)),
            "{other} was disturbed: {seen:#?}"
        );
        let book = books.book(&Symbol::new(other)?).context("book")?;
        ensure!(book.state() == BookState::Live, "{other} is not live");
        book.best_bid_ask()?;
    }
    checkpoint(&sim, &books, &SYMBOLS).await?;

    books.shutdown().await;
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_diff_changes_nothing() -> Result<()> {
    let sim = sim().await?;
    let (client, books) = books(&sim, &SYMBOLS, |_| {})?;
    checkpoint(&sim, &books, &SYMBOLS).await?;
    let mut events = books.events();
    let removed_before = client.stats().duplicates_removed;

    sim.inject_depth_duplicate("BTCUSDT")?;
    // The next diff is the repeated one: wait until the book has it, then the
    // checkpoint waits for the diffs behind both copies.
    let (armed_at, _, _) = sim_book(&sim, "BTCUSDT")?;
    let btc = books.book(&Symbol::new("BTCUSDT")?).context("book")?;
    btc.wait_until(armed_at + 1, book_common::WAIT).await?;
    checkpoint(&sim, &books, &SYMBOLS).await?;
    books.shutdown().await;
    let mut seen = Vec::new();
    while let Some(event) = events.next().await {
        seen.push(event);
    }
    // The client removes a repeated diff by its update ids before any
    // subscriber sees it; had one reached the book, it would be a `StaleDiff`.
    ensure!(
        client.stats().duplicates_removed > removed_before,
        "the repeat was not seen by the client"
    );
    ensure!(
        seen.iter()
            .all(|e| matches!(e, BookEvent::StaleDiff { .. })),
        "nothing but ignored diffs: {seen:#?}"
    );
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_check_agrees_with_the_simulator() -> Result<()> {
    let sim = sim().await?;
    let (client, books) = books(&sim, &SYMBOLS, |config| {
        config.self_check = Some(std::time::Duration::from_millis(200));
        config.self_check_limit = 20;
    })?;
    let mut events = books.events();
    let mut seen = Vec::new();
    // Snapshots taken while the markets move: each is held until the book
    // reaches its update id, then compared.
    for name in SYMBOLS {
        for _ in 0..3 {
            wait_event(&mut events, &mut seen, |e| {
                about(e, name) && matches!(e, BookEvent::SelfChecked { levels, .. } if *levels > 0)
            })
            .await?;
        }
    }
    ensure!(
        !seen.iter().any(|e| matches!(
            e,
            BookEvent::SelfCheckMismatch { .. } | BookEvent::Resyncing { .. }
        )),
        "the self-check found nothing wrong: {seen:#?}"
    );
    books.shutdown().await;
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
