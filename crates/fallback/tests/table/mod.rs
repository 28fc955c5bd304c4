//! The table harness shared by `connection.rs` and `connection_trouble.rs`:
//! a scenario is a list of signals at times (ms after `t0`) and the exact
//! transitions it must produce. The harness fires every deadline due before
//! the next step, as a driver's timer would, in a bounded loop that catches
//! a livelock.
#![allow(
    dead_code,
    unreachable_pub,
    unused_imports,
    reason = "each test binary uses part of the shared harness"
)]

pub use std::time::{Duration, Instant};

pub use fallback::{
    ConnState, ConnectionConfig, ConnectionMachine, ErrorClass, Feed, Link, Reason, Signal,
};

pub use ConnState::{
    Connecting, Degraded, Failed, Failing, Fallback, Healthy, Recovering, Unstable,
};
pub use ErrorClass::{Permanent, Planned, RateLimited, Transient};

#[allow(
    clippy::disallowed_methods,
    reason = "tests anchor fake time at one real instant"
)]
pub fn t0() -> Instant {
    Instant::now()
}

pub const S: u64 = 1_000;

#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// A signal at a time; deadlines due before it fire first.
    At(u64, Signal),
    /// Let time pass to here, firing deadlines.
    Until(u64),
    /// `reset` at a time.
    Reset(u64),
    /// The state now.
    Is(ConnState),
}
pub use Step::{At, Is, Reset, Until};

pub type Row = (u64, ConnState, ConnState, Reason);

pub fn ms(t0: Instant, at: u64) -> Instant {
    t0 + Duration::from_millis(at)
}

pub fn at_ms(t0: Instant, at: Instant) -> u64 {
    u64::try_from(at.duration_since(t0).as_millis()).expect("test times fit")
}

/// Runs the steps; returns the machine and every transition, in ms.
pub fn run(config: ConnectionConfig, steps: &[Step]) -> (ConnectionMachine, Vec<Row>) {
    let t0 = t0();
    let mut machine = ConnectionMachine::new(config).expect("valid config");
    let mut log = Vec::new();
    let record = |t: Option<fallback::Transition>, log: &mut Vec<Row>| {
        if let Some(t) = t {
            log.push((at_ms(t0, t.at), t.from, t.to, t.reason));
        }
    };
    let fire_until = |machine: &mut ConnectionMachine, until: u64, log: &mut Vec<Row>| {
        for _ in 0..100 {
            match machine.poll_timeout() {
                Some(deadline) if deadline <= ms(t0, until) => {
                    let t = machine.handle_timeout(deadline);
                    assert!(t.is_some(), "a deadline that changes nothing: livelock");
                    record(t, log);
                }
                _ => return,
            }
        }
        panic!("more than 100 deadlines before {until} ms: livelock");
    };
    for step in steps {
        match *step {
            At(at, signal) => {
                fire_until(&mut machine, at, &mut log);
                let t = machine.on_signal(signal, ms(t0, at));
                record(t, &mut log);
            }
            Until(at) => fire_until(&mut machine, at, &mut log),
            Reset(at) => {
                fire_until(&mut machine, at, &mut log);
                let t = machine.reset(ms(t0, at));
                record(t, &mut log);
            }
            Is(state) => assert_eq!(machine.state(), state, "after {log:?}"),
        }
    }
    (machine, log)
}

pub fn check(name: &str, steps: &[Step], expected: &[Row]) -> ConnectionMachine {
    let (machine, log) = run(ConnectionConfig::default(), steps);
    assert_eq!(log, expected, "scenario {name}");
    machine
}

pub fn drop(class: ErrorClass) -> Signal {
    Signal::Dropped { class }
}
pub fn attempt_failed(class: ErrorClass) -> Signal {
    Signal::AttemptFailed { class }
}
pub fn error(class: ErrorClass) -> Signal {
    Signal::Error { class }
}
pub fn stable(secs: u64) -> Reason {
    Reason::Stable {
        after: Duration::from_secs(secs),
    }
}
pub const CONNECTED: Signal = Signal::Connected;
pub const SUBSCRIBED: Signal = Signal::Subscribed;

/// Healthy at 0 ms.
pub fn healthy() -> Vec<Step> {
    vec![At(0, CONNECTED), At(0, SUBSCRIBED), Is(Healthy)]
}

pub fn with(prefix: Vec<Step>, rest: &[Step]) -> Vec<Step> {
    prefix.into_iter().chain(rest.iter().copied()).collect()
}

pub fn healthy_row() -> Row {
    (0, Connecting, Healthy, Reason::Ready)
}
