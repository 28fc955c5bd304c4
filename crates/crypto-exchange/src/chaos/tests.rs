//! The test bed's teardown on the bad paths: a scenario that panics (or is
//! dropped at its deadline) leaves no simulator or proxy listening.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::config::Timings;
use super::testbed::{BedSpec, Testbed};

/// Waits until nothing accepts on `addr`; whether that happened within 5 s.
async fn closed(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_scenario_leaves_nothing_listening() -> Result<(), Box<dyn std::error::Error>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let scenario = tokio::spawn(async move {
        let mut bed = Testbed::start(BedSpec::new("crash", 1, Timings::default())).await?;
        let addrs = vec![bed.sim.ws_addr(), bed.sim.rest_addr(), bed.ws.addr(), bed.rest.addr()];
        let _subscription = bed
            .client
            .subscribe(["btcusdt@aggTrade"])
            .map_err(|e| super::ChaosError::setup("crash", e))?;
        bed.tasks.push(tokio::spawn(std::future::pending()));
        // Everything is up and the client connected through the proxy.
        let connected = bed
            .ws
            .wait_for(Duration::from_secs(10), |c| c.downstream.bytes > 0)
            .await
            .1;
        let _ = tx.send((addrs, connected));
        panic!("the scenario crashed");
        #[allow(unreachable_code, reason = "the type of the async block")]
        Ok::<(), super::ChaosError>(())
    });
    let (addrs, connected) = rx.await?;
    assert!(connected, "the client never streamed through the proxy");
    let joined = scenario.await;
    assert!(joined.is_err_and(|e| e.is_panic()));
    for addr in addrs {
        assert!(closed(addr).await, "{addr} still accepts connections");
    }
    Ok(())
}
