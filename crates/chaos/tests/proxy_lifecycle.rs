//! The proxy's life: starting, bad input, an unreachable upstream, and
//! stopping, by `shutdown` or by dropping the handle (a crashed scenario).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Result, bail};
use chaos::{Direction, Error, Fault, Proxy, ProxyConfig};
use support::{PATIENCE, ReadEnd, Rig, Server, read_n, read_once, write};
use tokio::net::TcpStream;

/// Waits, within [`PATIENCE`], until nothing listens on `addr` any more.
async fn until_refused(addr: SocketAddr) -> Result<()> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Ok(()),
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    bail!("{addr} still accepts connections")
}

#[tokio::test]
async fn dropping_the_handle_stops_listener_and_connections() -> Result<()> {
    let mut rig = Rig::start().await?;
    write(&mut rig.upstream, b"live").await?;
    read_n(&mut rig.client, 4).await?;
    let addr = rig.proxy.addr();

    drop(rig.proxy);
    assert!(matches!(
        read_once(&mut rig.client, PATIENCE).await,
        ReadEnd::Eof | ReadEnd::Reset
    ));
    assert!(matches!(
        read_once(&mut rig.upstream, PATIENCE).await,
        ReadEnd::Eof | ReadEnd::Reset
    ));
    until_refused(addr).await
}

#[tokio::test]
async fn a_crashed_scenario_leaves_no_proxy_running() -> Result<()> {
    let server = Server::start().await?;
    let upstream = server.addr;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let scenario = tokio::spawn(async move {
        let proxy = match Proxy::start(ProxyConfig::new(upstream)).await {
            Ok(proxy) => proxy,
            Err(error) => panic!("cannot start the proxy: {error}"),
        };
        let _ = tx.send(proxy.addr());
        // The scenario fails while the proxy is running.
        panic!("scenario crashed on purpose");
    });
    let addr = rx.await?;
    let crashed = scenario.await;
    assert!(crashed.is_err_and(|e| e.is_panic()));
    until_refused(addr).await
}

#[tokio::test]
async fn shutdown_closes_everything_and_returns() -> Result<()> {
    let mut rig = Rig::start().await?;
    let addr = rig.proxy.addr();
    tokio::time::timeout(PATIENCE, rig.proxy.shutdown()).await?;
    assert!(matches!(
        read_once(&mut rig.client, PATIENCE).await,
        ReadEnd::Eof | ReadEnd::Reset
    ));
    until_refused(addr).await
}

#[tokio::test]
async fn an_unreachable_upstream_resets_the_client() -> Result<()> {
    // A port that was just free: nothing listens there.
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        listener.local_addr()?
    };
    let proxy = Proxy::start(ProxyConfig::new(closed)).await?;
    let mut client = TcpStream::connect(proxy.addr()).await?;
    assert!(matches!(
        read_once(&mut client, PATIENCE).await,
        ReadEnd::Reset | ReadEnd::Eof
    ));
    let (counters, done) = proxy.wait_for(PATIENCE, |c| c.upstream_failures == 1).await;
    assert!(done, "{counters:?}");
    assert_eq!(counters.active, 0);
    Ok(())
}

#[tokio::test]
async fn bad_configuration_and_faults_are_rejected_with_the_field_named() -> Result<()> {
    let server = Server::start().await?;
    let config = ProxyConfig {
        buffer_size: 0,
        ..ProxyConfig::new(server.addr)
    };
    let Err(error) = Proxy::start(config).await else {
        bail!("a zero buffer was accepted")
    };
    assert!(matches!(
        error,
        Error::InvalidConfig {
            field: "buffer_size",
            ..
        }
    ));

    let proxy = Proxy::start(ProxyConfig::new(server.addr)).await?;
    let taken = ProxyConfig {
        listen: proxy.addr(),
        ..ProxyConfig::new(server.addr)
    };
    let Err(error) = Proxy::start(taken).await else {
        bail!("two proxies on one port")
    };
    assert!(matches!(error, Error::Bind { .. }), "{error}");
    assert!(error.is_retryable());

    let zero = Fault::Slice {
        max_chunk: 0,
        delay: Duration::ZERO,
        direction: Direction::Both,
    };
    assert!(proxy.set_fault(zero).is_err());
    assert!(proxy.active_faults().is_empty());

    let first = proxy.set_fault(Fault::Refuse)?;
    let second = proxy.set_fault(Fault::Blackhole {
        direction: Direction::Upstream,
    })?;
    assert_ne!(first, second);
    assert_eq!(proxy.active_faults().len(), 2);
    proxy.clear_faults();
    assert!(proxy.active_faults().is_empty());
    Ok(())
}

#[tokio::test]
async fn many_connections_are_counted_and_independent() -> Result<()> {
    let mut server = Server::start().await?;
    let proxy = Proxy::start(ProxyConfig::new(server.addr)).await?;
    let mut pairs = Vec::new();
    for _ in 0..8 {
        let client = TcpStream::connect(proxy.addr()).await?;
        let upstream = server.next().await?;
        pairs.push((client, upstream));
    }
    for (i, (client, upstream)) in pairs.iter_mut().enumerate() {
        let message = format!("connection {i}");
        write(upstream, message.as_bytes()).await?;
        assert_eq!(read_n(client, message.len()).await?, message.as_bytes());
    }
    let counters = proxy.counters();
    assert_eq!((counters.accepted, counters.active), (8, 8));
    drop(pairs);
    let (counters, done) = proxy.wait_for(PATIENCE, |c| c.active == 0).await;
    assert!(done, "{counters:?}");
    Ok(())
}
