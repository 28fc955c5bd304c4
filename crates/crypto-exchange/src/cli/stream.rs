//! `crypto-exchange stream`: Binance market data to stdout, through every failure
//! the client survives.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crypto_exchange::domain::parse_selection;
use crypto_exchange::settings::Settings;
use crypto_exchange::{Client, Update};
use ws_transport::WsUrl;

use super::output::{Format, Output};
use super::{EXIT_RUNTIME, EXIT_USAGE, duration, shutdown_signal};
use super::{config, ops};

/// Options of `stream`. Every option that is also a configuration key
/// overrides the file and the environment (`docs/configuration.md`).
#[derive(Debug, clap::Args)]
pub(crate) struct StreamArgs {
    /// A TOML configuration file (`docs/config.example.toml`); flags and
    /// CRYPTO_EXCHANGE_* variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Symbols, comma-separated (`btcusdt,ethusdt`); any case. Key: streams.symbols.
    #[arg(long, value_name = "LIST")]
    symbols: Option<String>,
    /// Stream types, comma-separated: aggTrade, trade, kline_1m, miniTicker,
    /// !miniTicker@arr, ticker, ticker_1h, bookTicker, avgPrice, depth5, depth, depth@100ms, …
    /// Key: streams.types.
    #[arg(long, value_name = "LIST")]
    streams: Option<String>,
    /// Market-stream base URL; give it several times for failover, the primary
    /// first. Default: Binance production (three endpoints). Key: endpoints.ws.
    #[arg(long, value_name = "URL", action = clap::ArgAction::Append)]
    ws_url: Vec<String>,
    /// REST base URL; give it several times for failover, the primary first.
    /// Default: Binance production. Key: endpoints.rest.
    #[arg(long, value_name = "URL", action = clap::ArgAction::Append)]
    rest_url: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    output: Format,
    /// Stop cleanly after this long (for example 30s or 5m); default: until Ctrl-C.
    #[arg(long, value_parser = duration)]
    duration: Option<Duration>,
    /// Serve the ops endpoint (/health, /health/live, /health/ready, /metrics,
    /// /alerts, POST /admin/…) on this address, for example 127.0.0.1:9898
    /// (port 0: any free port). Keys: ops.addr, ops.enabled. A non-loopback
    /// address needs ops.admin_token (CRYPTO_EXCHANGE_OPS_ADMIN_TOKEN).
    #[arg(long, value_name = "ADDR")]
    ops_addr: Option<SocketAddr>,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) async fn run(args: StreamArgs, logs: super::logs::Logs) -> ExitCode {
    const COMMAND: &str = "crypto-exchange stream";
    if let Err(problem) = check_urls(&args.ws_url, &args.rest_url) {
        fail!("{COMMAND}: {problem}");
        return ExitCode::from(EXIT_USAGE);
    }
    // Flags alone are checked first, so the message names the flag.
    if let Some(types) = &args.streams
        && (args.symbols.is_some() || args.config.is_none())
        && let Err(error) = parse_selection(args.symbols.as_deref().unwrap_or(""), types)
    {
        fail!("{COMMAND}: {error}");
        return ExitCode::from(EXIT_USAGE);
    }
    let resolved = match config::load(COMMAND, args.config.as_deref(), |loader| {
        if !args.ws_url.is_empty() {
            loader.flag("endpoints.ws", args.ws_url.clone(), "--ws-url");
        }
        if !args.rest_url.is_empty() {
            loader.flag("endpoints.rest", args.rest_url.clone(), "--rest-url");
        }
        if let Some(symbols) = &args.symbols {
            loader.flag("streams.symbols", list(symbols), "--symbols");
        }
        if let Some(types) = &args.streams {
            loader.flag("streams.types", list(types), "--streams");
        }
        if let Some(addr) = args.ops_addr {
            loader.flag("ops.addr", addr.to_string(), "--ops-addr");
            loader.flag("ops.enabled", true, "--ops-addr");
        }
    }) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    let settings = resolved.settings;
    let telemetry = match start_logs(logs, &settings) {
        Ok(telemetry) => telemetry,
        Err(problem) => {
            fail!("{COMMAND}: {problem}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let streams = match settings.selected_streams() {
        Ok(streams) if !streams.is_empty() => streams,
        Ok(_) => {
            fail!(
                "{COMMAND}: no streams selected: pass --streams (and --symbols for per-symbol streams), or set [streams] types and symbols in --config"
            );
            return ExitCode::from(EXIT_USAGE);
        }
        Err(error) => {
            fail!("{COMMAND}: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let started = std::time::Instant::now();
    let client = match Client::new(settings.client_config()) {
        Ok(client) => client,
        Err(error) => {
            fail!("{COMMAND}: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    tracing::debug!(streams = streams.len(), elapsed = ?started.elapsed(), "client configured");
    say!(
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
    let ops = if settings.ops.enabled {
        match ops::start_admin(&client, &settings.ops, COMMAND).await {
            Ok(handle) => {
                for url in ops::urls(&handle) {
                    say!("{COMMAND}: ops {url}");
                }
                say!(
                    "{COMMAND}: admin POST {}/admin/{{breakers/reset,recovery,fallback,rotate}}{}",
                    handle.base_url(),
                    if settings.ops.admin_token.is_empty() {
                        " (loopback, no token)"
                    } else {
                        " (bearer token required)"
                    }
                );
                Some(handle)
            }
            Err(code) => {
                client.shutdown().await;
                return code;
            }
        }
    } else {
        None
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
        fail!("crypto-exchange stream: ops endpoint: {error}");
    }
    // After the client, so its last spans (the connections' ends) go out too.
    stop_telemetry(telemetry).await;
    match result.and(flushed) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`| head`) is a normal end.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            fail!("crypto-exchange stream: cannot write output: {error}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// The trace exporter, when built in (`otel`) and configured.
#[cfg(feature = "otel")]
type Telemetry = Option<super::telemetry::Exporter>;
/// Without `otel` there is no exporter to stop.
#[cfg(not(feature = "otel"))]
struct Telemetry;

/// Installs the logs, with the OpenTelemetry layer when
/// `telemetry.otlp_endpoint` is set (the settings checks refuse the key in a
/// build without `otel`, so this never silently drops it).
#[cfg(feature = "otel")]
fn start_logs(logs: super::logs::Logs, settings: &Settings) -> Result<Telemetry, String> {
    logs.init_with_telemetry(&settings.telemetry)
}

#[cfg(not(feature = "otel"))]
fn start_logs(logs: super::logs::Logs, _settings: &Settings) -> Result<Telemetry, String> {
    logs.init();
    Ok(Telemetry)
}

/// Flushes the spans still buffered to the collector.
#[cfg(feature = "otel")]
async fn stop_telemetry(telemetry: Telemetry) {
    let Some(exporter) = telemetry else { return };
    // The flush blocks on the exporter's thread: keep it off the runtime's workers.
    match tokio::task::spawn_blocking(move || exporter.shutdown()).await {
        Ok(Ok(())) => {}
        Ok(Err(problem)) => fail!("crypto-exchange stream: {problem}"),
        Err(error) => fail!("crypto-exchange stream: the trace exporter's flush failed: {error}"),
    }
}

#[cfg(not(feature = "otel"))]
async fn stop_telemetry(_: Telemetry) {}

/// Checks every `--ws-url` and `--rest-url` before anything connects, so the
/// message names the option and the URL. The client validates the stream
/// endpoints again; the REST endpoints are only used later (snapshots,
/// backfill, polling), so a typo would otherwise surface late.
fn check_urls(ws: &[String], rest: &[String]) -> Result<(), String> {
    for (i, url) in ws.iter().enumerate() {
        WsUrl::parse(url).map_err(|error| {
            format!("--ws-url {url:?} is not a WebSocket URL ({error}); write it like ws://127.0.0.1:9443")
        })?;
        if ws[..i].contains(url) {
            return Err(format!(
                "--ws-url {url:?} is given twice; give each endpoint once, the primary first"
            ));
        }
    }
    for (i, url) in rest.iter().enumerate() {
        let host = ["http://", "https://"].iter().find_map(|scheme| {
            url.get(..scheme.len())
                .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
                .map(|_| &url[scheme.len()..])
        });
        match host {
            None => {
                return Err(format!(
                    "--rest-url {url:?} must start with http:// or https://; write it like https://api.binance.com"
                ));
            }
            Some(host)
                if host.is_empty()
                    || host.starts_with('/')
                    || host.contains(char::is_whitespace) =>
            {
                return Err(format!(
                    "--rest-url {url:?} has no valid host; write it like https://api.binance.com"
                ));
            }
            Some(_) => {}
        }
        if rest[..i].contains(url) {
            return Err(format!(
                "--rest-url {url:?} is given twice; give each host once, the primary first"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_urls;

    fn owned(urls: &[&str]) -> Vec<String> {
        urls.iter().map(|&u| u.to_owned()).collect()
    }

    #[test]
    fn urls_are_checked_per_option() {
        assert_eq!(check_urls(&[], &[]), Ok(()));
        assert_eq!(
            check_urls(
                &owned(&["ws://127.0.0.1:9443", "ws://127.0.0.1:9444"]),
                &owned(&["http://127.0.0.1:8080", "http://127.0.0.1:8081"])
            ),
            Ok(())
        );
        assert_eq!(
            check_urls(
                &owned(&["wss://stream.binance.com:9443"]),
                &owned(&["HTTPS://api.binance.com"])
            ),
            Ok(())
        );
        let error = check_urls(&owned(&["ws://127.0.0.1:1", "http://x"]), &[])
            .err()
            .unwrap_or_default();
        assert!(
            error.contains("--ws-url \"http://x\"") && error.contains("ws://"),
            "{error}"
        );
        let error = check_urls(&owned(&["ws://a:1", "ws://a:1"]), &[])
            .err()
            .unwrap_or_default();
        assert!(error.contains("twice"), "{error}");
        for rest in [
            "ftp://x",
            "api.binance.com",
            "http://",
            "https:///path",
            "http://a b",
        ] {
            let error = check_urls(&[], &owned(&["http://ok", rest]))
                .err()
                .unwrap_or_default();
            assert!(
                error.contains("--rest-url") && error.contains(rest),
                "{rest}: {error}"
            );
        }
        let error = check_urls(&[], &owned(&["http://a", "http://a"]))
            .err()
            .unwrap_or_default();
        assert!(error.contains("twice"), "{error}");
    }
}
