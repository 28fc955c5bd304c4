//! `crypto-exchange demo`: the simulated exchange in-process, the client streaming
//! from it, and faults injected on a schedule, so the first minute shows the
//! client surviving them. A status line every second; a summary at the end.
//!
//! The demo shortens the client's timings (reconnect schedule, rate-limit
//! backoff, silence timeout) so that a minute holds several faults; the
//! defaults are Binance-safe and much longer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use binance_sim::{DropKind, Sim, SimConfig, SimHandle};
use crypto_exchange::domain::Event;
use crypto_exchange::{Client, ClientConfig, Lifecycle, Update};
use tokio::time::Instant;

use super::output::describe;
use super::{EXIT_RUNTIME, EXIT_USAGE, duration, ops, shutdown_signal};

/// Options of `demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// How long to run (0s: until Ctrl-C).
    #[arg(long, default_value = "60s", value_parser = duration)]
    duration: Duration,
    /// Seconds between injected faults.
    #[arg(long, default_value = "8s", value_parser = duration)]
    fault_every: Duration,
    /// Seed of the simulated market.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Address of the ops endpoint (/health, /health/ready, /health/live,
    /// /metrics, /alerts); port 0 picks a free port. Loopback only, unless
    /// --ops-allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    ops_addr: SocketAddr,
    /// Allow --ops-addr to be a non-loopback address (the endpoint has no
    /// authentication).
    #[arg(long)]
    ops_allow_remote: bool,
}

/// The faults the demo cycles through.
#[derive(Debug, Clone, Copy)]
enum Fault {
    GoingAway,
    Reset,
    RateLimitClose,
    Stall,
    ServerShutdown,
    Refuse,
}

const FAULTS: [Fault; 6] = [
    Fault::GoingAway,
    Fault::RateLimitClose,
    Fault::Stall,
    Fault::ServerShutdown,
    Fault::Reset,
    Fault::Refuse,
];

impl Fault {
    fn inject(self, sim: &SimHandle) -> &'static str {
        match self {
            Fault::GoingAway => {
                sim.drop_connections(DropKind::Close {
                    code: 1001,
                    reason: "going away".into(),
                });
                "server closed every connection (1001 going away)"
            }
            Fault::Reset => {
                sim.drop_connections(DropKind::Reset);
                "TCP reset of every connection"
            }
            Fault::RateLimitClose => {
                sim.drop_connections(DropKind::Close {
                    code: 1008,
                    reason: "Too many requests".into(),
                });
                "server closed with 1008 Too many requests (rate limit)"
            }
            Fault::Stall => {
                sim.set_stalled(true);
                "server stalled: sockets open, nothing sent (4 s)"
            }
            Fault::ServerShutdown => {
                sim.send_server_shutdown();
                "server announced serverShutdown"
            }
            Fault::Refuse => {
                sim.refuse_connections(Duration::from_secs(2));
                sim.drop_connections(DropKind::Reset);
                "connections reset and refused for 2 s"
            }
        }
    }
}

/// Counts per second and integrity per symbol.
#[derive(Default)]
struct Tally {
    events: u64,
    window: u64,
    last_agg: HashMap<String, u64>,
    missing: u64,
    duplicates: u64,
    lagged: u64,
    backfilled: u64,
    lost: u64,
}

impl Tally {
    fn record(&mut self, event: &Event) {
        self.events += 1;
        self.window += 1;
        if let Event::AggTrade(trade) = event {
            let id = trade.agg_trade_id;
            match self.last_agg.get_mut(trade.symbol.as_str()) {
                Some(last) if id <= *last => self.duplicates += 1,
                Some(last) => {
                    self.missing += id - *last - 1;
                    *last = id;
                }
                None => {
                    self.last_agg.insert(trade.symbol.as_str().to_owned(), id);
                }
            }
        }
    }
}

pub(crate) async fn run(args: DemoArgs) -> ExitCode {
    if args.fault_every < Duration::from_secs(3) {
        eprintln!(
            "crypto-exchange demo: --fault-every = {:?} must be at least 3s, so each recovery is visible",
            args.fault_every
        );
        return ExitCode::from(EXIT_USAGE);
    }
    if let Err(problem) = ops::config(args.ops_addr, args.ops_allow_remote) {
        eprintln!("crypto-exchange demo: {problem}");
        return ExitCode::from(EXIT_USAGE);
    }
    let mut sim_config = SimConfig {
        seed: args.seed,
        ..SimConfig::default()
    };
    for spec in &mut sim_config.symbols {
        spec.actions_per_sec = 100.0;
    }
    let sim = match Sim::start(sim_config).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("crypto-exchange demo: cannot start the simulated exchange: {error}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let mut config = ClientConfig::with_endpoints(sim.ws_url(), sim.rest_url());
    config.reconnect.rate_limit_delay = Duration::from_secs(3);
    config.reconnect.rate_limit_max_delay = Duration::from_secs(6);
    config.reconnect.healthy_after = Duration::from_secs(3);
    config.transport.silence_timeout = Duration::from_secs(3);
    let client = match Client::new(config) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("crypto-exchange demo: {error}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    println!(
        "crypto-exchange demo: simulated Binance at {} (REST {})",
        sim.ws_url(),
        sim.rest_url()
    );
    let ops = match ops::start(
        &client,
        args.ops_addr,
        args.ops_allow_remote,
        "crypto-exchange demo",
    )
    .await
    {
        Ok(ops) => ops,
        Err(code) => {
            sim.shutdown().await;
            return code;
        }
    };
    for url in ops::urls(&ops) {
        println!("ops: {url}");
    }
    println!(
        "streaming btcusdt, ethusdt, bnbbtc x aggTrade, depth@100ms, bookTicker; a fault every {}",
        humantime::format_duration(args.fault_every)
    );
    let streams: Vec<String> = ["btcusdt", "ethusdt", "bnbbtc"]
        .iter()
        .flat_map(|s| ["aggTrade", "depth@100ms", "bookTicker"].map(|k| format!("{s}@{k}")))
        .collect();
    let mut subscription = match client.subscribe(&streams) {
        Ok(subscription) => subscription,
        Err(error) => {
            eprintln!("crypto-exchange demo: {error}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let mut lifecycle = client.lifecycle();
    let limit = (!args.duration.is_zero()).then_some(args.duration);
    let stop = shutdown_signal(limit);
    tokio::pin!(stop);

    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut next_fault = started + args.fault_every.min(Duration::from_secs(5));
    let mut fault_index = 0;
    let mut unstall_at: Option<Instant> = None;
    let mut outage_since: Option<Instant> = None;
    let mut recoveries: Vec<Duration> = Vec::new();
    let mut faults = 0;
    let mut state = "connecting".to_owned();
    let mut tally = Tally::default();
    loop {
        tokio::select! {
            () = &mut stop => break,
            update = subscription.next() => match update {
                Some(Update::Event(event)) => {
                    tally.record(&event.event);
                    if let Some(since) = outage_since.take() {
                        let took = since.elapsed();
                        recoveries.push(took);
                        println!("  -> streams delivering again after {took:.1?}");
                    }
                }
                Some(Update::Lagged { missed }) => tally.lagged += missed,
                Some(Update::Backfilled { stream, count }) => {
                    tally.backfilled += count;
                    println!("  -> {stream}: {count} missed trades recovered from REST, in order");
                }
                Some(Update::Gap { stream, from, to }) => {
                    tally.lost += to - from + 1;
                    println!("  -> {stream}: ids {from}..={to} could not be recovered");
                }
                Some(_) => {}
                None => break,
            },
            signal = lifecycle.next() => {
                let Some(signal) = signal else { break };
                match &signal {
                    Lifecycle::Disconnected { .. } => {
                        outage_since.get_or_insert_with(Instant::now);
                        state = "down".into();
                    }
                    Lifecycle::Subscribed { .. } => state = "live".into(),
                    Lifecycle::Reconnecting { .. } => state = "backing off".into(),
                    Lifecycle::Rotated { .. } => state = "live (rotated)".into(),
                    _ => {}
                }
                println!("  {}", describe(&signal));
            }
            _ = tick.tick() => {
                let now = Instant::now();
                if unstall_at.is_some_and(|at| now >= at) {
                    sim.set_stalled(false);
                    unstall_at = None;
                    println!("  fault over: server sends again");
                }
                if now >= next_fault {
                    let fault = FAULTS[fault_index % FAULTS.len()];
                    fault_index += 1;
                    faults += 1;
                    println!("! fault {faults}: {}", fault.inject(&sim));
                    if matches!(fault, Fault::Stall) {
                        unstall_at = Some(now + Duration::from_secs(4));
                    }
                    next_fault = now + args.fault_every;
                }
                let health = client.system_health();
                println!(
                    "[{:>4}s] {:>6} events/s | connection {} | health {} ({} alerts) | faults {} | recoveries {} | aggTrade ids missing {} duplicated {}",
                    started.elapsed().as_secs(),
                    std::mem::take(&mut tally.window),
                    state,
                    health.level,
                    health.alerts.len(),
                    faults,
                    recoveries.len(),
                    tally.missing,
                    tally.duplicates,
                );
            }
        }
    }
    let health = client.system_health();
    client.shutdown().await;
    if let Err(error) = ops.shutdown().await {
        eprintln!("crypto-exchange demo: ops endpoint: {error}");
    }
    sim.shutdown().await;
    let stats = client.stats();
    let max = recoveries.iter().max().copied().unwrap_or_default();
    println!();
    println!(
        "summary: {} events in {:.0?}; {} faults injected, {} recoveries (slowest {:.1?}); {} rotations without a gap",
        tally.events,
        started.elapsed(),
        faults,
        recoveries.len(),
        max,
        stats.rotations
    );
    println!(
        "integrity: aggTrade ids duplicated {}, missing {}; {} trades recovered from REST after reconnects; {} ids reported lost",
        tally.duplicates, tally.missing, tally.backfilled, tally.lost
    );
    println!(
        "health at the end: {}; alerts active {}, resolved {}",
        health.level,
        health.alerts.len(),
        health.history.len()
    );
    ExitCode::SUCCESS
}
