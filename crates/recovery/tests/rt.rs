//! The tracker's tokio helpers on paused time: waits follow the actions, and
//! a stuck retry escalates at its deadline.
#![cfg(feature = "tokio")]
#![allow(
    clippy::disallowed_methods,
    reason = "paused-time tests read tokio's virtual clock to measure waits"
)]

use std::time::Duration;

use recovery::rt;
use recovery::{
    Action, Classification, ErrorClass, EscalateReason, Recovery, RecoveryConfig, classify_http,
};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn waits_follow_the_actions() {
    let mut recovery = Recovery::new(RecoveryConfig::default()).expect("valid");
    let server = Classification::new(ErrorClass::Server);
    for secs in [1, 2, 4, 8, 16] {
        let begun = Instant::now();
        let action = recovery.on_failure(&server, rt::now());
        assert!(rt::wait(&action).await);
        assert_eq!(Instant::now() - begun, Duration::from_secs(secs));
    }
    let banned = classify_http(418, [("Retry-After", "600")], b"");
    recovery.on_success(rt::now());
    let begun = Instant::now();
    let action = recovery.on_failure(&banned, rt::now());
    assert!(matches!(action, Action::Wait { banned: true, .. }));
    assert!(rt::wait(&action).await);
    assert_eq!(Instant::now() - begun, Duration::from_secs(600));
    // No waiting resolves an operator's job.
    let auth = Classification::new(ErrorClass::Authentication);
    let action = recovery.on_failure(&auth, rt::now());
    let begun = Instant::now();
    assert!(!rt::wait(&action).await);
    assert_eq!(Instant::now(), begun);
}

#[tokio::test(start_paused = true)]
async fn a_stuck_retry_escalates_at_its_deadline() {
    let mut recovery = Recovery::new(RecoveryConfig::default()).expect("valid");
    let begun = Instant::now();
    let action = recovery.on_failure(&Classification::new(ErrorClass::Transient), rt::now());
    assert!(rt::wait(&action).await);
    // The retry never reports back: the timer escalates 30 s after it was due.
    let never = std::future::pending::<()>();
    let escalation = tokio::select! {
        () = never => unreachable!(),
        action = rt::timer(&mut recovery) => action,
    };
    assert_eq!(Instant::now() - begun, Duration::from_secs(30));
    assert_eq!(
        escalation,
        Action::Escalate(EscalateReason::AttemptTimedOut {
            attempt: 1,
            after: Duration::from_secs(30)
        })
    );
    // Nothing is pending any more: the timer never completes.
    let idle = tokio::time::timeout(Duration::from_secs(3_600), rt::timer(&mut recovery)).await;
    assert!(idle.is_err());
}
