//! The client against `binance-sim`: streams keep delivering through drops,
//! resets, 1008 closes, refusals, stalls; nothing it delivers is duplicated or
//! out of order.

mod client_common;

use std::time::Duration;

use anyhow::{Result, ensure};
use binance_sim::DropKind;
use client_common::{agg_id, client_for, next_event, sim_with, wait_for};
use crypto_exchange::Lifecycle;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_deliver_typed_events_in_order() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let mut sub = client.subscribe(["btcusdt@aggTrade", "ethusdt@bookTicker"])?;
    let mut last = None;
    let mut books = 0;
    for _ in 0..200 {
        let event = next_event(&mut sub).await?;
        if let Some(id) = agg_id(&event) {
            if let Some(prev) = last {
                ensure!(id == prev + 1, "aggTrade {id} after {prev}");
            }
            last = Some(id);
        } else {
            books += 1;
        }
    }
    ensure!(last.is_some() && books > 0, "both streams delivered");
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_reconnected_and_resubscribed() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { streams: 2, .. })
    })
    .await?;
    next_event(&mut sub).await?;

    for how in [
        DropKind::Close {
            code: 1001,
            reason: "going away".into(),
        },
        DropKind::Reset,
        DropKind::Close {
            code: 1011,
            reason: "internal error".into(),
        },
    ] {
        ensure!(
            sim.drop_connections(how.clone()) == 1,
            "one connection open"
        );
        let signal = wait_for(&mut lifecycle, |l| {
            matches!(l, Lifecycle::Reconnecting { .. })
        })
        .await?;
        let Lifecycle::Reconnecting {
            delay_ms,
            rate_limited,
            ..
        } = signal
        else {
            unreachable!()
        };
        ensure!(
            !rate_limited && delay_ms <= 1_000,
            "{how:?}: ordinary schedule, got {delay_ms} ms"
        );
        wait_for(&mut lifecycle, |l| {
            matches!(l, Lifecycle::Subscribed { streams: 2, .. })
        })
        .await?;
        // Both streams deliver again.
        let mut seen = std::collections::HashSet::new();
        while seen.len() < 2 {
            seen.insert(next_event(&mut sub).await?.stream.to_string());
        }
    }
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1008_close_backs_off_longer_then_reconnects() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@trade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    sim.drop_connections(DropKind::Close {
        code: 1008,
        reason: "Too many requests".into(),
    });
    let signal = wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Reconnecting { .. })
    })
    .await?;
    let Lifecycle::Reconnecting {
        delay_ms,
        rate_limited,
        ..
    } = signal
    else {
        unreachable!()
    };
    ensure!(rate_limited, "1008 is a rate-limit cause");
    ensure!(
        delay_ms >= 1_350,
        "backs off at least the rate-limit delay, got {delay_ms} ms"
    );
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    next_event(&mut sub).await?;
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_is_detected_by_silence_and_recovered() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |c| {
        c.transport.silence_timeout = Duration::from_millis(800);
    })?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    next_event(&mut sub).await?;
    sim.set_stalled(true);
    let signal = wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Disconnected { .. })
    })
    .await?;
    ensure!(
        matches!(&signal, Lifecycle::Disconnected { cause, .. } if cause == "silence"),
        "{signal:?}"
    );
    sim.set_stalled(false);
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    next_event(&mut sub).await?;
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_driver_is_restarted_with_its_subscriptions_and_no_duplicates() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { streams: 2, .. })
    })
    .await?;
    let connection = client.connections()[0];
    let mut last = std::collections::HashMap::new();
    let mut record = |event: &crypto_exchange::StreamEvent| -> Result<()> {
        if let Some(id) = agg_id(event) {
            let previous = last.insert(event.stream.to_string(), id);
            ensure!(
                previous.is_none_or(|p| id > p),
                "{}: {id} after {previous:?}",
                event.stream
            );
        }
        Ok(())
    };
    for _ in 0..20 {
        record(&next_event(&mut sub).await?)?;
    }
    ensure!(client.inject_panic(connection));
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Restarted { incarnation: 1, .. })
    })
    .await?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { streams: 2, .. })
    })
    .await?;
    let mut streams = std::collections::HashSet::new();
    for _ in 0..100 {
        let event = next_event(&mut sub).await?;
        record(&event)?;
        streams.insert(event.stream.to_string());
    }
    ensure!(streams.len() == 2, "both streams deliver after the restart");
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_keeps_panicking_is_escalated() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let mut lifecycle = client.lifecycle();
    let _sub = client.subscribe(["btcusdt@aggTrade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    let connection = client.connections()[0];
    // Five restarts are allowed within 10 s; the sixth failure escalates.
    for incarnation in 1..=5 {
        ensure!(client.inject_panic(connection));
        wait_for(
            &mut lifecycle,
            |l| matches!(l, Lifecycle::Restarted { incarnation: i, .. } if *i == incarnation),
        )
        .await?;
    }
    ensure!(client.inject_panic(connection));
    wait_for(&mut lifecycle, |l| matches!(l, Lifecycle::Escalated { .. })).await?;
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_open_the_breaker_then_a_probe_closes_it() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |c| {
        c.breaker.open_duration = Duration::from_millis(2_500);
        c.reconnect.max_delay = Duration::from_millis(200);
    })?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    sim.refuse_connections(Duration::from_secs(60));
    sim.drop_connections(DropKind::Reset);
    wait_for(
        &mut lifecycle,
        |l| matches!(l, Lifecycle::Breaker { state, .. } if state == "open"),
    )
    .await?;
    let attempts_when_opened = sim.handshakes().attempts;
    wait_for(&mut lifecycle, |l| {
        matches!(l, Lifecycle::CircuitOpen { .. })
    })
    .await?;
    // While open, no attempt reaches the server: wait until the breaker admits
    // its probe (half-open), then count. The probe itself follows the signal at
    // once and may already have reached the server when we count.
    wait_for(
        &mut lifecycle,
        |l| matches!(l, Lifecycle::Breaker { state, .. } if state == "half_open"),
    )
    .await?;
    ensure!(
        sim.handshakes().attempts <= attempts_when_opened + 1,
        "attempts while open: {} -> {}",
        attempts_when_opened,
        sim.handshakes().attempts
    );
    // The probe fails (still refusing): open again. Then the server comes back.
    wait_for(
        &mut lifecycle,
        |l| matches!(l, Lifecycle::Breaker { state, .. } if state == "open"),
    )
    .await?;
    sim.refuse_connections(Duration::ZERO);
    wait_for(
        &mut lifecycle,
        |l| matches!(l, Lifecycle::Breaker { state, .. } if state == "closed"),
    )
    .await?;
    next_event(&mut sub).await?;
    let snapshot = &client.breakers()[0].1;
    ensure!(
        matches!(snapshot.state, circuit_breaker::State::Closed),
        "{snapshot:?}"
    );
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
