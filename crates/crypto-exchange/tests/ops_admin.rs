//! The ops endpoint's admin controls against `binance-sim`: each control does
//! what it says (seen in lifecycle signals, stream status and breaker
//! states) and answers with what it did; a configured token is required on
//! every admin call (401 without or with a wrong one, the same answer, no
//! hint), GET paths stay open; bad requests get a 4xx naming the problem; a
//! non-loopback address without a token is refused.

mod client_common;
mod ops_common;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use binance_sim::DropKind;
use client_common::{WAIT, client_for, next_event, sim_with, wait_for};
use crypto_exchange::fallback::StreamStatus;
use crypto_exchange::{AdminToken, BreakerState, Client, ClientError, Lifecycle, OpsConfig};
use ops_common::{Answer, get, http, poll};
use serde_json::json;

const TOKEN: &str = "test-admin-token-0123456789";

async fn post(
    http: &reqwest::Client,
    url: &str,
    body: Option<String>,
    token: Option<&str>,
) -> Result<Answer> {
    let mut request = http.post(url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    Ok(Answer { status, body })
}

async fn wait_status_of(client: &Client, want: StreamStatus) -> Result<()> {
    poll(WAIT, &format!("every stream {want:?}"), || async {
        let statuses = client.stream_status();
        Ok((!statuses.is_empty() && statuses.iter().all(|(_, s)| *s == want)).then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_control_does_what_it_says() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |c| {
        // Two refused attempts open the breaker, and only a reset closes it
        // within the test.
        c.breaker.consecutive_failures = Some(2);
        c.breaker.open_duration = Duration::from_secs(600);
        c.breaker.max_open_duration = Duration::from_secs(600);
        // Back from polling once the new connection has been up this long.
        c.fallback.connection.stable_after = Duration::from_millis(500);
    })?;
    let ops = client
        .serve_ops_with_admin(OpsConfig::default(), None)
        .await?;
    let base = ops.base_url();
    let http = http()?;
    let mut lifecycle = client.lifecycle();
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    next_event(&mut sub).await?;
    let id = *client.connections().first().context("no connection")?;

    // Rotate: make-before-break now.
    let answer = post(&http, &format!("{base}/admin/rotate"), None, None).await?;
    ensure!(answer.status == 200, "{answer:?}");
    ensure!(
        answer.json()? == json!({"action": "rotate", "connections": [id]}),
        "{answer:?}"
    );
    wait_for(
        &mut lifecycle,
        |l| matches!(l, Lifecycle::Rotated { connection, .. } if *connection == id),
    )
    .await?;

    // Recovery of one connection, named in the query.
    let answer = post(
        &http,
        &format!("{base}/admin/recovery?connection={id}"),
        None,
        None,
    )
    .await?;
    ensure!(
        answer.json()? == json!({"action": "recovery", "connections": [id]}),
        "{answer:?}"
    );
    wait_for(
        &mut lifecycle,
        |l| matches!(l, Lifecycle::Rotated { connection, .. } if *connection == id),
    )
    .await?;
    next_event(&mut sub).await?;

    // Fallback to polling and back.
    let answer = post(
        &http,
        &format!("{base}/admin/fallback"),
        Some(r#"{"to": "polling"}"#.into()),
        None,
    )
    .await?;
    ensure!(
        answer.json()? == json!({"action": "fallback", "to": "polling", "connections": [id]}),
        "{answer:?}"
    );
    wait_status_of(&client, StreamStatus::Polled).await?;
    let answer = post(
        &http,
        &format!("{base}/admin/fallback"),
        Some(format!(r#"{{"to": "websocket", "connection": {id}}}"#)),
        None,
    )
    .await?;
    ensure!(answer.status == 200, "{answer:?}");
    wait_status_of(&client, StreamStatus::Live).await?;

    // Breakers: refused connections open the endpoint's breaker; the reset
    // closes it at once.
    sim.refuse_connections(Duration::from_secs(600));
    sim.drop_connections(DropKind::Reset);
    poll(WAIT, "the endpoint's breaker open", || async {
        Ok(client
            .breakers()
            .iter()
            .any(|(_, b)| b.state == BreakerState::Open)
            .then_some(()))
    })
    .await?;
    let answer = post(&http, &format!("{base}/admin/breakers/reset"), None, None).await?;
    let body = answer.json()?;
    ensure!(body["action"] == "breakers_reset", "{body}");
    let changes = body["breakers"].as_array().context("breakers")?;
    ensure!(
        changes
            .iter()
            .any(|b| b["before"] == "open" && b["after"] == "closed"),
        "{body}"
    );
    ensure!(
        client
            .breakers()
            .iter()
            .all(|(_, b)| b.state != BreakerState::Open),
        "a breaker still open after the reset"
    );

    // What the health endpoint says stays readable without any token.
    let health = get(&http, &format!("{base}/health")).await?;
    ensure!(health.status == 200 || health.status == 503, "{health:?}");
    drop(sub);
    client.shutdown().await;
    ops.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_admin_requests_are_answered_with_the_problem() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let ops = client
        .serve_ops_with_admin(OpsConfig::default(), None)
        .await?;
    let base = ops.base_url();
    let http = http()?;
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    next_event(&mut sub).await?;

    let cases: Vec<(&str, Option<String>, u16, &str)> = vec![
        (
            "/admin/recovery",
            Some("{not json".into()),
            400,
            "malformed request body",
        ),
        (
            "/admin/recovery",
            Some(r#"{"connection": 1, "extra": 2}"#.into()),
            400,
            "unknown field `extra`",
        ),
        (
            "/admin/recovery",
            Some(r#"{"connection": 999}"#.into()),
            404,
            "no connection 999",
        ),
        (
            "/admin/recovery",
            Some(r#"{"connection": "first"}"#.into()),
            400,
            "is not a connection id",
        ),
        (
            "/admin/recovery?who=1",
            None,
            400,
            "unknown query parameter \"who\"",
        ),
        ("/admin/fallback", None, 400, "say where to"),
        (
            "/admin/fallback?to=carrier-pigeon",
            None,
            400,
            "is not a fallback",
        ),
        (
            "/admin/rotate",
            Some(format!(r#"{{"connection": "{}"}}"#, "x".repeat(4096))),
            413,
            "larger than 1024 bytes",
        ),
    ];
    for (path, body, status, needle) in cases {
        let answer = post(&http, &format!("{base}{path}"), body, None).await?;
        ensure!(answer.status == status, "{path}: {answer:?}");
        let error = answer.json()?["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        ensure!(
            error.contains(needle),
            "{path}: {needle:?} not in {error:?}"
        );
    }
    let wrong_method = get(&http, &format!("{base}/admin/rotate")).await?;
    ensure!(wrong_method.status == 405, "{wrong_method:?}");
    // Nothing above touched the connection.
    next_event(&mut sub).await?;
    drop(sub);
    client.shutdown().await;
    ops.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_token_is_required_on_every_admin_call() -> Result<()> {
    let sim = sim_with(|_| {}).await?;
    let client = client_for(&sim, |_| {})?;
    let ops = client
        .serve_ops_with_admin(OpsConfig::default(), Some(AdminToken::new(TOKEN)?))
        .await?;
    let base = ops.base_url();
    let http = http()?;
    let mut sub = client.subscribe(["btcusdt@aggTrade"])?;
    next_event(&mut sub).await?;
    let mut lifecycle = client.lifecycle();

    let mut refusals: Vec<Answer> = Vec::new();
    for path in [
        "/admin/breakers/reset",
        "/admin/recovery",
        "/admin/fallback?to=polling",
        "/admin/rotate",
    ] {
        let url = format!("{base}{path}");
        refusals.push(post(&http, &url, None, None).await?);
        refusals.push(post(&http, &url, None, Some("test-admin-token-0123456780")).await?);
        refusals.push(post(&http, &url, None, Some("wrong")).await?);
        let raw = http
            .post(&url)
            .header("authorization", TOKEN)
            .send()
            .await?;
        refusals.push(Answer {
            status: raw.status().as_u16(),
            body: raw.text().await?,
        });
    }
    for answer in &refusals {
        ensure!(answer.status == 401, "{answer:?}");
        ensure!(
            answer.body == refusals[0].body,
            "answers differ: {answer:?} vs {:?}",
            refusals[0]
        );
        ensure!(
            !answer.body.contains(TOKEN) && !answer.body.contains("test-admin"),
            "{answer:?}"
        );
    }
    // Nothing was done: the connection was neither rotated nor polled.
    ensure!(
        client
            .stream_status()
            .iter()
            .all(|(_, s)| *s == StreamStatus::Live)
    );

    let answer = post(&http, &format!("{base}/admin/rotate"), None, Some(TOKEN)).await?;
    ensure!(
        answer.status == 200 && answer.json()?["action"] == "rotate",
        "{answer:?}"
    );
    wait_for(&mut lifecycle, |l| matches!(l, Lifecycle::Rotated { .. })).await?;
    for path in ["/health/live", "/alerts"] {
        let open = get(&http, &format!("{base}{path}")).await?;
        ensure!(open.status == 200, "{path}: {open:?}");
    }
    let metrics = get(&http, &format!("{base}/metrics")).await?;
    ensure!(metrics.status != 401, "{metrics:?}");
    drop(sub);
    client.shutdown().await;
    ops.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_non_loopback_address_without_a_token_is_refused() -> Result<()> {
    let client = Client::new(crypto_exchange::ClientConfig::with_endpoints(
        "ws://127.0.0.1:9",
        "http://127.0.0.1:9",
    ))?;
    let config = OpsConfig {
        bind: "0.0.0.0:0".parse()?,
        ..OpsConfig::default()
    };
    match client.serve_ops_with_admin(config, None).await {
        Err(ClientError::Config(problems)) => {
            ensure!(
                problems
                    .iter()
                    .any(|p| p.contains("not a loopback address") && p.contains("admin token")),
                "{problems:?}"
            );
        }
        Ok(_) => bail!("a non-loopback endpoint without a token started"),
        Err(other) => bail!("unexpected error {other}"),
    }
    for short in ["", "short", "has a space in it ok"] {
        let error = AdminToken::new(short)
            .err()
            .context("a bad token accepted")?;
        ensure!(
            !short.is_empty() && !error.to_string().contains(short) || short.is_empty(),
            "{error}"
        );
    }
    Ok(())
}
