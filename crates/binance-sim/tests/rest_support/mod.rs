//! Shared helpers of the REST integration tests: a started simulator with an HTTP client,
//! responses with their Binance headers, fixture loading and JSON shape comparison.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::future::Future;
use std::path::PathBuf;

use binance_sim::{Sim, SimConfig, SimHandle, now_ms};
use serde_json::Value;

/// A running simulator and a client for its REST API.
pub(crate) struct Rest {
    pub(crate) sim: SimHandle,
    pub(crate) client: reqwest::Client,
}

/// One response, with the headers the tests look at.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    /// `X-MBX-USED-WEIGHT-1M`, if present.
    pub(crate) used: Option<u32>,
    /// `Retry-After`, if present.
    pub(crate) retry_after: Option<u64>,
    pub(crate) content_type: Option<String>,
    pub(crate) body: String,
}

impl Resp {
    /// The body as JSON; panics with the body when it is not JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The Binance error code of an error body.
    pub(crate) fn code(&self) -> i64 {
        self.json()["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error code in {:?}", self.body))
    }

    /// The used weight; panics when the header is missing.
    pub(crate) fn used(&self) -> u32 {
        self.used
            .unwrap_or_else(|| panic!("no X-MBX-USED-WEIGHT-1M on a {} response", self.status))
    }
}

/// A small market that starts fast but still has thousands of trades of history.
pub(crate) fn config() -> SimConfig {
    SimConfig {
        admin_listen: None,
        warmup_actions: 12_000,
        ..SimConfig::default()
    }
}

impl Rest {
    /// Starts a simulator with `config`.
    pub(crate) async fn start(config: SimConfig) -> Self {
        let sim = Sim::start(config).await.expect("simulator starts");
        Rest {
            sim,
            client: reqwest::Client::new(),
        }
    }

    /// `GET {rest_url}{path}`.
    pub(crate) async fn get(&self, path: &str) -> Resp {
        self.request(reqwest::Method::GET, path, &[]).await
    }

    /// A request with extra headers.
    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.sim.rest_url()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request is answered");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let used = header("X-MBX-USED-WEIGHT-1M").map(|v| v.parse().expect("numeric weight"));
        let retry_after = header("Retry-After").map(|v| v.parse().expect("numeric Retry-After"));
        let content_type = header("Content-Type");
        let status = response.status().as_u16();
        let body = response.text().await.expect("body is read");
        Resp {
            status,
            used,
            retry_after,
            content_type,
            body,
        }
    }

    /// The weight `path` is charged: the used weight after it minus after a ping just before,
    /// both in the same calendar minute (retried when a minute boundary falls between).
    pub(crate) async fn weight_of(&self, path: &str) -> u32 {
        for _ in 0..3 {
            let minute = now_ms() / 60_000;
            let before = self.get("/api/v3/ping").await.used();
            let after = self.get(path).await.used();
            if now_ms() / 60_000 == minute {
                return after - before;
            }
        }
        panic!("three minute boundaries in a row while weighing {path}");
    }
}

/// Runs `attempt` until it runs entirely within one calendar minute (at most three times),
/// for scenarios whose expectations assume the per-minute weight does not reset midway.
pub(crate) async fn in_one_minute<T, F, Fut>(mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    for _ in 0..3 {
        let minute = now_ms() / 60_000;
        let result = attempt().await;
        if now_ms() / 60_000 == minute {
            return result;
        }
    }
    panic!("three minute boundaries in a row");
}

/// An official payload example from `tests/fixtures/`.
pub(crate) fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks that `actual` has exactly the keys of `expected` with the same JSON types,
/// recursively; arrays are compared by their first element. Keys in `optional` may be
/// missing from `actual`. Returns every difference, one per line.
pub(crate) fn shape_diff(expected: &Value, actual: &Value, optional: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    diff(expected, actual, "$", optional, &mut out);
    out
}

fn diff(expected: &Value, actual: &Value, at: &str, optional: &[&str], out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                match a.get(key) {
                    Some(av) => diff(ev, av, &format!("{at}.{key}"), optional, out),
                    None if optional.contains(&key.as_str()) => {}
                    None => out.push(format!("{at}.{key}: missing")),
                }
            }
            for key in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{at}.{key}: not in the fixture"));
            }
        }
        (Value::Array(e), Value::Array(a)) => match (e.first(), a.first()) {
            (Some(ev), Some(av)) => diff(ev, av, &format!("{at}[0]"), optional, out),
            (Some(_), None) => out.push(format!("{at}: empty, cannot compare its elements")),
            (None, _) => {}
        },
        (e, a) if kind(e) == kind(a) => {}
        (e, a) => out.push(format!(
            "{at}: {} in the fixture, {} here",
            kind(e),
            kind(a)
        )),
    }
}

/// Asserts [`shape_diff`] finds nothing.
pub(crate) fn assert_same_shape(fixture_name: &str, actual: &Value, optional: &[&str]) {
    let problems = shape_diff(&fixture(fixture_name), actual, optional);
    assert!(
        problems.is_empty(),
        "{fixture_name}: {}\nbody: {actual}",
        problems.join("; ")
    );
}
