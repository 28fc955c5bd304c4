//! The supervisor's restart policies and misuse, on paused tokio time.
#![cfg(feature = "tokio")]
#![allow(
    clippy::disallowed_methods,
    reason = "paused-time tests read tokio's virtual clock to measure waits"
)]

mod common;

use std::convert::Infallible;
use std::time::Duration;

use common::{is_escalated, serve, started, supervisor, until};
use recovery::rt::{ChildContext, ChildExit, ChildState, Supervisor, SupervisorEvent};
use recovery::{Error, Restart, SupervisorConfig};

#[tokio::test(start_paused = true)]
async fn restart_policies_decide_what_a_normal_return_means() {
    let cases = [
        (Restart::OnFailure, 1),
        (Restart::Always, 6),
        (Restart::OnPanic, 1),
        (Restart::Never, 1),
    ];
    for (restart, starts) in cases {
        let config = SupervisorConfig {
            restart,
            ..SupervisorConfig::default()
        };
        let (mut supervisor, mut events) = Supervisor::new(config).expect("valid");
        supervisor
            .spawn("once", |_context: ChildContext| async {
                Ok::<(), Infallible>(())
            })
            .expect("spawned");
        let seen = until(&mut events, "the end", |e| {
            matches!(
                e,
                SupervisorEvent::Stopped { .. } | SupervisorEvent::Escalated { .. }
            )
        })
        .await;
        assert_eq!(started(&seen), starts, "{restart:?}");
        let state = supervisor.status().borrow().children["once"].state.clone();
        let want_stopped = restart != Restart::Always;
        assert_eq!(
            state == ChildState::Stopped,
            want_stopped,
            "{restart:?}: {state:?}"
        );
        // A stopped child's name can be used again.
        if want_stopped {
            supervisor
                .spawn("once", |context: ChildContext| async move {
                    serve(&context).await
                })
                .expect("the name is free again");
        }
        let report = supervisor.shutdown().await;
        assert!(report.aborted.is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn a_factory_that_panics_counts_as_a_panic() {
    let (mut supervisor, mut events) = supervisor();
    supervisor
        .spawn(
            "bad-factory",
            |_context: ChildContext| -> std::future::Ready<Result<(), Infallible>> {
                panic!("could not build the child")
            },
        )
        .expect("spawned");
    let seen = until(&mut events, "the escalation", is_escalated).await;
    assert_eq!(started(&seen), 6);
    assert!(seen.iter().any(|e| matches!(
        e,
        SupervisorEvent::Exited { exit: ChildExit::Panicked(m), .. } if m == "could not build the child"
    )));
    let _ = supervisor.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn misuse_is_an_error_naming_it() {
    let err = Supervisor::new(SupervisorConfig {
        max_restarts: 0,
        ..SupervisorConfig::default()
    })
    .expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid configuration: max_restarts = 0 must be at least 1"
    );
    let err = Supervisor::new(SupervisorConfig {
        window: Duration::ZERO,
        ..SupervisorConfig::default()
    })
    .expect_err("invalid");
    assert!(matches!(
        err,
        Error::InvalidConfig {
            field: "window",
            ..
        }
    ));

    let (mut supervisor, _events) = supervisor();
    let run = |context: ChildContext| async move { serve(&context).await };
    supervisor.spawn("x", run).expect("spawned");
    assert_eq!(
        supervisor.spawn("x", run),
        Err(Error::DuplicateChild { name: "x".into() })
    );
    assert_eq!(supervisor.spawn("", run), Err(Error::EmptyChildName));
    let _ = supervisor.shutdown().await;
}

#[test]
fn spawning_outside_a_runtime_is_an_error() {
    let (mut supervisor, _events) = supervisor();
    let result = supervisor.spawn("x", |_context: ChildContext| async {
        Ok::<(), Infallible>(())
    });
    assert_eq!(result, Err(Error::NoRuntime));
}

#[tokio::test(start_paused = true)]
async fn a_full_event_channel_drops_and_counts_never_stalls() {
    let config = SupervisorConfig {
        event_capacity: 1,
        ..SupervisorConfig::default()
    };
    let (mut supervisor, _events) = Supervisor::new(config).expect("valid");
    let mut status = supervisor.status();
    supervisor
        .spawn("crasher", |_context: ChildContext| async {
            Err::<(), _>("boom")
        })
        .expect("spawned");
    // Nobody reads events, yet the child still escalates.
    let escalated = status
        .wait_for(|s| s.escalated().next().is_some())
        .await
        .expect("alive")
        .clone();
    assert!(escalated.dropped_events > 0);
    let _ = supervisor.shutdown().await;
}
