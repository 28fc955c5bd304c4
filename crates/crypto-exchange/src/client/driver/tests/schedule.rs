//! The reconnect schedule on failed attempts: delays, the attempt limit, the
//! shared attempt budget, and rate-limit backoff with `Retry-After`.

use std::time::Duration;

use anyhow::{Result, ensure};
use reconnect::BudgetConfig;
use tokio::time::Instant;
use ws_transport::CloseCause;
use ws_transport::memory::Attempt;

use super::{Harness, is_disconnected, is_subscribed};
use crate::client::driver::Command;
use crate::client::lifecycle::Lifecycle;
use crate::client::test_support::{answer_subscribe, config, drain};

/// Times of the `Connecting` signals and the `Reconnecting` delays, until
/// `until` matches a signal (returned too).
async fn attempts_until(
    h: &mut Harness,
    until: impl Fn(&Lifecycle) -> bool,
) -> Result<(Vec<Instant>, Vec<(u64, bool)>, Lifecycle)> {
    let mut connecting = Vec::new();
    let mut delays = Vec::new();
    loop {
        let (signal, _) = h
            .wait_for(|l| {
                matches!(
                    l,
                    Lifecycle::Connecting { .. } | Lifecycle::Reconnecting { .. }
                ) || until(l)
            })
            .await?;
        match signal {
            Lifecycle::Connecting { .. } => connecting.push(Instant::now()),
            Lifecycle::Reconnecting {
                delay_ms,
                rate_limited,
                ..
            } => delays.push((delay_ms, rate_limited)),
            other => return Ok((connecting, delays, other)),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn refusals_follow_the_default_schedule() -> Result<()> {
    // The breaker would stop attempts after 5 failures: this test is about the schedule.
    let mut h = Harness::start(
        config(|c| c.breaker.consecutive_failures = Some(1000)),
        std::iter::repeat_n(Attempt::Fail(CloseCause::Refused), 7),
    )?;
    let _events = h.subscribe(&["btcusdt@aggTrade"])?;
    let (connecting, delays, _) =
        attempts_until(&mut h, |l| matches!(l, Lifecycle::Connected { .. })).await?;
    ensure!(delays.len() == 7 && connecting.len() == 8, "{delays:?}");
    // 1, 2, 4, 8, 16, 30, 30 s, each ±10 % and never above 30 s.
    for (k, &(delay, rate_limited)) in delays.iter().enumerate() {
        let nominal = (1000_u64 << k).min(30_000);
        ensure!(
            !rate_limited
                && delay * 10 >= nominal * 9
                && delay * 10 <= nominal * 11
                && delay <= 30_000,
            "delay {k}: {delay} ms, nominal {nominal} ms ({delays:?})"
        );
        // The next attempt starts when announced.
        let waited = connecting[k + 1] - connecting[k];
        ensure!(
            waited >= Duration::from_millis(delay) && waited < Duration::from_millis(delay + 10),
            "attempt {} after {waited:?}, announced {delay} ms",
            k + 2
        );
    }
    ensure!(h.stats().connect_failures == 7);
    let mut server = h.accept().await?;
    answer_subscribe(&mut server, &["btcusdt@aggTrade"]).await?;
    h.wait_for(is_subscribed).await?;
    h.command(Command::Shutdown)?;
    h.ended().await
}

#[tokio::test(start_paused = true)]
async fn the_attempt_limit_abandons_until_asked_again() -> Result<()> {
    let mut h = Harness::start(
        config(|c| c.reconnect.max_attempts = Some(3)),
        std::iter::repeat_n(Attempt::Fail(CloseCause::Refused), 5),
    )?;
    let _events = h.subscribe(&["btcusdt@aggTrade"])?;
    let (connecting, delays, signal) =
        attempts_until(&mut h, |l| matches!(l, Lifecycle::Abandoned { .. })).await?;
    // The first attempt, then three reconnects, then no more.
    ensure!(connecting.len() == 4 && delays.len() == 3, "{delays:?}");
    ensure!(
        matches!(&signal, Lifecycle::Abandoned { reason, .. } if reason == "attempt limit reached after 3 attempts"),
        "{signal:?}"
    );
    tokio::time::advance(Duration::from_secs(3600)).await;
    ensure!(h.connector.attempts().len() == 4);
    ensure!(drain(&mut h.lifecycle).is_empty());
    // A `Rotate` command tries again (the fifth and last scripted failure),
    // with a fresh schedule.
    h.command(Command::Rotate)?;
    let (_, delays, _) =
        attempts_until(&mut h, |l| matches!(l, Lifecycle::Connected { .. })).await?;
    ensure!(
        delays.len() == 1 && (900..=1100).contains(&delays[0].0),
        "{delays:?}"
    );
    ensure!(h.connector.attempts().len() == 6);
    h.command(Command::Shutdown)?;
    h.ended().await
}

#[tokio::test(start_paused = true)]
async fn the_shared_attempt_budget_gates_reconnects() -> Result<()> {
    let budget = BudgetConfig {
        attempts: 3,
        window: Duration::from_secs(60),
        burst: 2,
    };
    let mut h = Harness::start(
        config(|c| c.attempt_budget = budget.clone()),
        std::iter::repeat_n(Attempt::Fail(CloseCause::Refused), 5),
    )?;
    let _events = h.subscribe(&["btcusdt@aggTrade"])?;
    let (_, delays, _) =
        attempts_until(&mut h, |l| matches!(l, Lifecycle::Connected { .. })).await?;
    let attempts = h.connector.attempts();
    ensure!(attempts.len() == 6 && delays.len() == 5);
    // Never more attempts in a window than the budget grants …
    for (i, &start) in attempts.iter().enumerate() {
        let in_window = attempts[i..]
            .iter()
            .take_while(|&&at| at < start + budget.window)
            .count();
        ensure!(
            in_window <= budget.attempts as usize,
            "{in_window} attempts within {:?} from attempt {}: {attempts:?}",
            budget.window,
            i + 1
        );
    }
    // … and the budget only ever adds waiting to the schedule's delays.
    for (k, &(delay, _)) in delays.iter().enumerate() {
        ensure!(attempts[k + 1] - attempts[k] >= Duration::from_millis(delay));
    }
    // The schedule alone would have made the third attempt about 3 s in.
    ensure!(attempts[2] - attempts[0] >= Duration::from_secs(30));
    h.command(Command::Shutdown)?;
    h.ended().await
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_backs_off_at_least_that_long() -> Result<()> {
    let retry_after = Duration::from_secs(120);
    let mut h = Harness::start(
        config(|_| {}),
        [Attempt::Fail(CloseCause::HandshakeRejected {
            status: 429,
            retry_after: Some(retry_after),
            body: String::new(),
        })],
    )?;
    let _events = h.subscribe(&["btcusdt@aggTrade"])?;
    let (signal, _) = h.wait_for(is_disconnected).await?;
    ensure!(
        matches!(&signal, Lifecycle::Disconnected { cause, .. } if cause == "handshake_rejected"),
        "{signal:?}"
    );
    let (connecting, delays, _) =
        attempts_until(&mut h, |l| matches!(l, Lifecycle::Connected { .. })).await?;
    let attempts = h.connector.attempts();
    ensure!(delays.len() == 1 && connecting.len() == 1 && attempts.len() == 2);
    let (delay_ms, rate_limited) = delays[0];
    ensure!(rate_limited, "a 429 is a rate-limit cause");
    ensure!(
        Duration::from_millis(delay_ms) >= retry_after,
        "{delay_ms} ms is below Retry-After"
    );
    ensure!(attempts[1] - attempts[0] >= retry_after);
    h.command(Command::Shutdown)?;
    h.ended().await
}

/// Five failed attempts open the endpoint's breaker: no attempt until its
/// 30 s open period ends, then one probe; the probe's success closes it.
#[tokio::test(start_paused = true)]
async fn five_failures_open_the_breaker_until_a_probe_succeeds() -> Result<()> {
    let mut h = Harness::start(
        config(|_| {}),
        std::iter::repeat_n(Attempt::Fail(CloseCause::Refused), 5),
    )?;
    let _events = h.subscribe(&["btcusdt@aggTrade"])?;
    let mut opened_at = None;
    let mut states = Vec::new();
    let mut connecting = Vec::new();
    loop {
        let (signal, _) = h.wait_for(|_| true).await?;
        match signal {
            Lifecycle::Connecting { .. } => connecting.push(Instant::now()),
            Lifecycle::Breaker { state, .. } => states.push(state),
            Lifecycle::CircuitOpen { .. } => {
                opened_at.get_or_insert_with(Instant::now);
            }
            Lifecycle::Connected { .. } => break,
            _ => {}
        }
    }
    ensure!(
        connecting.len() == 6,
        "5 failures, then the probe: {}",
        connecting.len()
    );
    let opened_at = opened_at.ok_or_else(|| anyhow::anyhow!("the breaker never refused"))?;
    // The probe waits for the open period, not for the schedule's 16 s.
    let probe_wait = connecting[5] - connecting[4];
    ensure!(
        probe_wait >= Duration::from_secs(30),
        "probe after {probe_wait:?}"
    );
    ensure!(connecting[5] >= opened_at, "the probe follows the refusal");
    let mut server = h.accept().await?;
    answer_subscribe(&mut server, &["btcusdt@aggTrade"]).await?;
    h.wait_for(is_subscribed).await?;
    ensure!(
        states.first().map(String::as_str) == Some("open"),
        "{states:?}"
    );
    Ok(())
}
