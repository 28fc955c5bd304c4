//! Graceful degradation end to end (issue 7): one simulated exchange behind
//! two WebSocket addresses (two `chaos` proxies in front of the same
//! simulator, so each address can be taken down on its own with
//! `Fault::Reset`), REST straight to the simulator, and a client with both
//! addresses as its endpoints, the primary first.
//!
//! [`Tracker`] checks every update a subscription yields: trade ids exactly
//! once and in order (a `Gap` or a `Lagged` fails the test), and counts
//! events by stream and source.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use binance_sim::{Sim, SimConfig, SimHandle};
use chaos::{Proxy, ProxyConfig};
use crypto_exchange::domain::Event;
use crypto_exchange::{
    Client, ClientConfig, Lifecycle, Lifecycles, Source, StreamEvent, Subscription, Update,
};
use tokio::time::{Instant, timeout};

/// The longest any single wait of these tests may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// The simulator and its two WebSocket fronts.
pub struct Exchange {
    /// The simulated exchange (REST is used directly).
    pub sim: SimHandle,
    /// The primary WebSocket address.
    pub primary: Proxy,
    /// The secondary WebSocket address.
    pub secondary: Proxy,
}

impl Exchange {
    /// A simulator with busy markets, adjusted by `adjust`, and two proxies
    /// in front of its WebSocket listener.
    ///
    /// # Errors
    /// When the simulator or a proxy cannot start.
    pub async fn start(adjust: impl FnOnce(&mut SimConfig)) -> Result<Self> {
        let mut config = SimConfig::default();
        for spec in &mut config.symbols {
            spec.actions_per_sec = 100.0;
        }
        adjust(&mut config);
        let sim = Sim::start(config).await?;
        let primary = Proxy::start(ProxyConfig::new(sim.ws_addr())).await?;
        let secondary = Proxy::start(ProxyConfig::new(sim.ws_addr())).await?;
        Ok(Exchange {
            sim,
            primary,
            secondary,
        })
    }

    /// The primary's endpoint name, as signals and `best_endpoint` give it.
    #[must_use]
    pub fn primary_url(&self) -> String {
        format!("ws://{}", self.primary.addr())
    }

    /// The secondary's endpoint name.
    #[must_use]
    pub fn secondary_url(&self) -> String {
        format!("ws://{}", self.secondary.addr())
    }

    /// A client configuration for both addresses (primary first) and the
    /// simulator's REST, with a fast reconnect schedule and short fallback
    /// periods (tests run in real time), adjusted by `adjust`.
    #[must_use]
    pub fn config(&self, adjust: impl FnOnce(&mut ClientConfig)) -> ClientConfig {
        let mut config = ClientConfig::with_endpoints(self.primary_url(), self.sim.rest_url());
        config.endpoints.push(self.secondary_url());
        config.reconnect.initial_delay = Duration::from_millis(100);
        config.reconnect.max_delay = Duration::from_millis(400);
        config.reconnect.healthy_after = Duration::from_secs(1);
        config.breaker.open_duration = Duration::from_millis(500);
        config.breaker.max_open_duration = Duration::from_secs(1);
        config.fallback.endpoints.min_dwell = Duration::from_millis(500);
        config.fallback.endpoints.failback_after = Duration::from_secs(2);
        config.fallback.endpoints.probe_interval = Some(Duration::from_millis(300));
        config.fallback.connection.failed_after = Duration::from_secs(2);
        config.fallback.connection.stable_after = Duration::from_secs(1);
        config.health.alerts.clear_after = Duration::from_secs(1);
        config.rest.retry_backoff = Duration::from_millis(50);
        adjust(&mut config);
        config
    }

    /// Shuts everything down.
    pub async fn shutdown(self) {
        self.primary.shutdown().await;
        self.secondary.shutdown().await;
        self.sim.shutdown().await;
    }
}

/// The trade id of an event, if it is a trade.
#[must_use]
pub fn trade_id(event: &StreamEvent) -> Option<u64> {
    match &event.event {
        Event::AggTrade(t) => Some(t.agg_trade_id),
        Event::Trade(t) => Some(t.trade_id),
        _ => None,
    }
}

/// Checks and counts what a subscription yields.
#[derive(Debug, Default)]
pub struct Tracker {
    /// The last trade id per stream.
    pub last: BTreeMap<String, u64>,
    /// Events per (stream, source).
    pub counts: BTreeMap<(String, &'static str), u64>,
    /// Trade ids delivered per stream.
    pub ids: BTreeMap<String, u64>,
}

impl Tracker {
    /// Takes one update: an event is checked (trade ids continue their
    /// stream exactly) and counted; a backfill notice is fine; a gap, a lag
    /// or the end is an error.
    ///
    /// # Errors
    /// A repeated, missing or out-of-order trade id, a `Gap`, `Lagged`, or the
    /// end of the subscription.
    pub fn take(&mut self, update: Option<Update>) -> Result<Option<StreamEvent>> {
        match update {
            Some(Update::Event(event)) => {
                let stream = event.stream.to_string();
                if let Some(id) = trade_id(&event) {
                    if let Some(&last) = self.last.get(&stream) {
                        ensure!(
                            id == last + 1,
                            "{stream}: id {id} after {last} ({}; {:?})",
                            if id <= last { "a duplicate" } else { "ids missing" },
                            event.source
                        );
                    }
                    self.last.insert(stream.clone(), id);
                    *self.ids.entry(stream.clone()).or_default() += 1;
                }
                *self
                    .counts
                    .entry((stream, source_name(event.source)))
                    .or_default() += 1;
                Ok(Some(event))
            }
            Some(Update::Backfilled { .. }) => Ok(None),
            Some(other) => bail!("unexpected update {other:?}"),
            None => bail!("the subscription ended"),
        }
    }

    /// Events of `source` on every stream.
    #[must_use]
    pub fn of(&self, source: Source) -> u64 {
        let name = source_name(source);
        self.counts
            .iter()
            .filter(|((_, s), _)| *s == name)
            .map(|(_, n)| n)
            .sum()
    }
}

/// A source's name.
#[must_use]
pub fn source_name(source: Source) -> &'static str {
    match source {
        Source::Live => "live",
        Source::Backfill => "backfill",
        Source::Refresh => "refresh",
        Source::Poll => "poll",
        _ => "other",
    }
}

/// Reads updates into `tracker` and lifecycle signals until `done` says a
/// signal is the one awaited; returns it. Bounded by [`WAIT`].
///
/// # Errors
/// What [`Tracker::take`] rejects, the end of either stream, or the wait
/// running out.
pub async fn until_signal(
    sub: &mut Subscription,
    lifecycle: &mut Lifecycles,
    tracker: &mut Tracker,
    mut done: impl FnMut(&Lifecycle) -> bool,
) -> Result<Lifecycle> {
    let deadline = Instant::now() + WAIT;
    loop {
        tokio::select! {
            update = sub.next() => { tracker.take(update)?; }
            signal = lifecycle.next() => {
                let signal = signal.context("the lifecycle ended")?;
                if done(&signal) {
                    return Ok(signal);
                }
            }
            () = tokio::time::sleep_until(deadline) => bail!("no awaited signal within {WAIT:?}"),
        }
    }
}

/// Reads updates into `tracker` until `done` holds for it. Bounded by [`WAIT`].
///
/// # Errors
/// What [`Tracker::take`] rejects, or the wait running out.
pub async fn until_tracked(
    sub: &mut Subscription,
    tracker: &mut Tracker,
    mut done: impl FnMut(&Tracker) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    while !done(tracker) {
        let update = timeout(deadline.saturating_duration_since(Instant::now()), sub.next())
            .await
            .context("the awaited events did not come in time")?;
        tracker.take(update)?;
    }
    Ok(())
}

/// Waits (bounded by [`WAIT`], checking every 10 ms and after every update
/// read into `tracker`) until `check` holds.
///
/// # Errors
/// What [`Tracker::take`] rejects, or the wait running out.
pub async fn until(
    sub: &mut Subscription,
    tracker: &mut Tracker,
    what: &str,
    mut check: impl FnMut(&Tracker) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    loop {
        if check(tracker) {
            return Ok(());
        }
        tokio::select! {
            update = sub.next() => { tracker.take(update)?; }
            _ = tick.tick() => {}
            () = tokio::time::sleep_until(deadline) => bail!("{what}: not within {WAIT:?}"),
        }
    }
}

/// A client for `config`, subscribed to `streams`, its lifecycle, and the
/// first `Subscribed` signal seen.
///
/// # Errors
/// A bad configuration or stream, or no subscription within [`WAIT`].
pub async fn subscribed(
    config: ClientConfig,
    streams: &[&str],
) -> Result<(Client, Subscription, Lifecycles, Tracker)> {
    let client = Client::new(config)?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(streams)?;
    let mut tracker = Tracker::default();
    until_signal(&mut sub, &mut lifecycle, &mut tracker, |l| {
        matches!(l, Lifecycle::Subscribed { .. })
    })
    .await?;
    Ok((client, sub, lifecycle, tracker))
}
