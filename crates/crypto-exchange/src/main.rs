//! `crypto-exchange`: the market-data gateway binary.
//!
//! Subcommands: `demo`, `stream`, `sim`, `chaos`. Exit codes: 0 success,
//! 1 a runtime failure, 2 bad arguments or configuration, 3 a subcommand that
//! this build does not provide yet.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A fault-tolerant client for Binance Spot WebSocket streams.
#[derive(Debug, Parser)]
#[command(name = "crypto-exchange", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Stream through an embedded simulated exchange while faults are injected (arrives with the client).
    Demo,
    /// Stream Binance market data (arrives with the client).
    Stream,
    /// Run the simulated Binance exchange alone; prints its WebSocket, REST and admin URLs.
    Sim(Box<binance_sim::cli::SimArgs>),
    /// Run the resilience scenarios and print a report (arrives with the chaos suite).
    Chaos,
}

/// Exit code for a subcommand this build does not provide yet.
const NOT_YET: u8 = 3;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Sim(args) => run_sim(&args),
        Command::Demo | Command::Stream => {
            eprintln!(
                "crypto-exchange: this subcommand arrives with the resilient client, which is not built yet.\n\
                 Today you can run the simulated exchange: `crypto-exchange sim` (see --help)."
            );
            ExitCode::from(NOT_YET)
        }
        Command::Chaos => {
            eprintln!(
                "crypto-exchange: the resilience suite arrives with the chaos work, which is not built yet.\n\
                 Today you can run the simulated exchange and drive its faults through its admin API: `crypto-exchange sim`."
            );
            ExitCode::from(NOT_YET)
        }
    }
}

fn run_sim(args: &binance_sim::cli::SimArgs) -> ExitCode {
    let config = match args.to_config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("crypto-exchange sim: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("crypto-exchange sim: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(binance_sim::cli::serve_until_ctrl_c(
        config,
        &mut std::io::stdout(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crypto-exchange sim: {error}");
            ExitCode::FAILURE
        }
    }
}
