//! OpenTelemetry export (cargo feature `otel`): `stream` against `binance-sim`
//! with `CRYPTO_EXCHANGE_TELEMETRY_OTLP_ENDPOINT` pointing at a loopback HTTP
//! server that stands in for an OTLP collector. The spans arrive as OTLP/HTTP
//! protobuf on `POST /v1/traces`, with the `connection` span among them, at
//! the default log level (the exporter does not depend on `RUST_LOG`), and the
//! last ones are flushed at shutdown.

mod cli_common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail, ensure};
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use binance_sim::{Sim, SimConfig};
use cli_common::{BIN, WAIT};
use tokio::process::Command;
use tokio::time::timeout;

/// One request the stand-in collector received: its content type and body.
#[derive(Debug, Clone)]
struct Post {
    content_type: String,
    body: Bytes,
}

/// A loopback "collector" that records every `POST /v1/traces`.
async fn start_collector() -> Result<(String, Arc<Mutex<Vec<Post>>>)> {
    let posts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&posts);
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: Bytes| {
            let seen = Arc::clone(&seen);
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if let Ok(mut posts) = seen.lock() {
                    posts.push(Post { content_type, body });
                }
                // An empty ExportTraceServiceResponse: full success.
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{addr}"), posts))
}

/// A protobuf field: its number and, for length-delimited ones, the bytes.
#[derive(Debug)]
enum Field<'a> {
    Scalar,
    Bytes(u32, &'a [u8]),
}

fn varint(data: &mut &[u8]) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = data.split_first().context("truncated varint")?;
        *data = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    bail!("varint longer than 10 bytes")
}

/// Parses one protobuf message into its fields; an error when the bytes are
/// not well-formed protobuf wire format.
fn fields(mut data: &[u8]) -> Result<Vec<Field<'_>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let key = varint(&mut data)?;
        let number = u32::try_from(key >> 3).context("field number")?;
        ensure!(number > 0, "field number 0");
        match key & 7 {
            0 => {
                varint(&mut data)?;
                out.push(Field::Scalar);
            }
            1 | 5 => {
                let len = if key & 7 == 1 { 8 } else { 4 };
                ensure!(data.len() >= len, "truncated fixed field");
                data = &data[len..];
                out.push(Field::Scalar);
            }
            2 => {
                let len = usize::try_from(varint(&mut data)?)?;
                ensure!(data.len() >= len, "truncated length-delimited field");
                out.push(Field::Bytes(number, &data[..len]));
                data = &data[len..];
            }
            other => bail!("unexpected wire type {other}"),
        }
    }
    Ok(out)
}

/// The length-delimited fields numbered `number`.
fn sub(data: &[u8], number: u32) -> Result<Vec<&[u8]>> {
    Ok(fields(data)?
        .into_iter()
        .filter_map(|f| match f {
            Field::Bytes(n, bytes) if n == number => Some(bytes),
            _ => None,
        })
        .collect())
}

fn text(data: &[u8], number: u32) -> Result<Vec<String>> {
    sub(data, number)?
        .into_iter()
        .map(|b| String::from_utf8(b.to_vec()).context("a string field is not UTF-8"))
        .collect()
}

/// A span as the test reads it: its name and attribute keys.
#[derive(Debug)]
struct SpanSeen {
    name: String,
    attributes: Vec<String>,
}

/// Decodes an `ExportTraceServiceRequest` far enough to list the
/// `service.name` resource values and the spans.
/// resource_spans = 1 { resource = 1 { attributes = 1 { key = 1, value = 2 { string = 1 } } },
/// scope_spans = 2 { spans = 2 { name = 5, attributes = 9 } } }.
fn decode(body: &[u8]) -> Result<(Vec<String>, Vec<SpanSeen>)> {
    let mut services = Vec::new();
    let mut spans = Vec::new();
    for resource_spans in sub(body, 1)? {
        for resource in sub(resource_spans, 1)? {
            for attribute in sub(resource, 1)? {
                if text(attribute, 1)? == ["service.name"] {
                    for value in sub(attribute, 2)? {
                        services.extend(text(value, 1)?);
                    }
                }
            }
        }
        for scope_spans in sub(resource_spans, 2)? {
            for span in sub(scope_spans, 2)? {
                let name = text(span, 5)?.concat();
                let mut attributes = Vec::new();
                for attribute in sub(span, 9)? {
                    attributes.extend(text(attribute, 1)?);
                }
                spans.push(SpanSeen { name, attributes });
            }
        }
    }
    Ok((services, spans))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_exports_its_spans_to_the_otlp_endpoint() -> Result<()> {
    let sim = Sim::start(SimConfig::default()).await?;
    let (collector, posts) = start_collector().await?;
    let child = Command::new(BIN)
        .args([
            "stream",
            "--ws-url",
            &sim.ws_url(),
            "--rest-url",
            &sim.rest_url(),
            "--symbols",
            "btcusdt",
            "--streams",
            "aggTrade",
            "--duration",
            "3s",
        ])
        // The default log level: the exporter takes `info` spans regardless.
        .env_remove("RUST_LOG")
        .env("CRYPTO_EXCHANGE_TELEMETRY_OTLP_ENDPOINT", &collector)
        .env(
            "CRYPTO_EXCHANGE_TELEMETRY_SERVICE_NAME",
            "gateway-under-test",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the binary")?;
    let output = timeout(WAIT, child.wait_with_output())
        .await
        .context("the binary still runs")??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success(),
        "status {}\n{stdout}\n{stderr}",
        output.status
    );
    ensure!(
        stdout.contains("\"stream\":\"btcusdt@aggTrade\""),
        "no event streamed:\n{stdout}\n{stderr}"
    );

    // The process has exited: whatever it sent has arrived.
    let posts = posts
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    ensure!(
        !posts.is_empty(),
        "no POST /v1/traces reached the collector; stderr:\n{stderr}"
    );
    let mut spans = Vec::new();
    for post in &posts {
        ensure!(
            post.content_type == "application/x-protobuf",
            "content type {:?}",
            post.content_type
        );
        ensure!(!post.body.is_empty(), "an empty export body");
        let (services, found) =
            decode(&post.body).context("an export body is not OTLP protobuf")?;
        ensure!(
            services == ["gateway-under-test"],
            "service.name {services:?}"
        );
        spans.extend(found);
    }
    let connection = spans
        .iter()
        .find(|s| s.name == "connection")
        .with_context(|| format!("no `connection` span among {spans:#?}"))?;
    for key in ["connection", "endpoint", "streams"] {
        ensure!(
            connection.attributes.iter().any(|a| a == key),
            "the connection span lacks `{key}`: {connection:?}"
        );
    }
    ensure!(
        spans.iter().any(|s| s.name == "connect"),
        "no `connect` span among {spans:#?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_otlp_endpoint_is_a_configuration_error() -> Result<()> {
    let output = timeout(
        WAIT,
        Command::new(BIN)
            .args(["stream", "--streams", "aggTrade", "--symbols", "btcusdt"])
            .env("CRYPTO_EXCHANGE_TELEMETRY_OTLP_ENDPOINT", "collector:4318")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .context("the binary still runs")??;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.code() == Some(2),
        "{}: {stderr}",
        output.status
    );
    ensure!(
        stderr.contains(
            "telemetry.otlp_endpoint = \"collector:4318\" is not an http:// or https:// URL"
        ),
        "{stderr}"
    );
    Ok(())
}
