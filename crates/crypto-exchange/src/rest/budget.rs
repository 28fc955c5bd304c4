//! The REST weight budget, sans-IO: Binance's per-IP request weight, counted the
//! way Binance counts it (a fixed window aligned to the epoch: one calendar
//! minute), kept under a share of the limit, and the 429/418 states.
//!
//! The budget is told the time (`now_ms`, ms since the epoch) and what the server
//! said (`X-MBX-USED-WEIGHT-1M`, 429 with `Retry-After`, 418 with `Retry-After`);
//! it answers whether a request of a given weight may go now, and if not, when.
//!
//! Why not a GCRA (governor): Binance's limit is a fixed calendar window, and a
//! GCRA with a burst large enough for a weight-250 depth snapshot can spend up to
//! twice its budget across a window boundary. Mirroring the server's own window,
//! corrected by the header on every response, never exceeds it.

use std::time::Duration;

/// The budget's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// The server's limit per window (Binance: 6000 per minute; `exchangeInfo` says).
    pub limit: u32,
    /// The share of the limit this client may use (default 0.8), leaving room for
    /// other clients on the same IP.
    pub share: f64,
    /// The window length (Binance: 60 s, aligned to the minute).
    pub window: Duration,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            limit: 6000,
            share: 0.8,
            window: Duration::from_secs(60),
        }
    }
}

impl BudgetConfig {
    /// The weight this client allows itself per window.
    #[must_use]
    pub fn allowance(&self) -> u32 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a share in (0, 1] of a u32"
        )]
        let allowance = (f64::from(self.limit) * self.share).floor() as u32;
        allowance.max(1)
    }

    /// Every problem with the settings, each naming the field.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.limit == 0 {
            problems.push("rest.weight_limit must be above zero".to_owned());
        }
        if !(self.share > 0.0 && self.share <= 1.0) {
            problems.push(format!(
                "rest.weight_share = {} must be in (0, 1]",
                self.share
            ));
        }
        if self.window < Duration::from_millis(100) {
            problems.push(format!(
                "rest.weight_window = {:?} must be at least 100ms",
                self.window
            ));
        }
        problems
    }
}

/// What the budget says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it now; its weight is counted.
    Go,
    /// Wait until this time (ms since the epoch), then ask again.
    WaitUntil(u64),
    /// The IP is banned until this time: fail at once.
    Banned(u64),
}

/// The budget.
#[derive(Debug, Clone)]
pub struct WeightBudget {
    config: BudgetConfig,
    window: u64,
    used: u32,
    blocked_until: Option<u64>,
    banned_until: Option<u64>,
}

impl WeightBudget {
    /// An empty budget.
    #[must_use]
    pub fn new(config: BudgetConfig) -> Self {
        WeightBudget {
            config,
            window: 0,
            used: 0,
            blocked_until: None,
            banned_until: None,
        }
    }

    fn window_ms(&self) -> u64 {
        u64::try_from(self.config.window.as_millis())
            .unwrap_or(60_000)
            .max(1)
    }

    fn roll(&mut self, now_ms: u64) {
        let window = now_ms / self.window_ms();
        if window != self.window {
            self.window = window;
            self.used = 0;
        }
        if self.blocked_until.is_some_and(|t| now_ms >= t) {
            self.blocked_until = None;
        }
        if self.banned_until.is_some_and(|t| now_ms >= t) {
            self.banned_until = None;
        }
    }

    /// May a request of `weight` go at `now_ms`? `Go` counts it.
    pub fn reserve(&mut self, weight: u32, now_ms: u64) -> Verdict {
        self.roll(now_ms);
        if let Some(until) = self.banned_until {
            return Verdict::Banned(until);
        }
        if let Some(until) = self.blocked_until {
            return Verdict::WaitUntil(until);
        }
        let allowance = self.config.allowance();
        // A request heavier than the whole allowance goes alone at a window start.
        if self.used > 0 && self.used.saturating_add(weight) > allowance {
            return Verdict::WaitUntil((self.window + 1) * self.window_ms());
        }
        self.used = self.used.saturating_add(weight);
        Verdict::Go
    }

    /// The server reported the IP's weight in the current window
    /// (`X-MBX-USED-WEIGHT-1M`): other clients on the IP count too.
    pub fn observe_used(&mut self, used: u32, now_ms: u64) {
        self.roll(now_ms);
        self.used = self.used.max(used);
    }

    /// The server answered 429: nothing goes until `Retry-After` has passed
    /// (or the window ends, when it gave none).
    pub fn on_throttled(&mut self, retry_after: Option<Duration>, now_ms: u64) -> u64 {
        self.roll(now_ms);
        let until = match retry_after {
            Some(wait) => {
                now_ms.saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
            }
            None => (self.window + 1) * self.window_ms(),
        };
        self.blocked_until = Some(self.blocked_until.map_or(until, |t| t.max(until)));
        until
    }

    /// The server answered 418: the IP is banned until `now + retry_after`.
    pub fn on_banned(&mut self, retry_after: Option<Duration>, now_ms: u64) -> u64 {
        self.roll(now_ms);
        // Binance always sends Retry-After with a ban; without one, assume its
        // shortest ban (2 minutes) rather than hammering a banned IP.
        let wait = retry_after.unwrap_or(Duration::from_secs(120));
        let until = now_ms.saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        self.banned_until = Some(self.banned_until.map_or(until, |t| t.max(until)));
        until
    }

    /// The end of the current ban, if any.
    #[must_use]
    pub fn banned_until(&mut self, now_ms: u64) -> Option<u64> {
        self.roll(now_ms);
        self.banned_until
    }

    /// Weight counted in the current window.
    #[must_use]
    pub fn used(&self) -> u32 {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> WeightBudget {
        WeightBudget::new(BudgetConfig {
            limit: 100,
            share: 0.8,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn stays_under_the_share_and_resets_with_the_window() {
        let mut b = budget();
        for i in 0..20 {
            assert_eq!(b.reserve(4, 1_000 + i), Verdict::Go);
        }
        assert_eq!(b.used(), 80);
        assert_eq!(b.reserve(4, 2_000), Verdict::WaitUntil(60_000));
        assert_eq!(b.reserve(4, 60_000), Verdict::Go);
        assert_eq!(b.used(), 4);
    }

    #[test]
    fn the_server_header_wins_when_higher() {
        let mut b = budget();
        assert_eq!(b.reserve(2, 1_000), Verdict::Go);
        b.observe_used(79, 1_001);
        assert_eq!(b.reserve(2, 1_002), Verdict::WaitUntil(60_000));
        b.observe_used(1, 1_003);
        assert_eq!(b.used(), 79, "a lower header does not undo our own count");
    }

    #[test]
    fn a_heavy_request_goes_alone_at_a_window_start() {
        let mut b = budget();
        assert_eq!(b.reserve(250, 0), Verdict::Go);
        assert_eq!(b.reserve(1, 10), Verdict::WaitUntil(60_000));
    }

    #[test]
    fn throttle_and_ban() {
        let mut b = budget();
        assert_eq!(b.on_throttled(Some(Duration::from_secs(5)), 1_000), 6_000);
        assert_eq!(b.reserve(1, 2_000), Verdict::WaitUntil(6_000));
        assert_eq!(b.reserve(1, 6_000), Verdict::Go);
        assert_eq!(b.on_banned(Some(Duration::from_secs(120)), 7_000), 127_000);
        assert_eq!(b.reserve(1, 8_000), Verdict::Banned(127_000));
        assert_eq!(b.banned_until(127_000), None);
        assert_eq!(b.reserve(1, 127_000), Verdict::Go);
    }

    #[test]
    fn settings_are_checked() {
        let bad = BudgetConfig {
            limit: 0,
            share: 1.5,
            window: Duration::ZERO,
        };
        assert_eq!(bad.problems().len(), 3);
        assert!(BudgetConfig::default().problems().is_empty());
        assert_eq!(BudgetConfig::default().allowance(), 4800);
    }
}
