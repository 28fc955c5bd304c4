//! `crypto-exchange stream`: Binance market data to stdout, through every failure
//! the client survives.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use crypto_exchange::domain::parse_selection;
use crypto_exchange::{Client, ClientConfig, Update};
use ws_transport::WsUrl;

use super::ops;
use super::output::{Format, Output};
use super::{EXIT_RUNTIME, EXIT_USAGE, duration, shutdown_signal};

/// Options of `stream`.
#[derive(Debug, clap::Args)]
pub(crate) struct StreamArgs {
    /// Symbols, comma-separated (`btcusdt,ethusdt`); any case.
    #[arg(long, value_name = "LIST", default_value = "")]
    symbols: String,
    /// Stream types, comma-separated: aggTrade, trade, kline_1m, miniTicker,
    /// !miniTicker@arr, ticker, ticker_1h, bookTicker, avgPrice, depth5, depth, depth@100ms, …
    #[arg(long, value_name = "LIST")]
    streams: String,
    /// Market-stream base URL; default: Binance production (three endpoints).
    #[arg(long, value_name = "URL")]
    ws_url: Option<String>,
    /// REST base URL; default: Binance production.
    #[arg(long, value_name = "URL")]
    rest_url: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    output: Format,
    /// Stop cleanly after this long (for example 30s or 5m); default: until Ctrl-C.
    #[arg(long, value_parser = duration)]
    duration: Option<Duration>,
    /// Serve the ops endpoint (/health, /health/live, /health/ready, /metrics,
    /// /alerts) on this address, for example 127.0.0.1:9898 (port 0: any free
    /// port); off unless given. Loopback only, unless --ops-allow-remote.
    #[arg(long, value_name = "ADDR")]
    ops_addr: Option<SocketAddr>,
    /// Allow --ops-addr to be a non-loopback address. The endpoint has no
    /// authentication: expose it only behind a firewall or an authenticating proxy.
    #[arg(long, requires = "ops_addr")]
    ops_allow_remote: bool,
}

pub(crate) async fn run(args: StreamArgs) -> ExitCode {
    let streams = match parse_selection(&args.symbols, &args.streams) {
        Ok(streams) if !streams.is_empty() => streams,
        Ok(_) => {
            eprintln!(
                "crypto-exchange stream: no streams selected: pass --streams (and --symbols for per-symbol streams)"
            );
            return ExitCode::from(EXIT_USAGE);
        }
        Err(error) => {
            eprintln!("crypto-exchange stream: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(problem) = check_urls(args.ws_url.as_deref(), args.rest_url.as_deref()) {
        eprintln!("crypto-exchange stream: {problem}");
        return ExitCode::from(EXIT_USAGE);
    }
    if let Some(addr) = args.ops_addr
        && let Err(problem) = ops::config(addr, args.ops_allow_remote)
    {
        eprintln!("crypto-exchange stream: {problem}");
        return ExitCode::from(EXIT_USAGE);
    }
    let mut config = ClientConfig::default();
    if let Some(ws) = args.ws_url {
        config.endpoints = vec![ws];
    }
    if let Some(rest) = args.rest_url {
        config.rest.base_url = rest;
    }
    let client = match Client::new(config) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("crypto-exchange stream: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    eprintln!(
        "crypto-exchange stream: {} streams; Ctrl-C to stop{}",
        streams.len(),
        args.duration.map_or(String::new(), |d| format!(
            " (stopping after {})",
            humantime::format_duration(d)
        ))
    );
    let mut lifecycle = client.lifecycle();
    let mut subscription = client.subscribe_streams(streams);
    // After subscribing, so that /health/ready waits for every stream from the
    // first request on.
    let ops = match args.ops_addr {
        Some(addr) => {
            match ops::start(
                &client,
                addr,
                args.ops_allow_remote,
                "crypto-exchange stream",
            )
            .await
            {
                Ok(handle) => {
                    for url in ops::urls(&handle) {
                        eprintln!("crypto-exchange stream: ops {url}");
                    }
                    Some(handle)
                }
                Err(code) => {
                    client.shutdown().await;
                    return code;
                }
            }
        }
        None => None,
    };
    let mut output = Output::new(args.output);
    let stop = shutdown_signal(args.duration);
    tokio::pin!(stop);
    let result: io::Result<()> = async {
        loop {
            tokio::select! {
                () = &mut stop => return Ok(()),
                update = subscription.next() => match update {
                    Some(Update::Event(event)) => output.event(&event)?,
                    Some(Update::Lagged { missed }) => output.lagged(missed)?,
                    Some(Update::Gap { stream, from, to }) => output.gap(&stream.to_string(), from, to)?,
                    Some(Update::Backfilled { stream, count }) => output.backfilled(&stream.to_string(), count)?,
                    Some(_) => {}
                    None => return Ok(()),
                },
                signal = lifecycle.next() => {
                    if let Some(signal) = signal {
                        output.lifecycle(&signal)?;
                    }
                }
            }
        }
    }
    .await;
    let flushed = output.flush();
    client.shutdown().await;
    if let Some(ops) = ops
        && let Err(error) = ops.shutdown().await
    {
        eprintln!("crypto-exchange stream: ops endpoint: {error}");
    }
    match result.and(flushed) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`| head`) is a normal end.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crypto-exchange stream: cannot write output: {error}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// Checks `--ws-url` and `--rest-url` before anything connects, so the message
/// names the option. The client validates the stream endpoint again; the REST
/// endpoint is only used later (snapshots), so a typo would otherwise surface late.
fn check_urls(ws: Option<&str>, rest: Option<&str>) -> Result<(), String> {
    if let Some(ws) = ws {
        WsUrl::parse(ws).map_err(|error| {
            format!("--ws-url {ws:?} is not a WebSocket URL ({error}); write it like ws://127.0.0.1:9443")
        })?;
    }
    if let Some(rest) = rest {
        let host = ["http://", "https://"].iter().find_map(|scheme| {
            rest.get(..scheme.len())
                .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
                .map(|_| &rest[scheme.len()..])
        });
        match host {
            None => {
                return Err(format!(
                    "--rest-url {rest:?} must start with http:// or https://; write it like https://api.binance.com"
                ));
            }
            Some(host)
                if host.is_empty()
                    || host.starts_with('/')
                    || host.contains(char::is_whitespace) =>
            {
                return Err(format!(
                    "--rest-url {rest:?} has no valid host; write it like https://api.binance.com"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_urls;

    #[test]
    fn urls_are_checked_per_option() {
        assert_eq!(check_urls(None, None), Ok(()));
        assert_eq!(
            check_urls(Some("ws://127.0.0.1:9443"), Some("http://127.0.0.1:8080")),
            Ok(())
        );
        assert_eq!(
            check_urls(
                Some("wss://stream.binance.com:9443"),
                Some("HTTPS://api.binance.com")
            ),
            Ok(())
        );
        let error = check_urls(Some("http://x"), None).err().unwrap_or_default();
        assert!(
            error.contains("--ws-url") && error.contains("ws://"),
            "{error}"
        );
        for rest in [
            "ftp://x",
            "api.binance.com",
            "http://",
            "https:///path",
            "http://a b",
        ] {
            let error = check_urls(None, Some(rest)).err().unwrap_or_default();
            assert!(error.contains("--rest-url"), "{rest}: {error}");
        }
    }
}
