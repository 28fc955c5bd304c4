//! The proxy's configuration.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::Error;

/// Where the proxy listens and forwards, and how it buffers.
///
/// [`ProxyConfig::new`] fills in the defaults:
///
/// | field | default | meaning |
/// |---|---|---|
/// | `listen` | `127.0.0.1:0` | loopback, a free port ([`Proxy::addr`] tells which) |
/// | `upstream` | (given) | where each accepted connection is forwarded |
/// | `seed` | 0 | seeds the latency jitter, per connection and direction |
/// | `connect_timeout` | 5 s | how long to wait for the upstream before resetting the client |
/// | `buffer_size` | 64 KiB | the largest chunk read at once |
/// | `max_in_flight` | 64 | chunks held per direction while they wait out a latency |
///
/// `max_in_flight` × `buffer_size` bounds the memory of one direction (4 MiB
/// by default); under a latency fault it also bounds throughput to that much
/// per latency period, which is far above a market-data stream's rate.
///
/// [`Proxy::addr`]: crate::Proxy::addr
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The server every connection is forwarded to.
    pub upstream: SocketAddr,
    /// Seed of the latency jitter; the same seed replays the same delays on
    /// the same connection (by order of acceptance) and direction.
    pub seed: u64,
    /// How long connecting to the upstream may take; between 1 ms and 1 h.
    pub connect_timeout: Duration,
    /// The largest chunk read at once; between 1 KiB and 16 MiB.
    pub buffer_size: usize,
    /// Chunks queued per direction between reading and writing; 1 to 65 536.
    pub max_in_flight: usize,
}

impl ProxyConfig {
    /// A configuration that forwards to `upstream` from a free loopback
    /// port, with the defaults in the table above.
    #[must_use]
    pub fn new(upstream: SocketAddr) -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            upstream,
            seed: 0,
            connect_timeout: Duration::from_secs(5),
            buffer_size: 64 * 1024,
            max_in_flight: 64,
        }
    }

    /// Checks every rule; the first broken one comes back.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field, its value and the rule.
    pub fn validate(&self) -> Result<(), Error> {
        if self.upstream.port() == 0 {
            return Err(Error::invalid(
                "upstream",
                self.upstream,
                "must name a port other than 0",
            ));
        }
        if self.connect_timeout < Duration::from_millis(1)
            || self.connect_timeout > Duration::from_secs(3600)
        {
            return Err(Error::invalid(
                "connect_timeout",
                self.connect_timeout,
                "must be between 1ms and 1h",
            ));
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.buffer_size) {
            return Err(Error::invalid(
                "buffer_size",
                self.buffer_size,
                "must be between 1024 and 16777216 bytes",
            ));
        }
        if !(1..=65_536).contains(&self.max_in_flight) {
            return Err(Error::invalid(
                "max_in_flight",
                self.max_in_flight,
                "must be between 1 and 65536",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_rules_name_the_field() {
        let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, 9443));
        assert!(ProxyConfig::new(upstream).validate().is_ok());

        let no_port = ProxyConfig::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        assert!(
            no_port
                .validate()
                .is_err_and(|e| e.to_string().contains("upstream"))
        );

        let tiny = ProxyConfig {
            buffer_size: 10,
            ..ProxyConfig::new(upstream)
        };
        assert!(
            tiny.validate()
                .is_err_and(|e| e.to_string().contains("buffer_size"))
        );

        let none = ProxyConfig {
            max_in_flight: 0,
            ..ProxyConfig::new(upstream)
        };
        assert!(
            none.validate()
                .is_err_and(|e| e.to_string().contains("max_in_flight"))
        );

        let instant = ProxyConfig {
            connect_timeout: Duration::ZERO,
            ..ProxyConfig::new(upstream)
        };
        assert!(
            instant
                .validate()
                .is_err_and(|e| e.to_string().contains("connect_timeout"))
        );
    }
}
