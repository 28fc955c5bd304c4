//! A fake-clock world shared by the integration tests: connections with
//! streams that deliver once a second, and helpers to step time.

#![allow(dead_code, reason = "each test file uses part of the harness")]

use std::time::{Duration, Instant};

use health::{ConnectionEvent, ConnectionId, HealthConfig, Monitor, StreamId};

/// Epoch milliseconds at `t0`.
pub(crate) const EPOCH: u64 = 1_700_000_000_000;

/// One real instant; everything else is an offset from it.
#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
pub(crate) fn t0() -> Instant {
    Instant::now()
}

pub(crate) struct World {
    pub(crate) monitor: Monitor,
    pub t0: Instant,
    pub(crate) conns: Vec<ConnectionId>,
    /// `streams[c][s]`: stream `s` of connection `c`.
    pub(crate) streams: Vec<Vec<StreamId>>,
    /// Seconds up to which every stream has been fed.
    pub(crate) fed: u64,
}

impl World {
    /// `conns` connections with `per_conn` streams each (expected interval
    /// 1 s), connected at t0 and fed once a second for 10 s.
    pub(crate) fn new(conns: usize, per_conn: usize) -> Self {
        Self::with_config(HealthConfig::default(), conns, per_conn)
    }

    pub(crate) fn with_config(config: HealthConfig, conns: usize, per_conn: usize) -> Self {
        let t0 = t0();
        let mut monitor = Monitor::new(config, t0).expect("valid config");
        monitor.sync_clock(t0, EPOCH);
        let mut ids = Vec::new();
        let mut streams = Vec::new();
        for c in 0..conns {
            let conn = monitor.register_connection(&format!("conn-{c}"), t0);
            monitor.on_connection(conn, ConnectionEvent::Connecting, t0);
            monitor.on_connection(conn, ConnectionEvent::Connected, t0);
            ids.push(conn);
            streams.push(
                (0..per_conn)
                    .map(|s| {
                        monitor.register_stream(
                            &format!("s{c}-{s}@trade"),
                            conn,
                            Some(Duration::from_secs(1)),
                            t0,
                        )
                    })
                    .collect(),
            );
        }
        let mut world = Self {
            monitor,
            t0,
            conns: ids,
            streams,
            fed: 0,
        };
        world.feed_all(10);
        world
    }

    pub(crate) fn at(&self, secs: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(secs)
    }

    /// Feeds every stream of connected connections once a second up to
    /// `until` seconds, except the streams in `silent` (as `(conn, stream)`).
    /// Connection events should be applied before feeding past them.
    pub(crate) fn feed(&mut self, until: u64, silent: &[(usize, usize)]) {
        for second in self.fed + 1..=until {
            let now = self.at(second as f64);
            for (c, streams) in self.streams.iter().enumerate() {
                let up = self
                    .monitor
                    .connection_stats(self.conns[c], now)
                    .is_some_and(|st| st.state == health::ConnectionState::Connected);
                if !up {
                    continue;
                }
                for (s, &id) in streams.iter().enumerate() {
                    if !silent.contains(&(c, s)) {
                        self.monitor
                            .on_message(id, 150, Some(EPOCH + second * 1000 - 30), now);
                    }
                }
            }
        }
        self.fed = self.fed.max(until);
    }

    pub(crate) fn feed_all(&mut self, until: u64) {
        self.feed(until, &[]);
    }

    pub(crate) fn event(&mut self, conn: usize, event: ConnectionEvent, secs: f64) {
        let now = self.at(secs);
        self.monitor.on_connection(self.conns[conn], event, now);
    }
}
