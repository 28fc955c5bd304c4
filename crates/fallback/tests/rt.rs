//! The tokio adapter on paused time: a minute of down time in microseconds.
#![cfg(feature = "tokio")]

use std::time::Duration;

use fallback::{
    ConnState, ConnectionConfig, ConnectionMachine, EndpointConfig, EndpointSet, ErrorClass,
    Signal, rt,
};

#[tokio::test(start_paused = true)]
async fn the_timer_fires_at_the_deadline_on_tokio_time() {
    let mut machine = ConnectionMachine::new(ConnectionConfig::default()).expect("valid");
    let start = rt::now();
    let _ = machine.on_signal(Signal::Subscribed, start);
    let _ = machine.on_signal(
        Signal::Dropped {
            class: ErrorClass::Transient,
        },
        start,
    );
    rt::sleep_until(machine.poll_timeout()).await;
    let now = rt::now();
    assert_eq!(now - start, Duration::from_secs(60));
    let transition = machine.handle_timeout(now).expect("due");
    assert_eq!(transition.to, ConnState::Failed);
}

#[tokio::test(start_paused = true)]
async fn no_deadline_never_completes() {
    let set = EndpointSet::new(vec!["a"], EndpointConfig::default()).expect("valid");
    assert_eq!(set.poll_timeout(), None);
    let slept = tokio::time::timeout(
        Duration::from_secs(3600),
        rt::sleep_until(set.poll_timeout()),
    );
    assert!(slept.await.is_err(), "pending forever");
}
