//! The scenarios by name: what each injects and what it verifies.

use std::fmt;
use std::str::FromStr;

use super::error::ChaosError;

/// One resilience scenario. Each has a setup (the simulator, fault proxies in
/// front of it, a client with short timings), an injection (seeded faults),
/// an observation (what the client delivered and signalled), a recovery (every
/// stream delivering again, the market frozen, the client caught up) and a
/// verification (the measures against the scenario's guarantees, and the
/// scenario's own expectations).
///
/// Names are kebab case (`connection-failure`); [`Scenario::from_str`] takes
/// them, and its error lists every valid one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Scenario {
    /// Connections cut in several ways (TCP reset by the network, close 1001 and
    /// 1011 and reset by the server, a half-closed link).
    ConnectionFailure,
    /// The network drops everything both ways, WebSocket and REST (a
    /// blackhole), then only what the exchange sends.
    NetworkPartition,
    /// The exchange closes with 1008 (too many requests), answers REST with 429
    /// and then bans with 418.
    RateLimiting,
    /// The exchange refuses every connection until the endpoint's circuit
    /// breaker opens, and a while longer.
    CircuitBreaker,
    /// The exchange keeps connections open and sends nothing.
    Stall,
    /// REST answers 5xx while the client needs it (backfill after a drop, a
    /// book snapshot after a sequence gap).
    ServerErrors,
    /// Short connection lifetimes (rotation before the cut-off) and a
    /// `serverShutdown` announcement.
    Rotation,
    /// The first endpoint refuses every connection for a long time; a second
    /// endpoint works.
    EndpointFailover,
    /// One subscriber reads far slower than events arrive.
    SlowConsumer,
}

impl Scenario {
    /// Every scenario, in the order the full suite runs them.
    pub const ALL: [Scenario; 9] = [
        Scenario::ConnectionFailure,
        Scenario::NetworkPartition,
        Scenario::RateLimiting,
        Scenario::CircuitBreaker,
        Scenario::Stall,
        Scenario::ServerErrors,
        Scenario::Rotation,
        Scenario::EndpointFailover,
        Scenario::SlowConsumer,
    ];

    /// The scenario's name (`connection-failure`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Scenario::ConnectionFailure => "connection-failure",
            Scenario::NetworkPartition => "network-partition",
            Scenario::RateLimiting => "rate-limiting",
            Scenario::CircuitBreaker => "circuit-breaker",
            Scenario::Stall => "stall",
            Scenario::ServerErrors => "server-errors",
            Scenario::Rotation => "rotation",
            Scenario::EndpointFailover => "endpoint-failover",
            Scenario::SlowConsumer => "slow-consumer",
        }
    }

    /// Every valid name, comma separated, for error messages and help.
    #[must_use]
    pub fn names() -> String {
        Scenario::ALL
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What the scenario injects, in one sentence.
    #[must_use]
    pub fn injects(self) -> &'static str {
        match self {
            Scenario::ConnectionFailure => {
                "four cuts at seeded moments, drawn from: TCP reset by the proxy, close 1001, close 1011 and TCP reset by the server, a half-closed link"
            }
            Scenario::NetworkPartition => {
                "a blackhole both ways on the WebSocket and REST proxies (2-4 s), then a downstream-only blackhole on the WebSocket (2-3 s)"
            }
            Scenario::RateLimiting => {
                "a close 1008 (too many requests); REST 429 during a reconnect's backfill; a REST 418 ban during a book resync"
            }
            Scenario::CircuitBreaker => {
                "every connection refused (and the open one reset) until the breaker opens, then 0.5-2 s longer"
            }
            Scenario::Stall => {
                "the server sends nothing on open connections for 2.5-4 s, twice"
            }
            Scenario::ServerErrors => {
                "REST 500/502/503/504 for 1-2 s, twice, each with a connection reset (backfill) and a depth gap (book snapshot)"
            }
            Scenario::Rotation => {
                "a 6 s connection lifetime (the client rotates after 2.5-3 s) and a serverShutdown at a seeded moment after the first rotation"
            }
            Scenario::EndpointFailover => {
                "the first endpoint refuses and resets every connection for the rest of the run; a second endpoint works"
            }
            Scenario::SlowConsumer => {
                "a second subscriber that reads one event per 100 ms for 4-6 s (buffer 256), then catches up"
            }
        }
    }

    /// What the scenario verifies besides the common guarantees (nothing
    /// lost, duplicated or out of order against the simulator's history,
    /// books equal to the simulator's, every fault recovered within the
    /// bound, Binance's limits respected).
    #[must_use]
    pub fn verifies(self) -> &'static str {
        match self {
            Scenario::ConnectionFailure => "every cut felt (a disconnect per cut) and recovered",
            Scenario::NetworkPartition => {
                "the silent link detected by the silence timeout; recovery after the partition heals"
            }
            Scenario::RateLimiting => {
                "the longer rate-limit backoff after 1008; Retry-After honoured after 429; REST stopped during the 418 ban; the book rebuilt after it"
            }
            Scenario::CircuitBreaker => {
                "the breaker opens; no connection attempt while it is open; it closes again once the server accepts"
            }
            Scenario::Stall => "the stall detected by the silence timeout (cause `silence`)",
            Scenario::ServerErrors => {
                "REST retried through the 5xx (no gap reported); the book rebuilt"
            }
            Scenario::Rotation => {
                "rotations on lifetime and on serverShutdown, make-before-break: no disconnect, no outage, no duplicate"
            }
            Scenario::EndpointFailover => {
                "the streams continue through the second endpoint while the first still refuses (skipped when the client never tries another endpoint)"
            }
            Scenario::SlowConsumer => {
                "the slow subscriber is told Lagged; received + missed = delivered; the other subscriber loses nothing and is never held up"
            }
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = ChaosError;

    /// A scenario by name, case-insensitive; `_` and `-` are the same.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
        Scenario::ALL
            .into_iter()
            .find(|s| s.name() == wanted)
            .ok_or_else(|| ChaosError::UnknownScenario {
                name: text.to_owned(),
                valid: Scenario::names(),
            })
    }
}

/// Parses `NAME[,NAME…]` or `all` into scenarios, in suite order, each once.
///
/// # Errors
/// [`ChaosError::UnknownScenario`] naming the first bad name and listing the
/// valid ones.
pub fn parse_selection(text: &str) -> Result<Vec<Scenario>, ChaosError> {
    if text.trim().eq_ignore_ascii_case("all") {
        return Ok(Scenario::ALL.to_vec());
    }
    let mut chosen = Vec::new();
    for part in text.split(',') {
        let scenario: Scenario = part.parse()?;
        if !chosen.contains(&scenario) {
            chosen.push(scenario);
        }
    }
    chosen.sort();
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>().ok(), Some(scenario));
            let json = serde_json::to_string(&scenario).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", scenario.name()));
        }
        assert_eq!(
            "Rate_Limiting".parse::<Scenario>().ok(),
            Some(Scenario::RateLimiting)
        );
        let error = "partition".parse::<Scenario>().err().map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(error.contains("\"partition\""), "{error}");
        assert!(error.contains("network-partition, rate-limiting"), "{error}");
        assert!(error.contains("all"), "{error}");
    }

    #[test]
    fn selections() {
        assert_eq!(parse_selection("all").ok(), Some(Scenario::ALL.to_vec()));
        assert_eq!(
            parse_selection("stall,rotation,stall").ok(),
            Some(vec![Scenario::Stall, Scenario::Rotation])
        );
        assert!(parse_selection("stall,nope").is_err());
        assert!(parse_selection("").is_err());
    }
}
