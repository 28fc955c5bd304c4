//! The binary's ops endpoint: `stream --ops-addr 127.0.0.1:0` prints the
//! endpoint's URLs on stderr and answers on each path while it streams;
//! `demo` serves it by default and prints the URLs; a non-loopback address
//! needs an admin token for `stream` (`--ops-allow-remote` for `demo`).

mod cli_common;
mod ops_common;

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use binance_sim::{Sim, SimConfig};
use cli_common::{BIN, WAIT, run};
use ops_common::{Exposition, get, http, wait_status};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};
use tokio::process::{Child, Command};
use tokio::time::timeout;

/// Starts `crypto-exchange args…` with both outputs piped (killed on drop).
fn spawn(args: &[&str]) -> Result<Child> {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {BIN}"))
}

/// Reads lines until one contains `marker`; returns the URLs (`http://…`) of
/// every line read up to and including the last consecutive one with it.
async fn ops_urls<R: AsyncRead + Unpin>(
    lines: &mut Lines<BufReader<R>>,
    marker: &str,
) -> Result<Vec<String>> {
    let mut urls = Vec::new();
    timeout(WAIT, async {
        while let Some(line) = lines.next_line().await? {
            if line.contains(marker)
                && let Some(at) = line.find("http://")
            {
                urls.push(line[at..].trim().to_owned());
                if urls.len() == 5 {
                    return Ok(());
                }
            }
        }
        bail!("output ended after {} ops URLs", urls.len())
    })
    .await
    .context("ops URLs not printed in time")??;
    Ok(urls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_serves_every_ops_path_while_it_runs() -> Result<()> {
    let sim = Sim::start(SimConfig::default()).await?;
    let (ws, rest) = (sim.ws_url(), sim.rest_url());
    let mut child = spawn(&[
        "stream",
        "--ws-url",
        &ws,
        "--rest-url",
        &rest,
        "--symbols",
        "btcusdt",
        "--streams",
        "aggTrade",
        "--ops-addr",
        "127.0.0.1:0",
        "--duration",
        "5s",
    ])?;
    // Events go to stdout: read them, so that the command never waits on a
    // full pipe.
    let mut stdout = child.stdout.take().context("stdout")?;
    let events = tokio::spawn(async move {
        let mut sink = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stdout, &mut sink).await
    });
    let stderr = child.stderr.take().context("stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let urls = ops_urls(&mut lines, "crypto-exchange stream: ops ").await?;
    let stderr_rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(line);
        }
        rest
    });
    let find = |path: &str| {
        urls.iter()
            .find(|u| u.ends_with(path))
            .cloned()
            .with_context(|| format!("{path} not printed: {urls:?}"))
    };
    let http = http()?;

    let health = wait_status(&http, &find("/health")?, 200, Duration::from_secs(4)).await?;
    let body = health.json()?;
    ensure!(
        body["status"] == "ok" && body["level"].is_string(),
        "{body}"
    );
    ensure!(body["components"].is_array() && body["diagnostics"].is_array());
    let ready = wait_status(&http, &find("/health/ready")?, 200, Duration::from_secs(4)).await?;
    ensure!(ready.json()?["streams"] == 1);
    let live = get(&http, &find("/health/live")?).await?;
    ensure!(live.status == 200);
    let metrics = get(&http, &find("/metrics")?).await?;
    ensure!(metrics.status == 200);
    let exposition = Exposition::parse(&metrics.body)?;
    ensure!(
        exposition
            .types
            .get("crypto_exchange_messages_total")
            .is_some_and(|t| t == "counter")
    );
    let alerts = get(&http, &find("/alerts")?).await?;
    ensure!(alerts.status == 200 && alerts.json()?["active"].is_array());

    let status = timeout(WAIT, child.wait()).await??;
    let stderr = stderr_rest.await?;
    ensure!(status.success(), "stream ended with {status}: {stderr:#?}");
    ensure!(events.await?? > 0, "events were written");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_ops_on_loopback_by_default() -> Result<()> {
    let mut child = spawn(&["demo", "--duration", "4s"])?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let urls = ops_urls(&mut lines, "ops: ").await?;
    ensure!(
        urls.iter().all(|u| u.starts_with("http://127.0.0.1:")),
        "{urls:?}"
    );
    let http = http()?;
    let metrics = urls
        .iter()
        .find(|u| u.ends_with("/metrics"))
        .context("/metrics")?;
    ensure!(get(&http, metrics).await?.status == 200);
    let health = urls
        .iter()
        .find(|u| u.ends_with("/health"))
        .context("/health")?;
    let answer = get(&http, health).await?;
    ensure!(answer.status == 200 || answer.status == 503, "{answer:?}");
    ensure!(answer.json()?["level"].is_string() || answer.json()?["status"] == "starting");
    // Drain the rest so the demo never blocks on a full pipe.
    let rest = timeout(WAIT, async {
        let mut text = String::new();
        while let Some(line) = lines.next_line().await? {
            text.push_str(&line);
            text.push('\n');
        }
        anyhow::Ok(text)
    })
    .await??;
    let status = timeout(WAIT, child.wait()).await??;
    ensure!(status.success(), "demo ended with {status}:\n{rest}");
    ensure!(rest.contains("health at the end:"), "{rest}");
    Ok(())
}

#[tokio::test]
async fn a_remote_ops_address_needs_an_admin_token() -> Result<()> {
    let refused = run(&[
        "stream",
        "--ws-url",
        "ws://127.0.0.1:9",
        "--symbols",
        "btcusdt",
        "--streams",
        "aggTrade",
        "--ops-addr",
        "0.0.0.0:0",
    ])
    .await?;
    ensure!(refused.code() == Some(2), "{}", refused.transcript());
    ensure!(
        refused
            .stderr
            .contains("ops.addr = 0.0.0.0:0 is not a loopback address")
            && refused.stderr.contains("ops.admin_token"),
        "{}",
        refused.transcript()
    );
    let bad = run(&[
        "stream",
        "--symbols",
        "btcusdt",
        "--streams",
        "aggTrade",
        "--ops-addr",
        "localhost",
    ])
    .await?;
    ensure!(bad.code() == Some(2), "{}", bad.transcript());
    ensure!(bad.stderr.contains("--ops-addr"), "{}", bad.transcript());
    Ok(())
}
