//! `crypto-exchange demo`: the simulated exchange and fault proxies in-process,
//! the client streaming three symbols through them, and a fault every 10–20 s
//! (seeded) in rotation: network faults through the proxy (latency, partition,
//! resets, a slow link) and exchange faults (closes, 1008, stall,
//! `serverShutdown`, refusals, REST 503). On a terminal a live view is
//! redrawn in place; otherwise (or with `--plain`) one line per second. At the
//! end, lost and duplicated events are counted against the simulator's own
//! history, and the summary says how many (exit code 1 if any).
//!
//! The demo shortens the client's timings (`chaos::Timings`) so a minute holds
//! several faults; the defaults are Binance-safe and much longer.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use crypto_exchange::chaos::{Demo, DemoConfig};

use super::demo_view::{Live, plain_line, summary};
use super::{EXIT_RUNTIME, EXIT_USAGE, duration, ops, shutdown_signal};

/// Options of `demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// How long to run (0s: until Ctrl-C).
    #[arg(long, default_value = "60s", value_parser = duration)]
    duration: Duration,
    /// Time between injected faults: a range such as 10s-20s (each gap drawn
    /// from the seed) or one value such as 15s; at least 3s.
    #[arg(long, value_name = "MIN[-MAX]", default_value = "10s-20s", value_parser = fault_every)]
    fault_every: FaultEvery,
    /// Seeds the simulated market and the fault schedule.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Plain lines even on a terminal (the default when stdout is not one).
    #[arg(long)]
    plain: bool,
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

/// `--fault-every`: the shortest and longest gap.
#[derive(Debug, Clone, Copy)]
struct FaultEvery(Duration, Duration);

fn fault_every(text: &str) -> Result<FaultEvery, String> {
    let (lo, hi) = match text.split_once("..").or_else(|| text.split_once('-')) {
        Some((lo, hi)) => (duration(lo.trim())?, duration(hi.trim())?),
        None => {
            let one = duration(text)?;
            (one, one)
        }
    };
    if lo < Duration::from_secs(3) {
        return Err(format!(
            "{text}: faults must be at least 3s apart, so each recovery is visible"
        ));
    }
    if hi < lo {
        return Err(format!("{text}: the longest gap is shorter than the shortest"));
    }
    Ok(FaultEvery(lo, hi))
}

pub(crate) async fn run(args: DemoArgs) -> ExitCode {
    if let Err(problem) = ops::config(args.ops_addr, args.ops_allow_remote) {
        eprintln!("crypto-exchange demo: {problem}");
        return ExitCode::from(EXIT_USAGE);
    }
    let config = DemoConfig {
        fault_every: (args.fault_every.0, args.fault_every.1),
        ..DemoConfig::new(args.seed)
    };
    let mut demo = match Demo::start(config).await {
        Ok(demo) => demo,
        Err(error) => {
            eprintln!("crypto-exchange demo: {error}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    println!("crypto-exchange demo: {}", demo.describe());
    let ops = match ops::start(demo.client(), args.ops_addr, args.ops_allow_remote, "crypto-exchange demo").await {
        Ok(ops) => ops,
        Err(code) => {
            demo.finish().await;
            return code;
        }
    };
    let urls = ops::urls(&ops);
    for url in &urls {
        println!("ops: {url}");
    }
    let every = if args.fault_every.0 == args.fault_every.1 {
        humantime::format_duration(args.fault_every.0).to_string()
    } else {
        format!(
            "{}-{}",
            humantime::format_duration(args.fault_every.0),
            humantime::format_duration(args.fault_every.1)
        )
    };
    println!(
        "streaming {}; a fault every {every} (seed {}); {}",
        demo.streams().join(", "),
        args.seed,
        if args.duration.is_zero() {
            "Ctrl-C stops".to_owned()
        } else {
            format!("for {} (Ctrl-C stops earlier)", humantime::format_duration(args.duration))
        }
    );
    let limit = (!args.duration.is_zero()).then_some(args.duration);
    let stop = shutdown_signal(limit);
    tokio::pin!(stop);
    let mut live = (std::io::stdout().is_terminal() && !args.plain).then(|| {
        Live::new(format!(
            "crypto-exchange demo, seed {}: {}",
            args.seed,
            urls.first().map_or("", String::as_str)
        ))
    });
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = tick.tick() => {
                ticks += 1;
                let notes = demo.tick();
                match &mut live {
                    Some(view) => {
                        if !notes.is_empty() || ticks % 2 == 0 {
                            let status = demo.status();
                            for note in &notes {
                                view.note(status.elapsed, note);
                            }
                            view.draw(&status);
                        }
                    }
                    None => {
                        for note in &notes {
                            println!("{note}");
                        }
                        if ticks % 4 == 0 {
                            println!("{}", plain_line(&demo.status()));
                        }
                    }
                }
            }
        }
    }
    drop(live);
    println!("stopping: clearing faults, freezing the market, counting against its history…");
    let result = demo.finish().await;
    if let Err(error) = ops.shutdown().await {
        eprintln!("crypto-exchange demo: ops endpoint: {error}");
    }
    println!();
    for line in summary(&result) {
        println!("{line}");
    }
    let m = &result.report.measures.overall;
    if m.lost + m.duplicated + m.out_of_order > 0 || !result.caught_up {
        eprintln!(
            "crypto-exchange demo: integrity broken: {} lost, {} duplicated, {} out of order{}",
            m.lost,
            m.duplicated,
            m.out_of_order,
            if result.caught_up { "" } else { "; the client did not deliver the frozen market's last ids" }
        );
        return ExitCode::from(EXIT_RUNTIME);
    }
    ExitCode::SUCCESS
}
