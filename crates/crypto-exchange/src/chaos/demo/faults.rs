//! The faults `crypto-exchange demo` cycles through: network faults through
//! the proxy and exchange faults through the simulator's controls.

use std::time::Duration;

use ::chaos::{Direction, Fault, FaultId};
use binance_sim::{DropKind, RestFault};

use crate::chaos::testbed::Testbed;

/// The faults the demo cycles through, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DemoFault {
    Latency,
    GoingAway,
    Partition,
    RateLimitClose,
    Stall,
    NetworkReset,
    ServerShutdown,
    Refuse,
    RestErrors,
    SlowLink,
}

pub(crate) const ROTATION: [DemoFault; 10] = [
    DemoFault::GoingAway,
    DemoFault::Latency,
    DemoFault::Partition,
    DemoFault::RateLimitClose,
    DemoFault::Stall,
    DemoFault::NetworkReset,
    DemoFault::ServerShutdown,
    DemoFault::Refuse,
    DemoFault::RestErrors,
    DemoFault::SlowLink,
];

impl DemoFault {
    pub(crate) fn label(self) -> &'static str {
        match self {
            DemoFault::Latency => "network latency 300 ms + up to 100 ms (proxy, 4 s)",
            DemoFault::GoingAway => "server closed every connection (1001 going away)",
            DemoFault::Partition => "network partition: blackhole both ways (proxy, 4 s)",
            DemoFault::RateLimitClose => "server closed with 1008 too many requests (rate limit)",
            DemoFault::Stall => "server stall: connections open, nothing sent (4 s)",
            DemoFault::NetworkReset => "TCP reset of every connection (proxy)",
            DemoFault::ServerShutdown => "server announced serverShutdown (rotation)",
            DemoFault::Refuse => "server refuses connections and resets the open one (3 s)",
            DemoFault::RestErrors => "REST answers 503 and the connection is reset (2 s)",
            DemoFault::SlowLink => "slow link: 8 KB/s downstream (proxy, 4 s)",
        }
    }

    pub(crate) fn hold(self) -> Duration {
        match self {
            DemoFault::Latency | DemoFault::Partition | DemoFault::Stall | DemoFault::SlowLink => Duration::from_secs(4),
            DemoFault::Refuse => Duration::from_secs(3),
            DemoFault::RestErrors => Duration::from_secs(2),
            DemoFault::GoingAway | DemoFault::RateLimitClose | DemoFault::NetworkReset | DemoFault::ServerShutdown => Duration::ZERO,
        }
    }

    /// Switches the fault on; proxy faults to clear come back.
    pub(crate) fn inject(self, bed: &Testbed) -> Vec<FaultId> {
        let close = |code, reason: &str| DropKind::Close { code, reason: reason.to_owned() };
        let proxy = |fault| bed.ws.set_fault(fault).ok().into_iter().collect();
        match self {
            DemoFault::Latency => proxy(Fault::Latency {
                base: Duration::from_millis(300),
                jitter: Duration::from_millis(100),
                direction: Direction::Downstream,
            }),
            DemoFault::Partition => {
                let mut ids: Vec<FaultId> = proxy(Fault::Blackhole { direction: Direction::Both });
                ids.extend(bed.rest.set_fault(Fault::Blackhole { direction: Direction::Both }).ok());
                ids
            }
            DemoFault::SlowLink => proxy(Fault::Bandwidth {
                bytes_per_sec: 8_000,
                direction: Direction::Downstream,
            }),
            DemoFault::GoingAway => {
                bed.sim.drop_connections(close(1001, "going away"));
                Vec::new()
            }
            DemoFault::RateLimitClose => {
                bed.sim.drop_connections(close(1008, "Too many requests"));
                Vec::new()
            }
            DemoFault::Stall => {
                bed.sim.set_stalled(true);
                Vec::new()
            }
            DemoFault::NetworkReset => {
                bed.ws.reset_all();
                Vec::new()
            }
            DemoFault::ServerShutdown => {
                bed.sim.send_server_shutdown();
                Vec::new()
            }
            DemoFault::Refuse => {
                bed.sim.refuse_connections(self.hold());
                bed.sim.drop_connections(DropKind::Reset);
                Vec::new()
            }
            DemoFault::RestErrors => {
                bed.sim.set_rest_fault(RestFault::ServerError(503), Some(self.hold()));
                bed.ws.reset_all();
                Vec::new()
            }
        }
    }

    pub(crate) fn clear(self, bed: &Testbed, ids: &[FaultId]) {
        for id in ids {
            bed.ws.clear_fault(*id);
            bed.rest.clear_fault(*id);
        }
        match self {
            DemoFault::Stall => bed.sim.set_stalled(false),
            DemoFault::Refuse => bed.sim.refuse_connections(Duration::ZERO),
            DemoFault::RestErrors => bed.sim.clear_rest_fault(),
            _ => {}
        }
    }
}
