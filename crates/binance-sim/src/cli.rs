//! Command-line options for running the simulator as a program, shared by the
//! `binance-sim` binary and `crypto-exchange sim`.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{FirehoseConfig, SimConfig, default_symbols};
use crate::decimal::Fixed;
use crate::error::SimError;
use crate::market::SymbolSpec;
use crate::server::Sim;

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}: write a duration such as 500ms, 20s, 5m or 24h"))
}

/// Options of a standalone simulated exchange.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address of the market-stream WebSocket listener.
    #[arg(long, default_value = "127.0.0.1:9443", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Address of the REST listener (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub rest_listen: SocketAddr,
    /// Address of the admin API (fault controls and counters; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub admin_listen: SocketAddr,
    /// Seed of the simulated market: the same seed gives the same orders, trades and ids.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Listed symbols, comma-separated; each as SYMBOL or SYMBOL:PRICE:TICK:STEP
    /// (BTCUSDT, ETHUSDT and BNBBTC have realistic defaults).
    #[arg(long, value_delimiter = ',', default_value = "BTCUSDT,ETHUSDT,BNBBTC")]
    pub symbols: Vec<String>,
    /// Market actions (orders, cancels, takers) per second per symbol.
    #[arg(long, default_value_t = 50.0, value_name = "N")]
    pub rate: f64,
    /// Benchmark mode: this symbol's aggTrade stream is pushed as fast as the socket takes it.
    #[arg(long, value_name = "SYMBOL")]
    pub firehose: Option<String>,
    /// Interval between server pings.
    #[arg(long, default_value = "20s", value_parser = duration)]
    pub ping_interval: Duration,
    /// Time a ping may stay unanswered before the server closes the connection.
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub pong_timeout: Duration,
    /// Incoming frames allowed per rolling second; one more closes with 1008.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_incoming_frames: u32,
    /// Streams allowed per connection.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_streams: usize,
    /// Connection lifetime after which the server closes it.
    #[arg(long, default_value = "24h", value_parser = duration)]
    pub max_lifetime: Duration,
    /// Send `serverShutdown` this long before the lifetime ends (off by default).
    #[arg(long, value_parser = duration)]
    pub shutdown_notice: Option<Duration>,
    /// Connection attempts allowed per IP per 5 minutes; more get HTTP 429.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub max_attempts: u32,
    /// REST request weight allowed per IP per minute.
    #[arg(long, default_value_t = 6000, value_name = "N")]
    pub weight_per_minute: u32,
}

fn symbol_spec(text: &str, rate: f64) -> Result<SymbolSpec, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let mut spec = match parts.as_slice() {
        [symbol] => default_symbols()
            .into_iter()
            .find(|s| s.symbol.eq_ignore_ascii_case(symbol))
            .ok_or_else(|| {
                format!("symbol {symbol:?} has no default prices: write it as {symbol}:PRICE:TICK:STEP, e.g. {symbol}:25.5:0.01:0.001")
            })?,
        [symbol, price, tick, step] => {
            let number = |name: &str, value: &str| {
                Fixed::parse(value)
                    .filter(|v| v.0 > 0)
                    .ok_or_else(|| format!("{symbol}: {name} = {value:?} must be a positive decimal"))
            };
            SymbolSpec::new(
                symbol,
                number("PRICE", price)?,
                number("TICK", tick)?,
                number("STEP", step)?,
            )
        }
        _ => return Err(format!("symbol {text:?}: write SYMBOL or SYMBOL:PRICE:TICK:STEP")),
    };
    spec.actions_per_sec = rate;
    Ok(spec)
}

impl SimArgs {
    /// The simulator configuration these options describe.
    ///
    /// # Errors
    /// [`SimError::Config`] listing every bad option.
    pub fn to_config(&self) -> Result<SimConfig, SimError> {
        let mut problems = Vec::new();
        let symbols: Vec<SymbolSpec> = self
            .symbols
            .iter()
            .filter_map(|s| {
                symbol_spec(s.trim(), self.rate)
                    .map_err(|e| problems.push(e))
                    .ok()
            })
            .collect();
        if !problems.is_empty() {
            return Err(SimError::Config(problems));
        }
        let mut config = SimConfig {
            ws_listen: self.listen,
            rest_listen: self.rest_listen,
            admin_listen: Some(self.admin_listen),
            seed: self.seed,
            symbols,
            firehose: self.firehose.as_ref().map(|s| FirehoseConfig {
                symbol: s.to_uppercase(),
            }),
            ..SimConfig::default()
        };
        let rules = &mut config.rules;
        rules.ping_interval = self.ping_interval;
        rules.pong_timeout = self.pong_timeout;
        rules.max_incoming_frames = self.max_incoming_frames;
        rules.max_streams = self.max_streams;
        rules.max_lifetime = self.max_lifetime;
        rules.shutdown_notice = self.shutdown_notice;
        rules.max_attempts = self.max_attempts;
        config.rest.weight_per_minute = self.weight_per_minute;
        config.validate()?;
        Ok(config)
    }
}

/// Starts the simulator, prints its WebSocket, REST and admin URLs on `out`, one per
/// line, and serves until Ctrl-C.
///
/// # Errors
/// Whatever [`Sim::start`] reports, or an error writing the URLs.
pub async fn serve_until_ctrl_c(config: SimConfig, out: &mut dyn Write) -> Result<(), SimError> {
    let sim = Sim::start(config).await?;
    let lines = [
        sim.ws_url(),
        sim.rest_url(),
        sim.admin_url().unwrap_or_default(),
    ];
    for line in lines.iter().filter(|l| !l.is_empty()) {
        writeln!(out, "{line}").map_err(SimError::Output)?;
    }
    out.flush().map_err(SimError::Output)?;
    // A failure to install the Ctrl-C handler leaves nothing to wait on; stop cleanly.
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::error!(%error, "cannot wait for Ctrl-C; stopping");
    }
    sim.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    fn config(args: &[&str]) -> Result<SimConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("sim").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.sim.to_config().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_binance_rules() {
        let config = config(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.rules.ping_interval, Duration::from_secs(20));
        assert_eq!(config.rules.max_lifetime, Duration::from_secs(86_400));
        assert_eq!(config.symbols.len(), 3);
        assert_eq!(config.ws_listen.to_string(), "127.0.0.1:9443");
    }

    #[test]
    fn custom_symbols_and_rules() {
        let config = config(&[
            "--symbols",
            "btcusdt,SOLUSDT:150.25:0.01:0.001",
            "--ping-interval",
            "250ms",
            "--shutdown-notice",
            "1s",
            "--max-lifetime",
            "5s",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.symbols[1].symbol, "SOLUSDT");
        assert_eq!(config.symbols[1].base_asset, "SOL");
        assert_eq!(config.rules.ping_interval, Duration::from_millis(250));
        assert_eq!(config.rules.shutdown_notice, Some(Duration::from_secs(1)));
    }

    #[test]
    fn bad_options_name_the_problem_and_the_fix() {
        let err = config(&["--symbols", "DOGEUSDT"]).err().unwrap_or_default();
        assert!(err.contains("DOGEUSDT:PRICE:TICK:STEP"), "{err}");
        let err = config(&["--ping-interval", "soon"])
            .err()
            .unwrap_or_default();
        assert!(err.contains("500ms"), "{err}");
        let err = config(&["--max-lifetime", "1s", "--shutdown-notice", "2s"])
            .err()
            .unwrap_or_default();
        assert!(err.contains("shutdown_notice"), "{err}");
        let err = config(&["--symbols", "X:1:0:1"]).err().unwrap_or_default();
        assert!(err.contains("TICK"), "{err}");
    }
}
