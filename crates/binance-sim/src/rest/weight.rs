//! The per-IP request-weight limiter: 429 above the limit, 418 bans for IPs that keep going.
//!
//! Sans-IO: [`Limiter::admit`] is told the time (ms since the epoch) and never reads a
//! clock, so the unit tests below drive it with explicit times.
//!
//! The rules, per IP (PROTOCOL.md §7 and the module docs of `rest`):
//! - Weight is counted per **calendar** minute (`now / 60_000`), so it resets at :00.
//! - A request whose weight takes the minute's total above `weight_per_minute` is answered
//!   429 with `Retry-After` = seconds until the minute ends. Its weight still counts.
//! - Once an IP has been answered 429 `requests_before_ban` times in one minute, its next
//!   over-limit request bans it: 418 with `Retry-After` = seconds until the ban ends.
//! - While banned, every request is answered 418 and adds no weight.
//! - Each ban of the same IP lasts twice the previous one, from `ban_duration` up to `max_ban`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::config::RestRules;

const MINUTE_MS: u64 = 60_000;
/// IPs remembered before idle ones (no weight this minute, never banned) are forgotten.
const MAX_TRACKED_IPS: usize = 10_000;

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Serve the request.
    Admitted {
        /// Weight used by the IP this minute, this request included.
        used: u32,
    },
    /// Answer 429.
    Limited {
        /// Weight used by the IP this minute, this request included.
        used: u32,
        /// Seconds until the minute ends.
        retry_after_secs: u64,
    },
    /// Answer 418.
    Banned {
        /// Weight used by the IP this minute.
        used: u32,
        /// When the ban ends, ms since the epoch.
        until_ms: u64,
        /// Seconds until the ban ends.
        retry_after_secs: u64,
        /// True when this request started the ban.
        new_ban: bool,
    },
}

impl Admission {
    /// The weight used by the IP this minute, for the `X-MBX-USED-WEIGHT-1M` header.
    pub(crate) fn used(self) -> u32 {
        match self {
            Admission::Admitted { used }
            | Admission::Limited { used, .. }
            | Admission::Banned { used, .. } => used,
        }
    }
}

/// One IP's account.
#[derive(Debug, Clone, Copy, Default)]
struct IpState {
    /// The calendar minute `used` and `limited` belong to.
    minute: u64,
    /// Weight used in that minute.
    used: u32,
    /// Requests answered 429 in that minute since the last ban.
    limited: u32,
    /// The end of the current ban, ms since the epoch.
    banned_until: Option<u64>,
    /// Bans issued so far (each doubles the next one).
    bans: u32,
}

impl IpState {
    fn roll(&mut self, now_ms: u64, window_ms: u64) {
        let minute = now_ms / window_ms;
        if minute != self.minute {
            self.minute = minute;
            self.used = 0;
            self.limited = 0;
        }
        if self.banned_until.is_some_and(|until| now_ms >= until) {
            self.banned_until = None;
        }
    }
}

/// The length of the weight window in ms: a minute on Binance, shorter in tests.
fn window_ms(rules: &RestRules) -> u64 {
    u64::try_from(rules.weight_window.as_millis())
        .unwrap_or(MINUTE_MS)
        .max(1)
}

/// The weight limiter of every IP.
#[derive(Debug)]
pub(crate) struct Limiter {
    rules: RestRules,
    ips: HashMap<IpAddr, IpState>,
}

impl Limiter {
    /// A limiter enforcing `rules`.
    pub(crate) fn new(rules: RestRules) -> Self {
        Limiter {
            rules,
            ips: HashMap::new(),
        }
    }

    /// Decides a request of `weight` from `ip` at `now_ms` and accounts for it.
    pub(crate) fn admit(&mut self, ip: IpAddr, weight: u32, now_ms: u64) -> Admission {
        if self.ips.len() >= MAX_TRACKED_IPS && !self.ips.contains_key(&ip) {
            self.forget_idle(now_ms);
        }
        let rules = &self.rules;
        let window_ms = window_ms(rules);
        let state = self.ips.entry(ip).or_default();
        state.roll(now_ms, window_ms);
        if let Some(until_ms) = state.banned_until {
            return Admission::Banned {
                used: state.used,
                until_ms,
                retry_after_secs: secs_until(until_ms, now_ms),
                new_ban: false,
            };
        }
        state.used = state.used.saturating_add(weight);
        if state.used <= rules.weight_per_minute {
            return Admission::Admitted { used: state.used };
        }
        if state.limited < rules.requests_before_ban {
            state.limited += 1;
            return Admission::Limited {
                used: state.used,
                retry_after_secs: secs_until((state.minute + 1) * window_ms, now_ms),
            };
        }
        let length = ban_length(rules, state.bans);
        let until_ms = now_ms.saturating_add(length);
        state.bans = state.bans.saturating_add(1);
        state.limited = 0;
        state.banned_until = Some(until_ms);
        Admission::Banned {
            used: state.used,
            until_ms,
            retry_after_secs: secs_until(until_ms, now_ms),
            new_ban: true,
        }
    }

    /// The weight `ip` has used in the minute of `now_ms`, without counting a request.
    pub(crate) fn used(&self, ip: IpAddr, now_ms: u64) -> u32 {
        self.ips
            .get(&ip)
            .filter(|s| s.minute == now_ms / window_ms(&self.rules))
            .map_or(0, |s| s.used)
    }

    /// Forgets IPs with no weight this minute and no ban history, bounding memory.
    fn forget_idle(&mut self, now_ms: u64) {
        let minute = now_ms / window_ms(&self.rules);
        self.ips
            .retain(|_, s| s.bans > 0 || s.banned_until.is_some() || s.minute == minute);
    }
}

/// The length in ms of an IP's next ban after `previous` bans: doubling, capped.
fn ban_length(rules: &RestRules, previous: u32) -> u64 {
    let first = millis(rules.ban_duration);
    let max = millis(rules.max_ban);
    let factor = 1_u64.checked_shl(previous.min(63)).unwrap_or(u64::MAX);
    first.saturating_mul(factor).min(max)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whole seconds from `now_ms` until `target_ms`, rounded up, at least 1: a client that
/// waits that long is past the deadline.
pub(crate) fn secs_until(target_ms: u64, now_ms: u64) -> u64 {
    target_ms.saturating_sub(now_ms).div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-15T10:20:00Z, the start of a calendar minute.
    const T0: u64 = 1_710_498_000_000;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn rules(limit: u32, before_ban: u32) -> RestRules {
        RestRules {
            weight_per_minute: limit,
            requests_before_ban: before_ban,
            ban_duration: Duration::from_secs(120),
            max_ban: Duration::from_secs(3 * 24 * 3600),
            weight_window: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_shorter_window_resets_sooner() {
        let mut l = Limiter::new(RestRules {
            weight_window: Duration::from_secs(2),
            ..rules(10, 5)
        });
        assert_eq!(l.admit(ip(9), 10, 4_000), Admission::Admitted { used: 10 });
        assert!(matches!(
            l.admit(ip(9), 1, 5_500),
            Admission::Limited {
                retry_after_secs: 1,
                ..
            }
        ));
        assert_eq!(l.admit(ip(9), 1, 6_000), Admission::Admitted { used: 1 });
    }

    #[test]
    fn weight_accumulates_and_resets_on_the_calendar_minute() {
        let mut l = Limiter::new(rules(10, 5));
        assert_eq!(
            l.admit(ip(1), 4, T0 + 59_000),
            Admission::Admitted { used: 4 }
        );
        assert_eq!(
            l.admit(ip(1), 6, T0 + 59_999),
            Admission::Admitted { used: 10 }
        );
        assert_eq!(l.used(ip(1), T0 + 59_999), 10);
        // One millisecond later is a new calendar minute, not a sliding window.
        assert_eq!(l.used(ip(1), T0 + 60_000), 0);
        assert_eq!(
            l.admit(ip(1), 1, T0 + 60_000),
            Admission::Admitted { used: 1 }
        );
    }

    #[test]
    fn over_the_limit_is_429_until_the_minute_ends_and_still_counts() {
        let mut l = Limiter::new(rules(10, 5));
        assert_eq!(l.admit(ip(1), 10, T0), Admission::Admitted { used: 10 });
        assert_eq!(
            l.admit(ip(1), 1, T0 + 20_500),
            Admission::Limited {
                used: 11,
                retry_after_secs: 40
            }
        );
        assert_eq!(
            l.admit(ip(1), 2, T0 + 59_999),
            Admission::Limited {
                used: 13,
                retry_after_secs: 1
            }
        );
        // Another IP is not affected.
        assert_eq!(l.admit(ip(2), 10, T0 + 1), Admission::Admitted { used: 10 });
        // A heavy request alone can break the limit.
        assert!(matches!(
            l.admit(ip(3), 11, T0),
            Admission::Limited { used: 11, .. }
        ));
    }

    #[test]
    fn repeated_429s_ban_and_bans_double_up_to_the_cap() {
        let mut r = rules(1, 2);
        r.max_ban = Duration::from_secs(300);
        let mut l = Limiter::new(r);
        let mut now = T0;
        let mut expected_ban = 120_000;
        for round in 0..4 {
            assert!(
                matches!(l.admit(ip(1), 1, now), Admission::Admitted { .. }),
                "round {round}"
            );
            assert!(matches!(l.admit(ip(1), 1, now), Admission::Limited { .. }));
            assert!(matches!(l.admit(ip(1), 1, now), Admission::Limited { .. }));
            let banned = l.admit(ip(1), 1, now);
            assert_eq!(
                banned,
                Admission::Banned {
                    used: 4,
                    until_ms: now + expected_ban,
                    retry_after_secs: expected_ban / 1000,
                    new_ban: true
                },
                "round {round}"
            );
            // During the ban: 418, no weight added, Retry-After counts down.
            assert_eq!(
                l.admit(ip(1), 50, now + 1_500),
                Admission::Banned {
                    used: 4,
                    until_ms: now + expected_ban,
                    retry_after_secs: (expected_ban - 1_500).div_ceil(1000),
                    new_ban: false
                }
            );
            // The ban ends exactly at its end; start the next round on a fresh minute.
            now += expected_ban;
            now += MINUTE_MS - now % MINUTE_MS;
            expected_ban = (expected_ban * 2).min(300_000);
        }
    }

    #[test]
    fn zero_requests_before_ban_bans_at_once() {
        let mut l = Limiter::new(rules(1, 0));
        assert!(matches!(l.admit(ip(1), 1, T0), Admission::Admitted { .. }));
        assert!(matches!(
            l.admit(ip(1), 1, T0),
            Admission::Banned { new_ban: true, .. }
        ));
    }

    #[test]
    fn ban_outlives_the_minute_and_429_count_restarts_after_it() {
        let mut l = Limiter::new(rules(1, 1));
        let t = T0 + 50_000;
        let _ = l.admit(ip(1), 1, t);
        assert!(matches!(l.admit(ip(1), 1, t), Admission::Limited { .. }));
        let Admission::Banned { until_ms, .. } = l.admit(ip(1), 1, t) else {
            panic!("expected a ban");
        };
        // The next minute starts during the ban: still 418.
        assert!(matches!(
            l.admit(ip(1), 1, T0 + 61_000),
            Admission::Banned { new_ban: false, .. }
        ));
        // After the ban, in the same minute the ban ended in, the IP gets its 429s again first.
        assert!(matches!(
            l.admit(ip(1), 1, until_ms),
            Admission::Admitted { .. }
        ));
        assert!(matches!(
            l.admit(ip(1), 1, until_ms),
            Admission::Limited { .. }
        ));
        assert!(matches!(
            l.admit(ip(1), 1, until_ms),
            Admission::Banned { new_ban: true, .. }
        ));
    }

    #[test]
    fn huge_weights_and_durations_saturate() {
        let mut r = rules(u32::MAX, 0);
        r.ban_duration = Duration::MAX;
        r.max_ban = Duration::MAX;
        let mut l = Limiter::new(r);
        assert!(matches!(
            l.admit(ip(1), u32::MAX, T0),
            Admission::Admitted { .. }
        ));
        assert!(matches!(
            l.admit(ip(1), u32::MAX, T0),
            Admission::Admitted { used: u32::MAX }
        ));
        assert_eq!(ban_length(&rules(1, 0), 200), 3 * 24 * 3600 * 1000);
        assert_eq!(secs_until(0, u64::MAX), 1);
    }

    #[test]
    fn idle_ips_are_forgotten_but_offenders_are_not() {
        let mut l = Limiter::new(rules(1, 0));
        let offender = ip(0);
        let _ = l.admit(offender, 2, T0);
        for i in 0..MAX_TRACKED_IPS {
            let octets = u32::try_from(i).unwrap_or(0).to_be_bytes();
            let _ = l.admit(IpAddr::from([11, octets[1], octets[2], octets[3]]), 1, T0);
        }
        let _ = l.admit(ip(9), 1, T0 + MINUTE_MS);
        assert!(l.ips.len() <= 2);
        assert!(matches!(
            l.admit(offender, 1, T0 + MINUTE_MS),
            Admission::Banned { new_ban: false, .. }
        ));
    }
}
