//! The ops endpoint of `stream` and `demo` (`/health`, `/health/live`,
//! `/health/ready`, `/metrics`, `/alerts`).
//!
//! `stream` mounts the admin controls too (`POST /admin/…`); a non-loopback
//! address needs `ops.admin_token`, which every admin call must present.
//! `demo` serves no admin controls; its endpoint has no authentication, so an
//! address that is not loopback is refused unless `--ops-allow-remote` says
//! the operator means it.

use std::net::SocketAddr;
use std::process::ExitCode;

use crypto_exchange::settings::OpsSettings;
use crypto_exchange::{AdminToken, Client, Exposure, OpsConfig, OpsHandle};

use super::{EXIT_RUNTIME, EXIT_USAGE};

/// Every path the endpoint serves, in the order they are printed.
pub(crate) const PATHS: [&str; 5] = [
    "/health",
    "/health/ready",
    "/health/live",
    "/metrics",
    "/alerts",
];

/// Checks the address against `--ops-allow-remote`; the message says what to do.
pub(crate) fn config(addr: SocketAddr, allow_remote: bool) -> Result<OpsConfig, String> {
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(format!(
            "--ops-addr {addr} is not a loopback address, and the ops endpoint has no \
             authentication: use 127.0.0.1:PORT, or add --ops-allow-remote to expose it \
             (behind a firewall or an authenticating proxy)"
        ));
    }
    let mut config = OpsConfig {
        bind: addr,
        ..OpsConfig::default()
    };
    if allow_remote {
        config.exposure = Exposure::AnyAddress;
    }
    Ok(config)
}

/// Starts the endpoint for `client`; on failure prints why (prefixed with
/// `command`) and returns the exit code.
pub(crate) async fn start(
    client: &Client,
    addr: SocketAddr,
    allow_remote: bool,
    command: &str,
) -> Result<OpsHandle, ExitCode> {
    let config = config(addr, allow_remote).map_err(|problem| {
        fail!("{command}: {problem}");
        ExitCode::from(EXIT_USAGE)
    })?;
    client.serve_ops(config).await.map_err(|error| {
        fail!(
            "{command}: cannot start the ops endpoint: {error}; choose another --ops-addr (port 0 picks a free one)"
        );
        ExitCode::from(EXIT_RUNTIME)
    })
}

/// Starts the endpoint with the admin controls for `client`, as `settings`
/// say (validated before: a non-loopback address has a token); on failure
/// prints why (prefixed with `command`) and returns the exit code.
pub(crate) async fn start_admin(
    client: &Client,
    settings: &OpsSettings,
    command: &str,
) -> Result<OpsHandle, ExitCode> {
    let token = if settings.admin_token.is_empty() {
        None
    } else {
        Some(AdminToken::new(&settings.admin_token).map_err(|error| {
            fail!("{command}: {error}");
            ExitCode::from(EXIT_USAGE)
        })?)
    };
    let config = OpsConfig {
        bind: settings.addr,
        ..OpsConfig::default()
    };
    client
        .serve_ops_with_admin(config, token)
        .await
        .map_err(|error| {
            fail!(
                "{command}: cannot start the ops endpoint: {error}; choose another ops.addr / --ops-addr (port 0 picks a free one)"
            );
            if matches!(error, crypto_exchange::ClientError::Config(_)) {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_RUNTIME)
            }
        })
}

/// The endpoint's URLs, one per path.
pub(crate) fn urls(handle: &OpsHandle) -> Vec<String> {
    let base = handle.base_url();
    PATHS.iter().map(|path| format!("{base}{path}")).collect()
}

#[cfg(test)]
mod tests {
    use super::config;

    #[test]
    fn remote_addresses_need_the_flag() -> Result<(), std::net::AddrParseError> {
        let local = "127.0.0.1:9898".parse()?;
        let any = "0.0.0.0:9898".parse()?;
        assert!(config(local, false).is_ok());
        let error = config(any, false).err().unwrap_or_default();
        assert!(error.contains("--ops-allow-remote"), "{error}");
        let remote = config(any, true).ok();
        assert!(remote.is_some_and(|c| c.validate().is_ok()));
        Ok(())
    }
}
