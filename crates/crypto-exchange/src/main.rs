//! `crypto-exchange`: the market-data gateway binary.
//!
//! Subcommands: `demo`, `stream`, `sim`, `chaos`, `user`, `config`. Exit codes: 0 success (also a
//! `--duration` that ran out, Ctrl-C, or a closed output pipe), 1 a runtime
//! failure (for `chaos`: a scenario failed its verification), 2 bad arguments or
//! configuration. Logs go to stderr (`RUST_LOG` sets the level), so stdout stays
//! clean for `--output jsonl` and `chaos --json`.

#[macro_use]
mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A fault-tolerant client for Binance Spot WebSocket streams.
#[derive(Debug, Parser)]
#[command(name = "crypto-exchange", version, propagate_version = true)]
struct Cli {
    /// Log format on stderr: `text` (human; coloured on a terminal) or `json`
    /// (one JSON object per line, with the span path). Level: RUST_LOG.
    #[arg(long, value_enum, global = true, default_value = "text")]
    log_format: cli::logs::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Stream through an embedded simulated exchange while faults are injected.
    Demo(cli::demo::DemoArgs),
    /// Stream Binance market data to stdout (default endpoints: Binance production).
    Stream(cli::stream::StreamArgs),
    /// Run the simulated Binance exchange alone; prints its WebSocket, REST and admin URLs.
    Sim(Box<binance_sim::cli::SimArgs>),
    /// Run the resilience scenarios against the embedded simulator and write a
    /// report (exit code 1 when a scenario fails its verification).
    Chaos(cli::chaos::ChaosArgs),
    /// Check a configuration file, or show the effective configuration.
    Config(cli::config::ConfigArgs),
    /// Stream one account's own events (orders, fills, balances) as JSON lines;
    /// keys come from environment variables (default endpoints: Binance production).
    User(cli::user::UserArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command;
    // `demo` and `chaos` report faults, alerts and recoveries themselves (a
    // live view, a report); their logs would only garble that, so they are off
    // unless RUST_LOG asks for them.
    let default_filter = match command {
        Command::Demo(_) | Command::Chaos(_) => "off",
        _ => "warn",
    };
    let logs = cli::logs::Logs::new(cli.log_format, default_filter);
    // `stream` starts its logs once its configuration is loaded: the
    // configuration may name an OpenTelemetry collector (`telemetry.otlp_endpoint`).
    if !matches!(command, Command::Stream(_)) {
        logs.init();
    }
    if let Command::Config(args) = command {
        return cli::config::run(args);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("crypto-exchange: cannot start the async runtime: {error}");
            return ExitCode::from(cli::EXIT_RUNTIME);
        }
    };
    runtime.block_on(async move {
        match command {
            Command::Demo(args) => cli::demo::run(args).await,
            Command::Stream(args) => cli::stream::run(args, logs).await,
            Command::Sim(args) => run_sim(&args).await,
            Command::Chaos(args) => cli::chaos::run(args).await,
            Command::Config(args) => cli::config::run(args),
            Command::User(args) => cli::user::run(args).await,
        }
    })
}

async fn run_sim(args: &binance_sim::cli::SimArgs) -> ExitCode {
    let config = match args.to_config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("crypto-exchange sim: {error}");
            return ExitCode::from(cli::EXIT_USAGE);
        }
    };
    match binance_sim::cli::serve_until_ctrl_c(config, &mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crypto-exchange sim: {error}");
            ExitCode::from(cli::EXIT_RUNTIME)
        }
    }
}
