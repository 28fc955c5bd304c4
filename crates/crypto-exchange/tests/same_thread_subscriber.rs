//! A subscriber on the same current-thread runtime as a busy connection keeps
//! up: the driver yields after each full burst of frames (at most 257 events),
//! so the subscriber reads them before its buffer (4096) can overflow.
//!
//! Without the yield the connection task handled tens of thousands of frames
//! per turn against the simulator's firehose and this subscriber lost about
//! 99 % of the events to `Lagged` (`docs/benchmarks.md`, the one-thread layout).

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use binance_sim::{FirehoseConfig, Sim, SimConfig};
use crypto_exchange::{Client, ClientConfig, Update};

const EVENTS: u64 = 30_000;

#[test]
fn a_subscriber_on_the_connections_thread_never_lags() -> Result<()> {
    // The simulator on its own thread, so that it pushes as fast as it can
    // whatever this thread does; the client and the subscriber on this one.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let sim_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let sim = sim_runtime.block_on(Sim::start(SimConfig {
        firehose: Some(FirehoseConfig {
            symbol: "BTCUSDT".into(),
        }),
        admin_listen: None,
        ..SimConfig::default()
    }))?;
    // The firehose starts when the handshake URL names its stream; the trailing
    // `/stream` keeps the client from appending its own (see benches/pipeline.rs).
    let endpoint = format!(
        "{}/stream?streams=btcusdt@aggTrade&then=/stream",
        sim.ws_url()
    );
    let config = ClientConfig::with_endpoints(endpoint, sim.rest_url());
    runtime.block_on(subscribe_and_count(config))?;
    sim_runtime.block_on(sim.shutdown());
    sim_runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// Receives [`EVENTS`] consecutive events; fails on any `Lagged`.
async fn subscribe_and_count(config: ClientConfig) -> Result<()> {
    ensure!(
        config.subscriber_buffer == 4096,
        "the default buffer changed"
    );
    let client = Client::new(config)?;
    let mut subscription = client.subscribe(["btcusdt@aggTrade"])?;

    let (mut delivered, mut last_id) = (0_u64, None::<u64>);
    while delivered < EVENTS {
        let update = tokio::time::timeout(Duration::from_secs(30), subscription.next())
            .await
            .context("no update from the firehose within 30 s")?;
        match update {
            Some(Update::Event(event)) => {
                let crypto_exchange::domain::Event::AggTrade(trade) = &event.event else {
                    bail!("not an aggTrade: {event:?}");
                };
                if let Some(last) = last_id {
                    ensure!(
                        trade.agg_trade_id == last + 1,
                        "id {} after {last}",
                        trade.agg_trade_id
                    );
                }
                last_id = Some(trade.agg_trade_id);
                delivered += 1;
            }
            Some(Update::Lagged { missed }) => {
                bail!("the subscriber lagged after {delivered} events: {missed} missed")
            }
            Some(other) => bail!("unexpected update {other:?}"),
            None => bail!("the subscription ended"),
        }
    }
    drop(subscription);
    // Dropping the client ends its tasks with this runtime; a graceful close
    // would wait for the firehose's close frame, which never comes.
    drop(client);
    Ok(())
}
