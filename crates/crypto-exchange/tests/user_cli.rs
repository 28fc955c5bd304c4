//! `crypto-exchange user` as a user runs it: keys from the environment only, events
//! as JSON lines, clear errors with exit codes, and no secret in anything the
//! process prints (logs at debug level included) or in any `Debug` or error text.

mod user_common;

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use crypto_exchange::user::{ApiKey, Credentials, KeyType, Secret, UserError};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;
use user_common::{HMAC_KEY, HMAC_SECRET, WAIT, hmac_credentials, market_order, sim};

const BIN: &str = env!("CARGO_BIN_EXE_crypto-exchange");

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn run(envs: &[(&str, &str)], args: &[&str]) -> Result<Output> {
    let mut command = Command::new(BIN);
    command
        .arg("user")
        .args(args)
        .env("RUST_LOG", "debug")
        .env_remove("UDS_KEY")
        .env_remove("UDS_SECRET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in envs {
        command.env(k, v);
    }
    let output = timeout(WAIT, command.output())
        .await
        .context("the run timed out")??;
    Ok(Output {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_as_json_lines_and_no_secret_anywhere() -> Result<()> {
    let sim = sim().await?;
    let (ws, rest) = (sim.ws_api_url(), sim.rest_url());
    let mut child = Command::new(BIN)
        .args([
            "user",
            "--api-key-env",
            "UDS_KEY",
            "--secret-env",
            "UDS_SECRET",
            "--symbols",
            "btcusdt",
            "--ws-api-url",
            &ws,
            "--rest-url",
            &rest,
            "--duration",
            "4s",
        ])
        .env("UDS_KEY", HMAC_KEY)
        .env("UDS_SECRET", HMAC_SECRET)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    // The first reconcile's snapshot says the subscription is up; then a fill.
    let mut out = Vec::new();
    loop {
        let line = timeout(WAIT, lines.next_line())
            .await??
            .context("stdout ended early")?;
        let done = line.contains("\"accountSnapshot\"");
        out.push(line);
        if done {
            break;
        }
    }
    let ids = market_order(&sim, &hmac_credentials(), HMAC_KEY, "BUY", "0.00100").await?;
    while let Some(line) = timeout(WAIT, lines.next_line()).await?? {
        out.push(line);
    }
    let status = timeout(WAIT, child.wait()).await??;
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        tokio::io::AsyncReadExt::read_to_string(&mut err, &mut stderr).await?;
    }
    assert_eq!(status.code(), Some(0), "{stderr}");
    let events: Vec<serde_json::Value> = out
        .iter()
        .map(|l| serde_json::from_str(l))
        .collect::<Result<_, _>>()?;
    assert!(
        events
            .iter()
            .all(|e| e["user"] == "user" && e["event"]["e"].is_string())
    );
    for id in &ids {
        assert!(
            events.iter().any(|e| e["source"] == "live"
                && e["event"]["e"] == "executionReport"
                && e["event"]["t"].as_u64() == Some(*id)),
            "fill {id} printed: {out:?}"
        );
    }
    assert!(stderr.contains("subscribed"), "{stderr}");
    let everything = format!("{}\n{stderr}", out.join("\n"));
    assert!(!everything.contains(HMAC_SECRET), "the secret was printed");
    assert!(!everything.contains(HMAC_KEY), "the API key was printed");

    // A wrong secret: an authentication error, exit 1, still nothing secret.
    let wrong = run(
        &[
            ("UDS_KEY", HMAC_KEY),
            ("UDS_SECRET", "wrong-secret-do-not-print-9d1"),
        ],
        &[
            "--api-key-env",
            "UDS_KEY",
            "--secret-env",
            "UDS_SECRET",
            "--ws-api-url",
            &ws,
            "--rest-url",
            &rest,
            "--duration",
            "20s",
        ],
    )
    .await?;
    assert_eq!(wrong.code, Some(1), "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("authentication failed"),
        "{}",
        wrong.stderr
    );
    assert!(wrong.stderr.contains("-1022"), "{}", wrong.stderr);
    let all = format!("{}{}", wrong.stdout, wrong.stderr);
    assert!(!all.contains("wrong-secret-do-not-print-9d1") && !all.contains(HMAC_KEY));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn missing_and_malformed_keys_exit_2_with_clear_messages() -> Result<()> {
    let args = [
        "--api-key-env",
        "UDS_KEY",
        "--secret-env",
        "UDS_SECRET",
        "--duration",
        "1s",
    ];
    let missing = run(&[], &args).await?;
    assert_eq!(missing.code, Some(2));
    assert!(
        missing.stderr.contains("UDS_KEY") && missing.stderr.contains("not set"),
        "{}",
        missing.stderr
    );
    let no_secret = run(&[("UDS_KEY", "abc123")], &args).await?;
    assert_eq!(no_secret.code, Some(2));
    assert!(
        no_secret.stderr.contains("UDS_SECRET"),
        "{}",
        no_secret.stderr
    );
    let bad_key = run(&[("UDS_KEY", "has spaces!"), ("UDS_SECRET", "x")], &args).await?;
    assert_eq!(bad_key.code, Some(2));
    assert!(
        bad_key.stderr.contains("API key is malformed"),
        "{}",
        bad_key.stderr
    );
    let secret = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----";
    let pem_as_hmac = run(&[("UDS_KEY", "abc123"), ("UDS_SECRET", secret)], &args).await?;
    assert_eq!(pem_as_hmac.code, Some(2));
    assert!(
        pem_as_hmac.stderr.contains("--key-type ed25519"),
        "{}",
        pem_as_hmac.stderr
    );
    assert!(!pem_as_hmac.stderr.contains("MC4CAQAw"));
    let mut with_type = args.to_vec();
    with_type.extend(["--key-type", "ed25519"]);
    let hmac_as_ed = run(
        &[("UDS_KEY", "abc123"), ("UDS_SECRET", "plain-secret-xyz")],
        &with_type,
    )
    .await?;
    assert_eq!(hmac_as_ed.code, Some(2));
    assert!(
        hmac_as_ed.stderr.contains("--key-type hmac"),
        "{}",
        hmac_as_ed.stderr
    );
    assert!(!hmac_as_ed.stderr.contains("plain-secret-xyz"));
    let mut rsa = args.to_vec();
    rsa.extend(["--key-type", "rsa"]);
    let unknown = run(&[("UDS_KEY", "abc123"), ("UDS_SECRET", "s")], &rsa).await?;
    assert_eq!(unknown.code, Some(2));
    assert!(
        unknown.stderr.contains("write hmac or ed25519"),
        "{}",
        unknown.stderr
    );
    Ok(())
}

#[test]
fn debug_and_errors_never_show_secrets() -> Result<()> {
    let creds = Credentials::new(
        KeyType::Hmac,
        ApiKey::new(HMAC_KEY)?,
        &Secret::new(HMAC_SECRET),
    )?;
    let config = crypto_exchange::user::UserConfig::new("u", creds, &["BTCUSDT"]);
    let errors = [
        UserError::Authentication {
            code: -2015,
            message: "Invalid API-key, IP, or permissions for action.".into(),
        },
        UserError::ClockSkew {
            recv_window_ms: 5000,
            message: "Timestamp for this request is outside of the recvWindow.".into(),
        },
    ];
    let text = format!(
        "{config:?} {:?} {errors:?} {} {}",
        config.credentials, errors[0], errors[1]
    );
    assert!(
        !text.contains(HMAC_SECRET) && !text.contains(HMAC_KEY),
        "{text}"
    );
    assert!(text.contains("<redacted>"));
    let _ = Duration::ZERO;
    Ok(())
}
