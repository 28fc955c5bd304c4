//! Pooling, pacing, rotation and subscriber isolation against `binance-sim`.

mod client_common;

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Result, ensure};
use binance_sim::DropKind;
use client_common::{WAIT, agg_id, client_for, next_event, sim_with, wait_for};
use crypto_exchange::{ClientError, Lifecycle, Update};

/// Collects aggregate-trade ids until `until` lifecycle signals were seen, and
/// checks they are contiguous: no gap, no duplicate.
async fn contiguous_through(
    sub: &mut crypto_exchange::Subscription,
    lifecycle: &mut crypto_exchange::Lifecycles,
    until: impl Fn(&Lifecycle) -> bool,
    count: usize,
) -> Result<usize> {
    let mut last: Option<u64> = None;
    let mut seen = 0;
    let mut checked = 0;
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    while seen < count || checked < 200 {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "only {seen} rotations, {checked} events"
        );
        tokio::select! {
            event = next_event(sub) => {
                let event = event?;
                if let Some(id) = agg_id(&event) {
                    if let Some(prev) = last {
                        ensure!(id == prev + 1, "aggTrade {id} after {prev}: gap or duplicate");
                    }
                    last = Some(id);
                    checked += 1;
                }
            }
            signal = lifecycle.next() => {
                if signal.as_ref().is_some_and(&until) {
                    seen += 1;
                }
            }
        }
    }
    Ok(checked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_streams_are_restored_within_the_frame_limit() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |c| {
        c.streams_per_connection = 250;
        c.streams_per_request = 25;
    })?;
    let mut lifecycle = client.lifecycle();
    // Three listed symbols plus unlisted ones, which Binance (and the sim) accept silently.
    let mut names: Vec<String> = (0..997).map(|i| format!("sym{i}usdt@aggTrade")).collect();
    names.extend([
        "btcusdt@aggTrade".into(),
        "ethusdt@aggTrade".into(),
        "bnbbtc@aggTrade".into(),
    ]);
    let mut sub = client.subscribe(&names)?;
    for _ in 0..4 {
        wait_for(&mut lifecycle, |l| {
            matches!(l, Lifecycle::Subscribed { streams: 250, .. })
        })
        .await?;
    }
    ensure!(
        sim.connections().iter().filter(|c| c.open).count() == 4,
        "1000 streams over 4 connections"
    );
    ensure!(
        client
            .stats()
            .streams_per_connection
            .values()
            .sum::<usize>()
            == 1000
    );

    ensure!(sim.drop_connections(DropKind::Reset) == 4);
    for _ in 0..4 {
        wait_for(&mut lifecycle, |l| {
            matches!(l, Lifecycle::Subscribed { streams: 250, .. })
        })
        .await?;
    }
    let mut delivering = HashSet::new();
    while delivering.len() < 3 {
        delivering.insert(next_event(&mut sub).await?.stream.to_string());
    }
    let connections = sim.connections();
    ensure!(connections.len() == 8, "4 before and 4 after the drop");
    for c in &connections {
        ensure!(
            c.max_frames_in_window <= 5,
            "connection {} sent {} frames in one second",
            c.id,
            c.max_frames_in_window
        );
    }
    ensure!(
        connections
            .iter()
            .filter(|c| c.open)
            .all(|c| c.subscriptions == 250),
        "each new connection holds its 250 streams"
    );
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_pre_empts_the_lifetime_cut_off_without_gap_or_duplicate() -> Result<()> {
    let sim = sim_with(|c| c.rules.max_lifetime = Duration::from_secs(4)).await?;
    let client = client_for(&sim, |c| {
        c.rotation.after = Duration::from_millis(2_500);
        c.rotation.jitter = Duration::from_millis(300);
        c.rotation.overlap_timeout = Duration::from_secs(3);
    })?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    let checked = contiguous_through(
        &mut sub,
        &mut lifecycle,
        |l| matches!(l, Lifecycle::Rotated { reason, .. } if reason == "lifetime"),
        2,
    )
    .await?;
    ensure!(checked >= 200);
    // The simulator never had to cut a connection at its lifetime.
    ensure!(
        sim.connections().iter().all(|c| c
            .close
            .as_ref()
            .is_none_or(|r| !r.reason.contains("lifetime"))),
        "a connection reached the simulator's lifetime"
    );
    ensure!(client.stats().rotations >= 2);
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_shutdown_triggers_a_seamless_rotation() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["ethusdt@aggTrade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    ensure!(sim.send_server_shutdown() == 1);
    contiguous_through(
        &mut sub,
        &mut lifecycle,
        |l| matches!(l, Lifecycle::Rotated { reason, .. } if reason == "server_shutdown"),
        1,
    )
    .await?;
    let connections = sim.connections();
    ensure!(
        connections.len() == 2
            && connections[0]
                .close
                .as_ref()
                .is_some_and(|c| c.code == 1000)
    );
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_follow_the_schedule() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    sim.refuse_connections(Duration::from_millis(1_600));
    sim.drop_connections(DropKind::Reset);
    let mut delays = Vec::new();
    while let Lifecycle::Reconnecting { delay_ms, .. } = wait_for(&mut lifecycle, |l| {
        matches!(
            l,
            Lifecycle::Reconnecting { .. } | Lifecycle::Subscribed { .. }
        )
    })
    .await?
    {
        delays.push(delay_ms);
    }
    // 100, 200, 400, 800 ms (±10 %), capped at 800 ms in this test's schedule.
    ensure!(delays.len() >= 3, "delays {delays:?}");
    for pair in delays.windows(2) {
        ensure!(
            pair[1] * 10 >= pair[0] * 9,
            "the schedule climbs: {delays:?}"
        );
    }
    ensure!(
        delays.iter().all(|&d| d <= 880),
        "never above the cap: {delays:?}"
    );
    next_event(&mut sub).await?;
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_told_it_lagged_and_never_blocks_others() -> Result<()> {
    let sim = sim_with(|c| {
        for s in &mut c.symbols {
            s.actions_per_sec = 2_000.0;
        }
    })
    .await?;
    let client = client_for(&sim, |c| c.subscriber_buffer = 16)?;
    let mut slow = client.subscribe(["btcusdt@trade"])?;
    let mut fast = client.subscribe(["btcusdt@trade"])?;
    // The fast subscriber keeps reading while the slow one does not.
    let mut read = 0;
    while read < 300 {
        match tokio::time::timeout(WAIT, fast.next()).await? {
            Some(Update::Event(_)) => read += 1,
            Some(Update::Lagged { .. }) => {} // it may lag briefly on a busy machine
            other => anyhow::bail!("fast subscriber: {other:?}"),
        }
    }
    let first = tokio::time::timeout(WAIT, slow.next()).await?;
    ensure!(
        matches!(first, Some(Update::Lagged { missed }) if missed > 0),
        "got {first:?}"
    );
    ensure!(client.stats().lagged_events > 0);
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_is_live_and_bad_names_are_refused() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let mut lifecycle = client.lifecycle();
    let err = client.subscribe(["btcusdt@aggtrade"]).err();
    ensure!(
        matches!(&err, Some(ClientError::InvalidStream(m)) if m.contains("aggTrade")),
        "{err:?}"
    );
    let mut sub = client.subscribe(["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { streams: 2, .. })
    })
    .await?;
    sub.remove(["ethusdt@aggTrade"])?;
    // Once the sim has applied the UNSUBSCRIBE, only btcusdt arrives.
    let deadline = tokio::time::Instant::now() + WAIT;
    while sim
        .connections()
        .iter()
        .any(|c| c.open && c.subscriptions != 1)
    {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "unsubscribe not applied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Drain what was in flight, then every event is btcusdt.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), sub.next()).await {}
    for _ in 0..20 {
        let event = next_event(&mut sub).await?;
        ensure!(
            event.stream.to_string() == "btcusdt@aggTrade",
            "{}",
            event.stream
        );
    }
    sub.add(["bnbbtc@aggTrade"])?;
    let mut streams = HashSet::new();
    while !streams.contains("bnbbtc@aggTrade") {
        streams.insert(next_event(&mut sub).await?.stream.to_string());
    }
    // Dropping the subscription closes the connection that served only it.
    drop(sub);
    let deadline = tokio::time::Instant::now() + WAIT;
    while sim.connections().iter().any(|c| c.open) {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "connection not closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
