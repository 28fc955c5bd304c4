//! A long outage, then a large backfill (issue 6): the client is kept away from
//! the simulator (connections refused) while one symbol trades a given number of
//! aggregate trades; when connections are accepted again, the client finds the
//! gap on the first live event and backfills every missed id from REST, through
//! its weight budget, before the live events that followed.
//!
//! [`run`] measures how long that takes and checks what it must: every id
//! delivered once and in order (backfilled, then live), no `Gap`, no `Lagged`,
//! no REST answer 429 or 418, and the weight the simulator counted in any of its
//! windows (sampled every few milliseconds) never above its limit.
//! `tests/tests/integrity_backfill.rs` runs it as a test,
//! `tests/benches/backfill.rs` as a benchmark (figures in `docs/benchmarks.md`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use binance_sim::{DropKind, Sim, SimConfig, SimHandle};
use crypto_exchange::domain::Event;
use crypto_exchange::rest::BudgetConfig;
use crypto_exchange::{Client, ClientConfig, Lifecycle, PollingMode, Source, Update};
use tokio::time::timeout;

/// The symbol that trades.
const SYMBOL: &str = "BTCUSDT";
/// Its stream.
const STREAM: &str = "btcusdt@aggTrade";
/// Market actions per second outside the outage (a few hundred trades per second).
const CALM: f64 = 500.0;
/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Aggregate trades the client must miss (at least).
    pub missed: u64,
    /// Market actions per second during the outage (about 0.3 aggregate trades each).
    pub outage_rate: f64,
    /// The simulator's REST weight limit per window, which the client's budget
    /// is also told.
    pub weight_limit: u32,
    /// The simulator's (and the client's) weight window.
    pub weight_window: Duration,
}

impl Setup {
    /// Binance's REST limits: 6000 weight per minute.
    #[must_use]
    pub fn binance(missed: u64) -> Self {
        Setup {
            missed,
            outage_rate: 60_000.0,
            weight_limit: 6000,
            weight_window: Duration::from_secs(60),
        }
    }

    /// A tight budget that the backfill has to be paced under: 120 weight per
    /// second (30 pages of `aggTrades` per second before the client's 80 % share).
    #[must_use]
    pub fn tight(missed: u64) -> Self {
        Setup {
            missed,
            outage_rate: 60_000.0,
            weight_limit: 120,
            weight_window: Duration::from_secs(1),
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// The setup.
    pub setup: Setup,
    /// Ids missed during the outage (delivered from REST).
    pub backfilled: u64,
    /// How long the outage lasted (the market trading the missed ids).
    pub outage: Duration,
    /// From the reconnected client's `Subscribed` signal to the `Backfilled` notice.
    pub backfill: Duration,
    /// From the first backfilled event the subscriber received to the notice.
    pub delivery: Duration,
    /// Live events delivered after the backfilled ones (held back meanwhile).
    pub live_after: u64,
    /// REST requests the simulator answered, by status.
    pub rest_by_status: BTreeMap<u16, u64>,
    /// REST requests in all.
    pub rest_requests: u64,
    /// The most weight the simulator counted in one window, sampled.
    pub max_weight: u32,
}

impl Report {
    /// Backfilled events per second, from `Subscribed` to the notice.
    #[must_use]
    pub fn rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "a count of events")]
        let events = self.backfilled as f64;
        events / self.backfill.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ids backfilled in {:.2} s from Subscribed ({:.0} events/s; delivery {:.2} s), \
             then {} live; outage {:.1} s; REST {} requests {:?}; max weight per {:?} window {} of {}",
            self.backfilled,
            self.backfill.as_secs_f64(),
            self.rate(),
            self.delivery.as_secs_f64(),
            self.live_after,
            self.outage.as_secs_f64(),
            self.rest_requests,
            self.rest_by_status,
            self.setup.weight_window,
            self.max_weight,
            self.setup.weight_limit,
        )
    }
}

/// The last aggregate-trade id the simulator traded.
fn last_id(sim: &SimHandle) -> Option<u64> {
    sim.with_market(|m| m.symbol(SYMBOL)?.agg_trades().last().map(|r| r.id))
}

/// Runs the scenario once; errors say what broke.
///
/// # Errors
/// Any violated expectation (order, gap, lag, REST limit), or a wait that timed out.
pub async fn run(setup: Setup) -> Result<Report> {
    let mut config = SimConfig {
        retention: usize::try_from(setup.missed)?
            .saturating_mul(2)
            .max(150_000),
        ..SimConfig::default()
    };
    config.symbols.retain(|s| s.symbol == SYMBOL);
    config.symbols[0].actions_per_sec = CALM;
    config.rest.weight_per_minute = setup.weight_limit;
    config.rest.weight_window = setup.weight_window;
    let sim = Sim::start(config).await?;

    let mut client_config = ClientConfig::with_endpoints(sim.ws_url(), sim.rest_url());
    client_config.reconnect.initial_delay = Duration::from_millis(50);
    client_config.reconnect.max_delay = Duration::from_millis(200);
    client_config.rest.budget = BudgetConfig {
        limit: setup.weight_limit,
        window: setup.weight_window,
        ..BudgetConfig::default()
    };
    // Room for every backfilled event and the live ones held behind them.
    client_config.subscriber_buffer = usize::try_from(setup.missed)?.saturating_mul(2) + 65_536;
    // Refused attempts must not open the breaker for long.
    client_config.breaker.open_duration = Duration::from_millis(200);
    // This measures the backfill after the outage: no REST polling during it
    // (`tests/tests/fallback_polling.rs` covers the outage served by polling).
    client_config.fallback.polling = PollingMode::Disabled;
    let client = Client::new(client_config)?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe([STREAM])?;
    timeout(WAIT, async {
        while !matches!(
            lifecycle.next().await,
            Some(Lifecycle::Subscribed { .. }) | None
        ) {}
    })
    .await
    .context("never subscribed")?;

    // Live first, so that the client knows where the stream stands.
    let mut last = None;
    let mut live_before = 0;
    while live_before < 100 {
        match timeout(WAIT, sub.next()).await.context("no live event")? {
            Some(Update::Event(event)) => {
                last = Some(id(&event.event)?);
                live_before += 1;
            }
            other => bail!("before the outage: {other:?}"),
        }
    }
    let last_before = last.context("no live id")?;

    // The outage: refused while the market trades fast.
    let outage_started = Instant::now();
    sim.refuse_connections(WAIT);
    sim.set_symbol_rate(SYMBOL, setup.outage_rate)?;
    ensure!(
        sim.drop_connections(DropKind::Reset) > 0,
        "no connection to drop"
    );
    let target = last_before + setup.missed + 1;
    while last_id(&sim).is_none_or(|id| id < target) {
        ensure!(
            outage_started.elapsed() < WAIT,
            "the market did not trade {} ids in {WAIT:?}",
            setup.missed
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.set_symbol_rate(SYMBOL, CALM)?;
    // Whatever the client had before the drop, still in the subscription's buffer.
    let mut expected = last_before + 1;
    while let Ok(Some(update)) = timeout(Duration::from_millis(50), sub.next()).await {
        match update {
            Update::Event(event) => {
                let got = id(&event.event)?;
                ensure!(got == expected, "{got} where {expected} was due");
                expected += 1;
            }
            other => bail!("during the outage: {other:?}"),
        }
    }
    let outage = outage_started.elapsed();

    sim.refuse_connections(Duration::ZERO);
    let reconnected = timeout(WAIT, async {
        loop {
            match lifecycle.next().await {
                Some(Lifecycle::Subscribed { .. }) => return Ok(Instant::now()),
                Some(_) => {}
                None => bail!("the client ended"),
            }
        }
    })
    .await
    .context("never subscribed again")??;

    let mut backfilled = 0;
    let mut first_backfilled = None;
    let mut notice = None;
    let mut live_after = 0;
    // The simulator's weight in its current window, sampled while the client
    // backfills (between updates, and every few milliseconds without one).
    let mut max_weight = 0;
    let mut sample = tokio::time::interval(Duration::from_millis(2));
    let deadline = tokio::time::sleep(WAIT);
    tokio::pin!(deadline);
    while live_after < 100 {
        let update = tokio::select! {
            update = sub.next() => update.context("the subscription ended")?,
            _ = sample.tick() => {
                max_weight = max_weight.max(weight(&sim));
                continue;
            }
            () = &mut deadline => bail!("the backfill did not end within {WAIT:?}"),
        };
        max_weight = max_weight.max(weight(&sim));
        match update {
            Update::Event(event) => {
                let got = id(&event.event)?;
                ensure!(
                    got == expected,
                    "{got} ({:?}) where {expected} was due",
                    event.source
                );
                expected += 1;
                match event.source {
                    Source::Backfill => {
                        ensure!(notice.is_none(), "{got} backfilled after the notice");
                        first_backfilled.get_or_insert_with(Instant::now);
                        backfilled += 1;
                    }
                    _ => {
                        if first_backfilled.is_some() {
                            ensure!(notice.is_some(), "live {got} before the backfill's notice");
                            live_after += 1;
                        }
                    }
                }
            }
            Update::Backfilled { count, .. } => {
                ensure!(
                    count == backfilled,
                    "the notice says {count}, {backfilled} were backfilled"
                );
                notice = Some(Instant::now());
            }
            other => bail!("after the outage: {other:?}"),
        }
    }
    let rest = sim.rest_stats();
    client.shutdown().await;
    sim.shutdown().await;

    let (Some(first_backfilled), Some(notice)) = (first_backfilled, notice) else {
        bail!("nothing was backfilled");
    };
    ensure!(
        backfilled >= setup.missed,
        "only {backfilled} ids backfilled, {} missed",
        setup.missed
    );
    ensure!(
        rest.by_status.keys().all(|&status| status == 200) && rest.bans == 0,
        "REST answered {:?}: the budget was exceeded",
        rest.by_status
    );
    ensure!(
        max_weight <= setup.weight_limit,
        "{max_weight} weight used in one window, the limit is {}",
        setup.weight_limit
    );
    Ok(Report {
        setup,
        backfilled,
        outage,
        backfill: notice.duration_since(reconnected),
        delivery: notice.duration_since(first_backfilled),
        live_after,
        rest_by_status: rest.by_status,
        rest_requests: rest.requests,
        max_weight,
    })
}

/// The most weight any IP used in the simulator's current window.
fn weight(sim: &SimHandle) -> u32 {
    sim.rest_stats()
        .weight_used_1m
        .values()
        .copied()
        .max()
        .unwrap_or(0)
}

fn id(event: &Event) -> Result<u64> {
    match event {
        Event::AggTrade(trade) => Ok(trade.agg_trade_id),
        other => bail!("not an aggTrade: {other:?}"),
    }
}
