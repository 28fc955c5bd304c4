//! The embedded test bed: the simulated exchange, fault proxies in front of
//! its WebSocket and REST listeners, a client with short timings pointed at
//! the proxies, and optionally one order book. Scenarios and the demo run on
//! it.
//!
//! Teardown is owned: the simulator and the proxies stop when their handles
//! are dropped, the observation tasks are aborted when [`Tasks`] is dropped,
//! and the client's drivers when the client is. So a scenario that fails, times
//! out or panics never leaves anything listening; [`Testbed::shutdown`] is the
//! graceful path that also waits.

use std::time::Duration;

use ::chaos::{Proxy, ProxyConfig};
use binance_sim::{Sim, SimConfig, SimHandle};
use tokio::task::JoinHandle;

use super::config::Timings;
use super::error::ChaosError;
use crate::book::{BookConfig, OrderBooks};
use crate::domain::Symbol;
use crate::{Client, ClientConfig};

/// The symbol whose order book scenarios keep and check.
pub(crate) const BOOK: &str = "BTCUSDT";

/// The depth stream of [`BOOK`].
pub(crate) const BOOK_STREAM: &str = "btcusdt@depth@100ms";

/// The symbols every scenario streams (the simulator's defaults).
pub(crate) const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "BNBBTC"];

/// The `aggTrade` stream name of a symbol (`btcusdt@aggTrade`).
pub(crate) fn agg_stream(symbol: &str) -> String {
    format!("{}@aggTrade", symbol.to_ascii_lowercase())
}

/// Spawned tasks, aborted when dropped.
#[derive(Default)]
pub(crate) struct Tasks(Vec<JoinHandle<()>>);

impl Tasks {
    pub(crate) fn push(&mut self, task: JoinHandle<()>) {
        self.0.push(task);
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// What to build.
pub(crate) struct BedSpec {
    /// The scenario's name (or `demo`), for errors.
    pub(crate) label: String,
    /// Seeds the market and the proxies.
    pub(crate) seed: u64,
    /// Market actions per second per symbol.
    pub(crate) actions_per_sec: f64,
    /// The shortened timings.
    pub(crate) timings: Timings,
    /// A second WebSocket endpoint (another proxy to the same simulator).
    pub(crate) alt_endpoint: bool,
    /// The symbol whose order book is kept and checked, if any.
    pub(crate) book: Option<&'static str>,
    /// Changes to the simulator's configuration.
    pub(crate) adjust_sim: Box<dyn FnOnce(&mut SimConfig) + Send>,
    /// Changes to the client's configuration.
    pub(crate) adjust_client: Box<dyn FnOnce(&mut ClientConfig) + Send>,
}

impl BedSpec {
    /// A spec with no adjustments.
    pub(crate) fn new(label: impl Into<String>, seed: u64, timings: Timings) -> Self {
        BedSpec {
            label: label.into(),
            seed,
            actions_per_sec: 200.0,
            timings,
            alt_endpoint: false,
            book: None,
            adjust_sim: Box::new(|_| {}),
            adjust_client: Box::new(|_| {}),
        }
    }
}

/// A running test bed.
pub(crate) struct Testbed {
    pub(crate) sim: SimHandle,
    /// In front of the simulator's WebSocket listener: the client's first endpoint.
    pub(crate) ws: Proxy,
    /// In front of the simulator's REST listener.
    pub(crate) rest: Proxy,
    /// A second WebSocket endpoint, when asked for.
    pub(crate) alt: Option<Proxy>,
    pub(crate) client: Client,
    pub(crate) books: Option<OrderBooks>,
    /// The symbol of the book [`Testbed::start_book`] starts.
    pub(crate) book: Option<&'static str>,
    label: String,
    /// Observation tasks, aborted on drop.
    pub(crate) tasks: Tasks,
}

/// The client configuration for the proxies, with the short timings.
pub(crate) fn client_config(ws: &[String], rest: &str, timings: &Timings) -> ClientConfig {
    let mut config = ClientConfig::with_endpoints(ws[0].clone(), rest);
    config.endpoints = ws.to_vec();
    config.reconnect.initial_delay = timings.reconnect_initial;
    config.reconnect.max_delay = timings.reconnect_max;
    config.reconnect.rate_limit_delay = timings.rate_limit_delay;
    config.reconnect.rate_limit_max_delay = timings.rate_limit_max_delay;
    config.reconnect.healthy_after = Duration::from_secs(1);
    config.transport.silence_timeout = timings.silence_timeout;
    config.transport.handshake_timeout = timings.handshake_timeout;
    config.breaker.open_duration = timings.breaker_open;
    config.breaker.max_open_duration = timings.breaker_open.saturating_mul(2);
    config.breaker.probe_timeout = timings.handshake_timeout.saturating_mul(2);
    config.rest.timeout = timings.rest_timeout;
    config.rest.retry_backoff = timings.rest_retry_backoff;
    config.rest.max_retries = 4;
    config.rest.breaker.open_duration = timings.breaker_open;
    config.rest.breaker.max_open_duration = timings.breaker_open.saturating_mul(2);
    config.rest.max_wait = Duration::from_secs(30);
    // Endpoint choice at the same scale: a failing endpoint is left after
    // 500 ms on it (Binance-safe: 30 s), probed every 300 ms, failed back to
    // after 2 s healthy.
    config.fallback.endpoints.min_dwell = Duration::from_millis(500);
    config.fallback.endpoints.failback_after = Duration::from_secs(2);
    config.fallback.endpoints.probe_interval = Some(Duration::from_millis(300));
    // Backfills deliver bursts; the recording subscriber must never lag.
    config.subscriber_buffer = 1 << 15;
    config
}

impl Testbed {
    /// Starts the simulator, the proxies and the client (no connection yet).
    ///
    /// # Errors
    /// [`ChaosError::Setup`] naming what could not start; whatever had
    /// started is stopped (dropped) before this returns.
    pub(crate) async fn start(spec: BedSpec) -> Result<Testbed, ChaosError> {
        let label = spec.label.clone();
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            ChaosError::setup(&label, format!("{what}: {e}"))
        };
        let mut sim_config = SimConfig {
            seed: spec.seed,
            admin_listen: None,
            ..SimConfig::default()
        };
        for symbol in &mut sim_config.symbols {
            symbol.actions_per_sec = spec.actions_per_sec;
        }
        sim_config.rules.ping_interval = spec.timings.server_ping;
        (spec.adjust_sim)(&mut sim_config);
        let sim = Sim::start(sim_config)
            .await
            .map_err(|e| fail("the simulated exchange", &e))?;
        let proxy = |upstream, salt: u64| {
            let mut config = ProxyConfig::new(upstream);
            config.seed = spec.seed ^ salt;
            Proxy::start(config)
        };
        let ws = proxy(sim.ws_addr(), 0x5753)
            .await
            .map_err(|e| fail("the WebSocket proxy", &e))?;
        let rest = proxy(sim.rest_addr(), 0x5245)
            .await
            .map_err(|e| fail("the REST proxy", &e))?;
        let alt = if spec.alt_endpoint {
            Some(
                proxy(sim.ws_addr(), 0x414c)
                    .await
                    .map_err(|e| fail("the second WebSocket proxy", &e))?,
            )
        } else {
            None
        };
        let mut endpoints = vec![format!("ws://{}", ws.addr())];
        endpoints.extend(alt.iter().map(|p| format!("ws://{}", p.addr())));
        let mut config = client_config(
            &endpoints,
            &format!("http://{}", rest.addr()),
            &spec.timings,
        );
        (spec.adjust_client)(&mut config);
        let client = Client::new(config).map_err(|e| fail("the client", &e))?;
        Ok(Testbed {
            sim,
            ws,
            rest,
            alt,
            client,
            books: None,
            book: spec.book,
            label,
            tasks: Tasks::default(),
        })
    }

    /// Starts the order book, if the spec asked for one. Separate from
    /// [`Testbed::start`] so that observers can listen to the client's
    /// lifecycle before its first connection opens.
    ///
    /// # Errors
    /// [`ChaosError::Setup`] when the book cannot start.
    pub(crate) fn start_book(&mut self) -> Result<(), ChaosError> {
        let Some(name) = self.book else {
            return Ok(());
        };
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            ChaosError::setup(&self.label, format!("{what}: {e}"))
        };
        let symbol = Symbol::new(name).map_err(|e| fail("the book's symbol", &e))?;
        let config = BookConfig {
            first_diff_timeout: Duration::from_secs(2),
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(1),
            ..BookConfig::default()
        };
        let books = OrderBooks::start(&self.client, self.client.rest().clone(), [symbol], config)
            .map_err(|e| fail("the order book", &e))?;
        self.books = Some(books);
        Ok(())
    }

    /// Stops everything gracefully and waits for it: observation tasks,
    /// books, the client (within its shutdown deadline), the proxies, the
    /// simulator.
    pub(crate) async fn shutdown(self) {
        let Testbed {
            sim,
            ws,
            rest,
            alt,
            client,
            books,
            tasks,
            ..
        } = self;
        drop(tasks);
        if let Some(books) = books {
            books.shutdown().await;
        }
        client.shutdown().await;
        ws.shutdown().await;
        rest.shutdown().await;
        if let Some(alt) = alt {
            alt.shutdown().await;
        }
        sim.shutdown().await;
    }

    /// Freezes every symbol's market (0 actions per second).
    pub(crate) fn freeze(&self) {
        for symbol in SYMBOLS {
            // Listed symbols only: cannot fail.
            let _ = self.sim.set_symbol_rate(symbol, 0.0);
        }
    }

    /// The simulator's newest aggregate-trade id of `symbol`.
    pub(crate) fn last_agg_id(&self, symbol: &str) -> Option<u64> {
        self.sim.with_market(|m| {
            m.symbol(symbol)
                .and_then(|s| s.agg_trades().last())
                .map(|r| r.id)
        })
    }

    /// The aggregate-trade ids the simulator traded from `first` to `last`.
    pub(crate) fn agg_ids(&self, symbol: &str, first: u64, last: u64) -> Vec<u64> {
        let count = usize::try_from(last.saturating_sub(first) + 1).unwrap_or(usize::MAX);
        self.sim.with_market(|m| {
            m.symbol(symbol).map_or_else(Vec::new, |s| {
                s.agg_trades()
                    .from_id(first, count)
                    .into_iter()
                    .map(|r| r.id)
                    .filter(|id| *id <= last)
                    .collect()
            })
        })
    }
}
