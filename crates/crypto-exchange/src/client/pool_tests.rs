//! Deterministic tests of the pool on the in-memory transport, under paused
//! tokio time: shutdown, unsubscribing a dropped subscriber, retiring an emptied
//! slot, and one attempt budget for every slot.
//!
//! `Client::shutdown` is `Pool::shutdown` plus awaiting the tasks it returns, and
//! dropping a `Subscription` is `Pool::drop_sink`; these tests drive the pool
//! directly because `Client` is bound to the socket connector.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use reconnect::{AttemptBudget, BudgetConfig};
use tokio::sync::broadcast;
use ws_transport::CloseCause;
use ws_transport::memory::{Acceptor, Attempt, Server};

use super::config::ClientConfig;
use super::lifecycle::Lifecycle;
use super::live::LiveDecoder;
use super::pool::{Pool, PoolParts};
use super::stats::Counters;
use super::test_support::{
    EventsRx, LIMIT, Memory, accept, agg_id, agg_trade, answer_subscribe, config, endpoints,
    next_event, next_request, reply, streams, until_close, wait_for,
};

/// A pool on the in-memory transport, and the handles to watch it.
struct Harness {
    pool: Pool<Memory, LiveDecoder>,
    connector: Memory,
    acceptor: Acceptor,
    lifecycle: broadcast::Receiver<Lifecycle>,
    counters: Arc<Counters>,
}

impl Harness {
    /// A pool with `config`, whose first connection attempts end as `script`
    /// says (then every attempt is accepted).
    fn start(config: ClientConfig, script: impl IntoIterator<Item = Attempt>) -> Result<Self> {
        let (connector, acceptor) = Memory::new(&config.transport)?;
        connector.script(script);
        let (lifecycle_tx, lifecycle) = broadcast::channel(4096);
        let counters = Arc::new(Counters::default());
        let parts = PoolParts {
            endpoints: endpoints(&config)?,
            budget: AttemptBudget::new(config.attempt_budget.clone())?,
            config: Arc::new(config),
            connector: connector.clone(),
            lifecycle: lifecycle_tx,
            counters: Arc::clone(&counters),
            health: None,
        };
        Ok(Harness {
            pool: Pool::new(parts, LiveDecoder::new, None, None, None, None),
            connector,
            acceptor,
            lifecycle,
            counters,
        })
    }

    /// Subscribes `names` for subscriber `sink`; returns its receiver.
    fn subscribe(&mut self, sink: u64, names: &[&str]) -> Result<EventsRx> {
        let (sender, receiver) = crate::client::sink::channel(1024);
        self.pool.subscribe(&streams(names)?, sink, &sender);
        Ok(receiver)
    }

    /// The next connection a driver opens.
    async fn accept(&mut self) -> Result<Server> {
        accept(&mut self.acceptor).await
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_every_connection_with_1000_and_ends_every_task() -> Result<()> {
    let mut h = Harness::start(config(|c| c.streams_per_connection = 1), [])?;
    let _events = h.subscribe(1, &["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    let mut servers = vec![h.accept().await?, h.accept().await?];
    let mut subscribed = Vec::new();
    for server in &mut servers {
        let request = next_request(server).await?;
        ensure!(request.method == "SUBSCRIBE" && request.params.len() == 1);
        reply(server, request.id);
        subscribed.extend(request.params);
    }
    subscribed.sort();
    ensure!(
        subscribed == ["btcusdt@aggTrade", "ethusdt@aggTrade"],
        "one stream per slot"
    );
    for _ in 0..2 {
        wait_for(&mut h.lifecycle, |l| {
            matches!(l, Lifecycle::Subscribed { streams: 1, .. })
        })
        .await?;
    }
    ensure!(h.counters.snapshot().streams_per_connection.len() == 2);

    let shutdown = h.pool.shutdown();
    for server in &mut servers {
        ensure!(until_close(server).await? == (Some(1000), vec![]));
    }
    let report = shutdown.finish(LIMIT).await.context("no supervisor")?;
    ensure!(
        report.in_time.len() + report.already_stopped.len() == 2 && report.all_in_time(),
        "{report:?}"
    );
    // Nothing reconnects.
    tokio::time::advance(Duration::from_secs(3600)).await;
    ensure!(h.connector.attempts().len() == 2);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_dropped_subscriber_is_unsubscribed_and_an_emptied_slot_closes() -> Result<()> {
    let mut h = Harness::start(config(|_| {}), [])?;
    let mut first = h.subscribe(1, &["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    let mut server = h.accept().await?;
    answer_subscribe(&mut server, &["btcusdt@aggTrade", "ethusdt@aggTrade"]).await?;
    wait_for(&mut h.lifecycle, |l| {
        matches!(l, Lifecycle::Subscribed { streams: 2, .. })
    })
    .await?;
    // A second subscriber shares a stream the connection already carries, and
    // adds one: only the new one is subscribed (which also shows the driver has
    // taken the second subscriber in).
    let mut second = h.subscribe(2, &["ethusdt@aggTrade", "bnbbtc@aggTrade"])?;
    answer_subscribe(&mut server, &["bnbbtc@aggTrade"]).await?;
    server.send_text(agg_trade("ethusdt", 1));
    ensure!(agg_id(&next_event(&mut first).await?) == Some(1));
    ensure!(agg_id(&next_event(&mut second).await?) == Some(1));

    // The first subscriber goes: only the stream nobody else listens to is
    // unsubscribed, and the connection stays.
    h.pool.drop_sink(1);
    let request = next_request(&mut server).await?;
    ensure!(
        request.method == "UNSUBSCRIBE" && request.params == ["btcusdt@aggTrade"],
        "{request:?}"
    );
    reply(&server, request.id);
    server.send_text(agg_trade("btcusdt", 2));
    server.send_text(agg_trade("ethusdt", 2));
    ensure!(agg_id(&next_event(&mut second).await?) == Some(2));
    let stats = h.counters.snapshot();
    ensure!(
        stats.streams_per_connection.values().eq([&2]) && stats.unrouted_events == 1,
        "{stats:?}"
    );

    // The last one goes: the emptied slot closes with 1000 (an `UNSUBSCRIBE`
    // may or may not leave first: the close overtakes queued frames) and its
    // driver ends, dropping the connection.
    h.pool.drop_sink(2);
    let (code, texts) = until_close(&mut server).await?;
    ensure!(code == Some(1000), "{code:?}");
    ensure!(
        texts
            .iter()
            .all(|t| t.contains("UNSUBSCRIBE") && t.contains("ethusdt@aggTrade")),
        "{texts:?}"
    );
    ensure!(
        tokio::time::timeout(LIMIT, server.recv()).await?.is_none(),
        "the connection was dropped"
    );
    ensure!(h.counters.snapshot().streams_per_connection.is_empty());
    tokio::time::advance(Duration::from_secs(3600)).await;
    ensure!(
        h.connector.attempts().len() == 1,
        "the slot does not reconnect"
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn every_slot_spends_the_same_attempt_budget() -> Result<()> {
    let budget = BudgetConfig {
        attempts: 3,
        window: Duration::from_secs(60),
        burst: 2,
    };
    let mut h = Harness::start(
        config(|c| {
            c.streams_per_connection = 1;
            c.attempt_budget = budget.clone();
        }),
        std::iter::repeat_n(Attempt::Fail(CloseCause::Refused), 6),
    )?;
    let _events = h.subscribe(1, &["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    // Six refusals, then both slots connect.
    let _servers = [h.accept().await?, h.accept().await?];
    let attempts = h.connector.attempts();
    ensure!(attempts.len() == 8, "{attempts:?}");
    for (i, &start) in attempts.iter().enumerate() {
        let in_window = attempts[i..]
            .iter()
            .take_while(|&&at| at < start + budget.window)
            .count();
        ensure!(
            in_window <= budget.attempts as usize,
            "{in_window} attempts within {:?} from attempt {}: {attempts:?}",
            budget.window,
            i + 1
        );
    }
    ensure!(h.counters.snapshot().connect_failures == 6);
    let report = h
        .pool
        .shutdown()
        .finish(LIMIT)
        .await
        .context("no supervisor")?;
    ensure!(report.all_in_time(), "{report:?}");
    Ok(())
}
