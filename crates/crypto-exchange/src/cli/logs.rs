//! The binary's tracing subscriber: text or JSON lines on stderr, filtered by
//! `RUST_LOG`, and, with the `otel` feature and `telemetry.otlp_endpoint` set,
//! an OpenTelemetry layer exporting spans over OTLP/HTTP.
//!
//! `stream` installs the subscriber only after its configuration is loaded
//! (the endpoint is a configuration key); the other commands install it at
//! once. A global subscriber can be set only once, and a `reload` layer does
//! not work with per-layer filters, hence the deferred start.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// How logs are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// JSON lines (fields, current span and span list).
    Json,
}

/// The log set-up chosen on the command line, applied by [`Logs::init`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Logs {
    format: LogFormat,
    /// `RUST_LOG` when set, not blank and valid; else the command's default.
    filter: &'static str,
}

/// The log filter: `RUST_LOG` when it is set, not blank and valid;
/// otherwise `default` (an invalid `RUST_LOG` is said once, not ignored).
fn chosen_filter(default: &'static str) -> &'static str {
    match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => match EnvFilter::try_new(&text) {
            // Once per process, at start-up: kept for the layers built from it.
            Ok(_) => Box::leak(text.into_boxed_str()),
            Err(error) => {
                eprintln!(
                    "crypto-exchange: RUST_LOG={text:?} is not a log filter ({error}); using \
                     {default:?} (write it like RUST_LOG=info or RUST_LOG=crypto_exchange=debug)"
                );
                default
            }
        },
        _ => default,
    }
}

impl Logs {
    pub(crate) fn new(format: LogFormat, default_filter: &'static str) -> Self {
        if format == LogFormat::Json {
            super::use_json_lines();
        }
        Logs {
            format,
            filter: chosen_filter(default_filter),
        }
    }

    fn filter(self) -> EnvFilter {
        EnvFilter::new(self.filter)
    }

    fn fmt_layer<S>(self) -> Box<dyn Layer<S> + Send + Sync>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        match self.format {
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(std::io::stderr)
                .boxed(),
            LogFormat::Text => tracing_subscriber::fmt::layer()
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_writer(std::io::stderr)
                .boxed(),
        }
    }

    /// Installs the logs alone (no trace export).
    pub(crate) fn init(self) {
        // One global filter in front of the formatter: the cheapest set-up, so
        // the per-event path pays one level check (docs/benchmarks.md).
        let _ = Registry::default()
            .with(self.filter())
            .with(self.fmt_layer())
            .try_init();
    }

    /// Installs the logs and, when `telemetry.otlp_endpoint` is set, the
    /// OpenTelemetry layer; the returned guard flushes and stops the exporter.
    #[cfg(feature = "otel")]
    pub(crate) fn init_with_telemetry(
        self,
        telemetry: &crypto_exchange::settings::TelemetrySettings,
    ) -> Result<Option<super::telemetry::Exporter>, String> {
        let Some(exporter) = super::telemetry::Exporter::start(telemetry)? else {
            self.init();
            return Ok(None);
        };
        // Each layer has its own filter: RUST_LOG governs the logs only, and
        // the exporter takes every span and event at `info` and above, so the
        // `connection` span reaches the collector at the default log level.
        let _ = Registry::default()
            .with(self.fmt_layer().with_filter(self.filter()))
            .with(
                exporter
                    .layer()
                    .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
            )
            .try_init();
        Ok(Some(exporter))
    }
}
