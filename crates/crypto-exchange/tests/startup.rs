//! Start-up with a 1,000-stream configuration against `binance-sim`: the
//! configuration (100 symbols × 10 stream types, as TOML) is read and
//! validated, the client is built and subscribes, and every stream is
//! confirmed on its connection. The test checks that all of it happens; the
//! times are printed (run with `--nocapture`) and recorded in
//! `docs/benchmarks.md`, never asserted.

mod client_common;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use binance_sim::market::SymbolSpec;
use binance_sim::{Sim, SimConfig};
use client_common::WAIT;
use crypto_exchange::settings::{Loader, Origin};
use crypto_exchange::{Client, Lifecycle};
use tokio::time::timeout;

const TYPES: [&str; 10] = [
    "aggTrade",
    "trade",
    "bookTicker",
    "depth",
    "depth@100ms",
    "kline_1m",
    "miniTicker",
    "ticker",
    "avgPrice",
    "depth5",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_stream_configuration_starts_and_connects() -> Result<()> {
    let template = SimConfig::default()
        .symbols
        .into_iter()
        .next()
        .context("no default symbol")?;
    let names: Vec<String> = (0..100).map(|i| format!("S{i:03}USDT")).collect();
    let symbols = names
        .iter()
        .map(|name| {
            let mut spec = SymbolSpec::new(
                name,
                template.start_price,
                template.tick_size,
                template.step_size,
            );
            spec.actions_per_sec = 1.0;
            spec
        })
        .collect();
    let sim = Sim::start(SimConfig {
        symbols,
        ..SimConfig::default()
    })
    .await?;
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let types: Vec<String> = TYPES.iter().map(|&t| t.to_owned()).collect();
    let text = format!(
        "[endpoints]\nws = [{:?}]\nrest = [{:?}]\n[streams]\nsymbols = [{}]\ntypes = [{}]\n",
        sim.ws_url(),
        sim.rest_url(),
        quoted(&names),
        quoted(&types)
    );

    let start = Instant::now();
    let mut loader = Loader::new();
    loader.toml(&text, Origin::File, "startup.toml");
    let settings = loader.resolve()?.settings;
    let streams = settings.selected_streams().map_err(anyhow::Error::msg)?;
    let validated = start.elapsed();
    ensure!(streams.len() == 1000, "{} streams", streams.len());

    let client = Client::new(settings.client_config())?;
    let mut lifecycle = client.lifecycle();
    let _subscription = client.subscribe_streams(streams);
    let subscribed_call = start.elapsed();
    let mut first_connecting = None;
    let mut confirmed = 0usize;
    timeout(WAIT, async {
        while confirmed < 1000 {
            match lifecycle.next().await {
                Some(Lifecycle::Connecting { .. }) if first_connecting.is_none() => {
                    first_connecting = Some(start.elapsed());
                }
                Some(Lifecycle::Subscribed { streams, .. }) => confirmed += streams,
                Some(_) => {}
                None => anyhow::bail!("lifecycle ended"),
            }
        }
        Ok(())
    })
    .await
    .context("not every stream confirmed in time")??;
    let all_confirmed = start.elapsed();
    ensure!(
        client.connections().len() == 5,
        "{:?}",
        client.connections()
    );
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    eprintln!(
        "startup (1000 streams, 5 connections): validated {} | subscribed {} | first connecting {} | all confirmed {}",
        ms(validated),
        ms(subscribed_call),
        first_connecting.map_or_else(|| "-".to_owned(), ms),
        ms(all_confirmed)
    );
    client.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
