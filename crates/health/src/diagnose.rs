//! Diagnostics: findings with a recommended action, derived from the
//! statistics (`docs/health.md` lists them).

use std::time::{Duration, Instant};

use crate::Level;
use crate::input::{BreakerState, ConnectionState, DisconnectCause, RestLimit};
use crate::monitor::Monitor;
use crate::rules::human;
use crate::track::{ConnTrack, MINUTE_BUCKETS};

/// One finding: what the statistics show, what to do, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Diagnostic {
    /// A stable identifier of the rule (`reconnect_loop_policy_violation`).
    pub code: &'static str,
    /// The component concerned (`conn-1`, `btcusdt@aggTrade`, `rest`) or
    /// `system`.
    pub subject: String,
    /// How serious it is.
    pub level: Level,
    /// What is happening and the likely cause.
    pub finding: String,
    /// What to do, or what the client will do by itself.
    pub action: String,
    /// The figures behind the finding.
    pub evidence: String,
}

/// Failures of a connection in the window, split by cause family.
struct FailureMix {
    total: usize,
    policy: usize,
    handshake_limited: usize,
    network: usize,
    setup: usize,
    mean_session: Option<Duration>,
}

fn mix(conn: &ConnTrack, window: Duration, now: Instant) -> FailureMix {
    let mut mix = FailureMix {
        total: 0,
        policy: 0,
        handshake_limited: 0,
        network: 0,
        setup: 0,
        mean_session: None,
    };
    let mut session_total = Duration::ZERO;
    let mut sessions = 0u32;
    for failure in conn.failures_within(window, now) {
        mix.total += 1;
        match failure.cause {
            DisconnectCause::PolicyViolation => mix.policy += 1,
            DisconnectCause::RateLimited | DisconnectCause::Banned => mix.handshake_limited += 1,
            DisconnectCause::Reset
            | DisconnectCause::Timeout
            | DisconnectCause::Silence
            | DisconnectCause::Refused => mix.network += 1,
            DisconnectCause::Dns | DisconnectCause::Tls | DisconnectCause::Certificate => {
                mix.setup += 1;
            }
            _ => {}
        }
        if let Some(session) = failure.session {
            session_total += session;
            sessions += 1;
        }
    }
    if sessions > 0 {
        mix.mean_session = Some(session_total / sessions);
    }
    mix
}

impl Monitor {
    /// What the statistics show at `now`, each with a recommended action;
    /// worst first. Empty when nothing is wrong.
    #[must_use]
    pub fn diagnostics(&self, now: Instant) -> Vec<Diagnostic> {
        let config = &self.config;
        let window = config.flap_window;
        let mut out = Vec::new();
        for conn in &self.connections {
            let mix = mix(conn, window, now);
            let sessions = mix.mean_session.map_or_else(String::new, |s| {
                format!("; sessions lasted {} on average", human(s))
            });
            if mix.policy >= 2 && mix.policy * 2 >= mix.total {
                out.push(Diagnostic {
                    code: "reconnect_loop_policy_violation",
                    subject: conn.name.clone(),
                    level: Level::Degraded,
                    finding: "reconnects every few seconds after 1008 closes: outbound frames \
                              exceed the server's limit"
                        .to_owned(),
                    action: "lower the subscription batch rate: fewer control frames per second, \
                             more streams per frame"
                        .to_owned(),
                    evidence: format!(
                        "{} failures in the last {}, {} closed with 1008{sessions}",
                        mix.total,
                        human(window),
                        mix.policy
                    ),
                });
            }
            if mix.handshake_limited >= 2 {
                out.push(Diagnostic {
                    code: "handshake_rate_limited",
                    subject: conn.name.clone(),
                    level: Level::Degraded,
                    finding: "connection attempts are refused with 429/418: too many attempts \
                              from this IP"
                        .to_owned(),
                    action: "slow the reconnect schedule, share one attempt budget across \
                             connections and wait out the Retry-After"
                        .to_owned(),
                    evidence: format!(
                        "{} refusals in the last {}",
                        mix.handshake_limited,
                        human(window)
                    ),
                });
            }
            if mix.network >= config.flap_reconnects as usize {
                out.push(Diagnostic {
                    code: "unstable_network",
                    subject: conn.name.clone(),
                    level: Level::Degraded,
                    finding: "connections keep dropping (reset, timeout, silence): the network \
                              path or a proxy is unstable"
                        .to_owned(),
                    action: "check the network path and any proxy's idle timeout; the client \
                             keeps reconnecting with backoff"
                        .to_owned(),
                    evidence: format!(
                        "{} network failures in the last {}{sessions}",
                        mix.network,
                        human(window)
                    ),
                });
            }
            if mix.setup >= 2 {
                out.push(Diagnostic {
                    code: "endpoint_unreachable",
                    subject: conn.name.clone(),
                    level: Level::Unhealthy,
                    finding: "the endpoint cannot be resolved or verified (DNS, TLS, certificate)"
                        .to_owned(),
                    action: "check DNS, the system's CA certificates and any intercepting \
                             proxy; the client falls back to the next endpoint"
                        .to_owned(),
                    evidence: format!(
                        "{} DNS/TLS failures in the last {}",
                        mix.setup,
                        human(window)
                    ),
                });
            }
        }
        self.diagnose_streams(now, &mut out);
        self.diagnose_rest_and_lag(now, &mut out);
        for breaker in self
            .breakers
            .iter()
            .filter(|b| b.state == BreakerState::Open)
        {
            out.push(Diagnostic {
                code: "breaker_open",
                subject: breaker.name.clone(),
                level: Level::Degraded,
                finding: "the endpoint failed repeatedly and its circuit breaker is open"
                    .to_owned(),
                action: "traffic uses the fallback endpoint; the breaker probes the endpoint \
                         again when half-open"
                    .to_owned(),
                evidence: format!(
                    "open for {}; opened {} time(s)",
                    human(now.saturating_duration_since(breaker.since)),
                    breaker.opens
                ),
            });
        }
        out.sort_by_key(|d| std::cmp::Reverse(d.level));
        out
    }

    fn diagnose_streams(&self, now: Instant, out: &mut Vec<Diagnostic>) {
        let config = &self.config;
        let mut slow = 0usize;
        let mut measured = 0usize;
        let mut worst_latency = Duration::ZERO;
        for (index, conn) in (0u32..).zip(&self.connections) {
            if conn.state != ConnectionState::Connected {
                continue;
            }
            let streams: Vec<_> = self
                .streams
                .iter()
                .filter(|s| s.active && s.connection == index)
                .collect();
            let stalled: Vec<_> = streams
                .iter()
                .filter(|s| {
                    let normal = self.normal_interval(s, now);
                    Self::silence(s, conn, now).as_secs_f64()
                        >= normal.as_secs_f64() * config.silence_degraded_factor
                })
                .collect();
            for stream in &stalled {
                let silent = Self::silence(stream, conn, now);
                let whole = stalled.len() == streams.len();
                out.push(Diagnostic {
                    code: "stream_stalled",
                    subject: stream.name.clone(),
                    level: Level::Degraded,
                    finding: if whole {
                        "every stream of the connection is silent while it stays open: \
                         half-open connection or server-side stall"
                            .to_owned()
                    } else {
                        "stream silent while its connection is alive: server-side stall".to_owned()
                    },
                    action: "the connection will be recycled (resubscribe); if it repeats, \
                             move the stream to another connection or endpoint"
                        .to_owned(),
                    evidence: format!(
                        "silent for {} (normal interval {}); {} of {} streams on {} silent",
                        human(silent),
                        human(self.normal_interval(stream, now)),
                        stalled.len(),
                        streams.len(),
                        conn.name
                    ),
                });
            }
            for stream in &streams {
                if let Some(latency) = stream.meter.read(now, self.half_life).latency {
                    measured += 1;
                    if latency >= config.latency_warning {
                        slow += 1;
                        worst_latency = worst_latency.max(latency);
                    }
                }
            }
        }
        if slow > 0 {
            let all = slow == measured;
            out.push(Diagnostic {
                code: "high_latency",
                subject: "system".to_owned(),
                level: if worst_latency >= config.latency_degraded {
                    Level::Degraded
                } else {
                    Level::Warning
                },
                finding: if all {
                    "every stream's events arrive late: the host clock is off or the network \
                     path is slow"
                        .to_owned()
                } else {
                    "some streams' events arrive late: the server or the receive task falls \
                     behind on them"
                        .to_owned()
                },
                action: if all {
                    "check the host clock (NTP) and the network path; run closer to the exchange"
                        .to_owned()
                } else {
                    "move work off the receive task and spread busy streams over more \
                     connections"
                        .to_owned()
                },
                evidence: format!(
                    "{slow} of {measured} streams above {}; worst {}",
                    human(config.latency_warning),
                    human(worst_latency)
                ),
            });
        }
        for stream in self.streams.iter().filter(|s| s.active) {
            if let Some(lost) = stream.last_loss
                && now.saturating_duration_since(lost) < config.data_loss_window
            {
                out.push(Diagnostic {
                    code: "data_lost",
                    subject: stream.name.clone(),
                    level: Level::Degraded,
                    finding: "a gap could not be backfilled: the outage outlasted what REST \
                              can return or the weight budget"
                        .to_owned(),
                    action: "consumers received an explicit gap; shorten outages (more \
                             connections, fallback endpoints) or raise the backfill budget"
                        .to_owned(),
                    evidence: format!("{} gap(s), {} lost", stream.gaps, stream.backfills[2]),
                });
            }
        }
    }

    fn diagnose_rest_and_lag(&self, now: Instant, out: &mut Vec<Diagnostic>) {
        let status = self.rest.status;
        if let RestLimit::Banned { until } = status.limit
            && until > now
        {
            out.push(Diagnostic {
                code: "rest_banned",
                subject: "rest".to_owned(),
                level: Level::Critical,
                finding: "the IP is banned from REST (418) after ignoring rate limits".to_owned(),
                action: "no REST request until the ban ends (the client stops by itself); \
                         then cut request weight: fewer snapshots, longer polling intervals"
                    .to_owned(),
                evidence: format!(
                    "ban ends in {}; {} ban(s) so far",
                    human(until - now),
                    self.rest.bans
                ),
            });
        } else if status.weight_limit > 0 {
            let share = f64::from(status.used_weight) / f64::from(status.weight_limit);
            if share >= self.config.rest_weight_warning {
                out.push(Diagnostic {
                    code: "rest_weight_high",
                    subject: "rest".to_owned(),
                    level: Level::Warning,
                    finding: "REST weight close to the limit: a 429 and then a ban may follow"
                        .to_owned(),
                    action: "space out snapshots and backfills; prefer streams to polling"
                        .to_owned(),
                    evidence: format!(
                        "{} of {} weight used ({:.0}%)",
                        status.used_weight,
                        status.weight_limit,
                        share * 100.0
                    ),
                });
            }
        }
        let missed = self.lag.window.recent(now, MINUTE_BUCKETS).lagged;
        if missed >= self.config.lag_warning {
            out.push(Diagnostic {
                code: "subscriber_lag",
                subject: "subscribers".to_owned(),
                level: if missed >= self.config.lag_degraded {
                    Level::Degraded
                } else {
                    Level::Warning
                },
                finding: "a subscriber is slower than the feed and misses events".to_owned(),
                action: "raise the subscriber's buffer or process events faster (move slow \
                         work to another task); other subscribers are not affected"
                    .to_owned(),
                evidence: format!(
                    "{missed} events missed in the last minute, {} in total",
                    self.lag.total
                ),
            });
        }
    }
}
