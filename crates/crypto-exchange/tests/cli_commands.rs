//! The other subcommands as a user runs them: `sim` serves until killed, `demo`
//! injects faults and recovers (`chaos` has its own file, `cli_chaos.rs`).

mod cli_common;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use cli_common::{Running, run};
use futures_util::{SinkExt, StreamExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

/// How long the simulator may take to print a URL or answer a frame.
const STEP: Duration = Duration::from_secs(15);

#[tokio::test]
async fn sim_prints_its_urls_then_serves() -> Result<()> {
    let mut sim = Running::start(&["sim", "--listen", "127.0.0.1:0"])?;
    let result = async {
        let ws = sim.line(STEP).await?;
        let rest = sim.line(STEP).await?;
        let admin = sim.line(STEP).await?;
        ensure!(
            ws.starts_with("ws://127.0.0.1:"),
            "WebSocket URL first: {ws:?}"
        );
        ensure!(
            rest.starts_with("http://127.0.0.1:"),
            "REST URL second: {rest:?}"
        );
        ensure!(
            admin.starts_with("http://127.0.0.1:"),
            "admin URL third: {admin:?}"
        );
        ensure!(
            !ws.ends_with(":0") && rest != admin,
            "real ports: {ws} {rest} {admin}"
        );

        let (mut socket, _) = timeout(
            STEP,
            tokio_tungstenite::connect_async(format!("{ws}/stream")),
        )
        .await
        .context("connect timed out")?
        .context("cannot connect to the printed WebSocket URL")?;
        socket
            .send(Message::text(r#"{"method":"LIST_SUBSCRIPTIONS","id":7}"#))
            .await?;
        let frame = timeout(STEP, socket.next())
            .await
            .context("no frame from the simulator")?
            .context("the simulator closed the connection")??;
        let Message::Text(text) = frame else {
            bail!("a text frame expected, got {frame:?}");
        };
        let reply: serde_json::Value = serde_json::from_str(text.as_str())?;
        ensure!(
            reply == serde_json::json!({"result": [], "id": 7}),
            "unexpected reply {reply}"
        );
        Ok(())
    }
    .await;
    // Killed on every path: explicitly here, and by `kill_on_drop` if this panics.
    sim.kill().await?;
    result
}

#[tokio::test]
async fn sim_refuses_an_unknown_symbol() -> Result<()> {
    let out = run(&["sim", "--listen", "127.0.0.1:0", "--symbols", "FOO"]).await?;
    let transcript = out.transcript();
    ensure!(out.code() == Some(2), "{transcript}");
    ensure!(
        out.stderr.contains("\"FOO\"") && out.stderr.contains("FOO:PRICE:TICK:STEP"),
        "the message names the symbol and the fix: {transcript}"
    );
    ensure!(out.stdout.is_empty(), "{transcript}");
    Ok(())
}

#[tokio::test]
async fn demo_injects_a_fault_recovers_and_summarises() -> Result<()> {
    let out = run(&["demo", "--duration", "8s", "--fault-every", "3s"]).await?;
    let transcript = out.transcript();
    ensure!(out.code() == Some(0), "{transcript}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    ensure!(
        lines.iter().any(|l| l.starts_with("! fault 1: ")),
        "no fault line\n{transcript}"
    );
    ensure!(
        lines
            .iter()
            .any(|l| l.contains("-> streams delivering again after")),
        "no recovery line\n{transcript}"
    );
    ensure!(
        lines
            .iter()
            .any(|l| l.starts_with("[") && l.contains("events/s")),
        "no status line\n{transcript}"
    );
    let summary = lines
        .iter()
        .find(|l| l.starts_with("summary: "))
        .with_context(|| format!("no summary\n{transcript}"))?;
    ensure!(
        summary.contains("faults injected") && !summary.contains(" 0 recoveries"),
        "{summary}"
    );
    ensure!(
        lines.iter().any(
            |l| l.starts_with("integrity against the simulator's history")
                && l.contains("duplicated = 0,")
        ),
        "no duplicates through the faults\n{transcript}"
    );
    Ok(())
}

#[tokio::test]
async fn demo_refuses_faults_too_close_together() -> Result<()> {
    let out = run(&["demo", "--fault-every", "1s"]).await?;
    let transcript = out.transcript();
    ensure!(out.code() == Some(2), "{transcript}");
    ensure!(out.stderr.contains("--fault-every"), "{transcript}");
    Ok(())
}
