//! Issue 7, bad input: every WebSocket address is down and the REST host
//! answers `200` with an HTML page (a captive portal or a misconfigured
//! proxy) → polling neither panics nor delivers anything made up, the REST
//! host's breaker opens and keeps polling from hammering it (only its
//! probes reach it), every stream is reported unavailable or stale, and
//! health names the open REST breaker.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Result, bail, ensure};
use chaos::Fault;
use crypto_exchange::fallback::StreamStatus;
use crypto_exchange::{Client, Update};
use e2e::fallback::{Exchange, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::{Instant, timeout};

const STREAMS: [&str; 3] = ["btcusdt@aggTrade", "btcusdt@bookTicker", "ethusdt@ticker"];
/// The REST breaker's open time in this test (fixed: no growth).
const OPEN: Duration = Duration::from_secs(1);
/// How long the test watches polling against the garbage host.
const WATCH: Duration = Duration::from_secs(4);

/// A loopback HTTP server answering every request with an HTML page,
/// counting the requests.
async fn html_host() -> Result<(String, Arc<AtomicU64>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let count = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut buf = vec![0_u8; 8192];
                let mut head = Vec::new();
                // One request per connection is enough: close after answering.
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let body = "<html><body>Please log in to continue</body></html>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok((url, count))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_host_answering_html_is_contained_by_its_breaker() -> Result<()> {
    let exchange = Exchange::start(|_| {}).await?;
    let (html, requests) = html_host().await?;
    let faults = [
        exchange.primary.set_fault(Fault::Reset)?,
        exchange.secondary.set_fault(Fault::Reset)?,
    ];
    let config = exchange.config(|c| {
        c.rest.base_url = html.clone();
        c.rest.breaker.open_duration = OPEN;
        c.rest.breaker.max_open_duration = OPEN;
        c.fallback.connection.failed_after = Duration::from_millis(500);
    });
    let client = Client::new(config)?;
    let mut sub = client.subscribe(STREAMS)?;

    // Wait for the REST breaker to open: polling has met the garbage.
    let deadline = Instant::now() + WAIT;
    loop {
        // The REST host's breaker shows in health as `breaker:rest`.
        let open = client
            .system_health()
            .alerts
            .iter()
            .any(|a| a.active && a.key == "breaker:rest");
        if open {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "the REST breaker did not open after {} requests: {:?}",
                requests.load(Ordering::SeqCst),
                client.system_health()
            );
        }
        // Nothing may be delivered meanwhile.
        if let Ok(update) = timeout(Duration::from_millis(50), sub.next()).await {
            bail!("delivered from garbage: {update:?}");
        }
    }
    let opened_with = requests.load(Ordering::SeqCst);

    // Watch: nothing delivered, the host only probed.
    let watched = timeout(WATCH, async {
        loop {
            match sub.next().await {
                Some(Update::Event(event)) => return Some(format!("{event:?}")),
                Some(_) => {}
                None => return Some("the subscription ended".to_owned()),
            }
        }
    })
    .await;
    if let Ok(Some(what)) = watched {
        bail!("while the REST host answers HTML: {what}");
    }
    let during = requests.load(Ordering::SeqCst) - opened_with;
    // One probe per open period, plus one for a period already running.
    let most = WATCH.as_millis().div_ceil(OPEN.as_millis()) as u64 + 1;
    eprintln!(
        "{opened_with} requests until the breaker opened, {during} in the next {WATCH:?} (at most {most})"
    );
    ensure!(
        during <= most,
        "{during} requests in {WATCH:?}: the breaker did not hold"
    );
    let statuses = client.stream_status();
    ensure!(
        statuses
            .iter()
            .all(|(_, s)| matches!(s, StreamStatus::Unavailable | StreamStatus::Stale)),
        "{statuses:?}"
    );
    let report = client.system_health();
    let alert = report
        .alerts
        .iter()
        .find(|a| a.key == "breaker:rest")
        .map(|a| a.message.clone());
    eprintln!("health: {:?}; REST alert: {alert:?}", report.level);
    ensure!(alert.is_some(), "{report:?}");
    ensure!(report.level.is_failing(), "{report:?}");
    for fault in faults {
        exchange.primary.clear_fault(fault);
        exchange.secondary.clear_fault(fault);
    }
    client.shutdown().await;
    exchange.shutdown().await;
    Ok(())
}
