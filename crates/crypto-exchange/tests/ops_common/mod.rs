//! Shared helpers for the ops endpoint's tests: plain HTTP requests with
//! bounded waits, bounded polling (never a sleep as synchronisation), and a
//! parser for the Prometheus text exposition.

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::time::{Instant, timeout};

/// How long one HTTP request may take.
const REQUEST: Duration = Duration::from_secs(5);
/// The pause between two polls.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// An answer: status code and body.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Answer {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.body).with_context(|| format!("not JSON: {}", self.body))
    }
}

/// A plain-HTTP client with a per-request timeout.
pub(crate) fn http() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(REQUEST).build()?)
}

/// `GET url`.
pub(crate) async fn get(http: &reqwest::Client, url: &str) -> Result<Answer> {
    let response = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    Ok(Answer { status, body })
}

/// Calls `probe` every 100 ms until it returns `Some`, for at most `limit`;
/// the error names `what` and the last value seen.
pub(crate) async fn poll<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + limit;
    let mut last_error = None;
    loop {
        match timeout(REQUEST, probe()).await {
            Ok(Ok(Some(value))) => return Ok(value),
            Ok(Ok(None)) => {}
            Ok(Err(error)) => last_error = Some(error),
            Err(_) => last_error = Some(anyhow::anyhow!("probe timed out")),
        }
        if Instant::now() >= deadline {
            bail!("{what}: not within {limit:?} (last error: {last_error:?})");
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Polls `GET url` until its status is `status`; returns that answer.
pub(crate) async fn wait_status(
    http: &reqwest::Client,
    url: &str,
    status: u16,
    limit: Duration,
) -> Result<Answer> {
    poll(limit, &format!("GET {url} answering {status}"), || async {
        let answer = get(http, url).await?;
        Ok((answer.status == status).then_some(answer))
    })
    .await
}

/// One sample of the exposition: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// The samples of a Prometheus text exposition, with the `# TYPE` of each
/// metric family.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    pub(crate) samples: Vec<Sample>,
    pub(crate) types: BTreeMap<String, String>,
}

impl Exposition {
    /// Parses `text`; every line is a comment, empty, or a sample.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let mut exposition = Exposition::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    exposition.types.insert(name.to_owned(), kind.to_owned());
                }
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            exposition.samples.push(parse_sample(line)?);
        }
        Ok(exposition)
    }

    /// Samples of `name` whose labels include every pair of `labels`.
    pub(crate) fn find<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
    }

    /// The one value of `name` with `labels`.
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> Result<f64> {
        let found: Vec<&Sample> = self.find(name, labels).collect();
        match found.as_slice() {
            [one] => Ok(one.value),
            [] => bail!("no sample {name}{labels:?}"),
            many => bail!("{} samples {name}{labels:?}", many.len()),
        }
    }
}

fn parse_sample(line: &str) -> Result<Sample> {
    let (series, value) = line
        .rsplit_once(' ')
        .with_context(|| format!("no value: {line}"))?;
    let value: f64 = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        number => number
            .parse()
            .with_context(|| format!("bad value: {line}"))?,
    };
    let (name, labels) = match series.split_once('{') {
        None => (series, BTreeMap::new()),
        Some((name, rest)) => {
            let body = rest
                .strip_suffix('}')
                .with_context(|| format!("unclosed labels: {line}"))?;
            (name, parse_labels(body).with_context(|| line.to_owned())?)
        }
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `a="x",b="y"`, with `\"`, `\\` and `\n` escapes in values.
fn parse_labels(body: &str) -> Result<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").context("label without =\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => bail!("dangling escape"),
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                other => value.push(other),
            }
        }
        let end = end.context("unterminated label value")?;
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Ok(labels)
}

/// Every metric name in the tables of `docs/metrics.md` (rows starting with
/// a backquoted `crypto_exchange_` name), with its documented type.
pub(crate) fn documented_metrics() -> Result<Vec<(String, String)>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/metrics.md");
    let text = std::fs::read_to_string(path).with_context(|| path.to_owned())?;
    let rows = text
        .lines()
        .filter(|line| line.starts_with("| `crypto_exchange_"))
        .filter_map(|line| {
            let mut cells = line.trim_matches('|').split('|').map(str::trim);
            let name = cells.next()?.trim_matches('`').to_owned();
            let kind = cells.next()?.to_owned();
            Some((name, kind))
        })
        .collect();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_with_labels_and_escapes() -> Result<()> {
        let text =
            "# TYPE m counter\nm{a=\"x\",b=\"q\\\"uo,te\"} 3\nn 1.5\nh_bucket{le=\"+Inf\"} 2\n";
        let e = Exposition::parse(text)?;
        assert_eq!(e.types.get("m").map(String::as_str), Some("counter"));
        assert_eq!(e.value("m", &[("b", "q\"uo,te")])?, 3.0);
        assert_eq!(e.value("n", &[])?, 1.5);
        assert_eq!(e.value("h_bucket", &[("le", "+Inf")])?, 2.0);
        Ok(())
    }
}
