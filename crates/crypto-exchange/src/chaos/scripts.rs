//! Each scenario's injection: which faults, when (seeded), and what it
//! watches for while they last. Expectations about the end state (rotations
//! counted, the slow subscriber's tally) are checked by `verify`.

use std::time::{Duration, Instant};

use ::chaos::{Direction, Fault};
use binance_sim::{DropKind, RestFault};
use rand::seq::SliceRandom;

use super::ctx::{Ctx, clear};
use super::scenario::Scenario;
use super::testbed::BOOK;
use super::watch::Observed;
use crate::Lifecycle;

/// Runs `scenario`'s injections within the phase.
pub(crate) async fn inject(scenario: Scenario, ctx: &mut Ctx<'_>) {
    match scenario {
        Scenario::ConnectionFailure => connection_failure(ctx).await,
        Scenario::NetworkPartition => network_partition(ctx).await,
        Scenario::RateLimiting => rate_limiting(ctx).await,
        Scenario::CircuitBreaker => circuit_breaker(ctx).await,
        Scenario::Stall => stall(ctx).await,
        Scenario::ServerErrors => server_errors(ctx).await,
        Scenario::Rotation => rotation(ctx).await,
        Scenario::EndpointFailover => endpoint_failover(ctx).await,
        Scenario::SlowConsumer => slow_consumer(ctx).await,
    }
}

fn disconnected(l: &Lifecycle) -> bool {
    matches!(l, Lifecycle::Disconnected { .. })
}

fn silence(l: &Lifecycle) -> bool {
    matches!(l, Lifecycle::Disconnected { cause, .. } if cause == "silence")
}

fn close(code: u16, reason: &str) -> DropKind {
    DropKind::Close {
        code,
        reason: reason.to_owned(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Cut {
    ProxyReset,
    GoingAway,
    InternalError,
    ServerReset,
    HalfClose,
}

impl Cut {
    fn label(self) -> &'static str {
        match self {
            Cut::ProxyReset => "TCP reset by the network (proxy)",
            Cut::GoingAway => "close 1001 going away (server)",
            Cut::InternalError => "close 1011 internal error (server)",
            Cut::ServerReset => "TCP reset by the server",
            Cut::HalfClose => "half-closed link: FIN toward the client",
        }
    }
}

async fn connection_failure(ctx: &mut Ctx<'_>) {
    let mut cuts = vec![
        Cut::ProxyReset,
        Cut::GoingAway,
        Cut::InternalError,
        Cut::ServerReset,
        Cut::HalfClose,
    ];
    cuts.shuffle(&mut ctx.rng);
    cuts.truncate(4);
    let slot = ctx.duration / 4;
    let mut felt = 0;
    for (i, cut) in cuts.iter().copied().enumerate() {
        let from = slot * u32::try_from(i).unwrap_or(0) + Duration::from_millis(500);
        let offset = ctx.moment(from, from + slot, Duration::from_millis(1_500));
        ctx.at(offset).await;
        // The previous cut must be behind us: the streams deliver again.
        let _ = ctx.recovered(ctx.last_clear).await;
        let (mark, at) = ctx.open(cut.label());
        match cut {
            Cut::ProxyReset => ctx.bed.ws.reset_all(),
            Cut::GoingAway => {
                ctx.bed.sim.drop_connections(close(1001, "going away"));
            }
            Cut::InternalError => {
                ctx.bed.sim.drop_connections(close(1011, "internal error"));
            }
            Cut::ServerReset => {
                ctx.bed.sim.drop_connections(DropKind::Reset);
            }
            Cut::HalfClose => {
                let hold = ctx.ms(500, 1_000);
                let id = ctx.set(
                    &ctx.bed.ws,
                    Fault::HalfClose {
                        direction: Direction::Downstream,
                    },
                );
                tokio::time::sleep(hold).await;
                clear(&ctx.bed.ws, [id]);
            }
        }
        ctx.close(mark, at);
        if ctx
            .poll(Duration::from_secs(5), |o| o.count(at, disconnected) > 0)
            .await
        {
            felt += 1;
        }
    }
    let names: Vec<&str> = cuts.iter().map(|c| c.label()).collect();
    ctx.expect(
        "every cut felt: a disconnect after each",
        felt == cuts.len(),
        format!(
            "{felt} of {} cuts ({}) were followed by a disconnect",
            cuts.len(),
            names.join("; ")
        ),
    );
}

async fn network_partition(ctx: &mut Ctx<'_>) {
    let mut detected = Vec::new();
    let half = ctx.duration / 2;
    for (round, both) in [(0_u32, true), (1, false)] {
        let hold = if both {
            ctx.ms(2_000, 4_000)
        } else {
            ctx.ms(2_000, 3_000)
        };
        let offset = ctx.moment(
            half * round + Duration::from_secs(1),
            half * (round + 1),
            hold + Duration::from_secs(1),
        );
        ctx.at(offset.max(ctx.elapsed())).await;
        let _ = ctx.recovered(ctx.last_clear).await;
        let (label, direction) = if both {
            (
                "partition: blackhole both ways, WebSocket and REST",
                Direction::Both,
            )
        } else {
            (
                "partition: blackhole downstream, WebSocket",
                Direction::Downstream,
            )
        };
        let (mark, at) = ctx.open(label);
        let ws = ctx.set(&ctx.bed.ws, Fault::Blackhole { direction });
        let rest = if both {
            ctx.set(&ctx.bed.rest, Fault::Blackhole { direction })
        } else {
            None
        };
        tokio::time::sleep(hold).await;
        clear(&ctx.bed.ws, [ws]);
        clear(&ctx.bed.rest, [rest]);
        ctx.close(mark, at);
        let seen = ctx
            .poll(Duration::from_secs(1), |o| o.count(at, silence) > 0)
            .await;
        detected.push(format!(
            "{label} ({:.1} s): {}",
            hold.as_secs_f64(),
            if seen {
                "silence detected"
            } else {
                "no silence disconnect"
            }
        ));
        if !seen {
            ctx.expect(
                "each partition detected by the silence timeout",
                false,
                detected.join("; "),
            );
            return;
        }
    }
    ctx.expect(
        "each partition detected by the silence timeout",
        true,
        detected.join("; "),
    );
}

async fn rate_limiting(ctx: &mut Ctx<'_>) {
    let third = ctx.duration / 3;
    // 1. The server closes with 1008: the client must back off longer.
    let offset = ctx.moment(Duration::from_secs(1), third, Duration::from_secs(1));
    ctx.at(offset).await;
    let (mark, at) = ctx.open("close 1008 too many requests (server)");
    ctx.bed
        .sim
        .drop_connections(close(1008, "Too many requests"));
    ctx.close(mark, at);
    let backed_off = ctx
        .poll(Duration::from_secs(5), |o| {
            o.count(at, |l| {
                matches!(
                    l,
                    Lifecycle::Reconnecting {
                        rate_limited: true,
                        ..
                    }
                )
            }) > 0
        })
        .await;
    ctx.expect(
        "the longer rate-limit backoff after 1008",
        backed_off,
        if backed_off {
            "a rate-limited reconnect was scheduled"
        } else {
            "no rate-limited reconnect within 5 s"
        },
    );

    // 2. REST answers 429 while the reconnect's backfill needs it.
    let _ = ctx.recovered(ctx.last_clear).await;
    let hold = ctx.ms(1_500, 2_500);
    let offset = ctx.moment(third, third * 2, hold + Duration::from_millis(500));
    ctx.at(offset.max(ctx.elapsed())).await;
    let (mark, at) = ctx.open("REST 429 + connection reset (backfill throttled)");
    ctx.bed
        .sim
        .set_rest_fault(RestFault::TooManyRequests, Some(hold));
    ctx.bed.ws.reset_all();
    tokio::time::sleep(hold).await;
    ctx.bed.sim.clear_rest_fault();
    ctx.close(mark, at);
    let throttled = ctx
        .watch
        .lock()
        .rest
        .iter()
        .filter(|(t, e)| *t >= at && matches!(e, crate::rest::RestEvent::Throttled { .. }))
        .count();
    ctx.expect(
        "Retry-After honoured after 429 (the REST client throttled itself)",
        throttled > 0,
        format!("{throttled} throttled notices"),
    );

    // 3. REST bans with 418 while the book needs a snapshot.
    let _ = ctx.recovered(ctx.last_clear).await;
    let hold = ctx.ms(1_500, 2_500);
    let offset = ctx.moment(third * 2, ctx.duration, hold + Duration::from_millis(500));
    ctx.at(offset.max(ctx.elapsed())).await;
    let before = ctx
        .bed
        .sim
        .rest_stats()
        .by_status
        .get(&418)
        .copied()
        .unwrap_or(0);
    let (mark, at) = ctx.open("REST 418 ban + depth gap (book resync)");
    ctx.bed.sim.set_rest_fault(RestFault::Banned, Some(hold));
    let _ = ctx.bed.sim.inject_depth_gap(BOOK);
    tokio::time::sleep(hold).await;
    ctx.bed.sim.clear_rest_fault();
    ctx.close(mark, at);
    let banned = ctx
        .watch
        .lock()
        .rest
        .iter()
        .filter(|(t, e)| *t >= at && matches!(e, crate::rest::RestEvent::Banned { .. }))
        .count();
    let answered = ctx
        .bed
        .sim
        .rest_stats()
        .by_status
        .get(&418)
        .copied()
        .unwrap_or(0)
        - before;
    ctx.expect(
        "REST stopped during the 418 ban (at most 2 requests answered 418)",
        banned > 0 && answered <= 2,
        format!(
            "{banned} ban notices; {answered} requests answered 418 during the {:.1} s ban",
            hold.as_secs_f64()
        ),
    );
}

async fn circuit_breaker(ctx: &mut Ctx<'_>) {
    let offset = ctx.moment(
        Duration::from_secs(1),
        Duration::from_secs(3),
        Duration::ZERO,
    );
    ctx.at(offset).await;
    let (mark, at) = ctx.open("every connection refused, the open one reset (server)");
    ctx.bed
        .sim
        .refuse_connections(ctx.duration + ctx.timings.recovery_bound);
    ctx.bed.sim.drop_connections(DropKind::Reset);
    let is_open = |l: &Lifecycle| matches!(l, Lifecycle::Breaker { state, .. } if state == "open");
    let opened = ctx.poll(ctx.duration, |o| o.count(at, is_open) > 0).await;
    let extra = ctx.ms(500, 2_000);
    tokio::time::sleep(extra).await;
    ctx.bed.sim.refuse_connections(Duration::ZERO);
    ctx.close(mark, at);
    let end = Instant::now();
    ctx.expect(
        "the breaker opened after repeated refusals",
        opened,
        if opened { "opened" } else { "never opened" },
    );
    let closed = ctx
        .poll(ctx.timings.recovery_bound, |o| {
            o.count(
                end,
                |l| matches!(l, Lifecycle::Breaker { state, .. } if state == "closed"),
            ) > 0
        })
        .await;
    let (attempts_open, opens) = attempts_while_open(&ctx.watch.lock(), at);
    ctx.expect(
        "no connection attempt while the breaker was open",
        attempts_open == 0,
        format!("{attempts_open} attempts during {opens} open periods"),
    );
    ctx.expect(
        "the breaker closed once the server accepted again",
        closed,
        if closed { "closed" } else { "still not closed" },
    );
}

/// Connection attempts made while an endpoint's breaker was open (after
/// `since`), and how many times it opened.
fn attempts_while_open(o: &Observed, since: Instant) -> (usize, usize) {
    let (mut open, mut attempts, mut opens) = (false, 0, 0);
    for (_, signal) in o.lifecycle.iter().filter(|(at, _)| *at >= since) {
        match signal {
            Lifecycle::Breaker { state, .. } => {
                open = state == "open" || state == "forced_open";
                opens += usize::from(open);
            }
            Lifecycle::Connecting { .. } if open => attempts += 1,
            _ => {}
        }
    }
    (attempts, opens)
}

async fn stall(ctx: &mut Ctx<'_>) {
    let half = ctx.duration / 2;
    let mut detected = Vec::new();
    for round in 0..2_u32 {
        let hold = ctx.ms(2_500, 4_000);
        let offset = ctx.moment(
            half * round + Duration::from_secs(1),
            half * (round + 1),
            hold + Duration::from_secs(1),
        );
        ctx.at(offset.max(ctx.elapsed())).await;
        let _ = ctx.recovered(ctx.last_clear).await;
        let (mark, at) = ctx.open("server stall: connections open, nothing sent");
        ctx.bed.sim.set_stalled(true);
        tokio::time::sleep(hold).await;
        ctx.bed.sim.set_stalled(false);
        ctx.close(mark, at);
        let seen = ctx
            .poll(Duration::from_secs(1), |o| o.count(at, silence) > 0)
            .await;
        detected.push(format!(
            "stall of {:.1} s: {}",
            hold.as_secs_f64(),
            if seen {
                "silence detected"
            } else {
                "not detected"
            }
        ));
    }
    let met = detected.iter().all(|d| d.ends_with("silence detected"));
    ctx.expect(
        "each stall detected by the silence timeout (cause silence)",
        met,
        detected.join("; "),
    );
}

async fn server_errors(ctx: &mut Ctx<'_>) {
    let half = ctx.duration / 2;
    let mut retried = Vec::new();
    for round in 0..2_u32 {
        let codes = [500_u16, 502, 503, 504];
        let code = codes[usize::try_from(ctx.ms(0, 3).as_millis()).unwrap_or(0)];
        let hold = ctx.ms(1_000, 2_000);
        let offset = ctx.moment(
            half * round + Duration::from_secs(1),
            half * (round + 1),
            hold + Duration::from_secs(1),
        );
        ctx.at(offset.max(ctx.elapsed())).await;
        let _ = ctx.recovered(ctx.last_clear).await;
        let (mark, at) = ctx.open(&format!("REST {code} + connection reset + depth gap"));
        ctx.bed
            .sim
            .set_rest_fault(RestFault::ServerError(code), Some(hold));
        ctx.bed.ws.reset_all();
        let _ = ctx.bed.sim.inject_depth_gap(BOOK);
        tokio::time::sleep(hold).await;
        ctx.bed.sim.clear_rest_fault();
        ctx.close(mark, at);
        let retries = ctx
            .watch
            .lock()
            .rest
            .iter()
            .filter(|(t, e)| *t >= at && matches!(e, crate::rest::RestEvent::Retrying { .. }))
            .count();
        retried.push((code, retries));
    }
    let met = retried.iter().all(|(_, n)| *n > 0);
    let detail: Vec<String> = retried
        .iter()
        .map(|(code, n)| format!("{code}: {n} retries"))
        .collect();
    ctx.expect(
        "REST retried through the 5xx answers",
        met,
        detail.join("; "),
    );
}

async fn rotation(ctx: &mut Ctx<'_>) {
    // First a rotation on lifetime (the client's own), then the server's
    // announcement at a seeded moment after it.
    let since = ctx.start;
    let lifetime =
        |l: &Lifecycle| matches!(l, Lifecycle::Rotated { reason, .. } if reason == "lifetime");
    let room = ctx.duration.saturating_sub(Duration::from_secs(3));
    let _ = ctx.poll(room, |o| o.count(since, lifetime) > 0).await;
    let after = ctx.elapsed() + Duration::from_millis(500);
    let offset = ctx.moment(after, ctx.duration, Duration::from_secs(2));
    ctx.at(offset.max(after)).await;
    let (mark, at) = ctx.open("serverShutdown announced (server)");
    let told = ctx.bed.sim.send_server_shutdown();
    ctx.close(mark, at);
    let rotated = ctx
        .poll(Duration::from_secs(5), |o| {
            o.count(
                at,
                |l| matches!(l, Lifecycle::Rotated { reason, .. } if reason == "server_shutdown"),
            ) > 0
        })
        .await;
    ctx.expect(
        "a make-before-break rotation on serverShutdown",
        rotated,
        format!(
            "{told} connections told; {}",
            if rotated {
                "rotated"
            } else {
                "no rotation within 5 s"
            }
        ),
    );
}

async fn endpoint_failover(ctx: &mut Ctx<'_>) {
    let offset = ctx.moment(
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::ZERO,
    );
    ctx.at(offset).await;
    let (mark, at) = ctx.open("first endpoint: every connection reset (proxy)");
    let id = ctx.set(&ctx.bed.ws, Fault::Reset);
    let alt = ctx
        .bed
        .alt
        .as_ref()
        .map(|p| format!("127.0.0.1:{}", p.addr().port()))
        .unwrap_or_default();
    let tried_alt = |o: &Observed| {
        o.count(
            at,
            |l| matches!(l, Lifecycle::Connecting { endpoint, .. } if endpoint.ends_with(&alt)),
        ) > 0
    };
    let probe = ctx
        .duration
        .saturating_sub(ctx.elapsed())
        .saturating_sub(Duration::from_secs(1));
    let tried = ctx.poll(probe, tried_alt).await;
    if !tried {
        clear(&ctx.bed.ws, [id]);
        ctx.close(mark, at);
        let attempts = ctx
            .watch
            .lock()
            .count(at, |l| matches!(l, Lifecycle::Connecting { .. }));
        ctx.expect(
            "the client tried the second endpoint while the first failed",
            false,
            format!(
                "{attempts} connection attempts in {:.1} s, none to the second endpoint",
                at.elapsed().as_secs_f64()
            ),
        );
        return;
    }
    let through_alt = ctx
        .poll(ctx.timings.recovery_bound, |o| {
            o.all_delivered_since(at + Duration::from_millis(100))
        })
        .await;
    ctx.at(ctx.duration.saturating_sub(Duration::from_millis(500)))
        .await;
    // What the second endpoint carried to the client by the end of the run
    // (read then, not at the first delivery after the fault, which polling
    // may have made before the second endpoint was even connected).
    let bytes = ctx
        .bed
        .alt
        .as_ref()
        .map_or(0, |p| p.counters().downstream.bytes);
    let still = ctx
        .bed
        .ws
        .active_faults()
        .iter()
        .any(|(f, _)| Some(*f) == id);
    clear(&ctx.bed.ws, [id]);
    ctx.close(mark, at);
    ctx.expect(
        "the streams continued through the second endpoint while the first still failed",
        through_alt && bytes > 0 && still,
        format!("every stream delivered after the failover: {through_alt}; {bytes} bytes through the second endpoint"),
    );
}

async fn slow_consumer(ctx: &mut Ctx<'_>) {
    let hold = ctx.ms(4_000, 6_000);
    let offset = ctx.moment(
        Duration::from_secs(1),
        ctx.duration,
        hold + Duration::from_secs(1),
    );
    ctx.at(offset).await;
    let (mark, at) = ctx.open("slow subscriber: one event per 100 ms");
    if let Some(pace) = &ctx.slow_pace {
        pace.send_replace(Duration::from_millis(100));
    }
    tokio::time::sleep(hold).await;
    if let Some(pace) = &ctx.slow_pace {
        pace.send_replace(Duration::ZERO);
    }
    ctx.close(mark, at);
}
