//! A user's own events end to end against `binance-sim`: fills placed while the
//! user connection is reset arrive exactly once (live or reconciled) and the
//! balances end equal to the simulator's account; a revoked user stops for good
//! while another continues; authentication and clock errors are permanent.

mod user_common;

use std::collections::BTreeSet;

use anyhow::Result;
use binance_sim::DropKind;
use binance_sim::decimal::Fixed;
use crypto_exchange::user::{
    ApiKey, Credentials, EventSource, Secret, UserConfig, UserError, UserEvent, UserStatus,
};
use user_common::{
    ED_KEY, HMAC_KEY, Reader, ed_credentials, hmac_credentials, manager, market_order, normalized,
    sim, sim_balances,
};

/// The next aggregate-trade id of a market subscription.
async fn next_agg_id(sub: &mut crypto_exchange::Subscription) -> Result<u64> {
    loop {
        let update = tokio::time::timeout(user_common::WAIT, sub.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the market subscription ended"))?;
        if let crypto_exchange::Update::Event(event) = update
            && let crypto_exchange::domain::Event::AggTrade(trade) = &event.event
        {
            return Ok(trade.agg_trade_id);
        }
    }
}

fn is_subscribed(s: &UserStatus) -> bool {
    matches!(s, UserStatus::Subscribed { .. })
}

fn is_reconciled(s: &UserStatus) -> bool {
    matches!(s, UserStatus::Reconciled { .. })
}

fn is_disconnected(s: &UserStatus) -> bool {
    matches!(s, UserStatus::Disconnected { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fill_arrives_exactly_once_through_resets() -> Result<()> {
    let sim = sim().await?;
    let (manager, updates) = manager(&sim)?;
    let mut reader = Reader::new(updates);
    let orders = hmac_credentials();
    manager.add(UserConfig::new("alice", hmac_credentials(), &["BTCUSDT"]))?;
    reader
        .until("the first reconcile", |r| {
            r.user("alice").count(is_reconciled) == 1
        })
        .await?;

    let mut expected: BTreeSet<u64> = BTreeSet::new();
    let resets = 4;
    for round in 0..resets {
        // Live: fills while subscribed.
        let side = if round % 2 == 0 { "BUY" } else { "SELL" };
        expected.extend(market_order(&sim, &orders, HMAC_KEY, side, "0.00200").await?);
        // Reset the connection, then trade while it is down (the reconnect waits at
        // least 270 ms), so these fills can only come from the reconcile.
        let before = reader.user("alice").count(is_reconciled);
        assert!(
            sim.drop_connections(DropKind::Reset) >= 1,
            "a connection to reset"
        );
        reader
            .until("the reset", |r| {
                r.user("alice").count(is_disconnected) == round + 1
            })
            .await?;
        expected.extend(market_order(&sim, &orders, HMAC_KEY, "BUY", "0.00100").await?);
        expected.extend(market_order(&sim, &orders, HMAC_KEY, "SELL", "0.00100").await?);
        reader
            .until("the reconcile after the reconnect", |r| {
                r.user("alice").count(is_reconciled) > before
            })
            .await?;
    }
    // A last live fill, then wait for every fill and the final balances.
    expected.extend(market_order(&sim, &orders, HMAC_KEY, "BUY", "0.00300").await?);
    let want = sim_balances(&sim, HMAC_KEY);
    let trades = sim.account(HMAC_KEY).map_or(0, |a| a.trade_count);
    assert_eq!(
        trades,
        expected.len(),
        "the simulator's fills are the orders' fills"
    );
    reader
        .until("every fill and the final balances", |r| {
            let seen = r.user("alice");
            seen.fills.len() == expected.len() && normalized(&seen.balances) == normalized(&want)
        })
        .await?;

    let seen = reader.user("alice");
    let delivered: BTreeSet<u64> = seen.fills.keys().map(|(_, id)| *id).collect();
    assert_eq!(delivered, expected);
    let repeated: Vec<_> = seen.fills.iter().filter(|(_, s)| s.len() != 1).collect();
    assert!(
        repeated.is_empty(),
        "fills delivered more than once: {repeated:?}"
    );
    let reconciled = seen
        .fills
        .values()
        .filter(|s| s[0] == EventSource::Reconcile)
        .count();
    let live = seen.fills.len() - reconciled;
    assert!(
        reconciled >= 2 * resets && live > resets,
        "fills made while disconnected come from reconciles: {reconciled} reconciled, {live} live"
    );
    assert_eq!(seen.count(is_subscribed), resets + 1);
    assert!(seen.count(|s| matches!(s, UserStatus::Stopped { .. })) == 0);
    manager.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_user_stops_for_good_and_the_other_continues() -> Result<()> {
    let sim = sim().await?;
    // A market stream on the same simulator; the users share its REST client and
    // connection-attempt budget.
    let market = crypto_exchange::Client::new(crypto_exchange::ClientConfig::with_endpoints(
        sim.ws_url(),
        sim.rest_url(),
    ))?;
    let (manager, updates) = market.user_manager(user_common::manager_config(&sim))?;
    let mut reader = Reader::new(updates);
    let mut trades = market.subscribe(["ethusdt@aggTrade"])?;
    let first_trade = next_agg_id(&mut trades).await?;
    manager.add(UserConfig::new("hmac", hmac_credentials(), &["BTCUSDT"]))?;
    // The Ed25519 user's subscription is verified by the simulator's own Ed25519.
    manager.add(UserConfig::new("ed", ed_credentials(), &["BTCUSDT"]))?;
    reader
        .until("both subscribed and reconciled", |r| {
            r.user("hmac").count(is_reconciled) == 1 && r.user("ed").count(is_reconciled) == 1
        })
        .await?;

    sim.revoke_key(HMAC_KEY)?;
    reader
        .until("the revoked user stops", |r| {
            r.user("hmac")
                .count(|s| matches!(s, UserStatus::Stopped { .. }))
                == 1
        })
        .await?;
    let hmac = reader.user("hmac");
    assert!(
        hmac.events
            .iter()
            .any(|(_, e)| matches!(e, UserEvent::StreamTerminated(_))),
        "the revocation ended the subscription"
    );
    let stopped = hmac.statuses.last();
    let Some(UserStatus::Stopped { error: Some(error) }) = stopped else {
        panic!("the revoked user stopped without an error: {stopped:?}");
    };
    assert!(
        matches!(error, UserError::Authentication { code: -2015, .. }),
        "{error:?}"
    );
    assert!(error.is_permanent());
    assert!(
        error.to_string().contains("authentication failed"),
        "{error}"
    );
    let hmac_statuses = hmac.statuses.len();

    // The other user is untouched: a deposit and a fill reach it live.
    sim.deposit(ED_KEY, "ETH", Fixed(150_000_000))?;
    let ed_orders = ed_credentials();
    let ids = market_order(&sim, &ed_orders, ED_KEY, "BUY", "0.00100").await?;
    reader
        .until("the Ed25519 user's deposit and fill", |r| {
            let ed = r.user("ed");
            ed.events.iter().any(|(s, e)| {
                *s == EventSource::Live
                    && matches!(e, UserEvent::BalanceUpdate(b) if b.asset == "ETH")
            }) && ids
                .iter()
                .all(|id| ed.fills.contains_key(&("BTCUSDT".to_owned(), *id)))
        })
        .await?;
    let ed = reader.user("ed");
    assert_eq!(
        ed.count(is_disconnected),
        0,
        "the other user never lost its connection"
    );
    // The stopped user did nothing more: no reconnect, no status.
    assert_eq!(reader.user("hmac").statuses.len(), hmac_statuses);
    assert_eq!(manager.users(), ["ed", "hmac"]);

    // The market stream never noticed: it keeps delivering, on its first connection.
    let later = next_agg_id(&mut trades).await?;
    assert!(later > first_trade);
    assert_eq!(market.stats().connect_failures, 0, "{:?}", market.stats());

    // Removing and re-adding at run time.
    manager.remove("ed")?;
    reader
        .until("the removed user stops", |r| {
            r.user("ed")
                .count(|s| matches!(s, UserStatus::Stopped { error: None }))
                == 1
        })
        .await?;
    assert_eq!(manager.users(), ["hmac"]);
    assert!(matches!(
        manager.remove("ed"),
        Err(UserError::UnknownUser(_))
    ));
    manager.add(UserConfig::new("ed", ed_credentials(), &["BTCUSDT"]))?;
    reader
        .until("the re-added user subscribes", |r| {
            r.user("ed").count(is_subscribed) == 2
        })
        .await?;
    manager.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_keys_and_clock_skew_are_permanent_and_clear() -> Result<()> {
    let sim = sim().await?;
    let (manager, updates) = manager(&sim)?;
    let mut reader = Reader::new(updates);
    // An HMAC secret for the Ed25519 account: the signature cannot verify (-1022).
    let wrong_type = Credentials::hmac(ApiKey::new(ED_KEY)?, &Secret::new("not-the-key"))?;
    manager.add(UserConfig::new("wrong-type", wrong_type, &[]))?;
    // The right key with the clock two minutes behind: outside recvWindow (-1021).
    let mut skewed = UserConfig::new("skewed", hmac_credentials(), &[]);
    skewed.clock_offset_ms = -120_000;
    manager.add(skewed)?;
    // A symbol the exchange does not list is left out of reconciles, not retried.
    manager.add(UserConfig::new(
        "bad-symbol",
        hmac_credentials(),
        &["BTCUSDT", "NOPEUSDT"],
    ))?;
    reader
        .until("the unlisted symbol is reported and the reconcile completes", |r| {
            let u = r.user("bad-symbol");
            u.count(|s| matches!(s, UserStatus::ReconcileFailed { error } if error.contains("NOPEUSDT")))
                == 1
                && u.count(is_reconciled) == 1
        })
        .await?;
    let stopped = |s: &UserStatus| matches!(s, UserStatus::Stopped { .. });
    reader
        .until("both stop", |r| {
            r.user("wrong-type").count(stopped) == 1 && r.user("skewed").count(stopped) == 1
        })
        .await?;
    let last = |name: &str| match reader.user(name).statuses.last() {
        Some(UserStatus::Stopped { error: Some(e) }) => e.clone(),
        other => panic!("{name}: {other:?}"),
    };
    let wrong = last("wrong-type");
    assert!(
        matches!(wrong, UserError::Authentication { code: -1022, .. }),
        "{wrong:?}"
    );
    let skew = last("skewed");
    assert!(matches!(skew, UserError::ClockSkew { .. }), "{skew:?}");
    assert!(
        skew.to_string().contains("synchronise the system clock"),
        "{skew}"
    );
    for name in ["wrong-type", "skewed"] {
        assert_eq!(
            reader.user(name).count(is_disconnected),
            0,
            "{name} never retried"
        );
    }
    manager.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
