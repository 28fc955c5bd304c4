//! `crypto-exchange user`: one account's own events (orders, fills, balances) as
//! JSON lines, through reconnects, with missed fills reconciled over REST.
//!
//! Keys come only from environment variables named on the command line, never
//! from arguments (which other users of the machine can read in the process list).

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use crypto_exchange::user::{
    ApiKey, Credentials, KeyType, Secret, UserConfig, UserManager, UserManagerConfig, UserStatus,
    UserUpdate,
};

use super::{EXIT_RUNTIME, EXIT_USAGE, duration, shutdown_signal};

/// Options of `user`.
#[derive(Debug, clap::Args)]
pub(crate) struct UserArgs {
    /// The environment variable holding the API key.
    #[arg(long, value_name = "NAME")]
    api_key_env: String,
    /// The environment variable holding the secret: the HMAC secret, or the PEM
    /// PKCS#8 private key for Ed25519.
    #[arg(long, value_name = "NAME")]
    secret_env: String,
    /// How the key signs: hmac or ed25519.
    #[arg(long, value_name = "TYPE", default_value = "hmac")]
    key_type: String,
    /// Symbols whose fills a reconcile looks for after a reconnect, comma-separated
    /// (symbols of open orders and of live fills are added as they are seen).
    #[arg(long, value_name = "LIST", default_value = "")]
    symbols: String,
    /// WebSocket API URL. Default: Binance production.
    #[arg(long, value_name = "URL", default_value = crypto_exchange::user::BINANCE_WS_API_ENDPOINT)]
    ws_api_url: String,
    /// REST base URL. Default: Binance production.
    #[arg(long, value_name = "URL", default_value = crypto_exchange::client::BINANCE_REST_ENDPOINT)]
    rest_url: String,
    /// Stop cleanly after this long (for example 30s or 5m); default: until Ctrl-C.
    #[arg(long, value_parser = duration)]
    duration: Option<Duration>,
}

fn env_var(name: &str, what: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        Ok(_) => Err(format!(
            "the environment variable {name} ({what}) is empty: set it"
        )),
        Err(std::env::VarError::NotPresent) => Err(format!(
            "the environment variable {name} ({what}) is not set: export it, e.g. `export {name}=…`"
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "the environment variable {name} ({what}) is not valid UTF-8"
        )),
    }
}

fn setup(args: &UserArgs) -> Result<(UserManagerConfig, UserConfig), String> {
    let key_type: KeyType = args.key_type.parse().map_err(|e| format!("{e}"))?;
    let api_key = ApiKey::new(env_var(&args.api_key_env, "the API key")?)
        .map_err(|e| format!("{}: {e}", args.api_key_env))?;
    let secret = Secret::new(env_var(&args.secret_env, "the secret")?);
    let credentials = Credentials::new(key_type, api_key, &secret)
        .map_err(|e| format!("{}: {e}", args.secret_env))?;
    let symbols: Vec<&str> = args
        .symbols
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut config = UserManagerConfig {
        ws_api_url: args.ws_api_url.clone(),
        ..UserManagerConfig::default()
    };
    config.rest.base_url.clone_from(&args.rest_url);
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    Ok((config, UserConfig::new("user", credentials, &symbols)))
}

pub(crate) async fn run(args: UserArgs) -> ExitCode {
    let (config, user) = match setup(&args) {
        Ok(setup) => setup,
        Err(problem) => {
            eprintln!("crypto-exchange user: {problem}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (manager, mut updates) = match UserManager::new(config) {
        Ok(manager) => manager,
        Err(error) => {
            eprintln!("crypto-exchange user: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(error) = manager.add(user) {
        eprintln!("crypto-exchange user: {error}");
        return ExitCode::from(EXIT_USAGE);
    }
    let stop = shutdown_signal(args.duration);
    tokio::pin!(stop);
    let mut stdout = std::io::stdout().lock();
    let code = loop {
        let update = tokio::select! {
            () = &mut stop => break ExitCode::SUCCESS,
            update = updates.next() => update,
        };
        let Some(update) = update else {
            break ExitCode::SUCCESS;
        };
        if let Some(line) = update.to_json() {
            if writeln!(stdout, "{line}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                // The reader went away (a closed pipe): a normal end.
                break ExitCode::SUCCESS;
            }
            continue;
        }
        if let UserUpdate::Status { status, .. } = update {
            match status {
                UserStatus::Stopped { error: Some(error) } => {
                    eprintln!("crypto-exchange user: stopped: {error}");
                    break ExitCode::from(EXIT_RUNTIME);
                }
                UserStatus::Stopped { error: None } => break ExitCode::SUCCESS,
                other => eprintln!("crypto-exchange user: {}", describe(&other)),
            }
        }
    };
    drop(stdout);
    manager.shutdown().await;
    code
}

fn describe(status: &UserStatus) -> String {
    match status {
        UserStatus::Connecting => "connecting".to_owned(),
        UserStatus::Subscribed { subscription_id } => {
            format!(
                "subscribed (subscription {})",
                subscription_id.map_or("?".to_owned(), |id| id.to_string())
            )
        }
        UserStatus::Reconciled { fills, duplicates } => {
            format!(
                "reconciled: {fills} missed fills delivered, {duplicates} duplicates removed so far"
            )
        }
        UserStatus::ReconcileFailed { error } => format!("reconcile failed, retrying: {error}"),
        UserStatus::Disconnected { cause } => format!("disconnected: {cause}"),
        UserStatus::Reconnecting { delay_ms } => format!("reconnecting in {delay_ms} ms"),
        UserStatus::UnknownEvent { event_type } => {
            format!("skipped an unknown event {event_type:?}")
        }
        UserStatus::Undecodable { problem } => format!("skipped a frame: {problem}"),
        other => format!("{other:?}"),
    }
}
