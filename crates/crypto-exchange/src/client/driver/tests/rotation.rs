//! Make-before-break rotation under paused time: overlap without gap or
//! duplicate, a replacement with more requests than its queue holds, and a
//! replacement that cannot connect.

use std::time::Duration;

use anyhow::{Result, ensure};
use tokio::time::Instant;
use ws_transport::CloseCause;
use ws_transport::memory::Attempt;

use super::{Answer, Harness, is_disconnected, is_subscribed, read_subscribes};
use crate::client::config::ClientConfig;
use crate::client::driver::Command;
use crate::client::lifecycle::Lifecycle;
use crate::client::test_support::{
    agg_id, agg_trade, answer_subscribe, config, drain, next_event, until_close,
};

/// A configuration that rotates every `after` (no jitter), with a silence
/// timeout long enough that a quiet test server never trips it.
fn rotating(after: Duration) -> ClientConfig {
    config(|c| {
        c.rotation.after = after;
        c.rotation.jitter = Duration::ZERO;
        c.transport.silence_timeout = Duration::from_secs(600);
    })
}

#[tokio::test(start_paused = true)]
async fn rotation_is_make_before_break_without_gap_or_duplicate() -> Result<()> {
    let mut h = Harness::start(rotating(Duration::from_secs(10)), [])?;
    let mut events = h.subscribe(&["btcusdt@aggTrade"])?;
    let mut old = h.accept().await?;
    answer_subscribe(&mut old, &["btcusdt@aggTrade"]).await?;
    h.wait_for(is_subscribed).await?;
    let opened = Instant::now();
    for id in 1..=20 {
        old.send_text(agg_trade("btcusdt", id));
    }
    for id in 1..=20 {
        ensure!(agg_id(&next_event(&mut events).await?) == Some(id));
    }

    // The replacement opens at the rotation deadline while the old one serves.
    let mut new = h.accept().await?;
    ensure!(Instant::now() - opened == Duration::from_secs(10));
    answer_subscribe(&mut new, &["btcusdt@aggTrade"]).await?;
    // The two overlap: the old one sends up to 50, the new one from 40 to 80.
    let mut next_old = 21..=50;
    let mut next_new = 40..=80;
    loop {
        let a = next_old.next();
        let b = next_new.next();
        if let Some(id) = a {
            old.send_text(agg_trade("btcusdt", id));
        }
        if let Some(id) = b {
            new.send_text(agg_trade("btcusdt", id));
        }
        if a.is_none() && b.is_none() {
            break;
        }
    }
    for id in 21..=80 {
        let event = next_event(&mut events).await?;
        ensure!(agg_id(&event) == Some(id), "expected {id}, got {event:?}");
    }
    let (signal, before) = h
        .wait_for(|l| matches!(l, Lifecycle::Rotated { .. }))
        .await?;
    ensure!(
        signal
            == Lifecycle::Rotated {
                connection: 1,
                reason: "lifetime".into()
            }
    );
    ensure!(!before.iter().any(is_disconnected), "{before:?}");
    // The old connection is closed with 1000; the new one serves.
    ensure!(until_close(&mut old).await? == (Some(1000), vec![]));
    new.send_text(agg_trade("btcusdt", 81));
    ensure!(agg_id(&next_event(&mut events).await?) == Some(81));
    ensure!(events.try_recv().is_none());
    let stats = h.stats();
    ensure!(
        stats.rotations == 1 && stats.events_delivered == 81,
        "{stats:?}"
    );
    ensure!(drain(&mut h.lifecycle).iter().all(|l| !is_disconnected(l)));

    h.command(Command::Shutdown)?;
    ensure!(until_close(&mut new).await?.0 == Some(1000));
    h.ended().await
}

#[tokio::test(start_paused = true)]
async fn a_replacement_restores_more_requests_than_its_queue_holds() -> Result<()> {
    let mut h = Harness::start(
        ClientConfig {
            streams_per_connection: 1000,
            streams_per_request: 10,
            ..rotating(Duration::from_secs(100))
        },
        [],
    )?;
    let names: Vec<String> = (0..1000).map(|i| format!("sym{i}usdt@aggTrade")).collect();
    let _events = h.subscribe(&names)?;
    let mut old = h.accept().await?;
    read_subscribes(&mut old, &names, Answer::All).await?;
    h.wait_for(is_subscribed).await?;

    // 100 frames on the replacement (more than the 64 its queue holds), paced,
    // each stream once; then the switch.
    let mut new = h.accept().await?;
    let requests = read_subscribes(&mut new, &names, Answer::All).await?;
    ensure!(requests.len() == 100);
    let (signal, before) = h
        .wait_for(|l| matches!(l, Lifecycle::Rotated { .. }))
        .await?;
    ensure!(matches!(&signal, Lifecycle::Rotated { reason, .. } if reason == "lifetime"));
    ensure!(!before.iter().any(is_disconnected), "{before:?}");
    ensure!(until_close(&mut old).await? == (Some(1000), vec![]));
    ensure!(h.stats().rotations == 1 && h.stats().connect_failures == 0);
    h.command(Command::Shutdown)?;
    ensure!(until_close(&mut new).await? == (Some(1000), vec![]));
    h.ended().await
}

#[tokio::test(start_paused = true)]
async fn a_failed_replacement_leaves_the_old_connection_serving() -> Result<()> {
    let mut h = Harness::start(
        rotating(Duration::from_secs(10)),
        [Attempt::Accept, Attempt::Fail(CloseCause::Refused)],
    )?;
    let mut events = h.subscribe(&["btcusdt@aggTrade"])?;
    let mut old = h.accept().await?;
    answer_subscribe(&mut old, &["btcusdt@aggTrade"]).await?;
    h.wait_for(is_subscribed).await?;
    let opened = Instant::now();
    old.send_text(agg_trade("btcusdt", 1));
    ensure!(agg_id(&next_event(&mut events).await?) == Some(1));

    // At the rotation deadline the replacement is tried, and refused.
    let attempts = h.connector.wait_attempts(2).await?;
    ensure!(
        attempts.len() == 2 && attempts[1] - opened == Duration::from_secs(10),
        "{attempts:?}"
    );
    ensure!(h.stats().connect_failures == 1);
    // The old connection still serves, without a gap.
    for id in 2..=10 {
        old.send_text(agg_trade("btcusdt", id));
    }
    for id in 2..=10 {
        ensure!(agg_id(&next_event(&mut events).await?) == Some(id));
    }
    let signals = drain(&mut h.lifecycle);
    ensure!(
        signals.iter().all(|l| !is_disconnected(l)
            && !matches!(l, Lifecycle::Rotated { .. } | Lifecycle::Connecting { .. })),
        "{signals:?}"
    );
    ensure!(
        old.try_recv().is_none(),
        "the old connection was not closed"
    );

    // Rotation is retried later, and then succeeds.
    let mut new = h.accept().await?;
    ensure!(Instant::now() - attempts[1] == Duration::from_secs(30));
    answer_subscribe(&mut new, &["btcusdt@aggTrade"]).await?;
    new.send_text(agg_trade("btcusdt", 10));
    new.send_text(agg_trade("btcusdt", 11));
    ensure!(agg_id(&next_event(&mut events).await?) == Some(11));
    h.wait_for(|l| matches!(l, Lifecycle::Rotated { .. }))
        .await?;
    ensure!(until_close(&mut old).await?.0 == Some(1000));
    h.command(Command::Shutdown)?;
    h.ended().await
}
