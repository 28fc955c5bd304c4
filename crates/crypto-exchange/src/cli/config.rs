//! `crypto-exchange config check FILE` and `crypto-exchange config show`, and
//! the layered loading every command with `--config` shares.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crypto_exchange::settings::{Loader, Resolved};

use super::EXIT_USAGE;

/// Options of `config`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file (with the CRYPTO_EXCHANGE_* environment)
    /// without connecting: every problem is listed; exit code 2 if any.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
    /// Print the effective configuration (defaults < file < environment),
    /// each value with where it came from; secrets are redacted.
    Show {
        /// The TOML file, if any.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Defaults, then `file`, then the environment, then `flags`; on a problem,
/// prints every one (prefixed with `command`) and returns exit code 2.
pub(crate) fn load(
    command: &str,
    file: Option<&Path>,
    flags: impl FnOnce(&mut Loader),
) -> Result<Resolved, ExitCode> {
    let mut loader = Loader::new();
    if let Some(file) = file {
        loader.file(file);
    }
    loader.env(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    );
    flags(&mut loader);
    loader.resolve().map_err(|error| {
        fail!("{command}: {error}");
        ExitCode::from(EXIT_USAGE)
    })
}

pub(crate) fn run(args: ConfigArgs) -> ExitCode {
    match args.command {
        ConfigCommand::Check { file } => {
            let command = "crypto-exchange config check";
            match load(command, Some(&file), |_| {}) {
                Ok(resolved) => {
                    let streams = resolved.settings.selected_streams().map_or(0, |s| s.len());
                    println!("{}: ok ({streams} streams)", file.display());
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            }
        }
        ConfigCommand::Show { config } => {
            match load("crypto-exchange config show", config.as_deref(), |_| {}) {
                Ok(resolved) => {
                    print!("{}", resolved.show());
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            }
        }
    }
}
