//! Shared helpers for the client's integration tests against `binance-sim`.

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::time::Duration;

use anyhow::{Context, Result, bail};
use binance_sim::{Sim, SimConfig, SimHandle};
use crypto_exchange::domain::Event;
use crypto_exchange::{
    Client, ClientConfig, Lifecycle, Lifecycles, StreamEvent, Subscription, Update,
};
use tokio::time::timeout;

/// How long any single wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// A simulator with busy markets.
pub(crate) async fn sim_with(adjust: impl FnOnce(&mut SimConfig)) -> Result<SimHandle> {
    let mut config = SimConfig::default();
    for spec in &mut config.symbols {
        spec.actions_per_sec = 200.0;
    }
    adjust(&mut config);
    Ok(Sim::start(config).await?)
}

/// A client for the simulator with a fast reconnect schedule (tests run in real time).
pub(crate) fn client_for(
    sim: &SimHandle,
    adjust: impl FnOnce(&mut ClientConfig),
) -> Result<Client> {
    let mut config = ClientConfig::with_endpoints(sim.ws_url(), sim.rest_url());
    config.reconnect.initial_delay = Duration::from_millis(100);
    config.reconnect.max_delay = Duration::from_millis(800);
    config.reconnect.rate_limit_delay = Duration::from_millis(1500);
    config.reconnect.rate_limit_max_delay = Duration::from_secs(3);
    config.reconnect.healthy_after = Duration::from_secs(2);
    adjust(&mut config);
    Ok(Client::new(config)?)
}

/// The next event (skipping `Backfilled` notices); fails on `Lagged`, `Gap` or a timeout.
pub(crate) async fn next_event(sub: &mut Subscription) -> Result<StreamEvent> {
    loop {
        match timeout(WAIT, sub.next())
            .await
            .context("no event in time")?
        {
            Some(Update::Event(event)) => return Ok(event),
            // A reconnect's missed ids were recovered: the events themselves came
            // before this notice.
            Some(Update::Backfilled { .. }) => {}
            Some(Update::Lagged { missed }) => bail!("lagged by {missed}"),
            Some(other) => bail!("unexpected update {other:?}"),
            None => bail!("subscription ended"),
        }
    }
}

/// Waits for a lifecycle signal matching `pred`.
pub(crate) async fn wait_for(
    lifecycle: &mut Lifecycles,
    pred: impl Fn(&Lifecycle) -> bool,
) -> Result<Lifecycle> {
    timeout(WAIT, async {
        loop {
            match lifecycle.next().await {
                Some(signal) if pred(&signal) => return Ok(signal),
                Some(_) => {}
                None => bail!("lifecycle ended"),
            }
        }
    })
    .await
    .context("lifecycle signal not seen in time")?
}

/// The aggregate-trade id of an event, if it is one.
pub(crate) fn agg_id(event: &StreamEvent) -> Option<u64> {
    match &event.event {
        Event::AggTrade(a) => Some(a.agg_trade_id),
        _ => None,
    }
}
