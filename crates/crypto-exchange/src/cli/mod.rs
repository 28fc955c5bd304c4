//! The `crypto-exchange` command line.

/// A progress line on stderr: plain text, or with `--log-format json` a JSON
/// object like the log lines (`level` INFO), so stderr stays one format.
macro_rules! say {
    ($($arg:tt)*) => { $crate::cli::note("INFO", &format!($($arg)*)) };
}

/// An error line on stderr, as [`say!`] with `level` ERROR.
macro_rules! fail {
    ($($arg:tt)*) => { $crate::cli::note("ERROR", &format!($($arg)*)) };
}

pub(crate) mod chaos;
pub(crate) mod config;
pub(crate) mod demo;
pub(crate) mod demo_view;
pub(crate) mod logs;
pub(crate) mod ops;
pub(crate) mod output;
pub(crate) mod stream;
#[cfg(feature = "otel")]
pub(crate) mod telemetry;
pub(crate) mod user;

use std::time::Duration;

static JSON_LINES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes [`say!`] and [`fail!`] write JSON lines (`--log-format json`).
pub(crate) fn use_json_lines() {
    JSON_LINES.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Writes one line to stderr, as text or as a JSON object.
pub(crate) fn note(level: &str, message: &str) {
    if JSON_LINES.load(std::sync::atomic::Ordering::Relaxed) {
        let line = serde_json::json!({
            "level": level,
            "target": "crypto_exchange::cli",
            "fields": { "message": message },
        });
        eprintln!("{line}");
    } else {
        eprintln!("{message}");
    }
}

/// Exit code for a runtime failure.
pub(crate) const EXIT_RUNTIME: u8 = 1;
/// Exit code for bad arguments or configuration.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Parses a duration such as `30s`, `500ms` or `5m`.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}: write a duration such as 30s, 500ms or 5m"))
}

/// Completes on Ctrl-C, or after `limit` when one is given.
pub(crate) async fn shutdown_signal(limit: Option<Duration>) {
    let timer = async {
        match limit {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timer);
    tokio::select! {
        () = &mut timer => {}
        result = tokio::signal::ctrl_c() => {
            if let Err(error) = result {
                // Without a Ctrl-C handler, only the time limit (if any) stops us.
                tracing::warn!(%error, "cannot listen for Ctrl-C");
                timer.await;
            }
        }
    }
}
