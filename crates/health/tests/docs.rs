//! The docs agree with the code: docs/metrics.md lists exactly the metrics
//! recorded; the Grafana dashboard is valid JSON and every metric it (and
//! the Prometheus rules) reference is documented; the rules name real
//! built-in causes.

#![cfg(feature = "metrics")]

use std::collections::BTreeSet;
use std::path::PathBuf;

use health::metrics::{DEFAULT_PREFIX, METRICS};

fn doc(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Every `crypto_exchange_…` name in `text`, histogram series folded to
/// their metric.
fn referenced(text: &str) -> BTreeSet<String> {
    let prefix = format!("{DEFAULT_PREFIX}_");
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(&prefix) {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let mut name = &tail[..end];
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && base.ends_with("_seconds")
            {
                name = base;
            }
        }
        names.insert(name.to_owned());
        rest = &tail[end..];
    }
    names
}

fn documented() -> BTreeSet<String> {
    METRICS
        .iter()
        .map(|(suffix, ..)| format!("{DEFAULT_PREFIX}_{suffix}"))
        .collect()
}

#[test]
fn metrics_md_matches_the_code() {
    let text = doc("metrics.md");
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| l.starts_with(&format!("| `{DEFAULT_PREFIX}_")))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().replace('`', ""))
                .collect()
        })
        .collect();
    let expected: Vec<Vec<String>> = METRICS
        .iter()
        .map(|&(suffix, kind, labels, meaning)| {
            vec![
                format!("{DEFAULT_PREFIX}_{suffix}"),
                kind.to_owned(),
                labels.to_owned(),
                meaning.to_owned(),
            ]
        })
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn grafana_dashboard_is_valid_and_documented() {
    let text = doc("dashboards/grafana-crypto-exchange.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10);
    let mut exprs = String::new();
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            exprs.push_str(target["expr"].as_str().expect("expr"));
            exprs.push('\n');
        }
    }
    let used = referenced(&exprs);
    let documented = documented();
    let unknown: Vec<_> = used.difference(&documented).collect();
    assert!(
        unknown.is_empty(),
        "undocumented metrics in the dashboard: {unknown:?}"
    );
    let unused: Vec<_> = documented.difference(&used).collect();
    assert!(unused.is_empty(), "metrics without a panel: {unused:?}");
}

#[test]
fn prometheus_rules_use_documented_metrics_and_real_causes() {
    let text = doc("dashboards/prometheus-alerts.yml");
    let unknown: Vec<_> = referenced(&text)
        .difference(&documented())
        .cloned()
        .collect();
    assert!(
        unknown.is_empty(),
        "undocumented metrics in the rules: {unknown:?}"
    );
    let health = doc("health.md");
    let mut kinds = BTreeSet::new();
    for line in text.lines().filter(|l| l.contains("labels:")) {
        for (key, value) in line
            .split(['{', '}', ','])
            .filter_map(|pair| pair.split_once(':'))
            .map(|(k, v)| (k.trim(), v.trim()))
        {
            match key {
                "cause" => assert!(
                    health.contains(&format!("`{value}`")),
                    "unknown cause {value}"
                ),
                "kind" => {
                    kinds.insert(value.to_owned());
                }
                "severity" => assert!(["warning", "critical"].contains(&value), "{line}"),
                _ => {}
            }
        }
    }
    let all: BTreeSet<_> = ["connection", "performance", "system", "recovery"]
        .map(str::to_owned)
        .into();
    assert_eq!(kinds, all, "every alert kind is mirrored");
    assert_eq!(text.matches("- alert:").count(), 18);
}
