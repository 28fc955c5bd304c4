//! Helpers of the user data tests: a simulator with an HMAC and an Ed25519 account,
//! request signing as a client does it (PROTOCOL.md §8a), signed REST calls and a
//! WebSocket API client with bounded waits.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use binance_sim::account::hmac_sha256_hex;
use binance_sim::decimal::Fixed;
use binance_sim::{
    AccountSpec, ConnectionRules, KeyMaterial, Permission, Sim, SimConfig, SimHandle, now_ms,
};
use ed25519_dalek::{Signer as _, SigningKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// The longest any single wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// The HMAC account: key and secret (the secret of PROTOCOL.md §8a's example).
pub(crate) const HMAC_KEY: &str =
    "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
pub(crate) const HMAC_SECRET: &str =
    "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
/// The Ed25519 account's key; its signing key has the seed 00 01 … 1f.
pub(crate) const ED_KEY: &str = "simEd25519Key";
/// An account that may only read (no trading, no user stream).
pub(crate) const READ_ONLY_KEY: &str = "simReadOnlyKey";
pub(crate) const READ_ONLY_SECRET: &str = "read-only-secret";

/// The Ed25519 signing key of [`ED_KEY`].
pub(crate) fn ed_signing_key() -> SigningKey {
    let seed: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
    SigningKey::from_bytes(&seed)
}

/// How a test client signs.
#[derive(Debug, Clone)]
pub(crate) enum Signer {
    Hmac(String),
    Ed25519(SigningKey),
}

impl Signer {
    pub(crate) fn hmac() -> Self {
        Signer::Hmac(HMAC_SECRET.to_owned())
    }

    pub(crate) fn ed25519() -> Self {
        Signer::Ed25519(ed_signing_key())
    }

    /// The signature of `payload`: lowercase hex (HMAC) or base64 (Ed25519).
    pub(crate) fn sign(&self, payload: &str) -> String {
        match self {
            Signer::Hmac(secret) => hmac_sha256_hex(secret, payload),
            Signer::Ed25519(key) => STANDARD.encode(key.sign(payload.as_bytes()).to_bytes()),
        }
    }

    /// The signature, percent-encoded for a query string or form body.
    pub(crate) fn sign_encoded(&self, payload: &str) -> String {
        encode(&self.sign(payload))
    }
}

/// Percent-encodes the characters base64 uses that a query string cannot carry.
pub(crate) fn encode(text: &str) -> String {
    text.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// The test accounts: HMAC and Ed25519 with every permission, and a read-only one.
pub(crate) fn accounts() -> Vec<AccountSpec> {
    let balances = [
        ("USDT", Fixed(100_000 * 100_000_000)),
        ("BTC", Fixed(10 * 100_000_000)),
    ];
    let public_key = ed_signing_key().verifying_key().to_bytes();
    let mut read_only = AccountSpec::new(
        READ_ONLY_KEY,
        KeyMaterial::hmac(READ_ONLY_SECRET),
        &balances,
    );
    read_only.permissions = vec![Permission::UserData];
    vec![
        AccountSpec::new(HMAC_KEY, KeyMaterial::hmac(HMAC_SECRET), &balances),
        AccountSpec::new(ED_KEY, KeyMaterial::Ed25519 { public_key }, &balances),
        read_only,
    ]
}

/// A simulator with the test accounts, little warm-up and no admin API.
/// Binance's connection rules, except a frame limit that never gets in the way of a
/// test sending requests back to back.
pub(crate) fn config() -> SimConfig {
    SimConfig {
        admin_listen: None,
        warmup_actions: 4_000,
        accounts: accounts(),
        rules: ConnectionRules {
            max_incoming_frames: 1_000,
            ..ConnectionRules::default()
        },
        ..SimConfig::default()
    }
}

/// One REST answer.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) allow: Option<String>,
}

impl Resp {
    /// The Binance error code; fails when there is none.
    pub(crate) fn code(&self) -> i64 {
        self.body["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error code: {} {}", self.status, self.body))
    }
}

/// A running simulator and an HTTP client.
pub(crate) struct User {
    pub(crate) sim: SimHandle,
    pub(crate) client: reqwest::Client,
}

impl User {
    /// Starts a simulator with `config`, its BTCUSDT market frozen so books stay put.
    pub(crate) async fn start(config: SimConfig) -> Result<Self> {
        let sim = Sim::start(config).await?;
        sim.set_symbol_rate("BTCUSDT", 0.0)?;
        Ok(User {
            sim,
            client: reqwest::Client::new(),
        })
    }

    /// A request with `query` and `body` as given (no signing).
    pub(crate) async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        api_key: Option<&str>,
        query: &str,
        body: &str,
    ) -> Result<Resp> {
        let mut url = format!("{}{path}", self.sim.rest_url());
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let mut request = self.client.request(method, url);
        if let Some(key) = api_key {
            request = request.header("X-MBX-APIKEY", key);
        }
        if !body.is_empty() {
            request = request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.to_owned());
        }
        let response = timeout(WAIT, request.send()).await.context("timed out")??;
        let status = response.status().as_u16();
        let allow = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))?
        };
        Ok(Resp {
            status,
            body,
            allow,
        })
    }

    /// A signed request: `params` plus `timestamp` (unless given) and `signature`, all
    /// in the query string.
    pub(crate) async fn signed(
        &self,
        method: reqwest::Method,
        path: &str,
        api_key: &str,
        signer: &Signer,
        params: &str,
    ) -> Result<Resp> {
        let mut query = params.to_owned();
        if !query.contains("timestamp=") {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&format!("timestamp={}", now_ms()));
        }
        let signature = signer.sign_encoded(&query);
        query.push_str(&format!("&signature={signature}"));
        self.raw(method, path, Some(api_key), &query, "").await
    }

    /// A signed request by the HMAC account.
    pub(crate) async fn hmac(
        &self,
        method: reqwest::Method,
        path: &str,
        params: &str,
    ) -> Result<Resp> {
        self.signed(method, path, HMAC_KEY, &Signer::hmac(), params)
            .await
    }

    /// The best bid and ask of `symbol`.
    pub(crate) fn best(&self, symbol: &str) -> Result<(Fixed, Fixed)> {
        let best = self.sim.with_market(|m| {
            m.symbol(symbol)
                .and_then(|s| Some((s.book().best_bid()?.0, s.book().best_ask()?.0)))
        });
        best.context("an empty book")
    }
}

/// A WebSocket API client.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects to the simulator's WebSocket API.
pub(crate) async fn connect_api(sim: &SimHandle) -> Result<Ws> {
    let (ws, _) = timeout(WAIT, connect_async(sim.ws_api_url().as_str()))
        .await
        .context("connect timed out")??;
    Ok(ws)
}

/// The next text frame as JSON, skipping pings and pongs.
pub(crate) async fn recv(ws: &mut Ws) -> Result<Value> {
    loop {
        match timeout(WAIT, ws.next()).await.context("no frame in time")? {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text)?),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => bail!("expected a text frame, got {other:?}"),
        }
    }
}

/// Sends a request and returns the answer with the same id, collecting any events
/// that arrive first into `events`.
pub(crate) async fn call(ws: &mut Ws, request: &Value, events: &mut Vec<Value>) -> Result<Value> {
    ws.send(Message::text(request.to_string())).await?;
    loop {
        let frame = recv(ws).await?;
        if frame.get("status").is_some() {
            return Ok(frame);
        }
        events.push(frame);
    }
}

/// The params of `userDataStream.subscribe.signature` for `api_key`, signed by `signer`
/// with `timestamp`.
pub(crate) fn subscribe_params(api_key: &str, signer: &Signer, timestamp: u64) -> Value {
    let payload = format!("apiKey={api_key}&timestamp={timestamp}");
    json!({
        "apiKey": api_key,
        "timestamp": timestamp,
        "signature": signer.sign(&payload),
    })
}

/// A `userDataStream.subscribe.signature` request.
pub(crate) fn subscribe(id: &str, api_key: &str, signer: &Signer) -> Value {
    json!({
        "id": id,
        "method": "userDataStream.subscribe.signature",
        "params": subscribe_params(api_key, signer, now_ms()),
    })
}

/// Reads frames until one satisfies `wanted`, returning it and everything before it.
pub(crate) async fn until(
    ws: &mut Ws,
    mut wanted: impl FnMut(&Value) -> bool,
) -> Result<(Value, Vec<Value>)> {
    let mut before = Vec::new();
    loop {
        let frame = recv(ws).await?;
        if wanted(&frame) {
            return Ok((frame, before));
        }
        before.push(frame);
    }
}

/// The event type of a user data frame.
pub(crate) fn event_type(frame: &Value) -> &str {
    frame["event"]["e"].as_str().unwrap_or("")
}

/// Loads a fixture from `tests/fixtures`.
pub(crate) fn fixture(name: &str) -> Result<Value> {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    Ok(serde_json::from_str(&text)?)
}

/// Checks that `actual` has exactly the keys of `expected` (minus `absent`), with the
/// same JSON types, recursively; arrays are compared element by element with the
/// expected array's first element.
pub(crate) fn same_shape(
    expected: &Value,
    actual: &Value,
    absent: &[&str],
    at: &str,
) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut ek: Vec<&String> = e.keys().filter(|k| !absent.contains(&k.as_str())).collect();
            let mut ak: Vec<&String> = a.keys().collect();
            ek.sort();
            ak.sort();
            if ek != ak {
                return Err(format!("{at}: keys {ak:?}, expected {ek:?}"));
            }
            for key in ek {
                same_shape(&e[key], &a[key], absent, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            let Some(first) = e.first() else {
                return Ok(());
            };
            if a.is_empty() {
                return Err(format!("{at}: empty array"));
            }
            for (i, element) in a.iter().enumerate() {
                same_shape(first, element, absent, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e.is_f64() == a.is_f64() => Ok(()),
        (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => Ok(()),
        _ => Err(format!("{at}: {actual}, expected the type of {expected}")),
    }
}
