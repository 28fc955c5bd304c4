//! What a scenario's script works with: the test bed, the observations, a
//! seeded RNG, the injection phase's clock, and the expectations it records.

use std::time::{Duration, Instant};

use ::chaos::{Fault, FaultId, Proxy};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;

use super::config::Timings;
use super::outcome::Expectation;
use super::testbed::Testbed;
use super::watch::{Observed, Watch};

/// The script's working state.
pub(crate) struct Ctx<'a> {
    pub(crate) bed: &'a Testbed,
    pub(crate) watch: &'a Watch,
    pub(crate) timings: &'a Timings,
    pub(crate) rng: ChaCha8Rng,
    /// When the injection phase began.
    pub(crate) start: Instant,
    /// How long it lasts.
    pub(crate) duration: Duration,
    pub(crate) expectations: Vec<Expectation>,
    /// The longest fault window opened, for the MTTR bound.
    pub(crate) longest_fault: Duration,
    /// When the last fault window closed.
    pub(crate) last_clear: Instant,
    /// The slow subscriber's pace, in the slow-consumer scenario.
    pub(crate) slow_pace: Option<watch::Sender<Duration>>,
    /// Set when the scenario cannot run on this build.
    pub(crate) skipped: Option<String>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(bed: &'a Testbed, watch: &'a Watch, timings: &'a Timings, rng: ChaCha8Rng, duration: Duration) -> Self {
        let start = Instant::now();
        Ctx {
            bed,
            watch,
            timings,
            rng,
            start,
            duration,
            expectations: Vec::new(),
            longest_fault: Duration::ZERO,
            last_clear: start,
            slow_pace: None,
            skipped: None,
        }
    }

    /// A seeded draw in `lo..=hi` milliseconds.
    pub(crate) fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.rng.random_range(lo..=hi.max(lo)))
    }

    /// A seeded moment in `from..to` of the phase, leaving `room` before `to`.
    pub(crate) fn moment(&mut self, from: Duration, to: Duration, room: Duration) -> Duration {
        let lo = u64::try_from(from.as_millis()).unwrap_or(0);
        let hi = u64::try_from(to.saturating_sub(room).as_millis()).unwrap_or(0);
        self.ms(lo, hi)
    }

    /// Time since the phase began.
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Sleeps until `offset` into the phase (at once if it has passed).
    pub(crate) async fn at(&self, offset: Duration) {
        tokio::time::sleep_until((self.start + offset).into()).await;
    }

    /// Polls `cond` until it holds, for at most `limit`; whether it held.
    pub(crate) async fn poll(&self, limit: Duration, cond: impl Fn(&Observed) -> bool) -> bool {
        self.watch.until(limit, cond).await
    }

    /// Waits (at most the recovery bound) until every stream delivered after
    /// `since`; whether they did.
    pub(crate) async fn recovered(&self, since: Instant) -> bool {
        self.poll(self.timings.recovery_bound, |o| o.all_delivered_since(since))
            .await
    }

    /// Records an expectation.
    pub(crate) fn expect(&mut self, what: impl Into<String>, met: bool, detail: impl Into<String>) {
        self.expectations.push(Expectation::new(what, met, detail));
    }

    /// Opens a fault window now; returns its mark and start.
    pub(crate) fn open(&self, label: &str) -> (::chaos::FaultMark, Instant) {
        tracing::info!(fault = label, "chaos: fault injected");
        (self.watch.fault_start(label), Instant::now())
    }

    /// Closes a fault window now.
    pub(crate) fn close(&mut self, mark: ::chaos::FaultMark, opened: Instant) {
        self.watch.fault_end(mark);
        let now = Instant::now();
        self.longest_fault = self.longest_fault.max(now.duration_since(opened));
        self.last_clear = now;
    }

    /// Switches a proxy fault on; a refused fault is recorded as an unmet
    /// expectation (it cannot happen with the faults the scripts use).
    pub(crate) fn set(&mut self, proxy: &Proxy, fault: Fault) -> Option<FaultId> {
        match proxy.set_fault(fault) {
            Ok(id) => Some(id),
            Err(error) => {
                self.expect(format!("the proxy accepts {fault}"), false, error.to_string());
                None
            }
        }
    }
}

/// Clears proxy faults switched on by [`Ctx::set`].
pub(crate) fn clear(proxy: &Proxy, ids: impl IntoIterator<Item = Option<FaultId>>) {
    for id in ids.into_iter().flatten() {
        proxy.clear_fault(id);
    }
}
