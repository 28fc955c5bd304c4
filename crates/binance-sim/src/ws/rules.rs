//! Binance's connection rules as sans-IO state machines: the rolling inbound frame
//! limit, the ping/pong keepalive and the per-IP connection-attempt limit.
//!
//! Each is told the time (`now`) and never reads a clock, so unit tests step them
//! through any schedule; `conn.rs` and the accept loop drive them with tokio time.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

/// How far ahead a deadline may lie: `Duration::MAX` style settings (a lifetime that
/// never ends) become "in 30 years" instead of overflowing `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `at + after`, capped at [`FAR_FUTURE`] from `at`.
pub(crate) fn later(at: Instant, after: Duration) -> Instant {
    at.checked_add(after.min(FAR_FUTURE)).unwrap_or(at)
}

/// Incoming frames in a rolling window (PROTOCOL.md §2: 5 per second).
#[derive(Debug)]
pub(crate) struct RateWindow {
    window: Duration,
    max: usize,
    /// Arrival times inside the window, oldest first. Never longer than `max + 1`:
    /// one frame over the limit ends the connection.
    arrivals: VecDeque<Instant>,
}

/// What one more incoming frame means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateVerdict {
    /// Frames in the rolling window ending now, this one included.
    pub(crate) in_window: usize,
    /// True when the frame breaks the limit.
    pub(crate) over: bool,
}

impl RateWindow {
    pub(crate) fn new(max: u32, window: Duration) -> Self {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        RateWindow {
            window,
            max,
            arrivals: VecDeque::with_capacity(max.saturating_add(1).min(64)),
        }
    }

    /// Records a frame arriving at `now`.
    pub(crate) fn record(&mut self, now: Instant) -> RateVerdict {
        while self
            .arrivals
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.window)
        {
            self.arrivals.pop_front();
        }
        self.arrivals.push_back(now);
        let in_window = self.arrivals.len();
        if in_window > self.max.saturating_add(1) {
            self.arrivals.pop_front();
        }
        RateVerdict {
            in_window,
            over: in_window > self.max,
        }
    }
}

/// The server's keepalive: a ping every `interval`; the oldest unanswered ping must
/// be answered within `timeout`.
///
/// A pong answers a ping only when it echoes that ping's payload; it then answers
/// every older ping too. Unsolicited pongs (any other payload) change nothing, as on
/// Binance, where they are allowed but do not keep the connection alive.
#[derive(Debug)]
pub(crate) struct Keepalive {
    interval: Duration,
    timeout: Duration,
    next_ping: Instant,
    /// Pings sent and not yet answered, oldest first.
    outstanding: VecDeque<(Bytes, Instant)>,
}

/// What the keepalive wants done when its timer fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeepaliveAction {
    /// Nothing is due.
    Idle,
    /// Send a ping with this payload.
    Ping(Bytes),
    /// A ping went unanswered past the deadline: close the connection.
    TimedOut,
}

impl Keepalive {
    /// A keepalive for a connection opened at `opened`.
    pub(crate) fn new(interval: Duration, timeout: Duration, opened: Instant) -> Self {
        Keepalive {
            interval,
            timeout,
            next_ping: later(opened, interval),
            outstanding: VecDeque::new(),
        }
    }

    /// When the keepalive next needs to run.
    pub(crate) fn poll_timeout(&self) -> Instant {
        match self.outstanding.front() {
            Some(&(_, sent)) => self.next_ping.min(later(sent, self.timeout)),
            None => self.next_ping,
        }
    }

    /// Runs the keepalive at `now`. `wall_ms` becomes the payload of a new ping;
    /// while `may_send` is false (a stall) no ping is sent and none is owed.
    pub(crate) fn on_timer(
        &mut self,
        now: Instant,
        wall_ms: u64,
        may_send: bool,
    ) -> KeepaliveAction {
        if self
            .outstanding
            .front()
            .is_some_and(|&(_, sent)| now >= later(sent, self.timeout))
        {
            return KeepaliveAction::TimedOut;
        }
        if now < self.next_ping {
            return KeepaliveAction::Idle;
        }
        // Keep to the schedule, but skip missed slots rather than bursting pings
        // after a long pause.
        let next = later(self.next_ping, self.interval);
        self.next_ping = if next > now {
            next
        } else {
            later(now, self.interval)
        };
        if !may_send {
            return KeepaliveAction::Idle;
        }
        let payload = Bytes::from(wall_ms.to_string());
        self.outstanding.push_back((payload.clone(), now));
        KeepaliveAction::Ping(payload)
    }

    /// A pong arrived; returns true when it answered an outstanding ping.
    pub(crate) fn on_pong(&mut self, payload: &[u8]) -> bool {
        match self.outstanding.iter().position(|(p, _)| p == payload) {
            Some(index) => {
                self.outstanding.drain(..=index);
                true
            }
            None => false,
        }
    }
}

/// The per-IP connection-attempt limit (PROTOCOL.md §2: 300 per 5 minutes).
#[derive(Debug)]
pub(crate) struct AttemptLimiter {
    max: usize,
    window: Duration,
    /// The newest `max + 1` attempt times per IP, oldest first: enough to tell
    /// whether more than `max` fall in the window.
    by_ip: HashMap<IpAddr, VecDeque<Instant>>,
    last_sweep: Option<Instant>,
}

impl AttemptLimiter {
    pub(crate) fn new(max: u32, window: Duration) -> Self {
        AttemptLimiter {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            window,
            by_ip: HashMap::new(),
            last_sweep: None,
        }
    }

    /// Records an attempt from `ip` at `now`. `Err(retry_after)` when it breaks the limit.
    pub(crate) fn attempt(&mut self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.sweep(now);
        let window = self.window;
        let times = self.by_ip.entry(ip).or_default();
        while times
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            times.pop_front();
        }
        times.push_back(now);
        if times.len() > self.max.saturating_add(1) {
            times.pop_front();
        }
        if times.len() > self.max {
            let oldest = times.front().copied().unwrap_or(now);
            Err(later(oldest, window).saturating_duration_since(now))
        } else {
            Ok(())
        }
    }

    /// Forgets IPs with no attempt in the window, at most once per window, so the
    /// map does not grow with every client ever seen.
    fn sweep(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|at| now.saturating_duration_since(at) < self.window)
        {
            return;
        }
        self.last_sweep = Some(now);
        let window = self.window;
        self.by_ip.retain(|_, times| {
            times
                .back()
                .is_some_and(|&t| now.saturating_duration_since(t) < window)
        });
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn sixth_frame_in_a_second_is_over() {
        let start = Instant::now();
        let mut rate = RateWindow::new(5, Duration::from_secs(1));
        for i in 0..5 {
            let verdict = rate.record(start + MS * i * 10);
            assert_eq!(verdict.in_window, usize::try_from(i + 1).unwrap_or(0));
            assert!(!verdict.over);
        }
        let sixth = rate.record(start + MS * 999);
        assert_eq!(
            sixth,
            RateVerdict {
                in_window: 6,
                over: true
            }
        );
    }

    #[test]
    fn frames_spread_out_never_break_the_limit() {
        let start = Instant::now();
        let mut rate = RateWindow::new(5, Duration::from_secs(1));
        // Five frames per second, evenly spaced, for a minute.
        for i in 0..300 {
            let verdict = rate.record(start + MS * 200 * i);
            assert!(
                verdict.in_window <= 5 && !verdict.over,
                "frame {i}: {verdict:?}"
            );
        }
        // A frame exactly one window after another no longer counts it.
        let mut rate = RateWindow::new(1, Duration::from_secs(1));
        assert!(!rate.record(start).over);
        assert!(!rate.record(start + Duration::from_secs(1)).over);
        assert!(rate.record(start + Duration::from_millis(1500)).over);
    }

    #[test]
    fn keepalive_pings_and_times_out() {
        let start = Instant::now();
        let mut keep = Keepalive::new(MS * 20, MS * 60, start);
        assert_eq!(keep.poll_timeout(), start + MS * 20);
        assert_eq!(
            keep.on_timer(start + MS * 10, 1, true),
            KeepaliveAction::Idle
        );
        let KeepaliveAction::Ping(first) = keep.on_timer(start + MS * 20, 7, true) else {
            panic!("no ping at 20 ms");
        };
        assert_eq!(&first[..], b"7");
        // The deadline of the first ping comes before the ping after next.
        assert_eq!(keep.poll_timeout(), start + MS * 40);
        assert!(matches!(
            keep.on_timer(start + MS * 40, 8, true),
            KeepaliveAction::Ping(_)
        ));
        assert!(matches!(
            keep.on_timer(start + MS * 60, 9, true),
            KeepaliveAction::Ping(_)
        ));
        assert_eq!(keep.poll_timeout(), start + MS * 80);
        // An unsolicited pong does not help.
        assert!(!keep.on_pong(b"unsolicited"));
        assert_eq!(
            keep.on_timer(start + MS * 80, 10, true),
            KeepaliveAction::TimedOut
        );
    }

    #[test]
    fn a_matching_pong_answers_it_and_older_pings() {
        let start = Instant::now();
        let mut keep = Keepalive::new(MS * 20, MS * 60, start);
        let _ = keep.on_timer(start + MS * 20, 1, true);
        let _ = keep.on_timer(start + MS * 40, 2, true);
        assert!(keep.on_pong(b"2"));
        assert_eq!(keep.poll_timeout(), start + MS * 60);
        // Answered every time, the connection lives on indefinitely.
        for i in 3..100_u32 {
            let now = start + MS * 20 * i;
            match keep.on_timer(now, u64::from(i), true) {
                KeepaliveAction::Ping(payload) => assert!(keep.on_pong(&payload)),
                other => panic!("at {i}: {other:?}"),
            }
        }
    }

    #[test]
    fn no_pings_are_owed_during_a_stall() {
        let start = Instant::now();
        let mut keep = Keepalive::new(MS * 20, MS * 60, start);
        for i in 1..10 {
            assert_eq!(
                keep.on_timer(start + MS * 20 * i, 0, false),
                KeepaliveAction::Idle
            );
        }
        assert_eq!(keep.poll_timeout(), start + MS * 200);
    }

    #[test]
    fn attempts_are_limited_per_ip_in_a_rolling_window() {
        let start = Instant::now();
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let mut limiter = AttemptLimiter::new(3, Duration::from_secs(10));
        for i in 0..3 {
            assert_eq!(limiter.attempt(a, start + MS * i), Ok(()));
        }
        assert_eq!(
            limiter.attempt(a, start + MS * 3),
            Err(Duration::from_secs(10) - MS * 3)
        );
        // Another IP has its own budget.
        assert_eq!(limiter.attempt(b, start + MS * 4), Ok(()));
        // Refused attempts count too: only when the window has rolled past them all
        // is the IP let in again.
        assert!(limiter.attempt(a, start + Duration::from_secs(10)).is_err());
        assert_eq!(limiter.attempt(a, start + Duration::from_secs(30)), Ok(()));
    }
}
