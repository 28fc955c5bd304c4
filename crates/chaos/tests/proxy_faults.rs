//! One test per proxy fault, against a local server on loopback: each
//! drives both ends and checks what arrived, when, and what the counters say.

mod support;

use std::time::{Duration, Instant};

use anyhow::Result;
use chaos::{Direction, Fault};
use support::{PATIENCE, ReadEnd, Rig, read_n, read_once, read_to_end, write};
use tokio::io::AsyncReadExt as _;

const MS: fn(u64) -> Duration = Duration::from_millis;

#[tokio::test]
async fn without_faults_bytes_pass_both_ways_and_are_counted() -> Result<()> {
    let mut rig = Rig::start().await?;
    let payload: Vec<u8> = (0..100_000_u32).map(|i| (i % 251) as u8).collect();
    write(&mut rig.client, &payload).await?;
    assert_eq!(read_n(&mut rig.upstream, payload.len()).await?, payload);
    write(&mut rig.upstream, b"hello client").await?;
    assert_eq!(read_n(&mut rig.client, 12).await?, b"hello client");

    let counters = rig.proxy.counters();
    assert_eq!(counters.accepted, 1);
    assert_eq!(counters.active, 1);
    assert_eq!(counters.upstream.bytes, 100_000);
    assert_eq!(counters.downstream.bytes, 12);
    assert!(counters.upstream.chunks >= 1 && counters.upstream.reads >= 1);
    assert_eq!(counters.refused + counters.resets + counters.half_closes, 0);

    // A client that closes in order closes the server side in order too;
    // the connection ends when the server closes its side as well.
    drop(rig.client);
    assert_eq!(read_to_end(&mut rig.upstream).await, ReadEnd::Eof);
    drop(rig.upstream);
    let (counters, done) = rig.proxy.wait_for(PATIENCE, |c| c.active == 0).await;
    assert!(done, "connection still active: {counters:?}");
    Ok(())
}

#[tokio::test]
async fn latency_delays_each_way_by_at_least_its_base() -> Result<()> {
    let mut rig = Rig::start().await?;
    rig.proxy.set_fault(Fault::Latency {
        base: MS(60),
        jitter: MS(20),
        direction: Direction::Downstream,
    })?;
    let started = Instant::now();
    write(&mut rig.upstream, b"tick").await?;
    read_n(&mut rig.client, 4).await?;
    assert!(started.elapsed() >= MS(60), "{:?}", started.elapsed());

    // Upstream is not delayed by a downstream latency, then is by `Both`.
    rig.proxy.clear_faults();
    rig.proxy.set_fault(Fault::Latency {
        base: MS(40),
        jitter: Duration::ZERO,
        direction: Direction::Both,
    })?;
    let started = Instant::now();
    write(&mut rig.client, b"ping").await?;
    read_n(&mut rig.upstream, 4).await?;
    write(&mut rig.upstream, b"pong").await?;
    read_n(&mut rig.client, 4).await?;
    assert!(
        started.elapsed() >= MS(80),
        "round trip {:?}",
        started.elapsed()
    );

    // Many chunks in flight at once: latency delays them, it does not
    // serialise them (20 chunks take far less than 20 × 40 ms).
    let started = Instant::now();
    for _ in 0..20 {
        write(&mut rig.upstream, b"x").await?;
        tokio::task::yield_now().await;
    }
    read_n(&mut rig.client, 20).await?;
    let elapsed = started.elapsed();
    assert!(elapsed >= MS(40) && elapsed < MS(800), "{elapsed:?}");
    Ok(())
}

#[tokio::test]
async fn bandwidth_limits_the_rate() -> Result<()> {
    let mut rig = Rig::start().await?;
    rig.proxy.set_fault(Fault::Bandwidth {
        bytes_per_sec: 128 * 1024,
        direction: Direction::Downstream,
    })?;
    let payload = vec![7_u8; 64 * 1024];
    let started = Instant::now();
    let (sent, received) = tokio::join!(
        write(&mut rig.upstream, &payload),
        read_n(&mut rig.client, payload.len())
    );
    sent?;
    assert_eq!(received?.len(), payload.len());
    let elapsed = started.elapsed();
    // 64 KiB at 128 KiB/s is 0.5 s; the first twentieth-second piece is free.
    assert!(elapsed >= MS(400), "64 KiB took only {elapsed:?}");
    let counters = rig.proxy.counters();
    assert_eq!(counters.downstream.bytes, 64 * 1024);
    // Written in pieces of at most 128 KiB / 20.
    assert!(counters.downstream.chunks >= 10, "{counters:?}");
    Ok(())
}

#[tokio::test]
async fn reset_all_resets_client_and_server() -> Result<()> {
    let mut rig = Rig::start().await?;
    write(&mut rig.upstream, b"before").await?;
    read_n(&mut rig.client, 6).await?;

    rig.proxy.reset_all();
    assert_eq!(read_once(&mut rig.client, PATIENCE).await, ReadEnd::Reset);
    assert_eq!(read_once(&mut rig.upstream, PATIENCE).await, ReadEnd::Reset);
    let (counters, done) = rig.proxy.wait_for(PATIENCE, |c| c.active == 0).await;
    assert!(done, "{counters:?}");
    assert_eq!(counters.resets, 1);

    // No fault is left behind: the next connection works.
    let mut client = tokio::net::TcpStream::connect(rig.proxy.addr()).await?;
    let mut upstream = rig.server.next().await?;
    write(&mut client, b"again").await?;
    assert_eq!(read_n(&mut upstream, 5).await?, b"again");
    Ok(())
}

#[tokio::test]
async fn reset_fault_resets_open_and_new_connections_until_cleared() -> Result<()> {
    let mut rig = Rig::start().await?;
    let fault = rig.proxy.set_fault(Fault::Reset)?;
    assert_eq!(read_once(&mut rig.client, PATIENCE).await, ReadEnd::Reset);

    let mut next = tokio::net::TcpStream::connect(rig.proxy.addr()).await?;
    assert!(matches!(
        read_once(&mut next, PATIENCE).await,
        ReadEnd::Reset | ReadEnd::Eof
    ));
    let counters = rig.proxy.counters();
    assert_eq!((counters.resets, counters.refused), (1, 1));

    assert!(rig.proxy.clear_fault(fault));
    assert!(!rig.proxy.clear_fault(fault), "cleared twice");
    let mut client = tokio::net::TcpStream::connect(rig.proxy.addr()).await?;
    let mut upstream = rig.server.next().await?;
    write(&mut upstream, b"up again").await?;
    assert_eq!(read_n(&mut client, 8).await?, b"up again");
    Ok(())
}

#[tokio::test]
async fn refuse_resets_new_connections_and_spares_open_ones() -> Result<()> {
    let mut rig = Rig::start().await?;
    rig.proxy.set_fault(Fault::Refuse)?;

    // A new connection is reset at once (or its connect fails outright).
    if let Ok(mut refused) = tokio::net::TcpStream::connect(rig.proxy.addr()).await {
        assert!(matches!(
            read_once(&mut refused, PATIENCE).await,
            ReadEnd::Reset | ReadEnd::Eof
        ));
    }
    let (counters, done) = rig.proxy.wait_for(PATIENCE, |c| c.refused == 1).await;
    assert!(done, "{counters:?}");
    assert_eq!(counters.accepted, 2);

    // The open connection still works both ways.
    write(&mut rig.client, b"still").await?;
    assert_eq!(read_n(&mut rig.upstream, 5).await?, b"still");
    write(&mut rig.upstream, b"here").await?;
    assert_eq!(read_n(&mut rig.client, 4).await?, b"here");
    assert_eq!(rig.proxy.counters().resets, 0);
    Ok(())
}

#[tokio::test]
async fn blackhole_forwards_nothing_keeps_the_socket_and_loses_nothing() -> Result<()> {
    let mut rig = Rig::start().await?;
    let fault = rig.proxy.set_fault(Fault::Blackhole {
        direction: Direction::Downstream,
    })?;
    write(&mut rig.upstream, b"held back").await?;
    // Nothing arrives, and the socket is neither closed nor reset.
    assert_eq!(read_once(&mut rig.client, MS(300)).await, ReadEnd::TimedOut);
    // The other direction still flows.
    write(&mut rig.client, b"up").await?;
    assert_eq!(read_n(&mut rig.upstream, 2).await?, b"up");
    let counters = rig.proxy.counters();
    assert_eq!(counters.downstream.bytes, 0);
    assert_eq!(counters.active, 1);

    // When the fault clears, what was held is delivered.
    assert!(rig.proxy.clear_fault(fault));
    assert_eq!(read_n(&mut rig.client, 9).await?, b"held back");
    assert_eq!(rig.proxy.counters().downstream.bytes, 9);
    Ok(())
}

#[tokio::test]
async fn slice_writes_many_small_pieces() -> Result<()> {
    let mut rig = Rig::start().await?;
    rig.proxy.set_fault(Fault::Slice {
        max_chunk: 10,
        delay: MS(1),
        direction: Direction::Downstream,
    })?;
    let payload: Vec<u8> = (0..1000_u32).map(|i| (i % 256) as u8).collect();
    write(&mut rig.upstream, &payload).await?;

    let mut received = Vec::new();
    let mut reads = 0;
    let mut buffer = [0_u8; 4096];
    while received.len() < payload.len() {
        let n = tokio::time::timeout(PATIENCE, rig.client.read(&mut buffer)).await??;
        assert!(n > 0, "end of stream after {} bytes", received.len());
        received.extend_from_slice(&buffer[..n]);
        reads += 1;
    }
    assert_eq!(received, payload);
    assert!(reads > 10, "only {reads} reads");
    let counters = rig.proxy.counters();
    assert!(counters.downstream.chunks >= 100, "{counters:?}");
    assert_eq!(counters.downstream.bytes, 1000);
    Ok(())
}

#[tokio::test]
async fn half_close_downstream_ends_the_clients_stream_only() -> Result<()> {
    let mut rig = Rig::start().await?;
    rig.proxy.set_fault(Fault::HalfClose {
        direction: Direction::Downstream,
    })?;
    assert_eq!(read_once(&mut rig.client, PATIENCE).await, ReadEnd::Eof);
    // The client's writes still reach the server.
    write(&mut rig.client, b"after eof").await?;
    assert_eq!(read_n(&mut rig.upstream, 9).await?, b"after eof");
    let counters = rig.proxy.counters();
    assert_eq!(counters.half_closes, 1);
    assert_eq!(counters.resets, 0);
    Ok(())
}

#[tokio::test]
async fn half_close_upstream_ends_the_servers_stream_only() -> Result<()> {
    let mut rig = Rig::start().await?;
    rig.proxy.set_fault(Fault::HalfClose {
        direction: Direction::Upstream,
    })?;
    assert_eq!(read_once(&mut rig.upstream, PATIENCE).await, ReadEnd::Eof);
    write(&mut rig.upstream, b"data").await?;
    assert_eq!(read_n(&mut rig.client, 4).await?, b"data");
    assert_eq!(rig.proxy.counters().half_closes, 1);

    // A connection opened while the fault is active is half-closed at once.
    let mut client = tokio::net::TcpStream::connect(rig.proxy.addr()).await?;
    let mut upstream = rig.server.next().await?;
    assert_eq!(read_once(&mut upstream, PATIENCE).await, ReadEnd::Eof);
    write(&mut upstream, b"ok").await?;
    assert_eq!(read_n(&mut client, 2).await?, b"ok");
    Ok(())
}
