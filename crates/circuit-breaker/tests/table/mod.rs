//! The event-table DSL shared by `transitions.rs` and `controls.rs`: a
//! scenario is a table of steps (admissions, results, manual controls, times
//! in ms after `t0`) and the exact event sequence it must produce.
#![allow(
    dead_code,
    unreachable_pub,
    unused_imports,
    reason = "each test binary uses part of the shared DSL"
)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use circuit_breaker::{
    Admission, Breaker, BreakerConfig, BreakerEvent, OpenReason, Outcome, Permit, State,
};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
pub fn t0() -> Instant {
    Instant::now()
}

pub const S: u64 = 1_000;

/// One step; times are milliseconds after `t0`.
#[derive(Debug)]
pub enum Step {
    /// Admitted at `t` and finished at once with the outcome.
    Call(u64, Outcome),
    /// `n` failed calls at `t`.
    Fail(u32, u64),
    /// Admitted at `t`; the permit is kept under a label.
    Admit(u64, &'static str),
    /// The labelled permit finishes at `t`.
    Finish(&'static str, u64, Outcome),
    /// The labelled permit is cancelled.
    Cancel(&'static str),
    /// Rejected at `t` with `retry_at` (ms).
    Reject(u64, u64),
    ForceOpen(u64),
    Disable,
    Reset(u64),
    Timeout(u64),
    Is(State),
}
pub use Outcome::{Failure, Ignored, Success};
pub use Step::{Admit, Call, Cancel, Disable, Fail, Finish, ForceOpen, Is, Reject, Reset, Timeout};

/// The expected events, in the same ms units.
#[derive(Debug)]
pub enum Ev {
    /// at, retry_at, reason, reopens
    Opened(u64, u64, OpenReason, u32),
    HalfOpened(u64),
    /// at, successes
    Closed(u64, u32),
    ForcedOpen(u64),
    Disabled,
    Reset(u64, State),
}

pub fn ms(t0: Instant, at: u64) -> Instant {
    t0 + Duration::from_millis(at)
}

pub fn expected(t0: Instant, ev: &Ev) -> BreakerEvent {
    match *ev {
        Ev::Opened(at, retry_at, reason, reopens) => BreakerEvent::Opened {
            at: ms(t0, at),
            retry_at: ms(t0, retry_at),
            open_for: Duration::from_millis(retry_at - at),
            reason,
            reopens,
        },
        Ev::HalfOpened(at) => BreakerEvent::HalfOpened { at: ms(t0, at) },
        Ev::Closed(at, successes) => BreakerEvent::Closed {
            at: ms(t0, at),
            successes,
        },
        Ev::ForcedOpen(at) => BreakerEvent::ForcedOpen { at: ms(t0, at) },
        Ev::Disabled => BreakerEvent::Disabled,
        Ev::Reset(at, from) => BreakerEvent::Reset {
            at: ms(t0, at),
            from,
        },
    }
}

pub fn allowed(admission: Admission, step: &Step) -> Permit {
    match admission {
        Admission::Allowed(permit) => permit,
        Admission::Rejected { .. } => panic!("{step:?}: rejected"),
    }
}

/// Runs `steps` on a breaker built from `config` and returns it with the
/// events it produced and its `t0`.
pub fn run(config: BreakerConfig, steps: &[Step]) -> (Breaker, Vec<BreakerEvent>, Instant) {
    let t0 = t0();
    let mut breaker = Breaker::new(config).expect("valid config");
    let mut permits: HashMap<&str, Permit> = HashMap::new();
    for step in steps {
        match *step {
            Call(at, outcome) => {
                let permit = allowed(breaker.admit(ms(t0, at)), step);
                breaker.on_result(permit, outcome, ms(t0, at));
            }
            Fail(n, at) => {
                for _ in 0..n {
                    let permit = allowed(breaker.admit(ms(t0, at)), step);
                    breaker.on_result(permit, Failure, ms(t0, at));
                }
            }
            Admit(at, label) => {
                let permit = allowed(breaker.admit(ms(t0, at)), step);
                permits.insert(label, permit);
            }
            Finish(label, at, outcome) => {
                let permit = permits.remove(label).expect("admitted earlier");
                breaker.on_result(permit, outcome, ms(t0, at));
            }
            Cancel(label) => {
                breaker.on_cancel(permits.remove(label).expect("admitted earlier"));
            }
            Reject(at, retry_at) => assert_eq!(
                breaker.admit(ms(t0, at)),
                Admission::Rejected {
                    retry_at: ms(t0, retry_at)
                },
                "{step:?}"
            ),
            ForceOpen(at) => breaker.force_open(ms(t0, at)),
            Disable => breaker.disable(),
            Reset(at) => breaker.reset(ms(t0, at)),
            Timeout(at) => breaker.handle_timeout(ms(t0, at)),
            Is(state) => assert_eq!(breaker.state(), state, "{step:?}"),
        }
    }
    let events = std::iter::from_fn(|| breaker.poll_event()).collect();
    (breaker, events, t0)
}

pub fn check(name: &str, config: BreakerConfig, steps: &[Step], want: &[Ev]) -> Breaker {
    let (breaker, events, t0) = run(config, steps);
    let want: Vec<BreakerEvent> = want.iter().map(|ev| expected(t0, ev)).collect();
    assert_eq!(events, want, "scenario {name}");
    breaker
}

pub fn consecutive(failures: u32) -> OpenReason {
    OpenReason::ConsecutiveFailures { failures }
}
