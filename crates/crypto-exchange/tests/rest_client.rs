//! The REST client against `binance-sim`: it paces itself under the weight limit,
//! honours 429 `Retry-After`, stops while a 418 ban lasts, retries 5xx on GETs,
//! and reads the weight header.

use std::time::Duration;

use anyhow::{Result, ensure};
use binance_sim::{RestFault, Sim, SimConfig, SimHandle};
use crypto_exchange::domain::Symbol;
use crypto_exchange::rest::{BudgetConfig, RestClient, RestConfig, RestError, RestEvent};

/// A simulator whose weight window is 2 s with a limit of 200.
async fn sim() -> Result<SimHandle> {
    let mut config = SimConfig::default();
    config.rest.weight_per_minute = 200;
    config.rest.weight_window = Duration::from_secs(2);
    config.rest.ban_duration = Duration::from_secs(2);
    Ok(Sim::start(config).await?)
}

fn client(sim: &SimHandle) -> Result<RestClient> {
    Ok(RestClient::new(RestConfig {
        base_url: sim.rest_url(),
        budget: BudgetConfig {
            limit: 200,
            share: 0.8,
            window: Duration::from_secs(2),
        },
        retry_backoff: Duration::from_millis(100),
        ..RestConfig::default()
    })?)
}

fn btc() -> Result<Symbol> {
    Ok(Symbol::new("BTCUSDT")?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sustained_load_never_triggers_the_servers_429() -> Result<()> {
    let sim = sim().await?;
    let rest = client(&sim)?;
    let symbol = btc()?;
    let first = sim.with_market(|m| {
        m.symbol("BTCUSDT")
            .and_then(|s| s.agg_trades().first().map(|a| a.id))
    });
    let first = first.unwrap_or_default();
    // 100 requests of weight 4 = 400 weight: more than two windows' allowance (160 each).
    let started = std::time::Instant::now();
    for i in 0..100 {
        let trades = rest.agg_trades(&symbol, first + i * 10, 10).await?;
        ensure!(trades.len() == 10 && trades[0].agg_trade_id == first + i * 10);
    }
    let stats = sim.rest_stats();
    ensure!(
        !stats.by_status.contains_key(&429),
        "the server had to throttle: {stats:?}"
    );
    ensure!(stats.by_status.get(&200) == Some(&100));
    ensure!(
        started.elapsed() >= Duration::from_secs(2),
        "pacing spread the load over windows"
    );
    ensure!(rest.used_weight() > 0, "the weight header was read");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_honoured_with_retry_after() -> Result<()> {
    let sim = sim().await?;
    let rest = client(&sim)?;
    let mut events = rest.events();
    sim.set_rest_fault(
        RestFault::TooManyRequests,
        Some(Duration::from_millis(1500)),
    );
    let started = std::time::Instant::now();
    let snapshot = rest.depth(&btc()?, 10).await?;
    ensure!(!snapshot.bids.is_empty());
    ensure!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for Retry-After"
    );
    let event = events.try_recv()?;
    ensure!(
        matches!(event, RestEvent::Throttled { retry_after_ms } if retry_after_ms > 0),
        "{event:?}"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_418_stops_every_call_until_the_ban_ends() -> Result<()> {
    let sim = sim().await?;
    let rest = client(&sim)?;
    let mut events = rest.events();
    sim.set_rest_fault(RestFault::Banned, Some(Duration::from_secs(2)));
    let err = rest.ping().await.err();
    let Some(RestError::Banned { until_ms }) = err else {
        anyhow::bail!("expected a ban, got {err:?}");
    };
    ensure!(matches!(events.try_recv()?, RestEvent::Banned { .. }));
    let sent = sim.rest_stats().requests;
    // While banned, nothing reaches the server.
    for _ in 0..5 {
        ensure!(matches!(rest.ping().await, Err(RestError::Banned { .. })));
    }
    ensure!(
        sim.rest_stats().requests == sent,
        "calls went out during the ban"
    );
    ensure!(rest.banned_until() == Some(until_ms));
    // After the ban the client works again.
    let wait = until_ms.saturating_sub(binance_sim::now_ms());
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    sim.clear_rest_fault();
    rest.ping().await?;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_reported() -> Result<()> {
    let sim = sim().await?;
    let rest = client(&sim)?;
    sim.set_rest_fault(
        RestFault::ServerError(503),
        Some(Duration::from_millis(150)),
    );
    rest.ping().await?;
    sim.set_rest_fault(RestFault::ServerError(500), None);
    let err = rest.ping().await.err();
    ensure!(
        matches!(
            &err,
            Some(RestError::Server {
                status: 500,
                code: Some(-1001),
                attempts: 4,
                ..
            })
        ),
        "{err:?}"
    );
    sim.clear_rest_fault();
    let err = rest.depth(&Symbol::new("NOPEUSDT")?, 10).await.err();
    ensure!(
        matches!(
            &err,
            Some(RestError::Refused {
                status: 400,
                code: Some(-1121),
                ..
            })
        ),
        "{err:?}"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_server_errors_open_the_hosts_breaker() -> Result<()> {
    let sim = sim().await?;
    let rest = RestClient::new(RestConfig {
        base_url: sim.rest_url(),
        max_retries: 0,
        ..RestConfig::default()
    })?;
    sim.set_rest_fault(RestFault::ServerError(502), None);
    for _ in 0..5 {
        ensure!(matches!(
            rest.ping().await,
            Err(RestError::Server { status: 502, .. })
        ));
    }
    let sent = sim.rest_stats().requests;
    let err = rest.ping().await.err();
    ensure!(
        matches!(err, Some(RestError::CircuitOpen { retry_in_ms }) if retry_in_ms > 25_000),
        "{err:?}"
    );
    ensure!(
        sim.rest_stats().requests == sent,
        "an open breaker sends nothing"
    );
    ensure!(matches!(
        rest.breaker().state,
        crypto_exchange::BreakerState::Open
    ));
    sim.clear_rest_fault();
    rest.reset_breaker();
    rest.ping().await?;
    sim.shutdown().await;
    Ok(())
}
