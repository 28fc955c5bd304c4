//! OpenTelemetry export of the binary's tracing spans (cargo feature `otel`):
//! an OTLP/HTTP (protobuf) exporter on the SDK's batch processor, behind a
//! `tracing-opentelemetry` layer.
//!
//! The batch processor exports from its own thread with a blocking reqwest
//! client (the workspace's reqwest 0.12 and rustls), so the exporter never
//! needs the tokio runtime and keeps working while the runtime shuts down.
//! [`Exporter::shutdown`] flushes what is buffered; call it before exit.

use std::time::Duration;

use crypto_exchange::settings::TelemetrySettings;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_subscriber::registry::LookupSpan;

/// How long one export request may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running exporter: the tracer provider whose batch processor posts spans.
#[derive(Debug)]
pub(crate) struct Exporter {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl Exporter {
    /// Starts the exporter when `telemetry.otlp_endpoint` is set; `Ok(None)`
    /// when it is empty. The settings are validated before (an http(s) URL).
    pub(crate) fn start(telemetry: &TelemetrySettings) -> Result<Option<Self>, String> {
        let Some(url) = telemetry.traces_url() else {
            return Ok(None);
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|error| {
                format!(
                    "telemetry.otlp_endpoint: cannot start the OTLP exporter for {url:?}: {error}"
                )
            })?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(telemetry.service_name.clone())
                    .build(),
            )
            .build();
        let tracer = provider.tracer("crypto-exchange");
        Ok(Some(Exporter { provider, tracer }))
    }

    /// The `tracing` layer that turns spans (with their fields and events)
    /// into OpenTelemetry spans.
    pub(crate) fn layer<S>(&self) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        tracing_opentelemetry::layer().with_tracer(self.tracer.clone())
    }

    /// Flushes the spans still buffered and stops the exporter. Blocking (up
    /// to the export timeout): call it from a blocking context.
    pub(crate) fn shutdown(self) -> Result<(), String> {
        self.provider
            .shutdown()
            .map_err(|error| format!("cannot flush the last spans to the OTLP collector: {error}"))
    }
}
