//! The per-event path allocates nothing: socket read → WebSocket frame → decode
//! (the `aggTrade` fast path) → route → staged delivery → the subscriber's
//! `Update::Event`.
//!
//! A counting global allocator watches the whole process (simulator included)
//! while a subscriber receives 50,000 events of the simulator's `aggTrade`
//! firehose over loopback, after a warm-up that lets buffers reach their
//! working size. Per-burst and per-read work (buffer growth, a timer, the
//! simulator's writes) may allocate now and then: a few hundred times here,
//! against the 50,000 an allocation per event would make. The bound is a tenth
//! of an allocation per event, so a loaded machine (smaller bursts) passes and
//! any per-event allocation fails.

use std::alloc::System;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use binance_sim::{FirehoseConfig, Sim, SimConfig};
use crypto_exchange::{Client, ClientConfig, Subscription, Update};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const WARM_UP: u64 = 20_000;
const MEASURED: u64 = 50_000;

/// Events delivered and missed until `count` were handled.
async fn receive(subscription: &mut Subscription, count: u64) -> Result<(u64, u64)> {
    let (mut delivered, mut missed) = (0, 0);
    while delivered + missed < count {
        let update = tokio::time::timeout(Duration::from_secs(30), subscription.next())
            .await
            .context("no update from the firehose within 30 s")?;
        match update {
            Some(Update::Event(_)) => delivered += 1,
            Some(Update::Lagged { missed: m }) => missed += m,
            Some(other) => bail!("unexpected update {other:?}"),
            None => bail!("the subscription ended"),
        }
    }
    Ok((delivered, missed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiving_an_event_allocates_nothing() -> Result<()> {
    let sim = Sim::start(SimConfig {
        firehose: Some(FirehoseConfig {
            symbol: "BTCUSDT".into(),
        }),
        admin_listen: None,
        ..SimConfig::default()
    })
    .await?;
    // The firehose starts when the handshake URL names its stream; the trailing
    // `/stream` keeps the client from appending its own (see benches/pipeline.rs).
    let endpoint = format!(
        "{}/stream?streams=btcusdt@aggTrade&then=/stream",
        sim.ws_url()
    );
    let client = Client::new(ClientConfig::with_endpoints(endpoint, sim.rest_url()))?;
    let mut subscription = client.subscribe(["btcusdt@aggTrade"])?;
    receive(&mut subscription, WARM_UP).await?;

    let region = Region::new(GLOBAL);
    let (delivered, missed) = receive(&mut subscription, MEASURED).await?;
    let change = region.change();
    let allocations = u64::try_from(change.allocations + change.reallocations)?;

    println!(
        "{allocations} allocations while {delivered} events were delivered and {missed} missed"
    );
    ensure!(delivered > 0, "nothing was delivered");
    ensure!(
        allocations * 10 < MEASURED,
        "{allocations} allocations for {MEASURED} events ({delivered} delivered, {missed} missed): \
         the per-event path allocates"
    );
    drop(subscription);
    drop(client);
    sim.shutdown().await;
    Ok(())
}
