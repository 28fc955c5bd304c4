//! Faults the proxy applies, and how several active faults combine into one
//! effect per direction.

use std::fmt;
use std::time::Duration;

use humantime::format_duration;

use crate::Error;

/// The longest latency, jitter or slice delay a fault accepts: one hour.
pub const MAX_FAULT_DURATION: Duration = Duration::from_secs(60 * 60);

/// Which way through the proxy a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server: what the client sends.
    Upstream,
    /// Server to client: what the client receives (market data).
    Downstream,
    /// Both ways.
    Both,
}

impl Direction {
    /// Whether this direction includes `way` (`Both` includes either).
    fn includes(self, way: Way) -> bool {
        matches!(
            (self, way),
            (Self::Both, _) | (Self::Upstream, Way::Up) | (Self::Downstream, Way::Down)
        )
    }

    /// The stable label (`upstream`, `downstream`, `both`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upstream => "upstream",
            Self::Downstream => "downstream",
            Self::Both => "both",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault the proxy applies while it is active (from
/// [`Proxy::set_fault`](crate::Proxy::set_fault) until it is cleared).
///
/// Faults combine: latencies add up, the lowest bandwidth and the smallest
/// slice win, and a blackhole or half-close in either fault applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Each chunk read is forwarded `base` plus a uniform draw in
    /// `[0, jitter]` later (seeded per connection from
    /// [`ProxyConfig::seed`](crate::ProxyConfig::seed)). Chunks keep their
    /// order and the delay does not cap throughput: several chunks can be in
    /// flight at once.
    Latency {
        /// The fixed part of the added delay.
        base: Duration,
        /// The random part's upper bound.
        jitter: Duration,
        /// Which way is delayed.
        direction: Direction,
    },
    /// Forwarding is paced so that at most `bytes_per_sec` pass per second
    /// (written in pieces of at most a twentieth of a second's worth).
    Bandwidth {
        /// The rate limit; at least 1.
        bytes_per_sec: u64,
        /// Which way is limited.
        direction: Direction,
    },
    /// Every open connection is reset at once (RST to both client and
    /// server, `SO_LINGER` 0), and every new connection is reset as soon as
    /// it is accepted, until cleared: the link is down hard.
    Reset,
    /// New connections are accepted and reset at once (the client's connect
    /// succeeds, then its first read or write fails with "connection
    /// reset"); open connections are left alone.
    Refuse,
    /// Nothing is forwarded that way, but the sockets stay open: the proxy
    /// stops reading, so the sender's buffers fill as on a dead route. When
    /// cleared, what was held is forwarded and nothing is lost, as TCP
    /// would after a partition heals.
    Blackhole {
        /// Which way is held.
        direction: Direction,
    },
    /// Every chunk is written in pieces of at most `max_chunk` bytes, with
    /// `delay` between pieces, so the reader sees many small reads (frames
    /// split across reads, headers cut in the middle).
    Slice {
        /// The largest piece written at once; at least 1.
        max_chunk: usize,
        /// The pause between two pieces; zero for none.
        delay: Duration,
        /// Which way is sliced.
        direction: Direction,
    },
    /// The proxy shuts down the write half toward the receiver of that
    /// direction (a FIN): `Downstream` gives the client an end of stream
    /// while what it sends still reaches the server; `Upstream` the other
    /// way round. Applies to open connections at once and to new ones when
    /// they open; a half-closed connection stays half-closed after the fault
    /// is cleared.
    HalfClose {
        /// Which way is closed.
        direction: Direction,
    },
}

impl Fault {
    /// The fault's kind as a stable label (`latency`, `half_close`, …).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Latency { .. } => "latency",
            Self::Bandwidth { .. } => "bandwidth",
            Self::Reset => "reset",
            Self::Refuse => "refuse",
            Self::Blackhole { .. } => "blackhole",
            Self::Slice { .. } => "slice",
            Self::HalfClose { .. } => "half_close",
        }
    }

    /// Checks the fault's values.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field: a zero `bytes_per_sec` or
    /// `max_chunk`, or a duration above [`MAX_FAULT_DURATION`].
    pub fn validate(&self) -> Result<(), Error> {
        let at_most = |field: &'static str, value: Duration| {
            if value > MAX_FAULT_DURATION {
                Err(Error::invalid(field, value, "must be at most 1h"))
            } else {
                Ok(())
            }
        };
        match *self {
            Self::Latency { base, jitter, .. } => {
                at_most("base", base)?;
                at_most("jitter", jitter)
            }
            Self::Bandwidth { bytes_per_sec, .. } if bytes_per_sec == 0 => Err(Error::invalid(
                "bytes_per_sec",
                bytes_per_sec,
                "must be at least 1",
            )),
            Self::Slice { max_chunk, .. } if max_chunk == 0 => {
                Err(Error::invalid("max_chunk", max_chunk, "must be at least 1"))
            }
            Self::Slice { delay, .. } => at_most("delay", delay),
            Self::Bandwidth { .. }
            | Self::Reset
            | Self::Refuse
            | Self::Blackhole { .. }
            | Self::HalfClose { .. } => Ok(()),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Latency {
                base,
                jitter,
                direction,
            } => write!(
                f,
                "latency {} + up to {} {direction}",
                format_duration(base),
                format_duration(jitter)
            ),
            Self::Bandwidth {
                bytes_per_sec,
                direction,
            } => write!(f, "bandwidth {bytes_per_sec} B/s {direction}"),
            Self::Reset => f.write_str("reset"),
            Self::Refuse => f.write_str("refuse"),
            Self::Blackhole { direction } => write!(f, "blackhole {direction}"),
            Self::Slice {
                max_chunk,
                delay,
                direction,
            } => write!(
                f,
                "slice {max_chunk} B every {} {direction}",
                format_duration(delay)
            ),
            Self::HalfClose { direction } => write!(f, "half_close {direction}"),
        }
    }
}

/// One of the two ways data flows through a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Way {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// What the active faults do to one way of every connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Effect {
    /// Total added latency: `(base, jitter)`.
    pub(crate) latency: Option<(Duration, Duration)>,
    /// The lowest rate limit.
    pub(crate) bytes_per_sec: Option<u64>,
    /// Nothing moves.
    pub(crate) blackhole: bool,
    /// The smallest piece and the longest pause.
    pub(crate) slice: Option<(usize, Duration)>,
    /// The write half toward the receiver is shut down.
    pub(crate) half_close: bool,
}

/// What the active faults do, per way and to new connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Effects {
    /// Client to server.
    pub(crate) up: Effect,
    /// Server to client.
    pub(crate) down: Effect,
    /// New connections are reset on accept.
    pub(crate) refuse: bool,
}

impl Effects {
    /// Combines every active fault.
    pub(crate) fn of<'a>(faults: impl IntoIterator<Item = &'a Fault>) -> Self {
        let mut effects = Self::default();
        for fault in faults {
            match *fault {
                Fault::Reset | Fault::Refuse => effects.refuse = true,
                _ => {
                    for way in [Way::Up, Way::Down] {
                        effects.way_mut(way).add(fault, way);
                    }
                }
            }
        }
        effects
    }

    /// The effect on one way.
    pub(crate) fn way(&self, way: Way) -> Effect {
        match way {
            Way::Up => self.up,
            Way::Down => self.down,
        }
    }

    fn way_mut(&mut self, way: Way) -> &mut Effect {
        match way {
            Way::Up => &mut self.up,
            Way::Down => &mut self.down,
        }
    }
}

impl Effect {
    fn add(&mut self, fault: &Fault, way: Way) {
        match *fault {
            Fault::Latency {
                base,
                jitter,
                direction,
            } if direction.includes(way) => {
                let (b, j) = self.latency.unwrap_or_default();
                self.latency = Some((b.saturating_add(base), j.saturating_add(jitter)));
            }
            Fault::Bandwidth {
                bytes_per_sec,
                direction,
            } if direction.includes(way) => {
                self.bytes_per_sec = Some(
                    self.bytes_per_sec
                        .map_or(bytes_per_sec, |b| b.min(bytes_per_sec)),
                );
            }
            Fault::Blackhole { direction } if direction.includes(way) => self.blackhole = true,
            Fault::Slice {
                max_chunk,
                delay,
                direction,
            } if direction.includes(way) => {
                self.slice = Some(match self.slice {
                    Some((c, d)) => (c.min(max_chunk), d.max(delay)),
                    None => (max_chunk, delay),
                });
            }
            Fault::HalfClose { direction } if direction.includes(way) => self.half_close = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_combine_per_way() {
        let ms = Duration::from_millis;
        let faults = [
            Fault::Latency {
                base: ms(10),
                jitter: ms(2),
                direction: Direction::Both,
            },
            Fault::Latency {
                base: ms(5),
                jitter: ms(0),
                direction: Direction::Downstream,
            },
            Fault::Bandwidth {
                bytes_per_sec: 1000,
                direction: Direction::Downstream,
            },
            Fault::Bandwidth {
                bytes_per_sec: 500,
                direction: Direction::Both,
            },
            Fault::Slice {
                max_chunk: 7,
                delay: ms(1),
                direction: Direction::Upstream,
            },
            Fault::Blackhole {
                direction: Direction::Upstream,
            },
            Fault::Refuse,
        ];
        let effects = Effects::of(&faults);
        assert_eq!(effects.down.latency, Some((ms(15), ms(2))));
        assert_eq!(effects.up.latency, Some((ms(10), ms(2))));
        assert_eq!(effects.down.bytes_per_sec, Some(500));
        assert_eq!(effects.up.slice, Some((7, ms(1))));
        assert_eq!(effects.down.slice, None);
        assert!(effects.up.blackhole && !effects.down.blackhole);
        assert!(effects.refuse);
        assert!(!Effects::of(&[]).refuse);
    }

    #[test]
    fn bad_values_are_named() {
        let zero = Fault::Bandwidth {
            bytes_per_sec: 0,
            direction: Direction::Both,
        };
        assert!(
            zero.validate()
                .is_err_and(|e| e.to_string().contains("bytes_per_sec"))
        );
        let huge = Fault::Latency {
            base: Duration::from_secs(7200),
            jitter: Duration::ZERO,
            direction: Direction::Both,
        };
        assert!(
            huge.validate()
                .is_err_and(|e| e.to_string().contains("base"))
        );
        let slice = Fault::Slice {
            max_chunk: 0,
            delay: Duration::ZERO,
            direction: Direction::Both,
        };
        assert!(slice.validate().is_err());
        assert_eq!(Fault::Refuse.to_string(), "refuse");
        assert_eq!(
            Fault::Blackhole {
                direction: Direction::Downstream
            }
            .to_string(),
            "blackhole downstream"
        );
    }
}
