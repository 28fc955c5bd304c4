//! The `crypto-exchange` command line.

pub(crate) mod chaos;
pub(crate) mod demo;
pub(crate) mod demo_view;
pub(crate) mod ops;
pub(crate) mod output;
pub(crate) mod stream;
pub(crate) mod user;

use std::time::Duration;

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
