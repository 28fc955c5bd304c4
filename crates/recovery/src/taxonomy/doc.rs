//! Renders the taxonomy tables as Markdown: the generated part of
//! `docs/error-classes.md`. A test compares the file with this output, so
//! the document and the code cannot drift.

use std::fmt::Write as _;

use super::tables::{
    BINANCE_CODES, CLOSE_CODES, CODE_RANGES, CONNECT, HTTP_PRECEDENCE, HTTP_STATUS, OTHER_NOTE,
    PANIC, Row, TIMEOUT,
};
use super::{ErrorClass, MAX_BODY_PARSED, MAX_RETRY_AFTER};
use crate::StrategyPolicy;

/// The taxonomy as Markdown tables: classes with their default strategies,
/// Binance codes, unknown-code ranges, HTTP statuses, close codes, transport
/// and other failures.
///
/// This is the generated part of `docs/error-classes.md`, rendered from the
/// same tables [`Failure::classify`](crate::Failure::classify) consults.
#[must_use]
pub fn taxonomy_markdown() -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored below.
    classes(&mut out);
    let _ = writeln!(
        out,
        "\n## Binance error codes\n\n| code | name | class | outcome unknown | note |\n|---|---|---|---|---|"
    );
    for code in BINANCE_CODES {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            code.code,
            code.name,
            code.row.class,
            yes(code.row.outcome_unknown),
            code.row.note
        );
    }
    let _ = writeln!(
        out,
        "\n## Binance codes not in the table\n\nThe first matching range decides.\n\n\
         | codes | class | outcome unknown | note |\n|---|---|---|---|"
    );
    for range in CODE_RANGES {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            range.label,
            range.row.class,
            yes(range.row.outcome_unknown),
            range.row.note
        );
    }
    http(&mut out);
    let _ = writeln!(
        out,
        "\n## WebSocket close codes\n\nThe first matching row decides.\n\n\
         | close code | class | note |\n|---|---|---|"
    );
    for range in CLOSE_CODES {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            range.label, range.row.class, range.row.note
        );
    }
    let _ = writeln!(
        out,
        "\n## Transport failures (`Failure::Connect`)\n\n| failure | class | note |\n|---|---|---|"
    );
    for (kind, row) in CONNECT {
        let _ = writeln!(out, "| {} | {} | {} |", kind.as_str(), row.class, row.note);
    }
    let _ = writeln!(
        out,
        "\n## Other failures\n\n| failure | class | note |\n|---|---|---|"
    );
    other(&mut out, "`Panic(message)`", &PANIC);
    other(&mut out, "`Timeout`", &TIMEOUT);
    let _ = writeln!(
        out,
        "| `Other {{ class, reason }}` | `class` | {OTHER_NOTE} |"
    );
    out
}

fn classes(out: &mut String) {
    let policy = StrategyPolicy::default();
    let _ = writeln!(
        out,
        "## Classes and default strategies\n\n| class | retried automatically | default strategy | meaning |\n|---|---|---|---|"
    );
    for class in ErrorClass::ALL {
        let meaning = match class {
            ErrorClass::Transient => "a passing fault; trying again soon is likely to succeed",
            ErrorClass::RateLimited => {
                "the server asked us to slow down; never retry before its `retry_after`"
            }
            ErrorClass::Authentication => {
                "credentials rejected; a person must fix the key, its permissions or IP whitelist"
            }
            ErrorClass::Server => {
                "the server failed; the outcome may be unknown, so query before re-sending"
            }
            ErrorClass::Configuration => {
                "the request itself is wrong; it fails the same way until the configuration changes"
            }
        };
        let _ = writeln!(
            out,
            "| {class} | {} | {} | {meaning} |",
            yes(class.is_retryable()),
            policy.strategy(class)
        );
    }
}

fn http(out: &mut String) {
    let _ = writeln!(
        out,
        "\n## HTTP status\n\nThe first matching row decides.\n\n\
         | status | class | outcome unknown | banned | note |\n|---|---|---|---|---|"
    );
    for range in HTTP_STATUS {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            range.label,
            range.row.class,
            yes(range.row.outcome_unknown),
            yes(range.row.banned),
            range.row.note
        );
    }
    let _ = writeln!(
        out,
        "\nHow a status and a code combine (`classify_http`, `Failure::Http`). \
         `Retry-After` is clamped to {} s; bodies above {} KiB are not parsed.\n",
        MAX_RETRY_AFTER.as_secs(),
        MAX_BODY_PARSED / 1024
    );
    for (i, rule) in HTTP_PRECEDENCE.iter().enumerate() {
        let _ = writeln!(out, "{}. {rule}", i + 1);
    }
}

fn other(out: &mut String, name: &str, row: &Row) {
    let _ = writeln!(out, "| {name} | {} | {} |", row.class, row.note);
}

fn yes(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- BEGIN GENERATED: recovery::taxonomy_markdown() -->\n";
    const END: &str = "<!-- END GENERATED -->";

    /// `docs/error-classes.md` holds exactly what the code classifies by.
    /// After changing a table, run `RECOVERY_BLESS=1 cargo test -p recovery`
    /// to rewrite the generated part, and review the diff.
    #[test]
    fn docs_table_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/error-classes.md");
        let text = std::fs::read_to_string(path).expect("docs/error-classes.md exists");
        let start = text.find(BEGIN).expect("begin marker") + BEGIN.len();
        let end = text.find(END).expect("end marker");
        let generated = taxonomy_markdown();
        if std::env::var_os("RECOVERY_BLESS").is_some() {
            let blessed = format!("{}{generated}{}", &text[..start], &text[end..]);
            std::fs::write(path, blessed).expect("write docs/error-classes.md");
            return;
        }
        assert!(
            text[start..end] == generated,
            "docs/error-classes.md is out of date: run `RECOVERY_BLESS=1 cargo test -p recovery`"
        );
    }

    #[test]
    fn every_table_row_is_reachable() {
        // Each known code classifies as its row says.
        for code in BINANCE_CODES {
            let class = super::super::tables::binance_code(code.code);
            assert_eq!(class.class, code.row.class, "{}", code.code);
            assert_eq!(class.reason, code.row.note);
        }
        // Codes are unique.
        let mut codes: Vec<i64> = BINANCE_CODES.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), BINANCE_CODES.len());
    }
}
