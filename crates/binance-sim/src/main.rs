//! `binance-sim`: the simulated Binance Spot exchange as a program.
//!
//! Prints its WebSocket, REST and admin URLs on stdout, one per line, then serves
//! until Ctrl-C. `binance-sim --help` lists every option.

use std::process::ExitCode;

use clap::Parser;

/// A faithful local Binance Spot exchange: market streams, REST market data,
/// Binance's connection rules and fault controls, on loopback.
#[derive(Debug, Parser)]
#[command(name = "binance-sim", version)]
struct Cli {
    #[command(flatten)]
    sim: binance_sim::cli::SimArgs,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = match cli.sim.to_config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("binance-sim: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("binance-sim: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(binance_sim::cli::serve_until_ctrl_c(
        config,
        &mut std::io::stdout(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("binance-sim: {error}");
            ExitCode::FAILURE
        }
    }
}
