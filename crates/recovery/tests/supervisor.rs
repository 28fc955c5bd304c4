//! The supervisor on paused tokio time: restarts, escalation, shutdown
//! deadlines and preserved state, in virtual seconds.
#![cfg(feature = "tokio")]
#![allow(
    clippy::disallowed_methods,
    reason = "paused-time tests read tokio's virtual clock to measure waits"
)]

mod common;

use std::cell::Cell;
use std::convert::Infallible;
use std::time::Duration;

use common::{is_escalated, secs, serve, started, supervisor, until};
use recovery::rt::{ChildContext, ChildExit, ChildState, SupervisorEvent, SupervisorStatus};
use recovery::{Preserved, Subscriptions};
use tokio::sync::mpsc;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_panicking_task_restarts() {
    let (mut supervisor, mut events) = supervisor();
    supervisor
        .spawn("driver", |context: ChildContext| async move {
            if context.incarnation() == 0 {
                panic!("lost my socket");
            }
            assert!(context.is_restart());
            serve(&context).await
        })
        .expect("spawned");

    let seen = until(&mut events, "the second start", |e| {
        matches!(e, SupervisorEvent::Started { incarnation: 1, .. })
    })
    .await;
    let kinds: Vec<_> = seen
        .iter()
        .map(|event| match event {
            SupervisorEvent::Started { incarnation, .. } => format!("started {incarnation}"),
            SupervisorEvent::Exited { exit, .. } => format!("exited {exit}"),
            SupervisorEvent::Restarting {
                incarnation,
                restarts_in_window,
                ..
            } => format!("restarting {incarnation} ({restarts_in_window} in window)"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "started 0",
            "exited panicked: lost my socket",
            "restarting 1 (1 in window)",
            "started 1",
        ]
    );
    let status = supervisor.status().borrow().clone();
    let driver = &status.children["driver"];
    assert_eq!(driver.state, ChildState::Running);
    assert_eq!(driver.incarnation, 1);
    assert_eq!(
        driver.last_exit,
        Some(ChildExit::Panicked("lost my socket".into()))
    );
    let report = supervisor.shutdown().await;
    assert_eq!(report.in_time, ["driver"]);
}

#[tokio::test(start_paused = true)]
async fn a_sixth_panic_within_ten_seconds_escalates_and_the_parent_is_told() {
    let (mut supervisor, mut events) = supervisor();
    let mut status = supervisor.status();
    supervisor
        .spawn("flaky", |_context: ChildContext| async move {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            panic!("still broken");
            #[allow(unreachable_code, reason = "gives the future its output type")]
            Ok::<(), Infallible>(())
        })
        .expect("spawned");
    let begun = Instant::now();

    let seen = until(&mut events, "the escalation", is_escalated).await;
    // Six incarnations, 1.5 s each: the sixth panic comes 9 s in, within
    // 10 s of the first restart.
    assert_eq!(started(&seen), 6);
    assert_eq!(Instant::now() - begun, Duration::from_millis(9_000));
    let Some(SupervisorEvent::Escalated {
        child,
        restarts,
        window,
        last_exit,
        ..
    }) = seen.last()
    else {
        panic!("ends with the escalation");
    };
    assert_eq!((child.as_str(), *restarts, *window), ("flaky", 5, secs(10)));
    assert_eq!(*last_exit, ChildExit::Panicked("still broken".into()));

    // The status a health model reads says so too.
    status.mark_changed();
    let now: SupervisorStatus = status
        .wait_for(|s| s.escalated().next().is_some())
        .await
        .expect("alive")
        .clone();
    assert_eq!(now.escalated().collect::<Vec<_>>(), ["flaky"]);
    assert_eq!(
        now.children["flaky"].state,
        ChildState::Escalated {
            restarts: 5,
            window: secs(10)
        }
    );

    // The child stays stopped: nothing more happens for a minute.
    let quiet = tokio::time::timeout(secs(60), events.recv()).await;
    assert!(quiet.is_err(), "no restart after escalation: {quiet:?}");
    let report = supervisor.shutdown().await;
    assert_eq!(report.already_stopped, ["flaky"]);
    assert!(report.in_time.is_empty() && report.aborted.is_empty());
}

#[tokio::test(start_paused = true)]
async fn restarts_spaced_beyond_the_window_do_not_escalate() {
    let (mut supervisor, mut events) = supervisor();
    supervisor
        .spawn("slow-crasher", |_context: ChildContext| async move {
            // Five restarts take 12.5 s: never six in 10 s.
            tokio::time::sleep(Duration::from_millis(2_500)).await;
            Err::<(), _>("read timed out")
        })
        .expect("spawned");
    let seen = until(&mut events, "the 30th start", |e| {
        matches!(
            e,
            SupervisorEvent::Started {
                incarnation: 29,
                ..
            }
        )
    })
    .await;
    assert!(!seen.iter().any(is_escalated));
    let most_in_window = seen
        .iter()
        .filter_map(|e| match e {
            SupervisorEvent::Restarting {
                restarts_in_window, ..
            } => Some(*restarts_in_window),
            _ => None,
        })
        .max();
    assert_eq!(most_in_window, Some(4));
    assert!(seen.iter().any(|e| matches!(
        e,
        SupervisorEvent::Exited { exit: ChildExit::Failed(error), .. } if error == "read timed out"
    )));
    let report = supervisor.shutdown().await;
    assert_eq!(report.in_time, ["slow-crasher"]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_within_its_deadline_and_aborts_a_child_that_ignores_it() {
    let (mut supervisor, mut events) = supervisor();
    supervisor
        .spawn("polite", |context: ChildContext| async move {
            context.shutdown_requested().await;
            // Closing the socket properly takes a moment.
            tokio::time::sleep(secs(1)).await;
            Ok::<(), Infallible>(())
        })
        .expect("spawned");
    let (alive, mut stubborn_gone) = tokio::sync::oneshot::channel::<()>();
    let alive = std::sync::Arc::new(std::sync::Mutex::new(Some(alive)));
    supervisor
        .spawn("stubborn", move |_context: ChildContext| {
            // Dropped when the task is aborted.
            let guard = alive.lock().expect("lock").take();
            async move {
                let _guard = guard;
                loop {
                    tokio::time::sleep(secs(1)).await;
                }
                #[allow(unreachable_code, reason = "gives the future its output type")]
                Ok::<(), Infallible>(())
            }
        })
        .expect("spawned");
    let starts = Cell::new(0);
    let _ = until(&mut events, "both starts", |e| {
        if matches!(e, SupervisorEvent::Started { .. }) {
            starts.set(starts.get() + 1);
        }
        starts.get() == 2
    })
    .await;
    let status = supervisor.status();

    let begun = Instant::now();
    let report = supervisor.shutdown_within(secs(3)).await;
    assert_eq!(Instant::now() - begun, secs(3), "exactly the deadline");
    assert_eq!(report.elapsed, secs(3));
    assert_eq!(report.deadline, secs(3));
    assert_eq!(report.in_time, ["polite"]);
    assert_eq!(report.aborted, ["stubborn"]);
    assert!(!report.all_in_time());
    // The stubborn child really is gone.
    let gone = tokio::time::timeout(secs(1), &mut stubborn_gone).await;
    assert!(
        matches!(gone, Ok(Err(_))),
        "its guard was dropped: {gone:?}"
    );
    let status = status.borrow().clone();
    assert!(status.shutting_down);
    assert_eq!(
        status.children["stubborn"].state,
        ChildState::ShutDown { in_time: false }
    );
    assert_eq!(
        status.children["polite"].state,
        ChildState::ShutDown { in_time: true }
    );
    // The parent hears the outcome.
    let rest = until(&mut events, "the report", |e| {
        matches!(e, SupervisorEvent::ShutdownFinished(_))
    })
    .await;
    assert!(
        matches!(rest.first(), Some(SupervisorEvent::ShutdownStarted { deadline, .. }) if *deadline == secs(3))
    );
    assert_eq!(
        rest.last(),
        Some(&SupervisorEvent::ShutdownFinished(report))
    );
}

#[tokio::test(start_paused = true)]
async fn a_cooperative_shutdown_ends_early() {
    let (mut supervisor, _events) = supervisor();
    for name in ["a", "b", "c"] {
        supervisor
            .spawn(name, |context: ChildContext| async move {
                serve(&context).await
            })
            .expect("spawned");
    }
    tokio::task::yield_now().await;
    let begun = Instant::now();
    let report = supervisor.shutdown().await;
    assert_eq!(
        Instant::now(),
        begun,
        "no waiting when everyone stops at once"
    );
    assert_eq!(report.in_time, ["a", "b", "c"]);
    assert!(report.all_in_time());
}

#[tokio::test(start_paused = true)]
async fn preserved_state_survives_restarts() {
    let (mut supervisor, mut events) = supervisor();
    let state = Preserved::new(Subscriptions::<u64>::default());
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    supervisor
        .spawn_with_state(
            "stream-0",
            state.clone(),
            move |context: ChildContext, state: Preserved<Subscriptions<u64>>| {
                let seen = seen_tx.clone();
                async move {
                    // On start, resubscribe what the last incarnation held.
                    let snapshot = state.get();
                    let _ = seen.send((context.incarnation(), snapshot));
                    match context.incarnation() {
                        0 => {
                            state.update(|subs| {
                                subs.subscribe("btcusdt@aggTrade");
                                subs.subscribe("ethusdt@depth");
                            });
                            state.update(|subs| subs.record("btcusdt@aggTrade", 1_001));
                            state.update(|subs| subs.record("ethusdt@depth", 77));
                            panic!("decoder bug");
                        }
                        1 => {
                            state.update(|subs| subs.record("btcusdt@aggTrade", 1_002));
                            Err("connection reset".to_owned())
                        }
                        _ => serve(&context).await.map_err(|never| match never {}),
                    }
                }
            },
        )
        .expect("spawned");
    let _ = until(&mut events, "the third start", |e| {
        matches!(e, SupervisorEvent::Started { incarnation: 2, .. })
    })
    .await;
    let (first, empty) = seen_rx.recv().await.expect("first");
    assert_eq!(first, 0);
    assert!(empty.is_empty());
    let (second, after_panic) = seen_rx.recv().await.expect("second");
    assert_eq!(second, 1);
    assert_eq!(
        after_panic.streams().collect::<Vec<_>>(),
        ["btcusdt@aggTrade", "ethusdt@depth"]
    );
    assert_eq!(after_panic.resume_point("btcusdt@aggTrade"), Some(&1_001));
    assert_eq!(after_panic.resume_point("ethusdt@depth"), Some(&77));
    let (third, after_error) = seen_rx.recv().await.expect("third");
    assert_eq!(third, 2);
    assert_eq!(after_error.resume_point("btcusdt@aggTrade"), Some(&1_002));
    assert_eq!(after_error.len(), 2);
    // The caller's handle is the same cell.
    assert_eq!(state.get(), after_error);
    let _ = supervisor.shutdown().await;
}
